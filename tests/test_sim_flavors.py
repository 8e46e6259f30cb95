"""The simulator's flavors (labkit/backends/sim/flavors/): one module each behind one interface,
each refusing what its engine lacks; and its work queues' results (requeue, retry with back-off)."""
from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from labkit.backends import base
from labkit.backends.base import DeploySpec, UpdateStrategy
from labkit.backends.sim import SimBackend
from labkit.backends.sim.api import APIServer
from labkit.backends.sim.backend import FLAVORS
from labkit.backends.sim.clock import Clock
from labkit.backends.sim.controllers import RETRY_CAP, RETRY_START, Result, WorkQueue
from labkit.backends.sim.flavors import Flavor
from labkit.backends.sim.store import Store
from labkit.errors import NotFound, Refused

TRY_SWARM = "try labkit.connect(flavor='swarm')"
PAUSE_HINT = "Swarm pauses an update by itself when a task fails (failure_action='pause')"
COMPONENTS = ("only the kubernetes flavor has separate control-plane components",
              "use labkit.connect(flavor='kubernetes')")


def sim(flavor: str) -> SimBackend:
    backend = SimBackend(nodes=1, flavor="swarm", init=False) if flavor == "docker" else SimBackend(flavor=flavor)
    backend.deploy(DeploySpec("web", "web-server:1", replicas=2))
    backend.advance(10)
    return backend


def refused(action) -> tuple[str, str]:
    with pytest.raises(Refused) as info:
        action()
    return info.value.message, info.value.hint


# -- what each engine lacks ---------------------------------------------------------------------------
def test_the_docker_flavor_refuses_what_only_orchestrators_do_and_changes_nothing():
    docker = sim("docker")
    before = docker.store.revision
    host = docker.state().nodes[0].name
    assert refused(lambda: docker.update("web", "web-server:2", UpdateStrategy())) == (
        "plain Docker has no rolling update: you would stop each container and start a new one by hand",
        f"this is what orchestrators add: {TRY_SWARM}")
    assert refused(lambda: docker.rollback("web")) == ("plain Docker keeps no history to roll back to", TRY_SWARM)
    assert refused(lambda: docker.drain(host)) == ("one Docker host has nowhere to move its containers to",
                                                   f"that is what a cluster adds: {TRY_SWARM}")
    assert refused(lambda: docker.pause("web")) == ("docker has no pause for rollouts", PAUSE_HINT)
    assert refused(lambda: docker.pause_node(host))[0] == "pause is an availability of Swarm nodes"
    assert refused(lambda: docker.expose("web", 8080))[0] == \
        "on one Docker host a port is published when the container starts"
    assert refused(lambda: docker.service("web"))[0] == \
        "requests to one Docker host's published ports are not simulated yet"
    assert refused(lambda: docker.stop_component("scheduler")) == COMPONENTS
    assert docker.store.revision == before


def test_swarm_has_no_rollout_pause_nor_separate_components():
    swarm = sim("swarm")
    assert refused(lambda: swarm.pause("web")) == ("swarm has no pause for rollouts", PAUSE_HINT)
    assert refused(lambda: swarm.resume("web")) == ("swarm has no pause for rollouts", PAUSE_HINT)
    assert refused(lambda: swarm.start_component("etcd")) == COMPONENTS


def test_kubernetes_has_no_paused_node_availability():
    k8s = sim("kubernetes")
    assert refused(lambda: k8s.pause_node("node-1")) == ("pause is an availability of Swarm nodes",
                                                        "on Kubernetes, cordon: kubectl cordon NODE")
    assert k8s.state().node("node-1").schedulable  # nothing was cordoned


def test_a_missing_workload_is_not_found_before_a_verb_is_refused():
    """The order of checks stays: the API answers, the workload exists, then the engine's rule."""
    with pytest.raises(NotFound, match='deployment "nope" not found'):
        sim("docker").update("nope", "web-server:2", UpdateStrategy())
    with pytest.raises(NotFound, match='service "nope" not found'):
        sim("swarm").pause("nope")


def test_a_verb_no_flavor_words_is_refused_in_plain_words():
    error = SimBackend(nodes=1).rules.refuse("teleport")
    assert isinstance(error, Refused) and error.message == "the kubernetes flavor has no teleport" and error.hint


# -- one interface, no branching on the flavor's name ----------------------------------------------------
@pytest.mark.parametrize("name", ["kubernetes", "swarm", "docker"])
def test_each_flavor_implements_the_interface(name):
    cls = FLAVORS[name]
    assert issubclass(cls, Flavor) and cls.name == name and not inspect.isabstract(cls)
    assert cls.__module__ == f"labkit.backends.sim.flavors.{name}"
    backend = sim(name)
    assert type(backend.rules) is cls
    assert [w.name for w in backend.workloads()] == ["web"]


def test_the_backend_does_not_branch_on_the_flavors_name():
    source = (Path(__file__).parents[1] / "labkit/backends/sim/backend.py").read_text()
    assert source.count("self.flavor ==") + source.count("self.flavor !=") == 0


def test_the_simulator_keeps_its_capabilities():
    protocols = {name for name, p in vars(base).items()
                 if isinstance(p, type) and getattr(p, "_is_runtime_protocol", False)}
    backend = SimBackend(nodes=1)
    kept = {name for name in protocols if isinstance(backend, getattr(base, name))}
    assert kept == {"Backend", "Exposes", "Components", "Summaries", "StopsContainers", "PausesNodes", "Machines",
                    "Meters"}


# -- reconcile results: requeue, and retry with back-off ----------------------------------------------
def queue_with(results: list[Result | None]) -> tuple[Clock, WorkQueue, list[float]]:
    """A queue whose reconcile answers `results` in turn (then done), noting when it ran."""
    clock, store = Clock(), Store()
    looks: list[float] = []

    def sync(key: str) -> Result | None:
        looks.append(clock.now)
        return results.pop(0) if results else None

    return clock, WorkQueue(clock, APIServer(store, clock, "kubernetes"), sync), looks


def test_a_reconcile_asking_for_a_retry_is_retried_with_exponential_back_off():
    clock, queue, looks = queue_with([Result(retry=True)] * 4)
    queue.add("web")
    clock.run_until(10.0)
    waits = [round(b - a, 6) for a, b in zip(looks, looks[1:])]
    assert waits == [0.005, 0.01, 0.02, 0.04]  # client-go's per-item rate limiter: 5 ms, doubling
    assert "web" not in queue.backoff  # the last look succeeded: its back-off is forgotten
    queue.done("web", Result(retry=True))
    clock.run_until(20.0)
    assert round(looks[-1] - 10.0, 6) == RETRY_START


def test_the_back_off_stops_growing_at_its_cap():
    clock, queue, looks = queue_with([Result(retry=True)] * 20)
    queue.add("web")
    clock.run_until(10_000.0)
    waits = [b - a for a, b in zip(looks, looks[1:])]
    assert max(waits) == pytest.approx(RETRY_CAP) and waits[-1] == pytest.approx(RETRY_CAP)


def test_a_reconcile_can_ask_to_look_again_later():
    clock, queue, looks = queue_with([Result(requeue_after=2.5)])
    queue.add("web")
    clock.run_until(10.0)
    assert looks == [0.0, 2.5]


def test_a_moving_rollout_asks_for_a_look_after_its_progress_deadline():
    k8s = SimBackend(nodes=2)
    k8s.deploy(DeploySpec("web", "web-server:1", replicas=2))
    k8s.advance(0.01)
    assert k8s.deployments.sync("web") == Result(requeue_after=600.5)
    k8s.advance(30)
    assert k8s.deployments.sync("web") is None  # rolled out: nothing to look at later
