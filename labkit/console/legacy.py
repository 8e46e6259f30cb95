"""The notes' commands that no longer exist, or that hold placeholders, explained.

The course notes were written for kubectl before v1.18 and use shorthand:

* `kubectl run --replicas=1000 my-web-server`: `kubectl run` made Deployments
  through "generators" (deprecated in v1.12, removed in v1.18, March 2020,
  kubernetes/kubernetes#87077); since then it makes one Pod, `--replicas`
  first did nothing and was removed in v1.21 (#99732). Today:
  `kubectl create deployment NAME --image=IMAGE --replicas=N` (v1.19+).
* `kubectl rolling-update NAME --image=...` / `--rollback`: deprecated and
  hidden in v1.11, removed in v1.18 (#88057). It drove the update from the
  client, replication controller by replication controller. Today a
  Deployment rolls out on the server: `kubectl set image`, `kubectl rollout
  status|undo`.
* `docker service create --replicas=3 <-e> <-p> <--network> my-web-server`:
  `<...>` marks options you may add; `docker swarm join --tocken <token>`
  misspells `--token` and leaves the token to you.

`check` prints what was removed, when and why, shows the modern command and
returns it to be run: by default only on the simulator (`translate="auto"`),
always with `translate="always"`, never with `"never"`.
"""
from __future__ import annotations

from .parse import closest, flag_value, is_placeholder, positionals

RUN_REMOVED = (
    "`kubectl run --replicas` no longer exists. Up to kubectl v1.17, `kubectl run` created a Deployment "
    "through \"generators\"; they were deprecated in v1.12 and removed in v1.18 (March 2020), so `kubectl run` "
    "now creates one Pod, like `docker run`. --replicas then did nothing, and v1.21 removed it (today: "
    "\"unknown flag: --replicas\"). Why: `run` had grown into a command that made many kinds of objects; making "
    "a Deployment is `kubectl create deployment`'s job (with --replicas since v1.19).")
ROLLING_REMOVED = (
    "`kubectl rolling-update` no longer exists: deprecated and hidden in kubectl v1.11 (2018), removed in v1.18 "
    "(March 2020). It updated a ReplicationController from your terminal, one pod at a time: close the laptop and "
    "the update stopped half-way, with no history to go back to. A Deployment does the same rollout inside the "
    "cluster (its controller), keeps every revision, and can be paused and undone.")
IMAGE_MISSING = (
    "`kubectl run NAME` needs the image to run: --image=IMAGE (\"required flag(s) \\\"image\\\" not set\"). The "
    "notes leave it out; minikube's tutorial used --image=k8s.gcr.io/echoserver:1.4, a registry frozen since April "
    "2023 (today: registry.k8s.io/echoserver:1.4). labkit's demo image for this name is `{image}` (a tag of "
    "web-server:1).")
SCALE_KIND = (
    "`kubectl scale` needs the kind of object too: TYPE NAME or TYPE/NAME (kubectl reads a lone word as a "
    "resource type: \"the server doesn't have a resource type \\\"{name}\\\"\").")
PLACEHOLDER_NOTE = "the notes' command has placeholders, <...> marks what you fill in:"
PLACEHOLDER_FLAGS = {
    "-e": "-e KEY=VALUE       (--env) sets an environment variable in every task, e.g. -e COLOR=blue",
    "--env": "-e KEY=VALUE       (--env) sets an environment variable in every task, e.g. -e COLOR=blue",
    "-p": "-p 8080:80         (--publish) publishes the tasks' port 80 as port 8080 on every node",
    "--publish": "-p 8080:80         (--publish) publishes the tasks' port 80 as port 8080 on every node",
    "--network": "--network NAME     attaches the tasks to an overlay network "
                 "(docker network create -d overlay NAME first)",
    "--name": "--name NAME        names the service (without it Docker picks a random name)",
    "--replicas": "--replicas N       how many tasks to run",
}


def check(ctx, argv: list[str]) -> list[list[str]] | None:
    """The argument lists to run (usually `[argv]`), after explaining anything old or unfinished."""
    note, modern = "", None
    if ctx.tool == "kubectl" and argv:
        note, modern = _kubectl(ctx, argv)
    if modern is None and any(is_placeholder(t) for t in argv):
        note, modern = _placeholders(ctx, argv)
    if modern is None:
        return [argv]
    ctx.print(_wrap("note: " + note))
    if modern == [argv]:  # nothing could be filled in: the command runs as typed
        return modern
    if isinstance(modern, Guess):  # a typo corrected to another object's name: say so, never act on it
        shown = "\n".join("  " + " ".join([ctx.tool] + _quote(a)) for a in modern)
        ctx.print(f"if you meant {modern.name}, the modern equivalent is:\n{shown}\n"
                  f"(not run: labkit does not act on {modern.name} unless you name it; run that line if you meant it)")
        return None
    shown = "\n".join("  " + " ".join([ctx.tool] + _quote(a)) for a in modern)
    label = "filled in" if note.startswith(PLACEHOLDER_NOTE) else "the modern equivalent"
    if not _allowed(ctx):
        ctx.print(f"{label}:\n{shown}\n(not run on a real cluster without your consent: run it "
                  "yourself, or allow it with labkit.console.configure(translate='always'))")
        return None
    ctx.print(f"{label}, run for you{' on the simulator' if _on_simulator(ctx) else ''}:\n{shown}")
    return modern


def _wrap(text: str, width: int = 110) -> str:
    import textwrap
    return "\n".join(textwrap.fill(line, width, subsequent_indent="  " if line.startswith(" ") else "",
                                    break_on_hyphens=False)
                     if len(line) > width else line for line in text.split("\n"))


def rewrites(ctx, argv: list[str]) -> list[list[str]]:
    """What `check` would run instead of `argv` (a pure look: nothing printed, nothing run)."""
    modern = None
    if ctx.tool == "kubectl" and argv:
        _note, modern = _kubectl(ctx, argv)
    if modern is None and any(is_placeholder(t) for t in argv):
        _note, modern = _placeholders(ctx, argv)
    return [argv] if modern is None else modern


def _allowed(ctx) -> bool:
    mode = ctx.session.translate
    return mode == "always" or (mode == "auto" and _on_simulator(ctx))


def _on_simulator(ctx) -> bool:
    """The simulator in this notebook, or served as an API server (`labkit serve`): labkit's own."""
    return ctx.cluster is not None and ctx.cluster.backend.on_simulator


def _quote(argv: list[str]) -> list[str]:
    import shlex
    return [shlex.quote(a) for a in argv]


# -- kubectl ---------------------------------------------------------------------------------------
class Guess(list):
    """The commands for a name labkit guessed from a typo: shown, never run (they would act on an
    object the student did not name)."""

    def __init__(self, name: str, commands: list[list[str]]) -> None:
        super().__init__(commands)
        self.name = name


def _known_name(ctx, name: str) -> tuple[str, str]:
    """(the deployment meant, a remark) for a name from the notes: a typo's closest name, said."""
    try:
        names = [w.name for w in ctx.cluster.state().workloads]
    except Exception:  # a real cluster that does not answer: keep the name
        names = []
    if name in names or not names:
        return name, ""
    guess = closest(name, names)
    if guess:
        return guess, f' There is no deployment "{name}": did you mean {guess}?'
    return name, ""


def _meant(name: str, typed: str, commands: list[list[str]]) -> list[list[str]]:
    """The commands as they are, or a Guess when `name` is not what was typed."""
    return commands if name == typed else Guess(name, commands)


def _kubectl(ctx, argv: list[str]) -> tuple[str, list[list[str]] | None]:
    verb = argv[0]
    if verb == "run" and any(t.split("=")[0] in ("--replicas", "--generator") for t in argv[1:]):
        args = positionals(argv[1:], ("--image", "--replicas", "--generator", "--port", "--restart", "--env",
                                       "-n", "--namespace", "-l", "--labels"))
        if len(args) != 1:
            return RUN_REMOVED + " (and it takes exactly one NAME)", None
        name = args[0]
        image = flag_value(argv, "--image") or name
        replicas = flag_value(argv, "--replicas") or "1"
        try:
            names = [w.name for w in ctx.cluster.state().workloads]
        except Exception:
            names = []
        if name in names:
            return (RUN_REMOVED + f" A deployment {name} exists already, so the intent is to scale it:",
                    [["scale", f"deployment/{name}", f"--replicas={replicas}"]])
        extra = "" if flag_value(argv, "--image") else f" (no --image in the notes: using the image {image})"
        return (RUN_REMOVED + extra, [["create", "deployment", name, f"--image={image}", f"--replicas={replicas}"]])
    if verb == "run" and not any(t == "--image" or t.startswith("--image=") for t in argv[1:]) \
            and not any(t in ("-h", "--help") for t in argv[1:]):
        args = positionals(argv[1:], ("--port", "--restart", "--env", "-n", "--namespace", "-l", "--labels"))
        if len(args) == 1 and _simple_name(args[0]):
            name = args[0]
            return IMAGE_MISSING.format(image=name), [["run", name, f"--image={name}", *argv[2:]]]
        return "", None
    if verb == "rolling-update":
        args = positionals(argv[1:], ("--image", "-f", "--filename", "--container", "--update-period",
                                       "--timeout", "--poll-interval", "-n", "--namespace"))
        if not args:
            return ROLLING_REMOVED + " (and it needs the NAME of what to update)", None
        name, remark = _known_name(ctx, args[0])
        image = flag_value(argv, "--image")
        if "--rollback" in argv or "--rollback=true" in argv:
            return (ROLLING_REMOVED + " --rollback aborted an update in progress; today `kubectl rollout undo` "
                    "goes back to the previous revision." + remark,
                    _meant(name, args[0], [["rollout", "undo", f"deployment/{name}"]]))
        if image:
            return (ROLLING_REMOVED + remark,
                    _meant(name, args[0], [["set", "image", f"deployment/{name}", f"{name}={image}"],
                                           ["rollout", "status", f"deployment/{name}"]]))
        return ROLLING_REMOVED + " Give --image=IMAGE to say what to roll out." + remark, None
    if verb == "scale":
        args = positionals(argv[1:], ("--replicas", "--current-replicas", "-n", "--namespace"))
        if len(args) == 1 and "/" not in args[0] and _simple_name(args[0]) and not _is_kind(args[0]):
            name, remark = _known_name(ctx, args[0])
            flags = [t for t in argv[1:] if t.startswith("-")]
            if any(t == "--replicas" for t in flags):
                return "", None
            scale = [["scale", *flags, f"deployment/{name}"]]
            return SCALE_KIND.format(name=args[0]) + remark, _meant(name, args[0], scale)
    return "", None


def _simple_name(word: str) -> bool:
    return bool(word) and not is_placeholder(word) and all(c.isalnum() or c in "-." for c in word)


# what `kubectl scale` takes as TYPE (with their short names), and `all`
SCALABLE_KINDS = ("deployment", "deployments", "deploy", "replicaset", "replicasets", "rs", "statefulset",
                  "statefulsets", "sts", "replicationcontroller", "replicationcontrollers", "rc", "all")


def _is_kind(word: str) -> bool:
    return word.lower().split(".")[0] in SCALABLE_KINDS


# -- placeholders ---------------------------------------------------------------------------------------
def _placeholders(ctx, argv: list[str]) -> tuple[str, list[list[str]] | None]:
    lines, out = [], []
    filled_ok = True
    for token in argv:
        if not is_placeholder(token):
            out.append(token)
            continue
        inner = token[1:-1].strip()
        if inner.startswith("-"):
            lines.append("  " + PLACEHOLDER_FLAGS.get(inner, f"{inner} ...  an option you may add here"))
            continue
        value, text = _fill(ctx, argv, inner)
        lines.append(f"  <{inner}>  {text}")
        if value is None:
            filled_ok = False
            out.append(token)
        else:
            out.append(value)
    if ctx.tool == "docker" and out[:2] == ["service", "create"] and not any(
            t == "--name" or t.startswith("--name=") for t in out):
        image = next((t for t in positionals(out[2:], ("--replicas", "-e", "--env", "-p", "--publish", "--network",
                                                        "--mode", "--update-delay", "--update-parallelism"))), None)
        if image:
            base = image.rsplit("/", 1)[-1].split(":")[0].split("@")[0]
            out[2:2] = ["--name", base]
            lines.append(f"  and --name {base}, so the service has a name you can type (Docker would pick a random one)")
    if ctx.tool == "docker" and out[:2] == ["swarm", "join"] and filled_ok:
        address = _manager_address(ctx)
        if address and not any(":" in t and not t.startswith("-") for t in out[2:]):
            out.append(address)
            lines.append(f"  {address}  the manager's address, which the join command needs too")
    note = PLACEHOLDER_NOTE + "\n" + "\n".join(lines)
    return note, [out]


def _fill(ctx, argv: list[str], inner: str) -> tuple[str | None, str]:
    word = inner.lower()
    if "token" in word and ctx.sim is not None and ctx.cluster.flavor == "swarm":
        role = "manager" if "manager" in word else "worker"
        token = ctx.sim.join_token(role)
        return token, (f"the {role} join token: `docker swarm init` prints the whole join command, "
                       f"`docker swarm join-token {role}` prints it again. Here it is {token}")
    if "token" in word:
        return None, ("the join token that `docker swarm init` prints on the manager "
                      "(`docker swarm join-token worker` prints it again)")
    if word in ("image", "img"):
        return "web-server:1", "an image name, e.g. web-server:1"
    if word in ("name", "service", "service-name"):
        return None, "a name you choose, e.g. my-web-server"
    return None, "a value for you to fill in"


def _manager_address(ctx) -> str | None:
    if ctx.sim is None or ctx.cluster.flavor != "swarm":
        return None
    from .tools.docker import manager_address
    return manager_address(ctx)
