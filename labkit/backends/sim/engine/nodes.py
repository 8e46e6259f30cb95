"""`GET /nodes` and `GET /nodes/{id}`: the swarm's machines, as swarm.Node.

    docker node ls         # ID HOSTNAME STATUS AVAILABILITY MANAGER STATUS ENGINE VERSION
"""
from __future__ import annotations

from ....errors import LabkitError
from ..objects import NodeObj
from .common import Answer, Call, EngineError, Reader, bad, filters, labels_match, route, rpc
from .state import ENGINE_VERSION, Engine, engine_error

FILTERS = ("id", "label", "membership", "name", "node.label", "role")


def node_json(engine: Engine, node: NodeObj) -> dict:
    leader = engine.leader()
    found = {
        "ID": engine.node_id(node.name), "Version": {"Index": engine.node_index(node.name)},
        "CreatedAt": engine.timestamp(engine.born), "UpdatedAt": engine.timestamp(engine.born),
        "Spec": {"Labels": dict(node.labels or {}), "Role": "manager" if node.role == "manager" else "worker",
                 "Availability": node.availability},
        "Description": {
            "Hostname": node.name, "Platform": {"Architecture": "x86_64", "OS": "linux"},
            "Resources": {"NanoCPUs": node.cpu * 1_000_000, "MemoryBytes": node.memory * 1024 * 1024},
            "Engine": {"EngineVersion": ENGINE_VERSION, "Plugins": [
                {"Type": "Log", "Name": "json-file"}, {"Type": "Network", "Name": "bridge"},
                {"Type": "Network", "Name": "overlay"}, {"Type": "Volume", "Name": "local"}]},
            "TLSInfo": {"TrustRoot": "", "CertIssuerSubject": "", "CertIssuerPublicKey": ""}},
        "Status": {"State": "ready" if node.ready else "down", "Addr": engine.address(node)},
    }
    if node.role == "manager":
        found["ManagerStatus"] = {"Leader": node.name == leader, "Reachability": "reachable" if node.ready
                                  else "unreachable", "Addr": f"{engine.address(node)}:2377"}
    return found


def matches(engine: Engine, node: NodeObj, wanted: dict[str, list[str]]) -> bool:
    """moby's node filters: id and name prefixes, role, membership, (node.)label."""
    ident = engine.node_id(node.name)
    role = "manager" if node.role == "manager" else "worker"
    for key, values in wanted.items():
        if not values:
            continue
        if key == "id" and not any(ident.startswith(v) for v in values):
            return False
        if key == "name" and not any(node.name.startswith(v) for v in values):
            return False
        if key == "role":
            for value in values:
                if value not in ("manager", "worker"):
                    raise bad(f"Invalid role filter value: {value}")
            if role not in values:
                return False
        if key == "membership":
            for value in values:
                if value not in ("accepted", "pending"):
                    raise bad(f"Invalid membership filter value: {value}")
            if "accepted" not in values:
                return False
        if key in ("label", "node.label") and not labels_match(dict(node.labels or {}), values):
            return False
    return True


@route("GET", "/nodes")
def listing(call: Call) -> Answer:
    engine = call.engine
    wanted = filters(call.query, FILTERS)
    with engine.lock:
        engine.require_leader()
        return Answer(json=[node_json(engine, n) for n in engine.nodes() if matches(engine, n, wanted)])


@route("GET", "/nodes/{id}")
def inspect(call: Call) -> Answer:
    engine = call.engine
    with engine.lock:
        engine.require_leader()
        return Answer(json=node_json(engine, engine.find_node(call.params["id"])))


@route("POST", "/nodes/{id}/update")
def update(call: Call) -> Answer:
    """`docker node update --availability active|pause|drain`, by the simulator's uncordon,
    pause_node and drain, `--label-add/--label-rm` (what placement constraints read), and a new
    role (`docker node promote/demote`): a manager counts in Raft's majority, and swarmkit refuses
    to demote the last manager or one whose leaving would lose the quorum (controlapi/node.go)."""
    engine = call.engine
    raw = call.query.get("version", "")
    if not raw.isdigit():
        raise bad(f"invalid node version '{raw}': strconv.ParseUint: parsing \"{raw}\": invalid syntax")
    spec = Reader(call.body, "NodeSpec")
    availability, role, labels = spec.text("Availability"), spec.text("Role"), spec.labels("Labels")
    spec.text("Name")
    if availability not in ("active", "pause", "drain"):
        raise bad(f"invalid Availability: {availability!r}".replace("'", '"'))
    if role not in ("manager", "worker"):
        raise bad(f"invalid Role: {role!r}".replace("'", '"'))
    with engine.lock:
        engine.require_leader()
        node = engine.find_node(call.params["id"])
        if int(raw) != engine.node_index(node.name):
            raise EngineError(500, rpc("Unknown", "update out of sequence"))
        if role != ("manager" if node.role == "manager" else "worker"):
            change_role(engine, node, role)
        try:
            if labels != dict(node.labels or {}):  # what constraints read (node.labels.KEY==VALUE)
                engine.sim.api.check()
                node.labels = labels
                engine.sim.api.write("nodes", node)  # the scheduler looks again at what was pending
            if availability != node.availability:
                {"active": engine.sim.uncordon, "pause": engine.sim.pause_node,
                 "drain": engine.sim.drain}[availability](node.name)
        except LabkitError as error:
            raise engine_error(error) from None
        engine.node_versions[node.name] = engine.next_index()
        from .events import note
        note(engine, "node", "update", engine.node_id(node.name), name=node.name)
        return Answer(text="")


def change_role(engine: Engine, node: NodeObj, role: str) -> None:
    """Promote or demote `node` (swarmkit's controlapi UpdateNode: the last manager stays one, and
    a manager leaves Raft only while the others keep a majority of themselves up)."""
    managers = [n for n in engine.nodes() if n.role == "manager"]
    if role == "worker":
        if len(managers) == 1:
            raise bad(rpc("FailedPrecondition", "attempting to demote the last manager of the swarm"))
        others = [n for n in managers if n.name != node.name]
        if 2 * sum(1 for n in others if n.ready) <= len(others):
            raise bad(rpc("FailedPrecondition", "can't remove member from the raft: this would result in a loss "
                                                 "of quorum"))
    engine.sim.api.check()
    node.role = role
    engine.sim.api.write("nodes", node)
