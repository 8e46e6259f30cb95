"""`/networks`: the host's networks, the built-in ones (bridge, host, none; on a swarm also
ingress and docker_gwbridge) and the ones a client made (`docker network create -d overlay`).

    docker network create -d overlay backend     # only on a swarm manager (swarm scope)
    docker service create --network backend ...  # the CLI resolves the name first (GET /networks/backend)
    docker network ls / inspect / rm

The simulator does not route between networks (every task reaches every other): a network here
is what a client made and sees, kept by the engine. Words from moby v20.10.24 daemon/network.go,
daemon/cluster/networks.go and libnetwork/error.go.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .boxes import Box, boxes
from .common import Answer, Call, EngineError, Reader, bad, filters, hex_id, labels_match, route, rpc, swarm_id
from .events import note
from .spec import not_simulated
from .state import NOT_MANAGER, Engine

FILTERS = ("dangling", "driver", "id", "label", "name", "scope", "type")
DRIVERS = ("bridge", "overlay")


@dataclass
class Network:
    name: str
    ident: str
    driver: str
    scope: str  # local or swarm
    created: float
    subnet: str
    gateway: str
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    attachable: bool = False
    internal: bool = False
    ingress: bool = False
    builtin: bool = False


def builtins(engine: Engine) -> list[Network]:
    born = engine.born
    out = [Network("bridge", hex_id("network", "bridge"), "bridge", "local", born, "172.17.0.0/16", "172.17.0.1",
                   options={"com.docker.network.bridge.default_bridge": "true",
                            "com.docker.network.bridge.name": "docker0"}, builtin=True),
           Network("host", hex_id("network", "host"), "host", "local", born, "", "", builtin=True),
           Network("none", hex_id("network", "none"), "null", "local", born, "", "", builtin=True)]
    if engine.in_swarm:
        out += [Network("ingress", swarm_id("network", "ingress"), "overlay", "swarm", born, "10.0.0.0/24",
                        "10.0.0.1", ingress=True, builtin=True,
                        options={"com.docker.network.driver.overlay.vxlanid_list": "4096"}),
                Network("docker_gwbridge", hex_id("network", "docker_gwbridge"), "bridge", "local", born,
                        "172.18.0.0/16", "172.18.0.1", builtin=True,
                        options={"com.docker.network.bridge.name": "docker_gwbridge"})]
    return out


def every(engine: Engine) -> list[Network]:
    return builtins(engine) + list(engine.networks.values())


def find(engine: Engine, ref: str) -> Network:
    """moby's FindNetwork: a full id, a name, else a unique id prefix."""
    found = every(engine)
    for key in (lambda n: n.ident == ref, lambda n: n.name == ref):
        hits = [n for n in found if key(n)]
        if hits:
            return hits[0]
    hits = [n for n in found if ref and n.ident.startswith(ref)]
    if len(hits) > 1:
        raise bad(f"network {ref} is ambiguous ({len(hits)} matches found based on ID prefix)")
    if not hits:
        raise EngineError(404, f"network {ref} not found")
    return hits[0]


def users(engine: Engine, net: Network) -> list[str]:
    """The services whose spec names the network (by name or id)."""
    if not engine.in_swarm:
        return []
    out = []
    for name in engine.services():
        spec = engine.record(name).spec
        targets = [n.get("Target") for n in ((spec.get("TaskTemplate") or {}).get("Networks") or [])
                   + (spec.get("Networks") or []) if isinstance(n, dict)]
        if net.name in targets or net.ident in targets:
            out.append(name)
    return out


def address(net: Network, box: Box) -> str:
    """A container's address on `net` while it runs (none on host and none networks)."""
    if box.state != "running" or not net.subnet:
        return ""
    base = net.subnet.split("/")[0].rsplit(".", 1)[0]
    return f"{base}.{2 + int(box.ident[:6], 16) % 250}"


def mac(ip: str) -> str:
    return f"02:42:ac:11:00:{int(ip.split('.')[-1]):02x}" if ip else ""


def containers_on(engine: Engine, net: Network) -> dict[str, dict]:
    """`docker network inspect`'s Containers: the running containers with an endpoint on `net`
    (the ones a client made: endpoints.py connects and disconnects them)."""
    out = {}
    for box in boxes(engine):
        if box.made is not None and net.name in box.made.networks and box.state == "running":
            ip = address(net, box)
            out[box.ident] = {"Name": box.name, "EndpointID": hex_id("endpoint", box.ident, net.name),
                              "MacAddress": mac(ip), "IPv4Address": f"{ip}/{net.subnet.split('/')[1]}" if ip else "",
                              "IPv6Address": ""}
    return out


def network_json(engine: Engine, net: Network) -> dict:
    config = [{"Subnet": net.subnet, "Gateway": net.gateway}] if net.subnet else []
    found = {"Name": net.name, "Id": net.ident, "Created": engine.timestamp(net.created), "Scope": net.scope,
             "Driver": net.driver, "EnableIPv6": False,
             "IPAM": {"Driver": "default", "Options": None, "Config": config},
             "Internal": net.internal, "Attachable": net.attachable, "Ingress": net.ingress,
             "ConfigFrom": {"Network": ""}, "ConfigOnly": False, "Containers": containers_on(engine, net),
             "Options": net.options,
             "Labels": net.labels}
    if net.driver == "overlay":
        found["Peers"] = [{"Name": engine.host.name, "IP": engine.address(engine.host)}]
    return found


def matches(net: Network, wanted: dict[str, list[str]]) -> bool:
    for value in wanted.get("type", []):
        if value not in ("custom", "builtin"):
            raise bad(f"Invalid filter: 'type'='{value}'")
    checks = {"driver": lambda v: net.driver == v, "id": lambda v: v in net.ident,
              "name": lambda v: v in net.name, "scope": lambda v: net.scope == v,
              "type": lambda v: net.builtin == (v == "builtin"), "dangling": lambda v: True}
    for key, check in checks.items():
        if wanted.get(key) and not any(check(v) for v in wanted[key]):
            return False
    return not wanted.get("label") or labels_match(net.labels, wanted["label"])


@route("GET", "/networks")
def listing(call: Call) -> Answer:
    engine = call.engine
    wanted = filters(call.query, FILTERS)
    with engine.lock:
        return Answer(json=[network_json(engine, n) for n in every(engine) if matches(n, wanted)])


@route("GET", "/networks/{id}")
def inspect(call: Call) -> Answer:
    engine = call.engine
    scope = call.query.get("scope", "")
    if scope not in ("", "local", "swarm", "global"):
        raise bad(f"invalid scope: {scope}")
    with engine.lock:
        net = find(engine, call.params["id"])
        if scope and scope != net.scope and not (scope == "swarm" and net.driver == "overlay"):
            raise EngineError(404, f"network {call.params['id']} not found")
        return Answer(json=network_json(engine, net))


@route("POST", "/networks/create")
def create(call: Call) -> Answer:
    engine = call.engine
    body = Reader(call.body, "types.NetworkCreateRequest")
    name, driver, scope = body.text("Name"), body.text("Driver") or "bridge", body.text("Scope")
    labels, options = body.labels("Labels"), body.labels("Options")
    ipam = body.obj("IPAM")
    ipam.text("Driver"), ipam.labels("Options")
    subnets = [(c.text("Subnet"), c.text("Gateway"), c.text("IPRange")) for c in ipam.items("Config", "IPAMConfig")]
    flags = {}
    for key in ("CheckDuplicate", "Internal", "Attachable", "Ingress", "EnableIPv6", "ConfigOnly"):
        value = body.value.get(key)
        if value is not None and not isinstance(value, bool):
            raise bad(f"json: cannot unmarshal {'string' if isinstance(value, str) else 'number'} into Go struct "
                      f"field NetworkCreateRequest.{key} of type bool")
        flags[key] = bool(value)
    if not name:
        raise bad("invalid name: name cannot be empty")  # (moby: errdefs.InvalidParameter on an empty name)
    with engine.lock:
        if name in ("bridge", "host", "none") or (engine.in_swarm and name in ("ingress", "docker_gwbridge")):
            raise EngineError(403, f"operation is not permitted on predefined {name} network ")
        if any(n.name == name for n in every(engine)):
            raise EngineError(409, f"network with name {name} already exists")
        if driver not in ("bridge", "overlay", "macvlan", "ipvlan", "host", "null"):
            raise EngineError(404, f"plugin \"{driver}\" not found")
        if driver not in DRIVERS:
            raise not_simulated(f"the {driver} network driver", "bridge and overlay networks are")
        if driver == "overlay" and not engine.in_swarm:
            raise EngineError(503, NOT_MANAGER)
        if flags["Ingress"]:
            raise not_simulated("a second ingress network", "the swarm has its own: ingress")
        count = len(engine.networks)
        subnet, gateway = (subnets[0][0], subnets[0][1]) if subnets and subnets[0][0] else (
            (f"10.0.{count + 1}.0/24", f"10.0.{count + 1}.1") if driver == "overlay"
            else (f"172.{19 + count}.0.0/16", f"172.{19 + count}.0.1"))
        ident = hex_id("network", name, engine.next_index()) if driver == "bridge" else swarm_id("network", name)
        engine.networks[name] = Network(name, ident, driver, "swarm" if driver == "overlay" else scope or "local",
                                        engine.sim.now(), subnet, gateway, labels, options,
                                        flags["Attachable"], flags["Internal"])
        note(engine, "network", "create", ident, name=name, type=driver, swarm="1" if driver == "overlay" else "")
    return Answer(code=201, json={"Id": ident, "Warning": ""})


@route("DELETE", "/networks/{id}")
def remove(call: Call) -> Answer:
    engine = call.engine
    with engine.lock:
        net = find(engine, call.params["id"])
        if net.builtin:
            raise EngineError(403, f"{net.name} is a pre-defined network and cannot be removed")
        if containers_on(engine, net):
            raise EngineError(403, f"error while removing network: network {net.name} id {net.ident} has active "
                                   "endpoints")
        holders = users(engine, net)
        if holders:
            raise EngineError(409 if not engine.in_swarm else 400, rpc(
                "FailedPrecondition", f"network {net.ident} is in use by service {engine.service_id(holders[0])}"))
        del engine.networks[net.name]
        note(engine, "network", "destroy", net.ident, name=net.name, type=net.driver,
             swarm="1" if net.driver == "overlay" else "")
    return Answer(code=204, text="")


def attach(engine: Engine, spec: dict) -> None:
    """A service spec's networks, checked and each named by its id (moby's populateNetworkID):
    a network the swarm does not have is not found; a host's own (bridge) cannot serve services."""
    template = spec.get("TaskTemplate") if isinstance(spec.get("TaskTemplate"), dict) else {}
    for item in (template.get("Networks") or spec.get("Networks") or []):
        target = item.get("Target") or ""
        net = find(engine, target)
        if net.scope != "swarm":
            raise EngineError(403, f"The network {net.name} cannot be used with services. Only networks scoped to "
                                   "the swarm can be used, such as those created with the overlay driver.")
        item["Target"] = net.ident


def virtual_ips(engine: Engine, spec: dict, number: int) -> list[dict]:
    """A service's addresses: one on ingress when it publishes, one on each of its networks."""
    template = spec.get("TaskTemplate") if isinstance(spec.get("TaskTemplate"), dict) else {}
    out = [{"NetworkID": swarm_id("network", "ingress"), "Addr": f"10.0.0.{2 + number}/24"}]
    for net in every(engine):
        if any(item.get("Target") == net.ident for item in template.get("Networks") or []):
            prefix = net.subnet.rsplit(".", 1)[0] if net.subnet else "10.0.9"
            out.append({"NetworkID": net.ident, "Addr": f"{prefix}.{2 + number}/24"})
    return out
