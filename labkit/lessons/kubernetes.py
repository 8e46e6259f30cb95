"""Lesson 03 · Kubernetes first steps (lecture 46): nodes, the master, kubectl, thousands of replicas."""
from __future__ import annotations

import math

from ..cluster import Table
from . import Exercise, praise
from ._checks import pending, workload

TITLE = "Kubernetes first steps"


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


@praise("Capacity is a number you can compute: 110 pods a node, so 2500 pods need 23 nodes.")
def check_capacity(cluster) -> list[str]:
    state = cluster.state()
    problems = workload(state, "my-web-server", 2500)
    waiting = pending(state, "my-web-server")
    if waiting:
        room = sum(n.pods_capacity for n in state.nodes if n.role != "control-plane" and n.ready)
        need = math.ceil((2500 + len(state.replicas) - len(state.replicas_of("my-web-server"))) / 110)
        problems.append(f"{waiting} pods are Pending: the worker nodes hold {room} pods in all "
                        f"(110 each); about {need} workers are needed")
    return problems


@praise("node-5 is empty and nothing was lost: its pods were recreated elsewhere first.")
def check_drain(cluster) -> list[str]:
    state = cluster.state()
    node = state.node("node-5")
    if node is None:
        return ["this cluster has no node-5"]
    problems = []
    if node.schedulable:
        problems.append("node-5 is still schedulable: drain it (`kubectl drain node-5`)")
    left = sum(1 for r in state.replicas_on("node-5") if r.workload and r.phase == "running")
    if left:
        problems.append(f"{left} pods still run on node-5")
    problems += workload(state, "my-web-server", 2500)
    waiting = pending(state, "my-web-server")
    if waiting:
        problems.append(f"{waiting} pods are Pending: the other nodes are full")
    return problems


EXERCISES = [
    Exercise("capacity", "scale `my-web-server` to 2500 replicas and get every one of them running",
             "look at the Pending pods' reason; each node holds 110 pods: add nodes with cluster.add_node()",
             check_capacity,
             wrong="scaling to 2500 without adding nodes: pods stay Pending"),
    Exercise("drain", "drain node-5 for maintenance while all 2500 replicas keep running",
             "cluster.drain('node-5'); the freed pods need room elsewhere: cluster.add_node(), then cluster.wait()",
             check_drain,
             wrong="draining node-5 with no room elsewhere: its pods stay Pending"),
]
