"""Small questions the checks ask of a cluster snapshot, each answered in a student's words, and
the one thing lessons do to a cluster before they start (`enough_workers`)."""
from __future__ import annotations

from ..model import ClusterState


def enough_workers(cluster, count: int = 3) -> None:
    """Add workers until `cluster` has `count` of them: a one-node minikube or a smaller served
    cluster gets the ones it lacks (the simulator was made with them). Says what it added."""
    added = [cluster.add_node() for _ in range(count - len(workers(cluster.state())))]
    if added:
        print(f"added {', '.join(added)}: the lesson needs {count} workers")


def delete(cluster, name: str) -> bool:
    """Delete workload `name` (an exercise's reset) and wait until its replicas are gone too, so that
    a new one of the same name starts clean. Whether there was one."""
    if cluster.state().workload(name) is None:
        return False
    cluster.workload(name).delete()
    cluster.wait(until=lambda state: state.workload(name) is None and not state.replicas_of(name))
    return True


def workers(state: ClusterState) -> list:
    """The nodes that take a lesson's pods: the workers, or on a one-node cluster (minikube) the
    control-plane node, which runs pods there."""
    return [n for n in state.nodes if n.role != "control-plane"] or list(state.nodes)


def running(state: ClusterState, name: str) -> list:
    """The replicas of `name` that run and are ready, on a node that is up."""
    up = {n.name for n in state.nodes if n.ready}
    return [r for r in state.replicas_of(name) if r.phase == "running" and r.ready and r.node in up]


def workload(state: ClusterState, name: str, replicas: int, image: str | None = None) -> list[str]:
    """Problems with workload `name` having `replicas` ready copies (of `image`, if given)."""
    w = state.workload(name)
    if w is None:
        known = ", ".join(x.name for x in state.workloads) or "none"
        return [f"there is no workload named {name!r} (workloads: {known})"]
    problems = []
    if w.desired != replicas:
        problems.append(f"{name} asks for {w.desired} replicas, not {replicas}")
    ready = running(state, name)
    if len(ready) < replicas:
        problems.append(f"only {len(ready)} of {replicas} replicas of {name} are running and ready")
    if image is not None:
        if w.image != image:
            problems.append(f"{name} runs image {w.image}, not {image}")
        elif any(r.image != image for r in ready):
            problems.append(f"some replicas of {name} still run an older image: wait for the rollout to finish")
    return problems


def pending(state: ClusterState, name: str | None = None) -> int:
    return sum(1 for r in state.replicas if r.phase == "pending" and (name is None or r.workload == name))


def nodes_used(state: ClusterState, name: str) -> set[str]:
    return {r.node for r in running(state, name)}


def down(state: ClusterState, role: str | None = None) -> list[str]:
    return [n.name for n in state.nodes if not n.ready and (role is None or n.role == role)]


def managers(state: ClusterState) -> list:
    return [n for n in state.nodes if n.role == "manager"]


def managers_down(state: ClusterState) -> list[str]:
    """Managers that are down. A swarm without quorum cannot even mark its nodes Down, so the
    managers' own components (where the backend reports them) are asked first."""
    stopped = {c.node for c in state.components if c.name == "manager" and not c.running}
    return [n.name for n in managers(state) if n.name in stopped or not n.ready]


def component_down(state: ClusterState) -> list[str]:
    return [f"{c.name}" + (f" on {c.node}" if c.node and c.name not in ("api-server", "etcd", "scheduler",
                                                                       "controller-manager") else "")
            for c in state.components if not c.running and c.name != "manager"]


def samples(cluster, name: str, since: float = 0.0) -> list:
    """The workload summaries of `name` the facade recorded over time (cluster.timeline), from
    cluster time `since` on (an exercise's last reset: `labkit.lessons.reset_at`)."""
    return [(t, w) for t, workloads in getattr(cluster, "timeline", []) if t >= since
            for w in workloads if w.name == name]


def switched_off(cluster) -> dict[str, float]:
    """node -> when it was last switched off, from the events labkit records when it fails a node
    (NodeFailed on the simulator, NodeDown on the Swarm playground)."""
    return {e.object.split("/", 1)[1]: e.time for e in cluster.events()
            if e.reason in ("NodeFailed", "NodeDown") and e.object.startswith("node/")}


def scaled_at(cluster, name: str, replicas: int) -> float | None:
    """When workload `name` was last asked for `replicas` (from the timeline), or None."""
    points = samples(cluster, name)
    when = None
    for k, (t, w) in enumerate(points):
        if w.desired == replicas and (k == 0 or points[k - 1][1].desired != replicas):
            when = t
    return when


def scaled_while_managers_down(cluster, name: str, replicas: int, lost: list[str]) -> list[str]:
    """The problem, if `name` was scaled to `replicas` before the managers in `lost` had failed:
    the exercise is about a swarm taking orders while they are down."""
    when, off = scaled_at(cluster, name, replicas), switched_off(cluster)
    last_failure = max((off[n] for n in lost if n in off), default=None)
    if when is not None and last_failure is not None and when < last_failure:
        return [f"{name} was scaled to {replicas} before the managers failed: scale it while they are down, "
                "to see the swarm still take the order"]
    return []


def last_traffic(cluster, name: str, since: float = 0.0):
    """The latest traffic record sent to `name` (the latest attempt counts; none started before
    `since`), or None."""
    records = [t for t in getattr(cluster, "traffic_log", []) if t.service.name == name and t.start >= since]
    return records[-1] if records else None


def lost_requests(cluster, name: str, send: str, unready_fix: str, since: float = 0.0) -> list[str]:
    """Problems with the latest traffic to `name` covering an update from version 1 to 2 with
    no failed request. `send`: what to say when none was sent; `unready_fix`: what to say of
    replicas that counted as ready before they listened (what the check sees, not the fix)."""
    last = last_traffic(cluster, name, since)
    if last is None:
        return [f"no traffic was sent to {name}: {send}"]
    problems = []
    answered = {r.answer for r in last.requests if r.outcome == "ok"}
    if not {"hello v1", "hello v2"} <= answered:
        problems.append(f"the last traffic sent to {name} did not cover the update (version 1 and then version 2 "
                        "should both answer): start it before the update and let it run until the update is done")
    unready = sum(1 for r in last.requests if r.outcome == "refused" and r.replica)
    if unready:
        problems.append(f"{unready} requests went to new replicas that counted as ready before they listened: "
                        f"{unready_fix}")
    if last.failed - unready:
        problems.append(f"{last.failed - unready} requests failed: during the update no replica was ready "
                        "to answer them")
    return problems
