"""The facade every lesson talks to: one `Cluster`, whatever runs underneath.

It checks what the student asked for (names, images, counts, nodes) before
any backend sees it, so bad input never leaves anything half made, and it
implements the few ideas that are the same on every backend (waiting for
convergence, canaries as a second workload) once, here.
"""
from __future__ import annotations

import dataclasses
import difflib
import os
import random
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator

from . import timekeeping, traffic, validate
from .backends.base import (Backend, Components, DeploySpec, Exposes, Machines, Meters, PausesNodes, Probe,
                            Routes, StopsContainers, Summaries, UpdateStrategy)
from .errors import AlreadyExists, InvalidInput, NotFound, Refused, Timeout, Unavailable
from .model import ClusterState, Event, Replica, WorkloadStatus, converged

BACKENDS = ("sim", "docker", "swarm", "kubernetes")
FLAVORS = ("kubernetes", "swarm", "docker")
# What a $LABKIT_BACKEND can show of each flavor: Docker's engine has a plain host and
# (the playground) a swarm; a Kubernetes cluster only Kubernetes.
SERVES = {"docker": {"docker": "docker", "swarm": "swarm"}, "swarm": {"docker": "docker", "swarm": "swarm"},
          "kubernetes": {"kubernetes": "kubernetes"}}
CANARY_SUFFIX = "-canary"
BIG_TIMELINE = 200  # replicas: above this, the timeline is sampled at each step of run()/wait(), not every instant
RESTART_POLICIES = ("no", "on-failure", "always", "unless-stopped")


def connect(backend: str | None = None, nodes: int = 3, flavor: str | None = None,
            seed: int = 0, **options) -> "Cluster":
    """Open a cluster. `backend` defaults to `$LABKIT_BACKEND`, else the simulator.

    `flavor` picks what the simulator imitates ("kubernetes", "swarm" or
    "docker": one host, nothing watching). With a real backend chosen by
    `$LABKIT_BACKEND`, the flavor picks what of it to use (`flavor="docker"`:
    the plain Docker engine; `"swarm"`: the Swarm playground); a flavor that
    backend cannot show (Swarm on Kubernetes), or a backend that cannot be
    reached, falls back to the simulator with one line saying so (a lesson on
    Binder still runs); a backend named here explicitly raises `Unavailable`
    instead. Options: `managers=` and `init=False` (a swarm's managers; one
    machine in no swarm yet), `name=` (a second cluster of one notebook), and
    each backend's own.
    """
    if flavor is not None and flavor not in FLAVORS:
        raise InvalidInput(f"unknown flavor {flavor!r}", f"choose one of {', '.join(FLAVORS)}")
    if isinstance(nodes, bool) or not isinstance(nodes, int) or not 1 <= nodes <= 5000:
        raise InvalidInput(f"nodes must be a whole number from 1 to 5000, not {nodes!r}", "e.g. nodes=3")
    if backend is not None:
        return _open(backend, nodes, flavor, seed, options)
    chosen = os.environ.get("LABKIT_BACKEND") or "sim"
    if chosen == "sim":
        return _open("sim", nodes, flavor, seed, options)
    if chosen not in BACKENDS:
        raise InvalidInput(f"unknown backend {chosen!r} in $LABKIT_BACKEND", f"choose one of {', '.join(BACKENDS)}")
    if flavor is not None:
        serves = SERVES.get(chosen, {})
        if flavor not in serves:  # e.g. a Swarm lesson while LABKIT_BACKEND=kubernetes
            print(f"labkit: LABKIT_BACKEND={chosen} has no {flavor}; this part runs on the simulator.")
            return _open("sim", nodes, flavor, seed, _sim_options(options))
        chosen = serves[flavor]
    try:
        return _open(chosen, nodes, flavor, seed, options)
    except Unavailable as error:
        if os.environ.get("LABKIT_STRICT") == "1":  # CI: running on the simulator instead would hide this
            raise
        print(f"labkit: the {chosen} backend is not reachable here ({error.message}); "
              "this lesson runs on the simulator instead.")
        return _open("sim", nodes, flavor, seed, _sim_options(options))


def _sim_options(options: dict) -> dict:
    """The options that mean the same on the simulator (the rest name real machines)."""
    return {k: v for k, v in options.items() if k in ("managers", "init", "name")}


def _open(backend: str, nodes: int, flavor: str | None, seed: int, options: dict) -> "Cluster":
    factory = _backend_class(backend)
    return Cluster(factory(nodes=nodes, flavor=flavor, seed=seed, **options), seed=seed)


def _backend_class(backend: str) -> Callable[..., Backend]:
    """The class of one of BACKENDS, imported only when asked for: `import labkit` must not load
    the docker or kubernetes client."""
    match backend:
        case "sim":
            from .backends.sim import SimBackend
            return SimBackend
        case "docker":
            from .backends.docker.engine import DockerBackend
            return DockerBackend
        case "swarm":
            from .backends.docker.swarm import SwarmBackend
            return SwarmBackend
        case "kubernetes":
            from .backends.kubernetes.backend import KubernetesBackend
            return KubernetesBackend
    raise InvalidInput(f"unknown backend {backend!r}", f"choose one of {', '.join(BACKENDS)}")




class Cluster:
    """A cluster of nodes running workloads; see `labkit.connect`."""

    def __init__(self, backend: Backend, seed: int = 0) -> None:
        self.backend = backend
        self._rng = random.Random(seed)
        self._listeners: list[Callable[[ClusterState], None]] = []
        # (time, workload statuses) at every change: each instant on a small simulated cluster, each
        # step of wait()/run() otherwise (see _observer); what rollout plots and tables read
        self.timeline: list[tuple[float, tuple[WorkloadStatus, ...]]] = []
        self._big = False  # more replicas than BIG_TIMELINE: the timeline is sampled, not complete
        self._failed: set[str] = set()  # nodes switched off through this facade
        self._recovered: set[str] = set()  # nodes switched back on, until the engine sees them ready
        self._next_notice = 0.0  # wall-clock time before which steps of time are not told
        self._traffic: list[traffic.Traffic] = []  # requests still being sent (cluster.traffic)
        self.traffic_log: list[traffic.Traffic] = []  # every traffic record, the last 50 (what checks read)
        # when the simulator's clock catches up with the wall clock (labkit.timekeeping: the one rule)
        self.timekeeper = timekeeping.Timekeeper()
        self._inside = 0  # > 0 while the facade moves time or tells of a change: no catch-up then

    # -- looking -------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.backend.name

    @property
    def flavor(self) -> str:
        return self.backend.flavor

    def about(self) -> str:
        """One line: what runs underneath (the simulator or which real engine, and its version),
        and, on the simulator, that its time is compressed."""
        if self.live:
            return f"This runs on {self.backend.engine}."
        return (f"This runs on {self.backend.engine}. Its time is virtual: `run(300)` passes five minutes "
                "of cluster time in a moment.")

    @property
    def live(self) -> bool:
        """True when time passes by itself (real engines); False on the simulator."""
        return not self.backend.simulated

    def state(self) -> ClusterState:
        self.catch_up()
        return self.backend.state()

    def events(self, since: float = 0.0) -> list[Event]:
        self.catch_up()
        return self.backend.events(since)

    def now(self) -> float:
        self.catch_up()
        return self.backend.now()

    def ps(self, workload: str | None = None) -> "Table":
        """Every replica and container, one line each (like `docker ps -a` / `kubectl get pods`)."""
        rows = [(r.name, r.workload or "-", r.node or "<none>", r.image, _status(r), str(r.restarts))
                for r in sorted(self.state().replicas, key=lambda r: (r.workload, r.name))
                if workload is None or r.workload == workload]
        return Table(("NAME", "WORKLOAD", "NODE", "IMAGE", "STATUS", "RESTARTS"), rows)

    @property
    def nodes(self) -> list[str]:
        return [n.name for n in self.state().nodes]

    def workload(self, name: str) -> "Workload":
        self._known_workload(name)
        return Workload(self, name)

    @property
    def workloads(self) -> list["Workload"]:
        return [Workload(self, w.name) for w in self.state().workloads]

    def on_change(self, callback: Callable[[ClusterState], None]) -> Callable[[], None]:
        """Call `callback(state)` after every change made through this facade and every
        step of simulated time; returns a function that stops the calls."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def summaries(self) -> tuple[WorkloadStatus, ...]:
        """Every workload's status alone: cheaper than a full snapshot where the backend can."""
        self.catch_up()
        if isinstance(self.backend, Summaries):
            return tuple(self.backend.workloads())
        return self.state().workloads

    def notice_change(self) -> None:
        """The cluster changed outside the facade (a command typed in a terminal): record the
        timeline and tell the views now."""
        self._changed()

    def _changed(self, step: bool = False) -> None:
        """Record the timeline and tell the listeners. A `step` of time passing is told
        at most every 50 ms of wall time (longer when a snapshot is slow to take, as at
        150,000 pods); a change made through the facade is always told. No catch-up with the
        wall clock meanwhile: what a listener reads is the change it is told of."""
        with self._no_catch_up():
            self._record()
            if not self._listeners or (step and time.monotonic() < self._next_notice):
                return
            started = time.monotonic()
            state = self.state()
            self._next_notice = time.monotonic() + max(0.05, 3 * (time.monotonic() - started))
            for callback in list(self._listeners):
                callback(state)

    def _record(self) -> None:
        """Add the workloads to the timeline if they changed; send the traffic due."""
        if self._traffic:
            self._pump_traffic()
        workloads = self.summaries()
        if workloads and (not self.timeline or self.timeline[-1][1] != workloads):
            self.timeline.append((self.now(), workloads))
            del self.timeline[:-20000]
            self._big = sum(w.current for w in workloads) > BIG_TIMELINE

    # -- traffic -----------------------------------------------------------------------
    def expose(self, name: str, port: int = 8080) -> None:
        """Give workload `name` a stable address that spreads requests over its ready replicas:
        a Kubernetes Service (NodePort, the pods' port 80 on `port`), a port Swarm's routing
        mesh publishes (on the real playground, each task's port: see labkit.traffic_live).
        Plain Docker publishes ports as containers start (`deploy(..., ports=["8080:80"])`)."""
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise InvalidInput(f"port must be a whole number from 1 to 65535, not {port!r}", "e.g. port=8080")
        self._known_workload(name)
        self._exposing("expose").expose(name, port)
        self._changed()

    def traffic(self, name: str, rate: float = 50, seconds: float = 120, via: str | None = None) -> "traffic.Traffic":
        """Send `rate` requests a second to the service that exposes `name`, for `seconds` of
        cluster time from now, and record every answer (see `labkit.traffic`). On the simulator
        the requests go out as time passes (`run`, `wait`); on a real Docker engine or swarm
        they are real HTTP requests, sent by a background thread in real time
        (`labkit.traffic_live`). The returned record fills as they are answered. `via`: on a
        simulated swarm, the node whose published port every request goes to (the routing
        mesh answers on every node's port, whichever node runs the tasks)."""
        rate, seconds = traffic.check_rate(rate, seconds)
        self._known_workload(name)
        service = self._exposing("traffic").service(name)
        if service is None:
            if self.flavor == "docker":
                raise NotFound(f"{name!r} publishes no port: traffic needs an address to send requests to",
                               f"deploy it with a port: cluster.deploy({name!r}, ..., ports=['80'])")
            typed = (f"docker service update --publish-add 8080:80 {name}" if self.flavor == "swarm" else
                     f"kubectl expose deployment {name} --port=8080 --target-port=80")
            raise NotFound(f"nothing exposes {name!r}: traffic needs a service to send requests to",
                           f"cluster.expose({name!r}, port=8080) first ({typed})")
        if via is not None:
            if self.flavor != "swarm" or isinstance(self.backend, Routes):
                raise Refused("via= is the routing mesh's: a simulated swarm answers on every node's published port",
                              "labkit.connect('sim', flavor='swarm'), then cluster.traffic(name, via='node-1')")
            self._known_node(via)  # NotFound, with the closest name there is
            service = dataclasses.replace(service, via=via)
        seed = self._rng.randrange(2 ** 32)
        if isinstance(self.backend, Routes):  # a real engine: real requests, in real time
            from .traffic_live import LiveTraffic
            backend = self.backend
            record = LiveTraffic(service, rate, seconds, lambda: backend.targets(name), backend.now, seed)
        else:
            record = traffic.Traffic(service, rate, seconds, self.state(), frozenset(self._failed), seed=seed)
        record.cluster = self
        self._traffic.append(record)
        self.traffic_log = self.traffic_log[-49:] + [record]
        return record

    def _pump_traffic(self) -> None:
        """Send the requests due by now, on every active traffic record."""
        self._traffic = [t for t in self._traffic if not t.done]
        if self._traffic:
            now, state, off = self.now(), self.state(), frozenset(self._failed)
            for record in self._traffic:
                sent = len(record.requests)
                record.observe(now, state, off)
                if isinstance(self.backend, Meters):
                    self.backend.answered(record.requests[sent:])

    def _observer(self) -> Callable[[], None] | None:
        """What the simulator calls after each instant at which something happened, so that a
        rollout's briefest step is in the timeline; None above BIG_TIMELINE replicas, where the
        timeline is sampled at each step of run()/wait() (at 150,000 pods a record per instant
        would cost more than the simulation itself)."""
        return None if self._big else self._record

    # -- workloads -----------------------------------------------------------
    def deploy(self, name: str, image: str, replicas: int = 1, *, env: dict | None = None,
               ports: Iterable[str] = (), network: str | None = None,
               labels: dict | None = None, cpu: int = 0, memory: int = 0,
               readiness: bool | float = False, pre_stop: float = 0, **strategy) -> "Workload":
        """Create a workload of `replicas` copies of `image` (returns at once; see `wait`).

        `readiness=True` checks each replica with GET /ready every second before it counts:
        a readiness probe on Kubernetes (no requests until it passes), a healthcheck on
        Swarm (the task is "starting", out of the routing mesh, until healthy) and Docker.
        A number instead of True is the seconds between two checks.
        `pre_stop=5` (Kubernetes only): a replica told to stop keeps serving 5 s more before its
        SIGTERM (a preStop sleep hook), so the Service's proxies have forgotten it by then."""
        env = validate.env(env)
        spec = DeploySpec(
            name=validate.name(name, flavor=self.flavor), image=validate.image(image),
            replicas=validate.replicas(replicas, self.backend.max_replicas, self.backend.name), env=env,
            ports=tuple(ports), network=network, labels=dict(labels or {}),
            strategy=make_strategy(**strategy), cpu=validate.resource(cpu, "cpu", "millicores"),
            memory=validate.resource(memory, "memory", "MiB"), probe=probe(readiness),
            pre_stop=validate.pre_stop(pre_stop, self.flavor))
        if self.state().workload(name):
            raise AlreadyExists(f"a workload named {name!r} already exists",
                                f"pick another name, or use cluster.workload({name!r}).update(...)")
        self.backend.deploy(spec)
        self._changed()
        return Workload(self, name)

    # -- plain containers (lesson 1: `docker run`, nothing watching) ---------------
    def run_container(self, image: str, name: str | None = None, restart: str = "no") -> str:
        """Start one container on its own, as `docker run -d` does; returns its name.

        `restart` is Docker's restart policy: "no" (the default: a crash stays
        a crash), "on-failure", "always" or "unless-stopped".
        """
        image = validate.image(image)
        if restart not in RESTART_POLICIES:
            raise InvalidInput(f"unknown restart policy {restart!r}", f"use one of {', '.join(RESTART_POLICIES)}")
        taken = {r.name for r in self.state().replicas}
        if name is None:
            base = image.split("/")[-1].split(":")[0].split("@")[0]
            name = next(f"{base}-{i}" for i in range(1, len(taken) + 2) if f"{base}-{i}" not in taken)
        elif validate.name(name, "container name", "kubernetes" if self.flavor == "kubernetes" else "docker") in taken:
            raise AlreadyExists(f"a container named {name!r} already exists",
                                f"remove it with cluster.remove_container({name!r}) or pick another name")
        self.backend.run_container(name, image, restart)
        self._changed()
        return name

    def start_container(self, name: str) -> None:
        """Start a stopped or crashed container again, by hand."""
        self.backend.start_container(self._known_container(name))
        self._changed()

    def remove_container(self, name: str) -> None:
        self.backend.remove_container(self._known_container(name))
        self._changed()

    def stop_container(self, name: str, kill: bool = False) -> None:
        """Stop a container by hand (`docker stop`; `kill=True`: `docker kill`, exit code 137).
        Its restart policy leaves it stopped until start_container()."""
        backend = self._able(StopsContainers, "stopping a container by hand", lesson=False)
        known = {r.name for r in self.state().replicas}
        if validate.text(name, "container name", "web-1") not in known:
            raise NotFound(f"no container named {name!r}", _closest(name, sorted(known)))
        backend.stop_container(name, exit_code=137 if kill else 0)
        self._changed()

    def _known_container(self, name: str) -> str:
        validate.text(name, "container name", "web-1")
        names = [r.name for r in self.state().replicas if not r.workload]
        if name not in names:
            raise NotFound(f"no container named {name!r}", _closest(name, names))
        return name

    # -- nodes and failures ------------------------------------------------------
    def fail_node(self, name: str) -> None:
        """Switch a node off, as if its power failed."""
        node = self._known_node(name)
        others = [n for n in self.state().nodes if n.ready and n.role != "control-plane"
                  and n.name != node and n.name not in self._failed]
        if not others and self.flavor != "docker":
            raise Refused(f"{node} is the last working node: failing it leaves nothing to heal onto",
                          "add nodes with labkit.connect(nodes=3), or fail another node")
        self.backend.fail_node(node)
        self._failed.add(node)
        self._recovered.discard(node)
        self._changed()

    def recover_node(self, name: str) -> None:
        node = self._known_node(name)
        self.backend.recover_node(node)
        if node in self._failed:
            self._recovered.add(node)
        self._failed.discard(node)
        self._changed()

    def drain(self, name: str) -> None:
        """Move every replica off a node and keep new ones away (`kubectl drain`)."""
        self.backend.drain(self._known_node(name))
        self._changed()

    def uncordon(self, name: str) -> None:
        self.backend.uncordon(self._known_node(name))
        self._changed()

    def pause_node(self, name: str) -> None:
        """Swarm: no new tasks on the node, and the running ones stay
        (`docker node update --availability pause`); uncordon() makes it active again."""
        self._able(PausesNodes, "pausing a node", lesson=False).pause_node(self._known_node(name))
        self._changed()

    def kill_replica(self, name: str | None = None) -> str:
        """Kill one replica's container; a random running one when `name` is None."""
        replicas = [r for r in self.state().replicas
                    if r.phase == "running" and r.ready and r.node not in self._failed]
        if name is None:
            if not replicas:
                raise NotFound("there is no running replica to kill", "deploy something first")
            name = self._rng.choice(sorted(r.name for r in replicas))
        elif validate.text(name, "replica name", "my-web-server-7d4b9-x2k8q") not in {r.name for r in self.state().replicas}:
            raise NotFound(f"no replica named {name!r}", _closest(name, [r.name for r in replicas]))
        killed = self.backend.kill_replica(name)
        self._changed()
        return killed

    # -- time --------------------------------------------------------------------
    def run(self, seconds: float) -> ClusterState:
        """Let `seconds` of cluster time pass (instant on the simulator)."""
        seconds = validate.seconds(seconds, "seconds")
        self.catch_up()
        self._pass(seconds)
        return self.state()

    def _pass(self, seconds: float) -> None:
        """Move the clock `seconds` on, in steps the timeline and the views can follow."""
        step = max(seconds / 50, 0.5) if self._listeners else seconds
        if self._traffic and self._big:  # no record per instant: the traffic's endpoints looked at every second
            step = min(step, 1.0)
        with self._moving():
            end = self.backend.now() + seconds
            while self.backend.now() < end - 1e-9:
                self.backend.advance(min(step, end - self.backend.now()), self._observer())
                self._changed(step=True)
            self._changed()

    def catch_up(self, speed: float = 1.0, *, tick: bool = False) -> float:
        """Bring the simulator's clock up to the wall clock, by the rule of labkit.timekeeping
        (the wall time since it was last up to date, times `speed`, at most ten minutes; nothing
        with $LABKIT_CLOCK=still, while time is held, or on a real cluster, whose time is real).
        Every read and verb of the facade does it first; returns the cluster seconds passed.

            cluster.deploy("web", image="web-server:1")
            time.sleep(5)                # a student reading
            cluster.catch_up()           # 5.0: the pods have started meanwhile
        """
        if self._inside or self.live or (threading.current_thread() is not threading.main_thread() and not tick):
            # inside a move or a notice; a view's timer thread never moves the clock. A view's tick
            # (`tick`) may come on the kernel's message thread (ipykernel 7 handles a widget's
            # messages off the main thread when it is idle), one message at a time, never beside a cell.
            return 0.0
        seconds = self.timekeeper.due(speed)
        if seconds > 0:
            self._pass(seconds)
        return seconds

    @property
    def follows_wall_clock(self) -> bool:
        """Whether the simulator's clock catches up with the wall clock now (see catch_up)."""
        return not self.live and self.timekeeper.follows_wall

    def hold_time(self) -> None:
        """Hold the simulator's clock: from here it moves only when a cell moves it (run, wait, a
        command that waits), not with the wall clock, until release_time(). For a lesson that shows
        an instant (a node NotReady whose pods are not yet evicted): it stays true however long the
        student reads. Holds nest; on a real cluster, whose time is real, this does nothing.

            cluster.hold_time()
            ...                          # cells that look at this instant
            cluster.release_time()
        """
        self.timekeeper.hold()
        self._changed()  # the views stop ticking

    def release_time(self) -> None:
        """End a hold_time(): the clock follows the wall clock again, from now (the time spent held
        is not replayed)."""
        self.timekeeper.release()
        self._changed()

    @contextmanager
    def held(self) -> Iterator["Cluster"]:
        """`with cluster.held():` holds the clock for the block (see hold_time)."""
        self.hold_time()
        try:
            yield self
        finally:
            self.release_time()

    @contextmanager
    def _no_catch_up(self) -> Iterator[None]:
        self._inside += 1
        try:
            yield
        finally:
            self._inside -= 1

    @contextmanager
    def _moving(self) -> Iterator[None]:
        """The facade moves the clock itself: no catch-up meanwhile, and up to date afterwards
        (the wall time the move took is not counted again)."""
        try:
            with self._no_catch_up():
                yield
        finally:
            self.timekeeper.synced()

    def wait(self, timeout: float = 600, until: Callable[[ClusterState], bool] | None = None,
             step: float = 0.5) -> ClusterState:
        """Let time pass until the cluster has converged (or `until(state)` holds).

        Converged means every workload has its desired replicas, all ready and up to
        date, *and* the engine has reacted to every node failed through `fail_node`
        and not recovered: the node is seen down and none of its replicas is reported
        running and ready any more (they are gone, terminating or marked not ready).
        Right after a failure the old replicas still look healthy, because nobody has
        noticed yet: Kubernetes marks the node NotReady after its grace period and
        replaces the pods after the eviction timeout; Swarm's managers notice the
        missed heartbeats within seconds. On one Docker host nothing replaces what
        was lost, so a workload there cannot converge until the host is back.

            cluster.fail_node("node-2")
            cluster.wait()          # returns once node-2's work has moved

        Raises `labkit.Timeout` with what is still missing after `timeout`
        seconds of cluster time.
        """
        if until is None:
            def settled() -> bool:
                if not converged(self.summaries()):
                    return False
                if not (self._failed or self._recovered):
                    return True
                state = self.state()  # one snapshot for both: a replica counted on a failed node
                return state.converged and not self._unnoticed(state)  # must not pass for a new one
            return self._wait_for(settled, timeout, step)
        return self._wait_for(lambda: until(self.state()), timeout, step)

    def _unnoticed(self, state: ClusterState) -> list[str]:
        """Nodes failed or recovered through this facade that the engine has not yet
        reacted to: a failed node still seen up or running work, a recovered one not
        yet seen ready (a Swarm node takes seconds to rejoin after its machine is back)."""
        def noticed(name: str) -> bool:
            node = state.node(name)
            return node is None or not node.ready and not any(
                r.phase == "running" and r.ready for r in state.replicas_on(name))
        self._recovered -= {n.name for n in state.nodes if n.ready}
        return ([f"{name} failed but is not yet seen down by the cluster"
                 for name in sorted(self._failed) if not noticed(name)]
                + [f"{name} is back on but not yet seen ready by the cluster" for name in sorted(self._recovered)])

    def _wait_for(self, done: Callable[[], bool], timeout: float, step: float = 0.5) -> ClusterState:
        timeout = validate.seconds(timeout, "timeout")
        deadline = self.now() + timeout  # now() catches up first: waiting starts from the wall clock's now
        with self._moving():
            while not done():
                if self.now() >= deadline:
                    self._changed()
                    state = self.state()
                    raise Timeout(f"not converged after {timeout:g} s: {_missing(state, self._unnoticed(state))}",
                                  "look at cluster.events() for Warnings, or wait longer: cluster.wait(timeout=...)")
                self.backend.advance(min(step, max(deadline - self.now(), 1e-3)), self._observer())
                self._changed(step=True)
            self._changed()
        return self.state()

    # -- the control plane (simulator) ----------------------------------------------------
    def stop_component(self, name: str, node: str | None = None, *, quiet: bool = False) -> None:
        """Stop one part of the control plane ("scheduler", "controller-manager", "etcd",
        "api-server") or a node's "kubelet", to see what breaks. Simulator only. `quiet`
        leaves no event that names it (a mystery for the student to diagnose)."""
        self.catch_up()
        self._able(Components, "stop_component").stop_component(name, node, quiet=quiet)
        self._changed()

    def start_component(self, name: str, node: str | None = None) -> None:
        self.catch_up()
        self._able(Components, "start_component").start_component(name, node)
        self._changed()

    def add_node(self, role: str = "worker") -> str:
        """A new machine joins the cluster (`minikube node add`, `docker swarm join`)."""
        if role not in ("worker", "manager"):
            raise InvalidInput(f"role must be 'worker' or 'manager', not {role!r}",
                               "add_node() adds a worker; add_node('manager') a Swarm manager")
        self.catch_up()
        name = self._able(Machines, "add_node").add_node(role=role)
        self._changed()
        return name

    def _exposing(self, what: str) -> Exposes:
        if not isinstance(self.backend, Exposes):
            raise Refused(f"the {self.name} backend gives workloads no address for {what}",
                          "use labkit.connect('sim') for it")
        return self.backend

    def _able(self, capability: type, what: str, lesson: bool = True):
        """The backend, if it has `capability` (a protocol of labkit.backends.base); else Refused.
        A `lesson` is what only the simulator lets a student break; other verbs a real engine
        has are simply not wired to labkit's backend for it yet."""
        if not isinstance(self.backend, capability):
            why = (f"{what} is a simulator lesson: a real {self.name} cluster is not ours to break that way"
                   if lesson else f"labkit's {self.name} backend has no {what} yet")
            raise Refused(why, "use labkit.connect('sim') for it")
        return self.backend

    # -- housekeeping ----------------------------------------------------------
    def reset(self) -> None:
        """Remove every workload, container and node that labkit made; nothing else."""
        for record in self._traffic:
            record.stop()
        self.backend.reset()
        self._traffic.clear()
        self.traffic_log.clear()
        self._failed.clear()
        self._recovered.clear()
        self._changed()

    def close(self) -> None:
        for record in self._traffic:
            record.stop()
        self.backend.close()

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def view(self, **options):
        """A live picture of the nodes and replicas (a widget; static HTML where none can show)."""
        from .views import ClusterView
        return ClusterView(self, **options)

    def _repr_html_(self) -> str:
        from .views.static import cluster_html
        return cluster_html(self.state())

    def __repr__(self) -> str:
        s = self.state()
        return (f"<Cluster {self.name}/{self.flavor}: {len(s.nodes)} nodes, "
                f"{len(s.workloads)} workloads, {s.count()} running replicas>")

    def _known_node(self, name: str) -> str:
        validate.text(name, "node name", "node-1")
        names = self.nodes
        if name not in names:
            raise NotFound(f"no node named {name!r}", _closest(name, names))
        return name

    def _known_workload(self, name: str) -> WorkloadStatus:
        validate.text(name, "workload name", "my-web-server")
        state = self.state()
        found = state.workload(name)
        if found is None:
            raise NotFound(f"no workload named {name!r}", _closest(name, [w.name for w in state.workloads]))
        return found


class Workload:
    """A handle on one deployment / service / group of containers."""

    def __init__(self, cluster: Cluster, name: str) -> None:
        self.cluster = cluster
        self.name = name

    @property
    def _backend(self) -> Backend:
        return self.cluster.backend

    def status(self) -> WorkloadStatus:
        return self.cluster._known_workload(self.name)

    def replicas(self) -> list[Replica]:
        return self.cluster.state().replicas_of(self.name)

    def _act(self, operation: Callable[..., None], *args) -> "Workload":
        """Check the workload still exists, ask the backend (`operation`, one of its verbs, with
        this workload's name and `args`), tell the views."""
        self.status()
        operation(self.name, *args)
        self.cluster._changed()
        return self

    def scale(self, replicas: int) -> "Workload":
        backend = self._backend
        return self._act(backend.scale, validate.replicas(replicas, backend.max_replicas, backend.name))

    def update(self, image: str, **strategy) -> "Workload":
        """Roll out a new image (Kubernetes: max_surge, max_unavailable, type;
        Swarm: parallelism, delay, order, failure_action, monitor)."""
        return self._act(self._backend.update, validate.image(image), make_strategy(**strategy))

    def rollback(self) -> "Workload":
        """Go back to the previous revision (`kubectl rollout undo`, `docker service rollback`)."""
        return self._act(self._backend.rollback)

    def pause(self) -> "Workload":
        return self._act(self._backend.pause)

    def resume(self) -> "Workload":
        return self._act(self._backend.resume)

    def delete(self) -> None:
        self._act(self._backend.delete)

    def history(self) -> list[tuple[int, str]]:
        self.status()
        return self._backend.history(self.name)

    def canary(self, image: str, percent: float = 10) -> "Workload":
        """Send `percent` of the replicas to `image` as a second workload `<name>-canary`
        behind the same app label (the Kubernetes way); `promote()` or `abort()` ends it."""
        image = validate.image(image)
        percent = validate.percentage(percent)
        status = self.status()
        canary_name = self.name + CANARY_SUFFIX
        if self.cluster.state().workload(canary_name):
            raise AlreadyExists(f"{self.name} already has a canary running",
                                f"call cluster.workload({self.name!r}).promote() or .abort() first")
        validate.name(canary_name, "canary name", self.cluster.flavor)
        total = status.desired
        count = max(1, round(total * percent / 100))
        if count >= total:
            raise Refused(f"{self.name} has {total} replica(s): a {percent:g} % canary would leave none on the "
                          "stable image", f"scale it up first, e.g. .scale(10), then .canary({image!r}, {percent:g})")
        self.cluster.deploy(canary_name, image, replicas=count,
                            labels={"app": self.name, "track": "canary"})
        self.scale(max(total - count, 0))
        return Workload(self.cluster, canary_name)

    def promote(self) -> "Workload":
        """The canary looked good: roll the new image out to all and remove the canary."""
        canary = self._canary()
        total = self.status().desired + canary.desired
        self.scale(total)
        self.update(canary.image)
        self._backend.delete(canary.name)
        self.cluster._changed()
        return self

    def abort(self) -> "Workload":
        """The canary looked bad: remove it and give its share back to the stable image."""
        canary = self._canary()
        self._backend.delete(canary.name)
        self.scale(self.status().desired + canary.desired)
        return self

    def _canary(self) -> WorkloadStatus:
        canary = self.cluster.state().workload(self.name + CANARY_SUFFIX)
        if canary is None:
            raise NotFound(f"{self.name} has no canary", "start one with .canary(image, percent=10)")
        return canary

    def wait(self, timeout: float = 600, away_from: str | None = None) -> WorkloadStatus:
        """Let time pass until this workload has converged (and, with `away_from`, until
        none of its replicas runs on that node any more: a failed node's work has moved)."""
        def done() -> bool:
            mine = tuple(w for w in self.cluster.summaries() if w.name == self.name)
            if not (mine and converged(mine)):
                return False
            if away_from is None:
                return True
            state = self.cluster.state()
            up = {n.name for n in state.nodes if n.ready}
            replicas = state.replicas_of(self.name)
            moved = [r for r in replicas if r.phase == "running" and r.ready and r.node in up]
            return len(moved) >= mine[0].desired and not any(
                r.node == away_from and r.phase == "running" for r in replicas)
        if away_from is not None:
            self.cluster._known_node(away_from)
        self.cluster._wait_for(done, timeout)
        return self.status()

    def rollout_plot(self, **options):
        """A matplotlib figure of the last rollout: old and new replicas over time."""
        from .views.rollout import rollout_figure
        return rollout_figure(self.cluster, self.name, **options)

    def __repr__(self) -> str:
        w = self.status()
        return (f"<Workload {w.name}: {w.image}, {w.ready}/{w.desired} ready, "
                f"{w.updated} up-to-date, rollout {w.rollout}>")


STRATEGY_OPTIONS = ("type", "max_surge", "max_unavailable", "min_ready_seconds", "parallelism", "delay",
                    "order", "failure_action", "monitor", "max_failure_ratio")


def probe(readiness: object) -> Probe | None:
    """`readiness=` of deploy: False (none), True (GET /ready every second) or the seconds
    between two checks."""
    if readiness is False:
        return None
    if readiness is True:
        return Probe()
    if isinstance(readiness, (int, float)) and not isinstance(readiness, bool) and 0.5 <= readiness <= 300:
        return Probe(period=float(readiness))
    raise InvalidInput(f"readiness must be True, False or the seconds between two checks (0.5 to 300), "
                       f"not {readiness!r}", "readiness=True checks GET /ready every second before a replica "
                       "gets requests")


def make_strategy(**options) -> UpdateStrategy:
    """Check the rollout options a student may pass and bundle them."""
    for key in options:
        if key not in STRATEGY_OPTIONS:
            match = difflib.get_close_matches(key.lower().replace("-", "_"), STRATEGY_OPTIONS, n=1, cutoff=0.5) \
                or [o for o in STRATEGY_OPTIONS if o.replace("_", "") == key.lower()]
            if key == "replicas":
                raise InvalidInput("update() changes the image, not the number of replicas",
                                   "use .scale(n) for that")
            raise InvalidInput(f"unknown rollout option {key!r}",
                               f"did you mean {match[0]!r}?" if match else f"options: {', '.join(STRATEGY_OPTIONS)}")
    return _strategy(**options)


def _strategy(type: str | None = None, max_surge=None, max_unavailable=None,
              min_ready_seconds=None, parallelism=None, delay=None, order=None,
              failure_action=None, monitor=None, max_failure_ratio=None) -> UpdateStrategy:
    if type not in (None, "RollingUpdate", "Recreate"):
        raise InvalidInput(f"unknown strategy type {type!r}", "use 'RollingUpdate' or 'Recreate'")
    if max_surge is not None:
        max_surge = validate.percent_or_int(max_surge, "max_surge")
    if max_unavailable is not None:
        max_unavailable = validate.percent_or_int(max_unavailable, "max_unavailable")
    if max_surge in (0, "0%") and max_unavailable in (0, "0%"):
        raise InvalidInput("max_surge and max_unavailable cannot both be 0: the rollout could never start",
                           "allow one extra replica (max_surge=1) or one missing (max_unavailable=1)")
    if parallelism is not None and (isinstance(parallelism, bool) or not isinstance(parallelism, int)
                                    or parallelism < 0):
        raise InvalidInput(f"parallelism must be a whole number >= 0, not {parallelism!r}",
                           "1 updates one task at a time; 0 updates all at once")
    if order not in (None, "stop-first", "start-first"):
        raise InvalidInput(f"order must be 'stop-first' or 'start-first', not {order!r}",
                           "stop-first stops an old task before its replacement starts; start-first overlaps them")
    if failure_action not in (None, "pause", "rollback", "continue"):
        raise InvalidInput(f"failure_action must be 'pause', 'rollback' or 'continue', not {failure_action!r}",
                           "what Swarm does when an updated task fails: 'pause' is its default")
    if max_failure_ratio is not None and (isinstance(max_failure_ratio, bool) or not (
            isinstance(max_failure_ratio, (int, float)) and 0 <= max_failure_ratio <= 1)):
        raise InvalidInput(f"max_failure_ratio must be between 0 and 1, not {max_failure_ratio!r}",
                           "e.g. 0.2 tolerates one failed task in five")
    return UpdateStrategy(
        type=type, max_surge=max_surge, max_unavailable=max_unavailable,
        min_ready_seconds=None if min_ready_seconds is None else validate.seconds(min_ready_seconds, "min_ready_seconds"),
        parallelism=parallelism, delay=None if delay is None else validate.seconds(delay, "delay"),
        order=order, failure_action=failure_action,
        monitor=None if monitor is None else validate.seconds(monitor, "monitor"),
        max_failure_ratio=max_failure_ratio)


class Table:
    """Rows that print as aligned text columns, the way the real CLIs print them."""

    def __init__(self, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
        self.header, self.rows = header, rows

    def __str__(self) -> str:
        lines = [self.header, *self.rows]
        widths = [max(len(line[i]) for line in lines) for i in range(len(self.header))]
        return "\n".join("   ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines)

    __repr__ = __str__

    def __len__(self) -> int:
        return len(self.rows)


def _status(replica: Replica) -> str:
    if replica.reason and replica.phase != "running":
        return replica.reason
    return replica.phase.capitalize() + ("" if replica.ready or replica.phase != "running" else " (not ready)")


def _closest(name: str, choices: list[str]) -> str:
    match = difflib.get_close_matches(name, choices, n=1)
    if match:
        return f"did you mean {match[0]!r}?"
    return f"choose one of: {', '.join(sorted(choices)[:10])}" if choices else "there are none yet"


def _missing(state: ClusterState, unnoticed: list[str] | tuple = ()) -> str:
    parts = list(unnoticed)
    parts += [f"{w.name} {w.ready}/{w.desired} ready, {w.updated} up-to-date ({w.rollout})"
             for w in state.workloads if not (w.current == w.desired == w.ready == w.updated == w.available)]
    pending = state.count(phase="pending")
    if pending:
        parts.append(f"{pending} replicas pending")
    return "; ".join(parts) or "the condition you gave is still false"
