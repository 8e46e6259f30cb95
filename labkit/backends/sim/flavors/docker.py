"""The docker flavor: one host, a Docker Engine, nobody watching. A workload is a group of
containers that labkit starts and removes by hand, as a person would; nothing rolls out,
nothing moves elsewhere."""
from __future__ import annotations

from typing import Iterator

from ....model import WorkloadStatus
from ...base import DeploySpec
from ..api import K8S_DEFAULTS
from ..controllers import delete_pod
from ..objects import Deployment, NodeObj, Pod, Template
from . import Flavor, require_image

TRY_SWARM = "try labkit.connect(flavor='swarm')"


class Docker(Flavor):
    name = "docker"
    refusals = {
        "update": ("plain Docker has no rolling update: you would stop each container and start a new one by hand",
                   f"this is what orchestrators add: {TRY_SWARM}"),
        "rollback": ("plain Docker keeps no history to roll back to", TRY_SWARM),
        "drain": ("one Docker host has nowhere to move its containers to", f"that is what a cluster adds: {TRY_SWARM}"),
        "expose": ("on one Docker host a port is published when the container starts",
                   "docker run -p 8080:80 ..., or cluster.deploy(..., ports=['8080:80'])"),
        "service": ("requests to one Docker host's published ports are not simulated yet",
                    "try it on a swarm: labkit.connect(flavor='swarm'), cluster.expose(name, port=8080)"),
    }

    def build(self, nodes: int, managers: int, rate: float) -> None:
        self.sim.add_node("docker-host", "worker")

    def deploy(self, spec: DeploySpec, template: Template, labels: dict) -> None:
        require_image(spec.image)
        self.api.admit_new("deployments", spec.name)
        group = Deployment(spec.name, spec.replicas, template, dict(K8S_DEFAULTS), labels, self.clock.now)
        self.api.write("deployments", group)
        self.set_containers(group)

    def scale(self, obj: Deployment, replicas: int) -> None:
        super().scale(obj, replicas)
        self.set_containers(obj)

    def set_containers(self, group: Deployment) -> None:
        """What a person does by hand, `docker run` / `docker rm` until the count is right."""
        mine = sorted((p for p in self.api.items("pods").values() if p.app == group.name and not p.deleting),
                      key=lambda p: p.created)
        for pod in mine[group.replicas:]:
            delete_pod(self.api, pod, source="docker")
        taken = {p.name for p in self.api.items("pods").values()}
        numbers = (f"{group.name}-{i}" for i in range(1, 10 ** 6) if f"{group.name}-{i}" not in taken)
        for _ in range(group.replicas - len(mine)):
            self.start(Pod(next(numbers), group.name, "", group.template, 1, self.clock.now, restart_policy="Never"))

    def history(self, obj: Deployment) -> list[tuple[int, str]]:
        return [(1, obj.template.image)]

    def statuses(self) -> Iterator[WorkloadStatus]:
        return (self.status(d) for d in self.api.items("deployments").values())

    def status(self, d: Deployment) -> WorkloadStatus:
        pods = [p for p in self.api.items("pods").values() if p.app == d.name and not p.deleting]
        alive = [p for p in pods if p.phase != "failed"]
        ready = sum(1 for p in alive if p.ready)
        return WorkloadStatus(name=d.name, image=d.template.image, desired=d.replicas, current=len(alive),
                              ready=ready, updated=len(alive), available=ready, revision=1, kind="containers",
                              strategy="none", labels=tuple(sorted(d.labels.items())))

    def node_status(self, n: NodeObj) -> str:
        return "Running" if n.up else "Down"

    def node_ready(self, n: NodeObj) -> bool:
        return n.ready and n.up
