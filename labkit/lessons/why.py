"""Lesson 01 · Why orchestration (lecture 44): one container and nobody watching it."""
from __future__ import annotations

from . import Exercise, praise
from ._checks import down, running, workload

TITLE = "Why orchestration"


@praise("Docker's restart policy watched one process on one host: the smallest orchestrator there is.")
def check_restart(host) -> list[str]:
    state = host.state()
    mine = [r for r in state.replicas if r.name == "survivor"]
    if not mine:
        return ["there is no container named survivor: docker run -d --name survivor --restart=always web-server:1"]
    survivor = mine[0]
    problems = []
    if survivor.restarts < 1:
        problems.append("survivor has never been restarted: kill it (host.kill_replica('survivor')) and let time pass")
    if survivor.phase != "running":
        problems.append(f"survivor is {survivor.reason or survivor.phase}, not running: did you give it a restart "
                        "policy? (restart='always')")
    return problems


@praise("You asked for four, a machine died, and there were four again: nobody was paged.")
def check_self_heal(cluster) -> list[str]:
    state = cluster.state()
    problems = [] if down(state) else ["no node is down: fail one (cluster.fail_node('node-3'))"]
    problems += workload(state, "shop", 4)
    up = {n.name for n in state.nodes if n.ready}
    if not problems and len([r for r in running(state, "shop") if r.node in up]) < 4:
        problems.append("some of shop's replicas are still on the failed node: wait longer")
    return problems


EXERCISES = [
    Exercise("restart", "on `host`, run a container `survivor` (web-server:1) that Docker restarts by itself; "
                        "kill it and see it come back",
             "host.run_container('web-server:1', name='survivor', restart='always'), then host.kill_replica("
             "'survivor') and host.run(10)", check_restart,
             wrong="`survivor` run without a restart policy: killed, it stays down"),
    Exercise("self-heal", "on `cluster`, deploy `shop` with 4 replicas, fail one node, and wait until 4 run again",
             "shop = cluster.deploy('shop', image='web-server:1', replicas=4); cluster.fail_node('node-3'); "
             "then shop.wait(away_from='node-3'): on Kubernetes a silent node's pods are replaced "
             "after about 6 minutes", check_self_heal,
             wrong="checking while shop's replicas still sit on the failed node"),
]
