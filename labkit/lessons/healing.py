"""Lesson 06 · Self-healing and high availability."""
from __future__ import annotations

from ..exercises import (Exercise, Lesson, last_traffic, managers, managers_down, nodes_down, praise, ready_replicas,
                         scaled_before_failure_problems, workload_problems)
from ..exercises import enough_workers  # noqa: F401 - the notebook calls lab.enough_workers

TITLE = "Self-healing and high availability"


def time_to_heal(cluster, name: str, replicas: int, avoid: tuple[str, ...] = (), timeout: float = 900) -> float:
    """Let time pass until `name` has `replicas` ready copies on working nodes other than `avoid`;
    returns the seconds of cluster time it took."""
    start = cluster.now()
    cluster.wait(timeout=timeout,
                 until=lambda state: sum(1 for r in ready_replicas(state, name) if r.node not in avoid) >= replicas)
    return round(cluster.now() - start, 1)


@praise("Two of three machines gone, and all six replicas serve again from the last one.")
def check_two_nodes(cluster) -> list[str]:
    state = cluster.state()
    problems = []
    lost = nodes_down(state)
    if len(lost) < 2:
        problems.append(f"{len(lost)} nodes are down, not 2: fail node-1 and node-2")
    problems += workload_problems(state, "web", 6)
    return problems


@praise("Three managers: one may fail and the swarm still takes orders.")
def check_three_managers(ha) -> list[str]:
    state = ha.state()
    mgrs = managers(state)
    lost = managers_down(state)
    problems = []
    if len(mgrs) < 3:
        problems.append(f"this swarm has {len(mgrs)} manager(s): make one with managers=3")
    if not lost:
        problems.append("no manager is down: fail one manager node")
    elif len(mgrs) - len(lost) <= len(mgrs) // 2:
        problems.append(f"{len(lost)} of {len(mgrs)} managers are down: the swarm lost its quorum; "
                        "recover one with ha3.recover_node(...)")
    return problems + workload_problems(state, "web", 6) + scaled_before_failure_problems(ha, "web", 6, lost)


def lost_before_noticed(record, noticed: float) -> int:
    """How many requests of `record` failed before the cluster time `noticed`."""
    return sum(1 for r in record.requests if r.outcome != "ok" and r.time < noticed)


@praise("Read from the record: every request lost went to the dead node before the cluster knew it was dead.")
def check_lost_requests(site, lost: object = None) -> list[str]:
    record = last_traffic(site, "web")
    if record is None:
        return ["no traffic was sent to web on site: run the cells of 'What a client saw' first"]
    noticed = next((e.time for e in site.events() if e.reason == "NodeNotReady"), None)
    if noticed is None:
        return ["no node was marked NotReady on site: fail node-2 and let the time pass (site.run(420))"]
    if lost is None:
        return ["set `lost` in the exercise's cell (it is still None)"]
    if isinstance(lost, bool) or not isinstance(lost, int):
        return [f"`lost` should be a whole number of requests, not {lost!r}"]
    actual = lost_before_noticed(record, noticed)
    if lost != actual:
        return [f"lost = {lost}, but the record says otherwise: count the requests whose outcome is not 'ok' "
                f"and whose time is before NodeNotReady (t={noticed:g})"]
    after = sum(1 for r in record.requests if r.outcome != "ok" and r.time >= noticed)
    return [] if after == 0 else [f"{after} requests failed after NodeNotReady too: the endpoints should be gone"]


EXERCISES = [
    Exercise("two-nodes", "in a 3-node cluster, fail node-1 and node-2 and get all 6 replicas of `web` "
                          "running again", (
                 "after a node fails the control plane waits: 50 s to mark it NotReady, 5 minutes more before it "
                 "replaces its pods. Give it that time",
                 "k3 = lk.connect(flavor='kubernetes', nodes=3, name='k3'); a deployment web of 6; k3.fail_node(...) "
                 "twice; then lab.time_to_heal(k3, 'web', 6, avoid=(...))",
                 "k3 = lk.connect(flavor='kubernetes', nodes=3, name='k3'); lab.enough_workers(k3, 3); "
                 "k3.deploy('web', image='web-server:1', replicas=6); k3.wait(); k3.fail_node('node-1'); "
                 "k3.fail_node('node-2'); lab.time_to_heal(k3, 'web', 6, avoid=('node-1', 'node-2'))"),
             check_two_nodes,
             wrong="failing one node only"),
    Exercise("managers", "make a swarm `ha3` with 3 managers and a service `web`; fail a manager, then scale "
                         "`web` to 6",
             (
                 "a swarm takes orders while a majority of its managers is up: of 3, one may fail. Make the service "
                 "first; then fail a manager, let the swarm notice, and scale",
                 "console.use(ha3); %docker service create --name web --replicas 3 web-server:1; "
                 "ha3.fail_node(...) a manager; ha3.run(20); then %docker service scale web=6",
                 "ha3 = lk.connect(flavor='swarm', nodes=4, managers=3, name='ha3'); console.use(ha3); "
                 "%docker service create --name web --replicas 3 web-server:1; ha3.fail_node('node-2'); "
                 "ha3.run(20); %docker service scale web=6"),
             check_three_managers,
             wrong="scaling web before failing the manager; or one manager"),
    Exercise("lost-requests", "from the traffic record `sent` of 'What a client saw', count the requests that "
                              "failed before node-2 was NotReady, as `lost`",
             (
                 "each request in sent.requests has a .time and an .outcome: count the ones that failed (an "
                 "outcome other than 'ok') before node-2 was NotReady",
                 "node-2 was NotReady at noticed + sent.start (cluster time, like r.time): "
                 "sum(1 for r in sent.requests if ...)",
                 "lost = sum(1 for r in sent.requests if r.outcome != 'ok' and r.time < noticed + sent.start)"),
             check_lost_requests,
             wrong="counting every request sent before NotReady, not only the failed ones"),
]

Lesson("06", title=TITLE, exercises=EXERCISES, helpers=__name__)
