"""The course notes' Swarm lines, verbatim, on the real Swarm playground (the real docker CLI)."""
from __future__ import annotations

import pytest

from labkit import console
from labkit.console.parse import ConsoleError

from conftest import open_cluster

pytestmark = pytest.mark.swarm


@pytest.fixture
def swarm():
    cluster = open_cluster("swarm")  # skips without an engine, unless LABKIT_REQUIRE_DOCKER is set
    cluster.reset()
    console.forget()
    console.use(cluster)
    yield cluster
    console.forget()
    cluster.reset()


def test_swarm_init_on_the_playground_explains_it_is_a_swarm_already(swarm):
    before = [(n.name, n.role) for n in swarm.state().nodes]
    with pytest.raises(ConsoleError) as error:
        console.run("docker swarm init")
    assert "already part of a swarm" in error.value.message
    assert "node-1 ran `docker swarm init`" in error.value.hint
    assert [(n.name, n.role) for n in swarm.state().nodes] == before


def test_the_notes_tocken_typo_gets_did_you_mean_token(swarm):
    with pytest.raises(ConsoleError) as error:
        console.run("docker swarm join --tocken <token>")
    assert "unknown flag: --tocken" in error.value.output + error.value.message
    assert error.value.hint == "did you mean --token?"


def test_the_notes_service_create_line_with_placeholders_runs_with_consent(swarm):
    line = "docker service create --replicas=3 <-e> <-p> <--network> my-web-server"
    explained = console.run(line)  # without consent: explained, not run, on a real cluster
    assert "placeholders" in explained and swarm.state().workloads == ()
    console.configure(translate="always")
    console.run(line)
    web = swarm.workload("my-web-server").wait(300)
    assert (web.desired, web.ready) == (3, 3)
    assert len({r.node for r in swarm.state().replicas_of("my-web-server")}) == 3  # across hosts
    table = console.run("docker service ls")
    assert table.splitlines()[0].split() == ["ID", "NAME", "MODE", "REPLICAS", "IMAGE", "PORTS"]
    assert "3/3" in table


def test_docker_run_on_the_manager_is_labelled_and_reset_removes_it(swarm):
    console.run("docker run my-web-server")
    mine = console.run("docker ps -a --filter label=io.labkit --format {{.Image}}")
    assert "my-web-server" in mine.split()
    swarm.reset()
    assert "my-web-server" not in console.run("docker ps -a --filter label=io.labkit --format {{.Image}}").split()
