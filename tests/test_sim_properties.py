"""Property-based tests (hypothesis) of the simulator's invariants.

- During any rollout (random replicas, maxSurge, maxUnavailable, images, node
  counts, seeds, a second update in the middle) the non-terminating pods never
  exceed replicas + maxSurge and the available ones never drop below
  replicas - maxUnavailable, checked at every step of simulated time and after
  every single write of a pod. Swarm updates never take more than
  `parallelism` slots down at once.
- Every scenario (random scale / update / rollback / kill / node failure /
  drain, on the kubernetes and swarm flavors) converges to the desired count
  once the nodes are back.
- Nothing runs on a failed node after its pods were evicted.
- The same seed gives the same event log; another seed gives another one.

Examples are few and derandomized so the file stays fast and repeatable.
"""
from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labkit
from labkit.errors import NotFound, Refused, Unavailable

GOOD_IMAGES = ("web-server:1", "web-server:2", "nginx:1.25", "httpd:2.4", "redis:7")
NEVER_PULLS = "no-such-image:1"

FAST = settings(max_examples=80, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])


def bound(value, replicas: int, up: bool) -> int:
    if isinstance(value, str):
        share = int(value[:-1]) * replicas / 100
        return math.ceil(share) if up else math.floor(share)
    return value


def fenceposts(replicas: int, surge, unavailable) -> tuple[int, int]:
    s, u = bound(surge, replicas, True), bound(unavailable, replicas, False)
    return (s, 1) if s == u == 0 else (s, u)


amount = st.one_of(st.integers(0, 5), st.integers(0, 100).map(lambda p: f"{p}%"))
is_zero = {0, "0%"}.__contains__


def assert_bounds(cluster, name: str, replicas: int, surge: int, unavailable: int) -> None:
    """Both bounds, by the controller's counters and by the replica list a student sees."""
    state = cluster.state()
    status = state.workload(name)
    assert status.current <= replicas + surge, (cluster.now(), status)
    assert status.available >= replicas - unavailable, (cluster.now(), status)
    mine = state.replicas_of(name)
    active = sum(1 for r in mine if r.phase != "terminating")
    available = sum(1 for r in mine if r.phase == "running" and r.ready)
    assert active <= replicas + surge, (cluster.now(), active, status)
    assert available >= replicas - unavailable, (cluster.now(), available, status)


# -- rollout bounds ---------------------------------------------------------------------------
@FAST
@given(replicas=st.integers(1, 25), nodes=st.integers(1, 4), surge=amount, unavailable=amount,
       image=st.sampled_from(GOOD_IMAGES[1:] + (NEVER_PULLS,)), step=st.sampled_from([0.1, 0.3, 0.7]),
       min_ready=st.sampled_from([0, 0, 2]), seed=st.integers(0, 10_000))
def test_any_rollout_stays_within_its_bounds_at_every_step(replicas, nodes, surge, unavailable, image, step,
                                                           min_ready, seed):
    if is_zero(surge) and is_zero(unavailable):
        surge = 1
    cluster = labkit.connect("sim", nodes=nodes, seed=seed)
    web = cluster.deploy("web", "web-server:1", replicas=replicas)
    cluster.wait()
    web.update(image, max_surge=surge, max_unavailable=unavailable, min_ready_seconds=min_ready)
    s, u = fenceposts(replicas, surge, unavailable)
    assert (web.status().max_surge, web.status().max_unavailable) == (s, u)
    end = cluster.now() + (60 if image == NEVER_PULLS else 300)
    while cluster.now() < end:
        cluster.run(step)
        assert_bounds(cluster, "web", replicas, s, u)
        if image != NEVER_PULLS and cluster.state().converged:
            break
    if image == NEVER_PULLS:
        assert cluster.state().count("web", image="web-server:1") >= replicas - u
    else:
        assert cluster.state().converged, web.status()
        assert cluster.state().count("web", image=image) == replicas


@FAST
@given(replicas=st.integers(2, 20), surge=amount, unavailable=amount, after=st.floats(0.0, 4.0),
       seed=st.integers(0, 10_000))
def test_a_second_update_during_a_rollout_stays_within_bounds(replicas, surge, unavailable, after, seed):
    """Rollover: a new image before the last rollout finished."""
    if is_zero(surge) and is_zero(unavailable):
        unavailable = 1
    cluster = labkit.connect("sim", nodes=3, seed=seed)
    web = cluster.deploy("web", "web-server:1", replicas=replicas, max_surge=surge, max_unavailable=unavailable)
    cluster.wait()
    s, u = fenceposts(replicas, surge, unavailable)
    web.update("web-server:2")
    cluster.run(after)
    web.update("nginx:1.25")
    for _ in range(3000):
        cluster.run(0.1)
        assert_bounds(cluster, "web", replicas, s, u)
        if cluster.state().converged:
            break
    assert cluster.state().converged
    assert cluster.state().count("web", image="nginx:1.25") == replicas


def test_a_second_update_during_a_rollout_keeps_the_replica_list_within_bounds():
    cluster = labkit.connect("sim", nodes=3, seed=1)
    web = cluster.deploy("web", "web-server:1", replicas=10, max_surge=1, max_unavailable=0)
    cluster.wait()
    web.update("web-server:2")
    cluster.run(1.6)
    web.update("nginx:1.25")
    for _ in range(600):
        cluster.run(0.1)
        assert_bounds(cluster, "web", 10, 1, 0)
        if cluster.state().converged:
            break


@FAST
@given(replicas=st.integers(1, 8), parallelism=st.integers(0, 3), delay=st.sampled_from([0, 0, 2]),
       monitor=st.sampled_from([0, 1, 5]), image=st.sampled_from(GOOD_IMAGES[1:]), seed=st.integers(0, 10_000))
def test_any_swarm_update_replaces_at_most_parallelism_tasks_at_once(replicas, parallelism, delay, monitor, image,
                                                                   seed):
    """Swarm, stop-first: never more tasks than replicas, never more than `parallelism` slots down."""
    cluster = labkit.connect("sim", flavor="swarm", nodes=3, seed=seed)
    web = cluster.deploy("web", "web-server:1", replicas=replicas)
    cluster.wait()
    web.update(image, parallelism=parallelism, delay=delay, monitor=monitor)
    width = parallelism or replicas
    for _ in range(3000):
        cluster.run(0.2)
        mine = cluster.state().replicas_of("web")
        live = [r for r in mine if r.phase not in ("terminating", "failed", "succeeded")]
        serving = [r for r in live if r.phase == "running" and r.ready]
        assert len(live) <= replicas, mine
        assert len(serving) >= replicas - width, mine
        if cluster.backend.api.items("services")["web"].update_state == "completed":
            break
    cluster.wait(timeout=60)
    assert cluster.state().count("web", image=image) == replicas


@FAST
@given(replicas=st.integers(1, 20), surge=amount, unavailable=amount, second=st.none() | st.floats(0.0, 5.0),
       image=st.sampled_from(GOOD_IMAGES[1:] + (NEVER_PULLS,)), seed=st.integers(0, 10_000))
def test_rollout_bounds_hold_after_every_single_write(replicas, surge, unavailable, second, image, seed):
    """Finer than any step: a store watch checks the bounds after every write of a pod."""
    if is_zero(surge) and is_zero(unavailable):
        unavailable = 1
    cluster = labkit.connect("sim", nodes=3, seed=seed)
    web = cluster.deploy("web", "web-server:1", replicas=replicas, max_surge=surge, max_unavailable=unavailable)
    cluster.wait()
    s, u = fenceposts(replicas, surge, unavailable)
    pods = cluster.backend.api.items("pods")
    broken = []

    def check(event, pod):
        mine = [p for p in pods.values() if p.app == "web" and not p.deleting]
        active, available = len(mine), sum(1 for p in mine if p.ready)
        if active > replicas + s or available < replicas - u:
            broken.append((cluster.now(), event, pod.name, active, available))

    cluster.backend.store.watch("pods", check)
    web.update(image)
    if second is not None:
        cluster.run(second)
        web.update("web-server:1" if image == NEVER_PULLS else "nginx:1.25")
    cluster.run(120)
    assert broken == []


# -- convergence ---------------------------------------------------------------------------------
def operation(flavor: str):
    ops = [
        st.tuples(st.just("scale"), st.integers(0, 12)),
        st.tuples(st.just("update"), st.sampled_from(GOOD_IMAGES)),
        st.tuples(st.just("rollback"), st.just(None)),
        st.tuples(st.just("kill"), st.just(None)),
        st.tuples(st.just("fail"), st.integers(1, 3)),
        st.tuples(st.just("recover"), st.integers(1, 3)),
        st.tuples(st.just("drain"), st.integers(1, 3)),
        st.tuples(st.just("uncordon"), st.integers(1, 3)),
        st.tuples(st.just("run"), st.sampled_from([0.5, 2, 10, 60, 400])),
    ]
    return st.one_of(ops)


def play(cluster, web, ops) -> set[str]:
    """Apply the operations; return the nodes that were failed (and maybe not yet noticed)."""
    failed = set()
    for op, arg in ops:
        try:
            if op == "scale":
                web.scale(arg)
            elif op == "update":
                web.update(arg)
            elif op == "rollback":
                web.rollback()
            elif op == "kill":
                cluster.kill_replica()
            elif op == "fail":
                cluster.fail_node(f"node-{arg}")
                failed.add(f"node-{arg}")
            elif op == "recover":
                cluster.recover_node(f"node-{arg}")
                failed.discard(f"node-{arg}")
            elif op == "drain":
                cluster.drain(f"node-{arg}")
            elif op == "uncordon":
                cluster.uncordon(f"node-{arg}")
            else:
                cluster.run(arg)
        except (Refused, NotFound, Unavailable):
            pass  # refused as it should be: the last node, no history, a swarm without its quorum, ...
    return failed


def heal(cluster, failed: set[str]) -> None:
    for name in sorted(failed):
        cluster.recover_node(name)
    for node in cluster.state().nodes:
        if not node.schedulable and node.role != "control-plane":
            cluster.uncordon(node.name)


@settings(max_examples=100, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(flavor=st.sampled_from(["kubernetes", "swarm"]), replicas=st.integers(0, 10),
       ops=st.lists(st.one_of(operation("any")), max_size=8), seed=st.integers(0, 10_000))
def test_every_scenario_converges_to_the_desired_count(flavor, replicas, ops, seed):
    cluster = labkit.connect("sim", flavor=flavor, nodes=3, seed=seed)
    web = cluster.deploy("web", "web-server:1", replicas=replicas)
    heal(cluster, play(cluster, web, ops))
    cluster.wait(timeout=900)
    cluster.run(10)  # converged, and it stays so (pods being stopped are gone by now)
    state = cluster.state()
    assert state.converged
    status = state.workload("web")
    serving = [r for r in state.replicas_of("web") if r.phase == "running" and r.ready]
    assert len(serving) == status.desired == status.ready == status.available
    assert all(r.image == status.image for r in serving)
    ready_nodes = {n.name for n in state.nodes if n.ready}
    assert all(r.node in ready_nodes for r in serving)
    assert not [r for r in state.replicas_of("web") if r.phase == "pending"]


# -- nothing on a failed node --------------------------------------------------------------------------
@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(flavor=st.sampled_from(["kubernetes", "swarm"]), replicas=st.integers(1, 15), node=st.integers(1, 3),
       before=st.floats(0, 30), seed=st.integers(0, 10_000))
def test_nothing_runs_on_a_failed_node_after_eviction(flavor, replicas, node, before, seed):
    managers = {"managers": 3} if flavor == "swarm" else {}  # one manager down of three keeps the quorum
    cluster = labkit.connect("sim", flavor=flavor, nodes=3, seed=seed, **managers)
    web = cluster.deploy("web", "web-server:1", replicas=replicas)
    cluster.run(before)  # fail it at any moment, converged or not
    failed = f"node-{node}"
    cluster.fail_node(failed)
    evicted_by = 45 + 300 if flavor == "kubernetes" else 25
    cluster.run(evicted_by + 5)
    for _ in range(60):
        cluster.run(5)
        on_failed = cluster.state().replicas_on(failed)
        assert not [r for r in on_failed if r.phase in ("running", "pending") or r.ready], on_failed
    status = web.status()
    assert status.ready == status.desired == replicas
    assert sum(1 for r in web.replicas() if r.phase == "running" and r.node != failed) == replicas


# -- determinism --------------------------------------------------------------------------------------
def story(flavor: str, seed: int, replicas: int, ops) -> tuple:
    cluster = labkit.connect("sim", flavor=flavor, nodes=3, seed=seed)
    web = cluster.deploy("web", "web-server:1", replicas=replicas)
    play(cluster, web, ops)
    cluster.run(30)
    state = cluster.state()
    return tuple(cluster.events()), state.replicas, state.time


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(flavor=st.sampled_from(["kubernetes", "swarm", "docker"]), replicas=st.integers(1, 8),
       ops=st.lists(st.one_of(operation("any")), max_size=6), seed=st.integers(0, 10_000))
def test_the_same_seed_gives_the_same_event_log(flavor, replicas, ops, seed):
    if flavor == "docker":  # one host: node ops name nodes it does not have
        ops = [(op, arg) for op, arg in ops if op in ("scale", "kill", "run")]
    first = story(flavor, seed, replicas, ops)
    again = story(flavor, seed, replicas, ops)
    assert first == again
    other = story(flavor, seed + 1, replicas, ops)
    assert other[0] != first[0]  # generated names and pull/start timings come from the seed


def test_reset_starts_the_same_story_again():
    cluster = labkit.connect("sim", nodes=3, seed=4)
    web = cluster.deploy("web", "web-server:1", replicas=5)
    cluster.wait()
    web.update("web-server:2")
    cluster.wait()
    first = tuple(cluster.events())
    cluster.reset()
    assert cluster.state().workloads == () and cluster.now() == 0
    web = cluster.deploy("web", "web-server:1", replicas=5)
    cluster.wait()
    web.update("web-server:2")
    cluster.wait()
    assert tuple(cluster.events()) == first
