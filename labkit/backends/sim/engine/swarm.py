"""`/swarm`: the swarm's life as the engine's host lives it, and the swarm part of `GET /info`.

    docker swarm init --advertise-addr 10.10.0.2   # the host becomes a one-node swarm's manager
    docker swarm join-token -q worker              # GET /info, GET /swarm, GET /nodes/{id}
    docker swarm update --task-history-limit 10    # GET /swarm, POST /swarm/update?version=N
    docker swarm leave --force                     # the host is a plain Docker host again
    docker info                                    # Swarm: active, NodeID, Is Manager, ClusterID, ...

`init` and `leave` are the simulator's own: the machine becomes a swarm as the console's
`docker swarm init` makes one (SimBackend.reset(flavor="swarm", nodes=1), the same machine),
its running containers carried over; `leave` makes it a plain Docker host again and removes
the swarm's tasks, as moby's Cluster.Leave removes the node's swarm containers. Words from
moby v20.10.24 daemon/cluster/errors.go, swarm.go (Leave) and listen_addr.go.
"""
from __future__ import annotations

import hashlib
import ipaddress

from ..flavors.swarm import HEARTBEAT, NO_LEADER
from ..orchestrator import TASK_HISTORY
from .common import Answer, Call, EngineError, Reader, bad, route, rpc
from .state import NANO, Engine

# daemon/cluster/errors.go
SWARM_EXISTS = ('This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another '
                'one.')
NO_SWARM = "This node is not part of a swarm"
BAD_ADVERTISE = "advertise address must be a non-zero IP address or network interface (with optional port number)"
BAD_LISTEN = "listen address must be an IP address or network interface (with optional port number)"
INTERFACES = ("eth0",)  # the simulated machine's network interface
RESTART_WORDS = {"Always": "always", "OnFailure": "on-failure", "Never": "no"}


def default_spec() -> dict:
    return {"Name": "default", "Labels": {},
            "Orchestration": {"TaskHistoryRetentionLimit": TASK_HISTORY},
            "Raft": {"SnapshotInterval": 10000, "KeepOldSnapshots": 0, "LogEntriesForSlowFollowers": 500,
                     "ElectionTick": 10, "HeartbeatTick": 1},
            "Dispatcher": {"HeartbeatPeriod": int(HEARTBEAT * NANO)},
            "CAConfig": {"NodeCertExpiry": 7776000000000000},  # 90 days
            "TaskDefaults": {}, "EncryptionConfig": {"AutoLockManagers": False}}


def cluster(engine: Engine) -> dict:
    """swarm.ClusterInfo: what `GET /swarm` and `GET /info`'s Swarm.Cluster share."""
    return {
        "ID": engine.cluster_id(), "Version": {"Index": engine.swarm_index},
        "CreatedAt": engine.timestamp(engine.born), "UpdatedAt": engine.timestamp(engine.born),
        "Spec": engine.swarm_spec or default_spec(),
        "TLSInfo": {"TrustRoot": "", "CertIssuerSubject": "", "CertIssuerPublicKey": ""},
        "RootRotationInProgress": False, "DefaultAddrPool": ["10.0.0.0/8"], "SubnetSize": 24,
        "DataPathPort": 4789,
    }


def info(engine: Engine) -> dict:
    """swarm.Info, as the manager the client talks to sees its swarm (inactive: in none)."""
    if not engine.in_swarm and engine.joined is not None:  # a new machine that joined another engine's swarm
        return {"NodeID": "", "NodeAddr": "", "LocalNodeState": "active",
                "ControlAvailable": engine.joined == "manager", "Error": "", "RemoteManagers": None}
    if not engine.in_swarm:
        return {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": False,
                "Error": "", "RemoteManagers": None}
    nodes = engine.nodes()
    managers = [n for n in nodes if n.role == "manager"]
    host = engine.host
    return {
        "NodeID": engine.node_id(host.name), "NodeAddr": engine.address(host), "LocalNodeState": "active",
        "ControlAvailable": host.role == "manager", "Error": "",
        "RemoteManagers": [{"NodeID": engine.node_id(n.name), "Addr": f"{engine.address(n)}:2377"} for n in managers],
        "Nodes": len(nodes), "Managers": len(managers),
        "Cluster": cluster(engine) if host.role == "manager" else None,
    }


@route("GET", "/swarm")
def inspect(call: Call) -> Answer:
    engine = call.engine
    with engine.lock:
        engine.require_leader()
        found = cluster(engine)
        found["JoinTokens"] = {"Worker": engine.sim.join_token("worker"), "Manager": engine.sim.join_token("manager")}
    return Answer(json=found)


@route("GET", "/swarm/unlockkey")
def unlock_key(call: Call) -> Answer:
    """No autolock in the simulated swarm: no key (`docker swarm unlock-key`: "No unlock key is set")."""
    with call.engine.lock:
        call.engine.require_leader()
    return Answer(json={"UnlockKey": ""})


def read_address(value: str, wrong: str) -> str | None:
    """An IP with an optional port, or the machine's interface (None: its own address)."""
    if value in INTERFACES or value.split(":")[0] in INTERFACES:
        return None
    host = value.rsplit(":", 1)[0] if value.count(":") == 1 else value
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        raise bad(wrong) from None
    if ip.is_unspecified and wrong == BAD_ADVERTISE:
        raise bad(wrong)
    return None if ip.is_unspecified else str(ip)


@route("POST", "/swarm/init")
def init(call: Call) -> Answer:
    """`docker swarm init`: answers the new node's id (a JSON string)."""
    engine = call.engine
    request = Reader(call.body, "InitRequest")
    listen, advertise = request.text("ListenAddr"), request.text("AdvertiseAddr")
    request.text("DataPathAddr"), request.whole("DataPathPort", bits=32), request.texts("DefaultAddrPool")
    request.whole("SubnetSize", bits=32), request.text("Availability")
    force = request.value.get("ForceNewCluster")
    autolock = request.value.get("AutoLockManagers")
    for key, value in (("ForceNewCluster", force), ("AutoLockManagers", autolock)):
        if value is not None and not isinstance(value, bool):
            raise bad(f"json: cannot unmarshal {type(value).__name__ if not isinstance(value, str) else 'string'} "
                      f"into Go struct field InitRequest.{key} of type bool")
    spec = read_swarm_spec(request.obj("Spec"))
    with engine.lock:
        if engine.in_swarm:
            raise EngineError(503, SWARM_EXISTS)
        if spec.get("Name") not in (None, "", "default"):
            raise bad('swarm spec must be named "default"')
        if listen:
            read_address(listen, f'invalid ListenAddr "{listen}": {BAD_LISTEN}')
        address = read_address(advertise, BAD_ADVERTISE) if advertise else None
        if autolock:
            from .spec import not_simulated
            raise not_simulated("--autolock", "the simulated managers never restart locked")
        carried = carry(engine)
        renew(engine, flavor="swarm", nodes=1, managers=1)
        engine.advertise = address
        engine.swarm_spec = merged(spec)
        restore(engine, carried)
        ident = engine.node_id(engine.host.name)
    running_again(engine, carried)
    return Answer(json=ident)


def carry(engine: Engine) -> list[tuple[str, str, str]]:
    """(name, image, restart policy) of the host's running plain containers: the same machine
    keeps running them whatever swarm it is in."""
    out = []
    for pod in engine.sim.api.items("pods").values():
        if not pod.owner and not pod.app and pod.container_up and not pod.deleting:
            made = engine.containers.get(pod.name)
            restart = made.restart if made is not None else RESTART_WORDS.get(pod.restart_policy, "no")
            out.append((pod.name, pod.image, restart))
    return out


def renew(engine: Engine, **changes) -> None:
    """The same machine as another cluster (SimBackend.reset); its clock starts again, so the
    containers' records keep their age."""
    before, images = engine.sim.now(), set(engine.host.images)
    engine.sim.reset(**changes)
    engine.host.images.update(images)  # the machine's images stay on its disk
    shift = before - engine.sim.now()
    for made in engine.containers.values():
        made.created -= shift
    for net in engine.networks.values():
        net.created -= shift
    engine.journal[:] = [(at - shift, *rest) for at, *rest in engine.journal]
    engine.begin()


def restore(engine: Engine, carried: list[tuple[str, str, str]]) -> None:
    from .containers import run_made
    names = {name for name, _, _ in carried}
    for name in list(engine.containers):  # a container that was not running is gone with the old machine state
        if engine.containers[name].started and name not in names:
            del engine.containers[name]
    for name, image, restart in carried:
        run_made(engine, name, image, restart)


def running_again(engine: Engine, carried: list[tuple[str, str, str]]) -> None:
    """Answer once the carried containers run again (on the real machine they never stopped)."""
    from .containers import pod_of, settle
    settle(engine, lambda: all((p := pod_of(engine, name)) is None or p.container_up for name, _, _ in carried))


@route("POST", "/swarm/join")
def join(call: Call) -> Answer:
    engine = call.engine
    request = Reader(call.body, "JoinRequest")
    listen, remotes, token = request.text("ListenAddr"), request.texts("RemoteAddrs"), request.text("JoinToken")
    request.text("AdvertiseAddr"), request.text("DataPathAddr"), request.text("Availability")
    with engine.lock:
        if engine.in_swarm or engine.joined is not None:
            raise EngineError(503, SWARM_EXISTS)
        if listen:
            read_address(listen, f'invalid ListenAddr "{listen}": {BAD_LISTEN}')
        if not remotes:
            raise bad("at least 1 RemoteAddr is required to join")
        if not token:
            raise bad(rpc("InvalidArgument", "A valid join token is necessary to join this cluster"))
        if engine.join_to is None:
            from .spec import not_simulated
            raise not_simulated("joining another swarm from this engine",
                                "make this host a swarm's manager with docker swarm init; labkit's facade adds "
                                "machines to a simulated swarm (cluster.add_node)")
    engine.joined = engine.join_to(remotes, token)  # the swarm's own engine decides (console/tools/docker.py)
    return Answer(code=200, text="")


@route("POST", "/swarm/leave", body=False)
def leave(call: Call) -> Answer:
    engine = call.engine
    force = call.query.get("force", "") in ("1", "true", "True")
    with engine.lock:
        if not engine.in_swarm:
            raise EngineError(503, NO_SWARM)
        if engine.host.role == "manager" and not force:
            raise EngineError(503, leave_refusal(engine))
        carried = carry(engine)
        renew(engine, flavor="docker", nodes=1)
        engine.networks = {k: v for k, v in engine.networks.items() if v.driver != "overlay"}
        restore(engine, carried)
    running_again(engine, carried)
    return Answer(text="")


def leave_refusal(engine: Engine) -> str:
    """moby's Cluster.Leave without --force on a manager, word for word."""
    managers = [n for n in engine.nodes() if n.role == "manager"]
    reachable = sum(1 for n in managers if n.ready)
    unreachable = len(managers) - reachable
    msg = "You are attempting to leave the swarm on a node that is participating as a manager. "
    if engine.sim.has_quorum():
        if reachable - 1 <= unreachable:  # removingManagerCausesLossOfQuorum
            if reachable == 1 and unreachable == 0:  # isLastManager
                return msg + "Removing the last manager erases all current state of the swarm. Use `--force` to " \
                             "ignore this message. "
            msg += f"Removing this node leaves {reachable - 1} managers out of {reachable + unreachable}. Without " \
                   "a Raft quorum your swarm will be inaccessible. "
    else:
        msg += "Doing so may lose the consensus of your cluster. "
    return msg + "The only way to restore a swarm that has lost consensus is to reinitialize it with " \
                 "`--force-new-cluster`. Use `--force` to suppress this message."


SPEC_KEYS = ("Labels", "Orchestration", "Raft", "Dispatcher", "CAConfig", "TaskDefaults", "EncryptionConfig")


def merged(given: dict) -> dict:
    """The swarm's spec: the defaults, with what `given` sets (swarmkit: a field left 0 or nil
    takes its default); fields a swarm.Spec does not have are dropped, as Go drops them."""
    out = default_spec()
    for key in SPEC_KEYS:
        value = given.get(key)
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **{k: v for k, v in value.items() if v not in (None, 0, "")}}
        elif value:
            out[key] = value
    return out


def read_swarm_spec(spec: Reader) -> dict:
    """A swarm.Spec, its types checked as Go reads them; what it says, as written."""
    spec.text("Name"), spec.labels("Labels")
    spec.obj("Orchestration").whole("TaskHistoryRetentionLimit", signed=True)
    raft = spec.obj("Raft")
    raft.whole("SnapshotInterval"), raft.whole("KeepOldSnapshots"), raft.whole("LogEntriesForSlowFollowers")
    raft.whole("ElectionTick", signed=True), raft.whole("HeartbeatTick", signed=True)
    spec.obj("Dispatcher").whole("HeartbeatPeriod", signed=True)
    spec.obj("CAConfig").whole("NodeCertExpiry", signed=True)
    spec.obj("TaskDefaults").obj("LogDriver").text("Name")
    spec.obj("EncryptionConfig")
    return dict(spec.value)


@route("POST", "/swarm/update")
def update(call: Call) -> Answer:
    """`docker swarm update` and `docker swarm join-token --rotate`."""
    engine = call.engine
    raw = call.query.get("version", "")
    if not raw.isdigit():
        raise bad(f"invalid swarm version '{raw}': strconv.ParseUint: parsing \"{raw}\": invalid syntax")
    rotate = {}
    for key in ("rotateWorkerToken", "rotateManagerToken", "rotateManagerUnlockKey"):
        value = call.query.get(key, "")
        if value and value not in ("1", "0", "t", "f", "true", "false", "True", "False", "TRUE", "FALSE"):
            raise bad(f"invalid value for {key}: {value}")
        rotate[key] = value in ("1", "t", "true", "True", "TRUE")
    spec = read_swarm_spec(Reader(call.body, "Spec"))
    with engine.lock:
        engine.require_leader()
        if spec.get("Name") not in (None, "", "default"):
            raise bad('swarm spec must be named "default"')
        if int(raw) != engine.swarm_index:
            raise EngineError(500, rpc("Unknown", "update out of sequence"))
        if (spec.get("EncryptionConfig") or {}).get("AutoLockManagers"):
            from .spec import not_simulated
            raise not_simulated("--autolock", "the simulated managers never restart locked")
        engine.swarm_spec = merged(spec)
        for role, key in (("worker", "rotateWorkerToken"), ("manager", "rotateManagerToken")):
            if rotate[key]:
                old = engine.sim.tokens[role]
                digest = hashlib.sha256(f"rotated-{old}".encode()).hexdigest()
                engine.sim.tokens[role] = f"{old[:60]}{digest[:25]}"
        engine.swarm_index = engine.next_index()
    return Answer(text="")


# -- a new machine joins -------------------------------------------------------------------------------
JOIN_TIMEOUT = ('Timeout was reached before node joined. The attempt to join the swarm will continue in the '
                'background. Use the "docker info" command to see the current swarm status of your node.')


def admit(sim, remotes: list[str], token: str, add=None) -> str:
    """`docker swarm join --token TOKEN ADDR` typed on a new machine, as the simulated swarm `sim`
    answers it: the role the machine joined as, after it became a node of `sim`. Refused in the
    engine's words: no swarm listens at ADDR (connection refused, or nothing answers there before
    the CLI's timeout), a token of no role of this swarm, a swarm without a leader (moby
    daemon/cluster/swarm.go Join; swarmkit's ca: a node's certificate comes from the leader).
    `add(role)` adds the machine (default: the simulator's add_node; the console's goes through
    the facade, so that its views see the new node)."""
    address = remotes[0]
    if sim.flavor != "swarm":
        raise EngineError(500, rpc("Unavailable", f'connection error: desc = "transport: Error while dialing dial '
                                                  f'tcp {address}: connect: connection refused"'))
    if address.rsplit(":", 1)[0] != sim.join_address().rsplit(":", 1)[0]:
        raise EngineError(503, JOIN_TIMEOUT)
    role = next((r for r in ("worker", "manager") if sim.join_token(r) == token), None)
    if role is None:
        raise EngineError(400, rpc("InvalidArgument", "A valid join token is necessary to join this cluster"))
    if not sim.has_quorum():
        raise EngineError(503, NO_LEADER)
    (add or (lambda r: sim.add_node(role=r)))(role)
    return role
