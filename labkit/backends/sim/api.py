"""The API server: the one door into the cluster's state.

Students and components alike go through it. It checks and defaults what
it is given, admits it (names must be free, the store must be up, a Swarm
must have a quorum of managers), persists it in the store, and keeps the
event log that `kubectl get events` shows.
"""
from __future__ import annotations

import math
from collections import deque
from typing import Any, Callable

from ...errors import AlreadyExists, Unavailable
from .clock import Clock
from .objects import Generation
from .store import Store

K8S_DEFAULTS = {"max_surge": "25%", "max_unavailable": "25%", "min_ready_seconds": 0.0, "type": "RollingUpdate"}
REPLICA_WORD = {"kubernetes": "pod", "swarm": "task", "docker": "container"}
SWARM_DEFAULTS = {"parallelism": 1, "delay": 0.0, "failure_action": "pause", "monitor": 5.0,
                  "max_failure_ratio": 0.0, "order": "stop-first"}


def resolve(value: int | str, replicas: int, round_up: bool) -> int:
    """An absolute count from an int or a percentage of `replicas` (Kubernetes' rounding)."""
    if isinstance(value, str):
        share = int(value.rstrip("%")) * replicas / 100
        return math.ceil(share) if round_up else math.floor(share + 1e-9)
    return value


def fenceposts(strategy: dict, replicas: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) in pods; both 0 becomes unavailable 1, as Kubernetes does."""
    surge = resolve(strategy["max_surge"], replicas, round_up=True)
    unavailable = resolve(strategy["max_unavailable"], replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


class APIServer:
    def __init__(self, store: Store, clock: Clock, flavor: str) -> None:
        self.store, self.clock, self.flavor = store, clock, flavor
        self.running = True
        self.has_quorum: Callable[[], bool] = lambda: True
        self.events: deque[tuple] = deque(maxlen=50_000)
        self.items = store.items  # the live mapping of one kind: components read it on every step

    # -- admission ---------------------------------------------------------------
    def check(self) -> None:
        """Refuse, in the words of the real tools, when a change cannot be accepted now."""
        if not self.running:
            master = self.store.items("nodes").get("control-plane")  # no etcd read: it may be down too
            raise Unavailable("The connection to the server was refused: the API server is not running",
                              "its machine is down: bring it back with cluster.recover_node('control-plane')"
                              if master is not None and not master.up else
                              "start it again with cluster.start_component('api-server')")
        if not self.store.up:
            raise Unavailable("the API server cannot reach etcd, so it refuses every change",
                              "start etcd again with cluster.start_component('etcd')")
        if not self.has_quorum():
            raise Unavailable("The swarm does not have a leader: more than half of the managers are down, "
                              "so no change is accepted (running tasks keep running)",
                              "recover a manager node with cluster.recover_node(...)")

    @property
    def reachable(self) -> bool:
        """Whether components can read and write now (they retry later when not)."""
        return self.running and self.store.up and self.has_quorum()

    def admit_new(self, kind: str, name: str) -> None:
        self.check()
        if self.store.get(kind, name) is not None:
            raise AlreadyExists(f'{kind} "{name}" already exists', "pick another name")

    # -- persistence ---------------------------------------------------------------
    def write(self, kind: str, obj: Any) -> None:
        if isinstance(obj, Generation):
            obj.note_generation()
        self.store.put(kind, obj.name, obj)

    def remove(self, kind: str, name: str) -> None:
        self.store.delete(kind, name)

    def get(self, kind: str, name: str) -> Any | None:
        return self.store.get(kind, name)

    # -- events --------------------------------------------------------------------
    def ref(self, pod_name: str) -> str:
        """How this flavor names a replica in its events: pod/…, task/… or container/…."""
        return f"{REPLICA_WORD[self.flavor]}/{pod_name}"

    def record(self, reason: str, obj: str, message: str, type: str = "Normal", source: str = "") -> None:
        self.events.append((self.clock.now, reason, obj, message, type, source))
