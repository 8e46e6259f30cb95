"""The served engine's view of one simulated swarm: the simulator, the lock every request
holds, the service specs clients wrote, the swarm's ids, and time as timestamps.

    engine = Engine(SimBackend(nodes=3, flavor="swarm"))
    engine.find_service("web")          # by full id, name or id prefix, as moby's getService
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable
from datetime import datetime, timezone

from ....errors import InvalidInput, LabkitError, NotFound, Unavailable
from ...base import UpdateStrategy
from ..flavors.swarm import NO_LEADER
from .. import info as sim_info
from ..objects import NodeObj, Pod, Service
from ..versions import DOCKER_ENGINE
from .common import EngineError, bad, swarm_id

ENGINE_VERSION = DOCKER_ENGINE  # the release the simulator follows (versions.py): Docker Engine 29.7.2
API_VERSION = "1.55"  # the newest API it serves (moby docker-v29.7.2 daemon/config/config.go MaxAPIVersion)
MIN_API_VERSION = "1.40"  # the oldest, by default (defaultMinAPIVersion since 29.3.0: the 20.10 CLI's 1.41 works)
NANO = 1_000_000_000
NOT_MANAGER = ('This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this '
               'node to swarm and try again.')


@dataclass
class Record:
    """A service as the engine keeps it beside the simulator's object: the spec its client
    wrote (served back as written), its raft index and when it was made and changed."""
    spec: dict
    index: int
    created: float
    updated: float
    previous: dict | None = None
    refs: dict[str, str] = field(default_factory=dict)  # image as the simulator runs it -> as the client wrote it


class Engine:
    """One Docker Engine: a swarm's manager (the swarm flavor) or a host in no swarm (the docker
    flavor, until `docker swarm init`). What a client wrote that the simulator does not keep
    (specs, container configs, networks) is kept here, beside the simulator's objects."""

    def __init__(self, sim, *, lock: threading.RLock | None = None, watchers: tuple = ()) -> None:
        """`watchers`: what starts watching the simulator at each begin (serve.py: global services
        follow the nodes, modes.watch; restart limits and --rm, containers.watch)."""
        self.watchers = tuple(watchers)
        if sim.flavor not in ("swarm", "docker"):
            raise InvalidInput(f"the served Docker Engine needs a simulated swarm or Docker host, not the "
                               f"{sim.flavor} flavor", "labkit.connect('sim', flavor='swarm', nodes=3)")
        self.sim = sim
        self.lock = lock or threading.RLock()
        self.closing = threading.Event()  # set when the server stops: requests that wait (docker wait) end
        self.containers: dict = {}  # name -> containers.Made: what `docker create/run` wrote
        self.networks: dict = {}  # name -> networks.Network, the user's own (built-in ones are derived)
        self.journal: list[tuple] = []  # events.py: (cluster time, type, action, id, attributes, scope)
        self.journal_dropped = 0  # how many old ones were let go
        self.journal_events = None  # the simulator's event list read so far, and the last event read
        self.journal_last: tuple | None = None
        # Time when no ticker moves it (a notebook's clock, console/tools/docker.py): a request that
        # waits for the cluster moves the clock on itself, `stepping` cluster seconds per look, at
        # most `limit` seconds for one command (`moved` counts them); 0: a ticker moves it (serve.py).
        self.stepping = 0.0
        self.moved = 0.0
        self.limit = float("inf")
        self.stepped: Callable[[], None] = lambda: None  # after each such step (the live view redraws)
        self.waits = False  # the command is `docker wait`: its wait request moves the clock too
        self.before: Callable[[str, list[str]], None] | None = None  # sees each request first (progress.py)
        self.join_to: Callable[[list[str], str], str] | None = None  # a new machine's `swarm join` (swarm.py)
        self.joined: str | None = None  # the role a new machine joined a swarm as
        self.epoch: float | None = None  # a notebook's command began at this wall time (see timestamp)
        self.begin()

    def begin(self) -> None:
        """The swarm's records start afresh (a new engine, or `docker swarm init` / `leave`)."""
        self.store = self.sim.store  # another store behind the simulator: a reset not of this engine's doing
        self.records: dict[str, Record] = {}
        self.index = 11  # raft's index: every change through the API takes the next one
        self.node_versions: dict[str, int] = {}  # a node's index once a client changed it
        self.born = self.sim.now()
        self.advertise: str | None = None  # `docker swarm init --advertise-addr`: the manager's address
        self.swarm_spec: dict | None = None  # the spec `docker swarm update` wrote (None: the defaults)
        self.swarm_index = 10
        self.objects: dict[str, dict[str, dict]] = {"secrets": {}, "configs": {}}  # secrets.py: name -> object
        for watch in self.watchers:
            watch(self)

    @property
    def in_swarm(self) -> bool:
        return self.sim.flavor == "swarm"

    def wait_step(self) -> bool:
        """One look of a request that waits for the cluster: on a clock nobody else moves, move it
        on by `stepping`; False once this command has moved it `limit` seconds (then it waits no more)."""
        if not self.stepping:
            return True
        if self.moved >= self.limit:
            return False
        with self.lock:
            self.sim.advance(self.stepping)
            self.moved += self.stepping
        self.stepped()
        return True

    # -- identity --------------------------------------------------------------------------------
    @property
    def host(self) -> NodeObj:
        """The machine whose daemon answers (the swarm's first manager, the one `docker swarm init` ran on)."""
        nodes = list(self.sim.api.items("nodes").values())
        managers = [n for n in nodes if n.role == "manager"]
        on = [n for n in managers if sim_info.powered(self.sim, n.name)]  # the first off: the terminal is on another
        return (on or managers or nodes)[0]

    def cluster_id(self) -> str:
        return swarm_id("swarm", self.sim.swarm_network())

    def node_id(self, name: str) -> str:
        return swarm_id("node", name)

    def service_id(self, name: str) -> str:
        return swarm_id("service", name)

    def task_id(self, pod: Pod) -> str:
        return swarm_id("task", pod.name)

    def address(self, node: NodeObj) -> str:
        if self.advertise and node.name == self.host.name:
            return self.advertise
        return f"{self.sim.swarm_network()}.{2 + node.index}"

    def leader(self) -> str | None:
        info = self.sim.rules.swarm_info()
        return info.leader if info else None

    # -- time --------------------------------------------------------------------------------------
    def timestamp(self, at: float) -> str:
        """Cluster time `at` as RFC 3339 (Go's RFC3339Nano): the cluster's now is the wall clock's now.
        On a notebook's clock (`epoch` set when its command began) a time is served half a second
        past its whole age in cluster seconds: the CLI, which counts ages from its own wall clock a
        moment later, prints the same whole seconds on every run."""
        if self.epoch is not None:
            epoch = self.epoch - math.floor(self.sim.now() - at + 1e-6) - 0.5
        else:
            epoch = time.time() - self.sim.now() + at
        whole = int(epoch)
        nanos = int(round((epoch - whole) * NANO))
        if nanos >= NANO:
            whole, nanos = whole + 1, nanos - NANO
        text = datetime.fromtimestamp(whole, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        fraction = f"{nanos:09d}".rstrip("0")
        return f"{text}.{fraction}Z" if fraction else f"{text}Z"

    def node_index(self, name: str) -> int:
        return self.node_versions.get(name, 9)

    def next_index(self) -> int:
        self.index += 1
        return self.index

    # -- looking things up ---------------------------------------------------------------------------
    def require_leader(self) -> None:
        """Every swarm request goes to the Raft leader; with no quorum there is none; a host in no
        swarm has none at all (moby's daemon/cluster/cluster.go errNoManager)."""
        if not self.in_swarm:
            raise EngineError(503, NOT_MANAGER)
        if not self.sim.has_quorum():
            raise EngineError(503, NO_LEADER)

    def services(self) -> dict[str, Service]:
        return self.sim.api.items("services")

    def nodes(self) -> list[NodeObj]:
        return list(self.sim.api.items("nodes").values())

    def tasks(self) -> list[Pod]:
        """Every task of every service, its history included (the pods that hold a slot)."""
        services = self.services()
        return [p for p in self.sim.api.items("pods").values() if p.slot and p.owner in services]

    def record(self, name: str) -> Record:
        """The service's record; one made from the simulator's object when the service was made
        some other way (the facade, the console)."""
        found = self.records.get(name)
        if found is None:
            svc = self.services()[name]
            spec = {"Name": name, "Labels": {k: v for k, v in svc.labels.items() if k != "app"},
                    "TaskTemplate": {"ContainerSpec": {"Image": svc.template.image,
                                                       "Env": [f"{k}={v}" for k, v in svc.template.env.items()]}},
                    "Mode": {"Replicated": {"Replicas": svc.replicas}},
                    "EndpointSpec": {"Mode": "vip", "Ports": [port_config(p) for p in svc.template.ports
                                                              if ":" in str(p)]}}
            found = self.records[name] = Record(spec, self.next_index(), self.born, self.born)
        return found

    def find_service(self, ref: str) -> str:
        """A service's name from its full id, name or a unique id prefix (moby's getService)."""
        return self._find(ref, list(self.services()), self.service_id, "service")

    def find_node(self, ref: str) -> NodeObj:
        nodes = {n.name: n for n in self.nodes()}
        return nodes[self._find(ref, list(nodes), self.node_id, "node")]

    def find_task(self, ref: str) -> Pod:
        tasks = {self.task_id(t): t for t in self.tasks()}
        if ref in tasks:
            return tasks[ref]
        found = [t for i, t in tasks.items() if i.startswith(ref)] if ref else []
        if len(found) != 1:
            raise EngineError(404, f"task {ref} not found") if not found else \
                bad(f"task {ref} is ambiguous ({len(found)} matches found)")
        return found[0]

    def _find(self, ref: str, names: list[str], ident, what: str) -> str:
        for name in names:
            if ident(name) == ref:
                return name
        if ref in names:
            return ref
        found = [n for n in names if ident(n).startswith(ref)] if ref else []
        if not found:
            raise EngineError(404, f"{what} {ref} not found")
        if len(found) > 1:
            raise bad(f"{what} {ref} is ambiguous ({len(found)} matches found)")
        return found[0]


def port_config(spec: str) -> dict:
    """A `PUBLISHED:TARGET` port as swarm's PortConfig."""
    parts = str(spec).split("/")[0].split(":")
    return {"Protocol": "tcp", "TargetPort": int(parts[-1]), "PublishedPort": int(parts[-2]),
            "PublishMode": "ingress"}


def strategy(config: dict) -> UpdateStrategy:
    """A swarm UpdateConfig (already checked) as the simulator's UpdateStrategy."""
    return UpdateStrategy(
        parallelism=config.get("Parallelism"), delay=ns_to_seconds(config.get("Delay")),
        order=config.get("Order") or None, failure_action=config.get("FailureAction") or None,
        monitor=ns_to_seconds(config.get("Monitor")) if config.get("Monitor") else None,
        max_failure_ratio=config.get("MaxFailureRatio"))


def ns_to_seconds(value) -> float | None:
    return None if value is None else value / NANO


def engine_error(error: LabkitError) -> EngineError:
    """The simulator's refusal as the engine's status code."""
    if isinstance(error, Unavailable):
        return EngineError(503, NO_LEADER)
    if isinstance(error, NotFound):
        return EngineError(404, error.message)
    return bad(error.message)
