"""The simulator as a labkit backend: wires the components and takes snapshots.

    kubernetes flavor: api-server + etcd + scheduler + controller-manager on a
                       control-plane node; kubelet + runtime on each worker
    swarm flavor:      managers (raft store, orchestrator, scheduler) and workers
    docker flavor:     one host, a container runtime, nobody watching

Each flavor's own rules are in flavors/, one module a flavor; this module keeps what
they share: the clock, the store and its API server, the machines, containers, events
and snapshots.
"""
from __future__ import annotations

import hashlib
from typing import Callable

from ... import validate
from ...errors import InvalidInput, NotFound, Refused, Unavailable
from ...model import ClusterState, Event, Node, Replica, WorkloadStatus
from ..base import DeploySpec, UpdateStrategy
from . import cronjobs, versions
from .daemonsets import apps_controllers
from .api import APIServer
from .autoscaler import Autoscaler
from .clock import Clock
from .controllers import delete_pod
from .flavors import Flavor
from .flavors.docker import Docker
from .flavors.kubernetes import Kubernetes
from .flavors.swarm import NO_LEADER, Swarm
from .node import NodeAgent
from .objects import NodeObj, Pod, Template
from .orchestrator import FINISHED
from .scheduler import unbind
from .store import Store
from .usage import Usage

FLAVORS: dict[str, type[Flavor]] = {flavor.name: flavor for flavor in (Kubernetes, Swarm, Docker)}


class SimBackend:
    name = "sim"
    simulated = True  # virtual time: it passes only when asked (advance)
    max_replicas = validate.SIM_MAX_REPLICAS
    on_simulator = True

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
                          node_cpu=node_cpu, node_memory=node_memory, name=name)
        self.flavor = flavor or "kubernetes"
        self.seed = seed
        self.cluster_name = name  # with the seed, what tells this cluster's swarm apart (tokens, address)
        self._built = False  # the first machines are the cluster itself; later ones join it
        self.served_api = getattr(self, "served_api", None)  # kubectl's door (console/tools/kubectl.py); kept by reset
        self.served_engine = getattr(self, "served_engine", None)  # docker's (console/tools/docker.py); kept by reset
        self.clock = Clock(seed)
        self.store = Store()
        self.api = APIServer(self.store, self.clock, self.flavor)
        self.clock.on_failure = self._component_failed
        self.agents: dict[str, NodeAgent] = {}
        self.published: dict[int, str] = {}  # Swarm: port -> the service that publishes it (routing mesh)
        self.stopped_by_hand: dict[str, str] = {}  # container -> its restart policy, back at `docker start`
        self.scheduler = self.replicasets = self.deployments = self.orchestrator = self.lifecycle = None
        self.node_size = (node_cpu, node_memory)
        self.store.watch("pods", self._dispatch)
        self.rules: Flavor = FLAVORS[self.flavor](self)  # what this flavor's engine does its own way
        self.rules.build(nodes, managers, rate)  # its components and first machines
        self.usage = Usage(self.clock)  # what pods use, from the requests they answer (usage.py)
        self.autoscaler = Autoscaler(self)  # HPAs (autoscaler.py): it looks only while there are some
        self.batch = cronjobs.controllers(self)  # Jobs and CronJobs (jobs.py, cronjobs.py)
        self.apps = apps_controllers(self)  # StatefulSets and DaemonSets (statefulsets.py, daemonsets.py)
        self._built = True
        self.tokens = {role: self._token(role) for role in ("worker", "manager")}

    # -- building the cluster ------------------------------------------------------------
    def add_node(self, name: str | None = None, role: str = "worker") -> str:
        """A new machine joins (`minikube node add`, `docker swarm join`). A swarm admits it only
        while a majority of its managers is up: its certificate comes from the Raft leader."""
        if self._built and not self.api.has_quorum():
            down = [n.name for n in self._managers() if not n.up]
            raise Unavailable(NO_LEADER, f"{len(down)} of {len(self._managers())} managers are down "
                                         f"({', '.join(down)}): a node joins only a swarm with a leader. "
                                         f"Power one back on (cluster.recover_node({down[0]!r})), or join "
                                         "another swarm")
        index = len(self.api.items("nodes"))
        name = name or f"node-{sum(1 for n in self.api.items('nodes').values() if n.role != 'control-plane') + 1}"
        cpu, memory = self.node_size
        node = NodeObj(name, role, index, cpu, memory, self.rules.pods_capacity)
        self.agents[name] = NodeAgent(self.api, self.clock, node, self.rules.heartbeat)
        self.agents[name].in_mesh = self._in_mesh
        self.api.write("nodes", node)
        if index:
            self.api.record("RegisteredNode", f"node/{name}", f"Node {name} event: Registered Node {name}",
                            source="kubelet")
        return name

    def _component_failed(self, error: Exception) -> None:
        """A controller or kubelet failed on one object: said where a student looks (`kubectl get
        events`, the event log), as the real components log it, and the cluster goes on."""
        where = next(iter(self.api.items("nodes")), "")  # the control plane's machine (Swarm: node-1)
        self.api.record("FailedSync", f"node/{where}", f"labkit's simulator met an error it did not expect and "
                        f"went on: {type(error).__name__}: {str(error)[:200]} (please report it)",
                        type="Warning", source="labkit")

    def _identity(self) -> str:
        """What makes this swarm's join tokens and address its own: its name and seed. Real tokens
        are random; these are the same on every run (so a notebook's stored outputs are), and two
        swarms of one notebook (`name=` tells them apart) do not share them, so a join typed for
        one cannot land in the other."""
        return str(self.seed) if self.cluster_name is None else f"{self.cluster_name}-{self.seed}"

    def _token(self, role: str) -> str:
        digest = hashlib.sha256(f"{self._identity()}-{role}".encode()).hexdigest()
        return f"SWMTKN-1-{digest[:50]}-{digest[50:60]}{'w' if role == 'worker' else 'm'}{digest[:14]}"

    def swarm_network(self) -> str:
        """The swarm's network, three octets: the notes' 10.10.0 for a swarm without a name,
        10.10.N (N from 1 to 254, from its name and seed) for a named one."""
        if self.cluster_name is None:
            return "10.10.0"
        digest = hashlib.sha256(f"network-{self._identity()}".encode()).digest()
        return f"10.10.{1 + int.from_bytes(digest[:4], 'big') % 254}"

    def join_address(self) -> str:
        """Where a new node joins: the first manager's `<ip>:2377`, as `docker swarm init` printed it.
        (Not `manager_address`: that would make the simulator a `base.SwarmTokens`, a real swarm.)"""
        nodes = list(self.api.items("nodes").values())
        index = next((i for i, n in enumerate(nodes) if n.role == "manager"), 0)
        return f"{self.swarm_network()}.{2 + index}:2377"

    def _managers(self) -> list[NodeObj]:
        return [n for n in self.api.items("nodes").values() if n.role == "manager"]

    def has_quorum(self) -> bool:
        managers = self._managers()
        return sum(n.up for n in managers) * 2 > len(managers)

    def _dispatch(self, event: str, pod: Pod) -> None:
        if pod.node is not None:
            if event == "DELETED" and self.scheduler is None:
                unbind(self.api, pod)
            agent = self.agents.get(pod.node)
            if agent is not None:
                agent.on_pod(event, pod)

    # -- time and looking ------------------------------------------------------------------
    def now(self) -> float:
        return self.clock.now

    def answered(self, requests: list) -> None:
        """Requests labkit's traffic sent (traffic.Request): each one answered counts on its pod's CPU,
        and is a line in its server's access log (programs.Run.served)."""
        pods = self.api.items("pods")
        for request in requests:
            if request.outcome == "ok":
                self.usage.answered(request.replica, request.time)
                pod = pods.get(request.replica)
                if pod is not None and pod.runs:
                    pod.runs[-1].served.append(request.time)

    def advance(self, seconds: float, observe: Callable[[], None] | None = None) -> None:
        self.clock.run_until(self.clock.now + seconds, observe)

    def events(self, since: float = 0.0) -> list[Event]:
        return [Event(time=t, reason=reason, object=obj, message=message, type=type, source=source)
                for t, reason, obj, message, type, source in self.api.events if t >= since]

    def state(self) -> ClusterState:
        return ClusterState(
            backend=self.name, flavor=self.flavor, time=self.clock.now,
            nodes=tuple(self._node(n) for n in self.api.items("nodes").values()),
            workloads=tuple(self.rules.statuses()), replicas=tuple(self._replicas()),
            components=tuple(self.rules.components()), version=self.store.revision, swarm=self.rules.swarm_info())

    def _node(self, n: NodeObj) -> Node:
        return Node(name=n.name, role=n.role, ready=self.rules.node_ready(n),
                    schedulable=n.schedulable, cpu_capacity=n.cpu, memory_capacity=n.memory,
                    pods_capacity=n.pods_capacity, cpu_allocated=n.cpu_used, memory_allocated=n.memory_used,
                    pods_allocated=len(n.pods), status=self.rules.node_status(n))

    def _replicas(self):
        services = self.api.items("services")
        for pod in self.api.items("pods").values():
            if pod.slot and pod.phase in FINISHED:
                names = services[pod.owner].slots.get(pod.slot, ()) if pod.owner in services else ()
                if pod.deleting or (names and names[-1] != pod.name):
                    continue  # Swarm's task history (shut down, or replaced): `docker service ps` shows it
            yield Replica(name=pod.name, workload=pod.app, node=pod.node, image=pod.image, phase=pod.phase,
                          ready=pod.ready, restarts=pod.restarts, revision=pod.revision, reason=pod.reason,
                          created=pod.created, listening=pod.listening, serving_until=pod.serving_until)

    def workloads(self) -> tuple[WorkloadStatus, ...]:
        """The workload summaries alone (cheap: from controller counters)."""
        return tuple(self.rules.statuses())

    def _in_mesh(self, pod) -> bool:
        """Whether a Swarm task is in the routing mesh: its service publishes a port."""
        return pod.owner in self.published.values()

    # -- workloads ---------------------------------------------------------------------------
    def deploy(self, spec: DeploySpec) -> None:
        template = Template(spec.image, spec.env, spec.ports, spec.cpu, spec.memory, spec.probe, pre_stop=spec.pre_stop)
        labels = {"app": spec.name, **spec.labels}
        self.rules.deploy(spec, template, labels)

    @property
    def engine(self) -> str:
        """What runs underneath, in a phrase (`Cluster.about()`)."""
        return versions.engine(self.flavor)

    def _get(self, name: str):
        kind = self.rules.kind
        obj = self.api.get(kind, name)
        if obj is None:
            raise NotFound(f'{kind[:-1]} "{name}" not found', "list them with cluster.workloads")
        return obj

    def scale(self, name: str, replicas: int) -> None:
        self.api.check()
        self.rules.scale(self._get(name), replicas)

    def update(self, name: str, image: str, strategy: UpdateStrategy) -> None:
        self.api.check()
        self.rules.update(self._get(name), image, strategy)

    def rollback(self, name: str) -> None:
        self.api.check()
        self.rules.rollback(self._get(name))

    def shape_template(self, name: str, *, annotations: dict[str, str], labels: dict[str, str], spec: dict) -> None:
        """The pod template as a client of the served API wrote it (annotations, labels, pod spec):
        a template that says more than before is a new one, so a rollout (`kubectl rollout restart`
        writes kubectl.kubernetes.io/restartedAt in its annotations)."""
        self.api.check()
        obj = self._get(name)
        now = obj.template
        if (annotations, labels, spec) != (now.annotations, now.labels, now.spec):
            obj.template = now.copy(annotations=annotations, labels=labels, spec=spec)
            self.api.write(self.rules.kind, obj)

    def run_pod(self, name: str, template: Template, restart_policy: str) -> None:
        """A bare pod as a client of the served API wrote it (kubectl run, kubectl apply of a Pod)."""
        self.api.admit_new("pods", name)
        self.api.write("pods", Pod(name, "", "", template, 1, self.clock.now, restart_policy))

    def pause(self, name: str) -> None:
        self._set_paused(name, True)

    def resume(self, name: str) -> None:
        self._set_paused(name, False)

    def _set_paused(self, name: str, paused: bool) -> None:
        self.api.check()
        self.rules.set_paused(self._get(name), paused)

    def history(self, name: str) -> list[tuple[int, str]]:
        return self.rules.history(self._get(name))

    def delete(self, name: str) -> None:
        self.api.check()
        obj = self._get(name)
        pods = self.api.items("pods")
        owned = [p for p in pods.values() if p.app == name]
        self.rules.remove(obj)
        self.published = {port: holder for port, holder in self.published.items() if holder != name}
        for pod in owned:
            delete_pod(self.api, pod, source="garbage-collector")

    # -- plain containers ------------------------------------------------------------------
    def run_container(self, name: str, image: str, restart: str) -> None:
        self.api.check()
        self.rules.run_container(name, image, restart)

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
        self.rules.on_power(node, False)

    def recover_node(self, name: str) -> None:
        node = self._node_obj(name)
        if node.up and self.agents[name].running:
            raise Refused(f"{name} is not down", "fail it first with cluster.fail_node(...)")
        self.agents[name].running = True
        self.rules.on_power(node, True)
        self.agents[name].recover()

    def drain(self, name: str) -> None:
        self.rules.drain(self._node_obj(name))

    def pause_node(self, name: str) -> None:
        """`docker node update --availability pause`: no new tasks, the running ones stay."""
        self.rules.pause_node(self._node_obj(name))

    def uncordon(self, name: str) -> None:
        node = self._node_obj(name)
        self.api.check()
        node.schedulable = node.role != "control-plane"
        node.availability = "active"
        self.api.write("nodes", node)

    # -- lesson 5: stop one component at a time ------------------------------------------------
    def stop_component(self, name: str, node: str | None = None, quiet: bool = False) -> None:
        """Stop `name`; `quiet` leaves no event naming it (a lesson's mystery outage)."""
        self.rules.switch(name, node, False, quiet)

    def start_component(self, name: str, node: str | None = None) -> None:
        self.rules.switch(name, node, True)

    # -- services: what traffic reaches ---------------------------------------------------------
    def expose(self, name: str, port: int) -> None:
        """A stable address for `name` on `port`: a Kubernetes NodePort Service, a port that
        Swarm's routing mesh publishes."""
        self.rules.expose(name, port)

    def service(self, name: str):
        """What `name` is reachable at (a model.Service), or None when nothing exposes it."""
        return self.rules.service(name)

    # -- housekeeping ------------------------------------------------------------------------------
    def join_token(self, role: str = "worker") -> str:
        return self.tokens[role]

    def reset(self, **changes) -> None:
        """Everything in the simulator is labkit's: start again from a fresh cluster; `changes`
        (flavor=, nodes=) make it another one on the same machine (the served engine's `docker swarm init`)."""
        self._args.update(changes)
        self.__init__(**self._args)

    def close(self) -> None:
        if self.served_api is not None:
            self.served_api.stop()
            self.served_api = None
        if self.served_engine is not None:
            self.served_engine.stop()
            self.served_engine = None
