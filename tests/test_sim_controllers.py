"""The simulator's controllers (kubernetes flavor): deployments, replica sets, node lifecycle.

The real defaults and rules, each checked: replicas 1; maxSurge 25 % rounded
up, maxUnavailable 25 % rounded down, both 0 rejected; during a rollout the
non-terminating pods stay <= replicas + maxSurge and the available ones
>= replicas - maxUnavailable (checked every 0.1 s of simulated time); only a
template change makes a revision; revisionHistoryLimit 10; pause/resume;
Recreate (no old and new together); progressDeadlineSeconds 600 -> failed,
with no automatic rollback; a silent node goes NotReady after 50 s (the
default since Kubernetes 1.32, kubernetes/kubernetes PR 126287) and its
pods are evicted 300 s later and recreated elsewhere.
"""
from __future__ import annotations

import math
from collections import Counter

import pytest

import labkit
from labkit.backends.sim.api import fenceposts, resolve
from labkit.errors import InvalidInput, NotFound

STEP = 0.1


def k8s(nodes: int = 3, seed: int = 1) -> labkit.Cluster:
    return labkit.connect("sim", nodes=nodes, seed=seed)


def bounds(replicas: int, surge, unavailable) -> tuple[int, int]:
    """Our own reading of the Kubernetes rule (not the simulator's code)."""
    def absolute(value, up):
        if isinstance(value, str):
            share = int(value[:-1]) * replicas / 100
            return math.ceil(share) if up else math.floor(share)
        return value
    s, u = absolute(surge, True), absolute(unavailable, False)
    return (s, 1) if s == u == 0 else (s, u)


def check_rollout(cluster, name: str, replicas: int, surge: int, unavailable: int,
                  timeout: float = 300) -> dict:
    """Step the cluster until the workload converges, checking both rollout bounds at every step."""
    worst = {"active": 0, "available": replicas, "steps": 0}
    end = cluster.now() + timeout
    while cluster.now() < end:
        cluster.run(STEP)
        state = cluster.state()
        mine = state.replicas_of(name)
        active = sum(1 for r in mine if r.phase != "terminating")
        available = sum(1 for r in mine if r.phase == "running" and r.ready)
        status = state.workload(name)
        assert active <= replicas + surge, (cluster.now(), active, status)
        assert available >= replicas - unavailable, (cluster.now(), available, status)
        assert status.current <= replicas + surge, status
        assert status.available >= replicas - unavailable, status
        worst["active"] = max(worst["active"], active)
        worst["available"] = min(worst["available"], available)
        worst["steps"] += 1
        if state.converged:
            return worst
    raise AssertionError(f"did not converge in {timeout} s: {cluster.state().workload(name)}")


# -- defaults ------------------------------------------------------------------------------
def test_replicas_default_to_one():
    cluster = k8s()
    web = cluster.deploy("web", "web-server:1")
    cluster.wait()
    assert web.status().desired == 1 and cluster.state().count("web") == 1


@pytest.mark.parametrize("replicas,surge,unavailable", [
    (1, 1, 0), (2, 1, 0), (3, 1, 0), (4, 1, 1), (5, 2, 1), (8, 2, 2), (10, 3, 2), (100, 25, 25), (101, 26, 25)])
def test_default_surge_25_percent_up_and_unavailable_25_percent_down(replicas, surge, unavailable):
    cluster = k8s(nodes=2)
    web = cluster.deploy("web", "web-server:1", replicas=replicas)
    status = web.status()
    assert (status.max_surge, status.max_unavailable) == (surge, unavailable)
    assert status.strategy == "RollingUpdate"
    assert fenceposts({"max_surge": "25%", "max_unavailable": "25%"}, replicas) == (surge, unavailable)


def test_resolve_rounds_surge_up_and_unavailable_down():
    assert resolve("25%", 10, round_up=True) == 3
    assert resolve("25%", 10, round_up=False) == 2
    assert resolve("10%", 3, round_up=True) == 1
    assert resolve("10%", 3, round_up=False) == 0
    assert resolve("100%", 7, round_up=False) == 7
    assert resolve(4, 7, round_up=True) == 4


def test_both_resolving_to_zero_means_one_unavailable():
    assert fenceposts({"max_surge": "0%", "max_unavailable": "10%"}, 3) == (0, 1)


@pytest.mark.parametrize("surge,unavailable", [(0, 0), ("0%", 0), (0, "0%"), ("0%", "0%")])
def test_surge_and_unavailable_both_zero_is_rejected(surge, unavailable):
    cluster = k8s()
    with pytest.raises(InvalidInput):
        cluster.deploy("web", "web-server:1", max_surge=surge, max_unavailable=unavailable)
    web = cluster.deploy("web", "web-server:1", replicas=2)
    cluster.wait()
    before = cluster.state()
    with pytest.raises(InvalidInput):
        web.update("web-server:2", max_surge=surge, max_unavailable=unavailable)
    assert cluster.state() == before


# -- rolling updates ---------------------------------------------------------------------------
@pytest.mark.parametrize("replicas,options", [
    (4, {}), (10, {}), (1, {}), (7, {"max_surge": 3, "max_unavailable": 2}),
    (4, {"max_surge": 1, "max_unavailable": 0}), (4, {"max_surge": 0, "max_unavailable": 1}),
    (10, {"max_surge": "100%", "max_unavailable": 0}), (10, {"max_surge": 0, "max_unavailable": "100%"}),
    (3, {"max_surge": "0%", "max_unavailable": "10%"}), (20, {"max_surge": "50%", "max_unavailable": "50%"})])
def test_rolling_update_stays_within_surge_and_unavailable_at_every_step(replicas, options):
    cluster = k8s()
    web = cluster.deploy("web", "web-server:1", replicas=replicas)
    cluster.wait()
    web.update("web-server:2", **options)
    surge, unavailable = bounds(replicas, options.get("max_surge", "25%"), options.get("max_unavailable", "25%"))
    assert (web.status().max_surge, web.status().max_unavailable) == (surge, unavailable)
    worst = check_rollout(cluster, "web", replicas, surge, unavailable)
    assert worst["steps"] > 3
    # the bounds are used, not just respected: the rollout goes as wide as it may
    assert worst["active"] == replicas + surge or surge == 0
    assert all(r.image == "web-server:2" for r in web.replicas() if r.phase != "terminating")
    assert web.status().revision == 2


def test_rollout_to_an_image_that_never_pulls_keeps_the_minimum_available():
    cluster = k8s()
    web = cluster.deploy("web", "web-server:1", replicas=8)
    cluster.wait()
    web.update("no-such-image:1")
    for _ in range(300):
        cluster.run(1)
        state = cluster.state()
        assert sum(1 for r in state.replicas_of("web") if r.ready) >= 8 - 2
        assert sum(1 for r in state.replicas_of("web") if r.phase != "terminating") <= 8 + 2
    assert cluster.state().count("web", image="web-server:1") == 6


def test_min_ready_seconds_delays_availability():
    cluster = k8s()
    web = cluster.deploy("web", "web-server:1", replicas=4)
    cluster.wait()
    start = cluster.now()
    web.update("web-server:2", min_ready_seconds=10, max_surge=1, max_unavailable=0)
    check_rollout(cluster, "web", 4, 1, 0)
    assert cluster.now() - start >= 40  # four pods one after another, each ready 10 s before it counts
    seen_ready_not_available = False
    web.update("web-server:1")
    for _ in range(50):
        cluster.run(STEP)
        status = web.status()
        assert status.available <= status.ready
        seen_ready_not_available |= status.ready > status.available
    assert seen_ready_not_available


# -- revisions -----------------------------------------------------------------------------------
def test_only_a_template_change_makes_a_new_revision():
    cluster = k8s()
    web = cluster.deploy("web", "web-server:1", replicas=2)
    cluster.wait()
    assert web.history() == [(1, "web-server:1")]
    web.scale(5)
    cluster.wait()
    web.scale(3)
    cluster.wait()
    web.update("web-server:1")  # same image: same template
    cluster.wait()
    web.update("web-server:1", max_surge=2)  # strategy is not part of the template
    cluster.wait()
    assert web.history() == [(1, "web-server:1")]
    assert web.status().revision == 1
    web.update("web-server:2")
    cluster.wait()
    assert web.history() == [(1, "web-server:1"), (2, "web-server:2")]
    assert {r.revision for r in web.replicas() if r.phase != "terminating"} == {2}


def test_rollback_returns_to_the_previous_template_as_a_new_revision():
    cluster = k8s()
    web = cluster.deploy("web", "web-server:1", replicas=3)
    cluster.wait()
    web.update("web-server:2")
    cluster.wait()
    web.rollback()
    cluster.wait()
    status = web.status()
    assert status.image == "web-server:1" and status.revision == 3
    assert web.history() == [(2, "web-server:2"), (3, "web-server:1")]  # revision 1 became 3
    assert {r.image for r in web.replicas() if r.phase != "terminating"} == {"web-server:1"}
    web.rollback()  # undo the undo
    cluster.wait()
    assert web.status().image == "web-server:2" and web.status().revision == 4


def test_rollback_without_history_is_refused_and_changes_nothing():
    cluster = k8s()
    web = cluster.deploy("web", "web-server:1", replicas=2)
    cluster.wait()
    before = cluster.state()
    with pytest.raises(NotFound) as info:
        web.rollback()
    assert info.value.hint and cluster.state() == before


def _many_revisions(web, cluster, count: int) -> None:
    for i in range(1, count + 1):
        web.update(f"nginx:1.{i + 7}")  # real tags: nginx:1.8 ... (the registry has no nginx:1.0)
        cluster.wait()


def test_revision_history_limit_keeps_10_old_replica_sets():
    cluster = k8s(nodes=2)
    web = cluster.deploy("web", "nginx:1.7", replicas=2)
    cluster.wait()
    _many_revisions(web, cluster, 13)
    cluster.run(60)
    assert len(web.history()) == 11  # 10 old + the current one


def test_revision_history_limit_drops_the_oldest():
    cluster = k8s(nodes=2)
    web = cluster.deploy("web", "nginx:1.7", replicas=2)
    cluster.wait()
    _many_revisions(web, cluster, 13)
    web.scale(3)  # any later sync of the deployment trims the history
    cluster.wait()
    history = web.history()
    assert history == [(i + 1, f"nginx:1.{i + 7}") for i in range(3, 14)]
    assert len(cluster.backend.api.items("replicasets")) == 11


# -- pause / resume -------------------------------------------------------------------------------
def test_pause_holds_a_rollout_and_resume_finishes_it():
    cluster = k8s()
    web = cluster.deploy("web", "web-server:1", replicas=4)
    cluster.wait()
    web.pause()
    web.update("web-server:2")
    cluster.run(60)
    status = web.status()
    assert status.paused and status.rollout == "paused" and status.image == "web-server:2"
    assert Counter(r.image for r in web.replicas()) == Counter({"web-server:1": 4})
    assert web.history() == [(1, "web-server:1")]
    web.scale(6)  # scaling still works while paused
    cluster.run(20)
    assert cluster.state().count("web", image="web-server:1") == 6
    web.resume()
    check_rollout(cluster, "web", 6, 2, 1)
    assert not web.status().paused and web.status().rollout == "complete"
    assert cluster.state().count("web", image="web-server:2") == 6


def test_pause_in_the_middle_of_a_rollout_freezes_the_mix():
    cluster = k8s()
    web = cluster.deploy("web", "web-server:1", replicas=8)
    cluster.wait()
    web.update("web-server:2", max_surge=1, max_unavailable=0)
    cluster.run(3)
    web.pause()
    cluster.run(2)
    mix = Counter(r.image for r in web.replicas() if r.phase == "running")
    cluster.run(60)
    assert Counter(r.image for r in web.replicas() if r.phase == "running") == mix
    assert mix["web-server:1"] and mix["web-server:2"]
    web.resume()
    cluster.wait()
    assert cluster.state().count("web", image="web-server:2") == 8


# -- Recreate --------------------------------------------------------------------------------------------
def _assert_never_old_and_new(cluster, name: str) -> None:
    for _ in range(400):
        cluster.run(STEP)
        images = {r.image for r in cluster.state().replicas_of(name)}  # terminating ones count too
        assert len(images) <= 1, (cluster.now(), images)
        if cluster.state().converged:
            return
    raise AssertionError("Recreate rollout did not converge")


def test_recreate_stops_every_old_pod_before_starting_new_ones():
    cluster = k8s()
    web = cluster.deploy("web", "web-server:1", replicas=6, type="Recreate")
    cluster.wait()
    assert web.status().strategy == "Recreate"
    web.update("web-server:2", type="Recreate")
    _assert_never_old_and_new(cluster, "web")
    assert cluster.state().count("web", image="web-server:2") == 6


def test_recreate_is_kept_by_an_update_that_does_not_mention_it():
    cluster = k8s()
    web = cluster.deploy("web", "web-server:1", replicas=6, type="Recreate")
    cluster.wait()
    web.update("web-server:2")
    assert web.status().strategy == "Recreate"
    _assert_never_old_and_new(cluster, "web")


def test_recreate_with_pending_pods_still_rolls_out():
    cluster = k8s(nodes=1)
    web = cluster.deploy("web", "web-server:1", replicas=6, cpu=1000, type="Recreate")  # 4 fit, 2 pending
    cluster.run(10)
    web.update("web-server:2", type="Recreate")
    cluster.run(60)
    assert cluster.state().count("web", image="web-server:2") == 4


# -- progress deadline ------------------------------------------------------------------------------
def test_progress_deadline_fails_the_rollout_without_rolling_back():
    cluster = k8s()
    web = cluster.deploy("web", "web-server:1", replicas=4)
    cluster.wait()
    start = cluster.now()
    web.update("no-such-image:1")
    cluster.run(590)
    assert web.status().rollout == "progressing"
    assert not [e for e in cluster.events() if e.reason == "ProgressDeadlineExceeded"]
    cluster.run(20)
    status = web.status()
    assert status.rollout == "failed" and status.message == "ProgressDeadlineExceeded"
    (event,) = [e for e in cluster.events() if e.reason == "ProgressDeadlineExceeded"]
    assert event.type == "Warning" and 600 <= event.time - start <= 606
    cluster.run(1200)  # and it does not roll back by itself
    status = web.status()
    assert status.image == "no-such-image:1" and status.rollout == "failed"
    assert cluster.state().count("web", image="web-server:1") >= 3  # the old pods still serve
    stuck = [r for r in web.replicas() if r.image == "no-such-image:1"]
    assert stuck and all(r.phase == "pending" and r.reason in ("ErrImagePull", "ImagePullBackOff") for r in stuck)
    with pytest.raises(labkit.Timeout):
        cluster.wait(timeout=30)
    web.rollback()  # the student undoes it
    cluster.wait(timeout=120)
    assert web.status().image == "web-server:1" and web.status().rollout == "complete"


def test_a_crashing_image_is_not_rolled_back_automatically():
    cluster = k8s()
    web = cluster.deploy("web", "web-server:1", replicas=4)
    cluster.wait()
    web.update("web-server:broken")
    cluster.run(1300)
    assert web.status().image == "web-server:broken"
    assert [image for _, image in web.history()] == ["web-server:1", "web-server:broken"]
    broken = [r for r in web.replicas() if r.image == "web-server:broken"]
    assert broken and max(r.restarts for r in broken) >= 5


# -- node lifecycle -------------------------------------------------------------------------------------
def test_a_failed_node_goes_not_ready_after_50s_and_its_pods_are_evicted_300s_later():
    """node-monitor-grace-period 50 s (pkg/controller/nodelifecycle/config/v1alpha1/defaults.go since
    v1.32, PR 126287), checked every node-monitor-period of 5 s; default tolerationSeconds 300 for
    the not-ready/unreachable taints (plugin/pkg/admission/defaulttolerationseconds)."""
    cluster = k8s()
    web = cluster.deploy("web", "web-server:1", replicas=6)
    cluster.wait()
    doomed = {r.name for r in cluster.state().replicas_on("node-2")}
    assert len(doomed) == 2
    start = cluster.now()
    cluster.fail_node("node-2")
    cluster.run(49)
    assert cluster.state().node("node-2").ready  # nobody knows yet
    cluster.run(6)
    node = cluster.state().node("node-2")
    assert not node.ready and node.status == "NotReady"
    (not_ready,) = [e for e in cluster.events() if e.reason == "NodeNotReady"]
    assert 50 <= not_ready.time - start <= 55
    assert all(not r.ready for r in cluster.state().replicas_on("node-2"))
    assert web.status().available == 4
    cluster.run(not_ready.time + 299 - cluster.now())
    assert {r.name for r in cluster.state().replicas_on("node-2") if r.phase != "terminating"} == doomed
    cluster.run(6)
    on_failed = cluster.state().replicas_on("node-2")
    assert {r.name for r in on_failed} == doomed and all(r.phase == "terminating" for r in on_failed)
    evictions = [e for e in cluster.events() if e.reason == "TaintManagerEviction"]
    assert len(evictions) == 2 and all(299 <= e.time - not_ready.time <= 306 for e in evictions)
    cluster.wait(timeout=30)
    state = cluster.state()
    assert state.count("web") == 6
    assert all(r.node != "node-2" for r in state.replicas_of("web") if r.phase == "running")
    cluster.run(600)  # nothing runs on the failed node, ever
    assert not [r for r in cluster.state().replicas_on("node-2") if r.phase != "terminating" or r.ready]


def test_a_recovered_node_is_ready_again_and_cleans_up_its_evicted_pods():
    cluster = k8s()
    web = cluster.deploy("web", "web-server:1", replicas=6)
    cluster.wait()
    cluster.fail_node("node-2")
    cluster.run(400)
    cluster.recover_node("node-2")
    cluster.run(5)
    state = cluster.state()
    assert state.node("node-2").ready and state.replicas_on("node-2") == []
    assert web.status().ready == 6
    web.scale(9)
    cluster.wait()
    assert len(cluster.state().replicas_on("node-2")) >= 1  # schedulable again


def test_a_node_back_before_the_eviction_keeps_its_pods():
    cluster = k8s()
    web = cluster.deploy("web", "web-server:1", replicas=6)
    cluster.wait()
    names = {r.name for r in cluster.state().replicas_on("node-2")}
    cluster.fail_node("node-2")
    cluster.run(100)
    cluster.recover_node("node-2")
    cluster.wait(timeout=30)
    assert {r.name for r in cluster.state().replicas_on("node-2")} == names
    assert web.status().ready == 6
    assert not [e for e in cluster.events() if e.reason == "TaintManagerEviction"]


def test_a_stopped_kubelet_makes_its_node_not_ready():
    cluster = k8s()
    cluster.deploy("web", "web-server:1", replicas=3)
    cluster.wait()
    start = cluster.now()
    cluster.stop_component("kubelet", "node-1")
    cluster.run(60)
    (event,) = [e for e in cluster.events() if e.reason == "NodeNotReady"]
    assert event.object == "node/node-1" and 50 <= event.time - start <= 55
    cluster.start_component("kubelet", "node-1")
    cluster.run(1)
    assert cluster.state().node("node-1").ready


def test_a_restarted_controller_manager_gives_a_silent_node_a_whole_grace_period():
    """The node lifecycle controller keeps heartbeats in memory: restarted, it takes "now" as every
    node's last one (tryUpdateNodeHealth, pkg/controller/nodelifecycle/node_lifecycle_controller.go),
    so a node that went silent while it was stopped is NotReady a grace period after the restart."""
    cluster = k8s()
    cluster.deploy("web", "web-server:1", replicas=3)
    cluster.wait()
    cluster.stop_component("controller-manager")
    cluster.fail_node("node-1")
    cluster.run(400)
    assert cluster.state().node("node-1").ready  # nobody is counting
    restart = cluster.now()
    cluster.start_component("controller-manager")
    cluster.run(45)
    assert cluster.state().node("node-1").ready  # not 3 s later: 50 s later
    cluster.run(15)
    (event,) = [e for e in cluster.events() if e.reason == "NodeNotReady"]
    assert 50 <= event.time - restart <= 55


def test_a_stopped_controller_manager_ignores_scale_until_started():
    cluster = k8s()
    web = cluster.deploy("web", "web-server:1", replicas=2)
    cluster.wait()
    cluster.stop_component("controller-manager")
    web.scale(5)
    cluster.run(30)
    assert cluster.state().count("web") == 2 and web.status().desired == 5
    cluster.start_component("controller-manager")
    cluster.wait(timeout=30)
    assert cluster.state().count("web") == 5


def test_killed_pod_restarts_in_place():
    cluster = k8s()
    web = cluster.deploy("web", "web-server:1", replicas=3)
    cluster.wait()
    victim = cluster.kill_replica()
    cluster.run(1)
    (replica,) = [r for r in web.replicas() if r.name == victim]
    assert replica.restarts == 1 and replica.phase == "running"
    assert len(web.replicas()) == 3


def test_drain_moves_pods_away_and_cordons():
    cluster = k8s()
    web = cluster.deploy("web", "web-server:1", replicas=6)
    cluster.wait()
    cluster.drain("node-1")
    cluster.wait(timeout=30)
    state = cluster.state()
    assert not state.node("node-1").schedulable
    assert [r for r in state.replicas_on("node-1")] == []
    assert Counter(r.node for r in web.replicas()) == Counter({"node-2": 3, "node-3": 3})
    cluster.uncordon("node-1")
    web.scale(9)
    cluster.wait()
    assert Counter(r.node for r in web.replicas())["node-1"] == 3


def test_scale_down_removes_and_scale_up_creates():
    cluster = k8s()
    web = cluster.deploy("web", "web-server:1", replicas=5)
    cluster.wait()
    web.scale(2)
    cluster.wait()
    cluster.run(5)
    assert len(web.replicas()) == 2
    web.scale(0)
    cluster.wait()
    cluster.run(5)
    assert web.replicas() == [] and web.status().desired == 0
    web.scale(3)
    cluster.wait()
    assert cluster.state().count("web") == 3


# -- a controller's bookkeeping is its own (client-go: an object in the informer cache is read-only) -------
def test_replica_set_counts_are_the_controllers_not_the_stored_objects():
    from labkit.backends.sim.controllers import Counts

    cluster = k8s()
    sim = cluster.backend
    web = cluster.deploy("web", "web-server:1", replicas=3, readiness=True)
    cluster.run(0.5)
    (rs,) = sim.api.items("replicasets").values()
    assert not any(hasattr(rs, name) for name in ("pods", "active", "ready", "available"))
    with pytest.raises(AttributeError):
        rs.active = 3  # nothing to change in place on the stored object

    def counted() -> Counts:
        """The controller's counts, checked against the pods in the store."""
        counts = sim.replicasets.counts(rs.name)
        mine = [p for p in sim.api.items("pods").values() if p.owner == rs.name]
        live = [p for p in mine if not p.deleting]
        assert counts.pods == {p.name for p in mine}
        assert (counts.active, counts.ready) == (len(live), sum(p.ready for p in live))
        assert counts.available == counts.ready  # no minReadySeconds
        return counts

    seen = set()
    while cluster.now() < 10:
        seen.add(counted().ready)
        cluster.run(0.1)
    assert seen == {0, 1, 2, 3}  # each pod counted as it turned ready
    web.scale(1)
    cluster.run(0.1)
    counts = counted()
    assert (len(counts.pods), counts.active, counts.ready) == (3, 1, 1)  # two terminating, still there
    cluster.run(5)
    assert len(counted().pods) == 1  # deleted pods leave the count
    web.scale(3)
    cluster.wait()
    assert (len(counted().pods), counted().active) == (3, 3)
    web.delete()  # the replica set goes at once, its pods terminate
    assert rs.name not in sim.api.items("replicasets")
    assert any(p.owner == rs.name for p in sim.api.items("pods").values())
    assert sim.replicasets.counts(rs.name) == Counts()  # its counts went with it


# -- canaries (the facade's second workload behind the same app label) ------------------------------------
@pytest.mark.parametrize("flavor", ["kubernetes", "swarm"])
def test_canary_then_promote_or_abort(flavor):
    cluster = labkit.connect("sim", nodes=3, seed=1, flavor=flavor)
    web = cluster.deploy("web", "web-server:1", replicas=10)
    cluster.wait()
    canary = web.canary("web-server:2", percent=10)
    cluster.wait(timeout=300)
    assert canary.name == "web-canary"
    assert (web.status().desired, canary.status().desired) == (9, 1)
    assert dict(canary.status().labels) == {"app": "web", "track": "canary"}
    state = cluster.state()
    assert state.count("web", image="web-server:1") == 9 and state.count("web-canary", image="web-server:2") == 1
    web.promote()
    cluster.wait(timeout=300)
    cluster.run(5)
    state = cluster.state()
    assert [w.name for w in state.workloads] == ["web"]
    assert state.count("web", image="web-server:2") == 10 and state.count(image="web-server:1") == 0
    web.canary("nginx:1.25", percent=30)
    cluster.wait(timeout=300)
    assert cluster.state().count("web-canary") == 3 and web.status().desired == 7
    web.abort()
    cluster.wait(timeout=300)
    cluster.run(5)
    state = cluster.state()
    assert [w.name for w in state.workloads] == ["web"]
    assert state.count("web", image="web-server:2") == 10 and state.count(image="nginx:1.25") == 0


def test_failing_the_control_plane_node_takes_the_control_plane_down():
    cluster = k8s()
    web = cluster.deploy("web", "web-server:1", replicas=3)
    cluster.wait()
    cluster.fail_node("control-plane")
    plane = {c.name: c.running for c in cluster.state().components if c.node == "control-plane"}
    assert not any(plane.values()), plane
    with pytest.raises(labkit.Unavailable):
        web.scale(5)
    cluster.run(60)
    assert cluster.state().count("web") == 3  # the workers keep running what they have
    cluster.recover_node("control-plane")
    plane = {c.name: c.running for c in cluster.state().components if c.node == "control-plane"}
    assert all(plane.values()), plane
    web.scale(5)
    cluster.wait(timeout=60)
    assert web.status().ready == 5


def test_rollback_of_a_paused_deployment_is_refused():
    cluster = k8s()
    web = cluster.deploy("web", "web-server:1", replicas=4)
    cluster.wait()
    web.update("web-server:2")
    cluster.wait()
    web.pause()
    before = cluster.state()
    with pytest.raises(labkit.Refused) as info:
        web.rollback()
    assert "resume" in info.value.hint
    assert cluster.state() == before


def test_pod_template_hashes_have_kubernetes_shape():
    """controller.ComputeHash: FNV-32a, in decimal, each digit's byte mapped by SafeEncodeString onto
    "bcdfghjklmnpqrstvwxz2456789", so only 4-9, b, c, d and f appear (e.g. 5d59d67564)."""
    from labkit.backends.sim.objects import Template, pod_template_hash
    assert pod_template_hash("") == "65bb57b6b5"  # FNV-32a of nothing is 2166136261: 2->6, 1->5, 6->b, 3->7
    hashes = {Template(f"web-server:{i}").hash() for i in range(200)}
    assert len(hashes) == 200
    assert all(set(h) <= set("456789bcdf") and 1 <= len(h) <= 10 for h in hashes)


def test_the_hash_covers_the_whole_template_labels_included():
    """Upstream hashes the whole pod template, its labels too: two deployments of one image
    (`app: web`, `app: api`) get different pod-template-hashes, and so their pods different names."""
    from labkit.backends.sim.objects import Template
    template = Template("nginx:1.27")
    assert template.hash({"app": "web"}) != template.hash({"app": "api"})
    assert template.hash({"app": "web"}) == Template("nginx:1.27").hash({"app": "web"})
    written = Template("nginx:1.27", labels={"app": "web", "tier": "front"})
    assert written.hash({"app": "ignored"}) == written.hash()  # a written template's own labels count
    assert written.hash() != written.copy(labels={"app": "web"}).hash()


def test_a_node_that_fails_again_right_after_recovering_starts_a_new_count():
    """The not-ready taint's time belongs to one failure: a node recovered and failed again between two
    of the controller's looks (every 5 s) is not evicted on the old count while it reads Ready."""
    cluster = k8s()
    cluster.deploy("web", "web-server:1", replicas=6)
    cluster.wait()
    names = {r.name for r in cluster.state().replicas_on("node-2")}
    cluster.fail_node("node-2")
    cluster.run(60)
    (not_ready,) = [e for e in cluster.events() if e.reason == "NodeNotReady"]
    cluster.run(not_ready.time + 296 - cluster.now())  # the looks come at not_ready + 5k: 295 passed, 300 next
    cluster.recover_node("node-2")
    cluster.run(1)
    cluster.fail_node("node-2")
    cluster.run(30)
    assert cluster.state().node("node-2").ready, "a new failure: 50 s before anyone knows"
    assert {r.name for r in cluster.state().replicas_on("node-2")} == names
    assert not [e for e in cluster.events() if e.reason == "TaintManagerEviction"]
