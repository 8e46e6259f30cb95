"""The simulator's swarm flavor: services, tasks in slots, rolling updates, managers and quorum.

Real defaults checked: update parallelism 1 (0 = all at once), delay 0 s,
monitor 5 s (a failure-watch window, not a pause between slots), failure action pause (or rollback / continue), max failure
ratio 0, order stop-first (or start-first); rollback with the same
defaults; a failed task is replaced in its slot after a 5 s restart delay;
task history 5 per slot; losing the managers' quorum refuses every change
(`labkit.Unavailable`) while running tasks keep running.
"""
from __future__ import annotations

from collections import Counter

import pytest

import labkit
from labkit.backends.sim.api import SWARM_DEFAULTS
from labkit.backends.sim.orchestrator import RESTART_DELAY, TASK_HISTORY
from labkit.errors import NotFound, Refused, Unavailable

STEP = 0.1


def swarm(nodes: int = 3, managers: int = 1, seed: int = 1) -> labkit.Cluster:
    return labkit.connect("sim", flavor="swarm", nodes=nodes, managers=managers, seed=seed)


def service(cluster, name: str = "web"):
    return cluster.backend.api.items("services")[name]


def live(replicas) -> list:
    return [r for r in replicas if r.phase not in ("terminating", "failed", "succeeded")]


def serving(replicas) -> list:
    return [r for r in replicas if r.phase == "running" and r.ready]


def new_task_times(cluster, since: float, image: str) -> list[float]:
    """When the orchestrator created each task of `image` (from the event log)."""
    names = {r.name for r in cluster.state().replicas if r.image == image}
    names |= {p.name for p in cluster.backend.api.items("pods").values() if p.image == image}
    return sorted(e.time for e in cluster.events(since)
                  if e.reason == "TaskCreated" and e.object.removeprefix("task/") in names)


def step_until_done(cluster, name: str, check, timeout: float = 300) -> float:
    """Step `STEP` seconds at a time, calling check(replicas) each step, until the update finished."""
    start = cluster.now()
    while cluster.now() - start < timeout:
        cluster.run(STEP)
        state = cluster.state()
        check(state.replicas_of(name))
        status = state.workload(name)
        if status.rollout == "complete" and state.converged and service(cluster, name).update_state.endswith(
                "completed"):
            return cluster.now() - start
    raise AssertionError(f"update did not finish: {cluster.state().workload(name)}")


def deployed(cluster, replicas: int = 4, image: str = "web-server:1", **options):
    web = cluster.deploy("web", image, replicas=replicas, **options)
    cluster.wait()
    return web


# -- defaults ------------------------------------------------------------------------------
def test_swarm_update_defaults_are_dockers():
    assert SWARM_DEFAULTS == {"parallelism": 1, "delay": 0.0, "failure_action": "pause", "monitor": 5.0,
                              "max_failure_ratio": 0.0, "order": "stop-first"}
    assert (RESTART_DELAY, TASK_HISTORY) == (5.0, 5)
    cluster = swarm()
    web = deployed(cluster)
    svc = service(cluster)
    assert svc.update_config == SWARM_DEFAULTS and svc.rollback_config == SWARM_DEFAULTS
    status = web.status()
    assert status.kind == "service" and status.strategy == "stop-first"
    assert (status.max_surge, status.max_unavailable) == (0, 1)


def test_task_names_are_service_slot_id():
    cluster = swarm()
    web = deployed(cluster, replicas=3)
    slots = sorted(r.name.split(".")[1] for r in web.replicas())
    assert slots == ["1", "2", "3"]
    assert all(r.name.startswith("web.") and len(r.name.split(".")[2]) == 10 for r in web.replicas())


# -- rolling updates -------------------------------------------------------------------------
def running_times(cluster, since: float, image: str) -> list[float]:
    """When each task of `image` first ran (its Started event)."""
    names = {p.name for p in cluster.backend.api.items("pods").values() if p.image == image}
    names |= {r.name for r in cluster.state().replicas if r.image == image}
    first: dict[str, float] = {}
    for e in cluster.events(since):
        if e.reason == "Started" and e.object.removeprefix("task/") in names:
            first.setdefault(e.object, e.time)
    return sorted(first.values())


def test_default_update_takes_the_next_slot_as_soon_as_the_new_task_runs():
    """SwarmKit's updater (moby/swarmkit, manager/orchestrator/update/updater.go: Run, worker,
    updateTask): one worker (parallelism 1); stop-first shuts the old task down and starts the new
    one once it stopped; the worker takes the next slot as soon as the new task is RUNNING (plus
    --update-delay, default 0); the update completes one --update-monitor (5 s) after the last
    slot. Measured against the real playground in tests/test_fidelity.py."""
    cluster = swarm()
    web = deployed(cluster, replicas=4)
    start = cluster.now()
    web.update("web-server:2")

    def check(replicas):
        assert len(live(replicas)) <= 4  # stop-first: never more than the replicas
        assert len(serving(replicas)) >= 3  # parallelism 1: at most one slot down

    took = step_until_done(cluster, "web", check)
    created, ran = new_task_times(cluster, start, "web-server:2"), running_times(cluster, start, "web-server:2")
    assert len(created) == len(ran) == 4
    assert all(ran[k] <= created[k + 1] < ran[k] + 2.5 for k in range(3))  # next slot once the last one runs
    (done,) = [e.time for e in cluster.events(start) if e.reason == "UpdateCompleted"]
    assert 5.0 <= done - ran[-1] <= 5.5  # the monitor period, once, at the end
    assert 7 <= took <= 16
    assert Counter(r.image for r in live(web.replicas())) == Counter({"web-server:2": 4})


def test_parallelism_zero_updates_every_task_at_once():
    cluster = swarm()
    web = deployed(cluster, replicas=6)
    start = cluster.now()
    web.update("web-server:2", parallelism=0)
    took = step_until_done(cluster, "web", lambda replicas: None)
    created = new_task_times(cluster, start, "web-server:2")
    assert len(created) == 6 and created[-1] - created[0] <= 1.1  # each once its old task stopped (0.3-1 s)
    assert took < 10


def test_parallelism_two_updates_two_slots_at_a_time():
    """Two workers, each on its own: never more than two slots out of service, and about half the
    time of one worker."""
    one, two = swarm(), swarm()
    for cluster, parallelism in ((one, 1), (two, 2)):
        web = deployed(cluster, replicas=6)
        web.update("web-server:2", parallelism=parallelism)
    took_one = step_until_done(one, "web", lambda replicas: None)
    took_two = step_until_done(two, "web", lambda replicas: len(serving(replicas)) >= 4 or pytest.fail("3 down"))
    assert took_two - 5 < 0.75 * (took_one - 5)  # the monitor period at the end is the same


def test_delay_waits_after_each_slot():
    cluster = swarm()
    web = deployed(cluster, replicas=3)
    start = cluster.now()
    web.update("web-server:2", delay=10)
    took = step_until_done(cluster, "web", lambda replicas: None)
    created, ran = new_task_times(cluster, start, "web-server:2"), running_times(cluster, start, "web-server:2")
    assert all(created[k + 1] - ran[k] >= 10 for k in range(2))  # --update-delay after each new task runs
    assert took >= 3 * 10 + 5 - 10  # the worker also waits after the last slot, then the monitor


def test_monitor_sets_the_watch_time():
    cluster = swarm()
    web = deployed(cluster, replicas=3)
    start = cluster.now()
    web.update("web-server:2", monitor=1)
    took = step_until_done(cluster, "web", lambda replicas: None)
    assert took < 3 * 5
    created = new_task_times(cluster, start, "web-server:2")
    assert all(1 <= b - a < 5 for a, b in zip(created, created[1:]))


def test_stop_first_never_runs_more_than_the_replicas():
    cluster = swarm()
    web = deployed(cluster, replicas=4)
    web.update("web-server:2", order="stop-first")
    seen_down = []

    def check(replicas):
        assert len(live(replicas)) <= 4
        seen_down.append(len(serving(replicas)) < 4)

    step_until_done(cluster, "web", check)
    assert any(seen_down)  # stop-first does cost a replica for a moment


def test_start_first_starts_the_new_task_before_stopping_the_old():
    cluster = swarm()
    web = deployed(cluster, replicas=4)
    web.update("web-server:2", order="start-first")
    seen_extra = []

    def check(replicas):
        assert len(serving(replicas)) >= 4
        seen_extra.append(len(live(replicas)) > 4)

    step_until_done(cluster, "web", check)
    assert any(seen_extra)
    assert web.status().strategy == "start-first"


def test_start_first_keeps_the_old_task_running_until_the_new_one_is_up():
    """What can be checked today: inside the simulator the old task does keep running."""
    cluster = swarm()
    web = deployed(cluster, replicas=2)
    web.update("web-server:2", order="start-first")
    pods = cluster.backend.api.items("pods")
    for _ in range(300):
        cluster.run(STEP)
        running = [p for p in pods.values() if p.container_up]
        assert len(running) >= 2
        if web.status().rollout == "complete":
            break
    assert {p.image for p in pods.values() if p.container_up} == {"web-server:2"}


# -- failures during an update -----------------------------------------------------------------
@pytest.mark.parametrize("image", ["no-such-image:1", "web-server:broken"])
def test_failure_action_pause_stops_the_update_after_the_first_failed_task(image):
    cluster = swarm()
    web = deployed(cluster, replicas=8)  # more slots than the updater reaches before the 5 s crash shows
    start = cluster.now()
    web.update(image)
    cluster.run(60)
    status = web.status()
    assert status.paused and status.rollout == "paused"
    assert "paused" in status.message
    assert service(cluster).update_state == "paused"
    (event,) = [e for e in cluster.events(start) if e.reason == "UpdatePaused"]
    assert event.type == "Warning"
    assert event.time - start < 5 + 5  # the first new task failed within its 5 s monitor
    cluster.run(120)  # and it stays paused: the slots not reached keep the old image
    kept = Counter(r.image for r in serving(web.replicas()))["web-server:1"]
    assert 1 <= kept < 8  # the worker moved on while the failure was not seen yet, as SwarmKit's does
    assert len(new_task_times(cluster, start, image)) >= 1


def test_failure_action_rollback_returns_to_the_previous_image():
    cluster = swarm()
    web = deployed(cluster, replicas=4)
    start = cluster.now()
    web.update("web-server:broken", failure_action="rollback")
    states = set()
    for _ in range(600):
        cluster.run(STEP)
        states.add(web.status().rollout)
        if service(cluster).update_state == "rollback_completed":
            break
    assert "rolling back" in states
    assert web.status().image == "web-server:1" and web.status().rollout == "complete"
    assert [e for e in cluster.events(start) if e.reason == "UpdateRollback"]
    cluster.wait(timeout=60)
    assert Counter(r.image for r in serving(web.replicas())) == Counter({"web-server:1": 4})


def test_failure_action_continue_goes_on_through_every_slot():
    cluster = swarm()
    web = deployed(cluster, replicas=3)
    start = cluster.now()
    web.update("web-server:broken", failure_action="continue")
    cluster.run(120)
    assert service(cluster).update_state == "completed"
    slots = {r.name.split(".")[1] for r in web.replicas() if r.image == "web-server:broken"}
    assert slots == {"1", "2", "3"}
    assert not [e for e in cluster.events(start) if e.reason in ("UpdatePaused", "UpdateRollback")]


def test_max_failure_ratio_tolerates_some_failures():
    cluster = swarm()
    web = deployed(cluster, replicas=4)
    web.update("web-server:broken", max_failure_ratio=1)
    cluster.run(120)
    assert service(cluster).update_state == "completed"


# -- rollback -------------------------------------------------------------------------------
def test_rollback_goes_back_to_the_previous_spec_one_task_at_a_time():
    cluster = swarm()
    web = deployed(cluster, replicas=3)
    web.update("web-server:2")
    cluster.wait(timeout=120)
    start = cluster.now()
    web.rollback()
    assert web.status().rollout == "rolling back"
    took = step_until_done(cluster, "web", lambda replicas: len(serving(replicas)) >= 2 or pytest.fail("2 down"))
    assert 5 + 2 <= took <= 16  # same defaults: one slot at a time, then the 5 s monitor
    assert web.status().image == "web-server:1"
    assert service(cluster).update_state == "rollback_completed"
    assert Counter(r.image for r in serving(web.replicas())) == Counter({"web-server:1": 3})
    assert len(new_task_times(cluster, start, "web-server:1")) == 3


def test_rollback_without_a_previous_spec_is_refused():
    cluster = swarm()
    web = deployed(cluster, replicas=2)
    before = cluster.state()
    with pytest.raises(NotFound) as info:
        web.rollback()
    assert info.value.hint and cluster.state() == before


def test_swarm_has_no_pause():
    cluster = swarm()
    web = deployed(cluster, replicas=2)
    with pytest.raises(Refused):
        web.pause()
    with pytest.raises(Refused):
        web.resume()


# -- restarts and task history -------------------------------------------------------------------
def test_a_failed_task_is_replaced_in_its_slot_after_5s():
    cluster = swarm()
    web = deployed(cluster, replicas=3)
    victim = sorted(r.name for r in web.replicas())[0]
    slot = victim.split(".")[1]
    start = cluster.now()
    cluster.kill_replica(victim)
    cluster.run(4.9)
    (current,) = [r for r in web.replicas() if r.name.split(".")[1] == slot]
    assert current.name == victim and current.phase == "failed"
    cluster.run(0.2)
    created = [e for e in cluster.events(start) if e.reason == "TaskCreated"]
    assert len(created) == 1 and created[0].time - start == pytest.approx(5.0)
    cluster.wait(timeout=30)
    (current,) = [r for r in web.replicas() if r.name.split(".")[1] == slot]
    assert current.name != victim and current.phase == "running" and current.restarts == 0


def _kill_slot(cluster, web, slot: str, times: int) -> None:
    for _ in range(times):
        (task,) = [r for r in web.replicas() if r.name.split(".")[1] == slot]
        cluster.kill_replica(task.name)
        cluster.run(RESTART_DELAY + 0.5)
        cluster.wait(timeout=30)


def test_task_history_keeps_5_tasks_per_slot():
    cluster = swarm()
    web = deployed(cluster, replicas=2)
    _kill_slot(cluster, web, "1", 8)
    svc = service(cluster)
    assert len(svc.slots[1]) == TASK_HISTORY
    assert sum(1 for p in cluster.backend.api.items("pods").values() if p.slot == 1) == TASK_HISTORY


def test_task_history_is_bounded_and_the_newest_task_is_current():
    cluster = swarm()
    web = cluster.deploy("web", "web-server:broken", replicas=2)  # crashes every ~3 s, replaced after 5 s
    pods = cluster.backend.api.items("pods")
    for _ in range(40):
        cluster.run(10)
        assert len(pods) <= 2 * (TASK_HISTORY + 1)
    created = sum(1 for e in cluster.events() if e.reason == "TaskCreated")
    assert created > 4 * 2 * TASK_HISTORY  # many more tasks were made than are kept
    svc = service(cluster)
    for slot, names in svc.slots.items():
        created = [pods[n].created for n in names if n in pods]
        assert created == sorted(created)
    shown = {r.name for r in web.replicas()}
    assert shown == {names[-1] for names in svc.slots.values()}


# -- managers and quorum ---------------------------------------------------------------------------
def test_managers_and_workers_and_join_tokens():
    cluster = swarm(nodes=5, managers=3)
    roles = Counter(n.role for n in cluster.state().nodes)
    assert roles == Counter({"manager": 3, "worker": 2})
    def tokens(c) -> dict[str, str]:
        return {role: c.backend.join_token(role) for role in ("worker", "manager")}
    mine = tokens(cluster)
    assert all(t.startswith("SWMTKN-1-") for t in mine.values()) and mine["worker"] != mine["manager"]
    assert tokens(swarm(nodes=5, managers=3)) == mine  # same seed, same tokens
    assert tokens(swarm(nodes=5, managers=3, seed=2)) != mine
    assert cluster.state().swarm.leader == "node-1"
    managers = [c for c in cluster.state().components if c.name == "manager"]
    assert sorted(c.node for c in managers) == ["node-1", "node-2", "node-3"]


def test_losing_one_manager_of_three_keeps_the_quorum():
    cluster = swarm(nodes=5, managers=3)
    web = deployed(cluster, replicas=5)
    cluster.fail_node("node-1")
    web.scale(6)
    cluster.wait(timeout=120)
    assert web.status().ready == 6


def test_losing_the_quorum_blocks_changes_but_tasks_keep_running():
    cluster = swarm(nodes=5, managers=3)
    web = deployed(cluster, replicas=5)
    cluster.fail_node("node-1")
    cluster.fail_node("node-2")
    survivors = {r.name for r in cluster.state().replicas
                 if r.node in ("node-3", "node-4", "node-5") and r.phase == "running"}
    assert survivors
    before = cluster.state()
    changes = [lambda: web.scale(3), lambda: web.update("web-server:2"), lambda: web.rollback(),
               lambda: cluster.deploy("other", "web-server:1"), lambda: web.delete(),
               lambda: cluster.drain("node-4")]
    for change in changes:
        with pytest.raises(Unavailable) as info:
            change()
        assert "leader" in info.value.message and info.value.hint
    assert cluster.state() == before
    start = cluster.now()
    cluster.run(120)
    state = cluster.state()
    still = {r.name for r in state.replicas if r.phase == "running" and r.ready}
    assert survivors <= still  # running tasks keep running
    assert not [e for e in cluster.events(start) if e.reason == "TaskCreated"]  # but nothing is rescheduled
    cluster.recover_node("node-2")
    web.scale(3)
    cluster.run(30)  # with a leader again, the managers notice node-1 is gone and reschedule its task
    cluster.wait(timeout=120)
    assert cluster.state().node("node-1").status == "Down"
    assert web.status().ready == 3
    assert all(r.node != "node-1" for r in serving(web.replicas()))


def test_a_single_manager_swarm_loses_its_quorum_with_its_manager():
    cluster = swarm(nodes=3, managers=1)
    web = deployed(cluster, replicas=3)
    cluster.fail_node("node-1")
    with pytest.raises(Unavailable):
        web.scale(5)
    cluster.recover_node("node-1")
    web.scale(5)
    cluster.wait(timeout=120)
    assert web.status().ready == 5


def test_a_joined_manager_counts_for_the_quorum():
    cluster = swarm(nodes=2, managers=1)
    web = deployed(cluster, replicas=2)
    cluster.add_node(role="manager")
    cluster.add_node(role="manager")
    cluster.fail_node("node-1")  # one of three managers
    web.scale(3)
    cluster.wait(timeout=120)
    assert web.status().ready == 3


# -- nodes -------------------------------------------------------------------------------------------
def test_tasks_of_a_failed_node_are_rescheduled_on_the_others():
    cluster = swarm(nodes=3)
    web = deployed(cluster, replicas=6)
    cluster.fail_node("node-3")
    cluster.run(60)
    cluster.wait(timeout=60)
    state = cluster.state()
    assert state.node("node-3").status == "Down"
    assert len(serving(web.replicas())) == 6
    assert all(r.node != "node-3" for r in serving(web.replicas()))
    cluster.run(300)
    assert not [r for r in state.replicas_on("node-3") if r.phase == "running" and r.ready]


def test_drain_moves_tasks_and_shows_in_the_node_status():
    cluster = swarm(nodes=3)
    web = deployed(cluster, replicas=6)
    cluster.drain("node-2")
    cluster.wait(timeout=60)
    state = cluster.state()
    assert state.node("node-2").status == "Ready (drain)"
    assert Counter(r.node for r in serving(web.replicas())) == Counter({"node-1": 3, "node-3": 3})
    cluster.uncordon("node-2")
    assert cluster.state().node("node-2").status == "Ready"


def test_rollback_of_an_update_paused_by_a_failure():
    cluster = swarm()
    web = deployed(cluster, replicas=4)
    web.update("web-server:broken")
    cluster.run(60)
    assert web.status().rollout == "paused"
    web.rollback()
    cluster.run(60)
    cluster.wait(timeout=120)
    status = web.status()
    assert status.image == "web-server:1" and status.rollout == "complete"
    assert Counter(r.image for r in serving(web.replicas())) == Counter({"web-server:1": 4})


def test_a_task_that_dies_without_a_leader_is_replaced_once_the_leader_is_back():
    cluster = swarm(nodes=6, managers=5)
    web = deployed(cluster, replicas=2)  # on node-1 and node-2
    assert Counter(r.node for r in web.replicas()) == Counter({"node-1": 1, "node-2": 1})
    for node in ("node-3", "node-4", "node-5"):  # three of five managers, none running a task
        cluster.fail_node(node)
    (victim,) = [r.name for r in web.replicas() if r.node == "node-1"]
    cluster.kill_replica(victim)
    cluster.run(2)
    for node in ("node-3", "node-4", "node-5"):
        cluster.recover_node(node)
    cluster.run(60)
    assert web.status().ready == 2
    assert victim not in {r.name for r in serving(web.replicas())}
