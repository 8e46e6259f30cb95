"""A versioned key/value store with watches: what etcd does for Kubernetes.

Every write bumps one global revision and is stamped with it, and every
watcher of that kind of object hears about it. Objects are kept by
reference; components only change them through the API server, which writes
them back here. When the store is down, reads and writes fail: that is how
"etcd down, the API refuses" shows in lesson 5.
"""
from __future__ import annotations

from collections import deque
from typing import Any, Callable

from ...errors import Unavailable

Watcher = Callable[[str, Any], None]  # (event type: "ADDED"/"MODIFIED"/"DELETED", object)


class Store:
    def __init__(self, log_size: int = 500) -> None:
        self.revision = 0
        self.up = True
        self._data: dict[str, dict[str, Any]] = {}
        self._watchers: dict[str, list[Watcher]] = {}
        self.log: deque[tuple[int, str, str]] = deque(maxlen=log_size)  # (revision, op, key)

    def _check(self) -> None:
        if not self.up:
            raise Unavailable("etcd is down: the API server cannot read or write the cluster's state",
                              "start it again with cluster.start_component('etcd')")

    def get(self, kind: str, name: str) -> Any | None:
        self._check()
        return self._data.setdefault(kind, {}).get(name)

    def list(self, kind: str) -> list[Any]:
        self._check()
        return list(self._data.get(kind, {}).values())

    def items(self, kind: str) -> dict[str, Any]:
        """The live mapping of one kind (read-only by convention; fast path for snapshots)."""
        return self._data.get(kind, {})

    def kinds(self) -> list[str]:
        """The kinds of record stored so far."""
        return list(self._data)

    def put(self, kind: str, name: str, obj: Any) -> int:
        self._check()
        bucket = self._data.setdefault(kind, {})
        kind_of_event = "MODIFIED" if name in bucket else "ADDED"
        bucket[name] = obj
        return self._commit(kind, name, obj, kind_of_event)

    def delete(self, kind: str, name: str) -> int:
        self._check()
        obj = self._data.get(kind, {}).pop(name, None)
        if obj is None:
            return self.revision
        return self._commit(kind, name, obj, "DELETED")

    def _commit(self, kind: str, name: str, obj: Any, event: str) -> int:
        self.revision += 1
        obj.resource_version = self.revision
        self.log.append((self.revision, event, f"/registry/{kind}/{name}"))
        for watcher in self._watchers.get(kind, ()):
            watcher(event, obj)
        return self.revision

    def watch(self, kind: str, watcher: Watcher) -> None:
        self._watchers.setdefault(kind, []).append(watcher)

    def unwatch(self, kind: str, watcher: Watcher) -> None:
        if watcher in self._watchers.get(kind, ()):
            self._watchers[kind].remove(watcher)
