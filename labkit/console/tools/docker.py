"""`docker` on the simulator: containers, swarm, nodes and services, printed as docker prints them.

The "docker" flavor is one host with nobody watching; `docker swarm init`
turns the console's host into the manager of a new one-node swarm (the
simulator's "swarm" flavor), and each `docker swarm join --token ...` adds
a machine, as it would if you ran it on a new one.
"""
from __future__ import annotations

from ... import catalog, validate
from ...backends.sim import info
from ...backends.sim.info import DOCKER_ENGINE as ENGINE
from ..registry import Registry
from ..parse import Command, ConsoleError, Flag, OutcomeError, Parsed, UsageError, closest, is_placeholder, parse, usage_text
from ...backends.sim.engine.common import docker_duration
from ..tables import docker_table, ellipsis, hex_id, swarm_id

API = "1.41"
# moby's errNoLeader, as the CLI prints it (daemon/cluster): what every swarm command answers without a quorum.
NO_LEADER = ("Error response from daemon: rpc error: code = Unknown desc = The swarm does not have a leader. It's "
             "possible that too few managers are online. Make sure more than half of the managers are online.")
NO_DAEMON = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"
SWARM_GROUPS = ("node", "service", "stack")  # commands the managers' Raft store answers (not the local daemon)
NOT_MANAGER = ('Error response from daemon: This node is not a swarm manager. Use "docker swarm init" or '
               '"docker swarm join" to connect this node to swarm and try again.')
HELP = Flag("help", kind="bool", help="Print usage")
COMMANDS = Registry("docker", HELP)  # every command, declared above its handler (@COMMANDS.command)
HEALTH_INTERVAL = 30.0  # Docker's default --health-interval

GROUPS = {"swarm": "Manage Swarm", "node": "Manage Swarm nodes", "service": "Manage services",
          "container": "Manage containers"}
_SVC_UPDATE_FLAGS = (
    Flag("update-parallelism", kind="uint", help="Maximum number of tasks updated simultaneously (0 to update all at once)"),
    Flag("update-delay", kind="duration", help="Delay between updates (ns|us|ms|s|m|h) (default 0s)"),
    Flag("update-order", help='Update order ("start-first"|"stop-first")'),
    Flag("update-failure-action", help='Action on update failure ("pause"|"continue"|"rollback")'),
    Flag("update-monitor", kind="duration", help="Duration after each task update to monitor for failure"),
    Flag("update-max-failure-ratio", kind="float", help="Failure rate to tolerate during an update"),
    Flag("detach", "d", "bool", help="Exit immediately instead of waiting for the service to converge"),
    Flag("quiet", "q", "bool", help="Suppress progress output"),
)
LARGE_SERVICE = 20  # above this many tasks, progress shows one overall line (as docker does for big services)
_ADJECTIVES = ("admiring", "bold", "brave", "clever", "eager", "festive", "gallant", "happy", "jolly", "keen",
               "loving", "nifty", "quirky", "serene", "vibrant", "zealous")
_SURNAMES = ("babbage", "curie", "darwin", "euler", "hopper", "kepler", "lovelace", "meitner", "noether",
             "pasteur", "ritchie", "shannon", "tesla", "turing", "wozniak", "yalow")
_DEMO_COMMAND = "sh -c 'trap 'exit 0' TERM; httpd -f -p 80 -h /www & wait'"
_BROKEN_COMMAND = "sh -c 'trap 'exit 143' TERM; httpd -p 80 -h /www; sleep 5 & wait; ...'"
_PUBLIC_COMMANDS = {"nginx": "/docker-entrypoint.sh nginx -g 'daemon off;'", "httpd": "httpd-foreground",
                    "redis": "docker-entrypoint.sh redis-server", "busybox": "sh", "alpine": "/bin/sh"}


def main(ctx, argv: list[str]) -> None:
    if not argv or argv[0] in ("--help", "-h", "help"):
        ctx.print(_top_help())
        return
    if argv[0] in ("-v", "--version"):
        ctx.print(f"Docker version {ENGINE}+dfsg1, build 297e128")
        return
    if argv[0].startswith("-"):
        raise UsageError(f"unknown flag: {argv[0]}\nSee 'docker --help'.", "put the command first, e.g. docker ps")
    cmd, rest = _find(argv)
    parsed = parse(cmd, rest)
    if parsed.get("help"):
        ctx.print(usage_text(cmd))
        return
    if ctx.cluster.flavor == "kubernetes":
        raise ConsoleError("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon "
                           "running?", "this is a Kubernetes cluster: use kubectl, or a docker/swarm cluster: "
                           "labkit.console.use(labkit.connect(flavor='swarm'))")
    if ctx.cluster.flavor == "swarm":
        _reach_swarm(ctx, cmd)
    cmd.run(ctx, parsed)


def _reach_swarm(ctx, cmd: Command) -> None:
    """The terminal is on a manager that is on (labkit moves it when one goes off); with every
    manager off no daemon answers at all, and without a majority the swarm's own commands fail."""
    managers = [n.name for n in ctx.cluster.state().nodes if n.role == "manager"]
    down = [m for m in managers if not info.powered(ctx.sim, m)]
    if managers and len(down) == len(managers):
        raise ConsoleError(NO_DAEMON, f"every manager is switched off ({', '.join(managers)}), and "
                                      f"this terminal ran on one: cluster.recover_node({managers[0]!r})")
    wants_raft = cmd.path[0] in SWARM_GROUPS or cmd.path[:2] == ("swarm", "join-token")
    if wants_raft and not info.has_quorum(ctx.sim):
        raise ConsoleError(NO_LEADER, f"{len(down)} of {len(managers)} managers are off ({', '.join(down)}): Raft "
                                      f"needs {len(managers) // 2 + 1} to elect a leader; running tasks keep running. "
                                      f"Power one back on: cluster.recover_node({down[0]!r})")


def _find(argv: list[str]) -> tuple[Command, list[str]]:
    for size in (2, 1):
        key = tuple(argv[:size])
        if len(key) == size and key in COMMANDS:
            return COMMANDS[key], argv[size:]
    word = argv[0]
    groups = {p[0]: GROUPS[p[0]] for p in COMMANDS if len(p) == 2}
    if word in groups:
        subs = sorted(p[1] for p in COMMANDS if p[0] == word)
        listing = "\n".join(f"  {s:<12}{COMMANDS[(word, s)].summary}" for s in subs)
        text = f"\nUsage:  docker {word} COMMAND\n\n{groups[word]}\n\nCommands:\n{listing}\n\n" \
               f"Run 'docker {word} COMMAND --help' for more information on a command."
        if len(argv) == 1 or argv[1].startswith("-"):
            raise UsageError(text, f"e.g. docker {word} {subs[0]}")
        guess = closest(argv[1], subs)
        raise UsageError(f"docker {word}: '{argv[1]}' is not a docker command.\n{text}",
                         f"did you mean docker {word} {guess}?" if guess else f"docker {word} has: {', '.join(subs)}")
    words = sorted({p[0] for p in COMMANDS})
    guess = closest(word, words)
    raise UsageError(f"docker: '{word}' is not a docker command.\nSee 'docker --help'",
                     f"did you mean docker {guess}?" if guess else f"labkit's docker knows: {', '.join(words)}")


def _top_help() -> str:
    lines = ["Usage:  docker [OPTIONS] COMMAND", "", "A self-sufficient runtime for containers (labkit's simulator)",
             "", "Commands:"]
    for path, cmd in sorted(COMMANDS.items()):
        lines.append(f"  {' '.join(path):<18}{cmd.summary}")
    lines += ["", "Run 'docker COMMAND --help' for more information on a command."]
    return "\n".join(lines)


# -- hosts and ids ------------------------------------------------------------------------------------------
def _host(ctx) -> str:
    """The machine the docker CLI talks to: the docker host, or the swarm's first manager that is on."""
    nodes = ctx.cluster.state().nodes
    managers = [n.name for n in nodes if n.role == "manager"]
    return next((m for m in managers if info.powered(ctx.sim, m)), managers[0]) if managers else nodes[0].name


def manager_address(ctx) -> str:
    """The simulated swarm's first manager, `<ip>:2377` (each swarm on a network of its own)."""
    return ctx.sim.join_address()


def _require_swarm(ctx) -> None:
    if ctx.cluster.flavor != "swarm":
        raise ConsoleError(NOT_MANAGER, "turn this host into a swarm manager first: docker swarm init")


def container_id(name: str, created: float) -> str:
    return hex_id("container", name, created, length=64)


def _command_of(image: str) -> str:
    demo = catalog.lookup(image)
    if demo is not None and demo.crash_after is not None:
        return _BROKEN_COMMAND
    repo = image.rsplit("/", 1)[-1].split(":")[0].split("@")[0]
    return _PUBLIC_COMMANDS.get(repo, _DEMO_COMMAND)


def _ports_note(ctx) -> dict:
    return ctx.session.notes.setdefault(("ports", id(ctx.cluster.backend)), {})


# -- containers -------------------------------------------------------------------------------------------------
@COMMANDS.command("run", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Run a command in a new container",
                  Flag("detach", "d", "bool", help="Run container in background and print container ID"),
                  Flag("name", help="Assign a name to the container"),
                  Flag("restart", help='Restart policy to apply when a container exits (default "no")', default="no"),
                  Flag("publish", "p", "list", help="Publish a container's port(s) to the host"),
                  Flag("env", "e", "list", help="Set environment variables"),
                  Flag("rm", kind="bool", help="Automatically remove the container when it exits"),
                  Flag("interactive", "i", "bool", help="Keep STDIN open even if not attached"),
                  Flag("tty", "t", "bool", help="Allocate a pseudo-TTY"),
                  Flag("network", help="Connect a container to a network"),
                  Flag("label", "l", "list", help="Set meta data on a container"),
                  min_args=1, interspersed=False)
def run(ctx, p: Parsed) -> None:
    image = p.args[0]
    validate.image(image)
    restart = p.get("restart", "no")
    policy = restart.split(":")[0]
    if policy not in ("no", "always", "on-failure", "unless-stopped") or (":" in restart and policy != "on-failure"):
        raise UsageError(f"docker: Error response from daemon: invalid restart policy '{restart}'.\n"
                         "See 'docker run --help'.", "use no, always, on-failure or unless-stopped")
    ports = [_parse_port(p.command, spec) for spec in p.get("publish")]
    for item in p.get("env"):
        if "=" not in item or item.startswith("="):
            raise UsageError(f"invalid argument \"{item}\" for \"-e, --env\" flag: expected KEY=VALUE\n"
                             "See 'docker run --help'.", "e.g. -e COLOR=blue")
    name = p.get("name")
    state = ctx.cluster.state()
    taken = {r.name: r for r in state.replicas}
    if name is not None:
        validate.name(name, "container name", "docker")
        if name in taken:
            old = taken[name]
            raise ConsoleError(f'docker: Error response from daemon: Conflict. The container name "/{name}" is already '
                               f'in use by container "{container_id(name, old.created)}". You have to remove (or '
                               "rename) that container to be able to reuse that name.",
                               f"remove it first: docker rm -f {name}, or pick another --name")
    made = ctx.cluster.run_container(image, name=name, restart=policy)
    _settle(ctx, [made], lambda r: r.phase != "pending")
    if ports:
        _ports_note(ctx)[made] = ports
    created = next((r.created for r in ctx.cluster.state().replicas if r.name == made), 0.0)
    if len(p.args) > 1:
        ctx.print("(labkit: the simulator runs each image's own program; the COMMAND after the image is ignored)")
    if not p.get("detach"):
        ctx.print(f"(labkit: without -d, docker would keep this notebook attached to the container until it stops; "
                  f"it runs in the background instead, as with -d. Its name: {made})")
    ctx.print(container_id(made, created))


def _settle(ctx, names: list[str], done, limit: float = 30.0) -> None:
    """Let simulated time pass until `done(replica)` holds for each named container, as the real
    command returns only once the engine has started (or stopped) them."""
    from ...errors import Timeout
    wanted = set(names)

    def ready() -> bool:
        return all(done(r) for r in ctx.cluster.state().replicas if r.name in wanted)
    try:
        ctx.cluster._wait_for(ready, limit, step=0.1)
    except Timeout:
        pass


def _parse_port(cmd: Command, spec: str) -> str:
    text = spec
    if "=" in spec:
        fields = dict(part.partition("=")[::2] for part in spec.split(","))
        if "target" not in fields:
            raise UsageError(f'invalid argument "{spec}" for "-p, --publish" flag: missing target port\n'
                             f"See '{cmd.title} --help'.", "e.g. -p published=8080,target=80")
        text = f"{fields.get('published', '')}:{fields['target']}" if fields.get("published") else fields["target"]
    parts = text.split("/")[0].split(":")
    if not all(part.isdigit() and 0 < int(part) < 65536 for part in parts[-2:]) or len(parts) > 3:
        raise UsageError(f'invalid argument "{spec}" for "-p, --publish" flag: invalid port format\n'
                         f"See '{cmd.title} --help'.", "e.g. -p 8080:80 (host port 8080 -> container port 80)")
    return ":".join(parts[-2:])


def _containers(ctx, all_: bool):
    state = ctx.cluster.state()
    host = _host(ctx)
    found = [r for r in state.replicas if r.node == host or (r.node is None and not r.workload)]
    if not all_:
        found = [r for r in found if r.phase == "running" or _restarting(ctx, r)]
    return sorted(found, key=lambda r: (-r.created, r.name)), state.time


def _restarting(ctx, r) -> bool:
    return r.reason == "Restarting"


def _last_event(ctx, name: str) -> float:
    for event in reversed(ctx.cluster.events()):
        if event.object in (f"pod/{name}", f"task/{name}", f"container/{name}"):
            return event.time
    return 0.0


def _status(ctx, r, now: float) -> str:
    if r.phase == "running":
        pod = info.pod(ctx.sim, r.name)
        since = getattr(pod, "started", None) or r.created
        health = ""
        if getattr(getattr(pod, "template", None), "probe", None) is not None:  # docker ps: a healthcheck
            health = " (healthy)" if pod.ready else " (health: starting)"
        return f"Up {docker_duration(now - since)}{health}"
    if r.phase == "terminating":
        return "Removal In Progress"
    if r.phase == "pending" and not _restarting(ctx, r):
        return "Created"
    code = info.exit_code(ctx.sim, r.name, ctx.cluster.events())
    code = 1 if code is None else code
    ago = docker_duration(now - _last_event(ctx, r.name))
    return f"{'Restarting' if _restarting(ctx, r) else 'Exited'} ({code}) {ago} ago"


@COMMANDS.command("ps", "[OPTIONS]", "List containers",
                  Flag("all", "a", "bool", help="Show all containers (default shows just running)"),
                  Flag("quiet", "q", "bool", help="Only display container IDs"),
                  Flag("no-trunc", kind="bool", help="Don't truncate output"),
                  Flag("filter", "f", "list", help="Filter output based on conditions provided"), max_args=0, aliases=("container ls",))
def ps(ctx, p: Parsed) -> None:
    found, now = _containers(ctx, p.get("all"))
    for spec in p.get("filter"):
        key, _, value = spec.partition("=")
        if key == "name":
            found = [r for r in found if value in r.name]
        elif key == "status":
            found = [r for r in found if _status(ctx, r, now).lower().startswith(
                {"exited": "exited", "running": "up", "created": "created", "restarting": "restarting"}.get(value,
                                                                                                           value))]
        elif key == "ancestor":
            found = [r for r in found if r.image.split(":")[0] == value.split(":")[0]]
        else:
            raise UsageError(f'Error response from daemon: Invalid filter \'{key}\'', "filters: name, status, ancestor")
    trunc = not p.get("no-trunc")
    if p.get("quiet"):
        ctx.print("\n".join(container_id(r.name, r.created)[:12 if trunc else 64] for r in found))
        return
    ports = _ports_note(ctx)
    rows = []
    for r in found:
        command = _command_of(r.image)
        mapped = ", ".join(f"0.0.0.0:{m.split(':')[0]}->{m.split(':')[-1]}/tcp" if ":" in m else f"{m}/tcp"
                           for m in ports.get(r.name, ())) or ("80/tcp" if r.phase == "running" else "")
        rows.append([container_id(r.name, r.created)[:12 if trunc else 64], r.image,
                     f'"{ellipsis(command, 20) if trunc else command}"', f"{docker_duration(now - r.created)} ago",
                     _status(ctx, r, now), mapped, r.name])
    ctx.print(docker_table(["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"], rows))


def _known_containers(ctx, names: list[str]):
    state = ctx.cluster.state()
    by_name = {r.name: r for r in state.replicas}
    by_id = {container_id(r.name, r.created)[:12]: r for r in state.replicas}
    out = []
    for name in names:
        r = by_name.get(name) or next((v for k, v in by_id.items() if len(name) >= 3 and k.startswith(name)), None)
        if r is None:
            guess = closest(name, list(by_name))
            raise ConsoleError(f"Error response from daemon: No such container: {name}",
                               f"did you mean {guess}?" if guess else "see docker ps -a")
        out.append(r)
    return out


@COMMANDS.command("stop", "[OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers",
                  Flag("time", "t", "int", help="Seconds to wait for stop before killing it"), min_args=1)
def stop(ctx, p: Parsed) -> None:
    found = _known_containers(ctx, p.args)
    for r in found:
        ctx.cluster.stop_container(r.name)
        ctx.print(r.name if r.name in p.args else container_id(r.name, r.created)[:12])
    _settle(ctx, [r.name for r in found], lambda r: r.phase != "running")


@COMMANDS.command("start", "[OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers", min_args=1)
def start(ctx, p: Parsed) -> None:
    found = _known_containers(ctx, p.args)
    for r in found:
        ctx.cluster.start_container(r.name)
        ctx.print(r.name)
    _settle(ctx, [r.name for r in found], lambda r: r.phase != "pending")


@COMMANDS.command("kill", "[OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers",
                  Flag("signal", "s", help="Signal to send to the container"), min_args=1)
def kill(ctx, p: Parsed) -> None:
    found = _known_containers(ctx, p.args)
    for r in found:
        if r.phase != "running":
            raise ConsoleError(f"Error response from daemon: Cannot kill container: {r.name}: Container "
                               f"{container_id(r.name, r.created)} is not running", "see docker ps -a")
    for r in found:
        ctx.cluster.stop_container(r.name, kill=True)
        ctx.print(r.name)


@COMMANDS.command("rm", "[OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers",
                  Flag("force", "f", "bool", help="Force the removal of a running container (uses SIGKILL)"),
                  Flag("volumes", "v", "bool", help="Remove anonymous volumes associated with the container"),
                  min_args=1)
def rm(ctx, p: Parsed) -> None:
    found = _known_containers(ctx, p.args)
    for r in found:
        if r.phase == "running" and not p.get("force"):
            raise ConsoleError(f"Error response from daemon: You cannot remove a running container "
                               f"{container_id(r.name, r.created)}. Stop the container before attempting removal or "
                               "force remove", f"docker stop {r.name} first, or docker rm -f {r.name}")
    for r in found:
        ctx.cluster.remove_container(r.name)
        _ports_note(ctx).pop(r.name, None)
        ctx.print(r.name)


# -- swarm ----------------------------------------------------------------------------------------------------
def _join_command(ctx, role: str) -> str:
    return f"    docker swarm join --token {ctx.sim.join_token(role)} {manager_address(ctx)}"


@COMMANDS.command("swarm init", "[OPTIONS]", "Initialize a swarm",
                  Flag("advertise-addr", help="Advertised address (format: <ip|interface>[:port])"),
                  Flag("listen-addr", help="Listen address (format: <ip|interface>[:port])"), max_args=0)
def swarm_init(ctx, p: Parsed) -> None:
    if ctx.cluster.flavor == "swarm":
        nodes = ctx.cluster.state().nodes
        raise ConsoleError('Error response from daemon: This node is already part of a swarm. Use "docker swarm leave" '
                           "to leave this swarm and join another one.",
                           f"this simulated swarm has {len(nodes)} node(s), {nodes[0].name} its manager; "
                           "`docker swarm join-token worker` prints the command that adds a worker")
    if ctx.explicit:
        raise ConsoleError("Error response from daemon: labkit cannot turn the cluster you passed into a swarm",
                           "use labkit.connect(flavor='swarm'), or let the console pick its own host: labkit.sh(line)")
    from ...cluster import connect
    old = ctx.cluster
    carried = [r for r in old.state().replicas if not r.workload and r.phase == "running"]
    new = connect("sim", nodes=1, flavor="swarm", seed=ctx.sim.seed, name=ctx.sim.cluster_name)  # the same machine
    for r in carried:  # the host's containers keep running: it is the same machine
        new.run_container(r.image, name=r.name)
    ctx.session.clusters["docker"] = new
    ctx.cluster = new
    node = new.state().nodes[0].name
    ctx.print(f"Swarm initialized: current node ({swarm_id('node', node)}) is now a manager.\n\n"
              f"To add a worker to this swarm, run the following command:\n\n{_join_command(ctx, 'worker')}\n\n"
              "To add a manager to this swarm, run 'docker swarm join-token manager' and follow the instructions.\n\n"
              f"(labkit: the simulated host is now {node}, the manager of a one-node swarm; "
              "labkit.console.current('docker') returns this cluster)")


@COMMANDS.command("swarm join-token", "[OPTIONS] (worker|manager)", "Manage join tokens",
                  Flag("quiet", "q", "bool", help="Only display token"), Flag("rotate", kind="bool", help="(accepted)"),
                  min_args=1, max_args=1)
def swarm_join_token(ctx, p: Parsed) -> None:
    role = p.args[0]
    if role not in ("worker", "manager"):
        raise UsageError(f"unknown role {role}", "docker swarm join-token worker (or manager)")
    _require_swarm(ctx)
    if p.get("quiet"):
        ctx.print(ctx.sim.join_token(role))
        return
    ctx.print(f"To add a {role} to this swarm, run the following command:\n\n{_join_command(ctx, role)}\n")


@COMMANDS.command("swarm join", "[OPTIONS] HOST:PORT", "Join a swarm as a node and/or manager",
                  Flag("token", help="Token for entry into the swarm"),
                  Flag("advertise-addr", help="Advertised address (format: <ip|interface>[:port])"),
                  Flag("listen-addr", help="Listen address (format: <ip|interface>[:port])"),
                  min_args=1, max_args=1)
def swarm_join(ctx, p: Parsed) -> None:
    address = p.args[0]
    token = p.get("token")
    if not token:
        raise UsageError('"docker swarm join" requires the --token flag: the swarm\'s join token\n'
                         "See 'docker swarm join --help'.",
                         "docker swarm join-token worker (on the manager) prints the whole command")
    if is_placeholder(token) or is_placeholder(address):
        raise ConsoleError(f"Error response from daemon: invalid join token {token!r}",
                           "<token> is a placeholder: the manager prints the real command with "
                           "`docker swarm init` or `docker swarm join-token worker`")
    if ctx.cluster.flavor != "swarm":
        raise ConsoleError("Error response from daemon: rpc error: code = Unavailable desc = connection error: "
                           f'desc = "transport: Error while dialing dial tcp {address}: connect: connection refused"',
                           "there is no swarm yet: run docker swarm init first; it prints the join command")
    roles = {ctx.sim.join_token(r): r for r in ("worker", "manager")}
    role = roles.get(token)
    if role is None:
        raise ConsoleError("Error response from daemon: rpc error: code = InvalidArgument desc = A valid join token "
                           "is necessary to join this cluster",
                           f"the %docker lines talk to {_swarm_name(ctx)}: copy its token from `docker swarm "
                           "join-token worker`, or point them at the swarm you meant: labkit.console.use(<its cluster>)")
    manager = manager_address(ctx)
    host = address.split(":")[0]
    if host != manager.split(":")[0]:
        raise ConsoleError("Error response from daemon: Timeout was reached before node joined. The attempt to join "
                           "the swarm will continue in the background. Use the \"docker info\" command to see the "
                           "current swarm status of your node.",
                           f"the %docker lines talk to {_swarm_name(ctx)}, whose manager listens at {manager}; "
                           "labkit.console.use(<its cluster>) points them at another swarm")
    name = ctx.cluster.add_node(role)
    ctx.print(f"This node joined a swarm as a {role}.\n"
              f"(labkit: the simulator added {name}: the new machine that ran this command)")


def _swarm_name(ctx) -> str:
    """The console's swarm, as a join's hint names it (`name=` of labkit.connect)."""
    name = ctx.sim.cluster_name
    return f"swarm {name!r}" if name else "an unnamed swarm"


# -- nodes -------------------------------------------------------------------------------------------------------
def _availability(node) -> str:
    status = node.status or ""
    if "(" in status:
        return status.split("(")[1].rstrip(")").capitalize()
    return "Active" if node.schedulable else "Drain"


@COMMANDS.command("node ls", "[OPTIONS]", "List nodes in the swarm",
                  Flag("quiet", "q", "bool", help="Only display IDs"), Flag("filter", "f", "list", help="(accepted)"),
                  max_args=0, aliases=("node list",))
def node_ls(ctx, p: Parsed) -> None:
    _require_swarm(ctx)
    state = ctx.cluster.state()
    me = _host(ctx)
    leader = state.swarm.leader if state.swarm else None
    rows = []
    for n in state.nodes:
        manager = ""
        if n.role == "manager":
            manager = "Leader" if n.name == leader else ("Reachable" if n.ready else "Unreachable")
        ident = swarm_id("node", n.name) + (" *" if n.name == me else "")
        rows.append([ident, n.name, "Ready" if n.ready else "Down", _availability(n), manager, ENGINE])
    if p.get("quiet"):
        ctx.print("\n".join(swarm_id("node", n.name) for n in state.nodes))
        return
    ctx.print(docker_table(["ID", "HOSTNAME", "STATUS", "AVAILABILITY", "MANAGER STATUS", "ENGINE VERSION"], rows))


def _swarm_node(ctx, name: str):
    state = ctx.cluster.state()
    for n in state.nodes:
        if name in (n.name, swarm_id("node", n.name)) or (len(name) >= 3 and swarm_id("node", n.name).startswith(name)):
            return n
    guess = closest(name, [n.name for n in state.nodes])
    raise ConsoleError(f"Error response from daemon: node {name} not found",
                       f"did you mean {guess}?" if guess else "see docker node ls")


@COMMANDS.command("node update", "[OPTIONS] NODE", "Update a node",
                  Flag("availability", help='Availability of the node ("active"|"pause"|"drain")'),
                  min_args=1, max_args=1)
def node_update(ctx, p: Parsed) -> None:
    _require_swarm(ctx)
    availability = p.get("availability")
    node = _swarm_node(ctx, p.args[0])
    if availability is None:
        raise UsageError("labkit's simulator updates a node's --availability only",
                         f"e.g. docker node update --availability drain {node.name}")
    if availability not in ("active", "pause", "drain"):
        raise UsageError(f'invalid argument "{availability}" for "--availability" flag: invalid availability '
                         f'"{availability}"\nSee \'docker node update --help\'.', "use active, pause or drain")
    if availability == "drain":
        ctx.cluster.drain(node.name)
    elif availability == "active":
        ctx.cluster.uncordon(node.name)
    else:
        ctx.cluster.pause_node(node.name)
    ctx.print(p.args[0])


@COMMANDS.command("node ps", "[OPTIONS] [NODE...]", "List tasks running on one or more nodes, defaults to current node")
def node_ps(ctx, p: Parsed) -> None:
    _require_swarm(ctx)
    names = p.args or [_host(ctx)]
    nodes = [_swarm_node(ctx, n).name for n in names]
    rows = []
    for svc in sorted(w.name for w in ctx.cluster.state().workloads):
        rows += [row for row in _task_rows(ctx, svc, trunc=True) if row[3] in nodes]
    ctx.print(docker_table(["ID", "NAME", "IMAGE", "NODE", "DESIRED STATE", "CURRENT STATE", "ERROR", "PORTS"], rows))


# -- services ---------------------------------------------------------------------------------------------------
def _service_names(ctx) -> list[str]:
    return [w.name for w in ctx.cluster.state().workloads]


def _known_service(ctx, name: str) -> str:
    names = _service_names(ctx)
    if name in names:
        return name
    ids = {swarm_id("service", n)[:len(name)]: n for n in names} if len(name) >= 3 else {}
    if name in ids:
        return ids[name]
    guess = closest(name, names)
    raise ConsoleError(f"Error: No such service: {name}", f"did you mean {guess}?" if guess else
                       "see docker service ls")


def _strategy(p: Parsed) -> dict:
    out = {}
    for flag, key in (("update-parallelism", "parallelism"), ("update-delay", "delay"), ("update-order", "order"),
                      ("update-failure-action", "failure_action"), ("update-monitor", "monitor"),
                      ("update-max-failure-ratio", "max_failure_ratio")):
        if p.get(flag) is not None:
            out[key] = p[flag]
    if "order" in out and out["order"] not in ("stop-first", "start-first"):
        raise UsageError(f'invalid argument "{out["order"]}" for "--update-order" flag: must be "stop-first" or '
                         '"start-first"', "")
    if "failure_action" in out and out["failure_action"] not in ("pause", "continue", "rollback"):
        raise UsageError(f'invalid argument "{out["failure_action"]}" for "--update-failure-action" flag: must be '
                         '"pause", "continue" or "rollback"', "")
    if "max_failure_ratio" in out and not 0 <= out["max_failure_ratio"] <= 1:
        raise UsageError(f'invalid argument "{out["max_failure_ratio"]}" for "--update-max-failure-ratio" flag: '
                         "value must be between 0 and 1", "")
    if "parallelism" in out and out["parallelism"] > validate.SIM_MAX_REPLICAS:
        raise UsageError(f"--update-parallelism {out['parallelism']} is more tasks than a service can have", "e.g. 1")
    from ...cluster import make_strategy
    make_strategy(**out)
    return out


def _random_name(ctx, image: str) -> str:
    taken = set(_service_names(ctx))
    number = int(hex_id("name", image, len(taken), length=8), 16)
    for i in range(len(_ADJECTIVES) * len(_SURNAMES)):
        n = (number + i) % (len(_ADJECTIVES) * len(_SURNAMES))
        name = f"{_ADJECTIVES[n // len(_SURNAMES)]}_{_SURNAMES[n % len(_SURNAMES)]}"
        if name not in taken:
            return name
    return f"service_{len(taken)}"


@COMMANDS.command("service create", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new service",
                  Flag("name", help="Service name"),
                  Flag("replicas", kind="uint", help="Number of tasks"),
                  Flag("env", "e", "list", help="Set environment variables"),
                  Flag("publish", "p", "list", help="Publish a port as a node port"),
                  Flag("network", help="Network attachments"),
                  Flag("mode", help='Service mode (replicated or global) (default "replicated")'),
                  Flag("label", "l", "list", help="Service labels"),
                  Flag("health-cmd", help="Command to run to check health"),
                  Flag("health-interval", kind="duration", help="Time between running the check (ms|s|m|h)"),
                  *_SVC_UPDATE_FLAGS, min_args=1, interspersed=False)
def service_create(ctx, p: Parsed) -> None:
    _require_swarm(ctx)
    image = p.args[0]
    validate.image(image)
    if p.get("mode", "replicated") != "replicated":
        raise ConsoleError(f"Error: mode {p['mode']!r} is not simulated", "use --mode replicated (the default)")
    replicas = p.get("replicas", 1)
    validate.replicas(replicas)
    env = {}
    for item in p.get("env"):
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise UsageError(f'invalid argument "{item}" for "-e, --env" flag: expected KEY=VALUE\n'
                             "See 'docker service create --help'.", "e.g. -e COLOR=blue")
        env[key] = value
    ports = [_parse_port(p.command, spec) for spec in p.get("publish")]
    strategy = _strategy(p)
    if p.get("health-cmd"):  # the check passes once the program listens; Docker checks every 30 s unless told
        strategy["readiness"] = p.get("health-interval") or HEALTH_INTERVAL
    elif p.get("health-interval") is not None:
        raise UsageError("--health-interval needs --health-cmd: the command to run", 
                         '--health-cmd "wget -q -O /dev/null http://127.0.0.1/ready" --health-interval 1s')
    name = p.get("name")
    generated = name is None
    if generated:
        name = _random_name(ctx, image)
    else:
        validate.name(name, "service name", "swarm")
    if name in _service_names(ctx):
        raise ConsoleError(f"Error response from daemon: rpc error: code = AlreadyExists desc = name conflicts with an "
                           f"existing object: service {name} already exists",
                           f"pick another --name, or change it: docker service update --image ... {name}")
    ctx.cluster.deploy(name, image, replicas, env=env, ports=ports, network=p.get("network"), **strategy)
    ctx.print(swarm_id("service", name))
    if generated:
        ctx.print(f"(labkit: no --name, so Docker picked one: {name}. Name it yourself with --name my-web-server)")
    if not p.get("detach") and not p.get("quiet"):
        _progress(ctx, name, "create")


def _task_state(ctx, pod) -> tuple[str, str, str]:
    """(desired state, current state word, error) of one task."""
    if pod.deleting:  # on a node that is off, the last state its agent reported stays (nobody reports its end)
        lost = pod.node is not None and not info.powered(ctx.sim, pod.node)
        return "Shutdown", "Running" if pod.container_up or lost else "Shutdown", ""
    if pod.phase == "failed":
        if pod.reason == "No such image":
            return "Shutdown", "Rejected", f"No such image: {catalog.normalize(pod.image)}"
        return "Shutdown", "Failed", f'"task: non-zero exit ({info.exit_code(ctx.sim, pod.name, ctx.cluster.events()) or 1})"'
    if pod.phase == "pending":
        if pod.container_up:  # started, not yet healthy: swarmkit's STARTING
            return "Running", "Starting", ""
        return "Running", "Pending" if pod.node is None else "Preparing", ""
    if pod.phase == "succeeded":
        return "Shutdown", "Complete", ""
    return "Running", "Running", ""


def _task_rows(ctx, name: str, trunc: bool):
    now = ctx.cluster.now()
    rows = []
    for slot, tasks in info.service_tasks(ctx.sim, name):
        for i, pod in enumerate(tasks):
            desired, current, error = _task_state(ctx, pod)
            since = pod.ready_since if current == "Running" and pod.ready_since is not None else pod.created
            if current in ("Failed", "Rejected", "Shutdown"):
                since = _last_event(ctx, pod.name) or pod.created
            label = f"{name}.{slot}" if i == 0 else f" \\_ {name}.{slot}"
            ident = swarm_id("task", pod.name)
            rows.append([ident[:12] if trunc else ident, label, pod.image, pod.node or "",
                         desired, f"{current} {docker_duration(now - since).lower()} ago", error, ""])  # as the CLI
    return rows


@COMMANDS.command("service ls", "[OPTIONS]", "List services",
                  Flag("quiet", "q", "bool", help="Only display IDs"), Flag("filter", "f", "list", help="(accepted)"),
                  max_args=0, aliases=("service list",))
def service_ls(ctx, p: Parsed) -> None:
    _require_swarm(ctx)
    rows = []
    for w in sorted(ctx.cluster.state().workloads, key=lambda w: w.name):
        svc = info.service(ctx.sim, w.name)
        ports = list(getattr(getattr(svc, "template", None), "ports", ()) or ())
        ports += [f"{port}:80" for port in info.published(ctx.sim, w.name) if not any(
            x.split(":")[0] == str(port) for x in ports)]  # published afterwards (--publish-add, cluster.expose)
        shown = ", ".join(f"*:{x.split(':')[0]}->{x.split(':')[-1]}/tcp" if ":" in x else f"*:30000->{x}/tcp"
                          for x in ports)
        rows.append([swarm_id("service", w.name)[:12], w.name, "replicated", f"{w.ready}/{w.desired}", w.image, shown])
    if p.get("quiet"):
        ctx.print("\n".join(r[0] for r in rows))
        return
    ctx.print(docker_table(["ID", "NAME", "MODE", "REPLICAS", "IMAGE", "PORTS"], rows))


@COMMANDS.command("service ps", "[OPTIONS] SERVICE [SERVICE...]", "List the tasks of one or more services",
                  Flag("quiet", "q", "bool", help="Only display task IDs"),
                  Flag("no-trunc", kind="bool", help="Do not truncate output"),
                  Flag("filter", "f", "list", help="Filter output based on conditions provided"), min_args=1)
def service_ps(ctx, p: Parsed) -> None:
    _require_swarm(ctx)
    names = [_known_service(ctx, n) for n in p.args]
    rows = []
    for name in names:
        rows += _task_rows(ctx, name, trunc=not p.get("no-trunc"))
    for spec in p.get("filter"):
        key, _, value = spec.partition("=")
        if key == "desired-state":
            rows = [r for r in rows if r[4].lower() == value.lower()]
        elif key == "node":
            rows = [r for r in rows if r[3] == value]
        else:
            raise UsageError(f"Error response from daemon: invalid filter '{key}'", "filters: desired-state, node")
    if p.get("quiet"):
        ctx.print("\n".join(r[0] for r in rows))
        return
    ctx.print(docker_table(["ID", "NAME", "IMAGE", "NODE", "DESIRED STATE", "CURRENT STATE", "ERROR", "PORTS"], rows))


@COMMANDS.command("service scale", "SERVICE=REPLICAS [SERVICE=REPLICAS...]", "Scale one or multiple replicated services",
                  Flag("detach", "d", "bool", help="Exit immediately instead of waiting for the service to converge"),
                  min_args=1)
def service_scale(ctx, p: Parsed) -> None:
    _require_swarm(ctx)
    plan = []
    for arg in p.args:
        name, eq, count = arg.partition("=")
        if not eq or not name:
            raise UsageError(f"invalid scale specifier '{arg}'.\nSee 'docker service scale --help'.\n\n"
                             "Usage:  docker service scale SERVICE=REPLICAS [SERVICE=REPLICAS...]\n\n"
                             "Scale one or multiple replicated services", f"e.g. docker service scale {name or 'web'}=5")
        if not count.isdigit():
            raise UsageError(f"invalid replicas value {count}: strconv.ParseUint: parsing \"{count}\": invalid syntax",
                             f"e.g. docker service scale {name}=5")
        plan.append((_known_service(ctx, name), validate.replicas(int(count))))
    for name, count in plan:
        ctx.cluster.workload(name).scale(count)
        ctx.print(f"{name} scaled to {count}")
    if not p.get("detach"):
        for name, _count in plan:
            _progress(ctx, name, "scale")


@COMMANDS.command("service update", "[OPTIONS] SERVICE", "Update a service",
                  Flag("image", help="Service image tag"), Flag("replicas", kind="uint", help="Number of tasks"),
                  Flag("rollback", kind="bool", help="Rollback to previous specification"),
                  Flag("env-add", kind="list", help="Add or update an environment variable"),
                  Flag("publish-add", kind="list", help="Add or update a published port"),
                  Flag("force", kind="bool", help="Force update even if no changes require it"),
                  *_SVC_UPDATE_FLAGS, min_args=1, max_args=1)
def service_update(ctx, p: Parsed) -> None:
    _require_swarm(ctx)
    name = _known_service(ctx, p.args[0])
    if p.get("rollback"):
        _rollback(ctx, name, p.get("detach"))
        return
    for flag in ("env-add", "force"):
        if p.get(flag):
            raise ConsoleError(f"Error: --{flag} is not simulated", "the simulator changes --image, --replicas and "
                               "the --update-* settings")
    publish = [_parse_port(p.command, spec) for spec in p.get("publish-add")]  # all checked before any is made
    if any(":" not in port for port in publish):
        raise UsageError('invalid argument for "--publish-add" flag: the simulator publishes a chosen port',
                         "e.g. --publish-add 8080:80")
    for port in publish:  # the routing mesh publishes it; the tasks are not replaced
        ctx.cluster.expose(name, int(port.split(":")[0]))
    image = p.get("image")
    if image is not None:
        validate.image(image)
    replicas = p.get("replicas")
    if replicas is not None:
        validate.replicas(replicas)
    strategy = _strategy(p)
    w = ctx.cluster.workload(name)
    if image is not None or strategy:
        w.update(image or w.status().image, **strategy)
    if replicas is not None:
        w.scale(replicas)
    ctx.print(name)
    if not p.get("detach") and not p.get("quiet"):
        _progress(ctx, name, "update")


@COMMANDS.command("service rollback", "[OPTIONS] SERVICE", "Revert changes to a service's configuration",
                  Flag("detach", "d", "bool", help="Exit immediately instead of waiting for the service to converge"),
                  Flag("quiet", "q", "bool", help="Suppress progress output"), min_args=1, max_args=1)
def service_rollback(ctx, p: Parsed) -> None:
    _require_swarm(ctx)
    _rollback(ctx, _known_service(ctx, p.args[0]), p.get("detach"))


def _rollback(ctx, name: str, detach: bool) -> None:
    svc = info.service(ctx.sim, name)
    if svc is not None and svc.previous is None:
        raise ConsoleError(f"Error response from daemon: rpc error: code = FailedPrecondition desc = service {name} "
                           "does not have a previous spec", "update it once (docker service update --image ...) first")
    ctx.cluster.workload(name).rollback()
    ctx.print(name)
    if not detach:
        ctx.print("rollback: manually requested rollback")
        _progress(ctx, name, "rollback")


@COMMANDS.command("service rm", "SERVICE [SERVICE...]", "Remove one or more services", min_args=1, aliases=("service remove",))
def service_rm(ctx, p: Parsed) -> None:
    _require_swarm(ctx)
    names = [_known_service(ctx, n) for n in p.args]
    for name in names:
        ctx.cluster.workload(name).delete()
        ctx.print(name)


def _progress(ctx, name: str, why: str, limit: float = 300.0) -> None:
    """Wait (in simulated time) until the service converges, then print docker's progress display."""
    cluster = ctx.cluster
    deadline = cluster.now() + limit
    while True:
        w = next((x for x in cluster.summaries() if x.name == name), None)
        if w is None:
            return
        converged = w.current == w.desired == w.ready == w.updated and w.rollout == "complete"
        if converged or w.rollout == "paused" or cluster.now() >= deadline:
            break
        cluster.run(0.5)
    tasks = {}
    for slot, pods in info.service_tasks(ctx.sim, name):
        if slot <= w.desired:
            tasks[slot] = pods[0]
    running = sum(1 for t in tasks.values() if t.phase == "running" and not t.deleting)
    prefix = "rolling back update: " if why == "rollback" else ""
    lines = [f"overall progress: {prefix}{running} out of {w.desired} tasks"]
    if w.desired <= LARGE_SERVICE:
        for slot in range(1, w.desired + 1):
            task = tasks.get(slot)
            word = "pending" if task is None else _progress_word(task)
            fill = {"running": 50, "starting": 40, "preparing": 25, "pending": 5, "rejected": 0, "failed": 0}[word]
            bar = ("=" * fill + ">").ljust(51) if fill else " " * 51
            lines.append(f"{slot}/{w.desired}: {word:<9} [{bar}]")
    if converged:
        lines.append("verify: Service converged")
    elif w.rollout == "paused":
        ctx.print("\n".join(lines))
        raise OutcomeError(f"Error: {w.message or 'update paused due to failure or early termination of a task'}",
                           f"docker service ps {name} shows the failed tasks; docker service rollback {name} goes back")
    else:
        lines.append(f"verify: (labkit) not converged after {limit:g}s of simulated time: "
                     f"docker service ps {name} shows why")
    ctx.print("\n".join(lines))


def _progress_word(task) -> str:
    if task.phase == "running":
        return "running"
    if task.phase == "failed":
        return "rejected" if task.reason == "No such image" else "failed"
    return "preparing" if task.node else "pending"


@COMMANDS.command("version", "[OPTIONS]", "Show the Docker version information",
                  Flag("format", "f", help="(accepted)"), max_args=0)
def version(ctx, p: Parsed) -> None:
    ctx.print(f"Client:\n Version:           {ENGINE}+dfsg1\n API version:       {API}\n\n"
              f"Server:\n Engine:\n  Version:          {ENGINE}+dfsg1\n  API version:      {API} (minimum version 1.12)\n"
              " (labkit: a simulated engine)")



def syntax(argv: list[str]) -> None:
    """The UsageError this command line would raise, without running it."""
    if not argv or argv[0] in ("--help", "-h", "help", "-v", "--version"):
        return
    if argv[0].startswith("-"):
        raise UsageError(f"unknown flag: {argv[0]}\nSee 'docker --help'.", "put the command first, e.g. docker ps")
    cmd, rest = _find(argv)
    parse(cmd, rest)
