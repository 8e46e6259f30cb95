"""Lesson 03 · Kubernetes first steps (lecture 46): nodes, the master, kubectl, thousands of replicas.

The notes' numbers (1000 replicas, then 2000, then 2500 that do not fit) are for the
simulator's 20 workers. On a cluster of another size (a served simulator of 3 nodes,
a one-node minikube) the lesson asks for as many replicas *a worker*: 50, 100, 125.
`sizes(cluster)` works them out once per cluster, from the workers it has when first asked
(the lesson asks right after connecting; a restarted kernel asks again).
"""
from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

from ..cluster import Table
from ..exercises import Exercise, Lesson, pending_count, praise, workers, workload_problems

TITLE = "Kubernetes first steps"
PER_WORKER = (50, 100, 125)  # the notes' 1000, 2000 and 2500 replicas on 20 workers


@dataclass(frozen=True)
class Sizes:
    """The lesson's numbers for one cluster."""

    workers: int  # at the start of the lesson
    first: int  # `kubectl run --replicas=...`
    more: int  # `kubectl scale --replicas=...`
    target: int  # exercise 03.capacity: more than the workers hold
    drain: str  # exercise 03.drain: the node to drain

    def __repr__(self) -> str:
        return (f"{self.workers} workers: {self.first} replicas, then {self.more}, then {self.target} "
                f"({'/'.join(map(str, PER_WORKER))} a worker); the node to drain: {self.drain}")


_sizes: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def sizes(cluster) -> Sizes:
    """The lesson's numbers for `cluster`, fixed the first time they are asked for (adding nodes
    for the exercise does not move the target)."""
    if cluster not in _sizes:
        found = workers(cluster.state())
        count = len(found)
        _sizes[cluster] = Sizes(count, *(n * count for n in PER_WORKER), found[min(4, count - 1)].name)
    return _sizes[cluster]


def pending_pods(cluster, name: str = "my-web-server") -> int:
    """How many pods of `name` wait for a node: Pending and on none (not those that have one and
    are starting their container)."""
    return sum(1 for r in cluster.state().replicas_of(name) if r.phase == "pending" and r.node is None)


def get_nodes(cluster) -> Table:
    """`kubectl get nodes`: name, status, roles."""
    rows = [(n.name, n.status or ("Ready" if n.ready else "NotReady"),
             "control-plane" if n.role == "control-plane" else "<none>", f"{n.pods_allocated}/{n.pods_capacity}")
            for n in cluster.state().nodes]
    return Table(("NAME", "STATUS", "ROLES", "PODS"), rows)


def cluster_info(cluster) -> None:
    """`kubectl cluster-info`: where the control plane runs, and what it is made of."""
    state = cluster.state()
    master = next((n.name for n in state.nodes if n.role == "control-plane"), "?")
    print(f"Kubernetes control plane is running on {master} ({cluster.name} backend)")
    for c in state.components:
        if c.node == master:
            print(f"  {c.name:<20} {'running' if c.running else 'STOPPED'}")


def pods_per_node(cluster) -> dict[str, int]:
    """How many running pods each worker node holds."""
    state = cluster.state()
    return {n.name: sum(1 for r in state.replicas_on(n.name) if r.phase == "running")
            for n in state.nodes if n.role != "control-plane"}


@praise("Capacity is a number you can compute: a node takes 110 pods (on a real cluster, its DaemonSets' pods "
        "among them), so N pods need about N/110 nodes, rounded up, if their requests fit too.")
def check_capacity(cluster) -> list[str]:
    state, target = cluster.state(), sizes(cluster).target
    problems = workload_problems(state, "my-web-server", target)
    waiting = pending_count(state, "my-web-server")
    if waiting:
        room = sum(n.pods_capacity for n in workers(state) if n.ready)
        need = math.ceil((target + len(state.replicas) - len(state.replicas_of("my-web-server"))) / 110)
        problems.append(f"{waiting} pods are Pending: the worker nodes hold {room} pods in all "
                        f"(110 each); about {need} workers are needed")
    return problems


@praise("The node is empty and every replica runs again: its pods were evicted, then replaced on the nodes with "
        "room (a PodDisruptionBudget is what limits how many are missing meanwhile).")
def check_drain(cluster) -> list[str]:
    state, size = cluster.state(), sizes(cluster)
    node = state.node(size.drain)
    if node is None:
        return [f"this cluster has no {size.drain}"]
    problems = []
    if node.schedulable:
        problems.append(f"{size.drain} is still schedulable: it is not drained")
    left = sum(1 for r in state.replicas_on(size.drain) if r.workload and r.phase == "running")
    if left:
        problems.append(f"{left} pods still run on {size.drain}")
    problems += capacity_done(state, size.target) or workload_problems(state, "my-web-server", size.target)
    waiting = pending_count(state, "my-web-server")
    if waiting:
        problems.append(f"{waiting} pods are Pending: the other nodes are full")
    return problems


def capacity_done(state, target: int) -> list[str]:
    """The problem, if my-web-server is not at 03.capacity's target: 03.drain drains a node while
    all of those run, so it starts where 03.capacity ends."""
    w = state.workload("my-web-server")
    if w is not None and w.desired == target:
        return []
    now = f"it asks for {w.desired}" if w else "there is no my-web-server"
    return [f"do 03.capacity first: this exercise drains a node while all {target} replicas of my-web-server "
            f"run, and {now}"]


EXERCISES = [
    Exercise("capacity", "scale `my-web-server` to 125 replicas a worker (2500 on 20 workers: `size.target`) "
                         "and get every one of them running",
             (
                 "scale, then look at why some pods stay Pending (%kubectl describe pod <one of them>): a node "
                 "holds at most 110 pods, so the cluster needs more of something",
                 "%kubectl scale deployment my-web-server --replicas={size.target}, then k8s.add_node() while "
                 "lab.pending_pods(k8s), and k8s.wait()",
                 "%kubectl scale deployment my-web-server --replicas={size.target}; k8s.run(30); then "
                 "while lab.pending_pods(k8s): k8s.add_node(); k8s.run(10); and at last k8s.wait()"),
             check_capacity,
             wrong="scaling to the target without adding nodes: pods stay Pending"),
    Exercise("drain", "after 03.capacity, drain a worker (node-5 on 20 workers: `size.drain`) for maintenance "
                      "while all the replicas keep running",
             (
                 "draining evicts a node's pods and their ReplicaSet replaces them elsewhere, and after 03.capacity "
                 "every other node is full: the replacements need room first",
                 "make room (k8s.add_node()), then %kubectl drain node-5 --ignore-daemonsets (size.drain on "
                 "a cluster of another size), and k8s.wait()",
                 "k8s.add_node(); k8s.drain(size.drain); k8s.wait()"),
             check_drain,
             wrong="draining with no room elsewhere: its pods stay Pending"),
]

Lesson("03", title=TITLE, exercises=EXERCISES, helpers=__name__)
