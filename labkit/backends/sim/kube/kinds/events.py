"""Events (pkg/registry/core/event and events.k8s.io): the simulator's event log, in both groups.

Each entry of the simulator's log (controllers', schedulers' and kubelets' words) is a core/v1
Event; events.k8s.io/v1 serves the same events in its own shape, as the API server converts
them (pkg/apis/events/v1/conversion.go). An event names the object it is about with that
object's uid while it exists (`kubectl describe` selects events by it). Read-only. The table
follows printEvent, for both groups.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ..printers import NAME, since
from ..resources import NAMESPACE, Clockwork, short, split, uid
from . import READ, REGISTRY, Column, Kind, Obj, Strategy

if TYPE_CHECKING:
    from ..rest import Storage


def event(index: int, t: float, reason: str, obj: str, message: str, type_: str, source: str,
          clock: Clockwork, uid_of=None) -> dict:
    """One entry of the simulator's event log as a core/v1 Event; `uid_of(kind, name, when)` gives
    the involved object's uid while it exists (`kubectl describe` selects events by it)."""
    kind_word, _, name = obj.partition("/")
    kind = {"pod": "Pod", "node": "Node", "deployment": "Deployment", "replicaset": "ReplicaSet", "job": "Job",
            "cronjob": "CronJob", "horizontalpodautoscaler": "HorizontalPodAutoscaler", "statefulset": "StatefulSet",
            "daemonset": "DaemonSet"}.get(kind_word, "Pod")
    api_version = {"Deployment": "apps/v1", "ReplicaSet": "apps/v1", "Job": "batch/v1", "CronJob": "batch/v1",
                   "HorizontalPodAutoscaler": "autoscaling/v2", "StatefulSet": "apps/v1",
                   "DaemonSet": "apps/v1"}.get(kind, "v1")
    namespace_ = None if kind == "Node" else split(name)[0]
    involved_uid = uid_of(kind, name, clock.stamp(t)) if uid_of else None
    if namespace_ not in (None, NAMESPACE):
        name, message = short(name), message.replace(f"{namespace_}/", "")
        if reason == "Scheduled":  # the one message that names the pod with its namespace
            message = message.replace("Successfully assigned ", f"Successfully assigned {namespace_}/", 1)
    component = {"kubelet": "kubelet", "scheduler": "default-scheduler"}.get(source, source or "labkit")
    stamp = clock.stamp(t)
    return {"kind": "Event", "apiVersion": "v1",
            "metadata": {"name": f"{name}.{index:016x}", "namespace": namespace_ or NAMESPACE,
                         "uid": uid("Event", str(index)), "resourceVersion": str(index + 1),
                         "creationTimestamp": stamp},
            "involvedObject": {k: v for k, v in {"kind": kind, "namespace": namespace_, "name": name,
                                                  "uid": involved_uid, "apiVersion": api_version}.items() if v},
            "reason": reason, "message": message, "type": type_, "count": 1,
            "source": {"component": component}, "firstTimestamp": stamp, "lastTimestamp": stamp,
            "reportingComponent": component, "reportingInstance": ""}


def event_v1(core: dict) -> dict:
    """A core/v1 Event in the shape of events.k8s.io/v1, as the API server converts it
    (pkg/apis/events/v1/conversion.go: involvedObject -> regarding, message -> note, source,
    firstTimestamp, lastTimestamp and count -> deprecated*, reportingComponent -> reportingController)."""
    same = ("eventTime", "series", "reportingInstance", "action", "reason", "related", "type")
    shaped = {"kind": "Event", "apiVersion": "events.k8s.io/v1", "metadata": core["metadata"],
              **{k: core[k] for k in same if core.get(k) is not None},
              "reportingController": core.get("reportingComponent"), "regarding": core.get("involvedObject"),
              "note": core.get("message"), "deprecatedSource": core.get("source"),
              "deprecatedFirstTimestamp": core.get("firstTimestamp"),
              "deprecatedLastTimestamp": core.get("lastTimestamp"), "deprecatedCount": core.get("count")}
    if shaped.get("eventTime") is None and core.get("lastTimestamp"):
        # A core event's eventTime is empty, and the real server sends null; the schema (and the official
        # client, which refuses null) require a MicroTime: the moment it happened, to the microsecond.
        shaped["eventTime"] = core["lastTimestamp"].replace("Z", ".000000Z")
    return {k: v for k, v in shaped.items() if v is not None}


def objects(store: Storage, namespace: str | None) -> list[Obj]:
    """The cluster's events, but what the student did to the simulator itself (a machine's power cut,
    a component stopped: source "student"), which labkit's own event log shows and no real cluster
    records: `kubectl get events` must not give away what a lesson asks the student to find."""
    uid_of = _uids(store)
    events = (event(i, *e, clock=store.clock, uid_of=uid_of) for i, e in enumerate(store.sim.api.events)
              if e[5] != "student")
    return aggregated(e for e in events if namespace is None or e["metadata"]["namespace"] == namespace)


def aggregated(events) -> list[Obj]:
    """Identical events as one, counted, as client-go's EventCorrelator records a repeat
    (tools/record/events_cache.go, eventObserve): same source, object, type, reason and message
    make one Event whose count grows and whose lastTimestamp moves; its name is the first's."""
    out: dict[tuple, Obj] = {}
    for e in events:
        involved = e["involvedObject"]
        key = (e["source"].get("component"), involved.get("kind"), involved.get("namespace"), involved.get("name"),
               involved.get("uid"), e["type"], e["reason"], e["message"])
        first = out.get(key)
        if first is None:
            out[key] = e
        else:
            first["count"] += 1
            first["lastTimestamp"] = e["lastTimestamp"]
            first["metadata"]["resourceVersion"] = e["metadata"]["resourceVersion"]
    return list(out.values())


def _uids(store: Storage) -> Callable[[str, str, str], str | None]:
    """uid_of(kind, simulator name, when) for events, each object rendered at most once: the uid of the
    object of that name that existed `when` (a timestamp); an event from before it was made belongs to
    an earlier object of the same name, deleted since, whose uid is gone with it (so `kubectl describe`
    of a re-created object lists its own events only, as the real one matches them by uid)."""
    found: dict[tuple[str, str], tuple[str, str] | None] = {}
    plurals = {"Pod": "pods", "Deployment": "deployments", "ReplicaSet": "replicasets", "Node": "nodes",
               "Job": "jobs", "CronJob": "cronjobs", "HorizontalPodAutoscaler": "horizontalpodautoscalers",
               "StatefulSet": "statefulsets", "DaemonSet": "daemonsets"}
    records = {"Job": "stored/batch/jobs", "CronJob": "stored/batch/cronjobs",
               "HorizontalPodAutoscaler": "stored/autoscaling/horizontalpodautoscalers",
               "StatefulSet": "stored/apps/statefulsets", "DaemonSet": "stored/apps/daemonsets"}  # kept as written

    def uid_of(kind: str, key: str, when: str) -> str | None:
        if (kind, key) not in found:
            plural = plurals[kind]
            if key not in store.items(records.get(kind, plural)):
                found[kind, key] = None
            else:
                namespace, name = (None, key) if plural == "nodes" else split(key)
                meta = store.get(plural, namespace, name)["metadata"]
                found[kind, key] = meta["uid"], meta["creationTimestamp"]
        current = found[kind, key]
        return current[0] if current is not None and when >= current[1] else None
    return uid_of


def event_row(event: Obj, now: float) -> list:
    """Follows printEvent: Last Seen, Type, Reason, Object, Message | Subobject, Source, First Seen, Count, Name."""
    first = since(event.get("firstTimestamp") or event.get("eventTime"), now)
    last = since(event["lastTimestamp"], now) if event.get("lastTimestamp") else first
    count = event.get("count") or 0
    series = event.get("series")
    if series:
        last, count = since(series.get("lastObservedTime"), now), series.get("count", 0)
    elif count == 0:
        count = 1  # singleton events of the new API carry no count
    involved = event.get("involvedObject") or {}
    target = (involved.get("kind") or "").lower()
    if involved.get("name"):
        target = f"{target}/{involved['name']}"
    return [last, event.get("type", ""), event.get("reason", ""), target, involved.get("fieldPath", ""),
            _event_source(event), (event.get("message") or "").strip(), first, count,
            (event.get("metadata") or {}).get("name", "")]


def _event_source(event: Obj) -> str:
    """Follows formatEventSource: "component, host", falling back to reportingComponent/Instance."""
    source = event.get("source") or {}
    component = source.get("component") or event.get("reportingComponent") or ""
    instance = source.get("host") or event.get("reportingInstance") or ""
    return f"{component}, {instance}" if instance else component


COLUMNS = (Column("Last Seen", "string", "Time since the event last recurred."),
           Column("Type", "string", "Type of the event (Normal, Warning)."),
           Column("Reason", "string", "Short, machine-readable reason for the event."),
           Column("Object", "string", "The object the event is about (involvedObject)."),
           Column("Subobject", "string", "Part of the object the event is about (involvedObject.fieldPath).", 1),
           Column("Source", "string", "The component (and host) that reported the event.", 1),
           Column("Message", "string", "Human-readable description of the event."),
           Column("First Seen", "string", "Time since the event was first recorded.", 1),
           Column("Count", "string", "The number of times the event has occurred.", 1),
           Column(NAME.name, NAME.type, NAME.description, 1))
FIELDS = ("metadata.name", "metadata.namespace", "involvedObject.kind", "involvedObject.name",
          "involvedObject.namespace", "involvedObject.uid", "reason", "type", "source")
STRATEGY = Strategy(objects=objects)

EVENT = REGISTRY.add(Kind(
    group="", version="v1", plural="events", kind="Event", namespaced=True, verbs=READ, short=("ev",),
    schema="io.k8s.api.core.v1.Event", fields=FIELDS, columns=COLUMNS, row=event_row, strategy=STRATEGY))
EVENT_V1 = REGISTRY.add(Kind(
    group="events.k8s.io", version="v1", plural="events", kind="Event", namespaced=True, verbs=READ, short=("ev",),
    schema="io.k8s.api.events.v1.Event", fields=FIELDS, columns=COLUMNS, row=event_row, strategy=STRATEGY,
    shape=event_v1))
