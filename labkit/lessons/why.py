"""Lesson 01 · Why orchestration (lecture 44): one container and nobody watching it."""
from __future__ import annotations

from ..exercises import Exercise, Lesson, delete_workload, nodes_down, praise, ready_replicas, workload_problems

TITLE = "Why orchestration"


@praise("Docker's restart policy watched one process on one host: the smallest orchestrator there is.")
def check_restart(host) -> list[str]:
    state = host.state()
    mine = [r for r in state.replicas if r.name == "survivor"]
    if not mine:
        return ["there is no container named survivor on this host"]
    survivor = mine[0]
    problems = []
    if survivor.restarts < 1:
        problems.append("survivor has never been restarted: it was never killed, or it never came back")
    if survivor.phase != "running":
        problems.append(f"survivor is {survivor.reason or survivor.phase}, not running: nothing started it again "
                        "(it has no restart policy?)")
    return problems


@praise("You asked for four, a machine died, and there were four again: nobody was paged.")
def check_self_heal(cluster) -> list[str]:
    state = cluster.state()
    problems = [] if nodes_down(state) else ["no node is down: the exercise switches one off"]
    problems += workload_problems(state, "shop", 4)
    up = {n.name for n in state.nodes if n.ready}
    if not problems and len([r for r in ready_replicas(state, "shop") if r.node in up]) < 4:
        problems.append("some of shop's replicas are still on the failed node: wait longer")
    return problems


def reset_restart(host) -> str:
    """01.restart starts with the host on and no `survivor`: switch it on, remove the container."""
    done = []
    for node in nodes_down(host.state()):
        host.recover_node(node)
        done.append(f"{node} switched on again")
    if any(r.name == "survivor" for r in host.state().replicas):
        host.remove_container("survivor")
        host.wait(until=lambda state: not any(r.name == "survivor" for r in state.replicas))  # its name is free
        done.append("removed survivor")
    return ", ".join(done) if done else "the host is on and there is no survivor yet: nothing to undo"


def reset_self_heal(cluster) -> str:
    """01.self-heal starts with every node up and no `shop`."""
    done = []
    for node in nodes_down(cluster.state()):
        cluster.recover_node(node)
        done.append(f"{node} switched on again")
    if done:  # the node controller looks every 5 s: let it see them back (and lift their taints)
        cluster.run(10)
    if delete_workload(cluster, "shop"):
        done.append("deleted shop")
    return ", ".join(done) if done else "every node is up and there is no shop yet: nothing to undo"


EXERCISES = [
    Exercise("restart", "on `host`, run a container `survivor` (web-server:1) that Docker restarts by itself; "
                        "kill it and see it come back",
             (
                 "a plain container stays down when it dies: Docker starts it again only if it was run with a "
                 "restart policy (docker run --help lists the options). The host was switched off above: the "
                 "cell's first line switches it on again",
                 "host.run_container(..., name='survivor', restart=...); host.kill_replica('survivor'); "
                 "host.run(10)",
                 "host.run_container('web-server:1', name='survivor', restart='always'); "
                 "host.kill_replica('survivor'); host.run(10)   (docker run -d --name survivor --restart=always "
                 "web-server:1)"), check_restart,
             wrong="`survivor` run without a restart policy: killed, it stays down", reset=reset_restart),
    Exercise("self-heal", "on `cluster`, deploy `shop` with 4 replicas, fail one node, and wait until 4 run again",
             (
                 "deploy, switch a node off, then wait: the cluster replaces a silent node's replicas by itself, "
                 "on Kubernetes only after about 6 minutes",
                 "cluster.deploy('shop', ...); cluster.fail_node(...); then shop.wait(away_from=...), which lets "
                 "time pass until the replicas run elsewhere",
                 "shop = cluster.deploy('shop', image='web-server:1', replicas=4); cluster.wait(); "
                 "cluster.fail_node('node-3'); shop.wait(away_from='node-3')"), check_self_heal,
             wrong="checking while shop's replicas still sit on the failed node", reset=reset_self_heal),
]

Lesson("01", title=TITLE, exercises=EXERCISES, helpers=__name__)
