"""One node's agent: the kubelet (Swarm: the worker's agent) and its container runtime.

It watches the pods bound to its node, pulls images, starts and stops
containers, restarts crashed ones by the pod's restart policy with an
exponential back-off, and reports each step to the API server. When the
node fails, it falls silent: the control plane only learns of it when the
heartbeats stop (see NodeLifecycleController).
"""
from __future__ import annotations

import base64
import hashlib
import math
import re
from typing import Callable

from ... import catalog
from ..base import Probe
from . import programs, prober
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
# The kubelet syncs a pod again this long after a sync that failed (a ConfigMap or Secret it needs is
# missing: CreateContainerConfigError), pkg/kubelet/kubelet.go backOffPeriod.
CONFIG_RETRY = 10.0
# The kubelet's next sync of a pod whose pull failed finds the image in back-off: ErrImagePull turns
# ImagePullBackOff (seconds; what `kubectl get pods -w` shows against a real cluster, roughly).
IMAGE_RESYNC = 5.0
WAITING = ("ErrImagePull", "ImagePullBackOff", "CreateContainerConfigError")  # the kubelet retries by itself


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
        elif pod.phase == "pending" and not pod.container_up and pod.reason not in WAITING:
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
            if self.api.flavor == "kubernetes":
                self.image_pull_failed(pod)
            else:
                self.pull_failed(pod)
            return
        self.node.images.add(pod.image)
        self.event(pod, "Pulled", f'Successfully pulled image "{pod.image}"')
        self.later(self.clock.jitter(0.2, 0.5), pod, self.run)

    def image_pull_failed(self, pod: Pod) -> None:
        """The kubelet's image puller (pkg/kubelet/images/image_manager.go): the pull fails with the
        runtime's error (ErrImagePull, containerd's words as the message); the next syncs find the
        image in back-off (ImagePullBackOff, `Back-off pulling image "..."`) until it is pulled
        again after 10 s, 20 s, 40 s... up to 5 minutes, whatever the pod's restart policy."""
        error = catalog.pull_error(pod.image)
        self.event(pod, "Failed", f'Failed to pull image "{pod.image}": {error}', "Warning")
        self.event(pod, "Failed", "Error: ErrImagePull", "Warning")  # kuberuntime_manager's startContainer
        pod.reason, pod.message = "ErrImagePull", error
        pod.backoff = min(max(pod.backoff * 2, BACKOFF_START), BACKOFF_CAP)
        wait = min(IMAGE_RESYNC, pod.backoff)
        self.later(wait, pod, lambda p: self.image_backoff(p, p.backoff - wait))
        self.report(pod)

    def image_backoff(self, pod: Pod, rest: float) -> None:
        self.event(pod, "BackOff", f'Back-off pulling image "{pod.image}"')
        self.event(pod, "Failed", "Error: ImagePullBackOff", "Warning")
        pod.reason, pod.message = "ImagePullBackOff", f'Back-off pulling image "{pod.image}"'
        self.later(rest, pod, self.start)
        self.report(pod)

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
        after that, without one from the start, listening or not. On Kubernetes a public image
        runs its program (programs.py): what it prints, and when it exits."""
        if self.api.flavor == "kubernetes" and catalog.public(pod.image) is not None:
            self.run_program(pod)
            return
        probe = pod.template.probe
        health = probe is not None and self.api.flavor != "kubernetes"  # Docker's healthcheck
        pod.container_up, pod.started, pod.listening = True, self.clock.now, False
        pod.phase, pod.reason = "running", ""
        pod.ready, pod.ready_since = probe is None, (self.clock.now if probe is None else None)
        if health and self.api.flavor == "swarm":
            pod.phase, pod.reason = "pending", "Starting"  # swarmkit: STARTING until healthy
        pod.generation += 1
        self.report(pod)
        self.event(pod, "Started", f"Started container {container_name(pod)}")
        behaviour = catalog.lookup(pod.image)
        if behaviour and behaviour.crash_after is not None:
            self.later(behaviour.crash_after, pod, lambda p: self.crash(p, behaviour.exit_code))
        delay = catalog.listens_after(pod.image, pod.template.env)
        self.later_quietly(delay, pod, self.listen)
        if probe is not None:
            self.later_quietly(first_success(probe, delay, health), pod, self.probed)
        if self.api.flavor == "kubernetes":
            prober.watch(self, pod, container_ip(pod, self.node), container_of(pod), container_name(pod))

    def run_program(self, pod: Pod) -> None:
        """A public image's container: its environment and files first (a missing ConfigMap or
        Secret: CreateContainerConfigError, or a volume that cannot mount: still ContainerCreating,
        and the kubelet tries again), then its program runs until it exits or is stopped."""
        found = catalog.public(pod.image)
        ctx, reason, message = container_config(self.api, pod, found, self.node)
        if ctx is None:
            self.later(CONFIG_RETRY, pod, self.run)
            if reason == "FailedMount":
                self.event(pod, "FailedMount", message, "Warning")
                pod.reason, pod.message = "ContainerCreating", ""
            else:
                self.event(pod, "Failed", f"Error: {message}", "Warning")
                pod.reason, pod.message = reason, message
            self.report(pod)
            return
        outcome = programs.run(ctx)
        run = programs.Run(self.clock.now, ctx, outcome)
        pod.runs = (*pod.runs[-1:], run)
        probe = pod.template.probe
        pod.container_up, pod.started, pod.listening = True, self.clock.now, False
        pod.phase, pod.reason, pod.message = "running", "", ""
        pod.ready, pod.ready_since = probe is None, (self.clock.now if probe is None else None)
        pod.generation += 1
        self.event(pod, "Created", f"Created container {container_name(pod)}")
        self.event(pod, "Started", f"Started container {container_name(pod)}")
        self.report(pod)
        if outcome.exit is not None:
            code, at = outcome.exit
            self.later_quietly(at, pod, lambda p: self.exited(p, code))
        if outcome.listens is not None and found.image.port:
            self.later_quietly(outcome.listens, pod, self.listen)
            if probe is not None:
                self.later_quietly(first_success(probe, outcome.listens, False), pod, self.probed)
        prober.watch(self, pod, ctx.ip, container_of(pod), container_name(pod))

    def exited(self, pod: Pod, code: int) -> None:
        """The program ended by itself. The kubelet (pkg/kubelet/kuberuntime, computePodActions)
        restarts it when the pod's restartPolicy says so (Always; OnFailure after a failure), after
        the crash back-off; else the container stays terminated and the pod has ended: Succeeded
        when every container exited 0, Failed otherwise (pkg/kubelet/kubelet_pods.go getPhase)."""
        run = pod.runs[-1]
        run.finished, run.code = self.clock.now, code
        if pod.restart_policy == "Always" or (pod.restart_policy == "OnFailure" and code != 0):
            wait = pod.backoff
            self.crash(pod, code)
            if pod.reason == "CrashLoopBackOff":  # kuberuntime_manager.go doBackOff's message
                pod.message = (f"back-off {go_duration(wait)} restarting failed container={container_name(pod)} "
                               f"pod={_pod_ref(pod)}")
            elif code == 0:
                pod.reason = "Completed"
            self.report(pod)
            return
        pod.container_up, pod.listening = False, False
        pod.ready, pod.ready_since = False, None
        pod.generation += 1
        pod.phase, pod.reason = ("succeeded", "Completed") if code == 0 else ("failed", "Error")
        self.report(pod)

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
        if self.api.flavor != "kubernetes":
            self.event(pod, "BackOff", "Back-off restarting failed container", "Warning")
        elif delay:  # kuberuntime_manager.go doBackOff: only a restart that waits is a back-off
            self.event(pod, "BackOff", f"Back-off restarting failed container {container_name(pod)} in pod "
                                       f"{_pod_ref(pod)}", "Warning")
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
        elif was_up and self.api.flavor == "kubernetes" and pre_stop_seconds(pod) > 0:
            self.later(pre_stop_seconds(pod), pod, self.kill)  # the preStop hook runs; it serves meanwhile
        else:
            self.kill(pod)

    def kill(self, pod: Pod) -> None:
        was_up = pod.container_up
        pod.container_up, pod.listening = False, False
        if was_up and pod.runs and pod.runs[-1].finished is None:  # stopped: SIGTERM ends it (143)
            pod.runs[-1].finished, pod.runs[-1].code = self.clock.now, 143
        if was_up:
            self.event(pod, "Killing", f"Stopping container {container_name(pod)}")
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
            pod.reported_up = pod.container_up  # (the API server keeps the last report: kube/kinds/pods.py)
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
            pod.reported_up = False
            if pod.deleting:
                self.stopping.discard(name)
                self.stop(pod)
            elif self.api.flavor == "docker":
                self.docker_restored(pod)
            elif not pod.container_up and (pod.restart_policy == "Always" or pod.phase not in ("failed", "succeeded")):
                if pod.phase == "running":
                    pod.restarts += 1
                pod.phase, pod.ready = "pending", False
                self.report(pod)
                self.start(pod)


# -- a container's configuration (the kubelet's kuberuntime: makeEnvironmentVariables, volumes) -----
def container_of(pod: Pod) -> dict:
    """The pod's (first) container as a client wrote it; {} for what the facade made."""
    containers = (pod.template.spec or {}).get("containers") or [{}]
    return containers[0] or {}


def pre_stop_seconds(pod: Pod) -> float:
    """How long the container's preStop hook runs before the kubelet sends SIGTERM, at most the grace
    period (kuberuntime_container.go executePreStopHook): the facade's pre_stop=, a written hook's
    `sleep.seconds`, or the time its `exec` command takes (`sleep 5`, `sh -c "sleep 5"`); 0 for none."""
    grace = float((pod.template.spec or {}).get("terminationGracePeriodSeconds", 30))
    hook = ((container_of(pod).get("lifecycle") or {}).get("preStop")) or {}
    seconds = float(pod.template.pre_stop or 0)
    if isinstance(hook.get("sleep"), dict):
        seconds = float(hook["sleep"].get("seconds") or 0)
    elif isinstance(hook.get("exec"), dict) and hook["exec"].get("command"):
        found = catalog.public(pod.image)
        ctx = programs.Context(tuple(str(c) for c in hook["exec"]["command"]), image=found.image if found else None)
        done = programs.run(ctx, until=grace)
        seconds = grace if done.exit is None else done.exit[1]
    return max(0.0, min(seconds, grace))


def _pod_ref(pod: Pod) -> str:
    """The kubelet's name for a pod in its messages (pkg/kubelet/util/format.Pod): name_namespace(uid)."""
    from .kube.resources import uid
    return f"{pod.name.rsplit('/', 1)[-1]}_{_namespace(pod)}({uid('Pod', pod.name, pod.created)})"


def container_name(pod: Pod) -> str:
    """Its container's name: as written, else the facade's (its deployment's name, or the pod's)."""
    return container_of(pod).get("name") or (pod.app or pod.name).rsplit("/", 1)[-1]


def _key(pod: Pod, name: str) -> str:
    """The store's key of `name` in the pod's namespace (kube/resources.key's rule)."""
    namespace = pod.name.split("/", 1)[0] if "/" in pod.name else ""
    return f"{namespace}/{name}" if namespace else name


def _namespace(pod: Pod) -> str:
    return pod.name.split("/", 1)[0] if "/" in pod.name else "default"


def _data(api: APIServer, pod: Pod, kind: str, name: str) -> dict[str, str] | None:
    """A ConfigMap's or Secret's data as text (a Secret's decoded), None when there is none."""
    record = api.items(f"stored/core/{kind}s").get(_key(pod, name))
    if record is None:
        return None
    body = record.body
    if kind == "secret":
        return {k: base64.b64decode(v).decode(errors="replace") for k, v in (body.get("data") or {}).items()}
    binary = {k: base64.b64decode(v).decode(errors="replace") for k, v in (body.get("binaryData") or {}).items()}
    return {**dict(body.get("data") or {}), **binary}


_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(text: str, env: dict[str, str]) -> str:
    """$(VAR) from the container's environment, $$ for $; an unknown reference stays as written
    (k8s.io/kubernetes third_party/forked/golang/expansion)."""
    return _REFERENCE.sub(lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), text)


class ConfigError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        self.reason, self.message = reason, message


def container_env(api: APIServer, pod: Pod, image: catalog.Image, version: str, ip: str, node: str) -> dict[str, str]:
    """The container's environment as the kubelet makes it: the image's ENV, HOSTNAME, the services'
    variables (the kubernetes service's), then envFrom in order and env in order (a later one wins);
    a ConfigMap or Secret that is missing, or lacks a key, fails unless optional, with the kubelet's
    message (kubelet_pods.go makeEnvironmentVariables)."""
    namespace = _namespace(pod)
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    env.update({k: catalog.fill(v, version=version, major=version.split(".")[0]) for k, v in image.env.items()})
    env["HOSTNAME"] = pod.name.rsplit("/", 1)[-1]
    env.update({"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443",
                "KUBERNETES_SERVICE_PORT_HTTPS": "443", "KUBERNETES_PORT": "tcp://10.96.0.1:443",
                "KUBERNETES_PORT_443_TCP": "tcp://10.96.0.1:443", "KUBERNETES_PORT_443_TCP_PROTO": "tcp",
                "KUBERNETES_PORT_443_TCP_PORT": "443", "KUBERNETES_PORT_443_TCP_ADDR": "10.96.0.1"})
    env.update(pod.template.env)
    container = container_of(pod)
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix") or ""
        for kind, field in (("configmap", "configMapRef"), ("secret", "secretRef")):
            ref = source.get(field)
            if ref is None:
                continue
            data = _data(api, pod, kind, ref.get("name") or "")
            if data is None:
                if ref.get("optional"):
                    continue
                raise ConfigError("CreateContainerConfigError", f'{kind} "{ref.get("name")}" not found')
            env.update({prefix + k: v for k, v in data.items()})
    downward = {"metadata.name": env["HOSTNAME"], "metadata.namespace": namespace, "spec.nodeName": node,
                "status.podIP": ip, "status.hostIP": "", "spec.serviceAccountName": "default",
                "metadata.uid": ""}
    for var in container.get("env") or []:
        name, source = var.get("name") or "", var.get("valueFrom")
        if source is None:
            env[name] = expand(str(var.get("value") or ""), env)
            continue
        for kind, field, word in (("configmap", "configMapKeyRef", "ConfigMap"), ("secret", "secretKeyRef", "Secret")):
            ref = source.get(field)
            if ref is None:
                continue
            data = _data(api, pod, kind, ref.get("name") or "")
            if data is None or ref.get("key") not in data:
                if ref.get("optional"):
                    break
                raise ConfigError("CreateContainerConfigError", f'{kind} "{ref.get("name")}" not found'
                                  if data is None else
                                  f"couldn't find key {ref.get('key')} in {word} {namespace}/{ref.get('name')}")
            env[name] = data[ref["key"]]
        if "fieldRef" in source:
            env[name] = downward.get((source["fieldRef"] or {}).get("fieldPath"), "")
    return env


def container_files(api: APIServer, pod: Pod) -> dict[str, str]:
    """The files of the ConfigMap and Secret volumes the container mounts (one per key, or per
    `items` entry), by path; a missing one fails the mount (FailedMount), unless optional."""
    volumes = {v.get("name"): v for v in (pod.template.spec or {}).get("volumes") or []}
    files: dict[str, str] = {}
    for mount in container_of(pod).get("volumeMounts") or []:
        volume = volumes.get(mount.get("name")) or {}
        for kind, field, name_field in (("configmap", "configMap", "name"), ("secret", "secret", "secretName")):
            source = volume.get(field)
            if source is None:
                continue
            data = _data(api, pod, kind, source.get(name_field) or "")
            if data is None:
                if source.get("optional"):
                    break
                raise ConfigError("FailedMount", f'MountVolume.SetUp failed for volume "{mount.get("name")}" : '
                                                 f'{kind} "{source.get(name_field)}" not found')
            items = source.get("items") or [{"key": k, "path": k} for k in data]
            base = (mount.get("mountPath") or "/").rstrip("/")
            sub = mount.get("subPath")
            for item in items:
                if item.get("key") in data and (not sub or sub == item.get("path")):
                    files[base if sub else f"{base}/{item.get('path')}"] = data[item["key"]]
    return files


def container_ip(pod: Pod, node: NodeObj) -> str:
    """The pod's address, as the served API shows it (kube/kinds/pods.py pod_ip)."""
    digest = int(hashlib.sha256(pod.name.encode()).hexdigest()[:4], 16)
    return f"10.244.{node.index}.{digest % 250 + 2}"


def container_config(api: APIServer, pod: Pod, found: catalog.Found, node: NodeObj):
    """(programs.Context, "", "") for the container to start, or (None, reason, message) when it cannot yet."""
    container = container_of(pod)
    ip = container_ip(pod, node)
    try:
        env = container_env(api, pod, found.image, found.version, ip, node.name)
        files = container_files(api, pod)
    except ConfigError as error:
        return None, error.reason, error.message
    argv = programs.container_argv(found.image, [expand(str(c), env) for c in container.get("command") or []],
                                   [expand(str(a), env) for a in container.get("args") or []])
    env.setdefault("HOME", "/root")
    return programs.Context(tuple(argv), env, pod.name.rsplit("/", 1)[-1], files, found.image, found.version,
                            ip, bool(container.get("stdin"))), "", ""


def go_duration(seconds: float) -> str:
    """A duration as Go's time.Duration prints it: 10s, 1m20s, 5m0s."""
    whole = int(round(seconds))
    return f"{whole // 60}m{whole % 60}s" if whole >= 60 else f"{whole}s"
