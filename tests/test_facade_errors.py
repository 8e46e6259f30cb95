"""Bad input gets a clear labkit error and changes nothing.

Every case below checks that the error is a subclass of `labkit.LabkitError`
(the documented subclass named in brackets), that it has a message and a
non-empty hint, and, where a cluster exists, that the cluster's snapshot,
its event log and its clock are exactly as they were before.

Cases tested (the simulator, kubernetes flavor unless a flavor is named):

Replica counts [InvalidInput], for `deploy(replicas=...)` and `Workload.scale(...)`:
    -1, -100, 2.5, "3", "three", True, False, None, [3], NaN, infinity,
    200_001 (over the simulator's cap), 10**12.
Image references [InvalidInput], for `deploy`, `update`, `canary` and `run_container`:
    "", "   ", None, 5, "Web-Server:1" (hint suggests 'web-server:1'), "web server:1",
    "web-server:", "web-server::1", ":1", "web-server:1 " (trailing space), "-web:1",
    "web-server:-1", "web/:1", "a" * 256, "web-server:1@sha256:xyz" (bad digest);
    "web-server:1\\n" (trailing newline).
Names [InvalidInput], for `deploy` and `run_container(name=...)`:
    "", "Web", "my_web", "a" * 64, "-web", "web-", "web.server", "web server", "wéb", "--",
    None, 12 (the hint's suggestion is itself a valid name); "web\\n" (trailing newline).
Unknown nodes [NotFound], for fail_node, recover_node, drain, uncordon:
    "nod-2", "node2" (hint: did you mean 'node-2'?), "node-9", "NODE-1" (hint lists the nodes);
    stop_component("kubelet", node="node-9") and on the control-plane node.
    Not a string [InvalidInput]: node None or 3 (all four node calls), kill_replica(5),
    cluster.workload(7); the hint's example is of the right kind.
Unknown workloads, replicas, containers, components [NotFound]:
    cluster.workload("wbe") (hint: did you mean 'web'?), a handle on a deleted workload
    (scale/update/rollback/pause/history), kill_replica("nope"), kill_replica with nothing
    running, start_container / remove_container("nope"), stop_component("etcdd").
Taken names [AlreadyExists]: a second workload "web" (kubernetes, swarm, docker flavors; the first
    keeps its image and replicas); run_container with a taken name; a second canary.
Failing the last node [Refused]: swarm with 1 node; swarm with 2 nodes after the other one failed;
    kubernetes with 1 worker (the tainted control plane is nowhere to heal onto); kubernetes
    failing its 2 workers one right after the other (before the first looks NotReady); failing a
    node that is already down, recovering one that is not.
Rollout options [InvalidInput], for deploy and update: max_surge and max_unavailable both 0
    (0/0, "0%"/0, 0/"0%", "0%"/"0%"); max_surge -1, 1.5, True, "101%", "25", "abc";
    max_unavailable -1; type="BlueGreen"; parallelism -1, 1.5, True; delay -1; monitor -1, "5s";
    min_ready_seconds -1; order="random", failure_action="explode", max_failure_ratio 2, -0.1, "x", True
    (swarm); an unknown option: maxSurge=1, surge=1, maxUnavailable=0 (hint names the right one).
Resource requests [InvalidInput]: cpu=-100, cpu="500m", memory=-1.
Canary percent [InvalidInput]: 0, 100, -5, 150, "10", True, None, NaN; a canary whose name
    ("<name>-canary") would be longer than 63 characters; promote/abort with no canary [NotFound].
Backends and flavors [InvalidInput]: connect("nomad"), connect("Sim"), connect(flavor="k8s"),
    connect(nodes=0 / -1 / True / "3" / 2.0 / 5001), connect(frobnicate=1) (simulator option).
Rollback with no history: kubernetes and swarm [NotFound], docker flavor [Refused].
Time [InvalidInput]: run(-1), run("5"), run(NaN), run(None), wait(timeout=-1), wait(timeout="1m");
    infinity (checked on validate.seconds: were it accepted, run() would never return).
Other: add_node(role="boss"); run_container(restart="sometimes");
    run_container of an image no registry has on the docker flavor [NotFound];
    pause/resume on swarm, update/drain on docker [Refused]; simulator-only calls
    (stop_component) on the swarm flavor [Refused].
"""
from __future__ import annotations

import pytest

import labkit
from labkit import validate
from labkit.errors import AlreadyExists, InvalidInput, LabkitError, NotFound, Refused

NAN, INF = float("nan"), float("inf")


def fingerprint(cluster: labkit.Cluster) -> tuple:
    return cluster.state(), tuple(cluster.events()), cluster.now()


def refused(cluster: labkit.Cluster | None, action, kind: type = LabkitError) -> LabkitError:
    """Run `action`, expect a `kind` error with a message and a hint, and no change at all."""
    before = fingerprint(cluster) if cluster else None
    with pytest.raises(LabkitError) as info:
        action()
    error = info.value
    assert isinstance(error, kind), f"{type(error).__name__} is not {kind.__name__}: {error}"
    assert error.message.strip(), error
    assert error.hint.strip(), f"no hint in: {error.message}"
    if cluster is not None:
        assert fingerprint(cluster) == before, "the failed call changed the cluster"
    return error


@pytest.fixture(scope="module")
def k8s() -> labkit.Cluster:
    cluster = labkit.connect("sim", nodes=3, seed=0)
    cluster.deploy("web", "web-server:1", replicas=3)
    cluster.wait()
    return cluster


@pytest.fixture
def fresh() -> labkit.Cluster:
    """A cluster of its own, for the cases that a bug may change (so they cannot spoil the shared ones)."""
    cluster = labkit.connect("sim", nodes=3, seed=0)
    cluster.deploy("web", "web-server:1", replicas=3)
    cluster.wait()
    return cluster


@pytest.fixture(scope="module")
def swarm() -> labkit.Cluster:
    cluster = labkit.connect("sim", flavor="swarm", nodes=3, seed=0)
    cluster.deploy("web", "web-server:1", replicas=3)
    cluster.wait()
    return cluster


@pytest.fixture(scope="module")
def docker() -> labkit.Cluster:
    cluster = labkit.connect("sim", flavor="docker", seed=0)
    cluster.deploy("web", "web-server:1", replicas=2)
    cluster.run(5)
    return cluster


# -- replica counts -----------------------------------------------------------------------------
BAD_COUNTS = [-1, -100, 2.5, "3", "three", True, False, None, [3], NAN, INF, 200_001, 10 ** 12]


@pytest.mark.parametrize("count", BAD_COUNTS, ids=repr)
def test_bad_replica_count_on_deploy(k8s, count):
    refused(k8s, lambda: k8s.deploy("other", "web-server:1", replicas=count), InvalidInput)


@pytest.mark.parametrize("count", BAD_COUNTS, ids=repr)
def test_bad_replica_count_on_scale(k8s, count):
    refused(k8s, lambda: k8s.workload("web").scale(count), InvalidInput)


def test_negative_count_hint_says_what_to_do(k8s):
    error = refused(k8s, lambda: k8s.workload("web").scale(-1), InvalidInput)
    assert "0" in error.hint


@pytest.mark.parametrize("count", [-1, 2.5, True], ids=repr)
def test_bad_replica_count_on_swarm_scale(swarm, count):
    refused(swarm, lambda: swarm.workload("web").scale(count), InvalidInput)


# -- images ----------------------------------------------------------------------------------------
BAD_IMAGES = ["", "   ", None, 5, "Web-Server:1", "web server:1", "web-server:", "web-server::1", ":1",
              "web-server:1 ", "-web:1", "web-server:-1", "web/:1", "a" * 256, "web-server:1@sha256:xyz"]


@pytest.mark.parametrize("image", BAD_IMAGES, ids=repr)
def test_bad_image_on_deploy(k8s, image):
    refused(k8s, lambda: k8s.deploy("other", image), InvalidInput)


@pytest.mark.parametrize("image", BAD_IMAGES, ids=repr)
def test_bad_image_on_update(k8s, image):
    refused(k8s, lambda: k8s.workload("web").update(image), InvalidInput)


@pytest.mark.parametrize("image", ["", "Web-Server:2", None], ids=repr)
def test_bad_image_on_canary_and_run_container(k8s, docker, image):
    refused(k8s, lambda: k8s.workload("web").canary(image, percent=10), InvalidInput)
    refused(docker, lambda: docker.run_container(image), InvalidInput)


def test_uppercase_image_hint_gives_the_lowercase_name(k8s):
    error = refused(k8s, lambda: k8s.deploy("other", "Web-Server:1"), InvalidInput)
    assert "'web-server:1'" in error.hint


def test_image_with_a_trailing_newline_is_refused(fresh):
    refused(fresh, lambda: fresh.deploy("other", "web-server:1\n"), InvalidInput)


# -- names ---------------------------------------------------------------------------------------------
BAD_ENVS = [{"A": 1}, {"A": 1.5}, {"A": True}, {"A": None}, {"A": ["x"]}, {"": "x"}, {"A=B": "x"}, {"A B": "x"},
            {"Ä": "x"}, {1: "x"}, {"A": "x\x00y"}, ["A=1"], "A=1"]


@pytest.mark.parametrize("env", BAD_ENVS, ids=repr)
def test_bad_env_is_refused_alike_on_every_flavor(k8s, swarm, docker, env):
    """One rule (labkit.validate.env) on every backend: names printable ASCII but '=', values text."""
    for cluster in (k8s, swarm, docker):
        refused(cluster, lambda: cluster.deploy("other", "web-server:1", env=env), InvalidInput)


def test_a_number_in_env_is_refused_with_its_quoted_form():
    cluster = labkit.connect("sim", nodes=1)
    with pytest.raises(InvalidInput) as error:
        cluster.deploy("web", "web-server:1", env={"PORT": 8080})
    assert "must be text" in error.value.message and "env={'PORT': '8080'}" in error.value.hint
    cluster.deploy("web", "web-server:1", env={"PORT": "8080", "lower.case-OK": "yes"})  # the right form works


BAD_NAMES = ["", "Web", "my_web", "a" * 64, "-web", "web-", "web.server", "web server", "wéb", "--", None, 12]


@pytest.mark.parametrize("name", BAD_NAMES, ids=repr)
def test_bad_name_on_deploy(k8s, name):
    error = refused(k8s, lambda: k8s.deploy(name, "web-server:1"), InvalidInput)
    if error.hint.startswith("try "):  # the suggestion is itself a good name
        validate.name(error.hint[len("try "):].strip("'"))


@pytest.mark.parametrize("name", ["a", "-web", "web server", "wéb", "web/1"], ids=repr)
def test_bad_container_name(docker, name):
    """moby's rule (daemon/names): [a-zA-Z0-9][a-zA-Z0-9_.-]+, in moby's words."""
    error = refused(docker, lambda: docker.run_container("web-server:1", name=name), InvalidInput)
    assert error.message == f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"


def test_a_container_name_is_its_host_name_so_at_most_63(docker, swarm):
    for cluster in (docker, swarm):  # a plain container on a swarm follows moby's rule, not a service's
        error = refused(cluster, lambda: cluster.run_container("web-server:1", name="a" * 64), InvalidInput)
        assert "at most 63" in error.message
    swarm.run_container("web-server:1", name="my.app")
    swarm.remove_container("my.app")


def test_a_long_bad_service_name_is_refused_at_once():
    """swarmkit's rule, without Python's regex backtracking (24 letters and '!' once took 0.7 s)."""
    import time
    started = time.perf_counter()
    for name in ("a" * 60 + "!", "production-webserver-canary.1", "-".join("ab" * 15) + "_"):
        with pytest.raises(InvalidInput):
            validate.name(name, "service name", "swarm")
    assert validate.name("my_web-2", "service name", "swarm") == "my_web-2"
    assert time.perf_counter() - started < 0.05


@pytest.mark.parametrize("name", ["My_Web.1", "W" * 63], ids=repr)
def test_names_docker_takes_and_kubernetes_refuses(docker, k8s, name):
    docker.run_container("web-server:1", name=name)
    docker.remove_container(name)
    refused(k8s, lambda: k8s.run_container("web-server:1", name=name), InvalidInput)


@pytest.mark.parametrize(("name", "why"), [("web.server", "valid as a DNS name component"), ("web-", "valid as a"),
                                          ("_web", "valid as a"), ("a" * 64, "63 characters or fewer")], ids=repr)
def test_bad_service_name_on_swarm_in_swarmkit_words(swarm, name, why):
    """swarmkit's rule (controlapi isValidDNSName); '_' between letters is a good service name."""
    error = refused(swarm, lambda: swarm.deploy(name, "web-server:1"), InvalidInput)
    assert error.message.startswith("rpc error: code = InvalidArgument desc = name must be") and why in error.message
    swarm.deploy("my_web", "web-server:1").delete()


def test_name_with_a_trailing_newline_is_refused(fresh):
    refused(fresh, lambda: fresh.deploy("web\n", "web-server:1"), InvalidInput)


# -- unknown nodes ------------------------------------------------------------------------------------
NODE_ACTIONS = ["fail_node", "recover_node", "drain", "uncordon"]


@pytest.mark.parametrize("action", NODE_ACTIONS)
@pytest.mark.parametrize("node,closest", [("nod-2", "node-2"), ("node2", "node-2"), ("node-9", None),
                                          ("NODE-1", None)])
def test_unknown_node(k8s, action, node, closest):
    error = refused(k8s, lambda: getattr(k8s, action)(node), NotFound)
    if closest:
        assert f"did you mean '{closest}'?" == error.hint
    else:
        assert "node-" in error.hint  # names some nodes that exist


@pytest.mark.parametrize("action", NODE_ACTIONS)
@pytest.mark.parametrize("node", [None, 3], ids=repr)
def test_non_string_node(k8s, action, node):
    refused(k8s, lambda: getattr(k8s, action)(node), InvalidInput)


@pytest.mark.parametrize("node", ["node-9", "control-plane"])
def test_kubelet_of_an_unknown_or_control_plane_node(k8s, node):
    refused(k8s, lambda: k8s.stop_component("kubelet", node=node), NotFound)


# -- unknown workloads, replicas, containers, components ----------------------------------------------
def test_unknown_workload_suggests_the_closest(k8s):
    error = refused(k8s, lambda: k8s.workload("wbe"), NotFound)
    assert error.hint == "did you mean 'web'?"


def test_a_handle_on_a_deleted_workload():
    cluster = labkit.connect("sim", nodes=2, seed=0)
    gone = cluster.deploy("gone", "web-server:1", replicas=2)
    cluster.wait()
    gone.delete()
    cluster.run(5)
    for action in (lambda: gone.scale(3), lambda: gone.update("web-server:2"), lambda: gone.rollback(),
                   lambda: gone.pause(), lambda: gone.history()):
        refused(cluster, action, NotFound)


def test_unknown_replica(k8s):
    refused(k8s, lambda: k8s.kill_replica("nope"), NotFound)


def test_kill_with_nothing_running():
    cluster = labkit.connect("sim", nodes=2, seed=0)
    refused(cluster, lambda: cluster.kill_replica(), NotFound)


def test_non_string_replica_or_workload(k8s):
    refused(k8s, lambda: k8s.kill_replica(5), InvalidInput)
    refused(k8s, lambda: k8s.workload(7), InvalidInput)


def test_a_non_string_names_hint_shows_the_right_kind_of_name(k8s):
    """The example in the hint is a name of the thing asked for, not always a node's."""
    for action, wrong in ((lambda: k8s.workload(7), "'node-1'"), (lambda: k8s.kill_replica(5), "'node-1'")):
        error = refused(k8s, action, InvalidInput)
        assert wrong not in error.hint, error.hint


@pytest.mark.parametrize("action", ["start_container", "remove_container"])
def test_unknown_container(docker, action):
    refused(docker, lambda: getattr(docker, action)("nope"), NotFound)


def test_unknown_component(k8s):
    refused(k8s, lambda: k8s.stop_component("etcdd"), NotFound)


# -- taken names --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("flavor", ["k8s", "swarm", "docker"])
def test_a_second_workload_with_a_taken_name(request, flavor):
    cluster = request.getfixturevalue(flavor)
    error = refused(cluster, lambda: cluster.deploy("web", "web-server:2", replicas=7), AlreadyExists)
    assert "web" in error.message
    status = cluster.workload("web").status()
    assert status.image == "web-server:1" and status.desired in (2, 3)


def test_a_container_with_a_taken_name():
    cluster = labkit.connect("sim", flavor="docker", seed=0)
    cluster.run_container("web-server:1", name="box")
    refused(cluster, lambda: cluster.run_container("web-server:2", name="box"), AlreadyExists)


def test_a_second_canary():
    cluster = labkit.connect("sim", nodes=3, seed=0)
    web = cluster.deploy("web", "web-server:1", replicas=10)
    cluster.wait()
    web.canary("web-server:2", percent=10)
    refused(cluster, lambda: web.canary("web-server:2", percent=20), AlreadyExists)


# -- failing the last node ------------------------------------------------------------------------------
def test_failing_the_only_swarm_node():
    cluster = labkit.connect("sim", flavor="swarm", nodes=1, seed=0)
    refused(cluster, lambda: cluster.fail_node("node-1"), Refused)


def test_failing_the_last_working_swarm_node():
    cluster = labkit.connect("sim", flavor="swarm", nodes=2, seed=0)
    cluster.fail_node("node-2")
    cluster.run(60)
    refused(cluster, lambda: cluster.fail_node("node-1"), Refused)


def test_failing_the_only_kubernetes_worker():
    cluster = labkit.connect("sim", nodes=1, seed=0)
    refused(cluster, lambda: cluster.fail_node("node-1"), Refused)


def test_failing_both_kubernetes_workers():
    cluster = labkit.connect("sim", nodes=2, seed=0)
    cluster.fail_node("node-1")
    refused(cluster, lambda: cluster.fail_node("node-2"), Refused)


def test_failing_a_failed_node_or_recovering_a_healthy_one(k8s):
    refused(k8s, lambda: k8s.recover_node("node-1"), Refused)
    cluster = labkit.connect("sim", nodes=3, seed=0)
    cluster.fail_node("node-3")
    refused(cluster, lambda: cluster.fail_node("node-3"), Refused)


# -- rollout options -----------------------------------------------------------------------------------------
ZEROS = [(0, 0), ("0%", 0), (0, "0%"), ("0%", "0%")]


@pytest.mark.parametrize("surge,unavailable", ZEROS, ids=repr)
def test_surge_and_unavailable_both_zero(k8s, surge, unavailable):
    refused(k8s, lambda: k8s.deploy("other", "web-server:1", max_surge=surge, max_unavailable=unavailable),
            InvalidInput)
    refused(k8s, lambda: k8s.workload("web").update("web-server:2", max_surge=surge,
                                                     max_unavailable=unavailable), InvalidInput)


BAD_OPTIONS = [
    {"max_surge": -1}, {"max_surge": 1.5}, {"max_surge": True}, {"max_surge": "101%"}, {"max_surge": "25"},
    {"max_surge": "abc"}, {"max_unavailable": -1}, {"type": "BlueGreen"}, {"parallelism": -1},
    {"parallelism": 1.5}, {"parallelism": True}, {"delay": -1}, {"monitor": -1}, {"monitor": "5s"},
    {"min_ready_seconds": -1},
]


@pytest.mark.parametrize("options", BAD_OPTIONS, ids=repr)
def test_bad_rollout_option(k8s, options):
    refused(k8s, lambda: k8s.deploy("other", "web-server:1", **options), InvalidInput)
    refused(k8s, lambda: k8s.workload("web").update("web-server:2", **options), InvalidInput)


@pytest.mark.parametrize("options", [{"order": "random"}, {"failure_action": "explode"},
                                     {"max_failure_ratio": 2}, {"max_failure_ratio": -0.1},
                                     {"max_failure_ratio": "x"}, {"max_failure_ratio": True}], ids=repr)
def test_bad_swarm_option(swarm, options):
    refused(swarm, lambda: swarm.workload("web").update("web-server:2", **options), InvalidInput)


@pytest.mark.parametrize("options,meant", [({"maxSurge": 1}, "max_surge"), ({"surge": 1}, "max_surge"),
                                           ({"maxUnavailable": 0}, "max_unavailable")], ids=repr)
def test_unknown_rollout_option(k8s, options, meant):
    error = refused(k8s, lambda: k8s.workload("web").update("web-server:2", **options), InvalidInput)
    assert meant in error.hint
    refused(k8s, lambda: k8s.deploy("other", "web-server:1", **options), InvalidInput)


# -- resource requests -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("request_", [{"cpu": -100}, {"cpu": "500m"}, {"memory": -1}], ids=repr)
def test_bad_resource_request(fresh, request_):
    refused(fresh, lambda: fresh.deploy("other", "web-server:1", **request_), InvalidInput)


# -- canaries --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("percent", [0, 100, -5, 150, "10", True, None, NAN], ids=repr)
def test_bad_canary_percent(k8s, percent):
    refused(k8s, lambda: k8s.workload("web").canary("web-server:2", percent=percent), InvalidInput)


def test_a_canary_name_that_would_be_too_long():
    cluster = labkit.connect("sim", nodes=2, seed=0)
    long = "a" * 60
    web = cluster.deploy(long, "web-server:1", replicas=4)
    cluster.wait()
    refused(cluster, lambda: web.canary("web-server:2", percent=25), InvalidInput)


@pytest.mark.parametrize("action", ["promote", "abort"])
def test_promote_or_abort_without_a_canary(k8s, action):
    refused(k8s, lambda: getattr(k8s.workload("web"), action)(), NotFound)


# -- backends and flavors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [{"backend": "nomad"}, {"backend": "Sim"}, {"flavor": "k8s"},
                                    {"nodes": 0}, {"nodes": -1}, {"nodes": True}, {"nodes": "3"},
                                    {"nodes": 2.0}, {"nodes": 5001}, {"frobnicate": 1}], ids=repr)
def test_bad_connect(kwargs, monkeypatch):
    monkeypatch.delenv("LABKIT_BACKEND", raising=False)
    error = refused(None, lambda: labkit.connect(**kwargs), InvalidInput)
    if "backend" in kwargs:
        assert "sim" in error.hint
    if "flavor" in kwargs:
        assert "kubernetes" in error.hint


@pytest.mark.parametrize("flavor", [None, "swarm"])
def test_unknown_backend_in_the_environment(monkeypatch, flavor):
    monkeypatch.setenv("LABKIT_BACKEND", "swarmm")  # a typo never quietly means the simulator
    refused(None, lambda: labkit.connect(flavor=flavor), InvalidInput)


def test_a_flavor_the_environments_backend_lacks_runs_on_the_simulator(monkeypatch, capsys):
    """LABKIT_BACKEND=kubernetes and a Swarm lesson: that part runs on the simulator, said in one line,
    keeping the options that mean the same there (managers=3) and before any cluster is contacted."""
    monkeypatch.setenv("LABKIT_BACKEND", "kubernetes")
    swarm = labkit.connect(flavor="swarm", nodes=5, managers=3, name="ha")
    assert (swarm.name, swarm.flavor) == ("sim", "swarm")
    assert [n.role for n in swarm.state().nodes].count("manager") == 3
    assert "LABKIT_BACKEND=kubernetes has no swarm" in capsys.readouterr().out
    host = labkit.connect(flavor="docker")
    assert (host.name, host.flavor) == ("sim", "docker")


@pytest.mark.parametrize("kwargs", [{"nodes": 3}, {"flavor": "kubernetes"}], ids=repr)
def test_init_false_is_one_machine_meant_for_a_swarm(kwargs, monkeypatch):
    monkeypatch.delenv("LABKIT_BACKEND", raising=False)
    refused(None, lambda: labkit.connect("sim", init=False, **{"flavor": "swarm", **kwargs}), InvalidInput)
    machine = labkit.connect(flavor="swarm", nodes=1, init=False)
    assert machine.flavor == "docker" and len(machine.nodes) == 1


# -- rollback with no history ------------------------------------------------------------------------------
@pytest.mark.parametrize("flavor,kind", [("k8s", NotFound), ("swarm", NotFound), ("docker", Refused)])
def test_rollback_with_no_history(request, flavor, kind):
    cluster = request.getfixturevalue(flavor)
    refused(cluster, lambda: cluster.workload("web").rollback(), kind)


# -- time -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seconds", [-1, "5", NAN, None], ids=repr)
def test_bad_run(k8s, seconds):
    refused(k8s, lambda: k8s.run(seconds), InvalidInput)


@pytest.mark.parametrize("timeout", [-1, "1m"], ids=repr)
def test_bad_wait(k8s, timeout):
    refused(k8s, lambda: k8s.wait(timeout=timeout), InvalidInput)


def test_infinite_seconds_are_refused():
    with pytest.raises(InvalidInput):
        validate.seconds(INF, "seconds")


# -- other --------------------------------------------------------------------------------------------------
def test_bad_node_role(fresh):
    refused(fresh, lambda: fresh.add_node(role="boss"), InvalidInput)


def test_bad_restart_policy(docker):
    error = refused(docker, lambda: docker.run_container("web-server:1", restart="sometimes"), InvalidInput)
    assert "always" in error.hint


def test_an_image_no_registry_has_on_docker(docker):
    error = refused(docker, lambda: docker.run_container("no-such-image:1"), NotFound)
    assert "web-server:1" in error.hint
    refused(docker, lambda: docker.deploy("other", "no-such-image:1"), NotFound)


@pytest.mark.parametrize("action", ["pause", "resume"])
def test_swarm_has_no_pause(swarm, action):
    refused(swarm, lambda: getattr(swarm.workload("web"), action)(), Refused)


def test_docker_has_no_update_or_drain(docker):
    refused(docker, lambda: docker.workload("web").update("web-server:2"), Refused)
    refused(docker, lambda: docker.drain("docker-host"), Refused)


def test_simulator_lessons_need_the_kubernetes_flavor(swarm):
    refused(swarm, lambda: swarm.stop_component("scheduler"), Refused)


def test_each_backend_declares_its_replica_cap(monkeypatch):
    """backends declare `max_replicas` (no cap keyed by a backend's name); LABKIT_MAX_REPLICAS moves
    a real engine's, never the simulator's."""
    from labkit.backends.docker.engine import DockerBackend
    from labkit.backends.kubernetes.backend import KubernetesBackend
    from labkit.backends.sim import SimBackend
    from labkit.backends.docker.swarm import SwarmBackend
    real = (DockerBackend, SwarmBackend, KubernetesBackend)
    assert [cls.max_replicas.fget(None) for cls in real] == [50, 100, 500]
    monkeypatch.setenv("LABKIT_MAX_REPLICAS", "7")
    assert [cls.max_replicas.fget(None) for cls in real] == [7, 7, 7]
    assert SimBackend.max_replicas == validate.SIM_MAX_REPLICAS
    with pytest.raises(InvalidInput, match="set LABKIT_MAX_REPLICAS"):
        validate.replicas(8, 7, "docker")
    sim = labkit.connect("sim", nodes=1, seed=0)
    error = refused(sim, lambda: sim.deploy("web", "web-server:1", replicas=validate.SIM_MAX_REPLICAS + 1), InvalidInput)
    assert "stay responsive" in error.hint
