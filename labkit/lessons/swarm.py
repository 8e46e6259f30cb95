"""Lesson 02 · Docker Swarm (lecture 45): init, join, services across hosts, scaling, quorum."""
from __future__ import annotations

from ..backends.base import SwarmTokens
from ..cluster import Table
from ..exercises import (Exercise, Lesson, Stuck, delete_workload, lost_request_problems, managers, managers_down,
                         nodes_running, praise, ready_replicas, reset_at, scaled_before_failure_problems,
                         workload_problems)

TITLE = "Docker Swarm"


def join_token(swarm, role: str = "worker") -> str:
    """What `docker swarm join-token -q worker` prints on a manager."""
    return swarm.backend.join_token(role)


def manager_address(swarm) -> str:
    """Where a new node joins: the manager's `<ip>:2377`, as `docker swarm init` printed it."""
    backend = swarm.backend
    return backend.manager_address() if isinstance(backend, SwarmTokens) else backend.join_address()


def join(swarm, role: str = "worker") -> str:
    """`docker swarm join --token <token> node-1:2377` typed on a new machine: returns the new node's name.

    A new machine joins: a simulated one, or a new playground node on a real swarm."""
    token = join_token(swarm, role)
    print(f"$ docker swarm join --token {token[:25]}... {manager_address(swarm)}")
    name = swarm.add_node(role)
    print(f"This node joined a swarm as a {role}.   ({name})")
    return name


def node_ls(swarm) -> Table:
    """`docker node ls`: every node, its status, availability and manager status."""
    state = swarm.state()
    leader = state.swarm.leader if state.swarm else None  # None without a quorum
    rows = []
    for n in state.nodes:
        status = "Ready" if n.ready else "Down"
        availability = "Active" if n.schedulable else "Drain"
        manager = "" if n.role != "manager" else ("Leader" if n.name == leader else
                                                   "Reachable" if n.ready else "Unreachable")
        rows.append((n.name, status, availability, manager))
    return Table(("HOSTNAME", "STATUS", "AVAILABILITY", "MANAGER STATUS"), rows)


def quorum_table(largest: int = 7) -> Table:
    """How many managers a swarm can lose and still accept commands (Raft: a majority must remain)."""
    rows = [(str(n), str(n // 2 + 1), str((n - 1) // 2)) for n in range(1, largest + 1)]
    return Table(("MANAGERS", "MAJORITY NEEDED", "CAN LOSE"), rows)


@praise("The fourth machine took its share at once: that is 'manage across hosts'.")
def check_service(swarm) -> list[str]:
    state = swarm.state()
    problems = []
    ready_nodes = [n.name for n in state.nodes if n.ready]
    if len(ready_nodes) < 4:
        problems.append(f"the swarm has {len(ready_nodes)} working nodes, not 4: join one more")
    problems += workload_problems(state, "api", 8, "web-server:1")
    idle = sorted(set(ready_nodes) - nodes_running(state, "api"))
    if not problems and idle:
        problems.append(f"no replica of api runs on {', '.join(idle)}")
    return problems


@praise("Maintenance without downtime: the tasks moved before the machine went away.")
def check_drain(swarm) -> list[str]:
    state = swarm.state()
    node = state.node("node-2")
    if node is None:
        return ["this swarm has no node-2"]
    problems = []
    if node.schedulable:
        problems.append("node-2 still accepts tasks: set its availability to drain")
    left = [r.name for r in state.replicas_on("node-2") if r.phase == "running"]
    if left:
        problems.append(f"{len(left)} tasks still run on node-2")
    for w in state.workloads:
        ready = len(ready_replicas(state, w.name))
        if ready < w.desired:
            problems.append(f"{w.name} has {ready} of {w.desired} tasks running: wait for it")
    if not state.workloads:
        problems.append("there is no service at all: keep the api service of exercise 1")
    return problems


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
        "nothing told Swarm when a new task could answer", reset_at(mesh, "02.healthy-update"))
    shop = state.workload("shop")
    if problems and shop and shop.image == "web-server:2" and shop.rollout == "complete":
        problems = [Stuck(p) for p in problems]  # updated already: updating it to web-server:2 again does nothing
    return problems


def _remove_service(cluster, name: str) -> str:
    """Remove service `name` and wait until its tasks are gone (its name and ports free again)."""
    return f"removed the service {name}" if delete_workload(cluster, name) else ""


def reset_service(swarm) -> str:
    """02.service starts with no `api` (a node joined by an earlier try stays: a new try joins another)."""
    return _remove_service(swarm, "api") or "there was no api yet: nothing to undo"


def reset_healthy_update(mesh) -> str:
    """02.healthy-update starts with no `shop` on `mesh`."""
    return _remove_service(mesh, "shop") or "there was no shop yet: nothing to undo"


EXERCISES = [
    Exercise("service", "join a fourth node to `swarm`, then create a service `api` (image `web-server:1`) with "
                        "8 replicas that runs on every node",
             (
                 "a fourth machine joins with the swarm's join token and its manager's address (docker swarm init "
                 "printed both; $token and $manager hold them); then a service of 8 spreads over all four",
                 "%docker swarm join --token $token $manager (or lab.join(swarm)), then %docker service create "
                 "--replicas ... --name api ...",
                 "%docker swarm join --token $token $manager, then %docker service create --replicas=8 --name api "
                 "web-server:1   (or lab.join(swarm); swarm.deploy('api', image='web-server:1', replicas=8); "
                 "swarm.wait())"),
             check_service,
             wrong="8 replicas on the three nodes, without joining a fourth", reset=reset_service),
    Exercise("drain", "take node-2 out for maintenance (`docker node update --availability drain node-2`) "
                      "while every service stays at full strength",
             (
                 "draining is a node's availability (Active, Pause or Drain), which a manager sets; then the "
                 "tasks need a moment to move",
                 "%docker node update --availability ... node-2, then swarm.wait()",
                 "%docker node update --availability drain node-2, then swarm.wait()   (or swarm.drain('node-2'); "
                 "swarm.wait())"), check_drain,
             wrong="switching node-2 off instead of draining it"),
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

Lesson("02", title=TITLE, exercises=EXERCISES, helpers=__name__)
