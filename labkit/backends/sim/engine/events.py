"""`GET /events`: what happened on the engine, as moby's events.Message, streamed as they come
(moby v20.10.24 api/server/router/system/system_routes.go getEvents: the past ones since
`since`, then new ones until `until` or until the client goes).

    docker events --filter type=container --filter event=die
    docker events --since 10m --until 0s            # the past ones only

What clients did through this engine is noted as it is done (`note`: create, destroy, pull,
service and network changes); what the simulator's containers did by themselves (start after a
restart policy, die with their exit code) is read from the simulator's own events.
"""
from __future__ import annotations

import json
import re
import time

from .common import Answer, Call, bad, filters, route
from .logs import Quiet
from .state import Engine

FILTERS = ("config", "container", "daemon", "event", "image", "label", "network", "node", "plugin", "scope",
           "secret", "service", "type", "volume")
TYPES = ("container", "image", "volume", "network", "daemon", "plugin", "node", "service", "secret", "config")
STAMP = re.compile(r"[0-9]{1,12}(\.[0-9]{1,9})?")
POLL = 0.1  # wall seconds between looks for new events
KEPT = 256  # past events kept (moby daemon/events/events.go eventsLimit)


def note(engine: Engine, kind: str, action: str, ident: str, **attributes: str) -> None:
    """Something a client did, now. Times are the cluster's (as every time the engine shows: its now
    is the wall clock's now), so what the simulator did and what clients did are in order."""
    harvest(engine)  # what the simulator did before this comes before it
    scope = "swarm" if kind in ("service", "node", "secret", "config") or (
        kind == "network" and attributes.pop("swarm", "") == "1") else "local"
    add(engine, (engine.sim.now(), kind, action, ident, attributes, scope))


def add(engine: Engine, entry: tuple) -> None:
    """One more event; the oldest go past twice KEPT (`journal_dropped` counts them, for followers)."""
    engine.journal.append(entry)
    if len(engine.journal) > 2 * KEPT:
        del engine.journal[:KEPT]
        engine.journal_dropped += KEPT


def harvest(engine: Engine) -> None:
    """The simulator's own container events since the last look: a restart policy's start, a die."""
    events = engine.sim.api.events  # a bounded deque: read back from its end to the last one read before
    last = engine.journal_last if engine.journal_events is events else None  # (a new simulator: all are new)
    fresh = []
    for entry in reversed(events):
        if entry is last:
            break
        fresh.append(entry)
    fresh.reverse()
    engine.journal_events, engine.journal_last = events, (events[-1] if events else None)
    from .boxes import boxes
    by_name = None
    for at, reason, obj, message, *_ in fresh:
        kind, _, name = obj.partition("/")
        if kind not in ("container", "task") or reason not in ("Started", "Died"):
            continue
        if by_name is None:
            by_name = {b.pod.name: b for b in boxes(engine) if b.pod is not None}
        box = by_name.get(name)
        if box is None:
            continue
        attrs = {"image": box.image, "name": box.name, **box.labels}
        if reason == "Died":
            digits = re.search(r"code (\d+)", message)
            attrs["exitCode"] = digits.group(1) if digits else "0"
        add(engine, (at, "container", "start" if reason == "Started" else "die", box.ident, attrs, "local"))


def message(engine: Engine, entry: tuple) -> dict:
    at, kind, action, ident, attrs, scope = entry
    nanos = int((time.time() - engine.sim.now() + at) * 1_000_000_000)
    found = {"Type": kind, "Action": action, "Actor": {"ID": ident, "Attributes": attrs}, "scope": scope,
             "time": nanos // 1_000_000_000, "timeNano": nanos}
    if kind in ("container", "image"):  # the old fields, still sent for them
        found.update({"status": action, "id": ident, "from": attrs.get("image", "")} if kind == "container"
                     else {"status": action, "id": ident})
    return found


def matches(entry: tuple, wanted: dict[str, list[str]]) -> bool:
    """moby's events filters: each key given must match one of its values."""
    _, kind, action, ident, attrs, scope = entry

    def one(key: str, value: str) -> bool:
        if key == "type":
            return value == kind
        if key == "event":
            return value == action
        if key == "scope":
            return value == scope
        if key == "label":
            name, eq, want = value.partition("=")
            return attrs.get(name) == want if eq else name in attrs
        if key == "image" and kind == "container":  # a container's events match its image
            return attrs.get("image", "").split(":")[0] == value.split(":")[0]
        return kind == key and (ident.startswith(value) or attrs.get("name") == value)

    return all(any(one(key, v) for v in values) for key, values in wanted.items() if values)


def read_time(text: str, what: str) -> float | None:
    if not text:
        return None
    if not STAMP.fullmatch(text):
        raise bad(f"invalid value for {what}: {text}")
    return float(text)


@route("GET", "/events")
def events(call: Call) -> Answer:
    engine = call.engine
    since, until = read_time(call.query.get("since", ""), "since"), read_time(call.query.get("until", ""), "until")
    if since is not None and until is not None and until < since:
        raise bad(f"`since` time ({call.query['since']}) cannot be after `until` time ({call.query['until']})")
    wanted = filters(call.query, FILTERS)
    for value in wanted.get("type", []):
        if value not in TYPES:
            raise bad(f"Invalid filter: 'type'='{value}'")
    with engine.lock:
        harvest(engine)
        start = engine.journal_dropped + len(engine.journal)
        offset = time.time() - engine.sim.now()  # wall time of the cluster's time 0
        since_at, until_at = (None if t is None else t - offset for t in (since, until))
        past = [] if since is None and until is None else sorted(  # (moby: no past without since or until)
            (e for e in engine.journal if (since_at is None or e[0] >= since_at)
             and (until_at is None or e[0] <= until_at)), key=lambda e: e[0])

    def body():
        for entry in past:
            if matches(entry, wanted):
                yield (json.dumps(message(engine, entry)) + "\n").encode()
        if until is not None and until <= time.time():  # the past only
            return
        seen = start
        quiet = Quiet(engine, POLL)
        while not engine.closing.is_set() and (until is None or time.time() < until):
            with engine.lock:
                harvest(engine)
                fresh = engine.journal[max(0, seen - engine.journal_dropped):]
                seen = engine.journal_dropped + len(engine.journal)
                out = b"".join((json.dumps(message(engine, e)) + "\n").encode() for e in fresh if matches(e, wanted))
            yield out  # b"": nothing new (the server checks the client is still there)
            if not quiet.look(seen):
                return  # a notebook's `docker events`: nothing new for a while (logs.Quiet)
    return Answer(stream=body, content_type="application/json")
