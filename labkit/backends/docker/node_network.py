"""The playground's network: a private bridge per lab, each machine at a fixed address.

`labkit-<lab>` takes a /24 of its own, the first of SUBNETS that this machine
does not route to already and no other network of the engine has, and records
it in its label `io.labkit.subnet`; node-<i> is at .<i+1> of it (node-1 at .2,
as in the notes), so a manager switched off and on keeps its address.
"""
from __future__ import annotations

import ipaddress
import socket
import struct

from ...errors import AlreadyExists, Unavailable
from . import common as du
from ..base import LABEL

SUBNET_LABEL = LABEL + ".subnet"
# The notes' swarm lives on 10.10.0.x (node-1 at 10.10.0.2); each lab takes the next free /24,
# elsewhere in the private ranges when this machine already routes to 10.10/16 (a VPN, say).
SUBNETS = ([ipaddress.ip_network(f"10.10.{k}.0/24") for k in range(256)]
           + [ipaddress.ip_network(f"192.168.{k}.0/24") for k in range(100, 200)]
           + [ipaddress.ip_network(f"172.28.{k}.0/24") for k in range(256)])


def host_routes() -> list:
    """The IPv4 networks this machine already routes to (a playground must not hide one)."""
    routes = []
    try:
        with open("/proc/net/route") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                dest, mask = (socket.inet_ntoa(struct.pack("<L", int(v, 16))) for v in (fields[1], fields[7]))
                if mask != "0.0.0.0":
                    routes.append(ipaddress.ip_network(f"{dest}/{mask}", strict=False))
    except (OSError, ValueError, IndexError):
        pass
    return routes


def ensure_network(client, name: str, lab: str, made: list) -> None:
    """The lab's network `name`, made when missing (noted in `made`, for an undo); refused when
    a network of that name is not this lab's."""
    import docker
    try:
        net = client.networks.get(name)
        if not du.owned(net.attrs.get("Labels"), lab):
            raise AlreadyExists(f"a network named {name!r} exists and is not this lab's",
                                "labkit will not use it: remove it, or pick another lab id (lab='...')")
        return
    except docker.errors.NotFound:
        pass
    _create_network(client, name, lab, made)


def without_addresses(client, name: str, lab: str) -> bool:
    """Whether the lab's network `name` was made before nodes had fixed addresses (no subnet label)."""
    import docker
    try:
        net = client.networks.get(name)
    except docker.errors.NotFound:
        return False
    return du.owned(net.attrs.get("Labels"), lab) and SUBNET_LABEL not in (net.attrs.get("Labels") or {})


def _create_network(client, name: str, lab: str, made: list) -> None:
    """A bridge with a subnet of its own, so every node keeps its address when it is switched
    off and on again: Raft finds a manager by the address it had when it joined."""
    import docker
    taken = host_routes()
    for subnet in SUBNETS:
        if any(subnet.overlaps(route) for route in taken):
            continue
        ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=str(subnet))])
        try:
            client.networks.create(name, driver="bridge", ipam=ipam,
                                   labels=du.labels(lab, "network", **{SUBNET_LABEL: str(subnet)}))
        except docker.errors.APIError as exc:
            # 403 "Pool overlaps with other one": no status of its own, so the engine's words
            if "overlap" in du.engine_words(exc).lower():
                continue  # another network of this engine (another lab) has it
            raise
        made.append(("network", name))
        return
    raise Unavailable("no free private subnet for the playground's network",
                      "remove other labs' playgrounds: labkit reset")


def node_ip(client, name: str, i: int) -> str:
    """Node `i`'s fixed address on the lab's network `name`."""
    net = client.networks.get(name)
    subnet = ipaddress.ip_network(net.attrs["Labels"][SUBNET_LABEL])
    return str(subnet.network_address + 1 + i)  # .1 is the gateway: node-1 is .2, as in the notes
