"""A container's networks: `docker run --network`, `docker network connect/disconnect`, and what
`docker inspect` and `docker network inspect` show of them.

    docker network create shop                 # a user-defined bridge
    docker run -d --name web --network shop web-server:1
    docker network connect bridge web          # a second network: a second endpoint
    docker network disconnect shop web

A container made by a client is on the networks its `--network` named (the default bridge when
none), one endpoint on each; connecting adds one, disconnecting takes it away. The simulator
does not route between networks (networks.py): an endpoint here is what the container is
attached to and what inspect shows, with an address from the network's subnet while it runs.
Words from moby daemon/container_operations.go, daemon/network.go and runconfig/errors.go.
"""
from __future__ import annotations

from .boxes import Box, Made, boxes
from .common import Answer, Call, EngineError, Reader, hex_id, route, rpc
from .events import note
from .networks import Network, address, find, mac
from .state import Engine

HOST_CONFLICT = "container cannot be disconnected from host network or connected to host network"


def initial(engine: Engine, mode: str) -> list[str]:
    """The networks a new container starts on: its HostConfig.NetworkMode (`--network`)."""
    if mode in ("", "default"):
        return ["bridge"]
    if mode.startswith("container:"):
        from .spec import not_simulated
        raise not_simulated("sharing another container's network (--network container:NAME)",
                            "a network of its own: docker network create NAME, then --network NAME")
    net = find(engine, mode)
    if net.scope == "swarm" and not net.attachable:
        raise EngineError(403, rpc("PermissionDenied", f"network {net.name} not manually attachable"))
    return [net.name]


def endpoint_json(net: Network, box: Box) -> dict:
    """One entry of inspect's NetworkSettings.Networks."""
    ip = address(net, box)
    prefix = int(net.subnet.split("/")[1]) if ip else 0
    return {"IPAMConfig": None, "Links": None, "Aliases": None if net.name == "bridge" else [box.ident[:12]],
            "NetworkID": net.ident, "EndpointID": hex_id("endpoint", box.ident, net.name) if ip else "",
            "Gateway": net.gateway if ip else "", "IPAddress": ip, "IPPrefixLen": prefix, "IPv6Gateway": "",
            "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
            "MacAddress": mac(ip), "DriverOpts": None}


def networks_of(engine: Engine, box: Box) -> list[Network]:
    names = box.made.networks if box.made is not None else ["bridge"]
    return [find(engine, name) for name in names]


def target(engine: Engine, call: Call) -> tuple[Network, Made, Box]:
    body = Reader(call.body, "types.NetworkConnect")
    ref = body.text("Container")
    body.obj("EndpointConfig")
    net = find(engine, call.params["id"])
    box = next((b for b in boxes(engine) if ref and (b.name == ref.lstrip("/") or b.ident.startswith(ref))), None)
    if box is None:
        raise EngineError(404, f"No such container: {ref}")
    if box.made is None:
        raise EngineError(403, f"container {box.name} is a swarm task: its networks are its service's "
                               "(docker service update --network-add)")
    return net, box.made, box


@route("POST", "/networks/{id}/connect")
def connect(call: Call) -> Answer:
    engine = call.engine
    with engine.lock:
        net, made, box = target(engine, call)
        if net.name in ("host", "none") or any(n in ("host", "none") for n in made.networks):
            raise EngineError(400, HOST_CONFLICT)
        if net.scope == "swarm" and not net.attachable:
            raise EngineError(403, f"Could not attach to network {net.name}: "
                                   + rpc("PermissionDenied", f"network {net.name} not manually attachable"))
        if net.name in made.networks:
            raise EngineError(403, f"endpoint with name {made.name} already exists in network {net.name}")
        made.networks.append(net.name)
        note(engine, "network", "connect", net.ident, container=box.ident, name=net.name, type=net.driver)
    return Answer(code=200, text="")


@route("POST", "/networks/{id}/disconnect")
def disconnect(call: Call) -> Answer:
    engine = call.engine
    with engine.lock:
        net, made, box = target(engine, call)
        if net.name == "host":
            raise EngineError(400, HOST_CONFLICT)
        if net.name not in made.networks:
            raise EngineError(403, f"container {box.ident} is not connected to network {net.name}")
        made.networks.remove(net.name)
        note(engine, "network", "disconnect", net.ident, container=box.ident, name=net.name, type=net.driver)
    return Answer(code=200, text="")
