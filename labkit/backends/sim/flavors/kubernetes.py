"""The kubernetes flavor: api-server, etcd, scheduler and controller-manager on a control-plane
node, a kubelet and a container runtime on each worker; workloads are Deployments."""
from __future__ import annotations

from typing import Iterator

from ....errors import AlreadyExists, NotFound, Refused
from ....model import Component, WorkloadStatus
from ...base import DeploySpec, UpdateStrategy
from ..api import K8S_DEFAULTS, fenceposts
from ..controllers import DeploymentController, NodeLifecycleController, ReplicaSetController
from ..objects import Deployment, NodeObj, Pod, Template
from ..scheduler import Scheduler
from . import Flavor

CONTROL_PLANE = ("api-server", "etcd", "scheduler", "controller-manager")


def strategy(base: dict, plan: UpdateStrategy) -> dict:
    """A deployment's strategy: `base` with what `plan` sets."""
    out = dict(base)
    for key in ("type", "max_surge", "max_unavailable", "min_ready_seconds"):
        if getattr(plan, key) is not None:
            out[key] = getattr(plan, key)
    return out


class Kubernetes(Flavor):
    name = "kubernetes"
    pods_capacity = 110  # the kubelet's --max-pods

    def build(self, nodes: int, managers: int, rate: float) -> None:
        sim = self.sim
        sim.scheduler = Scheduler(self.api, self.clock, rate)
        # the replica set controller comes second (it tells the deployment controller's queue): its
        # counts are looked up when asked
        sim.deployments = DeploymentController(self.api, self.clock, lambda rs: sim.replicasets.counts(rs))
        sim.replicasets = ReplicaSetController(self.api, self.clock, sim.deployments.queue.add)
        sim.lifecycle = NodeLifecycleController(self.api, self.clock, self.mark_pods_not_ready)
        sim.add_node("control-plane", "control-plane")
        for _ in range(nodes):
            sim.add_node()

    def mark_pods_not_ready(self, node: NodeObj) -> None:
        pods = self.api.items("pods")
        for name in sorted(node.pods):
            pod = pods[name]
            if pod.ready:
                pod.ready = False
                self.api.write("pods", pod)

    # -- workloads ----------------------------------------------------------------------------
    def deploy(self, spec: DeploySpec, template: Template, labels: dict) -> None:
        self.api.admit_new("deployments", spec.name)
        deployment = Deployment(spec.name, spec.replicas, template, strategy(K8S_DEFAULTS, spec.strategy), labels,
                                self.clock.now)
        deployment.selector = dict(labels)  # the pods' labels: a canary's carry the stable app's `app`
        self.api.write("deployments", deployment)

    def update(self, obj: Deployment, image: str, plan: UpdateStrategy) -> None:
        obj.strategy = strategy(obj.strategy, plan)
        if image != obj.template.image:
            obj.template = obj.template.copy(image=image)
        self.api.write("deployments", obj)

    def rollback(self, obj: Deployment) -> None:
        name = obj.name
        if obj.paused:
            raise Refused(f'you cannot rollback a paused deployment; resume it first with '
                          f'"kubectl rollout resume deployment/{name}" and try again',
                          f"cluster.workload({name!r}).resume(), then .rollback()")
        current = obj.template.hash()
        older = [rs for rs in self.sim.deployments.replica_sets(name) if rs.template.hash() != current]
        if not older:
            raise NotFound(f'no rollout history found for deployment "{name}"',
                           "there is nothing to go back to until you have updated the image once")
        obj.template = older[-1].template
        self.api.write("deployments", obj)

    def set_paused(self, obj: Deployment, paused: bool) -> None:
        obj.paused = paused
        self.api.write("deployments", obj)

    def history(self, obj: Deployment) -> list[tuple[int, str]]:
        return [(rs.revision, rs.template.image) for rs in self.sim.deployments.replica_sets(obj.name)]

    def remove(self, obj: Deployment) -> None:
        # the garbage collector's job: owners go, their pods follow
        for rs in self.sim.deployments.replica_sets(obj.name):
            self.api.remove("replicasets", rs.name)
        super().remove(obj)

    def statuses(self) -> Iterator[WorkloadStatus]:
        return (self.status(d) for d in self.api.items("deployments").values())

    def status(self, d: Deployment) -> WorkloadStatus:
        sets = self.sim.deployments.replica_sets(d.name)
        new = next((rs for rs in sets if rs.template.hash() == d.template.hash()), None)
        counts = [self.sim.replicasets.counts(rs.name) for rs in sets]
        current = sum(c.active for c in counts)
        updated = self.sim.replicasets.counts(new.name).active if new else 0
        available = sum(c.available for c in counts)
        surge, unavailable = fenceposts(d.strategy, d.replicas)
        if d.paused:
            rollout = "paused"
        elif d.condition == "ProgressDeadlineExceeded":
            rollout = "failed"
        elif updated == d.replicas == current == available and new is not None and new.replicas == d.replicas:
            rollout = "complete"
        else:
            rollout = "progressing"
        revision = new.revision if new else max((rs.revision for rs in sets), default=0) + 1
        return WorkloadStatus(name=d.name, image=d.template.image, desired=d.replicas, current=current,
                              ready=sum(c.ready for c in counts), updated=updated, available=available,
                              revision=revision, kind="deployment", strategy=d.strategy["type"], max_surge=surge,
                              max_unavailable=unavailable, paused=d.paused, rollout=rollout, message=d.condition,
                              labels=tuple(sorted(pod_labels(d).items())))

    # -- nodes and components -----------------------------------------------------------------
    def node_status(self, n: NodeObj) -> str:
        return ("Ready" if n.ready else "NotReady") + \
            (",SchedulingDisabled" if not n.schedulable and n.role != "control-plane" else "")

    def components(self) -> Iterator[Component]:
        sim = self.sim
        running = {"api-server": self.api.running, "etcd": sim.store.up, "scheduler": sim.scheduler.running,
                   "controller-manager": sim.deployments.queue.running}
        for name in CONTROL_PLANE:
            yield Component(name=name, running=running[name], node="control-plane")
        yield from super().components()

    def run_container(self, name: str, image: str, restart: str) -> None:
        """A bare pod (`kubectl run`): the scheduler places it; the kubelet always restarts it."""
        self.api.write("pods", Pod(name, "", "", Template(image), 1, self.clock.now))

    def drain(self, node: NodeObj) -> None:
        self.cordon_and_evict(node, source="kubectl")

    def on_power(self, node: NodeObj, on: bool) -> None:
        """The control-plane node's power: every component on it stops or starts."""
        if node.role == "control-plane":
            for name in reversed(CONTROL_PLANE) if on else CONTROL_PLANE:
                self.set_component(name, on)

    def switch(self, name: str, node: str | None, on: bool, quiet: bool = False) -> None:
        if name == "kubelet":
            self.switch_kubelet(node, on, quiet)
            return
        if name not in CONTROL_PLANE:
            raise NotFound(f"no component named {name!r}", f"choose one of {', '.join(CONTROL_PLANE)}, kubelet")
        self.set_component(name, on)
        if quiet:
            return
        self.api.record("Started" if on else "Stopped", f"component/{name}", f"{name} {'started' if on else 'stopped'}",
                        "Normal" if on else "Warning", source="student")

    def switch_kubelet(self, node: str | None, on: bool, quiet: bool) -> None:
        agent = self.sim.agents.get(node or "")
        if agent is None or agent.node.role == "control-plane":
            raise NotFound(f"no kubelet on {node!r}", "name a worker node, e.g. node='node-1'")
        agent.running = on
        if on:
            agent.recover()
        else:
            agent.node.silent_since = self.clock.now
        if quiet:
            return
        self.api.record("Started" if on else "Stopped", "component/kubelet",
                        f"kubelet on {node} {'started' if on else 'stopped'}",
                        "Normal" if on else "Warning", source="student")

    def set_component(self, name: str, on: bool) -> None:
        sim = self.sim
        if name == "api-server":
            self.api.running = on
        elif name == "etcd":
            sim.store.up = on
        elif name == "scheduler":
            sim.scheduler.running = on
            if on:
                sim.scheduler.start()
        else:
            for queue in (sim.deployments.queue, sim.replicasets.queue):
                queue.running = on
                if on:
                    queue.start()
            sim.lifecycle.running = on

    # -- services -----------------------------------------------------------------------------
    def expose(self, name: str, port: int) -> None:
        """A NodePort Service selecting the deployment's pods, as `kubectl expose deployment NAME
        --port=PORT --target-port=80 --type=NodePort` makes."""
        from ..kube import services as kube_services

        deployment = self.api.items("deployments").get(name)
        if deployment is None:
            raise NotFound(f"no deployment named {name!r} to expose", "deploy it first")
        if name in self.api.items(kube_services.KIND):
            raise AlreadyExists(f'services "{name}" already exists', "it is exposed already")
        spec = {"type": "NodePort", "selector": dict(deployment.selector), "ports": [{"port": port, "targetPort": 80}]}
        self.api.write(kube_services.KIND, kube_services.KubeService(
            name, kube_services.defaulted(name, spec, kube_services.node_ports(self.sim)), {"app": name}, {},
            self.clock.now))

    def service(self, name: str):
        from ....model import Service as Exposed
        from ..kube import services as kube_services

        svc = self.api.items(kube_services.KIND).get(name)
        if svc is None or not svc.spec.get("ports"):  # an ExternalName service names a host elsewhere
            return None
        return Exposed(name, svc.spec["ports"][0]["port"], tuple(sorted((svc.spec.get("selector") or {}).items())))


def pod_labels(d: Deployment) -> dict[str, str]:
    """The labels a deployment's pods carry, which a Service's selector matches: its pod template's as a
    client wrote them, else the facade's (the deployment's own labels, which are also its selector)."""
    return dict(d.template.labels) if d.template.labels is not None else dict(d.labels)
