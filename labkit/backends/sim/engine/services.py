"""`/services`: list, inspect, create, update (scale, a new image, env, healthcheck or
constraints, --force, a rollback) and remove, each done by the simulator's own verbs
(SimBackend.deploy, scale, rollback, delete; the swarm flavor's update with the template's new
fields), so the simulated swarm converges as it does under the facade. Global services and
constraints: modes.py, placement.py; a spec's networks: networks.py.

    docker service create --name web --replicas 3 -p 8080:80 --env COLOR=blue nginx
    docker service scale web=5           # GET the spec, POST it back with its version
    docker service update --constraint-add node.role==worker --env-add COLOR=green web
"""
from __future__ import annotations

import copy
import hashlib

from .... import catalog
from ....errors import LabkitError
from ...base import DeploySpec
from .common import Answer, Call, EngineError, bad, filters, labels_match, route, rpc
from . import modes, networks
from .events import note
from .spec import CONVERTED, Wanted, as_served, not_simulated, plain, read_spec
from ..api import SWARM_DEFAULTS
from ..flavors.swarm import update_config
from .state import NANO, Engine, Record, engine_error, strategy
from .tasks import state

FILTERS = ("id", "label", "mode", "name")
FIRST_DYNAMIC_PORT = 30000  # swarm's ingress picks published ports from 30000 up
_ADJECTIVES = ("admiring", "bold", "brave", "clever", "eager", "festive", "gallant", "happy", "jolly", "keen")
_SURNAMES = ("babbage", "curie", "darwin", "euler", "hopper", "kepler", "lovelace", "noether", "ritchie", "turing")


# -- what a service looks like --------------------------------------------------------------------
def service_json(engine: Engine, name: str, *, status: bool = False) -> dict:
    svc = engine.services()[name]
    record = engine.record(name)
    spec = copy.deepcopy(record.spec)
    if "Global" not in (spec.get("Mode") or {}):
        spec.setdefault("Mode", {}).setdefault("Replicated", {})["Replicas"] = svc.replicas
    spec.setdefault("TaskTemplate", {}).setdefault("ContainerSpec", {})["Image"] = \
        record.refs.get(svc.template.image, svc.template.image)
    as_served(spec["TaskTemplate"])
    targets = {p.get("PublishedPort"): p.get("TargetPort") for p in (spec.get("EndpointSpec") or {}).get("Ports") or []}
    published = sorted(port for port, holder in engine.sim.published.items() if holder == name)
    ports = [{"Protocol": "tcp", "TargetPort": targets.get(port) or 80, "PublishedPort": port,
              "PublishMode": "ingress"} for port in published]
    found = {"ID": engine.service_id(name), "Version": {"Index": record.index},
             "CreatedAt": engine.timestamp(record.created), "UpdatedAt": engine.timestamp(record.updated),
             "Spec": spec,
             "Endpoint": {"Spec": spec.get("EndpointSpec") or {"Mode": "vip"}, "Ports": ports,
                          "VirtualIPs": networks.virtual_ips(engine, spec, list(engine.services()).index(name))}}
    if not ports:
        del found["Endpoint"]["Ports"]
    if record.previous is not None:
        found["PreviousSpec"] = copy.deepcopy(record.previous)
        as_served(found["PreviousSpec"].setdefault("TaskTemplate", {}))
    if svc.update_state:
        found["UpdateStatus"] = {"State": svc.update_state, "StartedAt": engine.timestamp(record.updated),
                                 "Message": svc.update_message}
        if svc.update_state.endswith("completed"):
            found["UpdateStatus"]["CompletedAt"] = engine.timestamp(engine.sim.now())
    if status:
        found["ServiceStatus"] = {"RunningTasks": running_tasks(engine, name), "DesiredTasks": svc.replicas,
                                  "CompletedTasks": 0}
    return found


def running_tasks(engine: Engine, name: str) -> int:
    """Tasks running on a node that is up, as moby counts them for `docker service ls`."""
    ready = {n.name for n in engine.nodes() if n.ready}
    return sum(1 for t in engine.tasks() if t.owner == name and t.node in ready
               and state(engine, t)[:2] == ("running", "running"))


def matches(engine: Engine, name: str, wanted: dict[str, list[str]]) -> bool:
    ident = engine.service_id(name)
    for key, values in wanted.items():
        if not values:
            continue
        if key == "id" and not any(ident.startswith(v) for v in values):
            return False
        if key == "name" and not any(name.startswith(v) for v in values):
            return False
        if key == "mode":
            for value in values:
                if value not in ("replicated", "global", "replicated-job", "global-job"):
                    raise bad(f"Invalid filter: 'mode'='{value}'")
            if "replicated" not in values:
                return False
        if key == "label" and not labels_match(engine.record(name).spec.get("Labels") or {}, values):
            return False
    return True


# -- reading ----------------------------------------------------------------------------------------
@route("GET", "/services")
def listing(call: Call) -> Answer:
    engine = call.engine
    wanted = filters(call.query, FILTERS)
    status = call.query.get("status", "") in ("1", "true", "True")
    with engine.lock:
        engine.require_leader()
        return Answer(json=[service_json(engine, n, status=status) for n in engine.services()
                            if matches(engine, n, wanted)])


@route("GET", "/services/{id}")
def inspect(call: Call) -> Answer:
    engine = call.engine
    with engine.lock:
        engine.require_leader()
        found = service_json(engine, engine.find_service(call.params["id"]))
    # `docker service inspect` asks for them; any value but these is true (moby httputils.BoolValue)
    if call.query.get("insertDefaults", "").strip().lower() not in ("", "0", "no", "false", "none"):
        with_defaults(found["Spec"])
    return Answer(json=found)


UPDATE_DEFAULTS = {"Parallelism": 1, "FailureAction": "pause", "Monitor": 5 * NANO, "MaxFailureRatio": 0,
                   "Order": "stop-first"}


def with_defaults(spec: dict) -> None:
    """Fill in what the client left out with swarmkit's defaults, as `GET /services/{id}?insertDefaults=true`
    does (moby/swarmkit api/defaults/service.go InterpolateService): the stop grace period, the restart
    policy, the update and rollback configs `docker service inspect --pretty` then prints."""
    task = spec.setdefault("TaskTemplate", {})
    container = task.get("ContainerSpec")
    if container is not None:
        container.setdefault("StopGracePeriod", 10 * NANO)
        container.setdefault("DNSConfig", {})
    task.setdefault("Resources", {})
    restart = task.setdefault("RestartPolicy", {"Condition": "any"})
    restart.setdefault("Delay", 5 * NANO)
    restart.setdefault("MaxAttempts", 0)
    task.setdefault("Placement", {})
    for key in ("UpdateConfig", "RollbackConfig"):
        spec.setdefault(key, dict(UPDATE_DEFAULTS))


# -- writing ----------------------------------------------------------------------------------------
@route("POST", "/services/create")
def create(call: Call) -> Answer:
    engine = call.engine
    wanted = read_spec(call.body)  # every check before the lock: nothing is half made
    with engine.lock:
        engine.require_leader()
        name = wanted.name or generated_name(engine)
        if name in engine.services():
            raise EngineError(409, rpc("AlreadyExists", f"name conflicts with an existing object: service {name} "
                                                        "already exists"))
        ports = assign_ports(engine, name, wanted)
        spec = copy.deepcopy(call.body)
        spec["Name"] = name
        networks.attach(engine, spec)
        if ports != list(wanted.ports):
            spec.setdefault("EndpointSpec", {})["Ports"] = [
                {**given, "PublishedPort": port} for given, (port, _) in
                zip(spec["EndpointSpec"].get("Ports") or [], ports)]
        where = modes.placement_of(engine, name, wanted)
        replicas = modes.eligible(engine, where) if wanted.mode == "global" else wanted.replicas
        try:
            engine.sim.deploy(DeploySpec(
                name=name, image=wanted.plain_image, replicas=replicas, env=wanted.env,
                ports=tuple(f"{published}:{target}" for published, target in ports), network=wanted.network,
                labels=dict(wanted.labels), strategy=strategy(wanted.update), cpu=wanted.cpu, memory=wanted.memory,
                probe=wanted.probe))
        except LabkitError as error:
            raise engine_error(error) from None
        set_rollback(engine, name, wanted)
        if where is not None:  # before the orchestrator makes the first tasks (it runs at the clock's next step)
            svc = engine.services()[name]
            svc.template = svc.template.copy(placement=where)
            engine.sim.api.write("services", svc)
        now = engine.sim.now()
        engine.records[name] = Record(spec, engine.next_index(), now, now, refs={wanted.plain_image: wanted.image})
        note(engine, "service", "create", engine.service_id(name), name=name)
        return Answer(code=201, json={"ID": engine.service_id(name)})


def generated_name(engine: Engine) -> str:
    """A name like the engine's namesgenerator picks (from the simulator's seeded randomness)."""
    rng = engine.sim.clock.rng
    while True:
        name = f"{rng.choice(_ADJECTIVES)}_{rng.choice(_SURNAMES)}"
        if name not in engine.services():
            return name


def assign_ports(engine: Engine, name: str, wanted: Wanted) -> list[tuple[int, int]]:
    """Published ports, checked against the routing mesh (swarmkit's port allocator); 0 takes
    the first free one from 30000."""
    taken = {p: holder for p, holder in engine.sim.published.items() if holder != name}
    out = []
    for published, target in wanted.ports:
        if published in taken:
            holder = taken[published]
            raise bad(rpc("InvalidArgument", f"port '{published}' is already in use by service '{holder}' "
                                             f"({engine.service_id(holder)}) as an ingress port"))
        if not published:
            used = set(taken) | {q for q, _ in out} | {w for w, _ in wanted.ports}
            published = next(p for p in range(FIRST_DYNAMIC_PORT, 65536) if p not in used)
        out.append((published, target))
    return out


UPDATABLE = (("Mode", "Replicated", "Replicas"), ("TaskTemplate", "ContainerSpec", "Image"), ("UpdateConfig",),
             ("RollbackConfig",), ("Labels",), ("TaskTemplate", "Placement", "Platforms"),
             ("TaskTemplate", "ContainerSpec", "Env"), ("TaskTemplate", "ForceUpdate"),
             ("TaskTemplate", "ContainerSpec", "Healthcheck"), ("TaskTemplate", "Placement", "Constraints"),
             ("TaskTemplate", "Placement", "MaxReplicas"))


def set_rollback(engine: Engine, name: str, wanted: Wanted) -> None:
    """The service's rollback config (--rollback-*): what `docker service rollback` and an update's
    failure action `rollback` follow (the orchestrator reads Service.rollback_config)."""
    svc = engine.services()[name]
    svc.rollback_config = update_config(SWARM_DEFAULTS, strategy(wanted.rollback))


@route("POST", "/services/{id}/update")
def update(call: Call) -> Answer:
    engine = call.engine
    raw = call.query.get("version", "")
    if not raw.isdigit():
        raise bad(f"invalid service version '{raw}': strconv.ParseUint: parsing \"{raw}\": invalid syntax")
    wanted = read_spec(call.body)
    with engine.lock:
        engine.require_leader()
        name = engine.find_service(call.params["id"])
        record = engine.record(name)
        if wanted.name and wanted.name != name:
            raise EngineError(501, rpc("Unimplemented", "renaming services is not supported"))
        if int(raw) != record.index:
            raise EngineError(500, rpc("Unknown", "update out of sequence"))
        if call.query.get("rollback") == "previous":
            return rollback(engine, name, record)
        given = copy.deepcopy(call.body)
        given["Name"] = name
        networks.attach(engine, given)  # names as ids, as when it was made
        added = added_ports(engine, name, record, wanted)
        if settled(given, ports=True) != settled(record.spec, ports=True):
            raise not_simulated("changing a service's networks, mounts or resources, or taking a port back, in place",
                                "an update here changes its image, env, healthcheck, replicas, constraints, "
                                "update and rollback config, adds published ports, or replaces its tasks (--force)")
        svc = engine.services()[name]
        before = read_spec(record.spec)
        force = wanted.force != before.force
        if (wanted.mode == "global") != modes.is_global(engine, name):
            raise bad(rpc("Unknown", "service mode change is not allowed"))  # swarmkit controlapi/service.go
        template = {"env": wanted.env, "probe": wanted.probe, "placement": modes.placement_of(engine, name, wanted)}
        try:
            if wanted.plain_image != svc.template.image or wanted.update != (record.spec.get("UpdateConfig") or {}) \
                    or force or any(getattr(svc.template, k) != v for k, v in template.items()):
                engine.sim.api.check()
                engine.sim.rules.update(svc, wanted.plain_image, strategy(wanted.update), force=force, **template)
            set_rollback(engine, name, wanted)
            for port in added:
                engine.sim.expose(name, port)
            replicas = modes.eligible(engine, svc.template.placement) if wanted.mode == "global" else wanted.replicas
            if replicas != svc.replicas:
                engine.sim.scale(name, replicas)
        except LabkitError as error:
            raise engine_error(error) from None
        record.previous, record.spec = record.spec, given
        record.refs[wanted.plain_image] = wanted.image
        record.index, record.updated = engine.next_index(), engine.sim.now()
        note(engine, "service", "update", engine.service_id(name), name=name)
        return Answer(json={})


def rollback(engine: Engine, name: str, record: Record) -> Answer:
    """`docker service rollback` (update?rollback=previous): back to the previous spec, its image
    by the simulator's rollback (the rollback config, UpdateStatus rollback_*), its replicas by scale."""
    if record.previous is None:
        raise bad(rpc("FailedPrecondition", f"service {engine.service_id(name)} does not have a previous spec"))
    svc = engine.services()[name]
    before = read_spec(record.previous)
    try:
        def shape(t) -> tuple:
            return t.image, t.env, t.probe, t.placement
        where = modes.placement_of(engine, name, before)
        wanted = (before.plain_image, before.env, before.probe, where)
        if wanted != shape(svc.template):
            if svc.previous is not None and shape(svc.previous) == wanted:
                engine.sim.rollback(name)
                svc.update_message = "manually requested rollback"  # swarmkit controlapi/service.go
            else:
                engine.sim.api.check()
                engine.sim.rules.update(svc, before.plain_image, strategy(before.update), env=before.env,
                                        probe=before.probe, placement=where)
        replicas = modes.eligible(engine, where) if before.mode == "global" else before.replicas
        if replicas != svc.replicas:
            engine.sim.scale(name, replicas)
    except LabkitError as error:
        raise engine_error(error) from None
    record.spec, record.previous = record.previous, record.spec
    record.index, record.updated = engine.next_index(), engine.sim.now()
    return Answer(json={})


def added_ports(engine: Engine, name: str, record: Record, wanted: Wanted) -> list[int]:
    """The ports an update publishes that the service did not (`--publish-add`), checked against the
    routing mesh before anything changes; one taken back (`--publish-rm`) is not simulated."""
    before = {published for published, _ in read_spec(record.spec).ports}
    now = {published for published, _ in wanted.ports}
    if before - now:
        raise not_simulated("taking a published port back (--publish-rm)", "docker service rm and create it again")
    fresh = tuple((p, t) for p, t in wanted.ports if p not in before)
    if not fresh:
        return []
    checked = assign_ports(engine, name, Wanted(name=name, image=wanted.image, replicas=wanted.replicas, ports=fresh))
    return [published for published, _ in checked]


def settled(spec: dict, ports: bool = False) -> dict:
    """A spec without what an update may change here (`ports`: its published ports too), and
    without empty values (a client may send `"Placement": {}` where it had none)."""
    out = copy.deepcopy(spec)
    if ports:
        out.pop("EndpointSpec", None)
    for path in UPDATABLE + CONVERTED:
        node = out
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return _pruned(out)


def _pruned(value):
    if isinstance(value, dict):
        kept = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, {}, [], "", 0, False)}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


@route("DELETE", "/services/{id}")
def remove(call: Call) -> Answer:
    engine = call.engine
    with engine.lock:
        engine.require_leader()
        name = engine.find_service(call.params["id"])
        try:
            engine.sim.delete(name)
        except LabkitError as error:
            raise engine_error(error) from None
        engine.records.pop(name, None)
        note(engine, "service", "remove", engine.service_id(name), name=name)
        return Answer(text="")


@route("GET", "/distribution/{name+}/json")
def distribution(call: Call) -> Answer:
    """What a registry says of an image (the CLI pins the digest in the spec): from labkit's offline
    registry, with a digest made from the reference (the same on every run), since nothing is pulled.
    The course's own images (web-server:1...) are built on the machine and are in no registry: the
    CLI then warns `image web-server:1 could not be accessed on a registry to record its digest`
    and the spec keeps the tag, as on the real playground (tests/test_fidelity_cli.py)."""
    ref = call.params["name"]
    if catalog.lookup(plain(ref)) is None or catalog.is_demo(plain(ref)):
        raise EngineError(403, "errors:\ndenied: requested access to the resource is denied\n"
                               "unauthorized: authentication required\n")
    digest = "sha256:" + hashlib.sha256(f"labkit-offline/{catalog.normalize(plain(ref))}".encode()).hexdigest()
    return Answer(json={"Descriptor": {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest,
                                       "size": 10229},
                        "Platforms": [{"architecture": "amd64", "os": "linux"}]})
