"""The docker backend on the real engine: lesson 1's story, safety, faults, the reaper."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

import labkit
from labkit.backends.docker import reaper
from labkit.backends.docker import common as du
from labkit.backends.base import LABEL
from labkit.errors import AlreadyExists, InvalidInput, NotFound, Refused, Unavailable

pytestmark = pytest.mark.docker
LAB = f"test-docker-{os.getpid()}"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def decoys(engine):
    """A container and a network that are not labkit's; they must survive everything."""
    from labkit.backends.docker import images
    images.ensure_images(engine)
    tag = f"{os.getpid()}"
    container = engine.containers.run("web-server:1", name=f"decoy-{tag}", detach=True)
    clash = engine.containers.create("web-server:1", name=f"clash-{tag}.1")
    network = engine.networks.create(f"decoy-net-{tag}")
    yield {"container": container, "clash": clash, "network": network, "tag": tag}
    for thing in (container, clash):
        thing.remove(force=True)
    network.remove()


@pytest.fixture(scope="module")
def module_cluster(engine, decoys):
    cluster = labkit.connect("docker", lab=LAB, quiet=True)
    yield cluster
    cluster.reset()
    cluster.close()
    reaper.release(LAB)
    assert not engine.containers.list(all=True, filters={"label": f"{LABEL}={LAB}"})
    decoys["container"].reload()
    assert decoys["container"].status == "running"
    engine.networks.get(decoys["network"].id)


@pytest.fixture
def cluster(module_cluster):
    module_cluster.reset()
    yield module_cluster
    module_cluster.reset()


def test_connect_describes_one_host(cluster):
    state = cluster.state()
    assert (state.backend, state.flavor) == ("docker", "docker")
    assert [n.name for n in state.nodes] == ["node-1"] and state.nodes[0].ready


def test_a_crashed_container_stays_down_until_started_by_hand(cluster):
    name = cluster.run_container("my-web-server")
    cluster.wait(10, until=lambda s: s.count(phase="running") == 1)
    assert cluster.kill_replica(name) == name
    cluster.wait(10, until=lambda s: s.count(phase="failed") == 1)
    cluster.run(2)
    [replica] = cluster.state().replicas
    assert replica.phase == "failed" and replica.reason == "Exited (137)" and replica.workload == ""
    cluster.start_container(name)
    cluster.wait(10, until=lambda s: s.count(phase="running") == 1)
    assert any(e.reason == "Died" and e.type == "Warning" for e in cluster.events())


def test_restart_policy_always_brings_a_crash_back(cluster):
    name = cluster.run_container("web-server:1", name="watched", restart="always")
    cluster.wait(10, until=lambda s: s.count(phase="running") == 1)
    cluster.kill_replica(name)
    state = cluster.wait(20, until=lambda s: any(r.restarts >= 1 and r.phase == "running" for r in s.replicas))
    assert state.replicas[0].name == "watched"


def test_the_broken_image_crashes_and_nothing_heals_it(cluster):
    cluster.run_container("web-server:broken", name="crashy")
    state = cluster.wait(20, until=lambda s: s.count(phase="failed") == 1)
    assert state.replicas[0].reason == "Exited (1)"  # docker ps: Exited (1) 2 seconds ago


def test_deploy_scale_by_hand_and_nothing_heals(cluster):
    web = cluster.deploy("web", "web-server:1", replicas=3)
    state = cluster.wait(20)
    assert sorted(r.name for r in state.replicas) == ["web.1", "web.2", "web.3"]
    assert all(r.ip for r in state.replicas)
    cluster.kill_replica("web.2")
    cluster.run(2)
    status = web.status()
    assert (status.desired, status.ready) == (3, 2) and "nothing restarts" in status.message
    web.scale(5)
    state = cluster.wait(20, until=lambda s: s.count("web") == 4)
    assert {r.name for r in state.replicas} == {f"web.{i}" for i in range(1, 6)}
    web.scale(2)  # the crashed one goes first
    assert sorted(r.name for r in cluster.state().replicas) == ["web.1", "web.3"]
    with pytest.raises(Refused, match="rolling update"):
        web.update("web-server:2")
    with pytest.raises(Refused):
        web.rollback()
    with pytest.raises(Refused):
        cluster.drain("node-1")
    assert web.history() == [(1, "web-server:1")]
    web.delete()
    assert cluster.state().replicas == ()


def test_host_failure_loses_everything_and_only_restart_policies_come_back(cluster):
    cluster.deploy("web", "web-server:1", replicas=2)
    cluster.run_container("web-server:1", name="always-on", restart="always")
    cluster.wait(20, until=lambda s: s.count() == 3)
    cluster.fail_node("node-1")
    state = cluster.state()
    assert not state.nodes[0].ready and state.count() == 0
    assert {r.reason for r in state.replicas} == {"HostDown"}  # the simulator's word for the same
    with pytest.raises(Unavailable, match="down"):
        cluster.run_container("web-server:1")
    cluster.recover_node("node-1")
    state = cluster.wait(20, until=lambda s: s.count() == 1)
    assert [r.name for r in state.replicas if r.phase == "running"] == ["always-on"]
    assert state.nodes[0].ready


def test_missing_image_is_a_clear_error_and_creates_nothing(cluster, engine):
    with pytest.raises(NotFound, match="no-such-image") as error:
        cluster.deploy("ghost", "no-such-image:1", replicas=2)
    assert "web-server:1" in error.value.hint
    assert cluster.state().replicas == ()
    assert not engine.containers.list(all=True, filters={"name": "ghost"})


def test_the_engines_event_stream_says_when_a_container_of_the_lab_changes(cluster):
    """DockerBackend.wait_for_change (backends.base.Watches): what a live view follows."""
    import threading
    from labkit.backends.base import Watches
    backend = cluster.backend
    assert isinstance(backend, Watches)
    started = time.monotonic()
    assert backend.wait_for_change(1.0) is False and time.monotonic() - started >= 0.9  # nothing moves
    seen: list[bool] = []
    waiting = threading.Thread(target=lambda: seen.append(backend.wait_for_change(20.0)))
    waiting.start()
    time.sleep(0.5)
    cluster.run_container("web-server:1", name="watched")
    waiting.join(10)
    assert seen == [True]
    cluster.remove_container("watched")


def test_ownership_is_positive_a_kind_labkit_sets():
    for kind in sorted(du.OWNED_KINDS):
        assert du.owned({LABEL: "lab", du.KIND: kind}) and du.owned({LABEL: "lab", du.KIND: kind}, "lab")
    assert not du.owned({LABEL: "lab", du.KIND: "node"}, "other-lab")
    for labels in ({LABEL: "images", du.KIND: "image"}, {LABEL: "images", du.KIND: "node-image"},
                   {LABEL: "images", du.KIND: "container"}, {LABEL: "lab"}, {LABEL: "lab", du.KIND: "thing"},
                   {du.KIND: "container"}, {}, None):
        assert not du.owned(labels), labels


def test_names_of_objects_that_are_not_labkits_are_refused(cluster, decoys):
    # The decoy runs a demo image and so inherits `io.labkit=images`: still not labkit's.
    assert decoys["container"].labels.get(LABEL) == "images"
    assert not du.owned(decoys["container"].labels)
    with pytest.raises(AlreadyExists, match="not labkit"):
        cluster.run_container("web-server:1", name=f"decoy-{decoys['tag']}")
    with pytest.raises(AlreadyExists, match="not labkit"):
        cluster.deploy(f"clash-{decoys['tag']}", "web-server:1", replicas=2)
    assert cluster.state().replicas == ()
    with pytest.raises(NotFound):
        cluster.start_container(f"decoy-{decoys['tag']}")  # not in this lab: invisible to it


def test_bad_input(cluster):
    with pytest.raises(NotFound):
        cluster.fail_node("node-7")
    with pytest.raises(InvalidInput):
        cluster.deploy("web", "web-server:1", replicas=51)  # the docker backend's safety cap
    with pytest.raises(InvalidInput):
        cluster.deploy("web", "web-server:1", replicas=2, ports=["8080:80"])  # one host port, two containers
    with pytest.raises(InvalidInput):
        labkit.connect("docker", lab="Not A Lab")
    assert cluster.state().replicas == ()


def test_an_interrupted_deploy_leaves_nothing(cluster, monkeypatch):
    from docker.models.containers import ContainerCollection
    real = ContainerCollection.run
    calls = []

    def interrupted(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the student pressed "interrupt" in the middle
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ContainerCollection, "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cluster.deploy("web", "web-server:1", replicas=5)
    monkeypatch.undo()
    assert len(calls) == 3
    assert cluster.state().replicas == () and cluster.state().workloads == ()


def test_no_daemon_says_how_to_start_one(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/dead.sock")
    with pytest.raises(Unavailable) as error:
        labkit.connect("docker")
    assert "systemctl start docker" in error.value.hint and "connect('sim')" in error.value.hint


def _child(lab: str, keep: bool) -> None:
    """A kernel that makes a container and dies without cleaning up."""
    code = textwrap.dedent(f"""
        import os, labkit
        c = labkit.connect("docker", lab={lab!r}, keep={keep}, quiet=True)
        c.run_container("web-server:1", name="orphan-{lab}")
        os._exit(0)
    """)
    env = dict(os.environ, LABKIT_REAPER_GRACE="1", PYTHONPATH=ROOT)
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT, timeout=60)


def _lab_containers(engine, lab):
    # ignore_removed: the reaper may remove a container between the SDK's list and its inspect
    return engine.containers.list(all=True, ignore_removed=True, filters={"label": f"{LABEL}={lab}"})


def test_reaper_removes_a_dead_kernels_containers(engine):
    lab = f"reap-{os.getpid()}"
    _child(lab, keep=False)
    assert _lab_containers(engine, lab)
    deadline = time.monotonic() + 20
    while _lab_containers(engine, lab) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _lab_containers(engine, lab)


def test_keep_leaves_the_lab_until_reset_all(engine, decoys):
    lab = f"keep-{os.getpid()}"
    _child(lab, keep=True)
    time.sleep(4)  # longer than the grace period
    assert _lab_containers(engine, lab)
    removed = reaper.reset_all(lab)
    assert f"container/orphan-{lab}" in removed
    assert not _lab_containers(engine, lab)
    decoys["container"].reload()
    assert decoys["container"].status == "running"
