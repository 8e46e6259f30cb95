"""Watches: a change feed from the simulator's store, streamed as the real API server streams it.

The feed hears every write to the served kinds (one deque append each: nothing is
rendered until a watcher asks). A watch from resourceVersion N replays the feed after N;
one older than the feed remembers gets `410 Gone` ("too old resource version"), as
etcd's compaction gives, and the client lists again. Without a version a watch starts
with ADDED for every object, then follows. A pod's change is also its replica
set's and deployment's (their status counts pods, which the simulator's controllers do
in memory, without a write of their own).
"""
from __future__ import annotations

import json
import time
from collections import deque

from . import resources as res
from .rest import ApiError

KINDS = {"pods": "pods", "deployments": "deployments", "replicasets": "replicasets", "nodes": "nodes",
         "kube-services": "services", "namespaces": "namespaces"}  # the simulator store's kinds -> the API's resources
FEED_SIZE = 100_000
POLL = 0.05  # seconds between looks at the feed
BOOKMARK_EVERY = 10.0


class Feed:
    """(store revision, plural, name, type, rendered object for deletions) of every served change."""

    def __init__(self, backend, storage) -> None:
        self.store, self.storage = backend.store, storage
        self.entries: deque[tuple[int, str, str, str, dict | None]] = deque(maxlen=FEED_SIZE)
        self.started = backend.store.revision
        self._hooks = {kind: self._hook(plural) for kind, plural in KINDS.items()}
        for kind, hook in self._hooks.items():
            self.store.watch(kind, hook)

    def _hook(self, kind: str):
        def heard(event: str, obj) -> None:
            gone = self._tombstone(kind, obj) if event == "DELETED" else None
            self.entries.append((self.store.revision, kind, obj.name, event, gone))
            if kind == "replicasets" and obj.owner:
                self.entries.append((self.store.revision, "deployments", obj.owner, "MODIFIED", None))
            elif kind == "pods" and obj.owner:  # the replica set controller counts pods without a write
                self.entries.append((self.store.revision, "replicasets", obj.owner, "MODIFIED", None))
                self.entries.append((self.store.revision, "deployments", obj.app, "MODIFIED", None))
        return heard

    def _tombstone(self, kind: str, obj) -> dict:
        """The last state of a deleted object (it is no longer in the store to render)."""
        stamp = self.storage.clock
        if kind == "pods":
            return res.pod(obj, None, None, stamp)
        api_version = "apps/v1" if kind in ("deployments", "replicasets") else "v1"
        kind_name = {"deployments": "Deployment", "replicasets": "ReplicaSet", "nodes": "Node",
                     "services": "Service", "namespaces": "Namespace"}[kind]
        namespace, name = (None, obj.name) if kind in ("nodes", "namespaces") else res.split(obj.name)
        return {"kind": kind_name, "apiVersion": api_version,
                "metadata": {"name": name, "namespace": namespace, "resourceVersion": str(self.store.revision)}}

    @property
    def oldest(self) -> int:
        return self.entries[0][0] - 1 if len(self.entries) == self.entries.maxlen else self.started

    def since(self, revision: int, plural: str) -> list[tuple[int, str, str, dict | None]]:
        """The changes to `plural` after `revision`, the last one per object, oldest first."""
        latest: dict[str, tuple[int, str, str, dict | None]] = {}
        for rev, kind, name, event, gone in reversed(self.entries):
            if rev <= revision:
                break
            if kind == plural and name not in latest:
                latest[name] = (rev, name, event, gone)
        return sorted(latest.values(), key=lambda e: e[0])

    def close(self) -> None:
        for kind, hook in self._hooks.items():
            self.store.unwatch(kind, hook)


def stream(h, api, resource, namespace, query: dict, match) -> None:
    """Answer one watch request on the handler's connection, until its timeout or the client leaves."""
    as_table = "as=Table" in (h.headers.get("Accept") or "")
    timeout = float(query["timeoutSeconds"]) if query.get("timeoutSeconds", "").isdigit() else 1800.0
    bookmarks = query.get("allowWatchBookmarks") == "true"
    with api.lock:
        cursor, first = _start(api, resource, namespace, query, match)
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    sender = Sender(h, api, resource.plural, as_table)
    if cursor is None:  # too old: the one event is the error, then the stream ends
        sender.send("ERROR", first[0][1])
        return sender.close()
    for event, obj in first:
        sender.send(event, obj)
    if query.get("sendInitialEvents") == "true":  # a streaming list: say where the initial state ends
        sender.send("BOOKMARK", {"kind": resource.kind, "apiVersion": resource.group_version,
                                 "metadata": {"resourceVersion": str(cursor),
                                              "annotations": {"k8s.io/initial-events-end": "true"}}})
    deadline, next_mark = time.monotonic() + timeout, time.monotonic() + BOOKMARK_EVERY
    while time.monotonic() < deadline and not api.stopping.is_set() and sender.alive:
        time.sleep(POLL)
        with api.lock:
            changes = api.feed.since(cursor, resource.plural)
            events = [(rev, *_event(api, resource, namespace, name, kind, gone, match))
                      for rev, name, kind, gone in changes]
            cursor = max([cursor] + [rev for rev, _, _ in events])
        for _, event, obj in events:
            if event:
                sender.send(event, obj)
        if bookmarks and time.monotonic() > next_mark:
            sender.send("BOOKMARK", {"kind": resource.kind, "apiVersion": resource.group_version,
                                     "metadata": {"resourceVersion": str(cursor)}})
            next_mark = time.monotonic() + BOOKMARK_EVERY
    sender.close()


def _start(api, resource, namespace, query: dict, match):
    """(cursor, first events); cursor None when the asked version is older than the feed."""
    asked = query.get("resourceVersion") or ""
    now = api.storage.revision()
    if asked in ("", "0") or query.get("sendInitialEvents") == "true":
        objects = [o for o in api.storage.objects(resource.plural, namespace) if match(o)]
        return now, [("ADDED", o) for o in objects]
    try:
        version = int(asked)
    except ValueError:
        raise ApiError(400, "BadRequest", f'invalid resource version "{asked}"') from None
    if version < api.feed.oldest:
        gone = ApiError(410, "Expired", f"too old resource version: {version} ({api.feed.oldest + 1})")
        return None, [("ERROR", gone.status())]
    return version, []


def _event(api, resource, namespace, key: str, kind: str, gone: dict | None, match) -> tuple[str, dict | None]:
    """`key`: the simulator's name of the object (namespace/name outside "default")."""
    where, name = res.split(key) if resource.namespaced else (None, key)
    if namespace is not None and where != namespace:
        return "", None
    if kind == "DELETED":
        return ("DELETED", gone) if gone is not None and match(gone) else ("", None)
    try:
        obj = api.storage.get(resource.plural, where, name)
    except ApiError:
        return "", None  # gone again since: its DELETED follows
    return (kind, obj) if match(obj) else ("", None)


class Sender:
    """Writes watch events as chunks of newline-delimited JSON."""

    def __init__(self, h, api, plural: str, as_table: bool) -> None:
        self.h, self.api, self.plural, self.as_table = h, api, plural, as_table
        self.alive, self.headers_sent = True, False

    def send(self, event: str, obj: dict) -> None:
        if self.as_table and event in ("ADDED", "MODIFIED", "DELETED"):
            from .server import table
            with self.api.lock:
                obj = table(self.plural, [obj], self.api, {"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                            "Metadata")
            if self.headers_sent:
                obj["columnDefinitions"] = []
            self.headers_sent = True
        self._chunk(json.dumps({"type": event, "object": obj}, separators=(",", ":")).encode() + b"\n")

    def _chunk(self, data: bytes) -> None:
        try:
            self.h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.h.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.alive = False

    def close(self) -> None:
        if self.alive:
            self._chunk(b"")
            self.h.close_connection = True
