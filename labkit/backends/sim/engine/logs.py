"""`GET /services/{id}/logs` and `GET /tasks/{id}/logs`: what the tasks' containers printed,
framed as moby frames a log stream for a client without a TTY (stdcopy: one frame a line),
each line led by its details, which `docker service logs` reads to print `web.1.x@node-1 | ...`.

    docker service logs web

What a container prints is the simulator's (programs.py runs a public image's program); a
task that ran none printed nothing. `follow` ends with what there is so far.
"""
from __future__ import annotations

import re
import struct
import time
from datetime import datetime, timezone
from urllib.parse import quote_plus

from ..objects import Pod
from .common import Answer, Call, bad, route
from .state import Engine

STDOUT = 1
TRUE = ("1", "true", "True")
SINCE = re.compile(r"[0-9]{1,12}(\.[0-9]{1,9})?")  # seconds since the epoch, as moby's timetypes read them


def frame(stream: int, data: bytes) -> bytes:
    """moby's stdcopy frame: the stream, three zero bytes, the length (big-endian), the data."""
    return struct.pack(">BxxxI", stream, len(data)) + data


def task_lines(engine: Engine, task: Pod) -> list[tuple[float, str]]:
    wall = time.time() - engine.sim.now()
    lines = []
    for run in task.runs:
        lines += run.output(engine.sim.now(), lambda t: datetime.fromtimestamp(wall + t, timezone.utc))
    return lines


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
