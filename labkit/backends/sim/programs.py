"""What a simulated container's program does: a small, honest interpreter of the commands
beginners give containers.

A container runs its `command` and `args` or its image's entrypoint and command (`argv`, see
`container_argv`), with its environment, host name and mounted files. This module works out,
without running anything, what it prints and when, and whether and when it exits:

* a shell (`sh -c '...'`, `bash -c`) with `;`, `&&`, `||`, newlines, `if`/`then`/`else`/`fi`,
  `while`/`until ... do ... done`, `for X in ...; do ... done`, `{ ...; }`, `VAR=value`,
  `$VAR`, `${VAR}`, `${VAR:-default}`, `$?`, `$(...)`, `$((...))` and `>`, `>>`, `2>&1` redirections;
* echo, printf, sleep (seconds, `5m`, `infinity`), printenv, env, date (`+FORMAT`), hostname,
  cat, exit, true, false, `:`, test / `[`, set -e / -x, exec, `tail -f /dev/null`;
* the image's own programs (nginx, redis-server, postgres...): their start-up lines from
  labkit/catalog.py, then they serve until stopped (or refuse, as postgres without a password);
* `sh`, `bash`, `python3` or `node` with nothing to run read an empty stdin (a pod has no
  terminal unless `stdin`/`tty` say so) and exit 0 at once, as on a real cluster.

Anything else (a pipe, a program it does not know) it does not pretend to run: it prints one
line saying what the simulator does not run, and the container then stays running, silent.

The result is an `Outcome`: timed lines (seconds after the container started) and either an exit
(code, seconds) or none (it runs until stopped). Nothing here reads a clock: `wall` turns seconds
after the start into the time the program would print.

This module is the door (`container_argv`, `Context`, `run`, `Outcome`, `Run`); the work is in
shell.py (the language: words and parsing), interpreter.py (running a parsed script: state,
output, control flow, expansion) and commands.py (what a command runs: a shell, the image's own
programs, the built-ins).
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Mapping

from ... import catalog
from .commands import Commands
from .interpreter import MAX_LINES, Exit, Forever, Past


def container_argv(image: catalog.Image | None, command: list | None, args: list | None) -> list[str]:
    """What the container runs: a pod's `command` replaces the image's entrypoint and drops its
    command; `args` alone replace the image's command (the table in kubernetes.io's "Define a
    Command and Arguments for a Container"; the kubelet passes both to the runtime, which merges
    them with the image's config as Docker does)."""
    entrypoint, cmd = (list(image.entrypoint), list(image.cmd)) if image else ([], [])
    if command:
        return [str(c) for c in command] + [str(a) for a in args or []]
    return entrypoint + ([str(a) for a in args] if args else cmd)


@dataclass(frozen=True)
class Context:
    """Everything a program may read."""
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    hostname: str = "pod"
    files: Mapping[str, str] = field(default_factory=dict)  # path -> content (mounted ConfigMaps, Secrets)
    image: catalog.Image | None = None
    version: str = ""
    ip: str = ""
    stdin: bool = False  # the container keeps a stdin open (`stdin: true`, kubectl run -i): a shell waits on it


@dataclass(frozen=True)
class Outcome:
    lines: tuple[tuple[float, str], ...]  # (seconds after the start, text), the last MAX_LINES
    exit: tuple[int, float] | None  # (exit code, seconds after the start); None: still running at `until`
    listens: float | None = None  # when an image's server starts serving (seconds after the start)
    forever: bool = False  # it blocks for good (a server, sleep infinity, an endless loop); else it went past `until`
    files: tuple[tuple[float, str, str | None], ...] = ()  # what it wrote or removed: (seconds after the start, path, content)
    fails: float | None = None  # when its server's health check starts answering 500 (seconds after the start)


def _epoch(offset: float) -> datetime:
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=offset)


def run(ctx: Context, until: float = math.inf, wall: Callable[[float], datetime] = _epoch) -> Outcome:
    """What `ctx.argv` prints up to `until` seconds after its start, and its exit if it has one by then."""
    shell = Commands(ctx, until, wall)
    code: int | None = None
    forever = False
    try:
        returned = shell.exec_argv(list(ctx.argv))  # a command run directly (no shell) sets no $?: its own code
        code = (returned or 0) if shell.status is None else shell.status
    except Exit as done:
        code = done.code
    except (Forever, Past) as stopped:
        code, forever = None, isinstance(stopped, Forever)
    if shell.pending and shell.t <= until:
        shell.lines.append((shell.t, shell.pending))
    lines = tuple(shell.lines[-MAX_LINES:])
    return Outcome(lines, None if code is None else (code & 255, shell.t), shell.listens, forever,
                   tuple(shell.changes), shell.fails)


def files_at(ctx: Context, outcome: Outcome, offset: float) -> dict[str, str]:
    """The container's files `offset` seconds after its start: its mounted ones, then what its
    program wrote and removed by then."""
    files = dict(ctx.files)
    for at, path, content in outcome.files:
        if at > offset:
            break
        if content is None:
            files.pop(path, None)
        else:
            files[path] = content
    return files


# -- a container's runs ---------------------------------------------------------------------------
@dataclass(eq=False)
class Run:
    """One start of a container: what it runs with, when, and how it ended (the kubelet keeps the
    current run and the last terminated one: `kubectl logs` and `kubectl logs --previous`)."""
    started: float  # cluster seconds
    ctx: Context
    outcome: Outcome  # worked out once, as it starts (its exit)
    finished: float | None = None  # when it ended (exited, or was stopped)
    code: int | None = None
    # When its server answered labkit's traffic (cluster seconds; the last MAX_LINES): its access log
    served: deque = field(default_factory=lambda: deque(maxlen=MAX_LINES))

    @property
    def reason(self) -> str:
        """The terminated state's reason, in the kubelet's words."""
        return "Completed" if self.code == 0 else "Error"

    def output(self, now: float, wall: Callable[[float], datetime]) -> list[tuple[float, str]]:
        """What it printed by `now` (cluster seconds): (cluster seconds, line); `wall` turns cluster
        seconds into the time the program prints."""
        end = now if self.finished is None else min(now, self.finished)
        if end < self.started:
            return []
        # (a hair over: cluster seconds are floats, and started + offset - started may fall short of offset)
        done = run(self.ctx, end - self.started + 1e-6, lambda offset: wall(self.started + offset))
        lines = [(self.started + at, text) for at, text in done.lines]
        return sorted(lines + self.access_lines(end, wall), key=lambda line: line[0])[-MAX_LINES:]

    def access_lines(self, end: float, wall: Callable[[float], datetime]) -> list[tuple[float, str]]:
        """Its server's line for each request of labkit's traffic it answered by `end` (nginx's and
        Apache's default access logs go to the container's stdout; the client is the node's bridge,
        as kube-proxy's NodePort rules masquerade it)."""
        image = self.ctx.image
        if image is None or not image.access_log:
            return []
        client = self.ctx.ip.rsplit(".", 1)[0] + ".1" if self.ctx.ip else "10.244.0.1"
        size = len(image.page_of(self.ctx.version, hostname=self.ctx.hostname, ip=self.ctx.ip).encode())
        return [(at, catalog.fill(image.access_log, wall(at), client=client, bytes=size))
                for at in self.served if at <= end]
