"""Real requests to real engines (labkit.traffic_live), and the simulator's verdicts beside them.

The acceptance scenario of zero downtime on a real swarm: 6 replicas behind a published port,
50 requests a second during a rolling update. With start-first order and a healthcheck no
request fails; with Swarm's defaults (stop-first, no healthcheck) some do, because a new task
counts as running 2 s before its program listens. The simulator must reach the same verdicts.
"""
from __future__ import annotations

import os
import time

import pytest

import labkit
from labkit import catalog
from labkit.backends.docker import common as du
from labkit.backends.base import LABEL, Probe
from labkit.backends.sim.node import first_success
from labkit.errors import AlreadyExists, InvalidInput, NotFound
from labkit.traffic_live import get

from conftest import backends, open_cluster

RATE, REPLICAS = 50, 6
SCENARIOS = {"start-first with a healthcheck": {"order": "start-first", "readiness": True},
             "Swarm's defaults": {}}


def updates_under_traffic(cluster, wait) -> dict[str, labkit.traffic.Traffic]:
    """Both scenarios side by side on one cluster (half the wall time on a real one): deploy,
    send traffic, update, and stop sending a moment after both updates are done."""
    made = {title: cluster.deploy(f"web{n}", image="web-server:1", replicas=REPLICAS, ports=[f"{8080 + n}:80"],
                                  **plan)
            for n, (title, plan) in enumerate(SCENARIOS.items())}
    wait(cluster)
    cluster.run(3)  # every replica listens
    records = {title: cluster.traffic(web.name, rate=RATE, seconds=120) for title, web in made.items()}
    cluster.run(3)
    for web in made.values():
        web.update("web-server:2")
    wait(cluster)
    cluster.run(3)
    for record in records.values():
        record.stop()
    return records


@pytest.mark.swarm
def test_a_real_swarm_update_loses_requests_only_without_start_first_and_a_healthcheck():
    if "swarm" not in backends():
        pytest.skip("the swarm backend is not in LABKIT_TEST_BACKENDS")
    real = open_cluster("swarm")
    real.reset()
    try:
        measured = updates_under_traffic(real, lambda c: c.wait(timeout=180))
    finally:
        real.reset()
    modelled = updates_under_traffic(labkit.connect("sim", flavor="swarm", nodes=3, seed=1), lambda c: c.wait())
    verdicts = {}
    for title in SCENARIOS:
        print(f"{title}: real {measured[title]!r}\n    simulator {modelled[title]!r}")
        assert len(measured[title].requests) >= RATE * 20  # it covered the update (about 20 s or more)
        assert {"hello v1", "hello v2"} <= set(measured[title].answers())
        verdicts[title] = (measured[title].failed == 0, modelled[title].failed == 0)
    assert verdicts == {"start-first with a healthcheck": (True, True), "Swarm's defaults": (False, False)}


@pytest.fixture()
def docker_cluster():
    if "docker" not in backends():
        pytest.skip("the docker backend is not in LABKIT_TEST_BACKENDS")
    cluster = open_cluster("docker")
    cluster.reset()
    yield cluster
    cluster.reset()


@pytest.mark.docker
def test_requests_to_real_containers_record_the_version_and_the_latency(docker_cluster):
    cluster = docker_cluster
    cluster.deploy("web", image="web-server:2", replicas=3, ports=["80"])
    cluster.wait(timeout=60)
    cluster.run(catalog.LISTENS_AFTER + 1)
    targets = cluster.backend.targets("web")
    assert sorted(name for _, _, name in targets) == ["web.1", "web.2", "web.3"]
    record = cluster.traffic("web", rate=100, seconds=3)
    assert record.join(20) and len(record.requests) == 300
    assert record.answers() == {"hello v2": 300}, record
    assert {r.replica for r in record.requests} == {"web.1", "web.2", "web.3"}  # spread over all three
    assert 0 < max(r.latency for r in record.requests) < 2
    with pytest.raises(InvalidInput, match="rate must be"):
        cluster.traffic("web", rate=0)
    cluster.deploy("quiet", image="web-server:1")
    with pytest.raises(NotFound, match="'quiet' publishes no port") as unpublished:
        cluster.traffic("quiet")
    assert "ports=['80']" in unpublished.value.hint


@pytest.mark.docker
def test_a_host_port_already_taken_names_its_holder_and_nothing_is_made(docker_cluster, engine):
    cluster = docker_cluster
    holder = engine.containers.run("web-server:1", detach=True, ports={"80/tcp": None},
                                   name=f"holder-{os.getpid()}", labels={LABEL: f"test-holder-{os.getpid()}"})
    try:
        holder.reload()
        port = int(holder.attrs["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"])
        with pytest.raises(AlreadyExists, match=f"host port {port} is taken by the container 'holder-"):
            cluster.deploy("web", image="web-server:1", ports=[f"{port}:80"])
        assert not cluster.state().workloads and not cluster.backend._containers("web")
    finally:
        holder.remove(force=True)


@pytest.mark.docker
def test_a_demo_image_listens_after_its_start_delay_and_a_healthcheck_sees_it_as_modelled(engine):
    """Refused until START_DELAY has passed, then answering; Docker's healthcheck (every 1 s,
    first after one interval) calls it healthy when the simulator's model says it would."""
    from labkit.backends.docker import images
    images.ensure_images(engine)
    probe = Probe()
    c = engine.containers.run("web-server:1", detach=True, labels={LABEL: f"test-listen-{os.getpid()}"},
                              healthcheck=du.healthcheck(probe))
    try:
        started = time.monotonic()
        c.reload()
        ip = du.container_ip(c.attrs)
        assert get(ip, 80, "/ready", timeout=1)[0] == "refused"
        while get(ip, 80, "/ready", timeout=1) != ("ok", "ready"):
            assert time.monotonic() - started < 10
            time.sleep(0.05)
        listened = time.monotonic() - started
        while c.attrs["State"].get("Health", {}).get("Status") != "healthy":
            assert time.monotonic() - started < 15
            time.sleep(0.1)
            c.reload()
        healthy = time.monotonic() - started
        expected = first_success(probe, catalog.LISTENS_AFTER, health=True)
        print(f"listening after {listened:.2f} s, healthy after {healthy:.2f} s; modelled {expected:g} s")
        assert abs(listened - catalog.LISTENS_AFTER) < 1.0
        assert expected - 0.5 <= healthy <= expected + probe.period + 1.0
    finally:
        c.remove(force=True)


@pytest.mark.kubernetes
def test_requests_reach_a_real_kubernetes_service_through_its_node_ports():
    """Runs against a real cluster only (LABKIT_KUBE_CONTEXT, e.g. minikube with the demo images
    loaded); none runs here, so CI skips it. The served simulator refuses, see test_traffic.py."""
    if "kubernetes" not in backends():
        pytest.skip("the kubernetes backend is not in LABKIT_TEST_BACKENDS")
    cluster = open_cluster("kubernetes")
    cluster.reset()
    try:
        web = cluster.deploy("web", image="web-server:1", replicas=3, readiness=True, max_surge=1, max_unavailable=0)
        cluster.wait(timeout=300)
        cluster.expose("web", port=8080)
        record = cluster.traffic("web", rate=20, seconds=120)
        time.sleep(3)
        web.update("web-server:2")
        cluster.wait(timeout=300)
        time.sleep(3)
        record.stop()
        print(repr(record))
        assert record.failed == 0 and {"hello v1", "hello v2"} <= set(record.answers())
    finally:
        cluster.reset()
