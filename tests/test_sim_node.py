"""The simulator's node agent (kubelet + container runtime) and the plain Docker flavor.

Kubelet: pulls an image once per node (Pulling / Pulled / Started, about a
second in all), restarts crashed containers with CrashLoopBackOff (10 s
doubling to 300 s), backs off image pulls that fail, stops containers of
deleted pods. Docker flavor (one host, nobody watching): a killed container
stays down with restart "no", comes back with "always" / "on-failure", and a
host failure loses everything until the host is back.
"""
from __future__ import annotations

from collections import Counter

import pytest

import labkit
from labkit.backends.sim.node import BACKOFF_CAP, BACKOFF_START, DOCKER_BACKOFF_CAP, DOCKER_BACKOFF_START
from labkit.errors import NotFound, Refused, Unavailable


def pod_events(cluster, name: str) -> list:
    return [e for e in cluster.events() if e.object == f"pod/{name}"]


def gaps(times: list[float]) -> list[float]:
    return [round(b - a, 3) for a, b in zip(times, times[1:])]


# -- kubelet: starting -----------------------------------------------------------------------
def test_a_pod_is_pulled_then_started_in_about_a_second():
    cluster = labkit.connect("sim", nodes=1, seed=2)
    web = cluster.deploy("web", "web-server:1", replicas=1)
    cluster.run(5)
    (replica,) = web.replicas()
    assert replica.phase == "running" and replica.ready and replica.node == "node-1"
    reasons = [e.reason for e in pod_events(cluster, replica.name)]
    assert [r for r in reasons if r in ("Pulling", "Pulled", "Started")] == ["Pulling", "Pulled", "Started"]
    started = next(e.time for e in pod_events(cluster, replica.name) if e.reason == "Started")
    assert 0.7 <= started <= 2.0
    assert all(e.source == "kubelet" for e in pod_events(cluster, replica.name) if e.reason != "Scheduled")


def test_scheduled_comes_before_pulling_in_the_event_log():
    cluster = labkit.connect("sim", nodes=1, seed=2)
    web = cluster.deploy("web", "web-server:1", replicas=1)
    cluster.run(5)
    (replica,) = web.replicas()
    assert [e.reason for e in pod_events(cluster, replica.name)][:2] == ["Scheduled", "Pulling"]


def test_an_image_is_pulled_once_per_node():
    cluster = labkit.connect("sim", nodes=1, seed=2)
    web = cluster.deploy("web", "web-server:1", replicas=1)
    cluster.wait()
    web.scale(4)
    cluster.wait()
    pulls = [e for e in cluster.events() if e.reason == "Pulling"]
    assert len(pulls) == 1
    later = [r for r in web.replicas() if r.name != pulls[0].object.removeprefix("pod/")]
    assert len(later) == 3
    for replica in later:
        started = next(e.time for e in pod_events(cluster, replica.name) if e.reason == "Started")
        assert started - replica.created < 1.0  # cached image: no pull


def test_an_image_no_registry_has_backs_off_and_stays_pending():
    cluster = labkit.connect("sim", nodes=1, seed=2)
    web = cluster.deploy("web", "no-such-image:1", replicas=1)
    cluster.run(5)
    (replica,) = web.replicas()
    assert replica.phase == "pending" and replica.reason == "ErrImagePull" and not replica.ready
    cluster.run(400)
    (replica,) = web.replicas()
    assert replica.reason == "ImagePullBackOff" and replica.phase == "pending"
    pulling = [e.time for e in pod_events(cluster, replica.name) if e.reason == "Pulling"]
    said = [e for e in pod_events(cluster, replica.name) if e.reason == "Failed"]
    failed = [e for e in said if e.message.startswith("Failed to pull image")]
    assert failed and all(e.type == "Warning" and "pull access denied" in e.message for e in failed)
    # each pull that fails, then each back-off, is also the container's start failing (kuberuntime_manager)
    assert {e.message for e in said if e not in failed} == {"Error: ErrImagePull", "Error: ImagePullBackOff"}
    waits = [p - f.time for f, p in zip(failed, pulling[1:])]
    assert [round(w) for w in waits] == [10, 20, 40, 80, 160]  # doubling from 10 s ...
    cluster.run(2000)
    failed = [e.time for e in pod_events(cluster, replica.name) if e.reason == "Failed"
              and e.message.startswith("Failed to pull image")]
    pulling = [e.time for e in pod_events(cluster, replica.name) if e.reason == "Pulling"]
    assert round(pulling[-1] - failed[-2]) == BACKOFF_CAP  # ... capped at 300 s


def test_a_crashing_container_restarts_with_crash_loop_back_off():
    assert (BACKOFF_START, BACKOFF_CAP) == (10.0, 300.0)
    cluster = labkit.connect("sim", nodes=1, seed=2)
    web = cluster.deploy("web", "web-server:broken", replicas=1)
    cluster.run(1300)
    (replica,) = web.replicas()
    started = [e.time for e in pod_events(cluster, replica.name) if e.reason == "Started"]
    died = [e.time for e in pod_events(cluster, replica.name) if e.reason == "BackOff"]
    assert round(started[1] - started[0], 3) == 5.0  # it crashes after 5 s, and the first restart waits nothing
    assert all(round(d - s, 3) == 5.0 for s, d in zip(started[1:], died))  # each later crash is a back-off
    waits = [round(s - d) for d, s in zip(died, started[2:])]
    assert waits[:6] == [10, 20, 40, 80, 160, 300] and set(waits[6:]) <= {300}
    assert replica.restarts == len(started) - 1
    cluster.run(3)
    (replica,) = web.replicas()
    assert replica.reason == "CrashLoopBackOff" and not replica.ready


def test_a_killed_container_is_restarted_by_the_kubelet():
    cluster = labkit.connect("sim", nodes=2, seed=2)
    web = cluster.deploy("web", "web-server:1", replicas=2)
    cluster.wait()
    names = {r.name for r in web.replicas()}
    name = cluster.kill_replica()
    killed = [e for e in pod_events(cluster, name) if e.reason == "Killed"]
    assert killed and killed[0].type == "Warning" and "137" in killed[0].message
    cluster.run(2)
    (replica,) = [r for r in web.replicas() if r.name == name]
    assert replica.phase == "running" and replica.ready and replica.restarts == 1
    assert {r.name for r in web.replicas()} == names  # the same pod restarted, no new one


def test_killing_a_replica_that_is_not_running_is_refused():
    cluster = labkit.connect("sim", nodes=1, seed=2)
    web = cluster.deploy("web", "no-such-image:1", replicas=1)
    cluster.run(5)
    (replica,) = web.replicas()
    with pytest.raises(Refused):
        cluster.kill_replica(replica.name)


def test_deleted_pods_stop_and_disappear():
    cluster = labkit.connect("sim", nodes=2, seed=2)
    web = cluster.deploy("web", "web-server:1", replicas=4)
    cluster.wait()
    web.scale(1)
    cluster.run(0.2)  # the controllers have acted; no container has stopped yet (0.3 s at least)
    assert Counter(r.phase for r in web.replicas()) == Counter({"running": 1, "terminating": 3})
    cluster.run(2)
    assert len(web.replicas()) == 1
    assert len([e for e in cluster.events() if e.reason == "Killing"]) == 3


def test_a_pod_deleted_while_starting_never_runs():
    cluster = labkit.connect("sim", nodes=3, seed=1)
    web = cluster.deploy("web", "web-server:1", replicas=10)
    cluster.run(0.05)  # bound, images being pulled
    web.scale(0)
    terminating = set()
    for _ in range(60):
        cluster.run(0.05)
        for replica in cluster.state().replicas:
            if replica.phase == "terminating":
                terminating.add(replica.name)
            else:
                assert replica.name not in terminating, replica
    assert cluster.state().replicas == ()


def test_pods_on_a_failed_node_stop_and_restart_when_it_returns():
    cluster = labkit.connect("sim", nodes=2, seed=2)
    web = cluster.deploy("web", "web-server:1", replicas=4)
    cluster.wait()
    mine = {r.name for r in cluster.state().replicas_on("node-1")}
    cluster.fail_node("node-1")
    components = {(c.name, c.node): c.running for c in cluster.state().components}
    assert components[("kubelet", "node-1")] is False and components[("container-runtime", "node-1")] is False
    assert components[("kubelet", "node-2")] is True
    cluster.run(20)  # back before the 50 s grace period
    cluster.recover_node("node-1")
    cluster.run(3)
    replicas = {r.name: r for r in cluster.state().replicas_on("node-1")}
    assert set(replicas) == mine
    assert all(r.phase == "running" and r.ready and r.restarts == 1 for r in replicas.values())
    assert web.status().ready == 4


def test_failing_a_node_twice_or_recovering_a_healthy_one_is_refused():
    cluster = labkit.connect("sim", nodes=2, seed=2)
    with pytest.raises(Refused):
        cluster.recover_node("node-1")
    cluster.fail_node("node-1")
    with pytest.raises(Refused):
        cluster.fail_node("node-1")


def test_a_kubelet_can_only_be_stopped_on_a_worker():
    cluster = labkit.connect("sim", nodes=2, seed=2)
    with pytest.raises(NotFound):
        cluster.stop_component("kubelet", "control-plane")
    with pytest.raises(NotFound):
        cluster.stop_component("kubelet")


def test_a_stopped_kubelet_leaves_its_containers_running_but_starts_nothing_new():
    cluster = labkit.connect("sim", nodes=1, seed=2)
    web = cluster.deploy("web", "web-server:1", replicas=2)
    cluster.wait()
    cluster.stop_component("kubelet", "node-1")
    web.scale(3)
    cluster.run(20)
    phases = Counter(r.phase for r in web.replicas())
    assert phases == Counter({"running": 2, "pending": 1})
    cluster.start_component("kubelet", "node-1")
    cluster.wait(timeout=30)
    assert web.status().ready == 3


# -- the Docker flavor: one host, nothing watching ---------------------------------------------------
def docker() -> labkit.Cluster:
    return labkit.connect("sim", flavor="docker", seed=2)


def containers(cluster) -> dict:
    return {r.name: r for r in cluster.state().replicas}


def container_events(cluster, name: str) -> list:
    return [e for e in cluster.events() if e.object == f"container/{name}"]


def test_docker_flavor_is_one_host():
    cluster = docker()
    assert cluster.nodes == ["docker-host"]
    assert {c.name for c in cluster.state().components} == {"docker-daemon", "container-runtime"}


def test_a_killed_container_stays_down_without_a_restart_policy():
    cluster = docker()
    name = cluster.run_container("web-server:1", name="web")
    cluster.run(5)
    assert containers(cluster)[name].phase == "running"
    cluster.kill_replica(name)
    cluster.run(600)
    web = containers(cluster)[name]
    assert web.phase == "failed" and not web.ready and web.reason == "Exited (137)" and web.restarts == 0
    cluster.start_container(name)  # by hand
    cluster.run(5)
    assert containers(cluster)[name].phase == "running"


@pytest.mark.parametrize("policy", ["always", "on-failure", "unless-stopped"])
def test_a_restart_policy_brings_a_killed_container_back(policy):
    cluster = docker()
    name = cluster.run_container("web-server:1", name="web", restart=policy)
    cluster.run(5)
    cluster.kill_replica(name)
    cluster.run(5)
    web = containers(cluster)[name]
    assert web.phase == "running" and web.ready and web.restarts == 1


def test_a_crashing_container_stays_down_without_a_restart_policy():
    cluster = docker()
    name = cluster.run_container("web-server:broken")
    cluster.run(60)
    web = containers(cluster)[name]
    assert web.phase == "failed" and web.reason == "Exited (1)" and web.restarts == 0


def test_a_crashing_container_restarts_with_dockers_back_off_not_the_kubelets():
    """moby restartmanager: 100 ms, doubling to 1 min; RestartCount counts each decision;
    `Restarting` (docker ps: Restarting (1) ...) during the wait, never CrashLoopBackOff."""
    assert (DOCKER_BACKOFF_START, DOCKER_BACKOFF_CAP) == (0.1, 60.0)
    cluster = docker()
    name = cluster.run_container("web-server:broken", name="flaky", restart="always")
    reasons = set()
    for _ in range(3000):
        cluster.run(0.1)
        reasons.add(containers(cluster)[name].reason)
    started = [e.time for e in container_events(cluster, name) if e.reason == "Started"]
    died = [e.time for e in container_events(cluster, name) if e.reason == "Died"]
    waits = [s - d for d, s in zip(died, started[1:])]
    backoff = [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 60.0]
    assert len(waits) >= 11 and all(0.3 <= w - b <= 0.4 for w, b in zip(waits, backoff)), waits  # + the start
    assert containers(cluster)[name].restarts == len(died)
    assert reasons == {"", "Restarting"}


def test_a_container_that_ran_10_s_restarts_after_100_ms_again():
    cluster = docker()
    name = cluster.run_container("web-server:1", name="web", restart="always")
    for pause in (2, 2, 12, 2):  # killed after 2 s up, 2 s, then 12 s (resets the back-off), 2 s
        cluster.run(pause)
        cluster.kill_replica(name)
    cluster.run(5)
    started = [e.time for e in container_events(cluster, name) if e.reason == "Started"]
    died = [e.time for e in container_events(cluster, name) if e.reason == "Died"]
    backoff = [0.1, 0.2, 0.1, 0.2]  # each wait: the back-off, then the runtime's start (0.3-0.4 s)
    waits = [s - d for d, s in zip(died, started[1:])]
    assert len(waits) == 4 and all(0.3 <= w - b <= 0.4 for w, b in zip(waits, backoff)), waits


def test_run_container_names_and_images():
    cluster = docker()
    assert cluster.run_container("web-server:1") == "web-server-1"
    assert cluster.run_container("web-server:1") == "web-server-2"
    with pytest.raises(labkit.AlreadyExists):
        cluster.run_container("web-server:1", name="web-server-1")
    before = cluster.state()
    with pytest.raises(NotFound) as info:
        cluster.run_container("no-such-image:1")
    assert "web-server:1" in info.value.hint and cluster.state() == before


def test_a_host_failure_loses_everything():
    cluster = docker()
    plain = cluster.run_container("web-server:1", name="plain")
    always = cluster.run_container("web-server:1", name="always", restart="always")
    group = cluster.deploy("web", "web-server:1", replicas=3)
    cluster.run(5)
    assert cluster.state().count() == 5
    cluster.fail_node("docker-host")  # allowed: the docker flavor has nothing to protect
    cluster.run(600)
    state = cluster.state()
    assert state.count() == 0
    assert all(r.phase == "failed" and r.reason == "HostDown" for r in state.replicas)
    assert state.node("docker-host").status == "Down"
    assert group.status().ready == 0
    with pytest.raises(Unavailable):
        cluster.run_container("web-server:1")
    cluster.recover_node("docker-host")
    cluster.run(5)
    after = containers(cluster)
    assert after[always].phase == "running"  # the daemon restarts "always" containers
    assert after[plain].phase == "failed" and after[plain].reason == "Exited (255)"  # died with its host
    assert all(r.reason == "Exited (255)" for r in after.values() if r.workload)
    assert group.status().ready == 0  # nobody relaunches the group's containers


def test_a_failed_docker_host_is_not_ready():
    cluster = docker()
    cluster.fail_node("docker-host")
    assert not cluster.state().node("docker-host").ready


def test_docker_flavor_group_heals_nothing():
    cluster = docker()
    group = cluster.deploy("web", "web-server:1", replicas=3)
    cluster.run(5)
    assert group.status().ready == 3 and group.status().kind == "containers"
    assert sorted(r.name for r in group.replicas()) == ["web-1", "web-2", "web-3"]
    cluster.kill_replica("web-2")
    cluster.run(600)
    assert group.status().ready == 2 and containers(cluster)["web-2"].phase == "failed"
    group.scale(5)  # scaling by hand: docker run more
    cluster.run(5)
    assert group.status().ready == 4 and len(group.replicas()) == 5


def test_docker_flavor_refuses_what_only_orchestrators_do():
    cluster = docker()
    group = cluster.deploy("web", "web-server:1", replicas=2)
    cluster.run(5)
    before = cluster.state()
    for action in (lambda: group.update("web-server:2"), lambda: group.rollback(),
                   lambda: cluster.drain("docker-host"), lambda: group.pause()):
        with pytest.raises(Refused) as info:
            action()
        assert info.value.hint
    assert cluster.state() == before


def test_killing_a_random_replica_picks_one_that_can_be_killed():
    for seed in range(6):  # the random pick differs by seed; about half land on the failed node today
        cluster = labkit.connect("sim", nodes=2, seed=seed)
        cluster.deploy("web", "web-server:1", replicas=4)
        cluster.wait()
        cluster.fail_node("node-1")
        killed = cluster.kill_replica()
        assert killed in {r.name for r in cluster.state().replicas_on("node-2")}


# -- start-up, readiness probes and healthchecks ------------------------------------------------
def test_the_first_passing_check_follows_each_engines_prober():
    from labkit.backends.base import Probe
    from labkit.backends.sim.node import first_success
    every_second = Probe()
    assert first_success(every_second, 2.0, health=False) == 2.0  # kubelet: at 0, 1, 2 s
    assert first_success(every_second, 0.0, health=False) == 0.0
    assert first_success(every_second, 0.0, health=True) == 1.0  # Docker: first after one interval
    assert first_success(every_second, 2.5, health=True) == 3.0
    assert first_success(Probe(period=10.0), 2.0, health=False) == 10.0  # Kubernetes' default period
    assert first_success(Probe(initial_delay=5.0), 2.0, health=False) == 5.0


def listening_times(cluster, name: str) -> dict[str, tuple[bool, bool]]:
    return {r.name: (r.listening, r.ready) for r in cluster.state().replicas if r.workload == name}


def test_a_pod_listens_two_seconds_after_it_starts_and_a_probe_holds_its_readiness_until_then():
    cluster = labkit.connect("sim", nodes=2, seed=3)
    cluster.deploy("plain", "web-server:1", replicas=2)
    cluster.deploy("probed", "web-server:1", replicas=2, readiness=True)
    cluster.deploy("quick", "web-server:1", replicas=2, env={"START_DELAY": "0.5"})
    seen: dict[tuple[str, str], float] = {}
    for _ in range(80):
        cluster.run(0.05)
        for r in cluster.state().replicas:
            for what, value in (("started", r.phase == "running"), ("listening", r.listening), ("ready", r.ready)):
                if value:
                    seen.setdefault((r.name, what), cluster.now())
    for r in cluster.state().replicas:
        started = seen[r.name, "started"]
        listens = {"plain": 2.0, "probed": 2.0, "quick": 0.5}[r.workload]
        assert seen[r.name, "listening"] - started == pytest.approx(listens, abs=0.06)
        ready_after = 2.0 if r.workload == "probed" else 0.0  # without a probe: ready, listening or not
        assert seen[r.name, "ready"] - started == pytest.approx(ready_after, abs=0.06)


def test_a_swarm_task_with_a_healthcheck_is_starting_until_healthy():
    from labkit import console
    cluster = console.use(labkit.connect("sim", flavor="swarm", nodes=1, seed=3))
    cluster.deploy("web", "web-server:1", replicas=1, readiness=True)
    words: dict[str, float] = {}
    for _ in range(60):
        cluster.run(0.1)
        row = console.run("docker service ps web").splitlines()[1]
        words.setdefault(row.split("Running", 1)[1].split()[0], cluster.now())  # CURRENT STATE's word
    assert list(words) == ["Preparing", "Starting", "Running"], words
    assert words["Running"] - words["Starting"] == pytest.approx(2.0, abs=0.15)  # healthy at the 2nd check
    assert [(r.phase, r.ready) for r in cluster.state().replicas] == [("running", True)]
    console.forget()


def test_swarm_waits_two_seconds_before_stopping_a_task_of_the_mesh():
    """moby's Shutdown: out of the routing mesh, 2 s of gossip, then the stop; a task of a
    service that publishes nothing stops at once."""
    from labkit.backends.sim.node import SWARM_GOSSIP_DELAY
    cluster = labkit.connect("sim", flavor="swarm", nodes=1, seed=3)
    meshed = cluster.deploy("meshed", "web-server:1", replicas=1, ports=["8080:80"])
    alone = cluster.deploy("alone", "web-server:1", replicas=1)
    cluster.run(5)
    start = cluster.now()
    meshed.scale(0)
    alone.scale(0)
    cluster.run(10)
    killed = {e.object.split("/")[1].split(".")[0]: e.time - start for e in cluster.events(start)
              if e.reason == "Killing"}
    assert killed["meshed"] >= SWARM_GOSSIP_DELAY and killed["alone"] < 0.5, killed
