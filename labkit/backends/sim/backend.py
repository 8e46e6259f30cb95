"""The simulator as a labkit backend: wires the components and takes snapshots.

    kubernetes flavor: api-server + etcd + scheduler + controller-manager on a
                       control-plane node; kubelet + runtime on each worker
    swarm flavor:      managers (raft store, orchestrator, scheduler) and workers
    docker flavor:     one host, a container runtime, nobody watching
"""
from __future__ import annotations

import hashlib
from typing import Callable

from ... import catalog
from ...errors import AlreadyExists, InvalidInput, NotFound, Refused, Unavailable
from ...model import ClusterState, Component, Event, Node, Replica, SwarmInfo, WorkloadStatus
from ..base import DeploySpec, UpdateStrategy
from .api import K8S_DEFAULTS, SWARM_DEFAULTS, APIServer, fenceposts
from . import versions
from .clock import Clock
from .controllers import DeploymentController, NodeLifecycleController, ReplicaSetController, delete_pod
from .node import NodeAgent
from .objects import Deployment, NodeObj, Pod, Service, Template
from .orchestrator import FINISHED, SwarmOrchestrator
from .scheduler import Scheduler, bind, unbind
from .store import Store

RESTART = {"no": "Never", "on-failure": "OnFailure", "always": "Always", "unless-stopped": "Always"}
SWARM_HEARTBEAT = 2.0  # seconds: `docker swarm init --dispatcher-heartbeat 2s`, as the playground makes its swarm
CONTROL_PLANE = ("api-server", "etcd", "scheduler", "controller-manager")


def published_port(spec: str) -> int:
    """The published port of a `-p` spec ("8080:80", "127.0.0.1:8080:80"), or InvalidInput."""
    parts = str(spec).split("/")[0].split(":")
    if len(parts) < 2 or not parts[-2].isdigit() or not 0 < int(parts[-2]) < 65536 or not parts[-1].isdigit():
        raise InvalidInput(f"invalid port {spec!r}: expected PUBLISHED:TARGET", "e.g. ports=['8080:80']")
    return int(parts[-2])


class SimBackend:
    name = "sim"
    simulated = True  # virtual time: it passes only when asked (advance)

    def __init__(self, nodes: int = 3, flavor: str | None = None, seed: int = 0, managers: int = 1,
                 rate: float = 100.0, node_cpu: int = 4000, node_memory: int = 8192, init: bool = True,
                 name: str | None = None, **options) -> None:
        """`init=False` with the swarm flavor: one machine with Docker, in no swarm yet (the docker
        flavor; the console's `docker swarm init` turns it into a swarm). `name` tells two
        clusters of one notebook apart (real backends give each its own machines)."""
        if options:
            raise InvalidInput(f"the simulator does not take {', '.join(sorted(options))}",
                               "it takes nodes, flavor, seed, managers, rate, node_cpu, node_memory, init, name")
        if not init:
            if flavor not in (None, "swarm") or nodes != 1:
                raise InvalidInput("init=False means one machine that is not in a swarm yet: "
                                   f"flavor='swarm', nodes=1 (not flavor={flavor!r}, nodes={nodes})",
                                   "labkit.connect(flavor='swarm', nodes=1, init=False)")
            flavor = "docker"
        self._args = dict(nodes=nodes, flavor=flavor, seed=seed, managers=managers, rate=rate,
                          node_cpu=node_cpu, node_memory=node_memory)
        self.flavor = flavor or "kubernetes"
        self.seed = seed
        self.served_api = getattr(self, "served_api", None)  # kubectl's door (console.kubectl_sim); kept by reset
        self.clock = Clock(seed)
        self.store = Store()
        self.api = APIServer(self.store, self.clock, self.flavor)
        self.agents: dict[str, NodeAgent] = {}
        self.published: dict[int, str] = {}  # Swarm: port -> the service that publishes it (routing mesh)
        self.stopped_by_hand: dict[str, str] = {}  # container -> its restart policy, back at `docker start`
        self.scheduler = self.replicasets = self.deployments = self.orchestrator = self.lifecycle = None
        self.node_size = (node_cpu, node_memory)
        self.store.watch("pods", self._dispatch)
        if self.flavor == "kubernetes":
            self.scheduler = Scheduler(self.api, self.clock, rate)
            self.deployments = DeploymentController(self.api, self.clock)
            self.replicasets = ReplicaSetController(self.api, self.clock, self.deployments.queue.add)
            self.lifecycle = NodeLifecycleController(self.api, self.clock, self._mark_pods_not_ready)
            self.add_node("control-plane", "control-plane")
            for _ in range(nodes):
                self.add_node()
        elif self.flavor == "swarm":
            self.scheduler = Scheduler(self.api, self.clock, rate)
            self.orchestrator = SwarmOrchestrator(self.api, self.clock)
            # SwarmKit's dispatcher marks a node down 3 heartbeat periods after its last heartbeat (a timer
            # per node, checked here every 0.25 s); the playground's swarm beats every 2 s (the default is 5 s)
            self.lifecycle = NodeLifecycleController(self.api, self.clock, lambda node: None,
                                                     grace=3 * SWARM_HEARTBEAT, eviction=0.0, period=0.25)
            self.api.has_quorum = self.has_quorum
            for i in range(nodes):
                self.add_node(role="manager" if i < managers else "worker")
        else:
            self.add_node("docker-host", "worker")
        self.tokens = {role: self._token(role) for role in ("worker", "manager")}

    # -- building the cluster ------------------------------------------------------------
    def add_node(self, name: str | None = None, role: str = "worker") -> str:
        """A new machine joins (`minikube node add`, `docker swarm join`)."""
        index = len(self.api.items("nodes"))
        name = name or f"node-{sum(1 for n in self.api.items('nodes').values() if n.role != 'control-plane') + 1}"
        cpu, memory = self.node_size
        node = NodeObj(name, role, index, cpu, memory, 110 if self.flavor == "kubernetes" else 0)
        self.agents[name] = NodeAgent(self.api, self.clock, node, SWARM_HEARTBEAT if self.flavor == "swarm" else 0.0)
        self.agents[name].in_mesh = self._in_mesh
        self.api.write("nodes", node)
        if index:
            self.api.record("RegisteredNode", f"node/{name}", f"Node {name} event: Registered Node {name}",
                            source="kubelet")
        return name

    def _token(self, role: str) -> str:
        digest = hashlib.sha256(f"{self.seed}-{role}".encode()).hexdigest()
        return f"SWMTKN-1-{digest[:50]}-{digest[50:60]}{'w' if role == 'worker' else 'm'}{digest[:14]}"

    def has_quorum(self) -> bool:
        managers = [n for n in self.api.items("nodes").values() if n.role == "manager"]
        return sum(n.up for n in managers) * 2 > len(managers)

    def _dispatch(self, event: str, pod: Pod) -> None:
        if pod.node is not None:
            if event == "DELETED" and self.scheduler is None:
                unbind(self.api, pod)
            agent = self.agents.get(pod.node)
            if agent is not None:
                agent.on_pod(event, pod)

    def _mark_pods_not_ready(self, node: NodeObj) -> None:
        pods = self.api.items("pods")
        for name in sorted(node.pods):
            pod = pods[name]
            if pod.ready:
                pod.ready = False
                self.api.write("pods", pod)

    # -- time and looking ------------------------------------------------------------------
    def now(self) -> float:
        return self.clock.now

    def advance(self, seconds: float, observe: Callable[[], None] | None = None) -> None:
        self.clock.run_until(self.clock.now + seconds, observe)

    def events(self, since: float = 0.0) -> list[Event]:
        return [Event(time=t, reason=reason, object=obj, message=message, type=type, source=source)
                for t, reason, obj, message, type, source in self.api.events if t >= since]

    def state(self) -> ClusterState:
        return ClusterState(
            backend=self.name, flavor=self.flavor, time=self.clock.now,
            nodes=tuple(self._node(n) for n in self.api.items("nodes").values()),
            workloads=tuple(self._workloads()), replicas=tuple(self._replicas()),
            components=tuple(self._components()), version=self.store.revision,
            swarm=self._swarm_info() if self.flavor == "swarm" else None)

    def _swarm_info(self) -> SwarmInfo:
        """The simulated swarm's leader: its first manager up, while a majority of managers is up."""
        managers = [n for n in self.api.items("nodes").values() if n.role == "manager"]
        up = [n.name for n in managers if n.up]
        return SwarmInfo(leader=up[0] if len(up) * 2 > len(managers) else None)

    def _node(self, n: NodeObj) -> Node:
        if self.flavor == "docker":
            status = "Running" if n.up else "Down"
        elif self.flavor == "swarm":
            status = ("Ready" if n.ready else "Down") + ("" if n.availability == "active" else f" ({n.availability})")
        else:
            status = ("Ready" if n.ready else "NotReady") + \
                (",SchedulingDisabled" if not n.schedulable and n.role != "control-plane" else "")
        return Node(name=n.name, role=n.role, ready=n.ready and (n.up or self.flavor != "docker"),
                    schedulable=n.schedulable, cpu_capacity=n.cpu, memory_capacity=n.memory,
                    pods_capacity=n.pods_capacity, cpu_allocated=n.cpu_used, memory_allocated=n.memory_used,
                    pods_allocated=len(n.pods), status=status)

    def _replicas(self):
        services = self.api.items("services")
        for pod in self.api.items("pods").values():
            if pod.slot and pod.phase in FINISHED:
                names = services[pod.owner].slots.get(pod.slot, ()) if pod.owner in services else ()
                if pod.deleting or (names and names[-1] != pod.name):
                    continue  # Swarm's task history (shut down, or replaced): `docker service ps` shows it
            yield Replica(name=pod.name, workload=pod.app, node=pod.node, image=pod.image, phase=pod.phase,
                          ready=pod.ready, restarts=pod.restarts, revision=pod.revision, reason=pod.reason,
                          created=pod.created, listening=pod.listening)

    def workloads(self) -> tuple[WorkloadStatus, ...]:
        """The workload summaries alone (cheap: from controller counters)."""
        return tuple(self._workloads())

    def _workloads(self):
        if self.flavor == "kubernetes":
            yield from (self._deployment_status(d) for d in self.api.items("deployments").values())
        elif self.flavor == "swarm":
            yield from (self._service_status(s) for s in self.api.items("services").values())
        else:
            yield from (self._group_status(d) for d in self.api.items("deployments").values())

    def _deployment_status(self, d: Deployment) -> WorkloadStatus:
        sets = self.deployments.replica_sets(d.name)
        new = next((rs for rs in sets if rs.template.hash() == d.template.hash()), None)
        current = sum(rs.active for rs in sets)
        updated = new.active if new else 0
        available = sum(rs.available for rs in sets)
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
                              ready=sum(rs.ready for rs in sets), updated=updated, available=available,
                              revision=revision, kind="deployment", strategy=d.strategy["type"], max_surge=surge,
                              max_unavailable=unavailable, paused=d.paused, rollout=rollout, message=d.condition,
                              labels=tuple(sorted(d.labels.items())))

    def _service_status(self, svc: Service) -> WorkloadStatus:
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

    def _group_status(self, d: Deployment) -> WorkloadStatus:
        pods = [p for p in self.api.items("pods").values() if p.app == d.name and not p.deleting]
        alive = [p for p in pods if p.phase != "failed"]
        ready = sum(1 for p in alive if p.ready)
        return WorkloadStatus(name=d.name, image=d.template.image, desired=d.replicas, current=len(alive),
                              ready=ready, updated=len(alive), available=ready, revision=1, kind="containers",
                              strategy="none", labels=tuple(sorted(d.labels.items())))

    def _in_mesh(self, pod) -> bool:
        """Whether a Swarm task is in the routing mesh: its service publishes a port."""
        return pod.owner in self.published.values()

    def _components(self):
        if self.flavor == "kubernetes":
            running = {"api-server": self.api.running, "etcd": self.store.up, "scheduler": self.scheduler.running,
                       "controller-manager": self.deployments.queue.running}
            for name in CONTROL_PLANE:
                yield Component(name=name, running=running[name], node="control-plane")
        for node_name, agent in self.agents.items():
            node = agent.node
            if self.flavor == "swarm" and node.role == "manager":
                yield Component(name="manager", running=node.up, node=node_name)
            if node.role != "control-plane":
                agent_name = {"kubernetes": "kubelet", "swarm": "agent"}.get(self.flavor, "docker-daemon")
                yield Component(name=agent_name, running=agent.alive, node=node_name)
                yield Component(name="container-runtime", running=node.up, node=node_name)

    # -- workloads ---------------------------------------------------------------------------
    def deploy(self, spec: DeploySpec) -> None:
        template = Template(spec.image, spec.env, spec.ports, spec.cpu, spec.memory, spec.probe)
        labels = {"app": spec.name, **spec.labels}
        if self.flavor == "kubernetes":
            self.api.admit_new("deployments", spec.name)
            strategy = self._k8s_strategy(K8S_DEFAULTS, spec.strategy)
            deployment = Deployment(spec.name, spec.replicas, template, strategy, labels, self.clock.now)
            deployment.selector = dict(labels)  # the pods' labels: a canary's carry the stable app's `app`
            self.api.write("deployments", deployment)
        elif self.flavor == "swarm":
            published = [published_port(p) for p in spec.ports if ":" in str(p)]
            for port in published:
                self._check_port_free(port)
            self.api.admit_new("services", spec.name)
            self.api.write("services", Service(spec.name, spec.replicas, template,
                                               self._swarm_config(SWARM_DEFAULTS, spec.strategy), labels))
            self.published.update({port: spec.name for port in published})
        else:
            self._require_image(spec.image)
            self.api.admit_new("deployments", spec.name)
            group = Deployment(spec.name, spec.replicas, template, dict(K8S_DEFAULTS), labels, self.clock.now)
            self.api.write("deployments", group)
            self._set_containers(group)

    @staticmethod
    def _k8s_strategy(base: dict, plan: UpdateStrategy) -> dict:
        strategy = dict(base)
        for key in ("type", "max_surge", "max_unavailable", "min_ready_seconds"):
            if getattr(plan, key) is not None:
                strategy[key] = getattr(plan, key)
        return strategy

    @staticmethod
    def _swarm_config(base: dict, plan: UpdateStrategy) -> dict:
        config = dict(base)
        for key in SWARM_DEFAULTS:
            if getattr(plan, key) is not None:
                config[key] = getattr(plan, key)
        return config

    @property
    def engine(self) -> str:
        """What runs underneath, in a phrase (`Cluster.about()`)."""
        return versions.engine(self.flavor)

    def _get(self, name: str):
        kind = "services" if self.flavor == "swarm" else "deployments"
        obj = self.api.get(kind, name)
        if obj is None:
            raise NotFound(f'{kind[:-1]} "{name}" not found', "list them with cluster.workloads")
        return obj

    def scale(self, name: str, replicas: int) -> None:
        self.api.check()
        obj = self._get(name)
        obj.replicas = replicas
        kind = "services" if self.flavor == "swarm" else "deployments"
        self.api.write(kind, obj)
        if self.flavor == "docker":
            self._set_containers(obj)

    def update(self, name: str, image: str, strategy: UpdateStrategy) -> None:
        self.api.check()
        obj = self._get(name)
        if self.flavor == "docker":
            raise Refused("plain Docker has no rolling update: you would stop each container and start a new one "
                          "by hand", "this is what orchestrators add: try labkit.connect(flavor='swarm')")
        if self.flavor == "kubernetes":
            obj.strategy = self._k8s_strategy(obj.strategy, strategy)
            if image != obj.template.image:
                obj.template = obj.template.copy(image=image)
            self.api.write("deployments", obj)
            return
        obj.update_config = self._swarm_config(obj.update_config, strategy)
        if image == obj.template.image:
            self.api.write("services", obj)
            return
        obj.previous, obj.template = obj.template, obj.template.copy(image=image)
        obj.version += 1
        self.api.write("services", obj)
        self.orchestrator.start_update(obj)

    def rollback(self, name: str) -> None:
        self.api.check()
        obj = self._get(name)
        if self.flavor == "docker":
            raise Refused("plain Docker keeps no history to roll back to", "try labkit.connect(flavor='swarm')")
        if self.flavor == "kubernetes":
            if obj.paused:
                raise Refused(f'you cannot rollback a paused deployment; resume it first with '
                              f'"kubectl rollout resume deployment/{name}" and try again',
                              f"cluster.workload({name!r}).resume(), then .rollback()")
            sets = self.deployments.replica_sets(name)
            current = obj.template.hash()
            older = [rs for rs in sets if rs.template.hash() != current]
            if not older:
                raise NotFound(f'no rollout history found for deployment "{name}"',
                               "there is nothing to go back to until you have updated the image once")
            obj.template = older[-1].template
            self.api.write("deployments", obj)
            return
        if obj.previous is None:
            raise NotFound(f"service {name} does not have a previous spec", "update it once before rolling back")
        obj.template, obj.previous = obj.previous, obj.template
        obj.version += 1
        self.api.write("services", obj)
        self.orchestrator.start_update(obj, rollback=True)

    def pause(self, name: str) -> None:
        self._set_paused(name, True)

    def resume(self, name: str) -> None:
        self._set_paused(name, False)

    def _set_paused(self, name: str, paused: bool) -> None:
        self.api.check()
        obj = self._get(name)
        if self.flavor != "kubernetes":
            raise Refused(f"{self.flavor} has no pause for rollouts",
                          "Swarm pauses an update by itself when a task fails (failure_action='pause')")
        obj.paused = paused
        self.api.write("deployments", obj)

    def history(self, name: str) -> list[tuple[int, str]]:
        obj = self._get(name)
        if self.flavor == "kubernetes":
            return [(rs.revision, rs.template.image) for rs in self.deployments.replica_sets(name)]
        if self.flavor == "swarm":
            return ([(obj.version - 1, obj.previous.image)] if obj.previous else []) + [(obj.version, obj.template.image)]
        return [(1, obj.template.image)]

    def delete(self, name: str) -> None:
        self.api.check()
        obj = self._get(name)
        pods = self.api.items("pods")
        owned = [p for p in pods.values() if p.app == name]
        if self.flavor == "kubernetes":  # the garbage collector's job: owners go, their pods follow
            for rs in self.deployments.replica_sets(name):
                self.api.remove("replicasets", rs.name)
        self.api.remove("services" if self.flavor == "swarm" else "deployments", obj.name)
        self.published = {port: holder for port, holder in self.published.items() if holder != name}
        for pod in owned:
            delete_pod(self.api, pod, source="garbage-collector")

    # -- plain containers ------------------------------------------------------------------
    def _require_image(self, image: str) -> None:
        if catalog.lookup(image) is None:
            raise NotFound(f"Unable to find image '{image}' locally: pull access denied, "
                           "repository does not exist or may require authorization",
                           f"the course's images are {', '.join(catalog.DEMO_IMAGES)}")

    def _set_containers(self, group: Deployment) -> None:
        """Docker flavor: what a person does by hand, `docker run` / `docker rm` until the count is right."""
        mine = sorted((p for p in self.api.items("pods").values() if p.app == group.name and not p.deleting),
                      key=lambda p: p.created)
        for pod in mine[group.replicas:]:
            delete_pod(self.api, pod, source="docker")
        taken = {p.name for p in self.api.items("pods").values()}
        numbers = (f"{group.name}-{i}" for i in range(1, 10 ** 6) if f"{group.name}-{i}" not in taken)
        for _ in range(group.replicas - len(mine)):
            self._start_pod(next(numbers), group.name, group.template, "Never")

    def _start_pod(self, name: str, app: str, template: Template, policy: str) -> None:
        pod = Pod(name, app, "", template, 1, self.clock.now, restart_policy=policy)
        if self.flavor == "kubernetes":
            self.api.write("pods", pod)  # the scheduler places a bare pod
            return
        host = next(iter(self.agents.values())).node  # docker: the host; swarm: the manager you typed on
        if not host.up:
            raise Unavailable(f"{host.name} is down: its Docker daemon does not answer",
                              f"recover it with cluster.recover_node({host.name!r})")
        bind(self.api, pod, host)

    def run_container(self, name: str, image: str, restart: str) -> None:
        self.api.check()
        if self.flavor != "kubernetes":
            self._require_image(image)
        self._start_pod(name, "", Template(image), RESTART[restart] if self.flavor != "kubernetes" else "Always")

    def _container(self, name: str) -> Pod:
        pod = self.api.items("pods").get(name)
        if pod is None:
            raise NotFound(f"No such container: {name}", "list them with cluster.state().replicas")
        return pod

    def start_container(self, name: str) -> None:
        pod = self._container(name)
        agent = self.agents[pod.node]
        if not agent.alive:
            raise Unavailable(f"{pod.node} is down", f"recover it first: cluster.recover_node({pod.node!r})")
        if pod.container_up or pod.name in agent.busy:
            return
        if name in self.stopped_by_hand:  # its restart policy applies again
            pod.restart_policy = self.stopped_by_hand.pop(name)
        pod.phase, pod.reason, pod.backoff = "pending", "", 0.0
        self.api.write("pods", pod)
        agent.start(pod)

    def stop_container(self, name: str, exit_code: int = 0) -> None:
        """`docker stop` (exit 0) / `docker kill` (137): stopped by hand, so its restart policy
        does not bring it back until `docker start` (moby: hasBeenManuallyStopped)."""
        pod = self._container(name)
        if not pod.container_up:
            return
        self.stopped_by_hand[name] = pod.restart_policy
        pod.restart_policy = "Never"
        if exit_code:
            self.api.record("Killed", f"pod/{name}", f"container killed with docker kill (exit code {exit_code})",
                            "Warning", source="docker")
        self.agents[pod.node].crash(pod, exit_code=exit_code)

    def remove_container(self, name: str) -> None:
        self.stopped_by_hand.pop(name, None)
        delete_pod(self.api, self._container(name), source="docker")

    def kill_replica(self, name: str | None = None) -> str:
        pod = self._container(name)
        if not pod.container_up:
            raise Refused(f"{name} is not running", "kill a running replica")
        self.api.record("Killed", self.api.ref(name), "container killed from outside (exit code 137)", "Warning",
                        source="container-runtime")
        self.agents[pod.node].crash(pod, exit_code=137)
        return name

    # -- nodes --------------------------------------------------------------------------------
    def _node_obj(self, name: str) -> NodeObj:
        if name not in self.agents:
            raise NotFound(f"no node named {name!r}", f"nodes: {', '.join(self.agents)}")
        return self.agents[name].node

    def fail_node(self, name: str) -> None:
        node = self._node_obj(name)
        if not node.up:
            raise Refused(f"{name} is already down", f"recover it with cluster.recover_node({name!r})")
        self.api.record("NodeFailed", f"node/{name}", f"{name} lost power", "Warning", source="student")
        self.agents[name].fail()
        if node.role == "control-plane":
            self._control_plane(False)

    def recover_node(self, name: str) -> None:
        node = self._node_obj(name)
        if node.up and self.agents[name].running:
            raise Refused(f"{name} is not down", "fail it first with cluster.fail_node(...)")
        self.agents[name].running = True
        if node.role == "control-plane":
            self._control_plane(True)
        self.agents[name].recover()

    def drain(self, name: str) -> None:
        node = self._node_obj(name)
        if self.flavor == "docker":
            raise Refused("one Docker host has nowhere to move its containers to",
                          "that is what a cluster adds: try labkit.connect(flavor='swarm')")
        self.api.check()
        node.schedulable = False
        node.availability = "drain"
        self.api.write("nodes", node)
        self.api.record("NodeNotSchedulable", f"node/{name}", f"Node {name} status is now: NodeNotSchedulable",
                        source="kubectl" if self.flavor == "kubernetes" else "manager")
        pods = self.api.items("pods")
        for pod_name in sorted(node.pods):
            pod = pods[pod_name]
            if pod.owner:  # a bare pod / plain container has nothing to recreate it
                delete_pod(self.api, pod, source="drain")
                self.api.record("Evicted", self.api.ref(pod_name), f"Evicting pod {pod_name}", source="drain")

    def pause_node(self, name: str) -> None:
        """`docker node update --availability pause`: no new tasks, the running ones stay."""
        node = self._node_obj(name)
        if self.flavor != "swarm":
            raise Refused("pause is an availability of Swarm nodes", "on Kubernetes, cordon: kubectl cordon NODE")
        self.api.check()
        node.schedulable = False
        node.availability = "pause"
        self.api.write("nodes", node)

    def uncordon(self, name: str) -> None:
        node = self._node_obj(name)
        self.api.check()
        node.schedulable = node.role != "control-plane"
        node.availability = "active"
        self.api.write("nodes", node)

    # -- lesson 5: stop one component at a time ------------------------------------------------
    def stop_component(self, name: str, node: str | None = None, quiet: bool = False) -> None:
        """Stop `name`; `quiet` leaves no event naming it (a lesson's mystery outage)."""
        self._switch(name, node, False, quiet)

    def start_component(self, name: str, node: str | None = None) -> None:
        self._switch(name, node, True)

    def _switch(self, name: str, node: str | None, on: bool, quiet: bool = False) -> None:
        if self.flavor != "kubernetes":
            raise Refused("only the kubernetes flavor has separate control-plane components",
                          "use labkit.connect(flavor='kubernetes')")
        if name == "kubelet":
            agent = self.agents.get(node or "")
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
            return
        if name not in CONTROL_PLANE:
            raise NotFound(f"no component named {name!r}", f"choose one of {', '.join(CONTROL_PLANE)}, kubelet")
        self._set_component(name, on)
        if quiet:
            return
        self.api.record("Started" if on else "Stopped", f"component/{name}", f"{name} {'started' if on else 'stopped'}",
                        "Normal" if on else "Warning", source="student")

    def _set_component(self, name: str, on: bool) -> None:
        if name == "api-server":
            self.api.running = on
        elif name == "etcd":
            self.store.up = on
        elif name == "scheduler":
            self.scheduler.running = on
            if on:
                self.scheduler.start()
        else:
            for queue in (self.deployments.queue, self.replicasets.queue):
                queue.running = on
                if on:
                    queue.start()
            self.lifecycle.running = on

    def _control_plane(self, on: bool) -> None:
        """The control-plane node's power: every component on it stops or starts."""
        for name in reversed(CONTROL_PLANE) if on else CONTROL_PLANE:
            self._set_component(name, on)

    # -- services: what traffic reaches ---------------------------------------------------------
    def expose(self, name: str, port: int) -> None:
        """Kubernetes: a NodePort Service selecting the deployment's pods, as `kubectl expose
        deployment NAME --port=PORT --target-port=80 --type=NodePort` makes; Swarm: PORT published
        through the routing mesh, as `docker service update --publish-add PORT:80`."""
        from .kube import services as kube_services

        if self.flavor == "kubernetes":
            deployment = self.api.items("deployments").get(name)
            if deployment is None:
                raise NotFound(f"no deployment named {name!r} to expose", "deploy it first")
            if name in self.api.items(kube_services.KIND):
                raise AlreadyExists(f'services "{name}" already exists', "it is exposed already")
            spec = {"type": "NodePort", "selector": dict(deployment.selector),
                    "ports": [{"port": port, "targetPort": 80}]}
            self.api.write(kube_services.KIND, kube_services.KubeService(
                name, kube_services.defaulted(name, spec, kube_services.node_ports(self)), {"app": name}, {},
                self.clock.now))
        elif self.flavor == "swarm":
            if name not in self.api.items("services"):
                raise NotFound(f"no service named {name!r} to publish", "deploy it first")
            if self.published.get(port) != name:  # publishing a port again is no change
                self._check_port_free(port)
            self.published[port] = name
        else:
            raise Refused("on one Docker host a port is published when the container starts",
                          "docker run -p 8080:80 ..., or cluster.deploy(..., ports=['8080:80'])")

    def _check_port_free(self, port: int) -> None:
        holder = self.published.get(port)
        if holder is not None:  # moby's words (the manager's port allocator)
            raise AlreadyExists(f"port '{port}' is already in use by service '{holder}' as an ingress port",
                                "publish another port")

    def service(self, name: str):
        """What `name` is reachable at (a traffic.Service), or None when nothing exposes it."""
        from ...traffic import Service as Exposed
        from .kube import services as kube_services

        if self.flavor == "kubernetes":
            svc = self.api.items(kube_services.KIND).get(name)
            if svc is None or not svc.spec.get("ports"):  # an ExternalName service names a host elsewhere
                return None
            return Exposed(name, svc.spec["ports"][0]["port"], tuple(sorted((svc.spec.get("selector") or {}).items())))
        if self.flavor == "docker":
            raise Refused("requests to one Docker host's published ports are not simulated yet",
                          "try it on a swarm: labkit.connect(flavor='swarm'), cluster.expose(name, port=8080)")
        port = next((p for p, holder in self.published.items() if holder == name), None)
        return None if port is None else Exposed(name, port)

    # -- housekeeping ------------------------------------------------------------------------------
    def join_token(self, role: str = "worker") -> str:
        return self.tokens[role]

    def reset(self) -> None:
        """Everything in the simulator is labkit's: start again from a fresh cluster."""
        self.__init__(**self._args)

    def close(self) -> None:
        if self.served_api is not None:
            self.served_api.stop()
            self.served_api = None
