"""One line as a student types it: split it, find the tool and its cluster, run it.

kubectl and docker are always the real binaries: against the simulator served as a
Kubernetes API (`tools/kubectl.py`) or a Docker Engine (`tools/docker.py`), or against a real
cluster or engine (`real.py`). minikube on the simulator is interpreted (`tools/minikube.py`);
on a real backend the console hands the line to the real CLI. Either way the notes' removed
commands and placeholders are explained first (`legacy.py`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

from ..cluster import connect
from ..errors import LabkitError
from ..notebook import show
from .parse import ConsoleError, UsageError, closest, tokenize

TOOLS = ("docker", "kubectl", "minikube")
FAMILY = {"docker": "docker", "kubectl": "kubernetes", "minikube": "kubernetes"}
SIM_FLAVOR = {"docker": "docker", "kubernetes": "kubernetes"}
TRANSLATE_MODES = ("auto", "always", "never")
REACTION = 0.1  # simulated seconds after a change, before the next command (see _dispatch)


@dataclass
class Session:
    """The console's memory: which cluster each tool talks to, and the student's choices."""

    clusters: dict[str, object] = field(default_factory=dict)  # family -> Cluster
    translate: str = "auto"  # run the modern form of a removed command: auto = on the simulator only
    notes: dict[str, object] = field(default_factory=dict)  # per-cluster bits (stopped containers...)

    def use(self, cluster) -> None:
        family = "kubernetes" if cluster.flavor == "kubernetes" else "docker"
        self.clusters[family] = cluster

    def cluster_for(self, tool: str):
        family = FAMILY[tool]
        found = self.clusters.get(family)
        if found is not None:
            return found
        backend = os.environ.get("LABKIT_BACKEND") or "sim"
        fits = {"docker": ("docker", "swarm"), "kubernetes": ("kubernetes",)}[family]
        if backend in fits:
            cluster = connect(backend)
        else:  # e.g. kubectl while LABKIT_BACKEND=docker: the simulator stands in
            cluster = connect("sim", flavor=SIM_FLAVOR[family])
        self.clusters[family] = cluster
        return cluster


SESSION = Session()


@dataclass
class Context:
    """What a command handler gets: its cluster, where to print, and the session."""

    tool: str
    cluster: object
    out: Callable[[str], None]
    session: Session
    explicit: bool = False  # the caller named the cluster (sh(..., cluster=c))

    def print(self, text: str = "") -> None:
        for line in str(text).split("\n"):
            self.out(line)

    @property
    def sim(self):
        """The simulator backend, or None on a real one."""
        from ..backends.sim import SimBackend
        backend = self.cluster.backend
        return backend if isinstance(backend, SimBackend) else None


def split_commands(tokens: list[str]) -> list[tuple[str, list[str]]]:
    """`a && b ; c` -> [("", a), ("&&", b), (";", c)]; pipes and redirections are refused."""
    chunks: list[tuple[str, list[str]]] = []
    current: list[str] = []
    joiner = ""
    for token in tokens:
        if token in ("&&", ";", "||"):
            if token == "||":
                raise UsageError("labkit's console runs commands one after another: `||` is not supported",
                                 "write the commands on separate lines of a %%labkit cell")
            if current:
                chunks.append((joiner, current))
            current, joiner = [], token
        elif token in ("|", ">", ">>", "2>", "&") or (token.startswith(("|", ">")) and len(token) < 4):
            raise UsageError(f"labkit's console does not support pipes or redirections ({token!r})",
                             "run the command alone; to search its output use Python: "
                             "labkit.console.run('kubectl get pods')")
        elif token.endswith(";") and len(token) > 1:
            current.append(token[:-1])
            chunks.append((joiner, current))
            current, joiner = [], ";"
        else:
            current.append(token)
    if current:
        chunks.append((joiner, current))
    return chunks


def execute(line: str, cluster=None, out: Callable[[str], None] = print, session: Session = SESSION) -> None:
    """Run one command line; raise a LabkitError (a ConsoleError in the tool's words) on failure."""
    tokens = tokenize(line)
    chunks = split_commands(tokens)
    if len(chunks) > 1:  # a mistake anywhere in `a && b`: nothing runs
        for _joiner, argv in chunks:
            check_syntax(argv, cluster, session)
    for _joiner, argv in chunks:
        run_argv(argv, cluster, out, session)  # an error stops the line, as `set -e` would


# -- the console's doors (labkit.console's sh, run and run_cell; the magics use them too) ----------
def sh(line: str, cluster=None) -> None:
    """Run one command line as typed, printing its output; errors print as the tool prints them.

    Never raises for anything a student types: a mistake prints a short
    message (and a hint), not a traceback.
    """
    try:
        execute(line, cluster, _printer())
    except LabkitError as exc:
        show_error(exc)


def run(line: str, cluster=None) -> str:
    """Run one command line and return its output as text (raises a `LabkitError` on failure).

    For lessons' checks and tests: `"Running" in run("kubectl get pods")`.
    """
    lines: list[str] = []
    try:
        execute(line, cluster, lines.append)
    except LabkitError as exc:
        exc.output = "\n".join(lines)  # what was printed before it failed
        raise
    return "\n".join(lines)


def run_cell(cell: str, cluster=None) -> bool:
    """Run a cell of command lines (the %%labkit magic); echo each with `$ ` when there are
    several; stop at the first error. Returns True when every line worked."""
    lines = cell_lines(cell)
    for line in lines:
        if len(lines) > 1:
            print(f"$ {line}", flush=True)
        try:
            execute(line, cluster, _printer())
        except LabkitError as exc:
            show_error(exc)
            return False
    return True


def _printer() -> Callable[[str], None]:
    def out(line: str) -> None:
        print(line, flush=True)
    return out


def show_error(exc: LabkitError, stream=None) -> None:
    """A labkit error as a student should see it: the notebook's one display."""
    show(exc, stream)


def cell_lines(cell: str) -> list[str]:
    """The command lines of a cell: continuations joined, blanks and comments dropped."""
    lines, pending = [], ""
    for raw in cell.splitlines():
        text = raw.rstrip()
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        text = " ".join((pending + text).split())
        pending = ""
        if text and not text.startswith("#"):
            lines.append(text)
    if pending.strip():
        lines.append(pending.strip())
    return lines


def _strip(argv: list[str]) -> list[str]:
    while argv and argv[0] in ("$", "sudo", "%", "!"):
        argv = argv[1:]
    if argv and argv[0][:1] in ("$", "%", "!") and argv[0][1:] in TOOLS:
        argv = [argv[0][1:]] + argv[1:]
    return argv


def check_syntax(argv: list[str], cluster=None, session: Session = SESSION) -> None:
    """Raise the UsageError a command would raise, without running it (simulator only: on a
    real backend the real tool judges its own syntax)."""
    argv = _strip(argv)
    if not argv:
        return
    if argv[0] not in TOOLS:
        run_argv(argv[:1], cluster, lambda line: None, session)  # raises "command not found"
    from . import legacy
    from .tools import minikube
    target = cluster if cluster is not None else session.cluster_for(argv[0])
    ctx = Context(argv[0], target, lambda line: None, session)
    if ctx.sim is None or argv[0] != "minikube":
        return  # the real tool judges its own syntax
    for args in legacy.rewrites(ctx, argv[1:]):
        minikube.syntax(args)


def run_argv(argv: list[str], cluster=None, out: Callable[[str], None] = print,
             session: Session = SESSION) -> None:
    argv = _strip(argv)
    if not argv:
        return
    tool, rest = argv[0], argv[1:]
    if tool not in TOOLS:
        guess = closest(tool, TOOLS, 0.5)
        raise UsageError(f"{tool}: command not found",
                         f"did you mean {guess}?" if guess else
                         "labkit's console runs docker, kubectl and minikube commands")
    explicit = cluster is not None
    target = cluster if explicit else session.cluster_for(tool)
    ctx = Context(tool, target, out, session, explicit)
    from . import legacy
    for args in legacy.check(ctx, rest) or ():
        _dispatch(ctx, args)


def _dispatch(ctx: "Context", args: list[str]) -> None:
    if ctx.sim is None:
        from . import real
        real.run(ctx, args)
        return
    from .tools import docker, kubectl, minikube
    main: dict[str, Callable[[Context, list[str]], None]] = {"docker": docker.main, "kubectl": kubectl.main,
                                                              "minikube": minikube.main}
    ctx.cluster.catch_up()  # first the wall time since the last command passes (labkit.timekeeping)
    before, started = _revision(ctx.cluster), ctx.sim.now()
    try:
        main[ctx.tool](ctx, args)
    except ConsoleError:
        raise
    except LabkitError as exc:  # the facade said no: in the tool's words
        raise tool_error(ctx.tool, exc) from None
    finally:
        if ctx.sim.now() != started:  # a command that waits moved the clock itself: up to date now
            ctx.cluster.timekeeper.synced()
    # A change takes the control plane a moment (its controllers react within ~0.1 s): let that
    # moment pass, so that the next command sees what a student on a real cluster would see by the
    # time they have typed it (e.g. the new pods of a deployment).
    if _revision(ctx.cluster) != before:
        ctx.cluster.run(REACTION)  # through the facade: its timeline records each step
    else:
        ctx.cluster.notice_change()


def _revision(cluster) -> int:
    from ..backends.sim import info
    return info.revision(cluster.backend)


def tool_error(tool: str, exc: LabkitError) -> ConsoleError:
    """A facade/backend error, worded as the tool would print it."""
    message = exc.message
    if tool == "docker":
        text = message if message.startswith(("Error", "error", "Unable")) else f"Error response from daemon: {message}"
    elif message.startswith(("The connection", "Error from server", "error")):
        text = message
    else:
        text = f"error: {message}"
    return ConsoleError(text, exc.hint)
