"""The simulator's scheduler: filter (ready, schedulable, room), score (spread), pace (~100 pods/s).

Rules from the issue: at most 110 pods per node; requests within
allocatable; the control-plane node is tainted (no workload pods there);
replicas of one workload are spread over the nodes; pods that fit nowhere
stay Pending (never dropped) and are placed once room frees.
"""
from __future__ import annotations

from collections import Counter

import pytest

import labkit


def placed(cluster, workload: str | None = None) -> Counter:
    return Counter(r.node for r in cluster.state().replicas
                   if r.node and r.phase != "terminating" and (workload is None or r.workload == workload))


def pending(cluster, workload: str | None = None) -> list:
    return [r for r in cluster.state().replicas
            if r.phase == "pending" and r.node is None and (workload is None or r.workload == workload)]


def assert_within_capacity(state) -> None:
    for node in state.nodes:
        assert node.pods_allocated <= node.pods_capacity, node
        assert node.cpu_allocated <= node.cpu_capacity, node
        assert node.memory_allocated <= node.memory_capacity, node


# -- spread ----------------------------------------------------------------------------------
@pytest.mark.parametrize("nodes,replicas", [(3, 9), (3, 10), (4, 7), (5, 50), (10, 1000)])
def test_replicas_of_one_workload_are_spread_evenly(nodes, replicas):
    cluster = labkit.connect("sim", nodes=nodes, seed=3)
    cluster.deploy("web", "web-server:1", replicas=replicas)
    cluster.wait(timeout=60)
    counts = placed(cluster, "web")
    assert sum(counts.values()) == replicas
    assert len(counts) == min(nodes, replicas)
    assert max(counts.values()) - min(counts.values()) <= 1, counts


def test_each_workload_is_spread_on_its_own_even_when_nodes_are_unevenly_loaded():
    cluster = labkit.connect("sim", nodes=3, seed=3)
    cluster.deploy("a", "web-server:1", replicas=2)  # node-1 and node-2 get one each
    cluster.wait()
    cluster.deploy("b", "web-server:1", replicas=3)
    cluster.wait()
    assert sorted(placed(cluster, "b").values()) == [1, 1, 1]  # one per node, not all on node-3
    total = placed(cluster)
    assert max(total.values()) - min(total.values()) <= 1


def test_scale_up_after_a_node_joins_fills_the_new_node_first():
    cluster = labkit.connect("sim", nodes=2, seed=3)
    web = cluster.deploy("web", "web-server:1", replicas=4)
    cluster.wait()
    new = cluster.add_node()
    web.scale(6)
    cluster.wait()
    assert placed(cluster, "web")[new] == 2


def test_no_workload_pod_on_the_tainted_control_plane():
    cluster = labkit.connect("sim", nodes=2, seed=3)
    state = cluster.state()
    plane = [n for n in state.nodes if n.role == "control-plane"]
    assert len(plane) == 1 and not plane[0].schedulable
    cluster.deploy("web", "web-server:1", replicas=300)  # more than the workers hold
    cluster.run(30)
    assert placed(cluster)[plane[0].name] == 0
    assert any("untolerated taint" in e.message for e in cluster.events() if e.reason == "FailedScheduling")


# -- filter: capacity ---------------------------------------------------------------------------
def test_at_most_110_pods_per_node_the_rest_stay_pending():
    cluster = labkit.connect("sim", nodes=2, seed=3)
    cluster.deploy("web", "web-server:1", replicas=250)
    cluster.run(30)
    state = cluster.state()
    assert all(n.pods_capacity == 110 for n in state.nodes)
    assert placed(cluster) == Counter({"node-1": 110, "node-2": 110})
    waiting = pending(cluster)
    assert len(waiting) == 30 and all(r.reason == "Unschedulable" for r in waiting)
    assert_within_capacity(state)
    failed = [e for e in cluster.events() if e.reason == "FailedScheduling"]
    assert failed and all(e.type == "Warning" and "Too many pods" in e.message for e in failed)
    assert state.workload("web").current == 250  # pending, never dropped
    cluster.run(300)
    assert len(pending(cluster)) == 30


def test_cpu_requests_stay_within_allocatable():
    cluster = labkit.connect("sim", nodes=3, seed=3)  # 4000 millicores each
    cluster.deploy("web", "web-server:1", replicas=14, cpu=1000)
    cluster.run(20)
    state = cluster.state()
    assert placed(cluster) == Counter({"node-1": 4, "node-2": 4, "node-3": 4})
    assert [n.cpu_allocated for n in state.nodes if n.role == "worker"] == [4000] * 3
    assert len(pending(cluster)) == 2
    assert_within_capacity(state)
    assert any("Insufficient cpu" in e.message for e in cluster.events() if e.reason == "FailedScheduling")


def test_memory_requests_stay_within_allocatable():
    cluster = labkit.connect("sim", nodes=2, seed=3, node_memory=1024)
    cluster.deploy("web", "web-server:1", replicas=8, memory=300)  # 3 fit in 1024 MiB, not 4
    cluster.run(20)
    assert placed(cluster) == Counter({"node-1": 3, "node-2": 3})
    assert len(pending(cluster)) == 2
    assert_within_capacity(cluster.state())
    assert any("Insufficient memory" in e.message for e in cluster.events() if e.reason == "FailedScheduling")


def test_a_pod_bigger_than_any_node_stays_pending_forever():
    cluster = labkit.connect("sim", nodes=3, seed=3)
    big = cluster.deploy("big", "web-server:1", replicas=1, cpu=5000)
    cluster.run(600)
    (replica,) = big.replicas()
    assert replica.phase == "pending" and replica.node is None and replica.reason == "Unschedulable"
    with pytest.raises(labkit.Timeout) as info:
        cluster.wait(timeout=10)
    assert "pending" in info.value.message and info.value.hint


def test_pending_pods_are_placed_once_room_frees():
    cluster = labkit.connect("sim", nodes=2, seed=3)
    a = cluster.deploy("a", "web-server:1", replicas=8, cpu=1000)
    b = cluster.deploy("b", "web-server:1", replicas=2, cpu=1000)
    cluster.run(20)
    assert sum(placed(cluster, "a").values()) == 8
    assert len(pending(cluster, "b")) == 2
    a.scale(6)
    cluster.wait(timeout=30)
    assert sum(placed(cluster, "b").values()) == 2
    assert all(r.phase == "running" for r in b.replicas())
    assert_within_capacity(cluster.state())


def test_pending_pods_are_placed_when_a_node_joins():
    cluster = labkit.connect("sim", nodes=1, seed=3)
    cluster.deploy("web", "web-server:1", replicas=6, cpu=1000)
    cluster.run(20)
    assert len(pending(cluster)) == 2
    node = cluster.add_node()
    cluster.wait(timeout=30)
    assert placed(cluster)[node] == 2


def test_pending_pods_are_placed_after_uncordon():
    cluster = labkit.connect("sim", nodes=2, seed=3)
    cluster.deploy("web", "web-server:1", replicas=6, cpu=1000)
    cluster.wait(timeout=30)
    cluster.drain("node-2")
    cluster.run(20)
    assert placed(cluster) == Counter({"node-1": 4})
    assert len(pending(cluster)) == 2
    assert cluster.state().node("node-2").status == "Ready,SchedulingDisabled"
    cluster.uncordon("node-2")
    cluster.wait(timeout=30)
    assert placed(cluster) == Counter({"node-1": 4, "node-2": 2})


def test_scaling_down_removes_pods_that_were_never_scheduled():
    cluster = labkit.connect("sim", nodes=2, seed=3)
    web = cluster.deploy("web", "web-server:1", replicas=250)
    cluster.run(30)
    web.scale(200)
    cluster.run(10)
    assert [r for r in web.replicas() if r.node is None] == []
    assert len(web.replicas()) == 200


def test_deleting_a_workload_removes_its_pending_pods():
    cluster = labkit.connect("sim", nodes=1, seed=3)
    web = cluster.deploy("web", "web-server:1", replicas=6, cpu=1000)
    cluster.run(10)
    web.delete()
    cluster.run(30)
    assert cluster.state().replicas == ()


# -- pacing --------------------------------------------------------------------------------------
def test_scheduler_binds_about_100_pods_per_second():
    cluster = labkit.connect("sim", nodes=10, seed=3)
    start = cluster.now()
    cluster.deploy("web", "web-server:1", replicas=1000)
    cluster.wait(timeout=100)
    times = sorted(e.time - start for e in cluster.events() if e.reason == "Scheduled")
    assert len(times) == 1000
    assert 90 <= sum(1 for t in times if t < 1.0) <= 120
    assert 8.5 <= times[-1] <= 11  # 1000 pods at ~100/s
    # and a pod starts about a second after it is bound (image pull + start)
    assert 9 <= cluster.now() - start <= 14


def test_scheduler_stopped_leaves_pods_pending_and_catches_up():
    cluster = labkit.connect("sim", nodes=2, seed=3)
    cluster.stop_component("scheduler")
    web = cluster.deploy("web", "web-server:1", replicas=4)
    cluster.run(30)
    assert len(pending(cluster, "web")) == 4
    assert not any(e.reason == "Scheduled" for e in cluster.events())
    assert [c.running for c in cluster.state().components if c.name == "scheduler"] == [False]
    cluster.start_component("scheduler")
    cluster.wait(timeout=30)
    assert web.status().ready == 4


def test_scheduled_event_names_the_node():
    cluster = labkit.connect("sim", nodes=2, seed=3)
    web = cluster.deploy("web", "web-server:1", replicas=2)
    cluster.wait()
    for replica in web.replicas():
        (event,) = [e for e in cluster.events() if e.reason == "Scheduled" and e.object == f"pod/{replica.name}"]
        assert event.message.endswith(f"to {replica.node}") and event.source == "scheduler"


def test_swarm_scheduler_uses_every_node_including_managers():
    cluster = labkit.connect("sim", flavor="swarm", nodes=3, seed=3)
    cluster.deploy("web", "web-server:1", replicas=6)
    cluster.wait()
    assert placed(cluster) == Counter({"node-1": 2, "node-2": 2, "node-3": 2})


def test_thousands_of_pods_never_share_a_name():
    """Generated names have 27^5 suffixes: at thousands of pods two draws meet, and a second pod
    of the same name would replace the first in the store (the scheduler never saw it again).
    The replica set controller draws again, as a real one does after the API's AlreadyExists."""
    cluster = labkit.connect("sim", nodes=20, seed=0)
    web = cluster.deploy("web", "web-server:1", replicas=2000)
    cluster.wait()
    web.update("web-server:2")
    state = cluster.wait(timeout=900)
    pods = state.replicas_of("web")
    assert len(pods) == len({p.name for p in pods}) == 2000
    assert all(p.phase == "running" and p.image == "web-server:2" for p in pods)
    created = [e.message for e in cluster.events() if e.reason == "SuccessfulCreate"]
    assert len(created) == len(set(created)) == 4000  # 2000 + 2000, every name made once
