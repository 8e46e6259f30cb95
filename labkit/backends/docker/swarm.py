"""A real Docker Swarm: lecture 45, services that heal, scale and roll out.

By default the swarm is a local multi-node playground (see `playground.py`):
N Docker-in-Docker nodes on one machine, node-1 the manager. With
`playground=False` labkit uses the user's own engine: it runs `swarm init`
when the engine is in no swarm (and labels that swarm as its own), and it
never leaves or changes a swarm it did not create (it only adds labelled
services to it).

A workload is a replicated service; a replica is a task, named
`<service>.<slot>.<task id prefix>`. Differences from Kubernetes worth
knowing (and shown by the lessons):
- Swarm has no pause for a rollout that is going well: `pause` raises `Refused`.
  An update pauses by itself when tasks fail (failure_action="pause");
  `resume` then restarts it.
- `rollback` swaps back to the previous spec (Swarm keeps one), and labkit
  records it as a new revision, as `kubectl rollout undo` would.
- A recovered node does not get its tasks back: Swarm does not rebalance.
- Managers can be failed too (`managers=3` makes node-1..node-3 managers):
  labkit then talks to another one, and refuses changes with a clear
  `Unavailable` once a majority of them is down (see `managers.py`).
- `init=False` starts one machine with Docker and no swarm: the console's
  real `docker swarm init` makes it, and each `docker swarm join` runs on a
  new machine (lesson 02).
"""
from __future__ import annotations

import random
import threading
import time
from dataclasses import replace
from typing import Callable

from ... import validate
from ...errors import AlreadyExists, InvalidInput, NotFound, Refused, Unavailable
from ...model import ClusterState, Component, Event, Node, Replica, SwarmInfo, WorkloadStatus
from . import common as du
from .playground import index_of
from ..base import LABEL, CliTarget, DeploySpec, UpdateStrategy

NS = 1_000_000_000
# What `docker service create` sends when no --update-* flag is given.
SWARM_UPDATE_DEFAULTS = {"Parallelism": 1, "Delay": 0, "FailureAction": "pause", "Monitor": 5 * NS,
                         "MaxFailureRatio": 0, "Order": "stop-first"}
_PENDING = {"new", "pending", "assigned", "accepted", "ready", "preparing", "starting"}
_GONE = {"shutdown", "orphaned", "remove"}
_ROLLOUT = {None: "complete", "": "complete", "updating": "progressing", "paused": "paused",
            "completed": "complete", "rollback_started": "rolling back", "rollback_paused": "paused",
            "rollback_completed": "complete"}
REJOIN_WAIT = 120.0  # seconds for a machine powered back on to be Ready in its swarm again


@du.speaks_labkit
class SwarmBackend(du.RealTime):
    """Services on a real swarm; see the module docstring."""

    name = "swarm"
    simulated = False
    on_simulator = False
    flavor = "swarm"

    @property
    def max_replicas(self) -> int:
        """The most replicas of one workload labkit asks of it: tasks across the playground's Docker-in-Docker nodes."""
        return validate.max_replicas(100)

    def __init__(self, nodes: int = 3, flavor: str | None = None, seed: int = 0, *,
                 managers: int = 1, init: bool = True, name: str | None = None,
                 lab: str | None = None, keep: bool = False, base_url: str | None = None,
                 playground: bool = True, reaper: bool = True, quiet: bool = False) -> None:
        if flavor not in (None, "swarm"):
            raise InvalidInput(f"the swarm backend has only the 'swarm' flavor, not {flavor!r}",
                               f"use labkit.connect('sim', flavor={flavor!r}) to imitate {flavor}")
        if not playground and (managers != 1 or not init):
            raise InvalidInput("managers= and init=False need the playground, where labkit owns the machines",
                               "labkit.connect('swarm', nodes=5, managers=3)")
        if not init and nodes != 1:
            raise InvalidInput(f"a swarm begins on one machine: init=False takes nodes=1, not {nodes}",
                               "each `docker swarm join` then adds a machine")
        super().__init__()
        # A second swarm in one notebook (name="ha") gets a lab of its own: its own machines.
        self.lab = du.lab_id(f"{du.lab_id(lab)}-{name}" if name else lab)
        self.host = du.connect(base_url)
        self.keep = keep
        self._rng = random.Random(seed)
        self._progress = du.Progress("swarm", quiet=quiet)
        self._lock = threading.RLock()
        self._history: dict[str, list[tuple[int, str]]] = {}
        self._exposed: dict[str, int] = {}  # service -> the port asked for (the playground's tasks publish their own)
        self._last = ClusterState(backend=self.name, flavor=self.flavor, time=0.0)
        self.startup_seconds = 0.0
        self.pg = None
        self.managers = None
        self._formed = init
        if reaper:
            from . import reaper as reaper_mod
            reaper_mod.watch(self.lab, keep=keep, base_url=base_url)
        from . import images
        if playground:
            from .playground import Playground
            from .managers import Managers
            self.pg = Playground(self.host, self.lab, self._progress)
            self.startup_seconds = self.pg.up(nodes, managers=managers, init=init)
            self.managers = Managers(self.pg, managers)
        else:
            images.ensure_images(self.host, self._progress)
            self._own_swarm = self._join_or_init()
        if self._formed:
            for s in self._services():
                self._history[s.name] = [(1, _image(s.attrs))]

    @property
    def engine(self) -> str:
        """What runs underneath, in a phrase (`Cluster.about()`)."""
        with du.engine_errors("engine"):  # a property: speaks_labkit wraps methods only
            version = self.host.info().get("ServerVersion", "?")
        where = ("labkit's playground: each machine a Docker-in-Docker container" if self.pg is not None
                 else "your own engine's swarm")
        return f"a real swarm of Docker Engine {version} machines ({where})"

    @property
    def api(self):
        """The engine that speaks for the swarm: a manager (your engine without the playground)."""
        return self.host if self.managers is None else self.managers.client()

    def _leader(self):
        """Make sure the swarm can take a change now (waiting through an election); see Managers.
        Called before taking the lock, so that a live view's state() is not held up meanwhile."""
        if self.managers is None:
            return
        if not self._formed:
            raise Unavailable("node-1 is not in a swarm yet", "make one: %docker swarm init")
        self.managers.leader(progress=self._progress)

    def _across_an_election(self, action: Callable[[], None]) -> None:
        """Run `action` (a change to the swarm, which takes the lock itself) once the swarm has a
        leader, and again while its managers answer that they have none (see
        Managers.through_elections). Only for changes that are the same when made twice."""
        if self.managers is None or not self._formed:  # your own engine's swarm, or none yet
            self._leader()
            return action()
        return self.managers.through_elections(action, self._progress)

    def settle(self) -> None:
        """Before a command the real CLI sends: wait through a leader election when a majority of
        managers is up; do nothing otherwise (without a quorum the CLI says so itself)."""
        if self.managers is not None and self._formed and self.managers.problem() is None:
            self.managers.leader(progress=self._progress)

    def refusal(self) -> Unavailable | None:
        """Why this swarm refuses changes now, with what to do (None: it takes them)."""
        if self.managers is None or not self._formed:
            return None
        return self.managers.refusal()

    def _join_or_init(self) -> bool:
        """Use the engine's swarm; create one (labelled as labkit's) if there is none."""
        swarm = self.host.info().get("Swarm") or {}
        if swarm.get("LocalNodeState") == "active":
            if not swarm.get("ControlAvailable"):
                raise Unavailable("this engine is a swarm worker: services can only be created on a manager",
                                  "run labkit on a manager node, or use the playground: labkit.connect('swarm')")
            self.host.swarm.reload()
            return ((self.host.swarm.attrs.get("Spec") or {}).get("Labels") or {}).get(LABEL) is not None
        self._progress.step("docker swarm init (on your engine; `labkit reset` leaves it again)")
        self.host.swarm.init(advertise_addr="127.0.0.1", listen_addr="127.0.0.1:2377", labels={LABEL: self.lab})
        return True

    # -- lookups ------------------------------------------------------------------------
    def _services(self) -> list:
        return self.api.services.list(filters={"label": f"{LABEL}={self.lab}"})

    def _service(self, name: str):
        import docker
        try:
            s = self.api.services.get(name)
        except docker.errors.NotFound:
            raise NotFound(f"no service named {name!r} in this swarm", "deploy it first") from None
        if not du.owned(s.attrs["Spec"].get("Labels"), self.lab):
            raise Refused(f"the service {name!r} is not this lab's", "labkit only touches services it made")
        return s

    def _nodes(self) -> list:
        return self.api.nodes.list()

    def _node(self, name: str):
        for n in self._nodes():
            if n.attrs["Description"]["Hostname"] == name:
                return n
        raise NotFound(f"no node named {name!r} in this swarm", "see cluster.nodes")

    # -- workloads ---------------------------------------------------------------------------
    def deploy(self, spec: DeploySpec) -> None:
        import docker
        from docker.types import EndpointSpec, ServiceMode
        self._leader()
        with self._lock:
            try:
                existing = self.api.services.get(spec.name)
            except docker.errors.NotFound:
                existing = None
            if existing is not None:
                mine = du.owned(existing.attrs["Spec"].get("Labels"), self.lab)
                raise AlreadyExists(f"a service named {spec.name!r} already exists"
                                    + ("" if mine else " and is not labkit's"),
                                    "pick another name" + ("" if not mine else ", or delete it first"))
            self._require_image(spec.image)
            labels = {k: v for k, v in spec.labels.items() if not k.startswith(LABEL)}
            labels.update(du.labels(self.lab, "service", **{du.WORKLOAD: spec.name}))
            task_labels = du.labels(self.lab, "task", **{du.WORKLOAD: spec.name})
            endpoint = None
            if spec.ports:
                entries = _publish(spec.ports, "ingress")  # each checked as docker -p checks it
                if self.pg:  # no mesh here: each task's own port on its node (labkit.traffic_live)
                    web = next((e for e in entries if e["TargetPort"] == 80), None)
                    if web is not None:
                        self._exposed[spec.name] = web.get("PublishedPort", 80)
                    entries = [{"Protocol": e["Protocol"], "TargetPort": e["TargetPort"], "PublishMode": "host"}
                               for e in entries]
                endpoint = EndpointSpec(ports=entries)
            update = _update_config(SWARM_UPDATE_DEFAULTS, spec.strategy)
            try:
                self.api.services.create(
                    spec.image, name=spec.name, mode=ServiceMode("replicated", replicas=spec.replicas),
                    labels=labels, container_labels=task_labels, env=[f"{k}={v}" for k, v in spec.env.items()],
                    update_config=update, endpoint_spec=endpoint, healthcheck=du.healthcheck(spec.probe),
                    networks=[spec.network] if spec.network else None)
            except BaseException:
                self._remove_service(spec.name)  # interrupted mid-call: whatever got made goes
                raise
            self._history[spec.name] = [(1, spec.image)]
            self._note("ServiceCreated", f"service/{spec.name}", f"{spec.replicas} x {spec.image}", source="swarm manager")

    def _remove_service(self, name: str) -> None:
        import docker
        try:
            s = self.api.services.get(name)
            if du.owned(s.attrs["Spec"].get("Labels"), self.lab):
                s.remove()
        except docker.errors.NotFound:
            pass

    def ensure_demo_images(self) -> None:
        """On the user's own engine: build them; on the playground: every node that has power
        holds them (a node started later gets them when it starts)."""
        from . import images
        if self.pg is None:
            images.ensure_images(self.api, self._progress)
        else:
            self.pg.load_images()

    def _require_image(self, image: str) -> None:
        """The image must be on the manager (playground nodes have the demo images loaded)."""
        import docker
        from . import images
        if images.lookup(image) and self.pg is None:
            self.ensure_demo_images()
        try:
            self.api.images.get(image)
            return
        except docker.errors.ImageNotFound:
            pass
        if self.pg is None:
            try:
                self.api.images.pull(image)
                return
            except du.engine_failures():  # no such image, or no registry: said below, better
                pass
        demo = ", ".join(sorted(images.DEMO_IMAGES))
        raise NotFound(f"image {image!r} is not on the swarm's nodes and no registry can provide it",
                       f"the demo images are {demo}")

    def scale(self, name: str, replicas: int) -> None:
        def scale() -> None:
            with self._lock:
                self._service(name).scale(replicas)
        self._across_an_election(scale)

    def update(self, name: str, image: str, strategy: UpdateStrategy) -> None:
        self._across_an_election(lambda: self._update(name, image, strategy))

    def _update(self, name: str, image: str, strategy: UpdateStrategy) -> None:
        with self._lock:
            s = self._service(name)
            self._require_image(image)
            current = s.attrs["Spec"].get("UpdateConfig") or SWARM_UPDATE_DEFAULTS
            s.update(image=image, update_config=_update_config(current, strategy))
            history = self._history.setdefault(name, [(1, _image(s.attrs))])
            history.append((history[-1][0] + 1, image))
            self._note("UpdateStarted", f"service/{name}", f"rolling out {image}", source="swarm manager")

    def rollback(self, name: str) -> None:
        self._leader()
        with self._lock:
            s = self._service(name)
            previous = s.attrs.get("PreviousSpec")
            if not previous:
                raise Refused(f"{name} has no previous revision to roll back to",
                              "update it first: rollback returns to the spec before the last update")
            rollback_service(self.api.api, s.id, s.version, s.attrs["Spec"])
            image = _image({"Spec": previous})
            history = self._history.setdefault(name, [(1, _image(s.attrs))])
            history.append((history[-1][0] + 1, image))
            self._note("RollbackStarted", f"service/{name}", f"rolling back to {image}", source="swarm manager")

    def pause(self, name: str) -> None:
        self._service(name)
        raise Refused("Swarm cannot pause a rollout on request",
                      "an update pauses by itself when tasks fail (failure_action='pause'); "
                      "slow one down with update(..., delay=10), or roll back with .rollback()")

    def resume(self, name: str) -> None:
        self._leader()
        with self._lock:
            s = self._service(name)
            state = (s.attrs.get("UpdateStatus") or {}).get("State")
            if state not in ("paused", "rollback_paused"):
                raise Refused(f"{name}'s rollout is not paused (it is {state or 'complete'})",
                              "resume applies after Swarm paused an update because tasks failed")
            self.api.api.update_service(s.id, s.version, fetch_current_spec=True)

    def history(self, name: str) -> list[tuple[int, str]]:
        s = self._service(name)
        return list(self._history.setdefault(name, [(1, _image(s.attrs))]))

    def delete(self, name: str) -> None:
        self._leader()
        with self._lock:
            self._service(name).remove()
            self._history.pop(name, None)
            self._exposed.pop(name, None)

    # -- plain containers: Swarm runs services --------------------------------------------
    def run_container(self, name: str, image: str, restart: str) -> None:
        raise Refused("a swarm runs services, not single containers",
                      f"deploy a service of one replica: cluster.deploy({name!r}, image={image!r}, replicas=1), "
                      "or use labkit.connect('docker') for `docker run`")

    def start_container(self, name: str) -> None:
        self.run_container(name, "", "no")

    def remove_container(self, name: str) -> None:
        self.run_container(name, "", "no")

    # -- nodes -------------------------------------------------------------------------------
    def _node_container(self, name: str):
        if self.pg is None:
            raise Refused(f"labkit does not switch off nodes of your own swarm ({name})",
                          "use the playground, where nodes are containers: labkit.connect('swarm', nodes=3)")
        i = index_of(name)
        found = self.pg.node_containers().get(i) if i else None
        if found is None:
            raise NotFound(f"no playground node named {name!r}", "see cluster.nodes")
        return i, found

    def fail_node(self, name: str) -> None:
        with self._lock:
            i, container = self._node_container(name)
            if self.managers is not None:
                self.managers.switch_from(i)
            container.reload()
            if container.status == "running":
                container.kill()  # the power goes: dockerd and every task on the node die at once
            self._note("NodeDown", f"node/{name}", f"{name} switched off", type="Warning")

    def recover_node(self, name: str) -> None:
        """Power a node back on; returns once the swarm has it back (see _wait_rejoined), or at
        once its engine answers when the swarm cannot say (no quorum, no swarm yet)."""
        with self._lock:
            i, container = self._node_container(name)
            container.reload()
            if container.status != "running":
                container.start()
                self.pg.wait_engine(i)
            self._note("NodeUp", f"node/{name}", f"{name} powered on: its dockerd restarts and rejoins the swarm")
        if self._formed and self.managers.problem() is None:
            self.managers.leader(progress=self._progress)
            self._wait_rejoined(name)

    def _wait_rejoined(self, name: str, timeout: float = REJOIN_WAIT) -> None:
        """Wait until `name`'s agent is back in the swarm and the managers see it Ready, with every
        other powered node (a new leader marks them all "unknown" until each reports again): a
        change made sooner may find no node to place its tasks on, and a task may be left pending."""
        deadline = time.monotonic() + timeout
        shown = False
        while not self._rejoined(name):
            if time.monotonic() > deadline:
                raise Unavailable(f"{name} is powered on but the swarm has not seen it back within {timeout:g} s",
                                  f"see `docker logs {self.pg.names.container(index_of(name))}`; "
                                  "cluster.state() shows it once it rejoins")
            if not shown:
                self._progress.step(f"waiting for {name} to rejoin the swarm")
                shown = True
            time.sleep(0.5)

    def _rejoined(self, name: str) -> bool:
        """Whether `name`'s own engine says its agent is in the swarm again, the managers see it
        Ready, and none of the powered nodes is "unknown" to them any more."""
        try:
            local = (self.pg.node_client(index_of(name)).info().get("Swarm") or {}).get("LocalNodeState")
            if local != "active":
                return local != "pending"  # in no swarm (left, or never joined): nothing to wait for
            powered = {f"node-{i}" for i, c in self.pg.node_containers().items() if c.status == "running"}
            seen = [(n.attrs["Description"]["Hostname"], n.attrs["Status"]["State"]) for n in self._nodes()]
        except du.engine_failures():  # its engine, or the managers, still busy after the restart
            return False
        return (name, "ready") in seen and not any(host in powered and state == "unknown" for host, state in seen)

    # -- machines joining (lesson 02: the student's own `docker swarm join`) -------------------
    def new_machine(self) -> tuple[str, str]:
        """Start one more playground machine in no swarm: (its name, its engine's URL)."""
        if self.pg is None:
            raise Refused("labkit adds machines only to its playground, not to your own swarm",
                          "use the playground: labkit.connect('swarm')")
        i = self.pg.add_machine()
        return f"node-{i}", self.pg.names.socket_url(i)

    def in_swarm(self, name: str) -> bool:
        """True when machine `name` is in a swarm, or on its way in (a slow join goes on by itself)."""
        try:
            state = (self.pg.node_client(index_of(name)).info().get("Swarm") or {}).get("LocalNodeState")
        except du.engine_failures():  # its engine does not answer (yet): not in a swarm
            return False
        return state in ("active", "pending")

    def remove_machine(self, name: str) -> None:
        """Remove a machine that `new_machine` started (its join failed: nothing half made)."""
        i, _ = self._node_container(name)
        self.pg.remove_machine(i)

    def add_node(self, role: str = "worker") -> str:
        """A new machine joins as `role`, as `docker swarm join --token <token>` on it would."""
        self._leader()
        with self._lock:
            name, _ = self.new_machine()
            try:
                token = self.join_token(role)
                self.pg.node_client(index_of(name)).swarm.join(
                    remote_addrs=[self.manager_address()], join_token=token, listen_addr="0.0.0.0:2377")
            except BaseException:
                self.remove_machine(name)
                raise
            self._note("NodeJoined", f"node/{name}", f"joined as a {role}", source="swarm manager")
            return name

    def join_token(self, role: str = "worker") -> str:
        """What `docker swarm join-token -q <role>` prints."""
        self._leader()
        api = self.api
        api.swarm.reload()
        return api.swarm.attrs["JoinTokens"]["Worker" if role == "worker" else "Manager"]

    def cli_target(self, tool: str) -> CliTarget:
        """The real docker CLI on the manager labkit talks to (a playground's is known without
        connecting: it may be switched off), with this lab's label."""
        if tool != "docker":
            return CliTarget()
        if self.pg is not None:
            return CliTarget(env={"DOCKER_HOST": self.pg.names.socket_url(self.managers.current)}, lab=self.lab)
        return CliTarget(env=du.docker_host(self.api), lab=self.lab)

    def manager_address(self) -> str:
        """The address a new node joins at (`<ip>:2377` of the manager labkit talks to)."""
        if self.pg is None:
            return "127.0.0.1:2377"
        return f"{self.pg.ip(self.managers.current)}:2377"

    def swarm_changed(self) -> None:
        """After the student's own `docker swarm init`: adopt the swarm the way the playground makes one."""
        from .playground import HEARTBEAT_NS
        if self.pg is None or self._formed:
            return
        if (self.api.info().get("Swarm") or {}).get("LocalNodeState") != "active":
            return
        self._formed = True
        # Heartbeats every 2 s, as in every playground swarm: a lost node is noticed in seconds.
        self.api.swarm.update(dispatcher_heartbeat_period=HEARTBEAT_NS)

    def drain(self, name: str) -> None:
        self._availability(name, "drain")

    def uncordon(self, name: str) -> None:
        self._availability(name, "active")

    def _availability(self, name: str, value: str) -> None:
        self._leader()
        with self._lock:
            node = self._node(name)
            if self.pg is None and not self._own_swarm:
                raise Refused("labkit does not change nodes of a swarm it did not create",
                              "use the playground: labkit.connect('swarm', nodes=3)")
            spec = dict(node.attrs["Spec"])
            spec["Availability"] = value
            node.update(spec)
            self._note("NodeDrained" if value == "drain" else "NodeActive", f"node/{name}", f"availability {value}",
                       source="swarm manager")

    def kill_replica(self, name: str | None = None) -> str:
        with self._lock:
            tasks = self._visible_tasks()
            if name is None:
                running = sorted(r.name for r, _ in tasks if r.phase == "running")
                if not running:
                    raise NotFound("there is no running task to kill", "deploy a service first")
                name = self._rng.choice(running)
            found = next((t for r, t in tasks if r.name == name), None)
            if found is None:  # it may have just finished: a live swarm moves on between two looks
                found = self._any_task(name)
            if found is None:
                raise NotFound(f"no task named {name!r}", "see cluster.state().replicas")
            cid = ((found.get("Status") or {}).get("ContainerStatus") or {}).get("ContainerID")
            if not cid:
                raise Refused(f"{name} has no container yet", "wait until it runs")
            engine = self.host
            if self.pg is not None:
                host = self._hostnames().get(found.get("NodeID"), "")
                engine = self.pg.node_client(index_of(host) or 1)
            with du.tolerate(404, 409):  # gone, or not running any more: dead already
                engine.containers.get(cid).kill()  # inside its node: Swarm sees the task fail
            return name

    def _any_task(self, name: str) -> dict | None:
        """The task called `name`, even one that is no longer shown (shut down a moment ago)."""
        services = {s.id: s.name for s in self._services()}
        if not services:
            return None
        for t in self.api.api.tasks(filters={"service": list(services)}):
            if _task_name(services.get(t["ServiceID"], ""), t) == name:
                return t
        return None

    # -- requests ----------------------------------------------------------------------------------
    def expose(self, name: str, port: int) -> None:
        """`docker service update --publish-add PORT:80` (on the playground: each task's port 80
        on its own node, see labkit.traffic_live); Swarm then replaces the tasks."""
        import docker
        service = self._service(name)
        ports = (service.attrs.get("Endpoint", {}).get("Spec") or {}).get("Ports") or []
        if any(p.get("TargetPort") == 80 for p in ports):
            raise AlreadyExists(f"{name} publishes port 80 already", "send it traffic: cluster.traffic(name)")
        if not self.pg:
            self._check_port_free(port)
        entry = _publish((("80",) if self.pg else (f"{port}:80",)), "host" if self.pg else "ingress")
        # Fetched again at each try: a try the old leader committed after all has moved the version on.
        self._across_an_election(
            lambda: self._service(name).update(endpoint_spec=docker.types.EndpointSpec(ports=ports + entry)))
        self._exposed[name] = port

    def _check_port_free(self, port: int) -> None:
        for s in self._services():
            for p in (s.attrs.get("Endpoint", {}).get("Spec") or {}).get("Ports") or []:
                if p.get("PublishedPort") == port:
                    raise AlreadyExists(f"port {port} is already published by service {s.name!r}",
                                        "pick another port, or remove that service")

    def service(self, name: str):
        """What `name` is reachable at (a model.Service), or None when it publishes nothing."""
        from ...model import Service as Exposed
        spec = self._service(name).attrs.get("Spec", {}).get("EndpointSpec") or {}
        ports = [p for p in spec.get("Ports") or [] if p.get("TargetPort") == 80]
        if not ports:
            return None
        return Exposed(name, self._exposed.get(name) or ports[0].get("PublishedPort") or 80)

    def targets(self, name: str) -> list[tuple[str, int, str]]:
        """Where requests to `name` go now: [(host, port, task)]. The mesh's rule: tasks
        running (healthy, with a healthcheck) whose desired state is still running."""
        service = self._service(name)
        if not self.pg:
            published = [p for p in service.attrs.get("Endpoint", {}).get("Ports") or [] if p.get("PublishedPort")]
            return [(du.engine_host(self.api), published[0]["PublishedPort"], "")] if published else []
        hostnames = self._hostnames()
        out = []
        for t in self.api.api.tasks(filters={"service": service.id, "desired-state": "running"}):
            if t["Status"]["State"] != "running":
                continue
            index = index_of(hostnames.get(t.get("NodeID"), ""))
            for p in (t["Status"].get("PortStatus") or {}).get("Ports") or []:
                if p.get("TargetPort") == 80 and index is not None:
                    out.append((self.pg.ip(index), p["PublishedPort"], _task_name(name, t)))
        return out

    # -- looking ---------------------------------------------------------------------------------
    def _hostnames(self) -> dict[str, str]:
        return {n.id: n.attrs["Description"]["Hostname"] for n in self._nodes()}

    def _visible_tasks(self, services: list | None = None, hostnames: dict | None = None):
        """(Replica, raw task) for tasks worth showing: wanted, still running, or the latest failure of a slot."""
        services = self._services() if services is None else services
        if not services:
            return []
        hostnames = self._hostnames() if hostnames is None else hostnames
        by_id = {s.id: s for s in services}
        tasks = self.api.api.tasks(filters={"service": [s.id for s in services]})
        newest: dict[tuple, str] = {}
        failures: dict[tuple, int] = {}
        for t in sorted(tasks, key=lambda t: t.get("CreatedAt", "")):
            key = (t["ServiceID"], t.get("Slot") or t.get("NodeID"))
            newest[key] = t["ID"]
            if t["Status"]["State"] in ("failed", "rejected"):
                failures[key] = failures.get(key, 0) + 1
        out = []
        for t in tasks:
            service = by_id.get(t["ServiceID"])
            if service is None:
                continue
            state = t["Status"]["State"]
            desired = t.get("DesiredState", "")
            key = (t["ServiceID"], t.get("Slot") or t.get("NodeID"))
            wanted = desired in ("running", "ready", "accepted")
            if state == "running":
                phase = "running" if wanted else "terminating"
            elif wanted and state in _PENDING:
                phase = "pending"
            elif newest.get(key) == t["ID"] and state in ("failed", "rejected"):
                phase = "failed"
            elif wanted and state in ("failed", "rejected"):
                phase = "failed"
            elif wanted and state == "complete":
                phase = "succeeded"
            else:
                continue
            err = t["Status"].get("Err") or ""
            reason = ""
            if phase == "pending":
                reason = "Unschedulable" if "no suitable node" in err else state.capitalize()
            elif phase == "failed":
                reason = (err or state)[:80]
            image = _image({"Spec": {"TaskTemplate": t.get("Spec") or {}}})
            name = _task_name(service.name, t)
            out.append((Replica(
                name=name, workload=service.name, node=hostnames.get(t.get("NodeID")), image=image,
                phase=phase, ready=phase == "running", restarts=failures.get(key, 0) if wanted else 0,
                revision=self._revision(service.name, image), reason=reason, ip="",
                created=du.parse_time(t.get("CreatedAt")) - self._epoch0), t))
        return out

    def _revision(self, name: str, image: str) -> int:
        for rev, img in reversed(self._history.get(name, [])):
            if img == image:
                return rev
        return 1

    def state(self) -> ClusterState:
        """The swarm as its managers see it; the machines alone before `swarm init`; and, while
        no manager can answer, the last picture with the switched-off machines taken out."""
        if self.managers is not None:
            if not self._formed:
                return self._machines_state()
            if self.managers.problem():
                return self._state_without_leader()
        try:
            return self._state()
        except du.engine_failures():
            if self.managers is None:
                raise
            return self._state_without_leader()

    def _machines_state(self) -> ClusterState:
        nodes = tuple(Node(name=f"node-{i}", ready=c.status == "running", pods_capacity=1000,
                           status="Ready (no swarm)" if c.status == "running" else "Down")
                      for i, c in self.pg.node_containers().items())
        return self._snapshot(nodes, (), (), SwarmInfo(formed=False))

    def _state_without_leader(self) -> ClusterState:
        last = self._last
        powered = {f"node-{i}" for i, c in self.pg.node_containers().items() if c.status == "running"}
        nodes = tuple(replace(n, ready=n.ready and n.name in powered,
                              status=n.status if n.name in powered else "Down") for n in last.nodes)
        replicas = tuple(r for r in last.replicas if r.node in powered)  # workers keep their tasks running
        problem = self.managers.problem() or "no manager of this swarm answers"
        return self._snapshot(nodes, last.workloads, replicas, SwarmInfo(leader=None), problem)

    def _snapshot(self, nodes: tuple, workloads: tuple, replicas: tuple, swarm: SwarmInfo,
                  problem: str = "") -> ClusterState:
        version = self._versioned((nodes, workloads, replicas))
        return ClusterState(backend=self.name, flavor=self.flavor, time=self.now(), nodes=nodes,
                            workloads=workloads, replicas=replicas, components=_components(nodes),
                            version=version, lab=self.lab, problem=problem,
                            swarm=replace(swarm, playground=self.pg is not None))

    def _state(self) -> ClusterState:
        with self._lock:
            nodes_raw = self._nodes()
            if self.managers is not None:
                self.managers.seen(nodes_raw)
            hostnames = {n.id: n.attrs["Description"]["Hostname"] for n in nodes_raw}
            services = self._services()
            tasks = self._visible_tasks(services, hostnames)
            containers = self.pg.node_containers() if self.pg else {}
        replicas = sorted((r for r, _ in tasks), key=lambda r: (r.workload, r.name))
        nodes = []
        for n in sorted(nodes_raw, key=lambda n: n.attrs["Description"]["Hostname"]):
            a = n.attrs
            hostname = a["Description"]["Hostname"]
            container = containers.get(index_of(hostname)) if self.pg else None
            powered = container is None or container.status == "running"
            up = a["Status"]["State"] == "ready" and powered
            availability = a["Spec"].get("Availability", "active")
            if self.pg and container is None:
                continue  # an old id of a rebuilt node
            status = "Ready" if up else "Down"
            if availability != "active":
                status += f",{availability.capitalize()}"
            res = a["Description"].get("Resources") or {}
            mine = [r for r in replicas if r.node == hostname and r.phase == "running"]
            nodes.append(Node(
                name=hostname, role="manager" if a["Spec"].get("Role") == "manager" else "worker",
                ready=up, schedulable=availability == "active",
                cpu_capacity=int(res.get("NanoCPUs", 0) // 1_000_000), memory_capacity=int(res.get("MemoryBytes", 0) >> 20),
                pods_capacity=1000, pods_allocated=len(mine), status=status,
                labels=tuple(sorted((a["Spec"].get("Labels") or {}).items()))))
        workloads = [self._workload(s, replicas) for s in sorted(services, key=lambda s: s.name)]
        leader = next((n.attrs["Description"]["Hostname"] for n in nodes_raw
                       if (n.attrs.get("ManagerStatus") or {}).get("Leader")), None)
        self._last = self._snapshot(tuple(nodes), tuple(workloads), tuple(replicas), SwarmInfo(leader=leader))
        return self._last

    def _workload(self, s, replicas: list[Replica]) -> WorkloadStatus:
        spec = s.attrs["Spec"]
        image = _image(s.attrs)
        mine = [r for r in replicas if r.workload == s.name and r.phase != "terminating"]
        ready = sum(1 for r in mine if r.ready)
        update = spec.get("UpdateConfig") or SWARM_UPDATE_DEFAULTS
        order = update.get("Order", "stop-first")
        desired = int(((spec.get("Mode") or {}).get("Replicated") or {}).get("Replicas", 0))
        step = int(update.get("Parallelism", 1)) or desired
        status = s.attrs.get("UpdateStatus") or {}
        rollout = _ROLLOUT.get(status.get("State"), "progressing")
        history = self._history.get(s.name) or [(1, image)]
        return WorkloadStatus(
            name=s.name, image=image, desired=desired,
            current=sum(1 for r in mine if r.phase in ("pending", "running")), ready=ready,
            updated=sum(1 for r in mine if r.image == image and r.phase in ("pending", "running")),
            available=ready, revision=history[-1][0], kind="service", strategy=order,
            max_surge=step if order == "start-first" else 0,
            max_unavailable=step if order == "stop-first" else 0,
            paused=rollout == "paused", rollout=rollout, message=status.get("Message", ""),
            labels=tuple(sorted((k, v) for k, v in (spec.get("Labels") or {}).items() if not k.startswith(LABEL))))

    def events(self, since: float = 0.0) -> list[Event]:
        out = self._noted(since)
        for r, t in self._visible_tasks():
            if r.created >= since:
                out.append(Event(time=r.created, reason="Scheduled", object=f"task/{r.name}",
                                 message=f"assigned to {r.node}" if r.node else "waiting for a node", source="scheduler"))
            when = du.parse_time(t["Status"].get("Timestamp")) - self._epoch0
            if when >= since and r.phase != "pending":
                reason = {"running": "Started", "failed": "Failed", "terminating": "Killing",
                          "succeeded": "Completed"}[r.phase]
                out.append(Event(time=when, reason=reason, object=f"task/{r.name}", message=t["Status"].get("Err") or t["Status"].get("Message", ""),
                                 type="Warning" if r.phase == "failed" else "Normal", source=f"agent on {r.node}"))
        out.sort(key=lambda e: e.time)
        return out

    # -- housekeeping -----------------------------------------------------------------------
    def reset(self) -> None:
        """Remove this lab's services; power failed nodes back on and undrain them. Nodes stay."""
        with self._lock:
            self._exposed.clear()
            if self.pg is not None:
                for i, c in self.pg.node_containers().items():
                    if c.status != "running":
                        c.start()
                        self.pg.wait_engine(i)
            for container in self._task_containers(kind="container"):  # `docker run` on a node, by the student
                container.remove(force=True)
            if not self._formed:
                return
            self._leader()
            ids = []
            for s in self._services():
                ids.append(s.id)
                s.remove()
            self._history.clear()
            if self.pg is not None:
                for n in self._nodes():
                    if n.attrs["Spec"].get("Availability") != "active":
                        spec = dict(n.attrs["Spec"], Availability="active")
                        n.update(spec)
            deadline = time.monotonic() + 20
            while ids and time.monotonic() < deadline:
                try:
                    left = [c for c in self._task_containers()]
                except du.engine_failures():  # the host engine did not answer: stop waiting
                    left = []
                if not left:
                    break
                time.sleep(0.3)
            if self.pg is not None:
                self._wait_nodes_ready(60)

    def _task_containers(self, kind: str | None = None) -> list:
        """This lab's containers on every running engine (of one `io.labkit.kind` when given)."""
        engines = [self.host] if self.pg is None else [
            self.pg.node_client(i) for i, c in self.pg.node_containers().items() if c.status == "running"]
        wanted = [f"{LABEL}={self.lab}"] + ([f"{LABEL}.kind={kind}"] if kind else [])
        found = []
        for engine in engines:
            try:
                found += engine.containers.list(all=True, ignore_removed=True, filters={"label": wanted})
            except du.engine_failures():  # a node's engine going down meanwhile: nothing of ours runs there
                pass
        return found

    def _wait_nodes_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            nodes = self.state().nodes
            if all(n.ready for n in nodes):
                return
            time.sleep(0.5)

    def destroy(self) -> None:
        """Remove the whole playground (nodes, volumes, network) or leave the swarm labkit made."""
        from . import reaper
        if self.pg is not None:
            self.pg.down()
        else:
            for s in self._services():
                s.remove()
            if self._own_swarm:
                reaper.leave_swarm(self.host)
        reaper.release(self.lab)

    def close(self) -> None:
        if self.pg is not None:
            self.pg.close()
        self.host.close()


def _components(nodes: tuple) -> tuple[Component, ...]:
    """A swarm's parts: dockerd on every node; the manager's parts on managers, an agent on workers."""
    out = []
    for node in nodes:
        out.append(Component(name="dockerd", running=node.ready, node=node.name))
        if node.role == "manager":
            out += [Component(name=part, running=node.ready, node=node.name) for part in ("raft store", "orchestrator", "scheduler",
                                                                        "dispatcher")]
        else:
            out.append(Component(name="agent", running=node.ready, node=node.name))
    return tuple(out)


def rollback_service(api, service_id: str, version: int, spec: dict) -> None:
    """`docker service rollback`: the manager swaps the service back to its PreviousSpec.

    docker-py has no verb for it (its `update_service` cannot send the API's `rollback=previous`
    query, which makes the manager ignore the spec sent and use the previous one), so this is
    the one place labkit calls docker-py's private request helpers; `api` is a `docker.APIClient`."""
    response = api._post_json(api._url("/services/{0}/update", service_id), data=spec,
                              params={"version": version, "rollback": "previous"})
    api._raise_for_status(response)


def _task_name(service: str, task: dict) -> str:
    """`web.3.k2x9qa`: service, slot, and the start of the task id (a slot has many tasks over time)."""
    return f"{service}.{task.get('Slot', 0)}.{task['ID'][:6]}"


def _image(attrs: dict) -> str:
    spec = (attrs.get("Spec") or {}).get("TaskTemplate") or {}
    return ((spec.get("ContainerSpec") or {}).get("Image") or "").split("@sha256:")[0]


def _update_config(current: dict, strategy: UpdateStrategy) -> dict:
    """Swarm's UpdateConfig: the current one with every option the student gave on top."""
    config = dict(SWARM_UPDATE_DEFAULTS)
    config.update(current or {})
    parallelism, order = strategy.parallelism, strategy.order
    # Kubernetes words on a swarm: surge means start-first, unavailability stop-first.
    if parallelism is None and order is None and strategy.type in (None, "RollingUpdate"):
        surge, unavailable = strategy.max_surge, strategy.max_unavailable
        if isinstance(surge, int) and surge > 0 and unavailable in (0, None):
            parallelism, order = surge, "start-first"
        elif isinstance(unavailable, int) and unavailable > 0 and surge in (0, None):
            parallelism, order = unavailable, "stop-first"
    if strategy.type == "Recreate" and parallelism is None:
        parallelism, order = 0, "stop-first"
    if parallelism is not None:
        config["Parallelism"] = parallelism
    if order is not None:
        config["Order"] = order
    if strategy.delay is not None:
        config["Delay"] = int(strategy.delay * NS)
    if strategy.failure_action is not None:
        config["FailureAction"] = strategy.failure_action
    if strategy.monitor is not None:
        config["Monitor"] = int(strategy.monitor * NS)
    if strategy.max_failure_ratio is not None:
        config["MaxFailureRatio"] = strategy.max_failure_ratio
    return config


def _publish(ports: tuple[str, ...], mode: str) -> list[dict]:
    out = []
    for p in ports:
        published, _, target = str(p).rpartition(":")
        if not target.isdigit() or (published and not published.isdigit()):
            raise InvalidInput(f"port {p!r} is not in docker's -p form", "e.g. '8080:80' or '80'")
        entry = {"Protocol": "tcp", "TargetPort": int(target), "PublishMode": mode}
        if published:
            entry["PublishedPort"] = int(published)
        out.append(entry)
    return out
