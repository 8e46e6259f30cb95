"""The Docker backends' own logic, with a fake docker client and no daemon (each test in milliseconds).

- The error mapping (`common.labkit_error`): each docker-py or requests exception becomes
  which labkit error, with which hint; `tolerate`, and `speaks_labkit` naming the failed call.
- The docker backend's workload records: deploy, scale (stopped containers go first), delete,
  reset, a failed deploy that leaves nothing, workloads adopted from an earlier session,
  a host failure; the snapshot's version moving only when the picture changes.
- The swarm's rollback adapter: the request it sends (path, query, body) and what a refusal raises;
  the swarm backend records a rollback as a new revision.
- `swarm_managers`: how many managers a swarm may lose, what it says when its quorum is lost,
  and which manager labkit talks to; a change sent again through leader elections, for a
  bounded time, and refused at once when a majority of managers goes down meanwhile.
- The playground's lock file of a lab: removed with the lab's machines, unless a process holds it.
"""
from __future__ import annotations

import json
import os
import threading
from types import SimpleNamespace
from unittest import mock

import docker
import pytest
import requests

from labkit.backends.docker import common as du
from labkit.backends.base import LABEL, DeploySpec
from labkit.errors import AlreadyExists, InvalidInput, NotFound, Refused, Unavailable
from fake_docker import FakeEngine, api_error, make_fake_client, response

IMAGE = "example/app:1"  # not a demo image: the backend never tries to build it


# -- the error mapping ---------------------------------------------------------------------
@pytest.mark.parametrize("exc, kind, said, hint", [
    (api_error(404, "No such image: ghost:1"), NotFound, "No such image: ghost:1", "docker pull"),
    (api_error(404, "No such container: web.1"), NotFound, "No such container: web.1", "cluster.state()"),
    (api_error(409, 'Conflict. The container name "/web.1" is already in use'), AlreadyExists, "already in use",
     "pick another name"),
    (api_error(400, "Invalid container name (bad name!)"), InvalidInput, "Invalid container name", "names and values"),
    (api_error(403, "operation not permitted"), Refused, "operation not permitted", "docker group"),
    (api_error(503, "The swarm does not have a leader"), Unavailable, "does not have a leader", "recover_node"),
    (api_error(500, "dial tcp: no such host"), Unavailable, "no such host", "journalctl -u docker"),
    (requests.ConnectionError("Connection refused"), Unavailable, "does not answer", "systemctl start docker"),
    (requests.ReadTimeout("read timed out"), Unavailable, "did not answer in time", "try again"),
    (docker.errors.InvalidArgument("port 'x' is not valid"), InvalidInput, "port 'x' is not valid", "names and values"),
    (docker.errors.DockerException("Error while fetching server API version"), Unavailable,
     "Error while fetching server API version", "docker info"),
])
def test_each_engine_error_becomes_a_labkit_error_with_a_next_step(exc, kind, said, hint):
    error = du.labkit_error(exc, "scale('web')")
    assert type(error) is kind
    assert said in error.message and "(in scale('web'))" in error.message
    assert hint in error.hint


def test_docker_py_tells_images_from_other_missing_things():
    assert type(api_error(404, "No such image: ghost:1")) is docker.errors.ImageNotFound
    assert type(api_error(404, "No such service: web")) is docker.errors.NotFound


def test_engine_errors_translates_only_the_engines_exceptions():
    with pytest.raises(NotFound, match="No such container: web.1") as caught:
        with du.engine_errors("start_container('web.1')"):
            raise api_error(404, "No such container: web.1")
    assert isinstance(caught.value.__cause__, docker.errors.NotFound)  # kept for whoever debugs
    refused = Refused("labkit's own", "hint")
    with pytest.raises(Refused) as caught:
        with du.engine_errors("x"):
            raise refused
    assert caught.value is refused
    with pytest.raises(KeyError):  # a bug of ours stays a bug, not an engine error
        with du.engine_errors("x"):
            raise KeyError("spec")


def test_tolerate_lets_only_the_statuses_named_pass():
    with du.tolerate(404, 409):
        raise api_error(409, "Container abc is not running")
    with du.tolerate(404):
        raise api_error(404, "No such container: abc")
    with pytest.raises(docker.errors.APIError, match="is not running"):
        with du.tolerate(404):
            raise api_error(409, "Container abc is not running")


def test_engine_words_are_the_daemons_message():
    assert du.engine_words(api_error(500, "node lost leader status")) == "node lost leader status"
    assert du.engine_words(docker.errors.APIError("rpc error: lost leader status")) == "rpc error: lost leader status"


def test_speaks_labkit_wraps_public_methods_and_names_the_call():
    @du.speaks_labkit
    class Backend:
        def __init__(self, fail: bool = False) -> None:
            if fail:
                raise requests.ConnectionError("refused")

        def scale(self, name: str, replicas: int) -> None:
            raise api_error(404, f"No such service: {name}")

        def deploy(self, spec: DeploySpec) -> None:
            raise api_error(409, "name conflicts with an existing object")

        def _private(self) -> None:
            raise api_error(500, "boom")

    with pytest.raises(NotFound, match=r"No such service: web \(in scale\('web'\)\)"):
        Backend().scale("web", 3)
    with pytest.raises(AlreadyExists, match=r"in deploy\('api'\)"):
        Backend().deploy(DeploySpec(name="api", image=IMAGE))
    with pytest.raises(Unavailable, match=r"in connect\)"):
        Backend(fail=True)
    with pytest.raises(docker.errors.APIError):  # private helpers are left alone
        Backend()._private()
    assert Backend.scale.__name__ == "scale"


# -- the docker backend's workload records ------------------------------------------------------
@pytest.fixture
def dockerd():  # not `engine`: conftest files a test using that name with the real engines'
    return FakeEngine(images=(IMAGE, "example/app:2"))


@pytest.fixture
def backend(dockerd, monkeypatch):
    from labkit.backends.docker.engine import DockerBackend
    client = make_fake_client(dockerd)
    monkeypatch.setattr(du, "connect", lambda base_url=None: client)
    return DockerBackend(lab="unit", reaper=False, quiet=True)


def running(backend) -> list[str]:
    return [r.name for r in backend.state().replicas if r.phase == "running"]


def test_deploy_records_the_workload_and_starts_its_containers(backend, dockerd):
    backend.deploy(DeploySpec(name="web", image=IMAGE, replicas=3, env={"COLOR": "blue"}))
    assert dockerd.names() == ["web.1", "web.2", "web.3"]
    (web,) = backend.state().workloads
    assert (web.name, web.image, web.desired, web.current, web.ready, web.revision) == ("web", IMAGE, 3, 3, 3, 1)
    assert backend.history("web") == [(1, IMAGE)]
    labels = dockerd.inspect("web.2")["Config"]["Labels"]
    assert labels[LABEL] == "unit" and labels[du.WORKLOAD] == "web" and labels[du.REVISION] == "1"
    create = backend.client.api.create_container.call_args.kwargs
    assert create["environment"] == {"COLOR": "blue"} and create["hostname"] == "web-3"


def test_scale_down_removes_stopped_containers_first_then_the_highest(backend, dockerd):
    backend.deploy(DeploySpec(name="web", image=IMAGE, replicas=4))
    dockerd.set_state("exited")("web.2")
    backend.scale("web", 2)
    assert dockerd.names() == ["web.1", "web.3"]
    assert backend.state().workloads[0].desired == 2
    backend.scale("web", 4)  # the free numbers come back
    assert dockerd.names() == ["web.1", "web.2", "web.3", "web.4"]
    assert running(backend) == ["web.1", "web.2", "web.3", "web.4"]


def test_a_failed_deploy_leaves_no_record_and_no_container(backend, dockerd):
    create = dockerd.create

    def third_fails(**options):
        if options["name"] == "web.3":
            raise api_error(500, "no space left on device")
        return create(**options)
    backend.client.api.create_container.side_effect = third_fails
    with pytest.raises(Unavailable, match=r"failed \(in deploy\('web'\)\): no space left on device") as caught:
        backend.deploy(DeploySpec(name="web", image=IMAGE, replicas=3))
    assert "journalctl" in caught.value.hint
    assert dockerd.names() == []
    assert backend.state().workloads == ()
    with pytest.raises(NotFound, match="no workload named 'web'"):
        backend.history("web")


def test_a_missing_image_is_not_found_with_the_demo_images_named(backend, dockerd):
    with pytest.raises(NotFound, match="'ghost:1' is not on this Docker engine and cannot be pulled") as caught:
        backend.deploy(DeploySpec(name="web", image="ghost:1"))
    assert "web-server:1" in caught.value.hint
    assert dockerd.names() == [] and backend.state().workloads == ()


def test_a_taken_name_in_the_engine_is_refused_before_anything_starts(backend, dockerd):
    dockerd.add("web.2", IMAGE, {})  # the user's own container, not labkit's
    with pytest.raises(AlreadyExists, match="not labkit's"):
        backend.deploy(DeploySpec(name="web", image=IMAGE, replicas=2))
    assert dockerd.names() == ["web.2"] and backend.state().workloads == ()


def test_delete_and_reset_forget_the_records(backend, dockerd):
    backend.deploy(DeploySpec(name="web", image=IMAGE, replicas=2))
    backend.deploy(DeploySpec(name="api", image=IMAGE))
    backend.delete("web")
    assert dockerd.names() == ["api.1"]
    with pytest.raises(NotFound):
        backend.scale("web", 1)
    backend.reset()
    assert dockerd.names() == [] and backend.state().workloads == ()


def test_workloads_left_by_an_earlier_session_are_adopted(dockerd, monkeypatch):
    from labkit.backends.docker.engine import DockerBackend
    for i in (1, 2):
        dockerd.add(f"old.{i}", "example/app:2", du.labels("unit", "replica", **{
            du.WORKLOAD: "old", du.REVISION: "3", LABEL + ".image": "example/app:2"}))
    dockerd.add("other.1", IMAGE, du.labels("another-lab", "replica", **{du.WORKLOAD: "other"}))
    client = make_fake_client(dockerd)
    monkeypatch.setattr(du, "connect", lambda base_url=None: client)
    backend = DockerBackend(lab="unit", reaper=False, quiet=True)
    (old,) = backend.state().workloads
    assert (old.name, old.image, old.desired, old.revision) == ("old", "example/app:2", 2, 3)
    assert backend.history("old") == [(3, "example/app:2")]
    assert backend.service("old") is None  # no spec kept, and its containers publish nothing
    backend.scale("old", 3)
    assert dockerd.inspect("old.3")["Config"]["Labels"][du.REVISION] == "3"


def test_removing_tolerates_gone_containers_but_not_a_failing_engine(backend, dockerd):
    gone = SimpleNamespace(id="f" * 64)
    backend._remove([gone])  # 404: gone already
    backend.client.api.remove_container.side_effect = api_error(409, "removal of container x is already in progress")
    backend._remove([gone])
    backend.client.api.remove_container.side_effect = api_error(500, "device or resource busy")
    with pytest.raises(docker.errors.APIError):
        backend._remove([gone])


def test_a_host_failure_stops_everything_and_brings_back_only_restart_always(backend, dockerd):
    backend.run_container("always-on", IMAGE, "always")
    backend.deploy(DeploySpec(name="web", image=IMAGE, replicas=2))
    backend.fail_node("node-1")
    state = backend.state()
    assert {r.reason for r in state.replicas} == {"HostDown"} and not state.nodes[0].ready
    with pytest.raises(Unavailable, match="host .* is down"):
        backend.scale("web", 3)
    backend.recover_node("node-1")
    assert running(backend) == ["always-on"]
    assert [e.reason for e in backend.events()] == ["NodeDown", "NodeUp"]
    assert backend.events()[0].type == "Warning"


def test_the_snapshot_version_moves_only_when_the_picture_changes(backend, dockerd):
    first = backend.state().version
    assert backend.state().version == first
    backend.deploy(DeploySpec(name="web", image=IMAGE))
    assert backend.state().version == first + 1 == backend.state().version


def test_an_engine_that_stops_answering_is_unavailable_with_how_to_start_one(backend):
    backend.client.api.containers.side_effect = requests.ConnectionError("Connection refused")
    with pytest.raises(Unavailable, match=r"does not answer \(in state\)") as caught:
        backend.state()
    assert caught.value.hint == du.NO_DAEMON_HINT


def test_plain_docker_refuses_what_an_orchestrator_does(backend):
    backend.deploy(DeploySpec(name="web", image=IMAGE))
    with pytest.raises(Refused, match="no rolling update"):
        backend.update("web", "example/app:2", None)
    with pytest.raises(NotFound):
        backend.rollback("api")


# -- the swarm's rollback adapter ------------------------------------------------------------
def test_rollback_asks_the_manager_for_the_previous_spec():
    from labkit.backends.docker.swarm import rollback_service
    api = docker.APIClient(base_url="unix:///nonexistent/docker.sock", version="1.41")
    spec = {"Name": "web", "Labels": {LABEL: "unit"}, "Mode": None}
    with mock.patch.object(api, "post", return_value=response(200, {"Warnings": None})) as post:
        rollback_service(api, "svc123", 7, spec)
    (url,), sent = post.call_args
    assert url == "http+docker://localhost/v1.41/services/svc123/update"
    assert sent["params"] == {"version": 7, "rollback": "previous"}
    assert json.loads(sent["data"]) == {"Name": "web", "Labels": {LABEL: "unit"}}  # None left out
    assert sent["headers"]["Content-Type"] == "application/json"


def test_a_refused_rollback_raises_docker_pys_error():
    from labkit.backends.docker.swarm import rollback_service
    api = docker.APIClient(base_url="unix:///nonexistent/docker.sock", version="1.41")
    with mock.patch.object(api, "post", return_value=response(404, {"message": "service svc123 not found"})):
        with pytest.raises(docker.errors.NotFound, match="service svc123 not found"):
            rollback_service(api, "svc123", 7, {})
    with mock.patch.object(api, "post", return_value=response(500, {"message": "update out of sequence"})):
        with pytest.raises(docker.errors.APIError) as caught:
            rollback_service(api, "svc123", 7, {})
    assert type(du.labkit_error(caught.value)) is Unavailable


def swarm_with(service_attrs: dict):
    """A SwarmBackend on your own engine (no playground), built without connecting."""
    from labkit.backends.docker.swarm import SwarmBackend
    swarm = SwarmBackend.__new__(SwarmBackend)
    du.RealTime.__init__(swarm)
    client = make_fake_client()
    client.api.inspect_service.return_value = service_attrs
    client.api.services.return_value = []
    swarm.host, swarm.managers, swarm.pg, swarm.lab = client, None, None, "unit"
    swarm._lock, swarm._history = threading.RLock(), {}
    return swarm


def test_a_swarm_rollback_goes_through_the_adapter_and_is_a_new_revision():
    def spec(image: str) -> dict:
        return {"Name": "web", "Labels": du.labels("unit", "service"),
                "TaskTemplate": {"ContainerSpec": {"Image": image}}}
    swarm = swarm_with({"ID": "svc123", "Version": {"Index": 9}, "Spec": spec("example/app:2"),
                        "PreviousSpec": spec("example/app:1")})
    with mock.patch("labkit.backends.docker.swarm.rollback_service") as rollback:
        swarm.rollback("web")
    rollback.assert_called_once_with(swarm.host.api, "svc123", 9, spec("example/app:2"))
    assert swarm.history("web") == [(1, "example/app:2"), (2, "example/app:1")]
    assert [(e.reason, e.source) for e in swarm.events()] == [("RollbackStarted", "swarm manager")]


def test_a_swarm_rollback_without_a_previous_spec_is_refused():
    swarm = swarm_with({"ID": "svc123", "Version": {"Index": 1},
                        "Spec": {"Name": "web", "Labels": du.labels("unit", "service")}})
    with pytest.raises(Refused, match="no previous revision"):
        swarm.rollback("web")


# -- swarm_managers: the quorum rules ----------------------------------------------------------
class FakePlayground:
    """Machines node-1..node-N, some switched off; each powered one answers `docker node ls`
    with `listing`, or raises `refusals[i]` (a worker's 503, an engine still starting)."""

    def __init__(self, machines: int, off: tuple[int, ...] = (), listing: list | None = None) -> None:
        self.on = {i: i not in off for i in range(1, machines + 1)}
        self.listing = listing or []
        self.refusals: dict[int, Exception] = {}
        self.names = SimpleNamespace(container=lambda i: f"labkit-unit-node-{i}")
        self.asked: list[int] = []

    def node_containers(self) -> dict:
        return {i: SimpleNamespace(status="running" if on else "exited") for i, on in self.on.items()}

    def node_client(self, i: int):
        self.asked.append(i)
        client = make_fake_client()
        if i in self.refusals:
            client.api.nodes.side_effect = self.refusals[i]
        else:
            client.api.nodes.return_value = self.listing
        client.index = i
        return client


def node(i: int, role: str) -> dict:
    return {"ID": f"id{i}", "Description": {"Hostname": f"node-{i}"}, "Spec": {"Role": role}}


def managers_of(total: int, down: tuple[int, ...], machines: int | None = None):
    from labkit.backends.docker.managers import Managers
    return Managers(FakePlayground(machines or total, off=down), total)


@pytest.mark.parametrize("total, lost, takes_changes", [
    (1, 0, True), (1, 1, False),
    (2, 1, False),  # two managers survive no loss: one of two is no majority
    (3, 1, True), (3, 2, False),
    (5, 2, True), (5, 3, False),
    (7, 3, True), (7, 4, False),
])
def test_a_swarm_takes_changes_while_a_majority_of_managers_is_up(total, lost, takes_changes):
    managers = managers_of(total, tuple(range(1, lost + 1)), machines=total + 2)  # and two workers
    assert (managers.problem() is None) is takes_changes
    assert (managers.refusal() is None) is takes_changes


def test_a_lost_quorum_says_who_is_down_and_how_many_are_needed():
    managers = managers_of(3, down=(1, 3), machines=5)
    assert managers.down() == ["node-1", "node-3"]
    assert managers.problem() == ("the swarm has lost its quorum: 2 of its 3 managers are down (node-1, node-3), "
                                  "and Raft needs a majority (2) to accept a change")
    refusal = managers.refusal()
    assert isinstance(refusal, Unavailable) and refusal.hint == "power a manager back on: cluster.recover_node('node-1')"
    with pytest.raises(Unavailable, match="lost its quorum"):
        managers.leader(wait=0)
    assert managers.pg.asked == []  # refused at once: no manager is asked


def test_with_every_manager_off_the_workers_keep_running():
    managers = managers_of(3, down=(1, 2, 3), machines=4)
    assert managers.problem().startswith("every manager of this swarm is switched off (node-1, node-2, node-3)")
    assert "tasks on the workers keep running" in managers.problem()


def test_the_leader_is_asked_of_a_powered_manager_that_answers():
    managers = managers_of(3, down=(1,))
    managers.pg.listing = [node(1, "manager"), node(2, "manager"), node(3, "manager")]
    managers.pg.refusals[2] = requests.ConnectionError("its dockerd restarts")
    client = managers.leader(wait=0)
    assert client.index == 3 and managers.current == 3
    assert managers.pg.asked == [2, 3]  # node-1 is off: not asked


def test_no_manager_answering_in_time_is_unavailable():
    managers = managers_of(3, down=())
    for i in (1, 2, 3):
        managers.pg.refusals[i] = api_error(503, "This node is not a swarm manager.")
    with pytest.raises(Unavailable, match="no manager of this swarm answered within 0 s") as caught:
        managers.leader(wait=0)
    assert "docker logs labkit-unit-node-1" in caught.value.hint


def test_a_bug_while_asking_a_manager_is_not_taken_for_a_busy_manager():
    managers = managers_of(1, down=())
    managers.pg.refusals[1] = KeyError("Description")
    with pytest.raises(KeyError):
        managers.leader(wait=0)


def test_managers_follow_what_docker_node_ls_says():
    managers = managers_of(3, down=(), machines=5)
    managers.seen([SimpleNamespace(attrs=node(i, role)) for i, role in
                   ((1, "manager"), (2, "worker"), (3, "manager"), (4, "manager"), (5, "worker"))])
    assert managers.indices == [1, 3, 4]  # node-2 demoted, node-4 promoted
    managers.pg.on[3] = False
    assert managers.down() == ["node-3"] and managers.problem() is None
    managers.switch_from(1)
    assert managers.current == 4  # the next powered manager


# -- changes sent through leader elections (Managers.through_elections) --------------------------
LOST = "rpc error: code = Unknown desc = raft: failed to process the request: node lost leader status"


class Clock:
    """managers.py's `time`: sleeping moves the clock on at once, so a 120 s wait takes no time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


@pytest.fixture
def clock(monkeypatch):
    from labkit.backends.docker import managers
    fake = Clock()
    monkeypatch.setattr(managers, "time", fake)
    return fake


def answering(total: int = 3):
    """Managers of a swarm whose powered managers all answer `docker node ls`."""
    managers = managers_of(total, down=(1,))  # the old leader is off; the other two have a majority
    managers.pg.listing = [node(i, "manager") for i in range(1, total + 1)]
    return managers


def refusing(times: int, words: str = LOST, status: int = 500):
    """A change the managers refuse `times` times, saying `words`, then take (it returns "done")."""
    calls = []

    def change() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise api_error(status, words)
        return "done"
    change.calls = calls
    return change


class Lines:
    """A progress display that keeps its lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def step(self, message: str) -> None:
        self.lines.append(message)


def test_a_change_is_sent_again_while_leadership_moves_longer_than_five_tries(clock):
    """Cold CI met "node lost leader status" more than five times a second apart: leadership moved
    for longer while a majority was up. It is sent again until it is taken, with one progress line."""
    managers, shown = answering(), Lines()
    change = refusing(12)
    assert managers.through_elections(change, shown) == "done"
    assert len(change.calls) == 13 and 11 <= clock.slept < 120
    assert shown.lines == ["waiting for the managers to elect a new leader"]


@pytest.mark.parametrize("words, status", [
    (LOST, 500),
    ("rpc error: code = Unknown desc = raft: no elected cluster leader", 500),
    ("rpc error: code = Unknown desc = raft: failed to process the request: node is stopped", 500),
    ("The swarm does not have a leader. It's possible that too few managers are online. "
     "Make sure more than half of the managers are online.", 503),
    ("rpc error: code = DeadlineExceeded desc = context deadline exceeded", 500),
    ('rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing dial tcp '
     '10.10.0.2:2377: connect: no route to host"', 503),
])
def test_every_answer_that_means_no_leader_right_now_is_sent_again(clock, words, status):
    change = refusing(2, words, status)
    assert answering().through_elections(change) == "done" and len(change.calls) == 3


@pytest.mark.parametrize("error", [
    api_error(404, "service web not found"),
    api_error(500, "rpc error: code = Unknown desc = update out of sequence"),
    api_error(500, "rpc error: code = Unknown desc = raft: raft message is too large and can't be sent"),
    requests.ConnectionError("Connection refused"),
])
def test_other_answers_are_the_students_at_once(clock, error):
    calls = []

    def change():
        calls.append(1)
        raise error
    with pytest.raises(type(error)):
        answering().through_elections(change)
    assert calls == [1] and clock.slept == 0


def test_a_majority_lost_during_the_retries_fails_at_once_with_the_quorum_message(clock):
    managers, shown = answering(), Lines()
    calls = []

    def change():
        calls.append(1)
        if len(calls) == 3:
            managers.pg.on[2] = False  # the student switches node-2 off meanwhile: node-3 is alone
        raise api_error(500, LOST)
    with pytest.raises(Unavailable, match="lost its quorum: 2 of its 3 managers are down") as caught:
        managers.through_elections(change, shown)
    assert len(calls) == 3 and clock.slept == 2.0  # not one more try, not one more second
    assert caught.value.hint == "power a manager back on: cluster.recover_node('node-1')"
    assert isinstance(caught.value.__cause__, docker.errors.APIError)


def test_a_majority_lost_while_waiting_for_a_leader_fails_at_once(clock):
    """Managers.leader looks again at which managers are up between its tries, too."""
    managers = managers_of(3, down=(1,))
    for i in (2, 3):
        managers.pg.refusals[i] = api_error(503, "The swarm does not have a leader")
    real_sleep = clock.sleep

    def sleep(seconds: float) -> None:
        real_sleep(seconds)
        if clock.slept >= 5:
            managers.pg.on[3] = False
    clock.sleep = sleep
    with pytest.raises(Unavailable, match="lost its quorum"):
        managers.leader()
    assert clock.slept == 5.0


def test_leadership_that_never_settles_is_a_clear_unavailable_after_the_bound(clock):
    from labkit.backends.docker.managers import ELECTION_WAIT
    change = refusing(10_000)
    with pytest.raises(Unavailable) as caught:
        answering().through_elections(change)
    error = caught.value
    assert error.message == (f"the swarm's managers kept losing their leader for {ELECTION_WAIT:g} s, so the change "
                             f"was not accepted (the last answer: {LOST})")
    assert "too busy" in error.hint and "docker logs labkit-unit-node-2" in error.hint
    assert ELECTION_WAIT <= clock.slept <= ELECTION_WAIT + 1 and len(change.calls) == int(clock.slept) + 1


def test_a_swarm_scale_goes_through_the_elections(clock):
    """SwarmBackend.scale: each try fetches the service again (a try the old leader committed after
    all has moved its version on) and sends the same replicas."""
    from labkit.backends.docker.managers import Managers
    from labkit.backends.docker.swarm import SwarmBackend
    managers = answering()
    client = make_fake_client()
    managers.pg.node_client = lambda i: client
    versions = iter(range(7, 100))
    client.api.inspect_service.side_effect = lambda *a, **k: {
        "ID": "svc1", "Version": {"Index": next(versions)},
        "Spec": {"Name": "web", "Labels": du.labels("unit", "service"), "Mode": {"Replicated": {"Replicas": 2}}}}
    client.api.update_service.side_effect = [api_error(500, LOST)] * 7 + [None]
    swarm = SwarmBackend.__new__(SwarmBackend)
    swarm.managers, swarm.pg, swarm.lab, swarm._formed = managers, managers.pg, "unit", True
    swarm._lock, swarm._progress = threading.RLock(), Lines()
    assert isinstance(swarm.managers, Managers)
    swarm.scale("web", 3)
    sent = client.api.update_service.call_args_list
    assert len(sent) == 8 and len({call.args[1] for call in sent}) == 8  # a fresh version each time
    assert all(call.kwargs["mode"]["replicated"]["Replicas"] == 3 for call in sent)
    assert swarm._progress.lines == ["waiting for the managers to elect a new leader"]


@pytest.mark.parametrize("local, seen, back", [
    ("pending", [("node-2", "ready")], False),  # its agent is still joining (the managers' "ready" is from before)
    ("inactive", [], True),  # a machine in no swarm: nothing to wait for
    ("active", [("node-2", "down")], False),  # the managers have not heard from it yet
    ("active", [("node-2", "ready"), ("node-3", "unknown")], False),  # a new leader waits for node-3 to report
    ("active", [("node-2", "ready"), ("node-3", "ready"), ("node-1", "unknown")], True),  # node-1 is off
    ("active", [("node-2", "down"), ("node-2", "ready"), ("node-3", "ready")], True),  # a rebuilt node's old entry
])
def test_a_node_powered_on_is_back_once_the_swarm_sees_it_ready(local, seen, back):
    """SwarmBackend.recover_node waits for this: a change made before may find no node for its tasks."""
    from labkit.backends.docker.swarm_machines import rejoined
    pg = FakePlayground(3, off=(1,))
    client = make_fake_client()
    client.api.info.return_value = {"Swarm": {"LocalNodeState": local}}
    pg.node_client = lambda i: client

    def nodes() -> list:
        return [SimpleNamespace(attrs={"Description": {"Hostname": host}, "Status": {"State": state}})
                for host, state in seen]
    assert rejoined(pg, "node-2", nodes) is back


# -- the playground's lock file, one per lab ------------------------------------------------
@pytest.fixture
def private(tmp_path, monkeypatch):
    """labkit's private folder, in this test's tmp_path."""
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    return tmp_path / f"labkit-{os.getuid()}"


def test_a_labs_lock_file_goes_with_its_machines_unless_someone_holds_it(private):
    """Playground.down removes it; while a process holds it (here the same one, through another
    open file: flock's locks are per open file) it stays."""
    from labkit.backends.docker.playground import lab_lock, remove_lock
    with lab_lock("unit"):
        assert (private / "unit.lock").exists()
        remove_lock("unit")
        assert (private / "unit.lock").exists()
    remove_lock("unit")
    assert not (private / "unit.lock").exists()
    remove_lock("unit")  # none left: nothing to do


def test_a_lock_file_removed_while_one_waited_for_it_is_locked_anew(private, monkeypatch):
    """One opens the lock file, it is removed (its lab destroyed) before that one has the lock:
    it then locks the file at the path, so a third process cannot hold another one meanwhile."""
    from labkit.backends.docker import playground
    real_open, opened = playground.open_private, []

    def open_then_removed(path):
        f = real_open(path)
        opened.append(os.fstat(f.fileno()).st_ino)
        if len(opened) == 1:
            os.unlink(path)
        return f
    monkeypatch.setattr(playground, "open_private", open_then_removed)
    with playground.lab_lock("unit"):
        assert len(opened) == 2 and (private / "unit.lock").stat().st_ino == opened[1]
        playground.remove_lock("unit")
        assert (private / "unit.lock").exists()
