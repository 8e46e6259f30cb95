"""The contract every backend keeps, so that one lesson runs on all of them.

The facade (`labkit.cluster`) validates input, then calls these methods; a
backend translates them to its engine and describes the result as a
`ClusterState`. Operations return as soon as the engine has accepted the
change (like `kubectl` and `docker service`): convergence is observed with
`state()` while `advance()` lets time pass.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable, Protocol, runtime_checkable

from ..model import ClusterState, Event, WorkloadStatus

LABEL = "io.labkit"  # every object labkit makes carries this label (value: lab/session id)


@dataclass(frozen=True)
class UpdateStrategy:
    """How a new image rolls out.

    Kubernetes reads `max_surge`/`max_unavailable` (ints or "25%") and `type`;
    Swarm reads `parallelism`, `delay`, `order`, `failure_action`, `monitor`
    and `max_failure_ratio`. `None` means the engine's own default, so the
    real defaults stay in one place: the backend.
    """

    type: str | None = None  # "RollingUpdate" or "Recreate" (Kubernetes)
    max_surge: int | str | None = None
    max_unavailable: int | str | None = None
    min_ready_seconds: float | None = None
    parallelism: int | None = None
    delay: float | None = None
    order: str | None = None  # "stop-first" | "start-first"
    failure_action: str | None = None  # "pause" | "rollback" | "continue"
    monitor: float | None = None
    max_failure_ratio: float | None = None


@dataclass(frozen=True)
class Probe:
    """A readiness check: Kubernetes' readinessProbe, Swarm's and Docker's healthcheck.

    Kubernetes checks at once and then every `period` seconds, and sends a pod traffic
    from its first success; Docker checks first after one `period` (moby daemon/health.go),
    and Swarm starts routing to a task, and counts it running, once it is healthy.
    """

    path: str = "/ready"  # what GET asks (the demo images answer it once they listen)
    port: int = 80
    period: float = 1.0  # periodSeconds, --health-interval (the engines' defaults are 10 s and 30 s)
    initial_delay: float = 0.0  # initialDelaySeconds (Kubernetes)
    given: str = ""  # what a manifest's probe does (JSON: its httpGet, exec, tcpSocket or grpc), shown back

    def manifest(self) -> dict:
        """As a container's readinessProbe, with the API server's defaults written out as
        `kubectl get -o yaml` shows them."""
        action = json.loads(self.given) if self.given else {"httpGet": {"path": self.path, "port": self.port}}
        if "httpGet" in action:
            action["httpGet"] = {"scheme": "HTTP", **action["httpGet"]}
        whole = {**action, "periodSeconds": max(1, round(self.period)), "timeoutSeconds": 1,
                 "successThreshold": 1, "failureThreshold": 3}
        if self.initial_delay:
            whole["initialDelaySeconds"] = round(self.initial_delay)
        return whole

    @classmethod
    def from_manifest(cls, probe: dict | None) -> "Probe | None":
        """A container's readinessProbe (already validated); None for none."""
        if not probe:
            return None
        action = {k: probe[k] for k in PROBE_ACTIONS if k in probe}
        http = probe.get("httpGet") or {}
        port = http.get("port", 80)
        return cls(path=http.get("path", "/"), port=port if isinstance(port, int) else 80,
                   period=float(probe.get("periodSeconds") or 10), initial_delay=float(probe.get("initialDelaySeconds") or 0),
                   given=json.dumps(action, sort_keys=True))


PROBE_ACTIONS = ("exec", "httpGet", "tcpSocket", "grpc")


@dataclass(frozen=True)
class DeploySpec:
    """What `Cluster.deploy` asks for, already validated by the facade."""

    name: str
    image: str
    replicas: int = 1
    env: dict[str, str] = field(default_factory=dict)
    ports: tuple[str, ...] = ()  # "8080:80" as docker -p takes it
    network: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    strategy: UpdateStrategy = UpdateStrategy()
    cpu: int = 0  # millicores requested per replica (0: none, as Kubernetes when unset)
    memory: int = 0  # MiB requested per replica
    probe: Probe | None = None  # a readiness probe / healthcheck
    pre_stop: float = 0.0  # seconds a replica keeps serving once told to stop (Kubernetes' preStop sleep hook)


@runtime_checkable
class Backend(Protocol):
    """What the facade needs from a backend."""

    name: str  # "sim", "docker", "swarm", "kubernetes"
    simulated: bool  # time passes only when asked (the simulator); else it passes by itself
    max_replicas: int  # the most replicas labkit lets one workload ask for here (validate.replicas)
    on_simulator: bool  # the cluster is labkit's simulator, in this kernel or served (`labkit serve`)
    flavor: str  # "kubernetes", "swarm" or "docker"
    engine: str  # what runs underneath, with its version: "the real Docker Engine 20.10.24 on this machine"

    def state(self) -> ClusterState: ...
    def events(self, since: float = 0.0) -> list[Event]: ...
    # Optional: `workloads()`, a cheap summary the facade prefers to a full state() while it
    # waits (see Summaries below; the simulator has one).
    def now(self) -> float: ...
    def advance(self, seconds: float, observe: Callable[[], None] | None = None) -> None:
        """Let `seconds` of cluster time pass (virtual on the simulator, real elsewhere).
        The simulator calls `observe()` after each instant at which something happened, so
        the facade's timeline misses no step; a real engine's is sampled by the caller."""

    def deploy(self, spec: DeploySpec) -> None: ...
    def scale(self, name: str, replicas: int) -> None: ...
    def update(self, name: str, image: str, strategy: UpdateStrategy) -> None: ...
    def rollback(self, name: str) -> None: ...
    def pause(self, name: str) -> None: ...
    def resume(self, name: str) -> None: ...
    def delete(self, name: str) -> None: ...
    def history(self, name: str) -> list[tuple[int, str]]:
        """(revision, image) pairs, oldest first, as `kubectl rollout history` lists them."""

    def run_container(self, name: str, image: str, restart: str) -> None:
        """One container outside any workload (`docker run -d --restart=...`); its
        Replica has workload ""."""

    def start_container(self, name: str) -> None: ...
    def remove_container(self, name: str) -> None: ...
    def fail_node(self, name: str) -> None: ...
    def recover_node(self, name: str) -> None: ...
    def drain(self, name: str) -> None: ...
    def uncordon(self, name: str) -> None: ...
    def kill_replica(self, name: str | None = None) -> str:
        """Kill one replica's container (a random one when `name` is None); return its name."""

    def reset(self) -> None:
        """Remove everything this backend made (by label), nothing else."""

    def close(self) -> None: ...


@runtime_checkable
class HoldsDemoImages(Protocol):
    """A backend whose engine runs containers from local images (docker, swarm): the real
    CLI can ask for a demo image there, so it must be built (or loaded) before the CLI runs."""

    def ensure_demo_images(self) -> None:
        """Build or load the course's demo images where this backend runs containers,
        with a progress display; milliseconds when they are there already."""


@runtime_checkable
class Exposes(Protocol):
    """A backend that gives a workload a stable address (`Cluster.expose`) and tells it."""

    def expose(self, name: str, port: int) -> None: ...
    def service(self, name: str) -> object | None:
        """A `model.Service`, or None when nothing exposes `name`."""


@runtime_checkable
class Routes(Protocol):
    """A real engine that real requests can reach: where it sends them at this moment."""

    def targets(self, name: str) -> list[tuple[str, int, str]]:
        """[(host, port, replica)] the engine routes requests for `name` to now."""


# -- what some backends can do beyond the contract (checked with isinstance, never by name) ------
@runtime_checkable
class Meters(Protocol):
    """A backend that keeps which replica answered each request sent to it (the simulator: what its
    pods' CPU use is made of, as metrics.k8s.io and the HPA read it)."""

    def answered(self, requests: list) -> None:
        """`requests`: labkit.traffic.Request records, just sent."""


@runtime_checkable
class Components(Protocol):
    """Parts of the control plane that a lesson may stop and start (the simulator's)."""

    def stop_component(self, name: str, node: str | None = None, quiet: bool = False) -> None: ...
    def start_component(self, name: str, node: str | None = None) -> None: ...


@runtime_checkable
class Summaries(Protocol):
    """A backend that can list its workloads' statuses without a whole snapshot (the
    simulator, from its controllers' counters: at 150,000 pods a snapshot is slow)."""

    def workloads(self) -> tuple[WorkloadStatus, ...]: ...


@runtime_checkable
class StopsContainers(Protocol):
    """`docker stop` / `docker kill`: a container stopped by hand, which its restart policy leaves
    stopped until `docker start` (moby's "manually stopped")."""

    def stop_container(self, name: str, exit_code: int = 0) -> None: ...


@runtime_checkable
class PausesNodes(Protocol):
    """Swarm's third availability, `docker node update --availability pause`: no new tasks on
    the node, and the running ones stay."""

    def pause_node(self, name: str) -> None: ...


@runtime_checkable
class Machines(Protocol):
    """A cluster that a new machine can join (`minikube node add`, `docker swarm join`)."""

    def add_node(self, role: str = "worker") -> str: ...


@runtime_checkable
class SwarmTokens(Protocol):
    """A real swarm's join tokens and the address a new node joins at."""

    def join_token(self, role: str = "worker") -> str: ...
    def manager_address(self) -> str: ...


@runtime_checkable
class SwarmMachines(Protocol):
    """A real swarm whose machines labkit owns (the playground): a `docker swarm join` typed by
    a student runs on a new machine, and its managers may be electing a leader."""

    def new_machine(self) -> tuple[str, str]: ...
    def settle(self) -> None: ...
    def swarm_changed(self) -> None: ...


@runtime_checkable
class Refusing(Protocol):
    """A backend that can say why its engine refuses commands now (a swarm without a quorum)."""

    def refusal(self) -> object | None: ...


@runtime_checkable
class Watches(Protocol):
    """A backend that can block until its engine reports a change (Kubernetes' watch API,
    Docker's event stream), so a view redraws at once instead of polling."""

    def wait_for_change(self, timeout: float) -> bool:
        """True as soon as something of labkit's changes; False after `timeout` seconds without."""
        ...


@dataclass(frozen=True)
class CliTarget:
    """How a real tool (docker, kubectl) reaches a backend's engine, for the console."""

    env: dict[str, str] = field(default_factory=dict)  # DOCKER_HOST, KUBECONFIG
    context: str | None = None  # kubectl's --context, unless the student names one
    namespace: str | None = None  # kubectl's -n, unless the student gives one
    lab: str | None = None  # the label value `docker run` gets, so reset and the reaper find it
    prepare: Callable[[], None] | None = None  # what must exist first (labkit's namespace)


@runtime_checkable
class Commands(Protocol):
    """A backend on a real engine that the real CLI can drive too."""

    def cli_target(self, tool: str) -> CliTarget: ...
