"""Lesson 02 · Docker Swarm: a first swarm (lecture 45): init, join, a service across hosts, scaling,
a worker lost, a node drained. Its managers, quorum and healthy updates: lesson 02b (swarm_managers.py)."""
from __future__ import annotations

from ..backends.base import SwarmTokens
from ..cluster import Table
from ..errors import Refused
from ..exercises import Exercise, Lesson, delete_workload, nodes_down, nodes_running, praise, ready_replicas, \
    switched_off_at, workload_problems

TITLE = "Docker Swarm: a first swarm"


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


def switch_on_again(cluster) -> list[str]:
    """Switch every node that is off on again and let the manager see them back (three heartbeats):
    what each one did, for a reset's report. A node switched off a moment ago is still `Ready` to the
    manager (it has not missed three heartbeats yet), so the nodes ever switched off are tried too."""
    done = []
    for node in sorted(set(nodes_down(cluster.state())) | set(switched_off_at(cluster))):
        try:
            cluster.recover_node(node)
        except Refused:  # on already: switched on again since
            continue
        done.append(f"{node} switched on again")
    if done:
        cluster.run(10)
    return done


def reset_service(swarm) -> str:
    """02.service starts with every node on and no `api` (a node joined by an earlier try stays: a new
    try joins another)."""
    done = switch_on_again(swarm)
    if delete_workload(swarm, "api"):  # and its tasks gone: the name and the ports are free again
        done.append("removed the service api")
    return ", ".join(done) if done else "every node is on and there is no api yet: nothing to undo"


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
]

Lesson("02", title=TITLE, exercises=EXERCISES, helpers=__name__)
