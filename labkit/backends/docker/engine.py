"""One real Docker engine, one host: lecture 44, "why orchestration?".

A workload here is just a group of labelled containers `<name>.1 … <name>.N`
started by hand. Nothing watches them: a crashed container stays crashed
until someone starts it again, and scaling means running or removing
containers yourself. Restart policies (`run_container(..., restart="always")`)
are the first taste of "something watching".

Differences from the orchestrated backends, on purpose:
- `update`, `rollback`, `pause`, `resume` raise `Refused`: plain Docker has no
  rolling update; replacing containers one by one without dropping traffic is
  exactly what Swarm and Kubernetes add (try `labkit.connect("swarm")`).
- `drain`/`uncordon` raise `Refused`: with one host there is nowhere to move to.
- `fail_node` stops every container of the lab (a host failure loses them all);
  `recover_node` brings back only those whose restart policy is `always` or
  `unless-stopped`, as dockerd does when a machine boots.
"""
from __future__ import annotations

import random
import re
import threading
import time
from dataclasses import dataclass

from ... import validate
from ...errors import AlreadyExists, InvalidInput, NotFound, Refused, Unavailable
from ...model import ClusterState, Component, Event, Node, Replica, WorkloadStatus
from . import common as du
from ..base import LABEL, CliTarget, DeploySpec, UpdateStrategy

HOST = "node-1"
RESTART = LABEL + ".restart"
_EXIT = re.compile(r"Exited \((-?\d+)\)")
_EVENT_REASONS = {"create": "Created", "start": "Started", "die": "Died", "kill": "Killing",
                  "stop": "Stopping", "destroy": "Removed", "restart": "Restarted", "oom": "OOMKilled",
                  "pause": "Paused", "unpause": "Unpaused"}
NO_ORCHESTRATOR = ("plain Docker has no rolling update: replacing containers one at a time without "
                   "dropping traffic is what an orchestrator adds")


@dataclass
class Record:
    """What labkit remembers of one workload (the engine keeps only its containers)."""

    image: str
    desired: int
    history: list[tuple[int, str]]  # (revision, image), oldest first
    spec: DeploySpec | None = None  # None for one adopted from an earlier session (keep=True)

    @property
    def revision(self) -> int:
        return self.history[-1][0]


@du.speaks_labkit
class DockerBackend(du.RealTime):
    """Containers on one Docker engine; see the module docstring."""

    name = "docker"
    simulated = False
    on_simulator = False
    flavor = "docker"

    @property
    def max_replicas(self) -> int:
        """The most replicas of one workload labkit asks of it: containers on one machine."""
        return validate.max_replicas(50)

    def __init__(self, nodes: int = 1, flavor: str | None = None, seed: int = 0, *,
                 lab: str | None = None, keep: bool = False, base_url: str | None = None,
                 reaper: bool = True, quiet: bool = False) -> None:
        if flavor not in (None, "docker"):
            raise InvalidInput(f"the docker backend has only the 'docker' flavor, not {flavor!r}",
                               f"use labkit.connect('sim', flavor={flavor!r}) to imitate {flavor}")
        super().__init__()
        self.lab = du.lab_id(lab)
        self.client = du.connect(base_url)
        self.keep = keep
        self.requested_nodes = nodes  # one engine is one host, whatever was asked
        self._rng = random.Random(seed)
        self._progress = du.Progress("docker", quiet=quiet)
        self._lock = threading.RLock()
        self._workloads: dict[str, Record] = {}
        self._down: list[str] | None = None  # ids to bring back when the host recovers; None = host up
        self._lost: set[str] = set()  # ids of the containers the host's failure stopped (while it is down)
        info = self.client.info()
        self._ncpu = int(info.get("NCPU") or 1)
        self.engine = f"the real Docker Engine {info.get('ServerVersion', '?')} on this machine"
        self._mem = int(info.get("MemTotal") or 0) // (1 << 20)
        self._server = info.get("ServerVersion", "")
        self._adopt()
        if reaper:
            from . import reaper as reaper_mod
            reaper_mod.watch(self.lab, keep=keep, base_url=base_url)

    # -- what exists ----------------------------------------------------------------
    def _containers(self, workload: str | None = None) -> list:
        wanted = [f"{LABEL}={self.lab}"]
        if workload is not None:
            wanted.append(f"{du.WORKLOAD}={workload}")
        found = self.client.containers.list(all=True, sparse=True, filters={"label": wanted})
        return [c for c in found if c.attrs.get("Labels", {}).get(du.KIND) in ("replica", "container")]

    def _adopt(self) -> None:
        """Pick up workloads an earlier session of this lab left running (keep=True)."""
        for c in self._containers():
            labels = c.attrs.get("Labels", {})
            name = labels.get(du.WORKLOAD)
            if name:
                if name not in self._workloads:
                    image = labels.get(LABEL + ".image", "")
                    self._workloads[name] = Record(image, 0, [(int(labels.get(du.REVISION, "1")), image)])
                self._workloads[name].desired += 1

    @staticmethod
    def _cname(c) -> str:
        names = c.attrs.get("Names") or [c.attrs.get("Name", "")]
        return names[0].lstrip("/")

    def _require_up(self) -> None:
        if self._down is not None:
            raise Unavailable(f"the Docker host ({HOST}) is down", f"bring it back with cluster.recover_node({HOST!r})")

    def ensure_demo_images(self) -> None:
        from . import images
        images.ensure_images(self.client, self._progress)

    def _require_image(self, image: str) -> None:
        """Make demo images on demand; pull anything else; NotFound when neither works."""
        import docker
        from . import images
        if images.lookup(image):
            self.ensure_demo_images()
        try:
            self.client.images.get(image)
            return
        except docker.errors.ImageNotFound:
            pass
        try:
            self._progress.step(f"pulling {image}")
            self.client.images.pull(image)
        except du.engine_failures() as exc:  # no such image, or no registry: said better than the engine says it
            demo = ", ".join(sorted(images.DEMO_IMAGES))
            raise NotFound(f"image {image!r} is not on this Docker engine and cannot be pulled ({du._short(exc)})",
                           f"the demo images are {demo}; or build yours with `docker build -t {image} .`") from None

    # -- workloads ----------------------------------------------------------------------
    def deploy(self, spec: DeploySpec) -> None:
        with self._lock:
            self._require_up()
            ports = _ports(spec.ports, spec.replicas)
            self._check_host_ports(spec.ports)
            if spec.network:
                self._require_network(spec.network)
            self._require_image(spec.image)
            names = [f"{spec.name}.{i}" for i in range(1, spec.replicas + 1)]
            for n in names:
                du.check_container_name(self.client, n, self.lab)
            self._workloads[spec.name] = Record(spec.image, spec.replicas, [(1, spec.image)], spec)
            try:
                self._start_replicas(spec.name, range(1, spec.replicas + 1), ports)
            except BaseException:
                self._remove(self._containers(spec.name))
                del self._workloads[spec.name]
                raise

    def _require_network(self, network: str) -> None:
        import docker
        try:
            self.client.networks.get(network)
        except docker.errors.NotFound:
            raise NotFound(f"no Docker network named {network!r}",
                           f"create it with `docker network create {network}`, or leave network=None") from None

    def _start_replicas(self, name: str, indices, ports: dict | None = None) -> None:
        record = self._workloads[name]
        spec, image = record.spec, record.image
        for i in indices:
            extra = {k: v for k, v in (spec.labels if spec else {}).items() if not k.startswith(LABEL)}
            labels = dict(extra, **du.labels(self.lab, "replica", **{
                du.WORKLOAD: name, du.REVISION: record.revision, LABEL + ".image": image, RESTART: "no"}))
            self.client.containers.run(
                image, name=f"{name}.{i}", hostname=f"{name}-{i}", detach=True, labels=labels,
                environment=dict(spec.env) if spec else None,
                healthcheck=du.healthcheck(spec.probe) if spec else None,
                ports=ports if ports is not None else (_ports(spec.ports, 1) if spec else None),
                network=spec.network if spec else None)

    def scale(self, name: str, replicas: int) -> None:
        with self._lock:
            self._require_up()
            record = self._known(name)
            have = sorted(self._containers(name), key=lambda c: _index(self._cname(c)))
            record.desired = replicas
            if replicas > len(have):
                taken = {_index(self._cname(c)) for c in have}
                free = [i for i in range(1, replicas + len(have) + 1) if i not in taken][:replicas - len(have)]
                spec = record.spec
                for i in free:
                    du.check_container_name(self.client, f"{name}.{i}", self.lab)
                ports = _ports(spec.ports, replicas) if spec else None
                made = []
                try:
                    for i in free:
                        self._start_replicas(name, [i], ports)
                        made.append(f"{name}.{i}")
                except BaseException:
                    self._remove([c for c in self._containers(name) if self._cname(c) in made])
                    raise
            elif replicas < len(have):
                # Like `docker compose`: stopped ones go first, then the highest numbers.
                order = sorted(have, key=lambda c: (c.attrs.get("State") == "running", -_index(self._cname(c))))
                self._remove(order[:len(have) - replicas])

    def update(self, name: str, image: str, strategy: UpdateStrategy) -> None:
        self._known(name)
        raise Refused(NO_ORCHESTRATOR,
                      f"by hand: cluster.workload({name!r}).delete() then cluster.deploy({name!r}, "
                      f"image={image!r}, ...) (with downtime), or labkit.connect('swarm') for `docker service update`")

    def rollback(self, name: str) -> None:
        self._known(name)
        raise Refused("plain Docker keeps no revisions to roll back to",
                      "redeploy the old image by hand, or use labkit.connect('swarm') for `docker service rollback`")

    def pause(self, name: str) -> None:
        self._known(name)
        raise Refused("plain Docker has no rollout to pause", "rollouts exist on swarm and kubernetes backends")

    def resume(self, name: str) -> None:
        self.pause(name)

    def history(self, name: str) -> list[tuple[int, str]]:
        return list(self._known(name).history)

    def delete(self, name: str) -> None:
        with self._lock:
            self._known(name)
            self._remove(self._containers(name))
            del self._workloads[name]

    def _known(self, name: str) -> Record:
        if name not in self._workloads:
            raise NotFound(f"no workload named {name!r} on this Docker engine", "deploy it first")
        return self._workloads[name]

    def _remove(self, containers) -> None:
        for c in containers:
            with du.tolerate(404, 409):  # gone already, or its removal is in progress: the aim is reached
                self.client.api.remove_container(c.id, force=True, v=True)

    # -- plain containers ------------------------------------------------------------------
    def run_container(self, name: str, image: str, restart: str) -> None:
        with self._lock:
            self._require_up()
            du.check_container_name(self.client, name, self.lab)
            self._require_image(image)
            policy = None if restart == "no" else {"Name": restart}
            if restart == "on-failure":
                policy["MaximumRetryCount"] = 0
            self.client.containers.run(
                image, name=name, hostname=name, detach=True, restart_policy=policy,
                labels=du.labels(self.lab, "container", **{RESTART: restart, LABEL + ".image": image}))

    def _own(self, name: str):
        import docker
        try:
            c = self.client.containers.get(name)
        except docker.errors.NotFound:
            raise NotFound(f"no container named {name!r}", "see cluster.state().replicas") from None
        if not du.owned(c.labels, self.lab):
            raise Refused(f"the container {name!r} is not this lab's", "labkit only touches containers it made")
        return c

    def start_container(self, name: str) -> None:
        self._require_up()
        self._own(name).start()

    def remove_container(self, name: str) -> None:
        self._own(name).remove(force=True, v=True)

    def kill_replica(self, name: str | None = None) -> str:
        self._require_up()
        if name is None:
            running = sorted(self._cname(c) for c in self._containers() if c.attrs.get("State") == "running")
            if not running:
                raise NotFound("there is no running container to kill", "deploy or run something first")
            name = self._rng.choice(running)
        crash(self._own(name))
        return name

    # -- the host --------------------------------------------------------------------------
    def fail_node(self, name: str) -> None:
        self._host(name)
        with self._lock:
            if self._down is not None:
                return
            back = []
            for c in self._containers():
                if c.attrs.get("State") in ("running", "restarting"):
                    self._lost.add(c.id)
                    if c.attrs.get("Labels", {}).get(RESTART) in ("always", "unless-stopped"):
                        back.append(c.id)
                    with du.tolerate(404):  # removed since the listing: stopped all the same
                        self.client.api.stop(c.id, timeout=0)  # a stop (not kill): restart policies stay quiet
            self._down = back
            self._note("NodeDown", f"node/{HOST}", f"{HOST} failed: every container on it stopped", type="Warning")

    def recover_node(self, name: str) -> None:
        import docker
        self._host(name)
        with self._lock:
            if self._down is None:
                return
            back, self._down = self._down, None
            self._lost.clear()
            for cid in back:
                try:
                    self.client.api.start(cid)
                except docker.errors.APIError:  # removed, or cannot start now: it stays down, as on a real boot
                    pass
            self._note("NodeUp", f"node/{HOST}", f"{HOST} is back: dockerd restarted {len(back)} container(s) whose "
                       "restart policy is always/unless-stopped; the others stay down")

    def drain(self, name: str) -> None:
        self._host(name)
        raise Refused("one Docker host has nowhere to move containers to",
                      "draining needs several nodes and a scheduler: labkit.connect('swarm', nodes=3)")

    def uncordon(self, name: str) -> None:
        self.drain(name)

    def _host(self, name: str) -> None:
        if name != HOST:
            raise NotFound(f"no node named {name!r}: a Docker engine is one host, {HOST!r}", f"use {HOST!r}")

    # -- looking -----------------------------------------------------------------------
    def state(self) -> ClusterState:
        with self._lock:
            containers = self._containers()
            replicas = [self._replica(c) for c in containers]
        replicas.sort(key=lambda r: (r.workload, _index(r.name), r.name))
        workloads = []
        for name, record in sorted(self._workloads.items()):
            mine = [r for r in replicas if r.workload == name]
            image = record.image
            ready = sum(1 for r in mine if r.ready)
            exited = sum(1 for r in mine if r.phase in ("failed", "succeeded"))
            workloads.append(WorkloadStatus(
                name=name, image=image, desired=record.desired,
                current=sum(1 for r in mine if r.phase != "terminating"), ready=ready,
                updated=sum(1 for r in mine if r.image == image), available=ready,
                revision=record.revision, kind="containers", strategy="none",
                message=(f"{exited} container(s) exited: nothing restarts them on plain Docker" if exited else ""),
                labels=((du.WORKLOAD, name),)))
        running = sum(1 for r in replicas if r.phase == "running")
        node = Node(name=HOST, role="worker", ready=self._down is None, schedulable=self._down is None,
                    cpu_capacity=self._ncpu * 1000, memory_capacity=self._mem, pods_capacity=1000,
                    pods_allocated=running, status="Ready" if self._down is None else "Down",
                    labels=(("engine", f"docker {self._server}"),))
        version = self._versioned((tuple(replicas), tuple(workloads), node))
        return ClusterState(
            backend=self.name, flavor=self.flavor, time=self.now(), nodes=(node,),
            workloads=tuple(workloads), replicas=tuple(replicas),
            components=(Component(name="dockerd", running=self._down is None, node=HOST),
                        Component(name="containerd", running=self._down is None, node=HOST)),
            version=version, lab=self.lab)

    def _replica(self, c) -> Replica:
        a = c.attrs
        labels = a.get("Labels") or {}
        status = a.get("Status") or ""
        state = a.get("State") or ""
        reason = ""
        if state == "running" or state == "paused":
            phase = "running"
        elif state in ("created",):
            phase = "pending"
        elif state == "restarting":
            phase, reason = "pending", "Restarting"
        elif state == "removing":
            phase = "terminating"
        elif state == "exited":
            m = _EXIT.search(status)
            code = int(m.group(1)) if m else 1
            phase = "succeeded" if code == 0 else "failed"
            reason = f"Exited ({code})"  # docker ps's own word
        else:
            phase, reason = "failed", state.capitalize()
        if c.id in self._lost:  # labkit's word while the host is off (no daemon to ask), as on the simulator
            phase, reason = "failed", "HostDown"
        restarts = 0
        if labels.get(RESTART, "no") != "no":
            with du.tolerate(404):  # removed since the listing: no restarts to count
                restarts = int(self.client.api.inspect_container(c.id).get("RestartCount") or 0)
        return Replica(
            name=self._cname(c), workload=labels.get(du.WORKLOAD, ""), node=HOST,
            image=labels.get(LABEL + ".image") or a.get("Image", ""), phase=phase, ready=phase == "running",
            restarts=restarts, revision=int(labels.get(du.REVISION, "1")), reason=reason,
            ip=du.container_ip(a), created=float(a.get("Created") or 0) - self._epoch0)

    def wait_for_change(self, timeout: float) -> bool:
        """Block until one of this lab's containers changes, or `timeout` seconds pass; True when
        something changed. Through the engine's event stream (backends.base.Watches), so a view
        redraws the moment a container starts or dies instead of polling."""
        now = time.time()
        stream = self.client.events(since=now, until=now + timeout, decode=True,
                                    filters={"type": "container", "label": f"{LABEL}={self.lab}"})
        try:
            for _ in stream:
                return True
        finally:
            stream.close()
        return False

    def events(self, since: float = 0.0) -> list[Event]:
        start = self._epoch0 + max(since, 0.0)
        until = time.time()
        out = self._noted(since)
        if start < until:
            stream = self.client.events(since=start, until=until, decode=True,
                                        filters={"type": "container", "label": f"{LABEL}={self.lab}"})
            for e in stream:
                reason = _EVENT_REASONS.get(e.get("Action") or e.get("status"))
                if not reason:
                    continue
                attrs = (e.get("Actor") or {}).get("Attributes") or {}
                code = attrs.get("exitCode")
                warn = reason in ("Died", "OOMKilled", "Killing") and code not in (None, "0")
                message = {"Died": f"exited with code {code}", "Killing": f"killed (signal {attrs.get('signal', '')})"
                           }.get(reason, f"container {reason.lower()}")
                out.append(Event(time=e.get("timeNano", 0) / 1e9 - self._epoch0, reason=reason,
                                 object=f"container/{attrs.get('name', '')}", message=message,
                                 type="Warning" if warn or reason == "OOMKilled" else "Normal",
                                 source="dockerd"))
        out.sort(key=lambda e: e.time)
        return out

    # -- housekeeping ---------------------------------------------------------------
    def reset(self) -> None:
        """Remove every container of this lab (workloads and plain ones); nothing else."""
        with self._lock:
            self._remove(self._containers())
            self._workloads.clear()
            self._down = None
            self._lost.clear()

    def close(self) -> None:
        self.client.close()

    # -- requests ----------------------------------------------------------------------
    def expose(self, name: str, port: int) -> None:
        raise Refused("on one Docker host a port is published when the container starts",
                      "docker run -p 8080:80 ..., or cluster.deploy(..., ports=['8080:80'])")

    def cli_target(self, tool: str) -> CliTarget:
        """The real docker CLI on the engine labkit talks to, with this lab's label."""
        if tool != "docker":
            return CliTarget()
        return CliTarget(env=du.docker_host(self.client), lab=self.lab)

    def service(self, name: str):
        """What `name` answers at (a model.Service: its port 80's published port), or None."""
        from ...model import Service as Exposed
        spec = self._known(name).spec
        for p in spec.ports if spec else ():
            published, _, target = str(p).partition("/")[0].rpartition(":")
            if target == "80":
                return Exposed(name, int(published.rpartition(":")[2]) if published else 80)
        if spec is None:  # adopted from an earlier session (keep=True): what its containers publish
            for c in self._containers(name):
                for p in c.attrs.get("Ports") or []:
                    if p.get("PrivatePort") == 80 and p.get("PublicPort"):
                        return Exposed(name, p["PublicPort"])
        return None

    def targets(self, name: str) -> list[tuple[str, int, str]]:
        """[(host, port, container)]: every running container of `name`, at its published port
        80 (plain Docker balances nothing: a client picks)."""
        out = []
        for c in self._containers(name):
            if c.attrs.get("State") != "running":
                continue
            for p in c.attrs.get("Ports") or []:
                if p.get("PrivatePort") == 80 and p.get("PublicPort") and ":" not in p.get("IP", ""):
                    out.append((du.engine_host(self.client), p["PublicPort"], self._cname(c)))
        return out

    def _check_host_ports(self, ports: tuple[str, ...]) -> None:
        """AlreadyExists naming who holds a host port asked for: a container, or a program."""
        for p in ports:
            published = str(p).partition("/")[0].rpartition(":")[0].rpartition(":")[2]
            if not published:
                continue
            port = int(published)
            for c in self.client.containers.list(sparse=True):
                if any(x.get("PublicPort") == port for x in c.attrs.get("Ports") or []):
                    holder = (c.attrs.get("Names") or [c.id[:12]])[0].lstrip("/")
                    raise AlreadyExists(f"host port {port} is taken by the container {holder!r}",
                                        "publish another port, or stop that container")
            if du.engine_host(self.client) == "127.0.0.1" and not du.port_free(port):
                raise AlreadyExists(f"host port {port} is taken by a program on this machine",
                                    f"publish another port (`ss -ltnp 'sport = :{port}'` names the program)")


def _index(name: str) -> int:
    tail = name.rsplit(".", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _ports(ports: tuple[str, ...], replicas: int) -> dict | None:
    """'8080:80' / '80' (docker -p) to the SDK's {'80/tcp': 8080}; a fixed host port fits one replica."""
    out: dict = {}
    for p in ports:
        m = re.fullmatch(r"(?:(\d{1,5}):)?(\d{1,5})(/tcp|/udp)?", str(p))
        if not m:
            raise InvalidInput(f"port {p!r} is not in docker's -p form", "e.g. '8080:80' or '80'")
        host, inner, proto = m.group(1), m.group(2), m.group(3) or "/tcp"
        if host and replicas > 1:
            raise InvalidInput(f"host port {host} can serve only one container, not {replicas}",
                               f"publish '{inner}' (a random host port per replica), or use one replica")
        out[inner + proto] = int(host) if host else None
    return out or None


def crash(container) -> None:
    """Make a container's main process die of SIGKILL, as a crash would.

    `docker kill` counts as a stop by hand, after which dockerd does not apply
    the restart policy; a process that dies on its own is restarted. So, when
    the engine runs on this machine, the process is killed directly.
    """
    import os
    import signal
    pid = int((container.client.api.inspect_container(container.id).get("State") or {}).get("Pid") or 0)
    if pid > 0:
        try:
            os.kill(pid, signal.SIGKILL)
            return
        except (PermissionError, ProcessLookupError):
            pass  # a remote engine or not root: fall back to docker kill
    with du.tolerate(409):  # not running (any more): dead already
        container.kill()
