"""`GET /tasks` and `GET /tasks/{id}`: a service's tasks, slot by slot, with their history.

    docker service ps web  # ID NAME IMAGE NODE DESIRED STATE CURRENT STATE ERROR PORTS
"""
from __future__ import annotations

import copy

from .. import info as sim_info
from ..objects import Pod
from .common import Answer, Call, bad, filters, hex_id, labels_match, route
from .modes import is_global
from .spec import as_served
from .state import Engine

FILTERS = ("desired-state", "id", "label", "name", "node", "service", "_up-to-date")
DESIRED = ("running", "shutdown", "accepted")


def state(engine: Engine, task: Pod) -> tuple[str, str, str]:
    """(desired state, state, message) of a task, as swarmkit's agent reports it."""
    if task.deleting:  # on a machine that is off, the last state its agent reported stays
        lost = task.node is not None and not sim_info.powered(engine.sim, task.node)
        return ("shutdown", "running", "started") if task.container_up or lost else \
            ("shutdown", "shutdown", "shutdown")
    if task.phase == "failed":
        if task.reason == "No such image":
            return "shutdown", "rejected", "preparing"
        return "shutdown", "failed", "started"
    if task.phase == "succeeded":
        return "shutdown", "complete", "finished"
    if task.phase == "pending":
        if task.container_up:
            return "running", "starting", "starting"
        if task.node is None:
            return "running", "pending", "pending task scheduling"
        return "running", "preparing", "preparing"
    return "running", "running", "started"


def error(engine: Engine, task: Pod, now: str, events: list) -> str:
    """A failed or rejected task's error, or why a pending one has no node (the scheduler's
    `no suitable node (...)`, as swarmkit's); `events`: the simulator's events, read once a request."""
    if now == "pending" and task.reason == "Unschedulable":
        for _, reason, obj, message, *_ in reversed(engine.sim.api.events):
            if reason == "FailedScheduling" and obj.split("/", 1)[-1] == task.name:
                return message
        return ""
    if now == "rejected":
        return f"No such image: {task.image}"
    if now == "failed":
        if not events:
            events.extend(engine.sim.events())
        return f"task: non-zero exit ({sim_info.exit_code(engine.sim, task.name, events) or 1})"
    return ""


def task_json(engine: Engine, task: Pod, last_seen: dict[str, float], events: list) -> dict:
    desired, now, message = state(engine, task)
    err = error(engine, task, now, events)
    since = task.created
    if now == "running":
        since = task.started if task.started is not None else task.created
    elif now in ("failed", "rejected", "shutdown", "complete"):
        since = last_seen.get(task.name, task.created)
    record = engine.record(task.owner)
    spec = as_served(copy.deepcopy(record.spec.get("TaskTemplate") or {}))
    spec.setdefault("ContainerSpec", {})["Image"] = record.refs.get(task.image, task.image)
    status = {"Timestamp": engine.timestamp(since), "State": now, "Message": message,
              "ContainerStatus": {"ContainerID": hex_id("container", task.name) if now != "pending" else "",
                                  "PID": 0, "ExitCode": 0}, "PortStatus": {}}
    if err:
        status["Err"] = err
    found = {"ID": engine.task_id(task), "Version": {"Index": task.resource_version},
             "CreatedAt": engine.timestamp(task.created), "UpdatedAt": engine.timestamp(since),
             "Labels": {}, "Spec": spec, "ServiceID": engine.service_id(task.owner),
             "Slot": 0 if is_global(engine, task.owner) else task.slot,  # a global task has a node, no slot
             "Status": status, "DesiredState": desired}
    if task.node is not None:
        found["NodeID"] = engine.node_id(task.node)
    return found


def last_events(engine: Engine, names: set[str]) -> dict[str, float]:
    """When each of `names` last had an event (a task's end is dated by it)."""
    seen: dict[str, float] = {}
    for at, _, obj, *_ in engine.sim.api.events:
        name = obj.split("/", 1)[-1]
        if name in names:
            seen[name] = at
    return seen


def wanted_tasks(engine: Engine, wanted: dict[str, list[str]]) -> list[Pod]:
    """The tasks the filters pick. `_up-to-date` (a value given: the CLI's progress bars ask for it) keeps the
    tasks made from the service's current spec, as swarmkit's ListTasks does with
    `!orchestrator.IsTaskDirty(service, task, node)` (moby/swarmkit manager/controlapi/task.go): during
    an update `docker service update` counts only the new tasks, `1 out of 5 tasks`, `2 out of 5`...."""
    services = {engine.find_service(v) for v in wanted.get("service", [])}
    current = engine.services()
    nodes = {engine.find_node(v).name for v in wanted.get("node", [])}
    for value in wanted.get("desired-state", []):
        if value not in DESIRED:
            raise bad(f"Invalid task desired state filter value: {value}")
    out = []
    for task in engine.tasks():
        ident = engine.task_id(task)
        desired = state(engine, task)[0]
        if "service" in wanted and task.owner not in services:
            continue
        if "node" in wanted and task.node not in nodes:
            continue
        if wanted.get("_up-to-date") and task.template is not current[task.owner].template:
            continue
        if wanted.get("desired-state") and desired not in wanted["desired-state"] and not (
                desired == "running" and "accepted" in wanted["desired-state"]):
            continue
        if wanted.get("id") and not any(ident.startswith(v) for v in wanted["id"]):
            continue
        if wanted.get("name") and not any(f"{task.owner}.{task.slot}.{ident}".startswith(v) for v in wanted["name"]):
            continue
        if wanted.get("label") and not labels_match(engine.record(task.owner).spec.get("Labels") or {},
                                                    wanted["label"]):  # (swarmkit: the service's labels)
            continue
        out.append(task)
    return out


@route("GET", "/tasks")
def listing(call: Call) -> Answer:
    engine = call.engine
    wanted = filters(call.query, FILTERS)
    with engine.lock:
        engine.require_leader()
        found = wanted_tasks(engine, wanted)
        seen = last_events(engine, {t.name for t in found if t.phase != "running" or t.deleting})
        events: list = []
        return Answer(json=[task_json(engine, t, seen, events) for t in found])


@route("GET", "/tasks/{id}")
def inspect(call: Call) -> Answer:
    engine = call.engine
    with engine.lock:
        engine.require_leader()
        task = engine.find_task(call.params["id"])
        return Answer(json=task_json(engine, task, last_events(engine, {task.name}), []))
