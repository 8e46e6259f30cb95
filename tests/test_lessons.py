"""The lessons' exercise checks: each fails with a helpful hint before the exercise is done,
and passes after it, on the simulator. Also the Mesos offer model the last lesson uses."""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

import labkit as lk
from labkit import console, lessons
from labkit.errors import NotFound
from labkit.lessons import editions, mesos

import test_lessons_rollbacks_canaries as rollbacks_canaries  # 04.rollback's tests (a module: not collected twice)


def failing(result, *words: str) -> None:
    """A check that did not pass, saying each of `words` somewhere, and where its hints are (not
    a hint itself: those are shown on demand, by lab.hint)."""
    assert not result and not result.passed
    text = str(result)
    assert text.startswith(f"✘ {result.id}: not yet.")
    assert result.hints and f'lab.hint("{result.id}")' in text
    number = result.id.split(".")[0]
    exercise = lessons.lab(number).exercise(result.id) if number in lessons.MODULES else None
    for tier in exercise.hints if exercise else ():
        assert tier not in text, f"a hint in the check's report:\n{text}"
    for word in words:
        assert word in text, f"{word!r} not in:\n{text}"


def passing(result) -> None:
    assert result, str(result)
    assert str(result).startswith(f"✔ {result.id}: passed.")


# -- the framework --------------------------------------------------------------------------
def test_every_lesson_has_at_least_two_exercises_with_hints():
    for number in lessons.MODULES:
        lab = lessons.lab(number)
        assert len(lab.exercises) >= 2, number
        for exercise in lab.exercises.values():
            assert exercise.task and 1 <= len(exercise.hints) <= 3 and all(exercise.hints)
        assert repr(lab).startswith(f"Lesson {number} · ")


def test_lab_accepts_numbers_and_ids_and_refuses_unknown_ones():
    assert lessons.lab(2).number == lessons.lab("02").number == "02"
    with pytest.raises(NotFound, match="no exercises for lesson"):
        lessons.lab("42")
    with pytest.raises(NotFound, match="has no exercise 'nope'"):
        lessons.lab("02").check("nope", lk.connect(flavor="swarm"))
    with pytest.raises(NotFound, match="not an exercise id"):
        lessons.check("02", None)
    assert lessons.lab("02").exercise("02.drain").name == "drain"


def test_a_labkit_error_inside_a_check_is_a_problem_not_a_crash():
    lab = lessons.Lab("99", "test", [lessons.Exercise("x", "task", "a hint", lambda c: c.workload("nope") and [])])
    result = lab.check("x", lk.connect(nodes=1))
    failing(result, "the cluster said: no workload named 'nope'")


def test_a_check_called_wrongly_says_how():
    result = lessons.check("00.hello")  # no cluster given
    failing(result, "called differently")


# -- 00 ----------------------------------------------------------------------------------------
def test_00_hello_and_heal():
    cluster = lk.connect(nodes=3)
    failing(lessons.check("00.hello", cluster), "no workload named 'hello-minikube'")
    hello = cluster.deploy("hello-minikube", image="hello-minikube", replicas=1)
    cluster.wait()
    failing(lessons.check("00.hello", cluster), "asks for 1 replica, not 2")
    other = lk.connect(nodes=3)
    other.deploy("hello-minikube", image="web-server:1", replicas=2)
    other.wait()
    failing(lessons.check("00.hello", other), "runs image web-server:1, not hello-minikube")
    hello.scale(2)
    cluster.wait()
    passing(lessons.check("00.hello", cluster))

    hello.scale(4)
    cluster.wait()
    failing(lessons.check("00.heal", cluster), "none of hello-minikube's replicas was killed")
    cluster.kill_replica(hello.replicas()[0].name)
    cluster.wait()
    passing(lessons.check("00.heal", cluster))


# -- 01 ----------------------------------------------------------------------------------------
def test_01_restart_and_self_heal():
    lab = lessons.lab("01")
    host = lk.connect(flavor="docker")
    failing(lab.check("restart", host), "no container named survivor")
    host.run_container("web-server:1", name="survivor")
    host.run(5)
    host.kill_replica("survivor")
    host.run(10)
    failing(lab.check("restart", host), "never been restarted", "restart policy")
    host.remove_container("survivor")
    host.run(2)
    host.run_container("web-server:1", name="survivor", restart="always")
    host.run(5)
    host.kill_replica("survivor")
    host.run(10)
    passing(lab.check("restart", host))

    cluster = lk.connect(nodes=3)
    cluster.deploy("shop", image="web-server:1", replicas=4)
    cluster.wait()
    failing(lab.check("self-heal", cluster), "no node is down")
    cluster.fail_node("node-1")
    cluster.run(60)
    failing(lab.check("self-heal", cluster), "of 4 replicas of shop")
    cluster.run(340)
    passing(lab.check("self-heal", cluster))


# -- 02 ----------------------------------------------------------------------------------------
def test_02_service_and_drain():
    lab = lessons.lab("02")
    swarm = lk.connect(flavor="swarm", nodes=1)
    assert lab.join_token(swarm).startswith("SWMTKN-1-")
    lab.join(swarm)
    lab.join(swarm)
    failing(lab.check("service", swarm), "3 working nodes, not 4", "no workload named 'api'")
    lab.join(swarm)
    swarm.deploy("api", image="web-server:1", replicas=3)
    swarm.wait()
    failing(lab.check("service", swarm), "asks for 3 replicas, not 8")
    swarm.workload("api").scale(8)
    swarm.wait()
    passing(lab.check("service", swarm))

    failing(lab.check("drain", swarm), "node-2 still accepts tasks", "tasks still run on node-2")
    swarm.drain("node-2")
    swarm.wait()
    passing(lab.check("drain", swarm))
    assert "Drain" in str(lab.node_ls(swarm))


def test_02_drain_refuses_a_node_switched_off():
    lab = lessons.lab("02")
    swarm = lk.connect(flavor="swarm", nodes=4)
    swarm.deploy("api", image="web-server:1", replicas=8)
    swarm.wait()
    swarm.fail_node("node-2")  # the wrong attempt: the machine is gone, its tasks were not moved first
    swarm.run(30)
    failing(lab.check("drain", swarm), "node-2 still accepts tasks")


def test_02_service_reset_switches_every_node_on_again_and_removes_api():
    """A node switched off (by an earlier cell, or a try) would leave 02.service short of four working
    nodes whatever the student does: its reset switches it on again, as it removes `api`."""
    lab = lessons.lab("02")
    swarm = console.use(lk.connect(flavor="swarm", nodes=4))
    console.run("docker service create -d --name api --replicas 8 web-server:1")
    swarm.wait()
    swarm.fail_node("node-3")
    swarm.run(20)
    failing(lab.check("service", swarm), "the swarm has 3 working nodes, not 4")
    assert str(lab.reset("service", swarm)) == ("↺ 02.service: back at its start (node-3 switched on again, "
                                                "removed the service api)")
    assert "Down" not in console.run("docker node ls") and console.run("docker service ls -q") == ""
    console.run("docker service create -d --name api --replicas 8 web-server:1")
    swarm.wait()
    passing(lab.check("service", swarm))
    assert str(lab.reset("service", swarm)).endswith("(removed the service api)")
    console.forget()


# -- 02b ---------------------------------------------------------------------------------------
def test_02b_quorum():
    lab = lessons.lab("02b")
    small = lk.connect(flavor="swarm", nodes=5, managers=3)
    web = small.deploy("web", image="web-server:1", replicas=2)
    small.wait()
    small.fail_node("node-1")
    small.fail_node("node-2")
    small.run(20)
    failing(lab.check("quorum", small), "lost its quorum")

    early = lk.connect(flavor="swarm", nodes=5, managers=5)  # the wrong order: scaled, then failed
    early.deploy("web", image="web-server:1", replicas=2)
    early.wait()
    early.workload("web").scale(4)
    early.wait()
    early.fail_node("node-1")
    early.fail_node("node-2")
    early.run(20)
    failing(lab.check("quorum", early), "scaled to 4 before the managers failed")

    ha5 = lk.connect(flavor="swarm", nodes=5, managers=5)
    web = ha5.deploy("web", image="web-server:1", replicas=2)
    ha5.wait()
    failing(lab.check("quorum", ha5), "0 managers are down, not 2")
    ha5.fail_node("node-1")
    ha5.fail_node("node-2")
    ha5.run(20)
    web.scale(4)
    ha5.wait()
    passing(lab.check("quorum", ha5))


# -- 03 ----------------------------------------------------------------------------------------
def test_03_capacity_and_drain():
    lab = lessons.lab("03")
    k8s = lk.connect(nodes=20)
    web = k8s.deploy("my-web-server", image="my-web-server", replicas=2500)
    k8s.run(30)
    failing(lab.check("capacity", k8s), "are Pending", "about 23 workers are needed")
    for _ in range(3):
        k8s.add_node()
    k8s.wait()
    passing(lab.check("capacity", k8s))

    failing(lab.check("drain", k8s), "node-5 is still schedulable")
    k8s.drain("node-5")
    k8s.run(30)
    failing(lab.check("drain", k8s), "Pending")
    k8s.add_node()
    k8s.wait()
    passing(lab.check("drain", k8s))
    assert "node-24" in str(lab.get_nodes(k8s))


@pytest.mark.parametrize("nodes, expected", [(20, (1000, 2000, 2500, "node-5")), (3, (150, 300, 375, "node-3")),
                                             (1, (50, 100, 125, "node-1"))])
def test_03_reads_the_size_of_the_cluster_once(nodes, expected):
    """The notes' numbers on 20 workers; as many a worker on a smaller cluster (a served one, minikube)."""
    lab = lessons.lab("03")
    k8s = lk.connect(nodes=nodes)
    size = lab.sizes(k8s)
    assert (size.workers, size.first, size.more, size.target, size.drain) == (nodes, *expected)
    k8s.add_node()
    assert lab.sizes(k8s) is size  # the target does not move when the exercise adds nodes
    assert lab.sizes(lk.connect(nodes=nodes + 1)).workers == nodes + 1


# -- 04 ----------------------------------------------------------------------------------------
def test_04_zero_downtime_fails_with_the_default_strategy():
    lab = lessons.lab("04")
    k8s = lk.connect(nodes=4)
    failing(lab.check("zero-downtime", k8s), "no workload named 'shop'")
    shop = k8s.deploy("shop", image="web-server:2", replicas=8)
    k8s.wait()
    failing(lab.check("zero-downtime", k8s), "never ran web-server:1")
    shop.delete()
    shop = k8s.deploy("shop", image="web-server:1", replicas=8)
    k8s.wait()
    failing(lab.check("zero-downtime", k8s), "runs image web-server:1, not web-server:2")
    shop.update("web-server:2")  # 25 % unavailable allowed
    k8s.wait()
    failing(lab.check("zero-downtime", k8s), "only 6 of 8 replicas were available")
    assert lab.last_rollout(k8s, "shop").fewest_available == 6


def test_04_zero_downtime_then_04b_canary():
    """04b.canary starts where 04.zero-downtime ends: done there, on the same cluster, it goes on."""
    lab = lessons.lab("04")
    k8s = lk.connect(nodes=4)
    shop = k8s.deploy("shop", image="web-server:1", replicas=8)
    k8s.wait()
    shop.update("web-server:2", max_surge=2, max_unavailable=0)
    k8s.wait()
    passing(lab.check("zero-downtime", k8s))
    assert "8/8" in str(lab.compare(k8s, ["shop"]))

    lab = lessons.lab("04b")
    failing(lab.check("canary", k8s), "shop never had a canary")
    shop.canary("web-server:broken", percent=25)
    k8s.run(60)
    assert lab.by_image(k8s, "shop") == {"web-server:2": 6}  # the two canaries crash-loop
    failing(lab.check("canary", k8s), "shop-canary still exists")
    shop.abort()
    k8s.wait()
    passing(lab.check("canary", k8s))


def test_04_a_wrong_attempt_names_lab_reset_which_starts_the_exercise_again():
    """After a wrong attempt shop already runs web-server:2: setting it again changes nothing, so the
    check says so and names lab.reset, which deletes shop; the right attempt then passes."""
    lab = lessons.lab("04")
    k8s = lk.connect(nodes=4)
    assert str(lab.reset("zero-downtime", k8s)).endswith("(there was no shop yet: nothing to undo)")
    shop = k8s.deploy("shop", image="web-server:1", replicas=8)
    k8s.wait()
    shop.update("web-server:2")  # the default strategy: 2 of 8 may be unavailable
    k8s.wait()
    result = lab.check("zero-downtime", k8s)
    failing(result, "only 6 of 8 replicas were available", "setting that image again changes nothing",
            'start over: lab.reset("04.zero-downtime")')
    assert result.stuck
    assert str(lab.reset("zero-downtime")) == "↺ 04.zero-downtime: back at its start (deleted shop)"  # its cluster
    assert k8s.state().workload("shop") is None
    shop = k8s.deploy("shop", image="web-server:1", replicas=8)
    k8s.wait()
    shop.update("web-server:2", max_surge=2, max_unavailable=0)
    k8s.wait()
    passing(lab.check("zero-downtime", k8s))


def test_04b_canary_reset_puts_shop_back_and_forgets_the_canaries_before_it():
    lab = lessons.lab("04b")
    k8s = lk.connect(nodes=4)
    reset = lab.reset("canary", k8s)  # a fresh cluster: the reset makes the shop 04.zero-downtime leaves
    assert reset and str(reset) == ("↺ 04b.canary: back at its start (made shop: 8 replicas of web-server:1, "
                                    "updated to web-server:2)")
    shop = k8s.workload("shop")
    shop.canary("web-server:broken", percent=25)
    k8s.run(60)
    shop.promote()  # the wrong end: the broken image everywhere
    k8s.wait()
    result = lab.check("canary", k8s)
    failing(result, "shop runs image web-server:broken, not web-server:2", 'lab.reset("04b.canary")')
    assert str(lab.reset("canary")) == "↺ 04b.canary: back at its start (shop back on web-server:2)"
    failing(lab.check("canary", k8s), "shop never had a canary")  # the canary before the reset does not count
    shop.canary("web-server:broken", percent=50)
    k8s.run(30)
    failing(lab.check("canary", k8s), "shop-canary runs web-server:broken on 4 replica(s)", "lab.reset")
    shop.abort()
    k8s.wait()
    shop.canary("web-server:broken", percent=25)
    k8s.run(60)
    shop.abort()
    k8s.wait()
    passing(lab.check("canary", k8s))


def test_04b_no_lost_requests_reset_deletes_store_and_its_service():
    lab = lessons.lab("04b")
    site = lk.connect("sim", flavor="kubernetes", nodes=4)
    for attempt in ({}, {"max_surge": 1, "max_unavailable": 0, "readiness": True},
                    {"max_surge": 1, "max_unavailable": 0, "readiness": True, "pre_stop": 5}):
        lab.reset("no-lost-requests", site)
        store = site.deploy("store", image="web-server:1", replicas=6, **attempt)
        site.wait()
        site.expose("store", port=8080)  # a second time: the reset took the Service away too
        site.traffic("store", rate=20, seconds=60)
        store.update("web-server:2")
        site.run(60)
        result = lab.check("no-lost-requests", site)
        if not attempt:
            failing(result, "counted as ready before they listened", 'lab.reset("04b.no-lost-requests")')
        elif "pre_stop" not in attempt:  # the probe alone: the race of a stopping pod
            failing(result, "went to old replicas already told to stop", "after their SIGTERM")
            assert "counted as ready" not in str(result)
    passing(result)


def test_an_exercise_without_a_reset_says_its_cell_can_run_again(monkeypatch):
    with pytest.raises(NotFound, match="has nothing to reset"):
        lessons.lab("00").reset("heal", lk.connect(nodes=1))
    monkeypatch.setattr(lessons, "_checked", {})
    with pytest.raises(NotFound, match="which cluster"):
        lessons.reset("04b.no-lost-requests")  # neither checked nor reset yet: no cluster known


def test_05_trace_shows_the_deployment_controllers_words():
    """Upstream's deployment controller (pkg/controller/deployment/sync.go) says from how many to
    how many: "Scaled up replica set web-xxx from 3 to 5"."""
    lab = lessons.lab("05")
    k8s = lk.connect("sim", nodes=3)
    web = k8s.deploy("web", image="web-server:1", replicas=3)
    k8s.wait()
    start = k8s.now()
    web.scale(5)
    k8s.wait()
    web.scale(2)
    k8s.wait()
    text = str(lab.trace(k8s, since=start))
    assert re.search(r"Scaled up replica set web-\w+ from 3 to 5", text), text
    assert re.search(r"Scaled down replica set web-\w+ from 5 to 2", text), text


def test_07_race_after_a_slow_update_names_lab_reset_and_starts_again():
    lab = lessons.lab("07")
    kube = lk.connect(flavor="kubernetes", nodes=3)
    swarm = lk.connect(flavor="swarm", nodes=3, name="race")
    for cluster in (kube, swarm):
        cluster.deploy("web", image="web-server:1", replicas=6)
        cluster.wait()
    for cluster in (kube, swarm):
        cluster.workload("web").update("web-server:2")  # Swarm's default: one task at a time, too slow
        cluster.wait()
    failing(lab.check("race", kube, swarm), "make it take 12 s or less", 'lab.reset("07.race")')
    assert str(lab.reset("race")).startswith("↺ 07.race: back at its start (web back on web-server:1 on kubernetes")
    kube.workload("web").update("web-server:2")
    swarm.workload("web").update("web-server:2", parallelism=2)
    for cluster in (kube, swarm):
        cluster.wait()
    passing(lab.check("race", kube, swarm))


def test_a_snapshot_shows_as_one_line_of_counts():
    k8s = lk.connect(nodes=3)
    k8s.deploy("web", image="web-server:1", replicas=3)
    text = repr(k8s.wait())
    assert "\n" not in text and len(text) < 160, text
    assert text.startswith("<ClusterState sim/kubernetes at t=") and "4/4 nodes ready, 1 workloads, " \
           "3/3 replicas ready, converged>" in text


# -- 05 ----------------------------------------------------------------------------------------
def test_05_path():
    lab = lessons.lab("05")
    k8s = lk.connect(nodes=3)
    web = k8s.deploy("web", image="web-server:1", replicas=3)
    k8s.wait()
    web.scale(8)
    k8s.wait()
    failing(lab.check("path", k8s), "never stopped at its last step")  # scaled, nothing stopped
    k8s.stop_component("scheduler")  # the wrong attempt: the request stops one step earlier
    web.scale(9)
    k8s.run(10)
    k8s.start_component("scheduler")
    web.scale(8)
    k8s.wait()
    failing(lab.check("path", k8s), "never stopped at its last step")
    k8s.stop_component("kubelet", node="node-2")
    web.scale(3)
    k8s.wait()
    web.scale(8)  # a new pod lands on node-2 (still Ready) and waits there
    k8s.run(10)
    assert any(r.node == "node-2" and r.phase == "pending" for r in k8s.state().replicas_of("web"))
    failing(lab.check("path", k8s), "still stopped: kubelet on node-2")
    k8s.start_component("kubelet", node="node-2")
    k8s.wait()
    passing(lab.check("path", k8s))


def mystery(seed: str):
    """A lesson-05 cluster with the mystery outage of student `seed`, and what stopped."""
    lab = lessons.lab("05")
    k8s = lk.connect(nodes=3)
    k8s.deploy("web", image="web-server:1", replicas=4)
    k8s.wait()
    lab.mystery_outage(k8s, seed=seed)
    return lab, k8s, next(c.name for c in k8s.state().components if not c.running)


def test_05_mystery_is_each_students_own_and_hidden_from_the_tools():
    drawn = {mystery(f"student-{n}")[2] for n in range(12)}
    assert drawn == set(lessons.lab("05").SUSPECTS)
    lab, k8s, stopped = mystery("student-0")
    assert not any(e.object.startswith("component/") for e in k8s.events())  # no clue in the event log
    table = str(lab.components(k8s))
    assert "STOPPED" not in table and stopped in table and "?" in table


def test_05_mystery_wants_the_stopped_component_started_first():
    lab, k8s, stopped = mystery("student-x")
    failing(lab.check("mystery", lk.connect(nodes=1)), "no outage yet")
    untouched = lab.check("mystery", k8s)
    failing(untouched, "nothing has been started again", "the component that stopped is still stopped")
    assert stopped not in str(untouched)  # the check does not tell (its hints, shown on demand, name every suspect)
    for seed in ("a", "b", "c", "d", "e", "f"):
        lab, k8s, stopped = mystery(seed)
        wrong = next(name for name in lab.SUSPECTS if name != stopped)
        k8s.start_component(wrong)  # a guess: the wrong attempt
        k8s.start_component(stopped)
        k8s.workload("web").scale(10)
        k8s.wait()
        failing(lab.check("mystery", k8s), f"the first component you started was {wrong}")
    lab, k8s, stopped = mystery("student-x")
    k8s.start_component(stopped)
    k8s.workload("web").scale(10)
    k8s.wait()
    passing(lab.check("mystery", k8s))
    assert "STOPPED" not in str(lab.components(k8s)) and "?" not in str(lab.components(k8s))


# -- 06 ----------------------------------------------------------------------------------------
def test_06_two_nodes():
    lab = lessons.lab("06")
    k3 = lk.connect(nodes=3)
    k3.deploy("web", image="web-server:1", replicas=6)
    k3.wait()
    k3.fail_node("node-1")
    k3.run(60)
    failing(lab.check("two-nodes", k3), "1 nodes are down, not 2")
    k3.fail_node("node-2")
    k3.run(60)
    failing(lab.check("two-nodes", k3), "of 6 replicas of web are running")
    assert lab.time_to_heal(k3, "web", 6, avoid=("node-1", "node-2")) > 200
    passing(lab.check("two-nodes", k3))


def test_06_managers():
    lab = lessons.lab("06")
    one = lk.connect(flavor="swarm", nodes=3)
    failing(lab.check("managers", one), "1 manager(s)", "no manager is down")
    ha3 = lk.connect(flavor="swarm", nodes=4, managers=3)
    web = ha3.deploy("web", image="web-server:1", replicas=3)
    ha3.wait()
    ha3.fail_node("node-2")
    ha3.run(20)
    failing(lab.check("managers", ha3), "asks for 3 replicas, not 6")
    web.scale(6)
    ha3.wait()
    passing(lab.check("managers", ha3))
    ha3.fail_node("node-3")
    ha3.run(20)
    failing(lab.check("managers", ha3), "lost its quorum")

    early = lk.connect(flavor="swarm", nodes=4, managers=3)  # the wrong order: scaled, then failed
    early.deploy("web", image="web-server:1", replicas=6)
    early.wait()
    early.fail_node("node-2")
    early.run(20)
    failing(lab.check("managers", early), "scaled to 6 before the managers failed")


# -- 07 ----------------------------------------------------------------------------------------
def test_07_race():
    lab = lessons.lab("07")
    kube, swarm = lk.connect(nodes=3), lk.connect(flavor="swarm", nodes=3)
    for cluster in (kube, swarm):
        cluster.deploy("web", image="web-server:1", replicas=6)
        cluster.wait()
    failing(lab.check("race", kube, swarm), "kubernetes: web runs image web-server:1",
            "swarm: web runs image web-server:1")
    for cluster in (kube, swarm):
        cluster.workload("web").update("web-server:2")
        cluster.wait()
    failing(lab.check("race", kube, swarm), "make it take 12 s or less")
    swarm.workload("web").update("web-server:1", parallelism=6)
    swarm.wait()
    swarm.workload("web").update("web-server:2", parallelism=6)
    swarm.wait()
    failing(lab.check("race", kube, swarm), "keep at least 4")
    swarm.workload("web").update("web-server:1", parallelism=2)
    swarm.wait()
    swarm.workload("web").update("web-server:2", parallelism=2)
    swarm.wait()
    passing(lab.check("race", kube, swarm))


def test_07_heal_scenario_runs_the_same_on_both_flavors():
    lab = lessons.lab("07")
    kube, swarm = lk.connect(nodes=3), lk.connect(flavor="swarm", nodes=3)
    k, s = lab.heal_after_node_failure(kube), lab.heal_after_node_failure(swarm)
    assert s < 60 < 300 < k  # Swarm: a heartbeat grace period; Kubernetes: 50 s + 5 min eviction
    html = lab.side_by_side(kube, swarm)._repr_html_()
    assert html.count("labkit-cluster") == 2


def core_only(offer, pending):
    return mesos.first_fit(offer, pending) if ("zone", "core") in offer.attributes else []


def test_07_mesos_check():
    lab = lessons.lab("07")
    failing(lab.check("mesos"), "pass your function")
    failing(lab.check("mesos", accept=mesos.first_fit), "landed on edge-1")
    failing(lab.check("mesos", accept=lambda offer, pending: []), "6 jobs are still waiting")
    failing(lab.check("mesos", accept=lambda offer, pending: list(pending)), "asked for more than the offer held")
    passing(lab.check("mesos", accept=core_only))


# -- the Mesos model -----------------------------------------------------------------------------
def test_mesos_never_hands_out_more_than_an_agent_has():
    master = mesos.example().run()
    for agent in master.agents:
        assert 0 <= agent.used_cpus <= agent.cpus and 0 <= agent.used_mem <= agent.mem
    placed = [t for fw in master.frameworks for t in fw.running]
    assert len(placed) == len(set(placed)) == 10


def test_mesos_offers_go_to_the_smallest_dominant_share_first():
    agents = [mesos.Agent(f"a{i}", 2, 4096) for i in range(4)]
    big = mesos.Framework("big", mesos.tasks("b", 8, 1, 512))
    small = mesos.Framework("small", mesos.tasks("s", 8, 1, 512))
    master = mesos.Master(agents, [big, small])
    master.round()
    # each agent's offer goes to whichever framework holds less so far: they alternate
    assert [line.split("-> ")[1].split(":")[0] for line in master.log] == ["big", "small", "big", "small"]
    assert len(big.running) == len(small.running) == 4


def test_mesos_declined_offers_go_to_the_next_framework():
    master = mesos.example(core_only).run()
    assert "edge-1 4 cpu 8192 MiB -> analytics: declined" in master.log[0]
    assert "-> web: accepted" in master.log[1]
    assert not any(fw.pending for fw in master.frameworks)


def test_04b_no_lost_requests_refuses_recreate_and_traffic_that_missed_the_update():
    lab = lessons.lab("04b")
    site = lk.connect(nodes=4, seed=2)
    failing(lab.check("no-lost-requests", site), "no workload named 'store'")
    store = site.deploy("store", image="web-server:1", replicas=6, type="Recreate")
    site.wait()
    site.expose("store", port=8080)
    failing(lab.check("no-lost-requests", site), "no traffic was sent to store")
    site.traffic("store", rate=20, seconds=60)
    store.update("web-server:2")
    site.run(60)
    failing(lab.check("no-lost-requests", site), "requests failed")
    store.update("web-server:1", type="RollingUpdate", max_surge=1, max_unavailable=0)
    site.wait()
    site.run(3)
    site.traffic("store", rate=20, seconds=60)  # tried again: the latest attempt counts
    store.update("web-server:2")
    site.run(60)
    failing(lab.check("no-lost-requests", site), "counted as ready before they listened")
    store.delete()
    site.wait()
    store = site.deploy("store", image="web-server:1", replicas=6, max_surge=1, max_unavailable=0, readiness=True,
                        pre_stop=5)
    site.wait()
    site.traffic("store", rate=20, seconds=60)
    store.update("web-server:2")
    site.run(60)
    passing(lab.check("no-lost-requests", site))

    site = lk.connect(nodes=4, seed=2)
    store = site.deploy("store", image="web-server:1", replicas=6, max_surge=1, max_unavailable=0,
                        readiness=True, pre_stop=5)
    site.wait()
    site.expose("store", port=8080)
    store.update("web-server:2")
    site.wait()
    site.run(10)  # (the last old pod's preStop hook: it serves a few seconds more)
    site.traffic("store", rate=20, seconds=10)  # after the update: version 2 alone answers
    site.run(10)
    failing(lab.check("no-lost-requests", site), "did not cover the update")
    site.traffic("store", rate=20, seconds=60)
    store.update("web-server:1")
    site.wait()
    store.update("web-server:2")
    site.run(60)
    passing(lab.check("no-lost-requests", site))



def test_02b_healthy_update_wants_a_healthcheck():
    lab = lessons.lab("02b")
    mesh = console.use(lk.connect("sim", flavor="swarm", nodes=3, name="mesh"))
    failing(lab.check("healthy-update", mesh), "no workload named 'shop'")
    console.run("docker service create -d --name shop -p 8090:80 --replicas 4 web-server:1")
    mesh.wait()
    mesh.run(3)
    failing(lab.check("healthy-update", mesh), "no traffic was sent to shop")
    mesh.traffic("shop", rate=10, seconds=60)
    console.run("docker service update -d --image web-server:2 shop")
    mesh.run(60)
    failing(lab.check("healthy-update", mesh), "counted as ready before they listened")
    console.run("docker service rm shop")
    mesh.run(5)
    console.run('docker service create -d --name shop -p 8090:80 --replicas 4 --health-cmd '
                '"wget -q -O /dev/null http://127.0.0.1/ready" --health-interval 1s web-server:1')
    mesh.wait()
    mesh.traffic("shop", rate=10, seconds=60)
    console.run("docker service update -d --image web-server:2 shop")
    mesh.run(60)
    passing(lab.check("healthy-update", mesh))
    console.forget()


def test_02b_healthy_update_reset_switches_every_node_on_again_and_removes_shop():
    """The lesson switches mesh's node-3 off and on before the exercise (and node-1, its only manager):
    one left off would stop the routing mesh's traffic through it. The reset switches it on again."""
    lab = lessons.lab("02b")
    mesh = console.use(lk.connect("sim", flavor="swarm", nodes=3, name="mesh"))
    assert str(lab.reset("healthy-update", mesh)).endswith("(there was no shop yet: nothing to undo)")
    console.run("docker service create -d --name shop -p 8090:80 --replicas 4 web-server:1")
    mesh.wait()
    mesh.fail_node("node-3")
    mesh.run(20)
    assert "Down" in console.run("docker node ls")
    assert str(lab.reset("healthy-update", mesh)) == ("↺ 02b.healthy-update: back at its start (node-3 switched on "
                                                      "again, removed the service shop)")
    assert "Down" not in console.run("docker node ls") and "shop" not in console.run("docker service ls")
    console.forget()


def test_06_lost_requests_are_read_from_the_record():
    lab = lessons.lab("06")
    site = lk.connect("sim", flavor="kubernetes", nodes=3)
    failing(lab.check("lost-requests", site, lost=0), "no traffic was sent to web")
    site.deploy("web", image="web-server:1", replicas=6, readiness=True)
    site.wait()
    site.expose("web", port=8080)
    sent = site.traffic("web", rate=10, seconds=420)
    site.fail_node("node-2")
    site.run(420)
    noticed = next(e.time for e in site.events() if e.reason == "NodeNotReady")
    everything_before = sum(1 for r in sent.requests if r.time < noticed)  # the wrong count: answered ones too
    failing(lab.check("lost-requests", site, lost=everything_before), "the record says otherwise")
    failing(lab.check("lost-requests", site, lost="many"), "should be a whole number")
    failing(lab.check("lost-requests", site, lost=None), "set `lost` in the exercise's cell")
    lost = sum(1 for r in sent.requests if r.outcome != "ok" and r.time < noticed)
    assert 0 < lost < everything_before
    passing(lab.check("lost-requests", site, lost=lost))

# -- 08 ----------------------------------------------------------------------------------------
@pytest.fixture
def ticket():
    """lesson 08, and a fresh cluster (the console's) broken as one of its tickets says."""
    def open_ticket(name: str):
        lab = lessons.lab("08")
        k8s = console.use(lk.connect("sim", nodes=3))
        lab.incident(k8s, name)
        return lab, k8s

    yield open_ticket
    console.forget()


def test_08_crashloop_a_deleted_pod_comes_back_crashing(ticket):
    lab, k8s = ticket("crashloop")
    failing(lab.check("crashloop", k8s), "2 pod(s) of api still crash and restart", "CrashLoopBackOff")
    assert "error: DB_HOST is not set" in console.run("kubectl logs deploy/api --previous")
    console.run(f"kubectl delete pod {k8s.workload('api').replicas()[0].name}")  # the wrong attempt
    failing(lab.check("crashloop", k8s), "still crash and restart")
    console.run("kubectl set env deployment/api DB_HOST=db")
    console.run("kubectl rollout status deployment/api")
    passing(lab.check("crashloop", k8s))
    assert "api: using the database at db" in console.run("kubectl logs deploy/api")

    console.run("kubectl delete deployment api")  # gone is not fixed: start over
    result = lab.check("crashloop", k8s)
    failing(result, "there is no deployment api any more", 'lab.reset("08.crashloop")')
    assert result.stuck
    assert str(lab.reset("crashloop", k8s)).startswith("↺ 08.crashloop: back at its start")
    failing(lab.check("crashloop", k8s), "still crash and restart")


def test_08_image_a_restart_pulls_the_same_missing_tag(ticket):
    lab, k8s = ticket("image")
    failing(lab.check("image", k8s), "still wait for their image (ImagePullBackOff)")
    assert "nginx:1.999: not found" in console.run(f"kubectl describe pod {k8s.workload('web').replicas()[0].name}")
    console.run("kubectl rollout restart deployment/web")  # the wrong attempt
    k8s.run(30)
    failing(lab.check("image", k8s), "still wait for their image")
    with pytest.raises(lk.LabkitError, match='unable to find container named "web"'):
        console.run("kubectl set image deployment/web web=nginx:1.27")  # the container is nginx
    console.run("kubectl set image deployment/web nginx=nginx:1.27")
    console.run("kubectl rollout status deployment/web")
    passing(lab.check("image", k8s))


def test_08_service_a_hand_label_is_one_endpoint_and_either_real_fix_passes(ticket):
    lab, k8s = ticket("service")
    failing(lab.check("service", k8s), "the Service shop has no endpoint")
    console.run(f"kubectl label pod {k8s.workload('shop').replicas()[0].name} tier=frontend")  # the wrong attempt
    k8s.run(2)
    failing(lab.check("service", k8s), "has 1 endpoint(s), not 3")
    console.run("kubectl patch deployment shop -p "
                "'{\"spec\":{\"template\":{\"metadata\":{\"labels\":{\"tier\":\"frontend\"}}}}}'")
    console.run("kubectl rollout status deployment/shop")
    k8s.run(2)
    passing(lab.check("service", k8s))  # the pods' template carries what the selector asks
    lab.reset("service", k8s)
    failing(lab.check("service", k8s), "no endpoint")
    console.run("kubectl set selector service shop app=shop")
    k8s.run(2)
    passing(lab.check("service", k8s))  # or the selector asks for what the pods carry


def test_08_pending_a_new_node_does_not_fit_six_cpus(ticket):
    lab, k8s = ticket("pending")
    failing(lab.check("pending", k8s), "2 pod(s) of report are still Pending")
    pod = k8s.workload("report").replicas()[0].name
    assert "3 Insufficient cpu" in console.run(f"kubectl describe pod {pod}")
    console.run("minikube node add")  # the wrong attempt: a new worker has 4 CPUs too
    k8s.run(30)
    failing(lab.check("pending", k8s), "2 pod(s) of report are still Pending")
    console.run("kubectl set resources deployment report --requests=cpu=600m")
    console.run("kubectl rollout status deployment/report")
    passing(lab.check("pending", k8s))


def test_08_node_uncordon_is_no_fix_and_the_check_does_not_name_the_node(ticket):
    lab, k8s = ticket("node")
    result = lab.check("node", k8s)
    failing(result, "a worker is still NotReady")
    assert "node-2" not in str(result)  # which node: the student's to find
    assert "NotReady" in console.run("kubectl get nodes")
    console.run("kubectl uncordon node-2")  # the wrong attempt: it was never cordoned
    failing(lab.check("node", k8s), "still NotReady")
    console.run("minikube node start node-2")
    console.run("kubectl wait --for=condition=Ready node/node-2")
    passing(lab.check("node", k8s))
    console.run("kubectl cordon node-2")  # back, but out of service while the others take pods
    failing(lab.check("node", k8s), "node-2 takes no new pods (SchedulingDisabled) while the other workers do")
    console.run("kubectl uncordon node-2")
    passing(lab.check("node", k8s))
    assert "node-2 switched off again" in str(lab.reset("node", k8s))
    failing(lab.check("node", k8s), "still NotReady")


# -- 09 ----------------------------------------------------------------------------------------
@pytest.fixture
def lesson09():
    """lesson 09, and a fresh cluster (the console's)."""
    k8s = console.use(lk.connect("sim", nodes=3))
    yield lessons.lab("09"), k8s
    console.forget()


def test_09_config_a_changed_configmap_reaches_no_running_pod_and_new_pods_read_it(lesson09):
    lab, k8s = lesson09
    failing(lab.check("config", k8s), "there is no deployment web any more", 'lab.reset("09.config")')
    assert "web-config says GREETING=hi" in str(lab.reset("config", k8s))
    failing(lab.check("config", k8s), "the ConfigMap web-config says GREETING=hi, not hello",
            "2 of web's running pods still print 'web says: hi'")
    console.run("""kubectl patch configmap web-config -p '{"data":{"GREETING":"hello"}}'""")  # the wrong attempt
    k8s.run(60)
    result = lab.check("config", k8s)
    failing(result, "2 of web's running pods still print 'web says: hi'")
    assert "says GREETING=hi" not in str(result)  # the ConfigMap is right; the pods are not
    console.run("kubectl set env deployment/web GREETING=hello")  # the other: hello, but from no ConfigMap
    console.run("kubectl rollout status deployment/web")
    assert "web says: hello" in console.run("kubectl logs deploy/web --tail=1")
    failing(lab.check("config", k8s), "web's pod template writes GREETING itself (env)")
    console.run("kubectl set env deployment/web GREETING-")  # a new template: new pods read the ConfigMap
    console.run("kubectl rollout status deployment/web")
    passing(lab.check("config", k8s))

    lab.reset("config", k8s)  # another ConfigMap, one key taken from it: any ConfigMap passes
    console.run("kubectl create configmap greetings --from-literal=GREETING=hello")
    console.run("kubectl set env deployment/web --keys=GREETING --from=configmap/greetings")
    console.run("kubectl rollout status deployment/web")
    passing(lab.check("config", k8s))


CLEANUP = """apiVersion: batch/v1
kind: Job
metadata: {name: cleanup}
spec:
  completions: 5
  parallelism: PARALLEL
  template:
    spec:
      restartPolicy: Never
      containers: [{name: cleanup, image: "busybox:1.36", command: ["sh", "-c", "sleep 3; echo WORD"]}]
"""


def test_09_job_kubectl_create_job_is_one_completion_and_it_cannot_change(lesson09):
    lab, k8s = lesson09
    failing(lab.check("job", k8s), "there is no Job named cleanup yet")
    console.run("kubectl create job cleanup --image=busybox:1.36 -- echo done")  # the wrong attempt
    console.run("kubectl wait --for=condition=complete job/cleanup --timeout=60s")
    result = lab.check("job", k8s)
    failing(result, "asks for 1 completion(s), not 5", "runs 1 pod(s) at a time, not 2", 'lab.reset("09.job")')
    assert result.stuck
    with pytest.raises(lk.LabkitError, match="field is immutable"):  # what the API server says
        console.run(f"kubectl apply -f {lab.save('cleanup', CLEANUP.replace('PARALLEL', '2'))}")
    assert "deleted the Job cleanup and its pods" in str(lab.reset("job", k8s))
    console.run(f"kubectl apply -f {lab.save('cleanup', CLEANUP.replace('PARALLEL', '5').replace('WORD', 'ok'))}")
    console.run("kubectl wait --for=condition=complete job/cleanup --timeout=120s")
    failing(lab.check("job", k8s), "runs 5 pod(s) at a time, not 2", "5 of cleanup's pods that succeeded did not "
                                                                      "print done")
    lab.reset("job", k8s)
    console.run(f"kubectl apply -f {lab.save('cleanup', CLEANUP.replace('PARALLEL', '2').replace('WORD', 'done'))}")
    k8s.run(1)
    failing(lab.check("job", k8s), "the Job cleanup is not complete yet: 0 of 5 succeeded")
    console.run("kubectl wait --for=condition=complete job/cleanup --timeout=120s")
    passing(lab.check("job", k8s))


def test_09_autoscale_without_a_cpu_request_never_scales_and_with_one_it_does(lesson09):
    lab, k8s = lesson09
    failing(lab.check("autoscale", k8s), "there is no deployment shop any more")
    assert "shop made again with 2 pods" in str(lab.reset("autoscale", k8s))
    failing(lab.check("autoscale", k8s), "no HorizontalPodAutoscaler scales the deployment shop yet")
    console.run("kubectl scale deployment shop --replicas=8")  # by hand: no autoscaler
    failing(lab.check("autoscale", k8s), "no HorizontalPodAutoscaler scales the deployment shop yet")
    lab.reset("autoscale", k8s)
    assert k8s.state().workload("shop").desired == 2
    console.run("kubectl autoscale deployment shop --cpu=50% --min=2 --max=8")  # the wrong attempt: no request
    k8s.traffic("shop", rate=150, seconds=180)
    k8s.run(180)
    failing(lab.check("autoscale", k8s), "cannot work out shop's CPU utilization",
            "missing request for cpu in container nginx", "did not scale shop up (at most 2 replicas)")

    lab.reset("autoscale", k8s)  # the traffic before a reset does not count
    console.run("kubectl set resources deployment shop --requests=cpu=100m")
    console.run("kubectl rollout status deployment/shop")
    console.run("kubectl autoscale deployment shop --cpu=80% --min=1 --max=10")
    failing(lab.check("autoscale", k8s), "keeps shop between 1 and 10 replicas, not 2 and 8",
            "aims at 80% CPU utilization, not 50%", "no traffic was sent to shop since the exercise's start")
    console.run("kubectl delete hpa shop")
    console.run("kubectl autoscale deployment shop --cpu=50% --min=2 --max=8")
    k8s.traffic("shop", rate=150, seconds=180)
    k8s.run(15)
    failing(lab.check("autoscale", k8s), "did not scale shop up (at most 2 replicas); the traffic is still running")
    k8s.run(165)
    passing(lab.check("autoscale", k8s))
    assert k8s.state().workload("shop").desired > 2


# -- every exercise's wrong attempt is tried above ---------------------------------------------
WRONG_TRIED = {  # exercise -> the test that tries the wrong attempt its Exercise.wrong names
    "00.hello": test_00_hello_and_heal, "00.heal": test_00_hello_and_heal,
    "01.restart": test_01_restart_and_self_heal, "01.self-heal": test_01_restart_and_self_heal,
    "02.service": test_02_service_and_drain, "02.drain": test_02_drain_refuses_a_node_switched_off,
    "02b.quorum": test_02b_quorum, "02b.healthy-update": test_02b_healthy_update_wants_a_healthcheck,
    "03.capacity": test_03_capacity_and_drain, "03.drain": test_03_capacity_and_drain,
    "04.zero-downtime": test_04_zero_downtime_fails_with_the_default_strategy,
    "04.rollback": rollbacks_canaries.test_04_rollback_refuses_a_new_deployment_and_reset_starts_it_again,
    "04b.canary": test_04_zero_downtime_then_04b_canary,
    "04b.no-lost-requests": test_04b_no_lost_requests_refuses_recreate_and_traffic_that_missed_the_update,
    "05.path": test_05_path, "05.mystery": test_05_mystery_wants_the_stopped_component_started_first,
    "06.two-nodes": test_06_two_nodes, "06.managers": test_06_managers,
    "06.lost-requests": test_06_lost_requests_are_read_from_the_record,
    "07.race": test_07_race, "07.mesos": test_07_mesos_check,
    "08.crashloop": test_08_crashloop_a_deleted_pod_comes_back_crashing,
    "08.image": test_08_image_a_restart_pulls_the_same_missing_tag,
    "08.service": test_08_service_a_hand_label_is_one_endpoint_and_either_real_fix_passes,
    "08.pending": test_08_pending_a_new_node_does_not_fit_six_cpus,
    "08.node": test_08_node_uncordon_is_no_fix_and_the_check_does_not_name_the_node,
    "09.config": test_09_config_a_changed_configmap_reaches_no_running_pod_and_new_pods_read_it,
    "09.job": test_09_job_kubectl_create_job_is_one_completion_and_it_cannot_change,
    "09.autoscale": test_09_autoscale_without_a_cpu_request_never_scales_and_with_one_it_does,
}


def test_every_exercise_names_its_wrong_attempt_and_a_test_tries_it():
    every = {f"{n}.{e.name}": e for n in lessons.MODULES for e in lessons.lab(n).exercises.values()}
    assert set(WRONG_TRIED) == set(every)
    assert all(e.wrong for e in every.values())


# -- the two editions: solutions/ (the source) and notebooks/ (what students open) -----------------
ROOT = Path(__file__).resolve().parent.parent
SOLVED = sorted((ROOT / "solutions").glob("0*.ipynb"))


def code_cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def last_check_results(path: Path) -> dict[str, str]:
    """What each check printed last in the notebook's stored outputs (nbval proves them current)."""
    return last_check_results_of(json.loads(path.read_text()))


def last_check_results_of(notebook: dict) -> dict[str, str]:
    last = {}
    for cell in (c for c in notebook["cells"] if c["cell_type"] == "code"):
        for output in cell.get("outputs", []):
            text = "".join(output.get("data", {}).get("text/plain", ""))
            if text.startswith(("✔", "✘")):
                last[text[2:].split(":")[0]] = text
    return last


def test_student_source_takes_out_every_solution_at_its_indentation():
    source = "x = None\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\ndef f():\n    ### BEGIN SOLUTION\n" \
             "    return 2\n    ### END SOLUTION\n    return []"
    assert editions.student_source(source) == "x = None\n# YOUR CODE HERE\ndef f():\n    # YOUR CODE HERE\n" \
                                              "    return []"
    with pytest.raises(ValueError, match="unbalanced"):
        editions.student_source("### BEGIN SOLUTION\nx = 1\n")
    with pytest.raises(ValueError, match="out of order"):
        editions.student_source("### END SOLUTION\n### BEGIN SOLUTION\n")


@pytest.mark.parametrize("solved", SOLVED, ids=lambda p: p.name.split("-")[0])
def test_the_student_edition_is_the_solved_one_without_its_solutions(solved):
    student = ROOT / "notebooks" / solved.name
    mine, theirs = json.loads(solved.read_text())["cells"], json.loads(student.read_text())["cells"]
    expected = [editions.student_source("".join(c["source"])) if c["cell_type"] == "code" else "".join(c["source"])
                for c in mine]
    assert ["".join(c["source"]) for c in theirs] == expected, "run `make student` (then `make notebooks`)"
    assert editions.BEGIN not in student.read_text() and "BEGIN SOLUTION" not in student.read_text()


@pytest.mark.parametrize("solved", SOLVED, ids=lambda p: p.name.split("-")[0])
def test_every_solution_passes_and_every_check_fails_on_the_untouched_edition(solved):
    """Read from the stored outputs, which nbval proves are what running the notebook prints."""
    lab = lessons.lab(solved.name.split("-")[0])
    ids = {f"{lab.number}.{name}" for name in lab.exercises}
    cells = code_cells(solved)
    # an exercise's cell; a lesson's other solved cells are steps the student types (lesson 08's diagnoses)
    solutions = [i for i, c in enumerate(cells) if editions.has_solution("".join(c["source"]))
                 and "# Exercise " in "".join(c["source"])]
    assert len(solutions) == len(lab.exercises) >= 2
    for i in solutions:  # a check follows each solution
        assert "lab.check(" in "".join(cells[i + 1]["source"])
    for path, mark in ((solved, "✔"), (ROOT / "notebooks" / solved.name, "✘")):
        outputs = [o for c in code_cells(path) for o in c.get("outputs", [])]
        assert outputs and not [o for o in outputs if o["output_type"] == "error"], path
        assert all(o.get("name") != "stderr" or "Traceback" not in "".join(o["text"]) for o in outputs)
        last = last_check_results(path)
        assert set(last) == ids, path
        assert all(text.startswith(mark) for text in last.values()), (path, last)


def student_whose_mystery_is(component: str) -> str:
    return next(name for name in (f"student-{n}" for n in range(100))
                if random.Random(f"05.mystery:{name}").choice(lessons.lab("05").SUSPECTS) == component)


@pytest.mark.parametrize("component", lessons.lab("05").SUSPECTS)
def test_lesson_05s_solution_diagnoses_every_students_mystery(component, monkeypatch):
    """The solved lesson runs for a student of each mystery; its diagnosis passes the check."""
    import nbclient
    import nbformat
    monkeypatch.setenv("LABKIT_STUDENT", student_whose_mystery_is(component))
    monkeypatch.setenv("LABKIT_BACKEND", "sim")
    notebook = nbformat.read(ROOT / "solutions" / "05-kubernetes-architecture.ipynb", as_version=4)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
    shown = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    assert f"diagnosis: {component}" in shown
    assert last_check_results_of(notebook)["05.mystery"].startswith("✔"), shown[-2000:]
