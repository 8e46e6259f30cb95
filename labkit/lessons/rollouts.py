"""Lesson 04 · Rolling updates, rollbacks and canaries."""
from __future__ import annotations

from ..cluster import Table
from ..exercises import (Exercise, Lesson, Stuck, delete_workload, last_rollout, lost_request_problems, praise,
                         ready_replicas, reset_at, timeline_of, workload_problems)

TITLE = "Rolling updates, rollbacks and canaries"


def compare(cluster, names: list[str]) -> Table:
    """One line per workload: how long its last rollout took and how far it strayed from `desired`."""
    rows = []
    for name in names:
        w = cluster.state().workload(name)
        r = last_rollout(cluster, name)
        rows.append((name, str(w.max_surge), str(w.max_unavailable), f"{r.seconds:g} s",
                     f"{r.fewest_available}/{r.desired}", str(r.most_replicas)))
    return Table(("WORKLOAD", "MAXSURGE", "MAXUNAVAILABLE", "TOOK", "FEWEST AVAILABLE", "MOST PODS"), rows)


def by_image(cluster, name: str) -> dict[str, int]:
    """Running replicas of `name` and of its canary, counted by image."""
    counts: dict[str, int] = {}
    state = cluster.state()
    for w in (name, name + "-canary"):
        for r in ready_replicas(state, w):
            counts[r.image] = counts.get(r.image, 0) + 1
    return dict(sorted(counts.items()))


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


@praise("The broken version reached a quarter of the replicas, never all of them; and it is gone.")
def check_canary(cluster) -> list[str]:
    state = cluster.state()
    problems: list[str] = []
    canary = state.workload("shop-canary")
    seen = [w for _, w in timeline_of(cluster, "shop-canary", reset_at(cluster, "04.canary"))]
    if canary and (canary.image, canary.desired) != ("web-server:broken", 2):
        problems.append(Stuck(f"shop-canary runs {canary.image} on {canary.desired} replica(s), not "
                              "web-server:broken on 25 % of shop's 8 (2 of them)"))
    elif canary:
        problems.append("shop-canary still exists: the canary was never taken back")
    elif not seen:
        problems.append("shop never had a canary (a shop-canary beside it)")
    elif not any(w.image == "web-server:broken" and w.desired == 2 for w in seen):
        problems.append("the canary should run web-server:broken on 25% of shop's 8 replicas (2 of them)")
    shop = workload_problems(state, "shop", 8, "web-server:2")
    if canary is None and state.workload("shop") and state.workload("shop").image != "web-server:2":
        shop = [Stuck(p) for p in shop]  # promoted, or updated: the canary's test is over
    return problems + shop


def reset_canary(cluster) -> str:
    """04.canary starts where 04.zero-downtime ends (its `needs`): `shop`, 8 replicas of web-server:2, no
    canary."""
    done = []
    if delete_workload(cluster, "shop-canary"):
        done.append("deleted shop-canary")
    shop = cluster.workload("shop")
    if shop.status().image != "web-server:2":
        shop.update("web-server:2")
        done.append("shop back on web-server:2")
    if shop.status().desired != 8:
        shop.scale(8)
        done.append("shop back to 8 replicas")
    cluster.wait()
    return ", ".join(done) if done else "shop is 8 replicas of web-server:2 with no canary: nothing to undo"


def zero_downtime_started(cluster) -> list[str]:
    """The problem, if `shop` is not what 04.zero-downtime makes of it (8 replicas that were updated
    to web-server:2 once): 04.canary tries its canary on that shop."""
    if cluster.state().workload("shop") is None:
        return ["there is no workload named 'shop': do 04.zero-downtime first, which makes it (this exercise "
                "tries a canary on it)"]
    if "web-server:2" not in [image for _, image in cluster.workload("shop").history()]:
        return ["shop never ran web-server:2: do 04.zero-downtime first, which updates it (this exercise ends "
                "with shop on web-server:2 again)"]
    return []


@praise("Every request answered, by version 1 and then version 2: that is what zero downtime means to a client.")
def check_no_lost_requests(cluster) -> list[str]:
    state = cluster.state()
    problems = workload_problems(state, "store", 6, "web-server:2") + lost_request_problems(
        cluster, "store", "the check reads the requests the cluster recorded, and there are none",
        "nothing told the Service when a new pod could answer", reset_at(cluster, "04.no-lost-requests"),
        "the Service's proxies still sent them requests for a moment after their SIGTERM, and nothing kept them "
        "serving meanwhile")
    store = state.workload("store")
    if problems and store and store.image == "web-server:2" and store.rollout == "complete":
        # updated already: deploying, exposing or updating it again fails or changes nothing
        problems = [Stuck(p) for p in problems]
    return problems


def reset_no_lost_requests(cluster) -> str:
    """04.no-lost-requests starts with no `store`: delete it and the Service that exposes it."""
    from ..console import run
    done = []
    if delete_workload(cluster, "store"):
        done.append("deleted store")
    if cluster.flavor == "kubernetes" and "service/store" in run("kubectl get services -o name", cluster).split():
        run("kubectl delete service store", cluster)
        done.append("its Service")
    cluster.wait()
    return " and ".join(done) if done else "there was no store yet: nothing to undo"


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
    Exercise("canary", "after 04.zero-downtime, try web-server:broken on 25 % of `shop` as a canary, watch it "
                       "fail, and take it back",
             (
                 "a canary is a second, small deployment of the new image beside the old one; the Python handle "
                 "on shop has a method that starts one, and one that takes it back",
                 "shop = k8s.workload('shop'); shop.canary(..., percent=25); k8s.run(60); k8s.ps('shop-canary'); "
                 "then take it back: shop.abort()",
                 "shop = k8s.workload('shop'); shop.canary('web-server:broken', percent=25); k8s.run(60); "
                 "print(k8s.ps('shop-canary')); shop.abort(); k8s.wait()"), check_canary,
             wrong="leaving the canary running, or a canary of another size", reset=reset_canary,
             needs=zero_downtime_started),
    Exercise("no-lost-requests", "on `site`, deploy `store` (6 replicas of web-server:1), expose it, send it "
                                 "traffic, and update it to web-server:2 without one failed request",
             (
                 "an update loses requests three ways: replicas stopped before their successors are ready (Recreate, "
                 "or maxUnavailable above 0), new replicas sent requests before they listen (no readiness probe), "
                 "and old replicas sent requests after they stopped (no preStop hook). The four updates above "
                 "show each",
                 "site.deploy('store', ..., max_surge=1, max_unavailable=0, readiness=True, pre_stop=5); "
                 "site.expose('store', port=8080); site.traffic('store', rate=20, seconds=60); then "
                 "store.update('web-server:2')",
                 "store = site.deploy('store', image='web-server:1', replicas=6, max_surge=1, max_unavailable=0, "
                 "readiness=True, pre_stop=5); site.wait(); site.expose('store', port=8080); "
                 "site.traffic('store', rate=20, seconds=60); store.update('web-server:2'); site.run(60)"),
             check_no_lost_requests,
             wrong="the Recreate strategy (requests are refused while no pod is ready), no readiness probe "
                   "(new pods get requests before they listen), or the probe without a preStop hook (stopping "
                   "pods get requests for a moment after their SIGTERM)", reset=reset_no_lost_requests),
]

Lesson("04", title=TITLE, exercises=EXERCISES, helpers=__name__)
