"""The engine host's containers as moby's API shows them: the ones a client made (`docker
create/run`, kept as `Made` beside the simulator's pod of the same name), the plain containers
the facade or console started, and on a swarm the host's task containers (`web.1.<task id>`).

    boxes(engine)                 # every container on the host, newest first
    find(engine, "web")           # by full id, name (with or without "/") or unique id prefix
    summary(engine, box)          # GET /containers/json's item; inspect(engine, box): /containers/{id}/json

Its state is the simulator's pod's (node.py runs it): running, restarting (Docker's restart
back-off), exited with its code, or created before its first start.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..objects import Pod
from .common import EngineError, bad, docker_duration, hex_id
from .image_config import entry, port_of
from .state import Engine

RESTART_POLICIES = ("no", "always", "on-failure", "unless-stopped")
NAME_CHARS = "[a-zA-Z0-9][a-zA-Z0-9_.-]"


@dataclass
class Made:
    """A container a client created: its config as written, and whether it was ever started
    (before that the simulator has no pod for it: `docker create` only)."""
    name: str
    ident: str
    image: str  # as the client wrote it
    config: dict
    host_config: dict
    created: float
    restart: str = "no"
    retries: int = 0
    started: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    networks: list[str] = field(default_factory=lambda: ["bridge"])  # its endpoints' networks (endpoints.py)


@dataclass
class Box:
    """One container as the API lists it."""
    name: str  # without the leading "/"
    ident: str
    image: str
    created: float
    state: str  # created, running, restarting, exited, removing
    pod: Pod | None
    made: Made | None
    labels: dict[str, str]
    exit_code: int = 0

    @property
    def is_task(self) -> bool:
        return bool(self.pod is not None and self.pod.slot)


def pod_state(engine: Engine, pod: Pod) -> tuple[str, int]:
    """(state, exit code) of a pod's container, in moby's words (container/state.go). A swarm task that
    was shut down keeps its stopped container (swarmkit's agent removes it with the task, once the
    task history lets it go): `Exited (0)`, where a removed plain container is `Removal In Progress`."""
    if pod.deleting and pod.slot:
        return ("running", 0) if pod.container_up else ("exited", 0)
    if pod.deleting:
        return "removing", 0
    if pod.container_up:
        return "running", 0
    if pod.reason == "Restarting":
        return "restarting", exit_code(engine, pod)
    if pod.phase in ("failed", "succeeded"):
        return "exited", exit_code(engine, pod)
    return "created", 0  # pulled, about to start


def exit_code(engine: Engine, pod: Pod) -> int:
    """How its container last ended: `Exited (N)` in its state, else its last `Died` event's code."""
    if pod.reason.startswith("Exited ("):
        return int(pod.reason[8:].split(")")[0])
    for _, reason, obj, message, *_ in reversed(engine.sim.api.events):
        if reason == "Died" and obj.split("/", 1)[-1] == pod.name:
            found = re.search(r"code (\d+)", message)
            return int(found.group(1)) if found else 1
    return 0 if pod.phase == "succeeded" else 1


def boxes(engine: Engine) -> list[Box]:
    host = engine.host.name
    pods = engine.sim.api.items("pods")
    out = []
    for name, made in engine.containers.items():
        pod = pods.get(name) if made.started else None
        if made.started and pod is None:
            continue  # removed by other means (the facade)
        state, code = pod_state(engine, pod) if pod is not None else ("created", 0)
        out.append(Box(name, made.ident, made.image, made.created, state, pod, made, made.labels, code))
    services = engine.services() if engine.in_swarm else {}
    for pod in pods.values():
        if pod.name in engine.containers or pod.node != host:
            continue  # (a docker-flavor workload's containers, web-1, web-2, are the host's too)
        if pod.slot:
            if pod.owner not in services:
                continue  # (a shut-down task's container stays, Exited (0), until its task leaves the history)
            from .modes import is_global
            slot = engine.node_id(host) if is_global(engine, pod.owner) else pod.slot  # swarmkit's container name
            name = f"{pod.owner}.{slot}.{engine.task_id(pod)}"
            labels = {"com.docker.swarm.node.id": engine.node_id(host),
                      "com.docker.swarm.service.id": engine.service_id(pod.owner),
                      "com.docker.swarm.service.name": pod.owner, "com.docker.swarm.task": "",
                      "com.docker.swarm.task.id": engine.task_id(pod), "com.docker.swarm.task.name": name}
            ident = hex_id("container", pod.name)
        else:
            name, labels, ident = pod.name, {}, hex_id("container", pod.name, pod.created)
        state, code = pod_state(engine, pod)
        out.append(Box(name, ident, pod.image, pod.created, state, pod, None, labels, code))
    out.sort(key=lambda b: (-b.created, b.name))
    return out


def find(engine: Engine, ref: str) -> Box:
    """moby's GetContainer: a full id, a name, else a unique id prefix; `No such container`."""
    ref = ref[1:] if ref.startswith("/") else ref
    found = boxes(engine)
    for box in found:
        if box.ident == ref:
            return box
    for box in found:
        if box.name == ref:
            return box
    matches = [b for b in found if ref and b.ident.startswith(ref)]
    if len(matches) > 1:
        raise bad(f"multiple IDs found with provided prefix: {ref}")
    if not matches:
        raise EngineError(404, f"No such container: {ref}")
    return matches[0]


def ports(box: Box) -> list[dict]:
    """The container's ports as `docker ps` reads them: published ones with their host side, the
    others (the image's EXPOSE too: a swarm task's `80/tcp`) while it runs."""
    out = []
    config = box.made.config if box.made is not None else {}
    bound = (box.made.host_config.get("PortBindings") or {}) if box.made is not None else {}
    image_port = port_of(box.image)  # the image's EXPOSE, merged into every container's config (moby's create)
    exposed = set(config.get("ExposedPorts") or {}) | set(bound) | ({f"{image_port}/tcp"} if image_port else set())
    for key in sorted(exposed):
        port, _, proto = key.partition("/")
        bindings = bound.get(key) or []
        if not bindings or box.state != "running":
            if box.state == "running":
                out.append({"PrivatePort": int(port), "Type": proto or "tcp"})
            continue
        for binding in bindings:
            host_port = (binding or {}).get("HostPort") or ""
            if host_port.isdigit():
                out.append({"IP": "0.0.0.0", "PrivatePort": int(port), "PublicPort": int(host_port),
                            "Type": proto or "tcp"})
    return out


def argv(box: Box) -> list[str]:
    """What the container runs: its entrypoint and command, else the image's own (from the catalog)."""
    given = list((box.made.config.get("Entrypoint") or []) if box.made else []) or None
    cmd = list((box.made.config.get("Cmd") or []) if box.made else []) or None
    entrypoint, default = entry(box.image)
    return (given if given is not None else entrypoint) + (cmd if cmd is not None else default)


def command(box: Box) -> str:
    """The container's command line as `docker ps` shows it: the path, then the arguments, each one with
    a space in single quotes (`sh -c 'trap ...'`), as moby's container/view.go makes its snapshot."""
    path, *args = argv(box) or [""]
    return " ".join([path] + [f"'{a}'" if " " in a else a for a in args])


def status_words(engine: Engine, box: Box, finished: float) -> str:
    """The STATUS column: `Up 5 seconds`, `Exited (0) 3 seconds ago`, `Restarting (1) ...`, `Created`
    (moby's container/state.go String, go-units HumanDuration)."""
    now = engine.sim.now()
    if box.state == "running":
        pod = box.pod
        since = pod.started if pod is not None and pod.started is not None else box.created
        words = f"Up {docker_duration(now - since)}"
        return words + {"healthy": " (healthy)", "starting": " (health: starting)"}.get(health(box), "")
    if box.state == "restarting":
        return f"Restarting ({box.exit_code}) {docker_duration(now - finished)} ago"
    if box.state == "exited":
        return f"Exited ({box.exit_code}) {docker_duration(now - finished)} ago"
    if box.state == "removing":
        return "Removal In Progress"
    return "Created"


def health(box: Box) -> str:
    pod = box.pod
    if pod is None or pod.template.probe is None or box.state != "running":
        return ""
    return "healthy" if pod.ready else "starting"
