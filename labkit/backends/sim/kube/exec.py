"""`kubectl exec POD -- COMMAND`: the pods/exec subresource over WebSocket (v5.channel.k8s.io), the
command run by the simulator's own shell (programs.py: commands.py, interpreter.py) in the container's
context: its environment, host name, mounted files and image.

    serve(handler, api, "default", "web")       # from server.route: checks, the upgrade, the run

The protocol is the API server's (k8s.io/apiserver pkg/util/proxy websocket.go, streamtranslator.go):
every binary message starts with its channel (0 stdin, 1 stdout, 2 stderr, 3 the error channel's
Status JSON, 4 resize; the client's [255, n] closes its channel n); the server first sends an empty
stdout message, then the output, then the Status (Success, or NonZeroExitCode with the exit code,
which kubectl turns into "command terminated with exit code N" and its own exit code), then a
close frame, and waits for the client to close.

What the simulator does not run (a program it does not model, `ls`, a terminal) is answered with a
Status saying so, never with made-up output; labkit's kubernetes backend (minikube) runs them.
"""
from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Callable
from urllib.parse import parse_qs, urlsplit

from .... import catalog
from ...docker.images import lookup as demo_image
from .. import programs
from ..node import container_config
from . import resources as res
from . import streams, websocket
from .spdy import Closed, ProtocolError
from .status import ApiError, not_found

V5 = "v5.channel.k8s.io"
STDOUT, ERROR = 1, 3
CLOSE_SIGNAL = 255
EXEC_WINDOW = 300.0  # cluster seconds of a command's output given at once; one still running then holds on
FINISH_WAIT = 60.0  # how long the server waits for the client to close once the Status is sent
NOT_RUN = "labkit: the simulator does not run "  # how interpreter.honest begins
MINIKUBE = "labkit's kubernetes backend (minikube) runs it for real"


def serve(h, api, namespace: str | None, name: str) -> None:
    """The checks the API server and the kubelet make, then the upgrade and the command's run."""
    query = parse_qs(urlsplit(h.path).query, keep_blank_values=True)  # `command` repeats: every value kept
    command = query.get("command") or []
    with api.lock:
        target = container(api, namespace, name, (query.get("container") or [""])[-1])
    if not command:
        raise ApiError(400, "BadRequest", "you must specify at least 1 command")
    if any((query.get(flag) or ["false"])[-1] in ("true", "1") for flag in ("tty", "stdin")):
        raise ApiError(400, "BadRequest", "labkit's simulated cluster runs one command at a time in a container "
                       "(kubectl exec POD -- COMMAND) but no terminal or stdin (-i, -t): it has no process to "
                       f"type into; {MINIKUBE}")
    if not streams.wants_websocket(h):
        raise ApiError(400, "BadRequest", "Upgrade request required: the simulated cluster answers exec over "
                       f"WebSocket ({V5}), as kubectl does by default since v1.30")
    if V5 not in websocket.offered(h.headers.get("Sec-WebSocket-Protocol")):
        raise ApiError(400, "BadRequest", f"unable to upgrade: the simulated cluster speaks {V5} only")
    streams.switch(h, streams.websocket_headers(h, V5))
    streams.run(h, api, lambda wire: Session(websocket.WebSocket(wire), target, command).run())


@dataclass(frozen=True)
class Target:
    """A container to run a command in: its program's Context (argv to be replaced) and the cluster
    time its `date` reads (`wall`: seconds after now -> a time)."""
    ctx: programs.Context
    wall: Callable[[float], datetime]


def container(api, namespace: str | None, name: str, wanted: str) -> Target:
    """The pod's running container, as its kubelet would exec in it; an ApiError says why not."""
    store = api.storage
    p = store.items("pods").get(res.key(namespace or res.NAMESPACE, name)) if namespace else None
    if p is None:
        raise not_found("pods", name)
    names = [c.get("name") for c in store.get("pods", namespace, name)["spec"]["containers"]]
    if wanted and wanted not in names:
        raise ApiError(400, "BadRequest", f"container {wanted} is not valid for pod {name}")
    if not p.container_up:
        raise ApiError(400, "BadRequest", f'unable to upgrade connection: container not found ("{names[0]}")')
    node = store.items("nodes").get(p.node)
    epoch, now = api.clock.epoch, store.sim.now()

    def wall(offset: float) -> datetime:
        return datetime.fromtimestamp(epoch + now + offset, timezone.utc)
    if p.runs:  # a public image's container: the Context its program started with
        return Target(p.runs[-1].ctx, wall)
    demo = demo_image(catalog.normalize(p.image)) if catalog.is_demo(p.image) else None
    if demo is None or node is None:
        raise ApiError(400, "BadRequest", f"labkit's simulator runs no command in the container of pod {name} "
                       f"(image {p.image}); {MINIKUBE}")
    # The course's demo images are busybox with ENV START_DELAY (labkit/backends/docker/images.py).
    base = catalog.Found(p.image, catalog.Image("busybox", {}, env={"START_DELAY": f"{demo.listens_after:g}"}))
    ctx, _, message = container_config(store.sim.api, p, base, node)
    if ctx is None:
        raise ApiError(400, "BadRequest", f"unable to upgrade connection: {message}")
    return Target(ctx, wall)


class Session:
    """One exec: the command's output on stdout, its Status on the error channel, then the close."""

    def __init__(self, socket: websocket.WebSocket, target: Target, command: list[str]) -> None:
        self.socket, self.command, self.wall = socket, command, target.wall
        self.ctx = replace(target.ctx, argv=tuple(command), stdin=False)

    def run(self) -> None:
        try:
            self.channel(STDOUT, b"")  # the connection is established
            unknown = self.unknown_files()
            if unknown:
                return self.finish(failure(
                    f"labkit's simulator does not have the image's file {unknown[0]} (it knows the files mounted "
                    f"from ConfigMaps and Secrets: {', '.join(sorted(self.ctx.files)) or 'none here'}); {MINIKUBE}"))
            outcome = programs.run(self.ctx, EXEC_WINDOW, self.wall)
            lines = [text for _, text in outcome.lines]
            refused = lines and lines[-1].startswith(NOT_RUN)
            if refused:
                lines.pop()
            if lines:
                self.channel(STDOUT, ("\n".join(lines) + "\n").encode())
            if refused:
                return self.finish(failure(f"labkit's simulator does not run {shlex.join(self.command)!r} inside "
                                           "containers (it runs a shell's built-ins: echo, env, printenv, cat of "
                                           f"mounted files, hostname, date...); {MINIKUBE}"))
            if outcome.exit is None:  # still running (sleep infinity, tail -f): until the client leaves (Ctrl-C)
                return self.drain(float("inf"))
            code = outcome.exit[0]
            self.finish({"metadata": {}, "status": "Success"} if code == 0 else exit_status(self.command, code))
        except (Closed, ProtocolError):
            return

    def unknown_files(self) -> list[str]:
        """The files `cat FILE...` asks for that the simulator does not have: an image's own files
        (/etc/os-release) are not in the catalog, and saying "No such file" would be untrue."""
        program, args = self.command[0].rsplit("/", 1)[-1], self.command[1:]
        if program != "cat":
            return []
        return [path for path in args if not path.startswith("-") and path not in self.ctx.files
                and path != "/etc/hostname"]

    def channel(self, number: int, data: bytes) -> None:
        self.socket.send(bytes([number]) + data)

    def finish(self, status: dict) -> None:
        self.channel(ERROR, json.dumps(status, separators=(",", ":")).encode())
        self.socket.close()
        self.drain(FINISH_WAIT)

    def drain(self, seconds: float) -> None:
        """Read (and drop) what the client still sends until it closes, at most `seconds` long."""
        wire = self.socket.wire
        wire.idle = min(wire.idle, seconds)
        try:
            while True:
                self.socket.receive()
        except (Closed, ProtocolError):
            return


def exit_status(command: list[str], code: int) -> dict:
    """The Status of a command that exited non-zero (streamtranslator.go codeExitToStatusError)."""
    return {"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
            "message": f"command terminated with non-zero exit code: command {shlex.join(command)!r} "
                       f"exited with {code}",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


def failure(message: str) -> dict:
    return {"metadata": {}, "status": "Failure", "message": message, "reason": "BadRequest", "code": 400}
