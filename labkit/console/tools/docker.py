"""docker on the simulator: the real binary, against the simulator served as a Docker Engine.

The first docker command for a simulated Docker host or swarm serves it
(labkit.backends.sim.engine) on a unix socket in a private folder; every command then runs the
real docker CLI with DOCKER_HOST pointing there, as it would against any engine. The user's
~/.docker and docker contexts are never read or written (DOCKER_CONFIG is a folder of the
served engine's own). With every manager of a swarm off nothing listens there, so the CLI cannot
connect, as it could not to a machine that is off.

`docker swarm join` is typed on the machine that joins: labkit serves a new machine for it (a
Docker host in no swarm) whose engine asks the console's swarm to admit it (engine/swarm.py
admit: its address, its token, its quorum), then lets it go; the swarm has one node more.
`docker run` without -d gets -d: a notebook cannot stay attached to a container.

Time, the one rule (as kubectl's, tools/kubectl.py). The cluster's clock stands still while
docker runs, so `docker service ps` prints the same ages on every run and nbval can compare
outputs. A command that waits for the cluster moves the clock itself: a request the engine
answers once a container changed (stop, start, restart, rm, wait) one STEP a look until then;
`service create/update/rollback/scale` one look of the CLI's at a time (engine/progress.py);
`logs -f` and `events` until nothing new came for a while (engine/logs.py Quiet); each for at
most LIMIT cluster seconds, a following service command for progress.PATIENCE: then the
console interrupts the CLI as a student's Ctrl-C would, and says so.
"""
from __future__ import annotations

import os
import re
import signal
import threading
import time

from ...backends.sim import info
from ...backends.sim.engine import progress
from ...backends.sim.engine.serve import ServedEngine
from ...backends.sim.engine.swarm import admit
from ...errors import Unavailable
from .. import real
from ..parse import ConsoleError, closest, positionals

STEP = 1.0  # cluster seconds per look of a request that waits for a container
LIMIT = 900.0  # cluster seconds one command may move the clock (past a stop's longest grace period)
NO_DAEMON = "Cannot connect to the Docker daemon at {host}. Is the docker daemon running?"
CONVERGING = (("service", "create"), ("service", "update"), ("service", "rollback"), ("service", "scale"))
VALUED = ("--name", "-e", "--env", "-p", "--publish", "--replicas", "--mode", "--network", "--constraint", "-f",
          "--filter", "--format", "--image", "--token", "--advertise-addr", "--listen-addr", "-l", "--label",
          "--update-delay", "--update-parallelism", "--update-order", "--update-failure-action", "-c",
          "--compose-file", "--restart", "--tail", "--since", "--until", "-n", "--availability", "--role")
HIDDEN = ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_API_VERSION", "DOCKER_TLS")


def served(sim) -> ServedEngine:
    """The Docker Engine of this simulator, served on first use (its clock: this module's rule)."""
    door = sim.served_engine
    if door is None:
        door = ServedEngine(sim, speed=0.0).start()
        door.engine.stepping = STEP
        sim.served_engine = door
    elif door.engine.store is not sim.store:  # the simulator was reset behind the engine's back
        door.rebind()
    return door


def environment(door: ServedEngine) -> dict[str, str]:
    """The CLI's environment: this engine, and a configuration folder of its own."""
    env = {k: v for k, v in os.environ.items() if k not in HIDDEN}
    config = os.path.join(door.folder, "config")
    os.makedirs(config, mode=0o700, exist_ok=True)
    env.update(door.env(), DOCKER_CONFIG=config, DOCKER_CLI_HINTS="false")
    return env


def cli() -> str:
    """The docker binary (real.binary's choice); without one, what to install: the simulator needs
    no daemon, only the client."""
    try:
        return real.binary("docker")
    except Unavailable:
        from ...cli import GET_DOCKER_CLI
        raise ConsoleError("docker: command not found. %docker runs the real docker CLI, also on the simulator "
                           "(which serves it a Docker Engine of its own: no daemon needed)",
                           f"install the client only: {GET_DOCKER_CLI}") from None


def manager_address(ctx) -> str:
    """The simulated swarm's first manager, `<ip>:2377` (each swarm on a network of its own)."""
    return ctx.sim.join_address()


def main(ctx, argv: list[str]) -> None:
    sim = ctx.sim
    if sim.flavor == "kubernetes":
        raise ConsoleError(NO_DAEMON.format(host="unix:///var/run/docker.sock"),
                           "this is a Kubernetes cluster: use kubectl, or a docker/swarm cluster: "
                           "labkit.console.use(labkit.connect(flavor='swarm'))")
    args, notes = real.docker_args(list(argv), None)
    for note in notes:
        ctx.print(note)
    door = served(sim)
    if positionals(args, VALUED)[:2] == ["swarm", "join"]:
        run_on_new_machine(ctx, door, args)
        return
    run(ctx, door, args)


def run(ctx, door: ServedEngine, args: list[str]) -> None:
    """The real CLI against `door`, the clock moved only by what waits (the module's rule)."""
    sim, engine = ctx.sim, door.engine
    managers = [n.name for n in sim.api.items("nodes").values() if n.role == "manager"]
    if sim.flavor == "swarm" and managers and not any(info.powered(sim, m) for m in managers):
        door.pause()  # the terminal's machine is off: nothing answers
    else:
        door.resume()
    words = positionals(args, VALUED)
    converging = tuple(words[:2]) in CONVERGING and not any(a in ("-d", "--detach", "--detach=true") for a in args)
    engine.moved, engine.limit, engine.epoch = 0.0, LIMIT, time.time()
    engine.stepped = lambda: ctx.cluster._changed(step=True)
    engine.before = progress.Pacer(engine) if converging else None
    engine.waits = words[:1] == ["wait"] or words[:2] == ["container", "wait"]
    watchdog = Watchdog(engine)
    try:
        code, lines = real.stream([cli(), *args], environment(door), ctx.out, started=watchdog.start)
    finally:
        watchdog.stop()
        pacer = engine.before
        engine.before, engine.epoch = None, None
    if watchdog.gave_up:
        waited = progress.PATIENCE if getattr(pacer, "gave_up", False) else LIMIT
        ctx.print(f"(labkit: interrupted after {waited:g} s of cluster time, as Ctrl-C would)")
    if code != 0:
        raise real.failed("docker", args, code, lines, hint(ctx, args, lines, environment(door)))


def run_on_new_machine(ctx, door: ServedEngine, args: list[str]) -> None:
    """`docker swarm join`, on a new machine that labkit serves for it; the swarm admits it or not."""
    from ...backends.sim import SimBackend
    machine = ServedEngine(SimBackend(nodes=1, flavor="swarm", init=False, seed=ctx.sim.seed), speed=0.0)
    before = set(ctx.sim.api.items("nodes"))
    machine.engine.join_to = lambda remotes, token: admit(ctx.sim, remotes, token,
                                                          add=lambda role: ctx.cluster.add_node(role))
    machine.start()
    try:
        code, lines = real.stream([cli(), *args], environment(machine), ctx.out)
    finally:
        machine.stop()
    joined = sorted(set(ctx.sim.api.items("nodes")) - before)
    if joined:
        ctx.print(f"(labkit: the simulator added {joined[0]}: the new machine that ran this command)")
    if code != 0:
        raise real.failed("docker", args, code, lines, hint(ctx, args, lines, {}))


class Watchdog:
    """Interrupts a command that has waited its share and still waits (a `docker wait` on a
    container that never ends: LIMIT cluster seconds; a service that never converges: the
    progress's PATIENCE) as a student's Ctrl-C would: the CLI says its own last words."""

    def __init__(self, engine) -> None:
        self.engine, self.process, self.gave_up = engine, None, False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="labkit-docker-watchdog", daemon=True)

    def start(self, process) -> None:
        self.process = process
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            pacer = self.engine.before
            if self.engine.moved >= self.engine.limit or getattr(pacer, "gave_up", False):
                if self._stop.wait(1.0):  # what it has, it prints first
                    return
                self.gave_up = True
                self.process.send_signal(signal.SIGINT)
                if self._stop.wait(5.0):
                    return
                self.process.terminate()
                return


def hint(ctx, args: list[str], lines: list[str], env: dict[str, str]) -> str:
    """What to do next, for the failures a student meets most."""
    text = "\n".join(lines)
    sim = ctx.sim
    if "Cannot connect to the Docker daemon" in text and sim.flavor == "swarm":
        return ("every manager of this swarm is off, and the terminal was on one: power one back on "
                "(cluster.recover_node('node-1'))")
    if "does not have a leader" in text:
        down = [n.name for n in sim.api.items("nodes").values()
                if n.role == "manager" and not info.powered(sim, n.name)]
        return (f"{len(down)} manager(s) are off ({', '.join(down)}): Raft needs a majority of them up. Power one back "
                f"on (cluster.recover_node({down[0]!r})), or make a swarm with more managers" if down else
                "a majority of managers must be up")
    name = f"swarm {sim.cluster_name!r}" if sim.cluster_name else "an unnamed swarm"
    if "A valid join token is necessary" in text:
        return (f"the %docker lines talk to {name}: copy its token from `docker swarm join-token worker`, or point "
                "them at the swarm you meant: labkit.console.use(<its cluster>)")
    if "Timeout was reached before node joined" in text:
        return (f"the %docker lines talk to {name}, whose manager listens at {sim.join_address()}; "
                "labkit.console.use(<its cluster>) points them at another swarm")
    if "connection refused" in text and args[:2] == ["swarm", "join"]:
        return "there is no swarm yet: run docker swarm init first; it prints the join command"
    if "This node is not a swarm manager" in text:
        return "this Docker host is in no swarm yet: docker swarm init makes it one's manager"
    missing = re.search(r"[Nn]o such (container|service|node|task): (\S+)", text)
    if missing:
        guess = closest(missing.group(2), names(ctx, missing.group(1)))
        if guess:
            return f"did you mean {guess}?"
    return real.hint_for([cli(), *args], env, lines)


def names(ctx, kind: str) -> list[str]:
    """What a student may have meant: the names the engine knows of `kind`."""
    from ...backends.sim.engine.boxes import boxes
    door = ctx.sim.served_engine
    if door is None:
        return []
    engine = door.engine
    with engine.lock:
        if kind == "container":
            return [b.name for b in boxes(engine)]
        if kind == "service":
            return list(engine.services())
        if kind == "node":
            return [n.name for n in engine.nodes()]
    return []
