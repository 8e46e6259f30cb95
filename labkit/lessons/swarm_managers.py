"""Lesson 02b · Swarm: managers, quorum and healthy updates (lecture 45, after lesson 02's first swarm):
what a client of the routing mesh sees when a node goes, a swarm that loses its only manager, Raft's
majority, and an update that no client notices."""
from __future__ import annotations

from ..cluster import Table
from ..exercises import (Exercise, Lesson, Stuck, delete_workload, lost_request_problems, managers, managers_down,
                         praise, reset_at, scaled_before_failure_problems, workload_problems)
from .swarm import node_ls, switch_on_again

TITLE = "Swarm: managers, quorum and healthy updates"

__all__ = ["node_ls", "quorum_table"]  # the helpers this lesson's cells call: lab.node_ls(ha5) is lesson 02's


def quorum_table(largest: int = 7) -> Table:
    """How many managers a swarm can lose and still accept commands (Raft: a majority must remain).

    The same numbers as Docker's guide to administering a swarm ("Add manager nodes for fault
    tolerance"), which comes from Raft: N managers need N // 2 + 1 of them up."""
    rows = [(str(n), str(n // 2 + 1), str((n - 1) // 2)) for n in range(1, largest + 1)]
    return Table(("MANAGERS", "MAJORITY NEEDED", "CAN LOSE"), rows)


@praise("Two managers down and the swarm still takes orders: a majority (3 of 5) is still there.")
def check_quorum(ha) -> list[str]:
    state = ha.state()
    mgrs = managers(state)
    lost = managers_down(state)
    problems = []
    if (len(mgrs) - 1) // 2 < 2:
        plural = "s" if len(mgrs) != 1 else ""
        problems.append(f"{len(mgrs)} manager{plural}, and a swarm of {len(mgrs)} manager{plural} keeps a majority "
                        f"through {(len(mgrs) - 1) // 2} lost, not 2")
    if len(lost) < 2:
        problems.append(f"{len(lost)} managers are down, not 2: fail two manager nodes")
    if len(mgrs) - len(lost) <= len(mgrs) // 2:
        problems.append(f"only {len(mgrs) - len(lost)} of {len(mgrs)} managers are up: the swarm lost its "
                        "quorum and refuses every change")
    return problems + workload_problems(state, "web", 4) + scaled_before_failure_problems(ha, "web", 4, lost)


@praise("Swarm sent each new task requests only once its healthcheck passed: an update no client noticed.")
def check_healthy_update(mesh) -> list[str]:
    state = mesh.state()
    problems = workload_problems(state, "shop", 4, "web-server:2") + lost_request_problems(
        mesh, "shop", "the check reads the requests the cluster recorded, and there are none",
        "nothing told Swarm when a new task could answer", reset_at(mesh, "02b.healthy-update"))
    shop = state.workload("shop")
    if problems and shop and shop.image == "web-server:2" and shop.rollout == "complete":
        problems = [Stuck(p) for p in problems]  # updated already: updating it to web-server:2 again does nothing
    return problems


def reset_healthy_update(mesh) -> str:
    """02b.healthy-update starts with every node of `mesh` on and no `shop`."""
    done = switch_on_again(mesh)
    if delete_workload(mesh, "shop"):  # and its tasks gone: the name and port 8090 are free again
        done.append("removed the service shop")
    return ", ".join(done) if done else "there was no shop yet: nothing to undo"


EXERCISES = [
    Exercise("quorum", "make a swarm `ha5` of 5 nodes that still accepts commands with two managers down; "
                       "fail two managers, then scale its service `web` to 4",
             (
                 "how many managers can a swarm lose and keep a majority? lab.quorum_table() counts it: find the "
                 "row that can lose 2",
                 "lk.connect(flavor='swarm', nodes=5, managers=..., name='ha5'), a service web, two "
                 "ha5.fail_node(...) and ha5.run(20), then scale web to 4",
                 "ha5 = lk.connect(flavor='swarm', nodes=5, managers=5, name='ha5'); "
                 "web5 = ha5.deploy('web', image='web-server:1', replicas=2); ha5.wait(); ha5.fail_node('node-1'); "
                 "ha5.fail_node('node-2'); ha5.run(20); web5.scale(4); ha5.wait()"),
             check_quorum,
             wrong="scaling web before failing the managers; or a 5-node swarm with 3 managers"),
    Exercise("healthy-update", "on `mesh`, create a service `shop` (4 replicas of web-server:1, published on 8090), "
                               "send it traffic and update it to web-server:2 without one failed request",
             (
                 "Swarm sends a task requests as soon as it runs, and the demo images listen 2 s later: something "
                 "must tell Swarm when a task can answer (the --health-* options of docker service create --help)",
                 "%docker service create ... --health-cmd \"wget -q -O /dev/null http://127.0.0.1/ready\" "
                 "--health-interval 1s ...; mesh.traffic('shop', rate=10, seconds=60); then %docker service update "
                 "--image web-server:2 shop",
                 "%docker service create -d --name shop -p 8090:80 --replicas 4 --health-cmd \"wget -q -O /dev/null "
                 "http://127.0.0.1/ready\" --health-interval 1s web-server:1; mesh.wait(); "
                 "mesh.traffic('shop', rate=10, seconds=60); %docker service update -d --image web-server:2 shop; "
                 "mesh.run(60)"), check_healthy_update,
             wrong="no healthcheck: each new task gets requests 2 s before it listens", reset=reset_healthy_update),
]

Lesson("02b", title=TITLE, exercises=EXERCISES, helpers=__name__)
