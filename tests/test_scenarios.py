"""The shared scenario suite: the same story on every backend.

Each test states the outcome a student should see. Where a backend's
semantics differ on purpose, the test says so and checks that difference:
plain Docker has no orchestrator, so nothing heals and nothing rolls out.
"""
from __future__ import annotations

import pytest

from labkit.errors import Refused, Timeout

# Virtual seconds on the simulator, real seconds elsewhere.
TIMEOUT = 300
NODE_TIMEOUT = 600  # Kubernetes evicts pods of a silent node only after 50 s + 300 s


def running(cluster, name, image=None):
    return cluster.state().count(name, "running", image)


def test_deploy_converges_to_the_desired_count(cluster):
    web = cluster.deploy("web", "web-server:1", replicas=3)
    web.wait(TIMEOUT)
    assert running(cluster, "web", "web-server:1") == 3
    status = web.status()
    assert (status.desired, status.ready, status.available) == (3, 3, 3)


def test_scale_up_and_down(cluster):
    web = cluster.deploy("web", "web-server:1", replicas=2)
    web.wait(TIMEOUT)
    web.scale(5).wait(TIMEOUT)
    assert running(cluster, "web") == 5
    web.scale(1).wait(TIMEOUT)
    cluster.wait(TIMEOUT, until=lambda s: s.count("web", phase=None) == 1)
    assert running(cluster, "web") == 1


def test_rolling_update_then_rollback(cluster):
    web = cluster.deploy("web", "web-server:1", replicas=3)
    web.wait(TIMEOUT)
    if cluster.flavor == "docker":
        with pytest.raises(Refused):  # plain Docker has no rolling update: that's what orchestrators add
            web.update("web-server:2")
        return
    web.update("web-server:2").wait(TIMEOUT)
    assert running(cluster, "web", "web-server:2") == 3
    assert [image for _, image in web.history()][-1] == "web-server:2"
    web.rollback().wait(TIMEOUT)
    cluster.wait(TIMEOUT, until=lambda s: s.count("web", phase=None) == 3)
    assert running(cluster, "web", "web-server:1") == 3


def test_killed_replica_is_replaced_by_an_orchestrator_only(cluster):
    web = cluster.deploy("web", "web-server:1", replicas=3)
    web.wait(TIMEOUT)
    victim = cluster.kill_replica()
    if cluster.flavor == "docker":  # nobody watches a plain container
        cluster.run(10)
        assert running(cluster, "web") == 2
        assert victim not in {r.name for r in cluster.state().replicas if r.phase == "running"}
        return
    # a real engine needs a moment to notice (the count drops, the victim restarts, or, on
    # Kubernetes, the deleted pod is gone); then the orchestrator brings the count back
    cluster.wait(TIMEOUT, until=lambda s: s.workload("web").ready < 3 or any(
        r.name == victim and r.restarts for r in s.replicas) or not any(
        r.name == victim and r.phase == "running" for r in s.replicas))
    web.wait(TIMEOUT)
    assert running(cluster, "web") == 3


def test_failed_node_replicas_come_back_elsewhere(cluster):
    web = cluster.deploy("web", "web-server:1", replicas=4)
    web.wait(TIMEOUT)
    if cluster.flavor == "docker":
        node = cluster.nodes[0]
        cluster.fail_node(node)  # the one host fails: everything is lost
        cluster.run(5)
        assert running(cluster, "web") == 0
        with pytest.raises(Timeout, match="web 0/4 ready"):  # and nothing brings it back
            cluster.wait(5)
        cluster.recover_node(node)
        return
    state = cluster.state()
    workers = [n.name for n in state.nodes if n.role == "worker" and state.replicas_on(n.name)]
    victim = workers[-1]
    cluster.fail_node(victim)
    # wait() returns only once the engine has reacted: right after the failure the old
    # replicas still look healthy, because nobody has noticed yet.
    state = cluster.wait(NODE_TIMEOUT)
    assert not state.node(victim).ready
    assert not [r.name for r in state.replicas_on(victim) if r.phase == "running" and r.ready]
    assert sum(1 for r in state.replicas_of("web") if r.phase == "running" and r.ready) == 4
    cluster.recover_node(victim)
    # and wait() returns only once the node is seen back (a Swarm node takes seconds to rejoin)
    assert cluster.wait(NODE_TIMEOUT).node(victim).ready
    web.wait(TIMEOUT)
    assert running(cluster, "web") == 4


def test_reset_removes_what_labkit_made(cluster):
    cluster.deploy("web", "web-server:1", replicas=2).wait(TIMEOUT)
    cluster.reset()
    assert cluster.state().workloads == ()


def test_the_cluster_says_what_runs_underneath(cluster):
    """Every lesson's first line: the simulator (and the release it follows) or which real engine."""
    from labkit.backends.sim import versions
    line = cluster.about()
    expected = {"sim": versions.engine(cluster.flavor), "docker": "the real Docker Engine ",
                "swarm": "a real swarm of Docker Engine ", "kubernetes": "Kubernetes "}[cluster.name]
    if getattr(cluster.backend, "served_simulator", False):
        expected = versions.engine("kubernetes")
    assert line.startswith(f"This runs on {expected}"), line
    assert ("virtual" in line) == (not cluster.live)
    if cluster.name == "sim":
        assert versions.KUBERNETES in line if cluster.flavor == "kubernetes" else versions.DOCKER_ENGINE in line
    if getattr(cluster.backend, "served_simulator", False):
        assert f"labkit's simulator of Kubernetes {versions.KUBERNETES}, served" in line
    elif cluster.name != "sim":
        assert "simulator" not in line
