"""The questions checks ask of a cluster: its state (a `ClusterState` snapshot), its events and its
timeline. Public through `labkit.exercises`, which documents them; import them from there.

Two kinds: questions answered with facts (`ready_replicas`, `nodes_down`, `events_about`, `last_rollout`,
...), and ones answered with problems, in a student's words, named `..._problems` (an empty list: none),
that a check returns as they are or adds up. Only `enough_workers` (before a lesson starts) and
`delete_workload` (an exercise's reset) change the cluster.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..model import ClusterState, Event, Node, Replica, WorkloadStatus

if TYPE_CHECKING:
    from ..traffic import Traffic


def enough_workers(cluster, count: int = 3) -> None:
    """Add workers until `cluster` has `count` of them: a one-node minikube or a smaller served
    cluster gets the ones it lacks (the simulator was made with them). Says what it added."""
    added = [cluster.add_node() for _ in range(count - len(workers(cluster.state())))]
    if added:
        print(f"added {', '.join(added)}: the lesson needs {count} workers")


def delete_workload(cluster, name: str) -> bool:
    """Delete workload `name` (an exercise's reset) and wait until its replicas are gone too, so that
    a new one of the same name starts clean. Whether there was one."""
    if cluster.state().workload(name) is None:
        return False
    cluster.workload(name).delete()
    cluster.wait(until=lambda state: state.workload(name) is None and not state.replicas_of(name))
    return True


def workers(state: ClusterState) -> list[Node]:
    """The nodes that take a lesson's pods: the workers, or on a one-node cluster (minikube) the
    control-plane node, which runs pods there."""
    return [n for n in state.nodes if n.role != "control-plane"] or list(state.nodes)


def ready_replicas(state: ClusterState, name: str) -> list[Replica]:
    """The replicas of workload `name` that run and are ready, on a node that is up.

        len(ready_replicas(cluster.state(), "hello"))   # 2"""
    up = {n.name for n in state.nodes if n.ready}
    return [r for r in state.replicas_of(name) if r.phase == "running" and r.ready and r.node in up]


def workload_problems(state: ClusterState, name: str, replicas: int, image: str | None = None) -> list[str]:
    """The problems with workload `name` having `replicas` ready copies (of `image`, if given): that
    it is missing, asks for another number, has fewer ready, or runs another image.

        return workload_problems(cluster.state(), "hello", 2, image="web-server:1")   # a whole check"""
    w = state.workload(name)
    if w is None:
        known = ", ".join(x.name for x in state.workloads) or "none"
        return [f"there is no workload named {name!r} (workloads: {known})"]
    problems = []
    if w.desired != replicas:
        problems.append(f"{name} asks for {w.desired} replica{'' if w.desired == 1 else 's'}, not {replicas}")
    ready = ready_replicas(state, name)
    if len(ready) < replicas:
        problems.append(f"only {len(ready)} of {replicas} replicas of {name} are running and ready")
    if image is not None:
        if w.image != image:
            problems.append(f"{name} runs image {w.image}, not {image}")
        elif any(r.image != image for r in ready):
            problems.append(f"some replicas of {name} still run an older image: wait for the rollout to finish")
    return problems


def pending_count(state: ClusterState, name: str | None = None) -> int:
    """How many replicas (of workload `name`, or of all) are pending: waiting for a node or starting."""
    return sum(1 for r in state.replicas if r.phase == "pending" and (name is None or r.workload == name))


def nodes_running(state: ClusterState, name: str) -> set[str]:
    """The nodes a ready replica of `name` runs on."""
    return {r.node for r in ready_replicas(state, name)}


def nodes_down(state: ClusterState, role: str | None = None) -> list[str]:
    """The nodes that are not ready (switched off, or lost), of `role` if given ("manager", "worker")."""
    return [n.name for n in state.nodes if not n.ready and (role is None or n.role == role)]


def managers(state: ClusterState) -> list[Node]:
    """A swarm's manager nodes, up or down."""
    return [n for n in state.nodes if n.role == "manager"]


def managers_down(state: ClusterState) -> list[str]:
    """Managers that are down. A swarm without quorum cannot even mark its nodes Down, so the
    managers' own components (where the backend reports them) are asked first."""
    stopped = {c.node for c in state.components if c.name == "manager" and not c.running}
    return [n.name for n in managers(state) if n.name in stopped or not n.ready]


def components_down(state: ClusterState) -> list[str]:
    """The components that are stopped ("scheduler", "kubelet on node-2"), a swarm's managers left out."""
    return [f"{c.name}" + (f" on {c.node}" if c.node and c.name not in ("api-server", "etcd", "scheduler",
                                                                       "controller-manager") else "")
            for c in state.components if not c.running and c.name != "manager"]


def timeline_of(cluster, name: str, since: float = 0.0) -> list[tuple[float, WorkloadStatus]]:
    """(cluster time, summary) of workload `name`, each time it changed (the facade records them in
    `cluster.timeline`), from cluster time `since` on (an exercise's last reset: `reset_at`)."""
    return [(t, w) for t, workloads in getattr(cluster, "timeline", []) if t >= since
            for w in workloads if w.name == name]


def switched_off_at(cluster) -> dict[str, float]:
    """node -> when it was last switched off, from the events labkit records when it fails a node
    (NodeFailed on the simulator, NodeDown on the Swarm playground)."""
    return {e.object.split("/", 1)[1]: e.time for e in cluster.events()
            if e.reason in ("NodeFailed", "NodeDown") and e.object.startswith("node/")}


def scaled_at(cluster, name: str, replicas: int) -> float | None:
    """When workload `name` was last asked for `replicas` (from the timeline), or None."""
    points = timeline_of(cluster, name)
    when = None
    for k, (t, w) in enumerate(points):
        if w.desired == replicas and (k == 0 or points[k - 1][1].desired != replicas):
            when = t
    return when


def scaled_before_failure_problems(cluster, name: str, replicas: int, lost: list[str]) -> list[str]:
    """The problem, if `name` was scaled to `replicas` before the managers in `lost` had failed:
    the exercise is about a swarm taking orders while they are down."""
    when, off = scaled_at(cluster, name, replicas), switched_off_at(cluster)
    last_failure = max((off[n] for n in lost if n in off), default=None)
    if when is not None and last_failure is not None and when < last_failure:
        return [f"{name} was scaled to {replicas} before the managers failed: scale it while they are down, "
                "to see the swarm still take the order"]
    return []


def last_traffic(cluster, name: str, since: float = 0.0) -> Traffic | None:
    """The latest traffic record sent to `name` (the latest attempt counts; none started before
    `since`), or None."""
    records = [t for t in getattr(cluster, "traffic_log", []) if t.service.name == name and t.start >= since]
    return records[-1] if records else None


def lost_request_problems(cluster, name: str, send: str, unready_fix: str, since: float = 0.0,
                          stopping_fix: str = "their server had stopped before the Service stopped sending") -> list[str]:
    """Problems with the latest traffic to `name` covering an update from version 1 to 2 with
    no failed request. `send`: what to say when none was sent; `unready_fix`: what to say of
    replicas that counted as ready before they listened, `stopping_fix` of replicas sent requests
    after they were told to stop (what the check sees, not the fix)."""
    last = last_traffic(cluster, name, since)
    if last is None:
        return [f"no traffic was sent to {name}: {send}"]
    problems = []
    answered = {r.answer for r in last.requests if r.outcome == "ok"}
    if not {"hello v1", "hello v2"} <= answered:
        problems.append(f"the last traffic sent to {name} did not cover the update (version 1 and then version 2 "
                        "should both answer): start it before the update and let it run until the update is done")
    stopping = sum(1 for r in last.requests if r.outcome == "refused" and r.replica and r.stopping)
    unready = sum(1 for r in last.requests if r.outcome == "refused" and r.replica and not r.stopping)
    if unready:
        problems.append(f"{unready} requests went to new replicas that counted as ready before they listened: "
                        f"{unready_fix}")
    if stopping:
        problems.append(f"{stopping} requests went to old replicas already told to stop: {stopping_fix}")
    if last.failed - unready - stopping:
        problems.append(f"{last.failed - unready - stopping} requests failed: during the update no replica was "
                        "ready to answer them")
    return problems


def events_about(cluster, *, reason: str | tuple[str, ...] = (), object: str = "", since: float = 0.0) -> list[Event]:
    """The cluster's events, oldest first, from cluster time `since` on: those with `reason` (one or
    several) and about `object` ("node/node-2"; "pod/" for every pod), if given.

        noticed = events_about(cluster, reason="NodeNotReady", object="node/node-2")[0].time"""
    reasons = (reason,) if isinstance(reason, str) else tuple(reason)
    return [e for e in cluster.events(since) if (not reasons or e.reason in reasons) and
            (not object or e.object == object or (object.endswith("/") and e.object.startswith(object)))]


def ever_below(cluster, name: str, available: int, since: float = 0.0) -> bool:
    """Whether workload `name` ever had fewer than `available` replicas available, from cluster time
    `since` on (its timeline): did the users notice the update?"""
    return any(w.available < available for _, w in timeline_of(cluster, name, since))


@dataclass(frozen=True)
class Rollout:
    """What one rollout of a workload did, read from the cluster's timeline."""

    name: str
    seconds: float
    fewest_available: int
    most_replicas: int
    desired: int


def last_rollout(cluster, name: str, since: float = 0.0) -> Rollout:
    """The last rollout of `name` (from cluster time `since` on), read from the timeline: it starts at
    the first sample with a new image or revision and ends when every replica is updated and available
    again."""
    points = timeline_of(cluster, name, since)
    if not points:
        status = cluster.workload(name).status()
        return Rollout(name, 0.0, status.available, status.current, status.desired)
    start = 0
    for k in range(len(points) - 1, 0, -1):
        (_, now), (_, before) = points[k], points[k - 1]
        if (now.revision, now.image) != (before.revision, before.image):
            start = k
            break
    window = points[start:]
    done = next((t for t, w in window if w.rollout == "complete" and w.updated == w.desired == w.available),
                window[-1][0])
    during = [w for t, w in points[max(start - 1, 0):] if t <= done]
    return Rollout(name, round(done - window[0][0], 1), min(w.available for w in during),
                   max(w.current for w in during), window[-1][1].desired)

