"""Backend-neutral snapshots of a cluster.

Every backend (simulator, Docker, Swarm, Kubernetes) describes itself with
these plain frozen dataclasses, and every view renders from them alone, so a
lesson looks the same whatever runs underneath. They are keyword-only: a
snapshot built by name cannot put a count in the wrong field.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Phase = Literal["pending", "running", "terminating", "failed", "succeeded"]
PHASES: tuple[str, ...] = ("pending", "running", "terminating", "failed", "succeeded")
Role = Literal["control-plane", "worker", "manager"]
Flavor = Literal["kubernetes", "swarm", "docker"]
Rollout = Literal["complete", "progressing", "paused", "failed", "rolling back"]


@dataclass(frozen=True, kw_only=True)
class Node:
    """One machine of the cluster (a Kubernetes node, a Swarm node, a Docker host)."""

    name: str
    role: Role = "worker"  # "control-plane" (Kubernetes), "manager" (Swarm) or "worker"
    ready: bool = True
    schedulable: bool = True  # False when cordoned / drained / paused
    cpu_capacity: int = 4000  # millicores
    memory_capacity: int = 8192  # MiB
    pods_capacity: int = 110
    cpu_allocated: int = 0
    memory_allocated: int = 0
    pods_allocated: int = 0
    status: str = ""  # backend's own word: "Ready", "NotReady", "Down", "Drain", ...
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, kw_only=True)
class Replica:
    """One running copy of a workload: a pod, a Swarm task or a container."""

    name: str
    workload: str
    node: str | None
    image: str
    phase: Phase = "pending"
    ready: bool = False
    restarts: int = 0
    revision: int = 1
    reason: str = ""  # e.g. "ImagePullBackOff", "CrashLoopBackOff", "Unschedulable"
    ip: str = ""
    created: float = 0.0
    # Whether its program answers on its port yet: the simulator knows (the demo images listen
    # 2 s after they start); a real engine's replicas say True, and their requests tell.
    listening: bool = True
    # Terminating, but the Service's proxies still send it requests until this cluster time (the
    # simulator's Kubernetes flavor: the endpoint's removal takes a moment to reach them); None: not so.
    serving_until: float | None = None


@dataclass(frozen=True, kw_only=True)
class WorkloadStatus:
    """A deployment, a Swarm service, or a group of labelled containers, as it stands.

    (The facade's `labkit.Workload` is the handle that acts on one; this is what it reads.)
    """

    name: str
    image: str
    desired: int
    current: int = 0  # replicas that exist and are not terminating
    ready: int = 0
    updated: int = 0  # replicas on the newest template
    available: int = 0  # ready for at least min_ready_seconds
    revision: int = 1
    kind: str = "deployment"  # "deployment", "service", "containers"
    strategy: str = "RollingUpdate"  # "RollingUpdate", "Recreate", "stop-first", "start-first"
    max_surge: int = 0  # resolved absolute numbers for the current rollout bounds
    max_unavailable: int = 0
    paused: bool = False
    rollout: Rollout = "complete"
    message: str = ""
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, kw_only=True)
class Event:
    """Something that happened, in the shape of `kubectl get events`."""

    time: float
    reason: str  # e.g. "Scheduled", "Pulling", "Started", "Killing", "NodeNotReady"
    object: str  # "pod/web-7f9c-abcde", "node/node-2", "deployment/web"
    message: str
    type: str = "Normal"  # "Normal" or "Warning"
    source: str = ""  # the component that said it: "scheduler", "kubelet", "api-server", ...


@dataclass(frozen=True)
class Service:
    """What a workload is reachable at: a Kubernetes Service's selector, or (selector None)
    a Swarm service's own published port."""

    name: str
    port: int
    selector: tuple[tuple[str, str], ...] | None = None
    via: str | None = None  # the node whose published port the client connects to (Swarm's mesh), if one


@dataclass(frozen=True, kw_only=True)
class Component:
    """A part of the control plane or of a node, for the architecture view."""

    name: str  # "api-server", "etcd", "scheduler", "controller-manager", "kubelet", ...
    running: bool = True
    node: str = ""


@dataclass(frozen=True, kw_only=True)
class SwarmInfo:
    """What a swarm says about itself beyond its nodes (`docker info`, `docker node ls`)."""

    formed: bool = True  # False while labkit's machines run but no swarm joins them yet
    leader: str | None = None  # the leading manager; None while no majority of managers answers
    playground: bool = False  # the nodes are labkit's Docker-in-Docker machines


@dataclass(frozen=True, kw_only=True)
class ClusterState:
    """One consistent picture of a cluster at one moment."""

    backend: str
    flavor: Flavor
    time: float
    nodes: tuple[Node, ...] = ()
    workloads: tuple[WorkloadStatus, ...] = ()
    replicas: tuple[Replica, ...] = ()
    components: tuple[Component, ...] = ()
    version: int = 0  # grows whenever anything changes (store revision on the simulator)
    swarm: SwarmInfo | None = None  # a swarm's own parts (None on other flavors)
    problem: str = ""  # why the backend sees only part of the cluster now; views show it
    context: str = ""  # the kubeconfig context of a real Kubernetes cluster
    lab: str = ""  # the label value marking what this lab created on a real engine

    def node(self, name: str) -> Node | None:
        return next((n for n in self.nodes if n.name == name), None)

    def workload(self, name: str) -> WorkloadStatus | None:
        return next((w for w in self.workloads if w.name == name), None)

    def replicas_of(self, workload: str) -> list[Replica]:
        return [r for r in self.replicas if r.workload == workload]

    def replicas_on(self, node: str) -> list[Replica]:
        return [r for r in self.replicas if r.node == node]

    def count(self, workload: str | None = None, phase: str | None = "running",
              image: str | None = None) -> int:
        """How many replicas match; `None` means any."""
        return sum(1 for r in self.replicas
                   if (workload is None or r.workload == workload)
                   and (phase is None or r.phase == phase)
                   and (image is None or r.image == image))

    @property
    def converged(self) -> bool:
        """Every workload has exactly its desired replicas, all ready and up to date."""
        return converged(self.workloads)

    def __repr__(self) -> str:
        """One line (what a cell ending in `cluster.wait()` shows): counts, not every field."""
        ready = sum(1 for n in self.nodes if n.ready)
        serving = sum(1 for r in self.replicas if r.phase == "running" and r.ready)
        desired = sum(w.desired for w in self.workloads)
        problem = f", {self.problem}" if self.problem else ""
        return (f"<ClusterState {self.backend}/{self.flavor} at t={self.time:g} s: {ready}/{len(self.nodes)} nodes "
                f"ready, {len(self.workloads)} workloads, {serving}/{desired} replicas ready"
                f"{', converged' if self.converged else ''}{problem}>")


def converged(workloads: tuple[WorkloadStatus, ...] | list[WorkloadStatus]) -> bool:
    """Every one of `workloads` has exactly its desired replicas, all ready and up to date."""
    return all(w.current == w.desired == w.ready == w.updated == w.available
               and w.rollout in ("complete", "paused") for w in workloads)
