"""Lesson 04b · Bad updates, canaries and what clients see (the rolling update itself: lesson 04, rollouts.py).

Its exercises start on their own: 04b.canary's reset makes the `shop` that lesson 04's zero-downtime
leaves (8 replicas updated from web-server:1 to web-server:2), so this lesson needs no other's state.
"""
from __future__ import annotations

from ..exercises import (Exercise, Lesson, Stuck, delete_workload, lost_request_problems, praise, ready_replicas,
                         reset_at, timeline_of, workload_problems)
from .rollouts import shop_after_zero_downtime

NUMBER = "04b"
TITLE = "Bad updates, canaries and what clients see"


def by_image(cluster, name: str) -> dict[str, int]:
    """Running replicas of `name` and of its canary, counted by image."""
    counts: dict[str, int] = {}
    state = cluster.state()
    for w in (name, name + "-canary"):
        for r in ready_replicas(state, w):
            counts[r.image] = counts.get(r.image, 0) + 1
    return dict(sorted(counts.items()))


@praise("The broken version reached a quarter of the replicas, never all of them; and it is gone.")
def check_canary(cluster) -> list[str]:
    state = cluster.state()
    problems: list[str] = []
    canary = state.workload("shop-canary")
    seen = [w for _, w in timeline_of(cluster, "shop-canary", reset_at(cluster, f"{NUMBER}.canary"))]
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
    """04b.canary starts with `shop` as lesson 04's zero-downtime leaves it: 8 replicas that were updated
    from web-server:1 to web-server:2, and no canary. Made here when it is not there."""
    done = shop_after_zero_downtime(cluster)
    return ", ".join(done) if done else "shop is 8 replicas of web-server:2 with no canary: nothing to undo"


@praise("Every request answered, by version 1 and then version 2: that is what zero downtime means to a client.")
def check_no_lost_requests(cluster) -> list[str]:
    state = cluster.state()
    problems = workload_problems(state, "store", 6, "web-server:2") + lost_request_problems(
        cluster, "store", "the check reads the requests the cluster recorded, and there are none",
        "nothing told the Service when a new pod could answer", reset_at(cluster, f"{NUMBER}.no-lost-requests"),
        "the Service's proxies still sent them requests for a moment after their SIGTERM, and nothing kept them "
        "serving meanwhile")
    store = state.workload("store")
    if problems and store and store.image == "web-server:2" and store.rollout == "complete":
        # updated already: deploying, exposing or updating it again fails or changes nothing
        problems = [Stuck(p) for p in problems]
    return problems


def reset_no_lost_requests(cluster) -> str:
    """04b.no-lost-requests starts with no `store`: delete it and the Service that exposes it."""
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
    Exercise("canary", "try web-server:broken on 25 % of `shop` as a canary, watch it fail, and take it back",
             (
                 "a canary is a second, small deployment of the new image beside the old one; the Python handle "
                 "on shop has a method that starts one, and one that takes it back",
                 "shop = k8s.workload('shop'); shop.canary(..., percent=25); k8s.run(60); k8s.ps('shop-canary'); "
                 "then take it back: shop.abort()",
                 "shop = k8s.workload('shop'); shop.canary('web-server:broken', percent=25); k8s.run(60); "
                 "print(k8s.ps('shop-canary')); shop.abort(); k8s.wait()"), check_canary,
             wrong="leaving the canary running, or a canary of another size", reset=reset_canary),
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

Lesson(NUMBER, title=TITLE, exercises=EXERCISES, helpers=__name__)
