"""One node's agent: the kubelet (Swarm: the worker's agent) and its container runtime.

It watches the pods bound to its node, pulls images, starts and stops
containers, restarts crashed ones by the pod's restart policy with an
exponential back-off, and reports each step to the API server. When the
node fails, it falls silent: the control plane only learns of it when the
heartbeats stop (see NodeLifecycleController).
"""
from __future__ import annotations

import math
from typing import Callable

from ... import catalog
from ..base import Probe
from .api import APIServer
from .clock import Clock
from .objects import NodeObj, Pod
from .scheduler import unbind

BACKOFF_START, BACKOFF_CAP = 10.0, 300.0  # kubelet's CrashLoopBackOff
# Docker's restart manager (moby restartmanager/restartmanager.go): wait 100 ms, doubling to 1 min,
# back to 100 ms once a container ran for 10 s; RestartCount counts each decision to restart.
DOCKER_BACKOFF_START, DOCKER_BACKOFF_CAP, DOCKER_BACKOFF_RESET = 0.1, 60.0, 10.0
# Then the runtime starts the container again: 'die' to 'start' measured the back-off plus
# 0.33-0.35 s on Debian's Docker Engine 20.10.24 (tests/test_fidelity_docker.py).
DOCKER_RESTART_START = (0.3, 0.4)
# Swarm takes a task that is on a network (the routing mesh's ingress, when its service publishes
# a port) out of the mesh, waits this long for the gossip to spread, and only then stops its
# container (moby daemon/cluster/executor/container/controller.go: Shutdown, hasServiceBinding).
SWARM_GOSSIP_DELAY = 2.0
LOST_POWER_EXIT = 255  # what dockerd records, on its next start, for a container that died with its host
AGENT = {"kubernetes": "kubelet", "swarm": "agent", "docker": "docker-daemon"}  # who reports in each flavor


def first_success(probe: Probe, listens_after: float, health: bool) -> float:
    """Seconds from a container's start to its first passing check. The kubelet probes at
    once and then every period (pkg/kubelet/prober/worker.go); Docker first after one
    interval (daemon/health.go); either passes once the program listens."""
    due = max(listens_after, probe.initial_delay)
    checks = max(math.ceil(due / probe.period - 1e-9), 1 if health else 0)
    return checks * probe.period


class NodeAgent:
    def __init__(self, api: APIServer, clock: Clock, node: NodeObj, heartbeat: float = 0.0) -> None:
        self.api, self.clock, self.node = api, clock, node
        self.heartbeat = heartbeat  # seconds between heartbeats (0: silence counts from the failure itself)
        self.busy: set[str] = set()  # pods with a step in flight
        self.stopping: set[str] = set()  # pods whose container is being stopped
        self.running = True  # the kubelet process (lesson 5 can stop it)
        self.in_mesh: Callable[[Pod], bool] = lambda pod: False  # Swarm: the backend says

    @property
    def alive(self) -> bool:
        return self.node.up and self.running

    def later(self, delay: float, pod: Pod, step) -> None:
        generation = pod.generation
        self.busy.add(pod.name)

        def run() -> None:
            self.busy.discard(pod.name)
            if not (self.alive and pod.generation == generation and self.api.items("pods").get(pod.name) is pod):
                return
            if self.api.reachable:
                step(pod)
            else:  # the API server (or etcd) does not answer: the kubelet retries
                self.later(1.0, pod, step)
        self.clock.call_later(delay, run)

    def on_pod(self, event: str, pod: Pod) -> None:
        if event == "DELETED" or not self.alive:
            return
        if pod.deleting:
            if pod.name not in self.stopping:
                self.stop(pod)
        elif pod.name in self.busy:
            return
        elif pod.phase == "pending" and not pod.container_up and pod.reason not in ("ErrImagePull", "ImagePullBackOff"):
            self.start(pod)

    # -- starting ------------------------------------------------------------------
    def start(self, pod: Pod) -> None:
        image = pod.image
        if image in self.node.images:
            self.later(self.clock.jitter(0.3, 0.8), pod, self.run)
        else:
            self.event(pod, "Pulling", f'Pulling image "{image}"')
            self.later(self.clock.jitter(0.5, 1.5), pod, self.pulled)
        if self.api.flavor == "kubernetes" and not pod.reason:
            pod.reason = "ContainerCreating"  # the kubelet's first status: it has the pod (kubectl: ContainerCreating)
            self.report(pod)

    def pulled(self, pod: Pod) -> None:
        if catalog.lookup(pod.image) is None:
            self.pull_failed(pod)
            return
        self.node.images.add(pod.image)
        self.event(pod, "Pulled", f'Successfully pulled image "{pod.image}"')
        self.later(self.clock.jitter(0.2, 0.5), pod, self.run)

    def pull_failed(self, pod: Pod) -> None:
        message = (f'Failed to pull image "{pod.image}": pull access denied, repository does not exist '
                   "or may require authorization")
        self.event(pod, "Failed", message, "Warning")
        if pod.restart_policy == "Never":  # a Swarm task is rejected; the orchestrator tries again
            pod.phase, pod.reason = "failed", "No such image"
            self.report(pod)
            return
        pod.reason = "ImagePullBackOff" if pod.backoff else "ErrImagePull"
        pod.backoff = min(max(pod.backoff * 2, BACKOFF_START), BACKOFF_CAP)
        self.report(pod)
        self.later(pod.backoff, pod, self.start)

    def run(self, pod: Pod) -> None:
        """The container starts. Its program listens `listens_after` seconds later; with a
        probe, the pod is ready (Kubernetes) or the task running (Swarm) from the first check
        after that, without one from the start, listening or not."""
        probe = pod.template.probe
        health = probe is not None and self.api.flavor != "kubernetes"  # Docker's healthcheck
        pod.container_up, pod.started, pod.listening = True, self.clock.now, False
        pod.phase, pod.reason = "running", ""
        pod.ready, pod.ready_since = probe is None, (self.clock.now if probe is None else None)
        if health and self.api.flavor == "swarm":
            pod.phase, pod.reason = "pending", "Starting"  # swarmkit: STARTING until healthy
        pod.generation += 1
        self.report(pod)
        self.event(pod, "Started", f"Started container {pod.app or pod.name}")
        behaviour = catalog.lookup(pod.image)
        if behaviour and behaviour.crash_after is not None:
            self.later(behaviour.crash_after, pod, lambda p: self.crash(p, behaviour.exit_code))
        delay = catalog.listens_after(pod.image, pod.template.env)
        self.later_quietly(delay, pod, self.listen)
        if probe is not None:
            self.later_quietly(first_success(probe, delay, health), pod, self.probed)

    def listen(self, pod: Pod) -> None:
        pod.listening = True

    def probed(self, pod: Pod) -> None:
        """The first check that passes: ready, in Kubernetes' words; healthy, in Docker's."""
        pod.ready, pod.ready_since = True, self.clock.now
        if pod.phase == "pending":
            pod.phase, pod.reason = "running", ""
        self.report(pod)

    def later_quietly(self, delay: float, pod: Pod, step) -> None:
        """`step` after `delay`, unless the container stopped or restarted meanwhile; unlike
        `later`, the pod is not busy meanwhile (these steps run beside whatever else it does)."""
        generation = pod.generation

        def run() -> None:
            if self.alive and pod.generation == generation and self.api.items("pods").get(pod.name) is pod:
                step(pod)
        self.clock.call_later(delay, run)

    # -- stopping ------------------------------------------------------------------
    def crash(self, pod: Pod, exit_code: int = 1) -> None:
        """The container's process ended by itself (or was killed from outside)."""
        ran = self.clock.now - (pod.started or self.clock.now)
        pod.container_up, pod.listening = False, False
        pod.ready, pod.ready_since = False, None
        pod.generation += 1
        pod.phase = "failed"
        restart = pod.restart_policy == "Always" or (pod.restart_policy == "OnFailure" and exit_code != 0)
        if self.api.flavor == "docker":
            self.docker_exited(pod, exit_code, ran, restart)
            return
        if not restart:
            pod.reason = "Error"
            self.report(pod)
            self.event(pod, "Died", f"container exited with code {exit_code}", "Warning")
            return
        delay = pod.backoff
        pod.backoff = min(max(pod.backoff * 2, BACKOFF_START), BACKOFF_CAP)
        pod.reason = "CrashLoopBackOff" if delay else "Error"
        self.report(pod)
        self.event(pod, "BackOff", "Back-off restarting failed container", "Warning")
        self.later(delay, pod, self.restart)

    def docker_exited(self, pod: Pod, exit_code: int, ran: float, restart: bool) -> None:
        """Docker's words and timings: `Exited (1)`, or `Restarting (1)` for the back-off's wait
        (docker ps), never the kubelet's CrashLoopBackOff."""
        self.event(pod, "Died", f"container exited with code {exit_code}", "Warning")
        if not restart:
            pod.reason = f"Exited ({exit_code})"
            self.report(pod)
            return
        if ran >= DOCKER_BACKOFF_RESET:
            pod.backoff = 0.0
        pod.backoff = min(pod.backoff * 2, DOCKER_BACKOFF_CAP) if pod.backoff else DOCKER_BACKOFF_START
        pod.restarts += 1
        pod.phase, pod.reason = "pending", "Restarting"
        wait = pod.backoff + self.clock.jitter(*DOCKER_RESTART_START)
        self.later(wait, pod, self.run)  # before the report: the pod is busy, nothing else starts it
        self.report(pod)

    def restart(self, pod: Pod) -> None:
        pod.restarts += 1
        self.run(pod)

    def stop(self, pod: Pod) -> None:
        """Stop the container (whatever step was in flight) and then remove the pod."""
        was_up = pod.container_up
        pod.generation += 1  # drops any start or restart still waiting
        self.stopping.add(pod.name)
        if was_up and self.api.flavor == "swarm" and self.in_mesh(pod):  # out of the mesh, 2 s, then stop
            self.later(SWARM_GOSSIP_DELAY, pod, self.kill)
        else:
            self.kill(pod)

    def kill(self, pod: Pod) -> None:
        was_up = pod.container_up
        pod.container_up, pod.listening = False, False
        if was_up:
            self.event(pod, "Killing", f"Stopping container {pod.app or pod.name}")
        self.later(self.clock.jitter(0.3, 1.0) if was_up else 0.1, pod, self.removed)

    def removed(self, pod: Pod) -> None:
        self.stopping.discard(pod.name)
        if self.api.flavor == "swarm" and pod.slot and pod.owner in self.api.items("services"):
            # A Swarm task that was shut down stays in its slot's history (`docker service ps`:
            # "\_ web.1 ... Shutdown  Shutdown 5 seconds ago") until the history limit drops it;
            # its room on the node is free.
            pod.phase, pod.reason, pod.ready = "succeeded", "Shutdown", False
            unbind(self.api, pod)
            self.api.write("pods", pod)
            return
        self.api.remove("pods", pod.name)

    def report(self, pod: Pod) -> None:
        """Tell the API server about a pod's new status; while it does not answer the
        container still does what it does, and the next report carries the news."""
        if self.api.reachable:
            self.api.write("pods", pod)
        else:
            self.clock.call_later(1.0, lambda: self._report_again(pod))

    def _report_again(self, pod: Pod) -> None:
        if self.alive and self.api.items("pods").get(pod.name) is pod:
            self.report(pod)

    def event(self, pod: Pod, reason: str, message: str, type: str = "Normal") -> None:
        self.api.record(reason, self.api.ref(pod.name), message, type, source=AGENT[self.api.flavor])

    def docker_restored(self, pod: Pod) -> None:
        """dockerd starting again after its host lost power: a container that was running shows
        `Exited (255)`, unless its policy is always/unless-stopped: dockerd starts it, with a new
        RestartCount (moby: ResetRestartManager on start)."""
        if pod.reason != "HostDown":
            return  # it had exited before the host went down: it stays as it was
        pod.restarts, pod.backoff = 0, 0.0
        if pod.restart_policy == "Always":
            pod.phase, pod.reason = "pending", ""
            self.report(pod)
            self.start(pod)
        else:  # dockerd records the exit as it starts (docker ps: Exited (255) N seconds ago)
            pod.reason = f"Exited ({LOST_POWER_EXIT})"
            self.report(pod)
            self.event(pod, "Died", f"container exited with code {LOST_POWER_EXIT} (its host lost power)", "Warning")

    # -- the node itself -------------------------------------------------------------
    def fail(self) -> None:
        """Power off: containers stop, nothing is reported (docker: the daemon dies with them)."""
        self.node.up = False
        # the last heartbeat came some moment of the last period before the power went
        self.node.silent_since = self.clock.now - (self.clock.jitter(0.0, self.heartbeat) if self.heartbeat else 0.0)
        pods = self.api.items("pods")
        for name in sorted(self.node.pods):
            pod = pods[name]
            was_on = pod.container_up or pod.reason == "Restarting"
            pod.container_up, pod.listening = False, False
            pod.generation += 1
            if self.api.flavor == "docker" and was_on:  # labkit's word while the host is off: no daemon to ask
                pod.phase, pod.ready, pod.reason = "failed", False, "HostDown"
                self.report(pod)
        self.busy.clear()
        self.stopping.clear()

    def recover(self) -> None:
        """Power on: the kubelet registers again, then deals with the pods it finds."""
        self.node.up = True
        self.node.silent_since = None
        if not self.node.ready:
            self.node.ready = True
            self.api.write("nodes", self.node)
            self.api.record("NodeReady", f"node/{self.node.name}",
                            f"Node {self.node.name} status is now: NodeReady", source="kubelet")
        pods = self.api.items("pods")
        for name in sorted(self.node.pods):
            pod = pods[name]
            if pod.deleting:
                self.stopping.discard(name)
                self.stop(pod)
            elif self.api.flavor == "docker":
                self.docker_restored(pod)
            elif not pod.container_up and (pod.restart_policy == "Always" or pod.phase != "failed"):
                if pod.phase == "running":
                    pod.restarts += 1
                pod.phase, pod.ready = "pending", False
                self.report(pod)
                self.start(pod)
