"""`/containers`: the engine host's containers (boxes.py), made and run by the simulator's own
verbs (SimBackend.run_container, start_container, stop_container, remove_container), so the
host's containers live as they do under the facade and the console (restart policies, Docker's
restart back-off, `Exited (N)`).

    docker run -d --name web -p 8080:80 --restart=always nginx   # create (404: pull), start
    docker ps -a --filter status=exited
    docker stop web && docker start web && docker rm -f web

A request the real engine answers once the container has changed (start, stop, rm, wait)
returns once the simulated one has, its clock running meanwhile. `exec` and `attach` need a
process to talk to: refused, naming the backend that has one. Words from moby v20.10.24
(daemon/names.go, errors.go, delete.go, container.go, api/server/router/container).
"""
from __future__ import annotations

import json
import re
import time

from ....errors import LabkitError
from . import endpoints
from .boxes import NAME_CHARS, RESTART_POLICIES, Box, Made, boxes, command, find, ports, status_words
from .events import note
from .common import Answer, Call, EngineError, Reader, bad, filters, go_type, hex_id, labels_match, route
from .images import has as has_image, familiar, image_id, known
from .inspect import container_json
from .state import Engine, engine_error
from .tasks import last_events

TRUE = ("1", "true", "True")
FILTERS = ("ancestor", "before", "exited", "expose", "health", "id", "isolation", "is-task", "label", "name",
           "network", "publish", "since", "status", "volume")
STATES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")
NAME = re.compile(rf"^/?{NAME_CHARS}+$")
SETTLE = 5.0  # wall seconds a request waits for the simulated container to change
NO_PROCESS = ("labkit's simulated Docker Engine runs no processes, so it cannot {what}: the docker backend "
              "(LABKIT_BACKEND=docker, labkit.connect('docker')) runs real containers; here `docker logs` "
              "shows what the container printed")


def settle(engine: Engine, done, seconds: float = SETTLE) -> bool:
    """Wait (the lock free, so the clock runs) until `done()` holds, at most `seconds` of wall time;
    on a clock that nobody else moves (a notebook's), move it on one step at a time meanwhile."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not engine.closing.is_set():
        with engine.lock:
            if done():
                return True
        if not engine.stepping:
            time.sleep(0.03)
        elif not engine.wait_step():
            return False  # this command has waited its limit: the engine answers as things are
    return False


def pod_of(engine: Engine, name: str):
    return engine.sim.api.items("pods").get(name)


# -- reading ----------------------------------------------------------------------------------------
def matches(engine: Engine, box: Box, wanted: dict[str, list[str]]) -> bool:
    for key in ("before", "since", "volume", "expose", "publish", "isolation"):
        if wanted.get(key):
            from .spec import not_simulated
            raise not_simulated(f"the '{key}' filter of docker ps", "filter by name, status, ancestor, label, "
                                                                    "exited, health, network, is-task or id")
    for value in wanted.get("status", []):
        if value not in STATES:
            raise bad(f"Invalid filter 'status={value}'")
    if wanted.get("is-task") and wanted["is-task"] not in (["true"], ["false"]):
        raise bad(f"Invalid filter 'is-task={wanted['is-task'][0]}'")
    for value in wanted.get("health", []):
        if value not in ("starting", "healthy", "unhealthy", "none"):
            raise bad(f"Unrecognised filter value for health: {value}")
    checks = {
        "id": lambda v: box.ident.startswith(v),
        "name": lambda v: name_matches(v, box.name),
        "status": lambda v: box.state == v,
        "ancestor": lambda v: familiar(v) == familiar(box.image) or (v.split(":")[0] == familiar(box.image).split(
            ":")[0] and ":" not in v) or (known(v) and image_id(v) == image_id(box.image)),
        "exited": lambda v: box.state == "exited" and str(box.exit_code) == v,
        "health": lambda v: (health_of(box) or "none") == v,
        "network": lambda v: v in ("bridge", "default"),
        "is-task": lambda v: box.is_task == (v == "true"),
    }
    for key, check in checks.items():
        values = wanted.get(key)
        if values and not any(check(v) for v in values):
            return False
    return not wanted.get("label") or labels_match(box.labels, wanted["label"])


def name_matches(pattern: str, name: str) -> bool:
    """moby's filters.Match: the value as a regular expression (one that does not compile matches nothing)."""
    try:
        return re.search(pattern[:200], "/" + name) is not None
    except re.error:
        return False


def health_of(box: Box) -> str:
    from .boxes import health
    return health(box)


def summary(engine: Engine, box: Box, finished: dict[str, float]) -> dict:
    image = box.image
    return {"Id": box.ident, "Names": [f"/{box.name}"], "Image": image,
            "ImageID": image_id(image) if known(image) else "", "Command": command(box),
            "Created": int(time.time() - engine.sim.now() + box.created), "Ports": ports(box),
            "Labels": box.labels, "State": box.state,
            "Status": status_words(engine, box, finished.get(box.pod.name, box.created) if box.pod else box.created),
            "HostConfig": {"NetworkMode": "default"}, "Mounts": [],
            "NetworkSettings": {"Networks": {"bridge": {"NetworkID": hex_id("network", "bridge")}}}}


@route("GET", "/containers/json")
def listing(call: Call) -> Answer:
    engine = call.engine
    wanted = filters(call.query, FILTERS)
    every = call.query.get("all", "") in TRUE or bool(wanted.get("status"))
    limit = call.query.get("limit", "")
    if limit and not limit.lstrip("-").isdigit():
        raise bad(f"strconv.Atoi: parsing \"{limit}\": invalid syntax")
    with engine.lock:
        found = [b for b in boxes(engine) if (every or b.state in ("running", "restarting", "removing"))
                 and matches(engine, b, wanted)]
        if limit and int(limit) > 0:
            found = found[:int(limit)]
        finished = last_events(engine, {b.pod.name for b in found if b.pod is not None})
        return Answer(json=[summary(engine, b, finished) for b in found])


@route("GET", "/containers/{id}/json")
def inspect(call: Call) -> Answer:
    engine = call.engine
    with engine.lock:
        box = find(engine, call.params["id"])
        return Answer(json=container_json(engine, box))


# -- making one -------------------------------------------------------------------------------------
def read_restart(host: Reader) -> tuple[str, int]:
    """HostConfig.RestartPolicy, checked as moby's validateRestartPolicy (daemon/container.go)."""
    policy = host.obj("RestartPolicy")
    name, retries = policy.text("Name"), policy.whole("MaximumRetryCount", signed=True, bits=64)
    name = name or "no"
    if name not in RESTART_POLICIES:
        raise bad(f"invalid restart policy '{name}'")
    if retries and name != "on-failure":
        raise bad(f"maximum retry count cannot be used with restart policy '{name}'")
    if retries < 0:
        raise bad("maximum retry count cannot be negative")
    return name, retries


@route("POST", "/containers/create")
def create(call: Call) -> Answer:
    engine = call.engine
    body = Reader(call.body, "runconfig.ContainerConfigWrapper")  # (Config, HostConfig, NetworkingConfig)
    image = body.text("Image")
    env, cmd, entrypoint = body.texts("Env"), body.value.get("Cmd"), body.value.get("Entrypoint")
    for key, value in (("Cmd", cmd), ("Entrypoint", entrypoint)):
        if value is not None and not isinstance(value, str) and not (
                isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise bad(f"json: cannot unmarshal {go_type(value)} into Go struct field "
                      f"ContainerConfigWrapper.{key} of type strslice.StrSlice")
    labels = body.labels("Labels")
    exposed = body.value.get("ExposedPorts")
    if exposed is not None and not isinstance(exposed, dict):
        raise bad(f"json: cannot unmarshal {go_type(exposed)} into Go struct field ContainerConfigWrapper.ExposedPorts "
                  "of type nat.PortSet")
    host = body.obj("HostConfig")
    restart, retries = read_restart(host)
    bindings = host.value.get("PortBindings") or {}
    if not isinstance(bindings, dict) or not all(isinstance(v, list) and all(isinstance(b, dict) for b in v)
                                                 for v in bindings.values() if v is not None):
        raise bad(f"json: cannot unmarshal {go_type(bindings)} into Go struct field "
                  "ContainerConfigWrapper.HostConfig.PortBindings of type nat.PortMap")
    for key in bindings:
        port, _, proto = key.partition("/")
        if not port.isdigit() or not 0 < int(port) < 65536 or proto not in ("", "tcp", "udp", "sctp"):
            raise bad(f"invalid port specification: \"{key}\"")
    auto_remove = host.value.get("AutoRemove") is True
    if auto_remove and restart != "no":
        raise bad("can't create 'AutoRemove' container with restart policy")
    for item in env:
        if item.startswith("="):
            raise bad(f"invalid environment variable: {item}")
    name = call.query.get("name", "")
    if name and not NAME.match(name):
        raise bad(f"Invalid container name ({name}), only {NAME_CHARS} are allowed")
    name = name.lstrip("/")
    if not image:  # moby daemon/create.go: no image is `scratch`, and with no command either, this
        if not cmd and not entrypoint:
            raise bad("No command specified")
        from .spec import not_simulated
        raise not_simulated("a container without an image (scratch)", "name an image: docker run -d IMAGE")
    with engine.lock:
        if not known(image) or not has_image(engine, image):
            raise EngineError(404, f"No such image: {familiar(image)}")
        if name:
            taken = next((b for b in boxes(engine) if b.name == name), None)
            if taken is not None or pod_of(engine, name) is not None:
                ident = taken.ident if taken else hex_id("container", name)
                raise EngineError(409, f'Conflict. The container name "/{name}" is already in use by container '
                                       f'"{ident}". You have to remove (or rename) that container to be able to '
                                       "reuse that name.")
        else:
            name = generated_name(engine)
        mode = host.value.get("NetworkMode")
        attached = endpoints.initial(engine, mode if isinstance(mode, str) else "")
        now = engine.sim.now()
        made = Made(name, hex_id("container", name, now, engine.next_index()), image, dict(body.value),
                    dict(host.value), now, restart, retries, labels=labels, networks=attached)
        engine.containers[name] = made
        note(engine, "container", "create", made.ident, image=image, name=name, **labels)
    return Answer(code=201, json={"Id": made.ident, "Warnings": []})


def generated_name(engine: Engine) -> str:
    from .services import _ADJECTIVES, _SURNAMES
    rng = engine.sim.clock.rng
    taken = {b.name for b in boxes(engine)} | set(engine.sim.api.items("pods"))
    for attempt in range(10_000):  # moby's namesgenerator adds a digit once a name is taken (retry)
        name = f"{rng.choice(_ADJECTIVES)}_{rng.choice(_SURNAMES)}" + (str(attempt) if attempt >= 20 else "")
        if name not in taken:
            return name
    raise EngineError(409, "no container name is free: name it (docker run --name NAME)")


def run_made(engine: Engine, name: str, image: str, restart: str) -> None:
    """Start a container's first run on the host (the simulator's `docker run`)."""
    try:
        engine.sim.run_container(name, image, restart)
    except LabkitError as error:
        raise engine_error(error) from None


def port_clash(engine: Engine, made: Made) -> str:
    """A host port another running container holds (moby: `port is already allocated`)."""
    mine = {b.get("HostPort") for v in (made.host_config.get("PortBindings") or {}).values() for b in v or []}
    mine.discard("")
    mine.discard(None)
    for box in boxes(engine):
        if box.made is not None and box.name != made.name and box.state == "running":
            for item in ports(box):
                if str(item.get("PublicPort")) in mine:
                    return str(item["PublicPort"])
    return ""


# -- its life ---------------------------------------------------------------------------------------
@route("POST", "/containers/{id}/start", body=False)
def start(call: Call) -> Answer:
    engine = call.engine
    with engine.lock:
        box = find(engine, call.params["id"])
        if box.state == "running":
            return Answer(code=304, text="")
        if box.made is not None and (clash := port_clash(engine, box.made)):
            raise EngineError(500, f"driver failed programming external connectivity on endpoint {box.name} "
                                   f"({box.ident}): Bind for 0.0.0.0:{clash} failed: port is already allocated")
        try:
            if box.made is not None and not box.made.started:
                run_made(engine, box.name, box.made.image, box.made.restart)
                box.made.started = True
            else:
                engine.sim.start_container(box.pod.name)
        except LabkitError as error:
            raise engine_error(error) from None
        name = box.pod.name if box.pod is not None else box.name
    settle(engine, lambda: (p := pod_of(engine, name)) is None or p.container_up or p.phase != "pending")
    return Answer(code=204, text="")


def stop_pod(engine: Engine, box: Box, exit_code: int) -> None:
    try:
        engine.sim.stop_container(box.pod.name, exit_code=exit_code)
    except LabkitError as error:
        raise engine_error(error) from None


@route("POST", "/containers/{id}/stop", body=False)
def stop(call: Call) -> Answer:
    engine = call.engine
    with engine.lock:
        box = find(engine, call.params["id"])
        if box.state not in ("running", "restarting"):
            return Answer(code=304, text="")
        name = box.pod.name
    if box.state == "restarting":  # it stops once its restart has begun (the simulator's back-off runs on)
        settle(engine, lambda: (p := pod_of(engine, name)) is None or p.container_up)
    with engine.lock:
        box = find(engine, call.params["id"])
        if box.state == "running":
            stop_pod(engine, box, 0)
            note(engine, "container", "stop", box.ident, image=box.image, name=box.name)
    return Answer(code=204, text="")


@route("POST", "/containers/{id}/restart", body=False)
def restart(call: Call) -> Answer:
    engine = call.engine
    with engine.lock:
        box = find(engine, call.params["id"])
        if box.state == "running":
            stop_pod(engine, box, 0)
    return start(call)


@route("POST", "/containers/{id}/kill", body=False)
def kill(call: Call) -> Answer:
    engine = call.engine
    signal = call.query.get("signal", "") or "SIGKILL"
    if not re.fullmatch(r"(SIG)?[A-Z0-9+-]+|[0-9]+", signal.upper()):
        raise bad(f"Invalid signal: {signal}")
    with engine.lock:
        box = find(engine, call.params["id"])
        if box.state != "running":
            raise EngineError(409, f"Cannot kill container: {call.params['id']}: Container {box.ident} is not running")
        stop_pod(engine, box, 137 if signal.upper() in ("SIGKILL", "KILL", "9") else 143)
        note(engine, "container", "kill", box.ident, image=box.image, name=box.name,
             signal=str(9 if signal.upper() in ("SIGKILL", "KILL", "9") else 15))
    return Answer(code=204, text="")


@route("DELETE", "/containers/{id}")
def remove(call: Call) -> Answer:
    engine = call.engine
    force = call.query.get("force", "") in TRUE
    with engine.lock:
        box = find(engine, call.params["id"])
        if box.state in ("running", "restarting") and not force:
            raise EngineError(409, f"You cannot remove a {box.state} container {box.ident}. Stop the container "
                                   "before attempting removal or force remove")
        if box.state == "removing":
            raise EngineError(409, f"removal of container {box.name} is already in progress")
        engine.containers.pop(box.name, None)
        note(engine, "container", "destroy", box.ident, image=box.image, name=box.name)
        if box.pod is None:
            return Answer(code=204, text="")
        name = box.pod.name
        try:
            engine.sim.remove_container(name)
        except LabkitError as error:
            raise engine_error(error) from None
    settle(engine, lambda: pod_of(engine, name) is None)
    return Answer(code=204, text="")


@route("POST", "/containers/{id}/wait", body=False)
def wait(call: Call) -> Answer:
    """`docker wait`: until the container is not running (condition not-running / next-exit / removed)."""
    engine = call.engine
    condition = call.query.get("condition", "") or "not-running"
    if condition not in ("not-running", "next-exit", "removed"):
        raise bad(f"invalid condition: \"{condition}\"")
    with engine.lock:
        ident = find(engine, call.params["id"]).ident
    seen_running = [condition != "next-exit"]

    def ended() -> bool:
        found = next((b for b in boxes(engine) if b.ident == ident), None)
        if found is None:
            return True
        if found.state == "running":
            seen_running[0] = True
        return condition != "removed" and seen_running[0] and found.state in ("exited", "created")

    def body():
        # The CLI's `docker run` opens a wait before it starts the container and leaves at once with
        # -d: on a notebook's clock only a command that waits (`docker wait`: engine.waits) moves it.
        moving = engine.stepping and engine.waits
        while True:
            with engine.lock:
                if ended():
                    break
            if engine.closing.is_set() or (moving and not engine.wait_step()):
                while not engine.closing.wait(0.5):  # its limit: the console ends the command
                    yield b""
                return
            if not moving:
                time.sleep(0.03)
            yield b""  # (the server ends the stream once the client has gone)
        with engine.lock:
            found = next((b for b in boxes(engine) if b.ident == ident), None)
            code = found.exit_code if found is not None else 0
        yield (json.dumps({"Error": None, "StatusCode": code}) + "\n").encode()
    return Answer(stream=body, content_type="application/json")


@route("POST", "/containers/{id}/exec")
def exec_create(call: Call) -> Answer:
    with call.engine.lock:
        find(call.engine, call.params["id"])
    raise EngineError(501, NO_PROCESS.format(what="run a command in a container (docker exec)"))


@route("POST", "/containers/{id}/attach", body=False)
def attach(call: Call) -> Answer:
    with call.engine.lock:
        find(call.engine, call.params["id"])
    raise EngineError(501, NO_PROCESS.format(what="attach to a container (docker attach, docker run without -d)"))


# -- what the daemon does when a container exits ---------------------------------------------------------
def exited(engine: Engine, event: str, pod) -> None:
    """moby's restart manager and AutoRemove on the simulator's containers: after MaximumRetryCount
    restarts (on-failure:N) the next exit is the last; `--rm` removes it once it exits."""
    made = engine.containers.get(pod.name)
    if event == "DELETED" or made is None or not made.started or pod.deleting:
        return
    if made.restart == "on-failure" and made.retries and pod.restarts >= made.retries:
        pod.restart_policy = "Never"  # the restart under way is the last (read at its next exit)
    if made.host_config.get("AutoRemove") and pod.phase in ("failed", "succeeded") and pod.reason != "Restarting":
        engine.sim.clock.call_later(0.0, lambda: auto_remove(engine, pod.name))


def auto_remove(engine: Engine, name: str) -> None:
    pod = pod_of(engine, name)
    if pod is not None and not pod.deleting and not pod.container_up and pod.reason != "Restarting":
        engine.containers.pop(name, None)
        engine.sim.remove_container(name)


def watch(engine: Engine) -> None:
    engine.sim.store.watch("pods", lambda event, pod: exited(engine, event, pod))
