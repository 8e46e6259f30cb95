"""What a swarm's managers return, read into labkit's snapshots, by pure functions.

The input is docker-py's attrs dicts (the shape `docker service inspect`,
`docker node inspect` and the tasks API print) and the playground's machines;
the output is `labkit.model` (`Node`, `WorkloadStatus`, `Replica`, `Event`,
...). A replica is a task, named `<service>.<slot>.<task id prefix>`. No client
here: `labkit.backends.docker.swarm` fetches the lists.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

from ...model import ClusterState, Component, Event, Node, Replica, WorkloadStatus
from . import common as du
from .playground import index_of
from .swarm_specs import SWARM_UPDATE_DEFAULTS
from ..base import LABEL

History = list[tuple[int, str]]  # a service's (revision, image), oldest first

PENDING = {"new", "pending", "assigned", "accepted", "ready", "preparing", "starting"}
ROLLOUT = {None: "complete", "": "complete", "updating": "progressing", "paused": "paused",
           "completed": "complete", "rollback_started": "rolling back", "rollback_paused": "paused",
           "rollback_completed": "complete"}


# -- small readers ------------------------------------------------------------------------

def task_name(service: str, task: dict) -> str:
    """`web.3.k2x9qa`: service, slot, and the start of the task id (a slot has many tasks over time)."""
    return f"{service}.{task.get('Slot', 0)}.{task['ID'][:6]}"


def image_of(attrs: dict) -> str:
    """A service's image as the student named it (without the digest Swarm pins)."""
    spec = (attrs.get("Spec") or {}).get("TaskTemplate") or {}
    return ((spec.get("ContainerSpec") or {}).get("Image") or "").split("@sha256:")[0]


def revision(history: History, image: str) -> int:
    """The latest revision of a service that ran `image` (1 when none did)."""
    for rev, img in reversed(history):
        if img == image:
            return rev
    return 1


def powered(containers: dict) -> set[str]:
    """The names of the playground's machines that have power (`containers`: index -> container)."""
    return {f"node-{i}" for i, c in containers.items() if c.status == "running"}


def leader_of(nodes: list[dict]) -> str | None:
    """The hostname of the swarm's leader, as its managers report it (None: no leader)."""
    return next((a["Description"]["Hostname"] for a in nodes if (a.get("ManagerStatus") or {}).get("Leader")), None)


# -- tasks --------------------------------------------------------------------------------

def visible_tasks(tasks: list[dict], services: dict[str, str], hostnames: dict[str, str],
                  history: dict[str, History], epoch0: float) -> list[tuple[Replica, dict]]:
    """(Replica, raw task) for tasks worth showing: wanted, still running, or the latest failure of a slot.

    `services` maps this lab's service ids to their names (tasks of others are left out),
    `hostnames` node ids to hostnames; `epoch0` is the wall clock when labkit connected."""
    newest: dict[tuple, str] = {}
    failures: dict[tuple, int] = {}
    for t in sorted(tasks, key=lambda t: t.get("CreatedAt", "")):
        key = (t["ServiceID"], t.get("Slot") or t.get("NodeID"))
        newest[key] = t["ID"]
        if t["Status"]["State"] in ("failed", "rejected"):
            failures[key] = failures.get(key, 0) + 1
    out = []
    for t in tasks:
        service = services.get(t["ServiceID"])
        if service is None:
            continue
        state = t["Status"]["State"]
        key = (t["ServiceID"], t.get("Slot") or t.get("NodeID"))
        wanted = t.get("DesiredState", "") in ("running", "ready", "accepted")
        phase = _phase(state, wanted, newest.get(key) == t["ID"])
        if phase is None:
            continue
        err = t["Status"].get("Err") or ""
        reason = ""
        if phase == "pending":
            reason = "Unschedulable" if "no suitable node" in err else state.capitalize()
        elif phase == "failed":
            reason = (err or state)[:80]
        image = image_of({"Spec": {"TaskTemplate": t.get("Spec") or {}}})
        out.append((Replica(
            name=task_name(service, t), workload=service, node=hostnames.get(t.get("NodeID")), image=image,
            phase=phase, ready=phase == "running", restarts=failures.get(key, 0) if wanted else 0,
            revision=revision(history.get(service, []), image), reason=reason, ip="",
            created=du.parse_time(t.get("CreatedAt")) - epoch0), t))
    return out


def _phase(state: str, wanted: bool, newest: bool) -> str | None:
    """A task's phase as labkit shows it, from its state and whether it is still wanted (its
    desired state) and the newest of its slot; None: not worth showing."""
    if state == "running":
        return "running" if wanted else "terminating"
    if wanted and state in PENDING:
        return "pending"
    if newest and state in ("failed", "rejected"):
        return "failed"
    if wanted and state in ("failed", "rejected"):
        return "failed"
    if wanted and state == "complete":
        return "succeeded"
    return None


def task_events(tasks: list[tuple[Replica, dict]], since: float, epoch0: float) -> list[Event]:
    """The events the visible tasks tell of, from `since` on: scheduled, then started, failed,
    killed or completed (each task's in that order; not sorted)."""
    out = []
    for r, t in tasks:
        if r.created >= since:
            out.append(Event(time=r.created, reason="Scheduled", object=f"task/{r.name}",
                             message=f"assigned to {r.node}" if r.node else "waiting for a node", source="scheduler"))
        when = du.parse_time(t["Status"].get("Timestamp")) - epoch0
        if when >= since and r.phase != "pending":
            reason = {"running": "Started", "failed": "Failed", "terminating": "Killing",
                      "succeeded": "Completed"}[r.phase]
            out.append(Event(time=when, reason=reason, object=f"task/{r.name}",
                             message=t["Status"].get("Err") or t["Status"].get("Message", ""),
                             type="Warning" if r.phase == "failed" else "Normal", source=f"agent on {r.node}"))
    return out


def task_targets(service: str, tasks: list[dict], hostnames: dict[str, str],
                 ip: Callable[[int], str]) -> list[tuple[str, int, str]]:
    """Where requests to a playground service go: (address, port, task) of each running task's
    own port 80 on its node (`ip`: a playground node's address by its index)."""
    out = []
    for t in tasks:
        if t["Status"]["State"] != "running":
            continue
        index = index_of(hostnames.get(t.get("NodeID"), ""))
        for p in (t["Status"].get("PortStatus") or {}).get("Ports") or []:
            if p.get("TargetPort") == 80 and index is not None:
                out.append((ip(index), p["PublishedPort"], task_name(service, t)))
    return out


# -- nodes, workloads, the swarm ----------------------------------------------------------

def swarm_nodes(nodes: list[dict], containers: dict | None, replicas: list[Replica]) -> list[Node]:
    """The swarm's nodes by hostname. `containers`: the playground's machines by index (None on
    your own engine), so that a machine switched off is Down at once, and an old id of a
    rebuilt machine is left out."""
    out = []
    for a in sorted(nodes, key=lambda a: a["Description"]["Hostname"]):
        hostname = a["Description"]["Hostname"]
        container = containers.get(index_of(hostname)) if containers is not None else None
        powered = container is None or container.status == "running"
        up = a["Status"]["State"] == "ready" and powered
        availability = a["Spec"].get("Availability", "active")
        if containers is not None and container is None:
            continue  # an old id of a rebuilt node
        status = "Ready" if up else "Down"
        if availability != "active":
            status += f",{availability.capitalize()}"
        res = a["Description"].get("Resources") or {}
        mine = [r for r in replicas if r.node == hostname and r.phase == "running"]
        out.append(Node(
            name=hostname, role="manager" if a["Spec"].get("Role") == "manager" else "worker",
            ready=up, schedulable=availability == "active",
            cpu_capacity=int(res.get("NanoCPUs", 0) // 1_000_000), memory_capacity=int(res.get("MemoryBytes", 0) >> 20),
            pods_capacity=1000, pods_allocated=len(mine), status=status,
            labels=tuple(sorted((a["Spec"].get("Labels") or {}).items()))))
    return out


def machine_nodes(containers: dict) -> tuple[Node, ...]:
    """The playground's machines before `docker swarm init`: Docker, and no swarm."""
    return tuple(Node(name=f"node-{i}", ready=c.status == "running", pods_capacity=1000,
                      status="Ready (no swarm)" if c.status == "running" else "Down")
                 for i, c in containers.items())


def without_leader(last: ClusterState, powered: set[str]) -> tuple[tuple[Node, ...], tuple[Replica, ...]]:
    """The nodes and replicas of the last picture while no manager answers: the machines
    switched off since are Down, and their tasks gone (workers keep theirs running)."""
    nodes = tuple(replace(n, ready=n.ready and n.name in powered,
                          status=n.status if n.name in powered else "Down") for n in last.nodes)
    replicas = tuple(r for r in last.replicas if r.node in powered)  # workers keep their tasks running
    return nodes, replicas


def workload_of(name: str, attrs: dict, replicas: list[Replica], history: History | None) -> WorkloadStatus:
    """Service `name` (its attrs) as a workload, counted from its visible `replicas`."""
    spec = attrs["Spec"]
    image = image_of(attrs)
    mine = [r for r in replicas if r.workload == name and r.phase != "terminating"]
    ready = sum(1 for r in mine if r.ready)
    update = spec.get("UpdateConfig") or SWARM_UPDATE_DEFAULTS
    order = update.get("Order", "stop-first")
    desired = int(((spec.get("Mode") or {}).get("Replicated") or {}).get("Replicas", 0))
    step = int(update.get("Parallelism", 1)) or desired
    status = attrs.get("UpdateStatus") or {}
    rollout = ROLLOUT.get(status.get("State"), "progressing")
    history = history or [(1, image)]
    return WorkloadStatus(
        name=name, image=image, desired=desired,
        current=sum(1 for r in mine if r.phase in ("pending", "running")), ready=ready,
        updated=sum(1 for r in mine if r.image == image and r.phase in ("pending", "running")),
        available=ready, revision=history[-1][0], kind="service", strategy=order,
        max_surge=step if order == "start-first" else 0,
        max_unavailable=step if order == "stop-first" else 0,
        paused=rollout == "paused", rollout=rollout, message=status.get("Message", ""),
        labels=tuple(sorted((k, v) for k, v in (spec.get("Labels") or {}).items() if not k.startswith(LABEL))))


def components(nodes: tuple) -> tuple[Component, ...]:
    """A swarm's parts: dockerd on every node; the manager's parts on managers, an agent on workers."""
    out = []
    for node in nodes:
        out.append(Component(name="dockerd", running=node.ready, node=node.name))
        if node.role == "manager":
            out += [Component(name=part, running=node.ready, node=node.name)
                    for part in ("raft store", "orchestrator", "scheduler", "dispatcher")]
        else:
            out.append(Component(name="agent", running=node.ready, node=node.name))
    return tuple(out)
