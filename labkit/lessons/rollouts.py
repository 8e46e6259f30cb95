"""Lesson 04 · Rolling updates and rollbacks (bad updates, canaries and clients: lesson 04b, canaries.py)."""
from __future__ import annotations

from ..cluster import Table
from ..exercises import Exercise, Lesson, Stuck, delete_workload, last_rollout, praise, reset_at, workload_problems

TITLE = "Rolling updates and rollbacks"


def compare(cluster, names: list[str]) -> Table:
    """One line per workload: how long its last rollout took and how far it strayed from `desired`."""
    rows = []
    for name in names:
        w = cluster.state().workload(name)
        r = last_rollout(cluster, name)
        rows.append((name, str(w.max_surge), str(w.max_unavailable), f"{r.seconds:g} s",
                     f"{r.fewest_available}/{r.desired}", str(r.most_replicas)))
    return Table(("WORKLOAD", "MAXSURGE", "MAXUNAVAILABLE", "TOOK", "FEWEST AVAILABLE", "MOST PODS"), rows)


@praise("Not one moment below 8 available: your users never noticed the update.")
def check_zero_downtime(cluster) -> list[str]:
    state = cluster.state()
    shop = state.workload("shop")
    images = [image for _, image in cluster.workload("shop").history()] if shop else []
    if shop and "web-server:1" not in images:
        return [Stuck(f"shop never ran web-server:1 (it runs {shop.image}): the exercise updates it from "
                      "version 1 to 2")]
    problems = workload_problems(state, "shop", 8, "web-server:2")
    if problems:
        return problems
    r = last_rollout(cluster, "shop", reset_at(cluster, "04.zero-downtime"))
    if r.fewest_available < 8:
        return [Stuck(f"during the update only {r.fewest_available} of 8 replicas were available: users saw "
                      "fewer servers; and shop already runs web-server:2, so setting that image again changes "
                      "nothing")]
    return []


def reset_zero_downtime(cluster) -> str:
    """04.zero-downtime starts with no `shop`: delete it (and a canary of it)."""
    gone = [name for name in ("shop-canary", "shop") if delete_workload(cluster, name)]
    return f"deleted {' and '.join(gone)}" if gone else "there was no shop yet: nothing to undo"


def shop_after_zero_downtime(cluster) -> list[str]:
    """Put `shop` where 04.zero-downtime leaves it: 8 replicas updated from web-server:1 to web-server:2
    (maxSurge 2, maxUnavailable 0), no canary; made (again) when it is not there, or its history or
    strategy is not that one's. Says what it changed.
    04.rollback and 04b.canary start from it."""
    done = []
    if delete_workload(cluster, "shop-canary"):
        done.append("deleted shop-canary")
    found = cluster.state().workload("shop")
    images = [image for _, image in cluster.workload("shop").history()] if found else []
    if found and ("web-server:1" not in images or found.max_unavailable != 0):
        # made again, or its strategy changed: only a new shop has the start's history and strategy
        delete_workload(cluster, "shop")
        cluster.wait()
    if cluster.state().workload("shop") is None:
        cluster.deploy("shop", image="web-server:1", replicas=8, max_surge=2, max_unavailable=0)
        cluster.wait()
        cluster.workload("shop").update("web-server:2")
        done.append(f"made shop{' again' if found else ''}: 8 replicas of web-server:1, updated to web-server:2")
    shop = cluster.workload("shop")
    if shop.status().image != "web-server:2":
        shop.update("web-server:2")
        done.append("shop back on web-server:2")
    if shop.status().desired != 8:
        shop.scale(8)
        done.append("shop back to 8 replicas")
    cluster.wait()
    return done


@praise("Back on version 1, through the deployment's own history, and not one moment below 8 available.")
def check_rollback(cluster) -> list[str]:
    state = cluster.state()
    shop = state.workload("shop")
    images = [image for _, image in cluster.workload("shop").history()] if shop else []
    if shop and "web-server:2" not in images:
        return [Stuck("shop's history has no web-server:2: it was made again, not rolled back (the exercise "
                      "goes back from version 2 to version 1)")]
    problems = workload_problems(state, "shop", 8, "web-server:1")
    if problems:
        return problems
    if images[-1] != "web-server:1" or images.index("web-server:2") > len(images) - 2:
        return ["shop's last revision should be web-server:1, after web-server:2: roll it back"]
    r = last_rollout(cluster, "shop", reset_at(cluster, "04.rollback"))
    if r.fewest_available < 8:
        return [Stuck(f"during the rollback only {r.fewest_available} of 8 replicas were available: a rollback "
                      "is a rolling update too, with the deployment's strategy")]
    return []


def reset_rollback(cluster) -> str:
    """04.rollback starts where 04.zero-downtime ends: `shop`, 8 replicas of web-server:2 (made if missing)."""
    done = shop_after_zero_downtime(cluster)
    return ", ".join(done) if done else "shop is 8 replicas of web-server:2: nothing to undo"


EXERCISES = [
    Exercise("zero-downtime", "deploy `shop` (8 replicas of web-server:1), then update it to web-server:2 "
                              "so that 8 replicas stay available the whole time",
             (
                 "a rolling update may take replicas away before their successors are ready: maxUnavailable says "
                 "how many (25 % by default); maxSurge says how many extra it may start instead",
                 "%kubectl create deployment shop --image=web-server:1 --replicas=8; %kubectl patch deployment shop "
                 "-p '{\"spec\":{\"strategy\":{\"rollingUpdate\":{\"maxSurge\":...,\"maxUnavailable\":...}}}}'; "
                 "then %kubectl set image deployment/shop web-server=web-server:2",
                 "%kubectl create deployment shop --image=web-server:1 --replicas=8; %kubectl rollout status "
                 "deployment/shop; %kubectl patch deployment shop -p '{\"spec\":{\"strategy\":{\"rollingUpdate\":"
                 "{\"maxSurge\":2,\"maxUnavailable\":0}}}}'; %kubectl set image deployment/shop "
                 "web-server=web-server:2; %kubectl rollout status deployment/shop"), check_zero_downtime,
             wrong="the default strategy (25 % may be unavailable)", reset=reset_zero_downtime),
    Exercise("rollback", "users complain about web-server:2: roll `shop` back to web-server:1 through its "
                         "history, with 8 replicas available the whole time",
             (
                 "a deployment keeps its revisions (each with its ReplicaSet): going back is one command, and it "
                 "rolls out with the deployment's own strategy",
                 "%kubectl rollout history deployment/shop; then %kubectl rollout undo deployment/...; and wait for "
                 "it with %kubectl rollout status",
                 "%kubectl rollout history deployment/shop; %kubectl rollout undo deployment/shop; "
                 "%kubectl rollout status deployment/shop; %kubectl rollout history deployment/shop"),
             check_rollback,
             wrong="deleting shop and making it again with web-server:1 (a new deployment, not a rollback)",
             reset=reset_rollback),
]

Lesson("04", title=TITLE, exercises=EXERCISES, helpers=__name__)
