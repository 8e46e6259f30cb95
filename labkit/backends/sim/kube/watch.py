"""Watches: a change feed from the simulator's store, streamed as the real API server streams it.

The feed hears every write to the served kinds: one deque append each, nothing
rendered until a watcher asks (serving must not slow the simulator while nobody
watches). A watch from resourceVersion N replays the feed after N; one older than the
feed remembers gets `410 Gone` ("too old resource version"), as etcd's compaction gives,
and the client lists again. Without a version a watch starts with ADDED for every
object, then follows. A pod's change is also its replica set's and deployment's (their
status counts pods, which the simulator's controllers do in memory, without a write of
their own). Which store writes are which kind's changes is each kind's `Watch` (kinds/).
Watchers share renderings and encodings of one revision (rest.Storage.rendered, Encodings).
"""
from __future__ import annotations

import copy
import itertools
import json
import time
from collections import deque

from . import resources as res
from .columns import table as as_table
from .kinds import Kind
from .registry import REGISTRY
from .status import ApiError

FEED_SIZE = 100_000
POLL = 0.05  # seconds between looks at the feed
BOOKMARK_EVERY = 10.0
WATCHES = itertools.count(1)  # each watch's number, for KubeAPIServer.watches


class Feed:
    """(store revision, plural, event, the object) of every served change, in order."""

    def __init__(self, backend, storage) -> None:
        self.store, self.storage = backend.store, storage
        self.entries: deque[tuple[int, str, str, object]] = deque(maxlen=FEED_SIZE)
        self.started = backend.store.revision
        # the simulator store's record kinds -> the hooks that note their writes as changes of the served kinds
        self._hooks = {kind.watch.record: self._hook(kind.plural, kind.watch.snapshot is not None)
                       for kind in REGISTRY if kind.watch is not None}
        for kind, hook in self._hooks.items():
            self.store.watch(kind, hook)

    def _hook(self, plural: str, snapshots: bool):
        """A kind with a `snapshot` keeps a copy of each object as it was made (a pod is Pending then)."""
        append, store = self.entries.append, self.store
        if snapshots:
            return lambda event, obj: append((store.revision, plural, event,
                                              copy.copy(obj) if event == "ADDED" else obj))
        return lambda event, obj: append((store.revision, plural, event, obj))

    def tombstone(self, kind: Kind, obj) -> dict:
        """The last state of a deleted object (it is no longer in the store to render)."""
        if kind.watch.tombstone is not None:
            return kind.watch.tombstone(self.storage.clock, obj)
        namespace, name = res.split(obj.name) if kind.namespaced else (None, obj.name)
        return {"kind": kind.kind, "apiVersion": kind.group_version,
                "metadata": {"name": name, "namespace": namespace, "resourceVersion": str(self.store.revision)}}

    @property
    def oldest(self) -> int:
        return self.entries[0][0] - 1 if len(self.entries) == self.entries.maxlen else self.started

    def since(self, revision: int, watched: Kind) -> list[tuple[int, str, str, dict | None]]:
        """The changes to the `watched` kind after `revision`, oldest first: (revision, simulator
        name, event, last state if deleted). Several changes to one object come as one, rendered
        as it is now, and typed as a watcher must see them: ADDED if it is new to the
        watcher (then DELETED too, if it is gone again), MODIFIED or DELETED otherwise. A kind
        with a `snapshot` is ADDED as it was made, then MODIFIED as it is now (a pod made and
        started within one window shows Pending first, as the real scheduler's delay shows it)."""
        if watched.watch is None:
            return []  # no write is one of its changes
        plural, follows, snapshot = watched.plural, watched.watch.follows, watched.watch.snapshot
        latest: dict[str, list] = {}
        for rev, kind, event, obj in reversed(self.entries):
            if rev <= revision:
                break
            name = obj.name if kind == plural else follows(kind, obj)
            if name is None:
                continue
            if kind != plural:
                event = "MODIFIED"
            if name not in latest:
                gone = self.tombstone(watched, obj) if event == "DELETED" else None
                latest[name] = [rev, name, event, gone, None]
            elif event == "ADDED":
                latest[name][4] = (rev, obj if kind == plural else None)  # new within this window, as made
        out = []
        for rev, name, event, gone, added in sorted(latest.values(), key=lambda e: e[0]):
            if added and event == "DELETED":
                out.append((rev, name, "ADDED", gone))
            elif added and event == "MODIFIED" and snapshot is not None and added[1] is not None:
                out.append((added[0], name, "ADDED", snapshot(self.storage, added[1])))
            elif added:
                event = "ADDED"
            out.append((rev, name, event, gone))
        return sorted(out, key=lambda change: change[0])

    def close(self) -> None:
        for kind, hook in self._hooks.items():
            self.store.unwatch(kind, hook)


def stream(h, api, resource: Kind, namespace, query: dict, match) -> None:
    """Answer one watch request on the handler's connection, until its timeout or the client leaves."""
    as_table = "as=Table" in (h.headers.get("Accept") or "")
    timeout = float(query["timeoutSeconds"]) if query.get("timeoutSeconds", "").isdigit() else 1800.0
    bookmarks = query.get("allowWatchBookmarks") == "true"
    sender = Sender(h, api, resource, as_table)
    with api.lock:
        cursor, first = _start(api, resource, namespace, query, match)
        if cursor is not None:  # bytes from here on: 2,000 pods are 5 MB so, many times that as dicts
            first = [sender.encode(event, obj) for event, obj in first]
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    api.watched(sender.number, cursor or 0)  # it has sent nothing after `cursor` yet
    api.leave()  # from here on the watch waits: the client has been answered
    try:
        _follow(api, resource, namespace, query, match, cursor, first, sender, timeout, bookmarks)
    finally:
        api.watched(sender.number, None)
        api.enter()


def _follow(api, resource: Kind, namespace, query, match, cursor, first, sender, timeout, bookmarks) -> None:
    if cursor is None:  # too old: the one event is the error, then the stream ends
        sender.send("ERROR", first[0][1])
        return sender.close()
    for at in range(0, len(first), 64):  # the initial events, 64 lines a chunk
        sender.write(b"".join(first[at:at + 64]))
    if query.get("sendInitialEvents") == "true":  # a streaming list: say where the initial state ends
        sender.send("BOOKMARK", {"kind": resource.kind, "apiVersion": resource.group_version,
                                 "metadata": {"resourceVersion": str(cursor),
                                              "annotations": {"k8s.io/initial-events-end": "true"}}})
    deadline, next_mark = time.monotonic() + timeout, time.monotonic() + BOOKMARK_EVERY
    while time.monotonic() < deadline and not api.stopping.is_set() and sender.alive:
        ending = api.ending_watches.is_set()  # looked at first: what follows is sent before the end
        time.sleep(POLL)
        with api.lock:
            if resource.strategy.refresh is not None:  # a watcher reads them too (the namespaces' finalizer)
                resource.strategy.refresh(api.storage)
            seen = api.storage.revision()
            changes = api.feed.since(cursor, resource)
            events = [(rev, *_event(api, resource, namespace, name, kind, gone, match))
                      for rev, name, kind, gone in changes]
            cursor = max(cursor, seen)  # every change up to `seen` has been looked at
        for _, event, obj in events:
            if event:
                sender.send(event, obj)
        api.watched(sender.number, seen)
        if ending:
            break
        if bookmarks and time.monotonic() > next_mark:
            sender.send("BOOKMARK", {"kind": resource.kind, "apiVersion": resource.group_version,
                                     "metadata": {"resourceVersion": str(cursor)}})
            next_mark = time.monotonic() + BOOKMARK_EVERY
    sender.close()


def _start(api, resource: Kind, namespace, query: dict, match):
    """(cursor, first events); cursor None when the asked version is older than the feed."""
    asked = query.get("resourceVersion") or ""
    now = api.storage.revision()
    if asked in ("", "0") or query.get("sendInitialEvents") == "true":
        objects = [o for o in api.storage.objects(resource.plural, namespace, group=resource.group) if match(o)]
        return now, [("ADDED", o) for o in objects]
    try:
        version = int(asked)
    except ValueError:
        raise ApiError(400, "BadRequest", f'invalid resource version "{asked}"') from None
    if version < api.feed.oldest:
        gone = ApiError(410, "Expired", f"too old resource version: {version} ({api.feed.oldest + 1})")
        return None, [("ERROR", gone.status())]
    return version, []


def _event(api, resource: Kind, namespace, key: str, kind: str, gone: dict | None, match) -> tuple[str, dict | None]:
    """`key`: the simulator's name of the object (namespace/name outside "default")."""
    where, name = res.split(key) if resource.namespaced else (None, key)
    if namespace is not None and where != namespace:
        return "", None
    if kind == "DELETED" or gone is not None:  # gone: its last state (an ADDED then DELETED, too)
        return (kind, gone) if gone is not None and match(gone) else ("", None)
    try:
        obj = api.storage.get(resource.plural, where, name, group=resource.group)
    except ApiError:
        return "", None  # gone again since: its DELETED follows
    return (kind, obj) if match(obj) else ("", None)


class Encodings:
    """Watch events as bytes, encoded once per rendering and shared by every watcher (a
    rendering is never changed once made, so the same object is the same line)."""

    LIMIT = 50_000

    def __init__(self) -> None:
        self.lines: dict[tuple, tuple[dict, bytes]] = {}
        self.epoch = 0.0

    def line(self, api, kind: Kind, event: str, obj: dict, table: bool, columns: bool) -> bytes:
        if len(self.lines) > self.LIMIT or self.epoch != api.clock.epoch:  # a table's AGE counts from the epoch
            self.lines, self.epoch = {}, api.clock.epoch
        key = (id(obj), kind.plural, event, table, columns)
        found = self.lines.get(key)
        if found is None or found[0] is not obj:
            payload = obj
            if table:
                payload = as_table(kind, [obj], api, {"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                                   "Metadata")
                if not columns:
                    payload["columnDefinitions"] = []
            data = json.dumps({"type": event, "object": payload}, separators=(",", ":")).encode() + b"\n"
            found = self.lines[key] = (obj, data)  # holding obj keeps its id from being reused meanwhile
        return found[1]


class Sender:
    """Writes watch events as chunks of newline-delimited JSON."""

    def __init__(self, h, api, kind: Kind, as_table: bool) -> None:
        self.h, self.api, self.kind, self.as_table = h, api, kind, as_table
        self.shape = kind.shape  # another group's shape of the same objects (events.k8s.io)
        self.alive, self.headers_sent = True, False
        self.number = next(WATCHES)  # never reused, unlike id(): a command tells its watch from an earlier one's

    def encode(self, event: str, obj: dict) -> bytes:
        """The event's line (under the API's lock)."""
        table = self.as_table and event in ("ADDED", "MODIFIED", "DELETED")
        if self.shape is not None and not table and event in ("ADDED", "MODIFIED", "DELETED"):  # rows: the core
            obj = self.shape(obj)
        data = self.api.encodings.line(self.api, self.kind, event, obj, table, table and not self.headers_sent)
        self.headers_sent = self.headers_sent or table
        return data

    def send(self, event: str, obj: dict) -> None:
        with self.api.lock:
            data = self.encode(event, obj)
        self.write(data)

    def write(self, data: bytes) -> None:
        self._chunk(data)
        self.api.enter(0)

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
