"""The simulator's foundations: the etcd-like store, the API server's admission, the clock.

Store: every write bumps one global revision and stamps the object with it;
watchers of a kind hear ADDED / MODIFIED / DELETED; a store that is down
refuses reads and writes with `labkit.Unavailable`, and so does every change
made through the facade while etcd (or the API server) is stopped.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest

import labkit
from labkit.backends.sim.api import APIServer
from labkit.backends.sim.clock import Clock
from labkit.backends.sim.store import Store
from labkit.errors import AlreadyExists, LabkitError, Unavailable


def obj(name: str, **fields) -> SimpleNamespace:
    return SimpleNamespace(name=name, resource_version=0, **fields)


# -- the store -------------------------------------------------------------------------------
def test_revision_grows_by_one_per_write_and_stamps_the_object():
    store = Store()
    assert store.revision == 0
    a, b = obj("a"), obj("b")
    assert store.put("pods", "a", a) == 1
    assert store.put("pods", "b", b) == 2
    assert store.put("nodes", "a", obj("a")) == 3  # one revision for the whole store, not per kind
    assert (a.resource_version, b.resource_version) == (1, 2)
    assert store.put("pods", "a", a) == 4  # a modification is a new revision too
    assert a.resource_version == 4
    assert store.delete("pods", "b") == 5
    assert store.revision == 5


def test_revisions_strictly_increase_over_many_writes():
    store = Store()
    seen = []
    for i in range(50):
        seen.append(store.put("pods", f"p{i % 7}", obj(f"p{i % 7}")))
        if i % 5 == 0:
            seen.append(store.delete("pods", f"p{i % 7}"))
    assert seen == sorted(seen) and len(set(seen)) == len(seen)


def test_deleting_a_missing_key_changes_nothing():
    store = Store()
    store.put("pods", "a", obj("a"))
    heard = []
    store.watch("pods", lambda ev, o: heard.append(ev))
    assert store.delete("pods", "nope") == 1
    assert store.revision == 1 and heard == []


def test_get_list_and_items():
    store = Store()
    a = obj("a")
    store.put("pods", "a", a)
    assert store.get("pods", "a") is a
    assert store.get("pods", "b") is None
    assert store.get("nodes", "a") is None
    assert store.list("pods") == [a]
    assert store.items("pods") == {"a": a}
    assert store.list("services") == [] and store.items("services") == {}


def test_watchers_hear_added_modified_deleted_in_order():
    store = Store()
    heard: list[tuple[str, str, int]] = []
    store.watch("pods", lambda ev, o: heard.append((ev, o.name, o.resource_version)))
    a = obj("a")
    store.put("pods", "a", a)
    store.put("pods", "a", a)
    store.put("pods", "b", obj("b"))
    store.delete("pods", "a")
    assert heard == [("ADDED", "a", 1), ("MODIFIED", "a", 2), ("ADDED", "b", 3), ("DELETED", "a", 4)]


def test_watchers_only_hear_their_kind_and_all_watchers_hear():
    store = Store()
    pods1, pods2, nodes = [], [], []
    store.watch("pods", lambda ev, o: pods1.append(ev))
    store.watch("pods", lambda ev, o: pods2.append(ev))
    store.watch("nodes", lambda ev, o: nodes.append(ev))
    store.put("pods", "a", obj("a"))
    store.put("services", "s", obj("s"))
    assert pods1 == pods2 == ["ADDED"]
    assert nodes == []


def test_watcher_sees_the_committed_object_and_revision():
    store = Store()
    seen = []
    store.watch("pods", lambda ev, o: seen.append((store.revision, o.resource_version, store.get("pods", "a"))))
    a = obj("a")
    store.put("pods", "a", a)
    assert seen == [(1, 1, a)]


def test_log_records_operations_with_keys():
    store = Store(log_size=3)
    store.put("pods", "a", obj("a"))
    store.put("pods", "a", obj("a"))
    store.delete("pods", "a")
    store.put("nodes", "n", obj("n"))
    assert list(store.log) == [(2, "MODIFIED", "/registry/pods/a"), (3, "DELETED", "/registry/pods/a"),
                               (4, "ADDED", "/registry/nodes/n")]


def test_store_down_refuses_reads_and_writes():
    store = Store()
    store.put("pods", "a", obj("a"))
    heard = []
    store.watch("pods", lambda ev, o: heard.append(ev))
    store.up = False
    for action in (lambda: store.get("pods", "a"), lambda: store.list("pods"),
                   lambda: store.put("pods", "b", obj("b")), lambda: store.delete("pods", "a")):
        with pytest.raises(Unavailable) as info:
            action()
        assert isinstance(info.value, LabkitError) and info.value.hint
    assert store.revision == 1 and heard == []
    store.up = True
    assert store.get("pods", "a") is not None and store.get("pods", "b") is None


# -- the API server ------------------------------------------------------------------------
def test_api_admission_refuses_taken_names_and_down_components():
    clock = Clock()
    store = Store()
    api = APIServer(store, clock, "kubernetes")
    api.admit_new("deployments", "web")
    api.write("deployments", obj("web"))
    with pytest.raises(AlreadyExists):
        api.admit_new("deployments", "web")
    api.admit_new("services", "web")  # another kind: free
    store.up = False
    assert not api.reachable
    with pytest.raises(Unavailable, match="etcd"):
        api.check()
    store.up = True
    api.running = False
    with pytest.raises(Unavailable, match="API server"):
        api.check()
    api.running = True
    api.has_quorum = lambda: False
    with pytest.raises(Unavailable, match="leader"):
        api.check()


def test_api_records_events_at_clock_time():
    clock = Clock()
    api = APIServer(Store(), clock, "kubernetes")
    clock.run_until(12.5)
    api.record("Scheduled", "pod/x", "assigned", source="scheduler")
    assert list(api.events) == [(12.5, "Scheduled", "pod/x", "assigned", "Normal", "scheduler")]


# -- the clock --------------------------------------------------------------------------------
def test_clock_runs_callbacks_in_time_order_then_in_request_order():
    clock = Clock()
    ran = []
    clock.call_at(2.0, lambda: ran.append(("b", clock.now)))
    clock.call_at(1.0, lambda: ran.append(("a", clock.now)))
    clock.call_at(2.0, lambda: ran.append(("c", clock.now)))
    clock.call_later(0.0, lambda: ran.append(("now", clock.now)))
    clock.run_until(1.5)
    assert ran == [("now", 0.0), ("a", 1.0)] and clock.now == 1.5
    clock.run_until(5)
    assert ran[2:] == [("b", 2.0), ("c", 2.0)] and clock.now == 5 and clock.idle


def test_clock_never_schedules_in_the_past_and_callbacks_may_schedule_more():
    clock = Clock()
    clock.run_until(10)
    ran = []
    clock.call_at(3.0, lambda: ran.append(clock.now))  # in the past: runs "now"
    clock.call_later(1.0, lambda: clock.call_later(1.0, lambda: ran.append(clock.now)))
    clock.run_until(20)
    assert ran == [10.0, 12.0]


def test_clock_jitter_is_seeded():
    a, b, c = Clock(5), Clock(5), Clock(6)
    draws = [a.jitter(0.5, 1.5) for _ in range(5)]
    assert draws == [b.jitter(0.5, 1.5) for _ in range(5)]
    assert draws != [c.jitter(0.5, 1.5) for _ in range(5)]
    assert all(0.5 <= d <= 1.5 for d in draws)


# -- through the facade -------------------------------------------------------------------------
def test_state_version_is_the_store_revision_and_grows_with_changes():
    cluster = labkit.connect("sim", nodes=2, seed=0)
    v0 = cluster.state().version
    assert v0 == cluster.backend.store.revision > 0  # the nodes registered
    web = cluster.deploy("web", "web-server:1", replicas=2)
    v1 = cluster.state().version
    assert v1 > v0
    cluster.wait()
    cluster.run(1)  # the deployment controller's last status update (rollout complete)
    v2 = cluster.state().version
    assert v2 > v1
    cluster.run(30)  # nothing to do: a converged cluster writes nothing
    assert cluster.state().version == v2
    web.scale(3)
    assert cluster.state().version > v2


@pytest.mark.parametrize("component", ["etcd", "api-server"])
def test_a_stopped_store_or_api_server_refuses_changes_and_changes_nothing(component):
    cluster = labkit.connect("sim", nodes=2, seed=0)
    web = cluster.deploy("web", "web-server:1", replicas=2)
    cluster.wait()
    cluster.stop_component(component)
    before = cluster.state()
    refused = [lambda: cluster.deploy("other", "web-server:1"), lambda: web.scale(5),
               lambda: web.update("web-server:2"), lambda: web.delete(), lambda: cluster.drain("node-1")]
    for change in refused:
        with pytest.raises(Unavailable) as info:
            change()
        assert info.value.hint
    assert cluster.state() == before
    cluster.run(20)  # running pods keep running
    assert cluster.state().count("web") == 2
    cluster.start_component(component)
    web.scale(3)
    cluster.wait(timeout=30)
    assert cluster.state().count("web") == 3


def test_etcd_down_while_pods_start_does_not_break_time():
    cluster = labkit.connect("sim", nodes=2, seed=0)
    web = cluster.deploy("web", "web-server:1", replicas=4)
    cluster.run(0.3)  # scheduled, images being pulled: kubelet steps in flight
    cluster.stop_component("etcd")
    cluster.run(10)  # must not raise: components wait for etcd, as the controllers do
    cluster.start_component("etcd")
    cluster.wait(timeout=60)
    assert web.status().ready == 4


def test_controllers_wait_for_etcd_and_catch_up_when_it_returns():
    cluster = labkit.connect("sim", nodes=2, seed=0)
    web = cluster.deploy("web", "web-server:1", replicas=2)
    cluster.wait()
    cluster.stop_component("etcd")
    cluster.run(30)
    assert cluster.state().count("web") == 2  # running pods keep running
    cluster.start_component("etcd")
    web.scale(4)
    cluster.wait(timeout=60)
    assert web.status().ready == 4


def test_killing_a_container_while_etcd_is_down_is_local_and_heals():
    cluster = labkit.connect("sim", nodes=2, seed=0)
    web = cluster.deploy("web", "web-server:1", replicas=2)
    cluster.wait()
    cluster.stop_component("etcd")
    cluster.kill_replica()  # docker kill on the node: needs no etcd; the kubelet restarts it locally
    cluster.run(5)
    cluster.start_component("etcd")
    cluster.run(5)  # the kubelet reports what happened once etcd answers
    cluster.wait(timeout=60)
    assert web.status().ready == 2
    assert sum(r.restarts for r in web.replicas()) == 1
