"""`minikube` on the simulator: start, status, stop, and nodes joining or failing.

The simulated cluster plays minikube's "minikube" profile: `minikube stop`
powers every node off and stops the control plane (kubectl then gets
"connection refused"), `minikube start` brings it back, `minikube node add`
adds a worker, `minikube node stop NAME` fails one machine.
"""
from __future__ import annotations

from ...backends.sim import info
from ..registry import Registry
from ..parse import Command, ConsoleError, Flag, Parsed, UsageError, closest, parse, usage_text

VERSION = "v1.34.0"
PROFILE = "minikube"
HELP = Flag("help", "h", "bool", help="help for this command")
PROFILE_FLAG = Flag("profile", "p", help="The name of the minikube VM being used (default \"minikube\")")
COMMANDS = Registry("minikube", PROFILE_FLAG, HELP)  # every command, declared above its handler
CONTROL_PLANE = ("etcd", "api-server", "scheduler", "controller-manager")


def node_ip(node_index: int, base: str = "192.168.49") -> str:
    """minikube's address for its node `node_index` (its docker driver's network)."""
    return f"{base}.{2 + node_index}"


def main(ctx, argv: list[str]) -> None:
    if not argv or argv[0] in ("-h", "--help", "help"):
        ctx.print("minikube provisions and manages local Kubernetes clusters (labkit's simulator).\n\nCommands:\n"
                  + "\n".join(f"  {' '.join(p):<14}{c.summary}" for p, c in sorted(COMMANDS.items())))
        return
    for size in (2, 1):
        key = tuple(argv[:size])
        if len(key) == size and key in COMMANDS:
            cmd, rest = COMMANDS[key], argv[size:]
            break
    else:
        word = " ".join(argv[:2]) if argv[0] == "node" and len(argv) > 1 else argv[0]
        choices = sorted({" ".join(p) for p in COMMANDS})
        guess = closest(word, choices)
        raise UsageError(f'Error: unknown command "{word}" for "minikube"'
                         + (f"\n\nDid you mean this?\n\t{guess}\n" if guess else "")
                         + "\nRun 'minikube --help' for usage.", f"minikube knows: {', '.join(choices)}")
    parsed = parse(cmd, rest)
    if parsed.get("help"):
        ctx.print(usage_text(cmd))
        return
    profile = parsed.get("profile")
    if profile not in (None, PROFILE):
        raise ConsoleError(f'🤷  Profile "{profile}" not found. Run "minikube profile list" to view all profiles.',
                           'the simulated cluster is the "minikube" profile: leave out -p')
    if ctx.cluster.flavor != "kubernetes":
        raise ConsoleError("❌  Exiting due to GUEST_STATUS: the console's cluster is not a Kubernetes cluster",
                           "minikube runs Kubernetes: labkit.console.use(labkit.connect(flavor='kubernetes'))")
    cmd.run(ctx, parsed)


def _running(ctx) -> bool:
    parts = {c.name: c.running for c in ctx.cluster.state().components}
    return parts.get("api-server", True)


@COMMANDS.command("start", "[flags]", "Starts a local Kubernetes cluster",
                  Flag("nodes", "n", "int", help="The total number of nodes to spin up. Defaults to 1."),
                  Flag("driver", help="(accepted)"), Flag("kubernetes-version", help="(accepted)"),
                  Flag("memory", help="(accepted)"), Flag("cpus", help="(accepted)"), max_args=0)
def start(ctx, p: Parsed) -> None:
    cluster = ctx.cluster
    ctx.print(f"😄  minikube {VERSION} on Debian 12 (labkit simulator)")
    if _running(ctx):
        ctx.print("✨  Using the docker driver based on existing profile\n"
                  f'👍  Starting "control-plane" primary control-plane node in "{PROFILE}" cluster\n'
                  f'🏃  Updating the running docker "{PROFILE}" container ...')
        wanted = p.get("nodes")
        if wanted and wanted != len(cluster.state().nodes):
            ctx.print(f"❗  The cluster has {len(cluster.state().nodes)} nodes; --nodes applies only to a new cluster "
                      "(add one with `minikube node add`)")
    else:
        ctx.print("✨  Using the docker driver based on existing profile\n"
                  f'👍  Starting "control-plane" primary control-plane node in "{PROFILE}" cluster\n'
                  f'🔄  Restarting existing docker container for "{PROFILE}" ...')
        sim = ctx.sim
        stopped = {c.name for c in cluster.state().components if not c.running}
        for part in CONTROL_PLANE:
            if part in stopped:
                sim.start_component(part)
        for node in cluster.state().nodes:
            if not info.running(sim, node.name):
                sim.recover_node(node.name)
        cluster.run(5.0)
    ctx.print("🔎  Verifying Kubernetes components...\n"
              f'🏄  Done! kubectl is now configured to use "{PROFILE}" cluster and "default" namespace by default')


@COMMANDS.command("stop", "[flags]", "Stops a running local Kubernetes cluster", max_args=0)
def stop(ctx, p: Parsed) -> None:
    cluster, sim = ctx.cluster, ctx.sim
    nodes = cluster.state().nodes
    if not _running(ctx):
        ctx.print(f'✋  Stopping node "{PROFILE}"  ...\n🛑  {len(nodes)} node(s) stopped.')
        return
    for node in nodes:
        ctx.print(f'✋  Stopping node "{node.name}"  ...')
    running = {c.name for c in cluster.state().components if c.running}
    for part in reversed(CONTROL_PLANE):
        if part in running:
            sim.stop_component(part)
    for node in nodes:
        if info.powered(sim, node.name):
            sim.fail_node(node.name)
    ctx.print(f"🛑  {len(nodes)} node(s) stopped.")


@COMMANDS.command("status", "[flags]", "Gets the status of a local Kubernetes cluster",
                  Flag("output", "o", help="(accepted)"), max_args=0)
def status(ctx, p: Parsed) -> None:
    state = ctx.cluster.state()
    parts = {c.name: c.running for c in state.components}
    kubelets = {c.node: c.running for c in state.components if c.name == "kubelet"}
    sim = ctx.sim
    blocks = []
    for node in state.nodes:
        up = info.powered(sim, node.name)
        lines = [node.name, f"type: {'Control Plane' if node.role == 'control-plane' else 'Worker'}",
                 f"host: {'Running' if up else 'Stopped'}"]
        if node.role == "control-plane":
            lines += [f"kubelet: {'Running' if up else 'Stopped'}",
                      f"apiserver: {'Running' if parts.get('api-server', True) else 'Stopped'}",
                      f"kubeconfig: {'Configured' if up else 'Stopped'}"]
        else:
            lines.append(f"kubelet: {'Running' if up and kubelets.get(node.name, True) else 'Stopped'}")
        blocks.append("\n".join(lines))
    ctx.print("\n\n".join(blocks) + "\n")


def _node(ctx, name: str):
    state = ctx.cluster.state()
    found = state.node(name)
    if found is None:
        guess = closest(name, [n.name for n in state.nodes])
        raise ConsoleError(f"❌  Exiting due to GUEST_NODE_RETRIEVE: retrieving node: Could not find node {name}",
                           f"did you mean {guess}?" if guess else "see minikube node list")
    return found


@COMMANDS.command("node add", "[flags]", "Adds a node to the given cluster.",
                  Flag("worker", kind="bool", help="(accepted)"), max_args=0)
def node_add(ctx, p: Parsed) -> None:
    if not _running(ctx):
        raise ConsoleError('🤷  The control-plane node must be running for this command', "minikube start first")
    name = ctx.cluster.add_node()
    ctx.print(f'😄  Adding node {name} to cluster {PROFILE} as [worker]\n'
              f'👍  Starting "{name}" worker node in "{PROFILE}" cluster\n'
              f"🏄  Successfully added {name} to {PROFILE}!")


@COMMANDS.command("node stop", "NAME [flags]", "Stops a node in a cluster.", min_args=1, max_args=1)
def node_stop(ctx, p: Parsed) -> None:
    node = _node(ctx, p.args[0])
    if node.role == "control-plane":
        raise ConsoleError("❌  Exiting due to GUEST_NODE_STOP: the control-plane node cannot be stopped alone",
                           "minikube stop stops the whole cluster; stop a worker: minikube node stop node-1")
    if not info.powered(ctx.sim, node.name):
        ctx.print(f'✋  Stopping node "{node.name}"  ...\n🛑  Successfully stopped node {node.name}')
        return
    ctx.cluster.fail_node(node.name)
    ctx.print(f'✋  Stopping node "{node.name}"  ...\n🛑  Successfully stopped node {node.name}')


@COMMANDS.command("node start", "NAME [flags]", "Starts an existing stopped node in a cluster.", min_args=1, max_args=1)
def node_start(ctx, p: Parsed) -> None:
    node = _node(ctx, p.args[0])
    if info.powered(ctx.sim, node.name):
        ctx.print(f"😄  Node {node.name} is already running")
        return
    ctx.cluster.recover_node(node.name)
    ctx.print(f'👍  Starting "{node.name}" worker node in "{PROFILE}" cluster\n'
              f"😄  Successfully started node {node.name}!")


@COMMANDS.command("node list", "[flags]", "List nodes.", max_args=0)
def node_list(ctx, p: Parsed) -> None:
    ctx.print("\n".join(f"{n.name}\t{node_ip(i)}" for i, n in enumerate(ctx.cluster.state().nodes)))




def syntax(argv: list[str]) -> None:
    """The UsageError this command line would raise, without running it."""
    if not argv or argv[0] in ("-h", "--help", "help"):
        return
    for size in (2, 1):
        key = tuple(argv[:size])
        if len(key) == size and key in COMMANDS:
            parse(COMMANDS[key], argv[size:])
            return
    raise UsageError(f'Error: unknown command "{argv[0]}" for "minikube"', "minikube start, status, stop, node ...")
