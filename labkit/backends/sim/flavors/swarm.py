"""The swarm flavor: managers (raft store, orchestrator, scheduler) and workers, each with an
agent and a Docker Engine; workloads are services, published through the routing mesh."""
from __future__ import annotations

from typing import Iterator

from ....errors import AlreadyExists, InvalidInput, NotFound
from ....model import Component, SwarmInfo, WorkloadStatus
from ...base import DeploySpec, UpdateStrategy
from ..api import SWARM_DEFAULTS
from ..controllers import NodeLifecycleController
from ..node import NodeAgent
from ..objects import NodeObj, Service, Template
from ..orchestrator import SwarmOrchestrator
from ..scheduler import Scheduler
from . import Flavor

HEARTBEAT = 2.0  # seconds: `docker swarm init --dispatcher-heartbeat 2s`, as the playground makes its swarm
# What a node that joins a swarm without a leader is told (the CLI prefixes "Error response from daemon: ").
# From moby/swarmkit's source: a joining node asks the NodeCA for its certificate, the managers register the
# NodeCA behind a raft proxy (manager/manager.go), which forwards to the leader through LeaderConn; with no
# leader for more than lostQuorumTimeout ticks, LeaderConn returns errLostQuorum at once
# (manager/state/raft/raft.go), and gRPC carries a plain error as code Unknown. The same words as every
# other swarm command without a quorum (console/tools/docker.py NO_LEADER).
NO_LEADER = ("rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too few managers "
             "are online. Make sure more than half of the managers are online.")


def published_port(spec: str) -> int:
    """The published port of a `-p` spec ("8080:80", "127.0.0.1:8080:80"), or InvalidInput."""
    parts = str(spec).split("/")[0].split(":")
    if len(parts) < 2 or not parts[-2].isdigit() or not 0 < int(parts[-2]) < 65536 or not parts[-1].isdigit():
        raise InvalidInput(f"invalid port {spec!r}: expected PUBLISHED:TARGET", "e.g. ports=['8080:80']")
    return int(parts[-2])


def update_config(base: dict, plan: UpdateStrategy) -> dict:
    """A service's update config: `base` with what `plan` sets."""
    config = dict(base)
    for key in SWARM_DEFAULTS:
        if getattr(plan, key) is not None:
            config[key] = getattr(plan, key)
    return config


class Swarm(Flavor):
    name = "swarm"
    kind = "services"
    heartbeat = HEARTBEAT

    def build(self, nodes: int, managers: int, rate: float) -> None:
        sim = self.sim
        sim.scheduler = Scheduler(self.api, self.clock, rate)
        sim.orchestrator = SwarmOrchestrator(self.api, self.clock)
        # SwarmKit's dispatcher marks a node down 3 heartbeat periods after its last heartbeat (a timer
        # per node, checked here every 0.25 s); the playground's swarm beats every 2 s (the default is 5 s)
        sim.lifecycle = NodeLifecycleController(self.api, self.clock, lambda node: None,
                                                grace=3 * HEARTBEAT, eviction=0.0, period=0.25)
        self.api.has_quorum = sim.has_quorum
        for i in range(nodes):
            sim.add_node(role="manager" if i < managers else "worker")

    def swarm_info(self) -> SwarmInfo:
        """The simulated swarm's leader: its first Ready manager, while a majority of them is Ready
        (`docker node ls` and the lessons read it here)."""
        managers = [n for n in self.api.items("nodes").values() if n.role == "manager"]
        up = [n.name for n in managers if n.ready]
        return SwarmInfo(leader=up[0] if len(up) * 2 > len(managers) else None)

    # -- workloads ----------------------------------------------------------------------------
    def deploy(self, spec: DeploySpec, template: Template, labels: dict) -> None:
        published = [published_port(p) for p in spec.ports if ":" in str(p)]
        for port in published:
            self.check_port_free(port)
        self.api.admit_new("services", spec.name)
        self.api.write("services", Service(spec.name, spec.replicas, template,
                                           update_config(SWARM_DEFAULTS, spec.strategy), labels))
        self.sim.published.update({port: spec.name for port in published})

    def update(self, obj: Service, image: str, plan: UpdateStrategy, force: bool = False, **changes) -> None:
        """A new image (and other template fields in `changes`, env=...) rolls out; `force`: a new
        template even when nothing changed, every task replaced (`docker service update --force`)."""
        obj.update_config = update_config(obj.update_config, plan)
        if image == obj.template.image and not force and all(getattr(obj.template, k) == v for k, v in changes.items()):
            self.api.write("services", obj)
            return
        obj.previous, obj.template = obj.template, obj.template.copy(image=image, **changes)
        obj.version += 1
        self.api.write("services", obj)
        self.sim.orchestrator.start_update(obj)

    def rollback(self, obj: Service) -> None:
        if obj.previous is None:
            raise NotFound(f"service {obj.name} does not have a previous spec", "update it once before rolling back")
        obj.template, obj.previous = obj.previous, obj.template
        obj.version += 1
        self.api.write("services", obj)
        self.sim.orchestrator.start_update(obj, rollback=True)

    def history(self, obj: Service) -> list[tuple[int, str]]:
        return ([(obj.version - 1, obj.previous.image)] if obj.previous else []) + [(obj.version, obj.template.image)]

    def statuses(self) -> Iterator[WorkloadStatus]:
        return (self.status(s) for s in self.api.items("services").values())

    def status(self, svc: Service) -> WorkloadStatus:
        pods = self.api.items("pods")
        live = [t for slot, names in svc.slots.items() if slot <= svc.replicas
                for t in (pods.get(n) for n in names)
                if t is not None and not t.deleting and t.phase in ("pending", "running")]
        ready = sum(1 for t in live if t.ready)
        updated = sum(1 for t in live if t.template is svc.template)
        rollout = {"updating": "progressing", "rollback_started": "rolling back", "paused": "paused",
                   "rollback_paused": "paused"}.get(svc.update_state, "complete")
        config = svc.update_config
        return WorkloadStatus(name=svc.name, image=svc.template.image, desired=svc.replicas, current=len(live),
                              ready=ready, updated=updated, available=ready, revision=svc.version, kind="service",
                              strategy=config["order"], max_surge=1 if config["order"] == "start-first" else 0,
                              max_unavailable=config["parallelism"] or svc.replicas,
                              paused=svc.update_state.endswith("paused"), rollout=rollout,
                              message=svc.update_message, labels=tuple(sorted(svc.labels.items())))

    # -- nodes --------------------------------------------------------------------------------
    def node_status(self, n: NodeObj) -> str:
        return ("Ready" if n.ready else "Down") + ("" if n.availability == "active" else f" ({n.availability})")

    def machine(self, name: str, agent: NodeAgent) -> Iterator[Component]:
        if agent.node.role == "manager":
            yield Component(name="manager", running=agent.node.up, node=name)
        yield from super().machine(name, agent)

    def drain(self, node: NodeObj) -> None:
        self.cordon_and_evict(node, source="manager")

    def pause_node(self, node: NodeObj) -> None:
        """`docker node update --availability pause`: no new tasks, the running ones stay."""
        self.cordon(node, "pause")

    # -- the routing mesh ---------------------------------------------------------------------
    def expose(self, name: str, port: int) -> None:
        """PORT published through the routing mesh, as `docker service update --publish-add PORT:80`."""
        if name not in self.api.items("services"):
            raise NotFound(f"no service named {name!r} to publish", "deploy it first")
        if self.sim.published.get(port) != name:  # publishing a port again is no change
            self.check_port_free(port)
        self.sim.published[port] = name

    def check_port_free(self, port: int) -> None:
        holder = self.sim.published.get(port)
        if holder is not None:  # moby's words (the manager's port allocator)
            raise AlreadyExists(f"port '{port}' is already in use by service '{holder}' as an ingress port",
                                "publish another port")

    def service(self, name: str):
        from ....model import Service as Exposed

        port = next((p for p, holder in self.sim.published.items() if holder == name), None)
        return None if port is None else Exposed(name, port)
