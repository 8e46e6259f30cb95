"""The facade's verbs that the console's simulated `docker` uses (no reach into the simulator)."""
from __future__ import annotations

import pytest

import labkit
from labkit.errors import NotFound, Refused


def test_a_container_stopped_by_hand_stays_stopped_until_started():
    """moby: a container stopped with `docker stop` is not restarted by its restart policy
    (hasBeenManuallyStopped), and `docker start` gives it its policy back."""
    docker = labkit.connect("sim", flavor="docker", seed=0)
    docker.run_container("web-server:1", name="web", restart="always")
    docker.run(5)
    docker.stop_container("web")
    docker.run(60)
    (web,) = docker.state().replicas
    assert web.phase != "running"
    docker.start_container("web")
    docker.run(5)
    assert docker.state().replicas[0].phase == "running"
    docker.stop_container("web", kill=True)  # docker kill: exit code 137, still not restarted
    docker.run(60)
    assert docker.state().replicas[0].phase != "running"
    assert any(e.reason == "Killed" and "137" in e.message for e in docker.events())
    with pytest.raises(NotFound):
        docker.stop_container("nope")


def test_a_paused_swarm_node_keeps_its_tasks_and_takes_no_new_ones():
    swarm = labkit.connect("sim", flavor="swarm", nodes=3, seed=0)
    swarm.deploy("web", "web-server:1", replicas=3)
    swarm.wait()
    before = {r.name: r.node for r in swarm.state().replicas}
    swarm.pause_node("node-3")
    swarm.workload("web").scale(9)
    swarm.wait()
    state = swarm.state()
    assert {r.name: r.node for r in state.replicas if r.name in before} == before
    new = [r for r in state.replicas if r.name not in before]
    assert len(new) == 6 and "node-3" not in {r.node for r in new}
    assert not state.node("node-3").schedulable
    swarm.uncordon("node-3")
    assert swarm.state().node("node-3").schedulable


def test_pause_is_swarms_word_and_a_quiet_outage_names_nobody():
    k8s = labkit.connect("sim", nodes=2, seed=0)
    with pytest.raises(Refused, match="pause is an availability of Swarm nodes"):
        k8s.pause_node("node-1")
    k8s.stop_component("scheduler", quiet=True)
    assert not any(e.object == "component/scheduler" for e in k8s.events())
    assert not next(c for c in k8s.state().components if c.name == "scheduler").running
    k8s.stop_component("etcd")
    assert any(e.object == "component/etcd" for e in k8s.events())
