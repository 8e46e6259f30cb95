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

Here `SwarmBackend`, the verbs and the requests (each change made once the swarm has a
leader, see `managers.py`); `swarm_specs` builds what it sends, `swarm_state` reads what
the managers return into labkit's snapshot (both pure functions), `swarm_nodes` holds the node
verbs and `swarm_machines` switches the playground's machines off and on and starts new ones.
"""
from __future__ import annotations

import random
import threading
import time
from dataclasses import replace
from typing import Callable

from ... import validate
from ...errors import AlreadyExists, InvalidInput, NotFound, Refused, Unavailable
from ...model import ClusterState, Event, SwarmInfo
from . import common as du
from . import swarm_machines as machines
from .swarm_nodes import SwarmNodes
from .swarm_specs import SWARM_UPDATE_DEFAULTS, publish, service_arguments, service_ports, update_config
from .swarm_state import (components, image_of, leader_of, machine_nodes, powered, swarm_nodes, task_events,
                          task_name, task_targets, visible_tasks, without_leader, workload_of)
from ..base import LABEL, DeploySpec, UpdateStrategy


@du.speaks_labkit
class SwarmBackend(SwarmNodes, du.RealTime):
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
            self._own_swarm = machines.join_or_init(self.host, self.lab, self._progress)
        if self._formed:
            for s in self._services():
                self._history[s.name] = [(1, image_of(s.attrs))]

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

    def _hostnames(self) -> dict[str, str]:
        return {n.id: n.attrs["Description"]["Hostname"] for n in self._nodes()}

    # -- workloads ---------------------------------------------------------------------------
    def deploy(self, spec: DeploySpec) -> None:
        import docker
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
            ports, web = service_ports(spec.ports, playground=self.pg is not None)
            if web is not None:
                self._exposed[spec.name] = web
            try:
                self.api.services.create(spec.image, **service_arguments(spec, self.lab, ports))
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
        from . import images
        if images.lookup(image) and self.pg is None:
            self.ensure_demo_images()
        machines.require_image(self.api, image, pull=self.pg is None)

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
            s.update(image=image, update_config=update_config(current, strategy))
            history = self._history.setdefault(name, [(1, image_of(s.attrs))])
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
            image = image_of({"Spec": previous})
            history = self._history.setdefault(name, [(1, image_of(s.attrs))])
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
        return list(self._history.setdefault(name, [(1, image_of(s.attrs))]))

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
            machines.kill_task(self.host, self.pg, name, found, self._hostnames)
            return name

    def _any_task(self, name: str) -> dict | None:
        """The task called `name`, even one that is no longer shown (shut down a moment ago)."""
        services = {s.id: s.name for s in self._services()}
        if not services:
            return None
        for t in self.api.api.tasks(filters={"service": list(services)}):
            if task_name(services.get(t["ServiceID"], ""), t) == name:
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
        entry = publish((("80",) if self.pg else (f"{port}:80",)), "host" if self.pg else "ingress")
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
        tasks = self.api.api.tasks(filters={"service": service.id, "desired-state": "running"})
        return task_targets(name, tasks, hostnames, self.pg.ip)

    # -- looking ---------------------------------------------------------------------------------
    def _visible_tasks(self, services: list | None = None, hostnames: dict | None = None):
        """(Replica, raw task) for tasks worth showing: wanted, still running, or the latest failure of a slot."""
        services = self._services() if services is None else services
        if not services:
            return []
        hostnames = self._hostnames() if hostnames is None else hostnames
        tasks = self.api.api.tasks(filters={"service": [s.id for s in services]})
        return visible_tasks(tasks, {s.id: s.name for s in services}, hostnames, self._history, self._epoch0)

    def state(self) -> ClusterState:
        """The swarm as its managers see it; the machines alone before `swarm init`; through a
        leader election while a majority of managers is up (a busy machine's Raft may take a
        minute: a check must not read a stale picture meanwhile); and, while no manager can
        answer, the last picture with the switched-off machines taken out."""
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
        try:  # a majority is up: an election, or the manager asked went off; read again once one leads
            return self.managers.through_elections(self._state, self._progress)
        except (Unavailable, *du.engine_failures()):
            return self._state_without_leader()

    def _machines_state(self) -> ClusterState:
        return self._snapshot(machine_nodes(self.pg.node_containers()), (), (), SwarmInfo(formed=False))

    def _state_without_leader(self) -> ClusterState:
        last = self._last
        nodes, replicas = without_leader(last, powered(self.pg.node_containers()))
        problem = self.managers.problem() or "no manager of this swarm answers"
        return self._snapshot(nodes, last.workloads, replicas, SwarmInfo(leader=None), problem)

    def _snapshot(self, nodes: tuple, workloads: tuple, replicas: tuple, swarm: SwarmInfo,
                  problem: str = "") -> ClusterState:
        version = self._versioned((nodes, workloads, replicas))
        return ClusterState(backend=self.name, flavor=self.flavor, time=self.now(), nodes=nodes,
                            workloads=workloads, replicas=replicas, components=components(nodes),
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
            containers = self.pg.node_containers() if self.pg else None
        replicas = sorted((r for r, _ in tasks), key=lambda r: (r.workload, r.name))
        nodes = swarm_nodes([n.attrs for n in nodes_raw], containers, replicas)
        workloads = [workload_of(s.name, s.attrs, replicas, self._history.get(s.name))
                     for s in sorted(services, key=lambda s: s.name)]
        leader = leader_of([n.attrs for n in nodes_raw])
        self._last = self._snapshot(tuple(nodes), tuple(workloads), tuple(replicas), SwarmInfo(leader=leader))
        return self._last

    def events(self, since: float = 0.0) -> list[Event]:
        out = self._noted(since) + task_events(self._visible_tasks(), since, self._epoch0)
        out.sort(key=lambda e: e.time)
        return out

    # -- housekeeping -----------------------------------------------------------------------
    def reset(self) -> None:
        """Remove this lab's services; power failed nodes back on and undrain them. Nodes stay."""
        with self._lock:
            self._exposed.clear()
            if self.pg is not None:
                machines.power_on_all(self.pg)
            # `docker run` on a node, by the student:
            for container in machines.lab_containers(self.host, self.pg, self.lab, kind="container"):
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
            if ids:
                machines.wait_containers_gone(self.host, self.pg, self.lab, timeout=20)
            if self.pg is not None:
                self._wait_nodes_ready(60)

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


def rollback_service(api, service_id: str, version: int, spec: dict) -> None:
    """`docker service rollback`: the manager swaps the service back to its PreviousSpec.

    docker-py has no verb for it (its `update_service` cannot send the API's `rollback=previous`
    query, which makes the manager ignore the spec sent and use the previous one), so this is
    the one place labkit calls docker-py's private request helpers; `api` is a `docker.APIClient`."""
    response = api._post_json(api._url("/services/{0}/update", service_id), data=spec,
                              params={"version": version, "rollback": "previous"})
    api._raise_for_status(response)
