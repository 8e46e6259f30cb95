"""The simulator's three flavors, one module each, behind one interface (`Flavor`).

SimBackend keeps what every flavor shares: the clock, the store and its API server,
the machines and their agents, containers, events and snapshots. What an engine does
its own way is its flavor's: building the cluster, the workload verbs, the words of
a workload's and a node's status, its components, services and node availabilities.

    kubernetes.py  api-server + etcd + scheduler + controller-manager on a control-plane
                   node; kubelet + runtime on each worker
    swarm.py       managers (raft store, orchestrator, scheduler) and workers
    docker.py      one host, a container runtime, nobody watching

A verb an engine lacks is refused (`Refused`), in the words of REFUSALS or of the
flavor's own `refusals`.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Iterator

from .... import catalog
from ....errors import NotFound, Refused, Unavailable
from ....model import Component, SwarmInfo, WorkloadStatus
from ...base import DeploySpec, UpdateStrategy
from ..controllers import delete_pod
from ..node import AGENT, NodeAgent
from ..objects import NodeObj, Pod, Template
from ..scheduler import bind

if TYPE_CHECKING:
    from ..backend import SimBackend

RESTART = {"no": "Never", "on-failure": "OnFailure", "always": "Always", "unless-stopped": "Always"}
REFUSALS = {  # verb -> (message, hint) where an engine has no such verb; "{flavor}" is the flavor's name
    "pause": ("{flavor} has no pause for rollouts",
              "Swarm pauses an update by itself when a task fails (failure_action='pause')"),
    "pause_node": ("pause is an availability of Swarm nodes", "on Kubernetes, cordon: kubectl cordon NODE"),
    "components": ("only the kubernetes flavor has separate control-plane components",
                   "use labkit.connect(flavor='kubernetes')"),
}


def require_image(image: str) -> None:
    """A Docker Engine runs only images it has (the course's demo images)."""
    if catalog.lookup(image) is None:
        raise NotFound(f"Unable to find image '{image}' locally: pull access denied, "
                       "repository does not exist or may require authorization",
                       f"the course's images are {', '.join(catalog.DEMO_IMAGES)}")


class Flavor(ABC):
    """One engine's rules on the shared simulator. A verb every engine has but does its own
    way is abstract; one that some engines lack refuses by default; where two engines share
    a rule (a Docker Engine runs the containers of the swarm and docker flavors) it is here."""

    name = ""  # "kubernetes", "swarm" or "docker"
    kind = "deployments"  # the store's kind of a workload
    pods_capacity = 0  # how many pods a node takes (0: no limit)
    heartbeat = 0.0  # seconds between a node's heartbeats (0: silence counts from a failure itself)
    refusals: dict[str, tuple[str, str]] = {}  # what this engine lacks besides REFUSALS', in its words

    def __init__(self, sim: SimBackend) -> None:
        self.sim, self.api, self.clock = sim, sim.api, sim.clock

    def refuse(self, verb: str) -> Refused:
        message, hint = {**REFUSALS, **self.refusals}.get(
            verb, (f"the {self.name} flavor has no {verb}", "see cluster.about() for what it runs"))
        return Refused(message.format(flavor=self.name), hint)

    # -- building the cluster and looking at it -------------------------------------------------
    @abstractmethod
    def build(self, nodes: int, managers: int, rate: float) -> None:
        """Start this engine's components and add its first machines."""

    @abstractmethod
    def statuses(self) -> Iterator[WorkloadStatus]:
        """Every workload's status, in the engine's terms."""

    @abstractmethod
    def node_status(self, node: NodeObj) -> str:
        """A node's STATUS column, as the engine's CLI prints it."""

    def node_ready(self, node: NodeObj) -> bool:
        return node.ready

    def components(self) -> Iterator[Component]:
        for name, agent in self.sim.agents.items():
            yield from self.machine(name, agent)

    def machine(self, name: str, agent: NodeAgent) -> Iterator[Component]:
        """What runs on one machine."""
        if agent.node.role != "control-plane":
            yield Component(name=AGENT[self.name], running=agent.alive, node=name)
            yield Component(name="container-runtime", running=agent.node.up, node=name)

    def swarm_info(self) -> SwarmInfo | None:
        return None

    # -- workloads (the backend has checked the API answers and found `obj`) -----------------------
    @abstractmethod
    def deploy(self, spec: DeploySpec, template: Template, labels: dict) -> None: ...

    def scale(self, obj, replicas: int) -> None:
        obj.replicas = replicas
        self.api.write(self.kind, obj)

    def update(self, obj, image: str, plan: UpdateStrategy) -> None:
        raise self.refuse("update")

    def rollback(self, obj) -> None:
        raise self.refuse("rollback")

    def set_paused(self, obj, paused: bool) -> None:
        raise self.refuse("pause")

    @abstractmethod
    def history(self, obj) -> list[tuple[int, str]]:
        """(revision, image) pairs, oldest first."""

    def remove(self, obj) -> None:
        """Remove the workload's objects (the backend then deletes its pods)."""
        self.api.remove(self.kind, obj.name)

    # -- containers -------------------------------------------------------------------------------
    def run_container(self, name: str, image: str, restart: str) -> None:
        """`docker run -d --restart=...` on the host you typed on."""
        require_image(image)
        self.start(Pod(name, "", "", Template(image), 1, self.clock.now, restart_policy=RESTART[restart]))

    def start(self, pod: Pod) -> None:
        """A Docker Engine starts a container on its own host (in a swarm, the manager you typed on)."""
        host = next(iter(self.sim.agents.values())).node
        if not host.up:
            raise Unavailable(f"{host.name} is down: its Docker daemon does not answer",
                              f"recover it with cluster.recover_node({host.name!r})")
        bind(self.api, pod, host)

    # -- nodes ------------------------------------------------------------------------------------
    def drain(self, node: NodeObj) -> None:
        raise self.refuse("drain")

    def pause_node(self, node: NodeObj) -> None:
        raise self.refuse("pause_node")

    def cordon(self, node: NodeObj, availability: str) -> None:
        """No new replicas on `node`: Swarm's availability `drain` or `pause`, Kubernetes' cordon."""
        self.api.check()
        node.schedulable = False
        node.availability = availability
        self.api.write("nodes", node)

    def cordon_and_evict(self, node: NodeObj, source: str) -> None:
        """Drain: cordon `node` and delete the replicas that something recreates elsewhere."""
        self.cordon(node, "drain")
        self.api.record("NodeNotSchedulable", f"node/{node.name}",
                        f"Node {node.name} status is now: NodeNotSchedulable", source=source)
        pods = self.api.items("pods")
        for pod_name in sorted(node.pods):
            pod = pods[pod_name]
            if pod.owner:  # a bare pod / plain container has nothing to recreate it
                delete_pod(self.api, pod, source="drain")
                self.api.record("Evicted", self.api.ref(pod_name), f"Evicting pod {pod_name}", source="drain")

    def on_power(self, node: NodeObj, on: bool) -> None:
        """A machine lost or got back its power (after its agent stopped, before it starts)."""

    def switch(self, name: str, node: str | None, on: bool, quiet: bool = False) -> None:
        """Stop or start one control-plane component (lesson 5)."""
        raise self.refuse("components")

    # -- services: what traffic reaches -----------------------------------------------------------
    def expose(self, name: str, port: int) -> None:
        raise self.refuse("expose")

    def service(self, name: str):
        """What `name` is reachable at (a model.Service), or None when nothing exposes it."""
        raise self.refuse("service")
