"""`GET /services/{id}/logs`, `GET /tasks/{id}/logs` and `GET /containers/{id}/logs`: what the
containers printed, framed as moby frames a log stream for a client without a TTY (stdcopy: one
frame a line); a service's lines led by their details, which `docker service logs` reads to
print `web.1.x@node-1 | ...`.

    docker service logs web
    docker logs -f --tail 5 web        # follow: new lines as the container prints them, until it stops

What a container prints is the simulator's (programs.py runs a public image's program); a
task that ran none printed nothing. A service's `follow` ends with what there is so far.
"""
from __future__ import annotations

import re
import struct
import time
from datetime import datetime, timezone
from urllib.parse import quote_plus

from .... import catalog
from .. import programs
from ..objects import Pod
from .common import Answer, Call, bad, hex_id, route
from .state import Engine

STDOUT = 1
TRUE = ("1", "true", "True")
SINCE = re.compile(r"[0-9]{1,12}(\.[0-9]{1,9})?")  # seconds since the epoch, as moby's timetypes read them


def frame(stream: int, data: bytes) -> bytes:
    """moby's stdcopy frame: the stream, three zero bytes, the length (big-endian), the data."""
    return struct.pack(">BxxxI", stream, len(data)) + data


def task_lines(engine: Engine, task: Pod, argv: list[str] | None = None, env: dict | None = None
               ) -> list[tuple[float, str]]:
    """(cluster time, line) of what the container printed: its runs' output where the simulator ran
    its program (Kubernetes' kubelet does), else, on a Docker Engine, its image's program since the
    container last started (`argv`: the command its client gave, else the image's own): what the
    program prints as it starts, worked out by programs.py, as the kubelet's runs are."""
    wall = time.time() - engine.sim.now()
    lines = []
    for run in task.runs:
        lines += run.output(engine.sim.now(), lambda t: datetime.fromtimestamp(wall + t, timezone.utc))
    if task.runs or task.started is None:
        return lines
    found = catalog.public(task.image)
    if found is None:
        return lines  # the course's own images print nothing
    command = argv or programs.container_argv(found.image, None, None)
    variables = {k: catalog.fill(v, version=found.version) for k, v in found.image.env.items()}
    context = programs.Context(argv=tuple(command), env={**variables, **(env or {})},
                               hostname=hex_id("container", task.name)[:12], image=found.image,
                               version=found.version)
    since, until = task.started, engine.sim.now()
    if not task.container_up:  # it printed until it stopped (its last event)
        from .tasks import last_events
        until = last_events(engine, {task.name}).get(task.name, until)
    outcome = programs.run(context, until=max(0.0, until - since),
                           wall=lambda t: datetime.fromtimestamp(wall + since + t, timezone.utc))
    return [(since + at, text) for at, text in outcome.lines]


def stream(engine: Engine, tasks: list[Pod], query: dict[str, str]) -> bytes:
    if query.get("stdout") not in TRUE and query.get("stderr") not in TRUE:
        raise bad("Bad parameters: you must choose at least one stream")
    tail = query.get("tail", "all")
    since = query.get("since", "")
    if tail not in ("", "all") and not tail.isdigit():
        raise bad(f"invalid value for \"tail\": {tail}")
    if since and not SINCE.fullmatch(since):
        raise bad(f"invalid value for \"since\": {since}")
    cutoff = float(since) - (time.time() - engine.sim.now()) if since else float("-inf")
    out = []
    for task in sorted(tasks, key=lambda t: (t.slot, t.created)):
        details = ",".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in (
            ("com.docker.swarm.node.id", engine.node_id(task.node) if task.node else ""),
            ("com.docker.swarm.service.id", engine.service_id(task.owner)),
            ("com.docker.swarm.task.id", engine.task_id(task))))
        lines = [line for line in task_lines(engine, task) if line[0] >= cutoff]
        if tail not in ("", "all"):  # the last lines of each task's container, as each container's log is read
            lines = lines[len(lines) - int(tail):] if int(tail) else []
        out += [(at, details, text) for at, text in lines]
    out.sort(key=lambda line: line[0])
    if query.get("stdout") not in TRUE:
        return b""  # the simulated programs print to stdout
    stamped = query.get("timestamps") in TRUE
    with_details = query.get("details") in TRUE
    data = bytearray()
    for at, details, text in out:
        line = (f"{details} " if with_details else "") + text + "\n"
        if stamped:
            line = f"{engine.timestamp(at)} {line}"
        data += frame(STDOUT, line.encode())
    return bytes(data)


@route("GET", "/services/{id}/logs")
def service_logs(call: Call) -> Answer:
    engine = call.engine
    with engine.lock:
        engine.require_leader()
        name = engine.find_service(call.params["id"])
        data = stream(engine, [t for t in engine.tasks() if t.owner == name], call.query)
    return Answer(raw=data, content_type="application/vnd.docker.raw-stream")


@route("GET", "/tasks/{id}/logs")
def task_logs(call: Call) -> Answer:
    engine = call.engine
    with engine.lock:
        engine.require_leader()
        data = stream(engine, [engine.find_task(call.params["id"])], call.query)
    return Answer(raw=data, content_type="application/vnd.docker.raw-stream")


FOLLOW_POLL = 0.2  # wall seconds between looks for a followed container's new lines
FOLLOW_QUIET = 10.0  # cluster seconds without a new line before a notebook's follow ends


class Quiet:
    """The pace of a followed stream (logs -f, events). With a ticker the stream waits FOLLOW_POLL
    wall seconds a look and ends only when its client goes. On a notebook's clock (nobody else
    moves it) each look moves the clock one step, and the stream ends once nothing new came for
    FOLLOW_QUIET cluster seconds, or the command's limit is reached, as `kubectl get -w` does there:
    a cell cannot stay attached for ever."""

    def __init__(self, engine: Engine, poll: float = FOLLOW_POLL) -> None:
        self.engine, self.poll = engine, poll
        self.last_new, self.since = None, engine.sim.now()

    def look(self, newest) -> bool:
        """Wait for the next look; False when the stream should end."""
        if not self.engine.stepping:
            time.sleep(self.poll)
            return True
        if newest != self.last_new:
            self.last_new, self.since = newest, self.engine.sim.now()
        if self.engine.sim.now() - self.since >= FOLLOW_QUIET:
            return False
        time.sleep(0.01)  # the client reads what was sent
        return self.engine.wait_step()


@route("GET", "/containers/{id}/logs")
def container_logs(call: Call) -> Answer:
    """A container's lines (its client's command, else its image's program); `follow` streams
    the new ones until the container stops or the client goes."""
    from .boxes import find
    engine, query = call.engine, call.query
    if query.get("stdout") not in TRUE and query.get("stderr") not in TRUE:
        raise bad("Bad parameters: you must choose at least one stream")
    tail = query.get("tail", "all")
    if tail not in ("", "all") and not tail.isdigit():
        raise bad(f"invalid value for \"tail\": {tail}")
    with engine.lock:
        box = find(engine, call.params["id"])
        config = box.made.config if box.made is not None else {}
    argv = ((config.get("Entrypoint") or []) + (config.get("Cmd") or [])) or None
    env = dict(item.partition("=")[::2] for item in config.get("Env") or [])
    stamped, wanted = query.get("timestamps") in TRUE, query.get("stdout") in TRUE

    def lines() -> list[tuple[float, str]]:
        pod = engine.sim.api.items("pods").get(box.pod.name) if box.pod is not None else None
        return task_lines(engine, pod, argv, env) if pod is not None else []

    def framed(found: list[tuple[float, str]]) -> bytes:
        if not wanted:
            return b""  # the simulated programs print to stdout
        return b"".join(frame(STDOUT, f"{engine.timestamp(at) + ' ' if stamped else ''}{text}\n".encode())
                        for at, text in found)

    with engine.lock:
        first = lines()
        if tail not in ("", "all"):
            first = first[len(first) - int(tail):] if int(tail) else []
        data = framed(first)
    if query.get("follow") not in TRUE or box.pod is None:
        return Answer(raw=data, content_type="application/vnd.docker.raw-stream")

    def follow():
        yield data
        last = first[-1][0] if first else float("-inf")
        quiet = Quiet(engine)
        while not engine.closing.is_set():
            if not quiet.look(last):
                return  # a notebook's `docker logs -f`: nothing new for a while (see Quiet)
            with engine.lock:
                pod = engine.sim.api.items("pods").get(box.pod.name)
                fresh = [line for line in lines() if line[0] > last]
                done = pod is None or pod.deleting or (
                    pod.phase in ("failed", "succeeded") and pod.reason != "Restarting")
                out = framed(fresh)
            if fresh:
                last = fresh[-1][0]
            yield out  # b"": nothing new (the server checks the client is still there)
            if done:
                return
    return Answer(stream=follow, content_type="application/vnd.docker.raw-stream")
