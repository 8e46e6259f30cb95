"""`%docker` on the simulator: the real docker CLI against the simulator's served Docker Engine.

What the console adds around the real binary (labkit/console/tools/docker.py): the engine served
on first use in a private folder, time that moves only while a command waits (the same output and
the same cluster time on every run), a follow that never ends interrupted as Ctrl-C would, the
user's docker configuration left alone, and a clear error without a docker CLI.
"""
from __future__ import annotations

import os
import re
import stat

import pytest

import labkit
from labkit import console
from labkit.console import real
from labkit.console.parse import ConsoleError
from labkit.console.tools import docker
from labkit.errors import Unavailable


@pytest.fixture(autouse=True)
def fresh_console():
    console.forget()
    yield
    console.forget()


def swarm(nodes: int = 3):
    return console.use(labkit.connect("sim", flavor="swarm", nodes=nodes))


def test_a_following_create_prints_the_same_and_ends_at_the_same_cluster_time_on_every_run():
    """The CLI follows the service every 200 ms of wall time; each look moves the clock one step,
    and once converged for the 5 s monitor window the clock stands still: two runs agree."""
    runs = []
    for _ in range(2):
        console.forget()
        c = swarm()
        out = console.run("docker service create --name web --replicas 3 web-server:1")
        runs.append((out.splitlines()[-5:], c.now(), console.run("docker service ps web")))
    assert runs[0] == runs[1]
    lines, now, _ = runs[0]
    assert lines[0] == "overall progress: 3 out of 3 tasks" and lines[-1].startswith("verify: Service")
    assert 5 <= now < 30  # converged, then its monitor window in cluster time


def test_a_service_that_never_converges_is_interrupted_as_ctrl_c_would():
    c = swarm()
    out = console.run("docker service create --name ghost nosuch:1")
    assert "Operation continuing in background." in out
    assert "(labkit: interrupted after 60 s of cluster time, as Ctrl-C would)" in out
    assert "ghost" in console.run("docker service ls")  # the service stays, as on a real swarm
    assert c.now() < 70


def test_docker_wait_moves_the_clock_until_the_container_exits():
    host = console.use(labkit.connect("sim", flavor="docker"))
    console.run("docker run -d --name once web-server:broken")
    start = host.now()
    assert console.run("docker wait once").splitlines()[-1] == "1"  # the demo's broken image exits 1 after 5 s
    assert 4 <= host.now() - start <= 10


def test_the_cli_gets_a_private_engine_and_config_and_never_the_users(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("DOCKER_CONTEXT", "somebody-elses")
    c = swarm()
    console.run("docker node ls")
    door = c.backend.served_engine
    env = docker.environment(door)
    assert env["DOCKER_HOST"] == f"unix://{door.socket}" and "DOCKER_CONTEXT" not in env
    assert env["DOCKER_CONFIG"].startswith(door.folder)
    assert stat.S_IMODE(os.stat(door.folder).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(door.socket).st_mode) == 0o600
    assert not (tmp_path / ".docker").exists()


def test_a_simulator_reset_behind_the_engines_back_is_served_afresh():
    c = swarm()
    console.run("docker service create -d --name web web-server:1")
    c.backend.reset()
    assert console.run("docker service ls").count("\n") == 0  # the header alone: no stale records


def test_with_every_manager_off_the_cli_cannot_connect_and_the_hint_says_why():
    c = swarm()
    c.fail_node("node-1")
    with pytest.raises(ConsoleError) as error:
        console.run("docker node ls")
    assert "Cannot connect to the Docker daemon at unix://" in error.value.message
    assert "recover_node('node-1')" in error.value.hint
    c.recover_node("node-1")
    assert "node-1" in console.run("docker node ls")


def test_without_a_docker_cli_the_error_says_what_to_install(monkeypatch):
    def missing(tool: str) -> str:
        raise Unavailable(f"the {tool} command is not installed (it is not on PATH)", "install it")
    monkeypatch.setattr(real, "binary", missing)
    swarm()
    with pytest.raises(ConsoleError) as error:
        console.run("docker node ls")
    assert error.value.message.startswith("docker: command not found") and "no daemon needed" in error.value.message
    assert "conda install -c conda-forge docker-cli" in error.value.hint


def test_promote_and_demote_move_raft_s_majority_and_refuse_in_swarmkits_words():
    """swarmkit's controlapi UpdateNode: a promoted node is Reachable and counts in the majority; the
    last manager cannot be demoted, nor one whose leaving would lose the quorum."""
    c = swarm()
    assert console.run("docker node promote node-2") == "Node node-2 promoted to a manager in the swarm."
    assert "node-2     Ready     Active         Reachable" in console.run("docker node ls")
    assert [n.role for n in c.state().nodes] == ["manager", "manager", "worker"]
    console.run("docker node demote node-1")
    with pytest.raises(ConsoleError, match="attempting to demote the last manager of the swarm"):
        console.run("docker node demote node-2")
    console.forget()
    three = console.use(labkit.connect("sim", flavor="swarm", nodes=3, managers=3, name="q"))
    three.fail_node("node-3")
    three.run(30)
    with pytest.raises(ConsoleError, match="this would result in a loss of quorum"):
        console.run("docker node demote node-2")
    assert [n.role for n in three.state().nodes] == ["manager"] * 3  # nothing half done


def test_a_container_joins_and_leaves_networks_as_moby_answers():
    """`docker run --network`, `network connect/disconnect`: one endpoint per network, shown by both
    inspects; a network with endpoints is not removed; errors in moby's words."""
    console.use(labkit.connect("sim", flavor="docker"))
    console.run("docker network create shop")
    console.run("docker run -d --name web --network shop web-server:1")
    console.run("docker network connect bridge web")
    with pytest.raises(ConsoleError, match="endpoint with name web already exists in network bridge"):
        console.run("docker network connect bridge web")
    shown = console.run("docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}} "
                        "{{end}}' web")
    assert re.fullmatch(r"bridge=172\.17\.0\.\d+ shop=172\.19\.0\.\d+", shown.strip()), shown
    assert console.run("docker network inspect -f '{{range .Containers}}{{.Name}}{{end}}' shop") == "web"
    with pytest.raises(ConsoleError, match=r"network shop id \w+ has active endpoints"):
        console.run("docker network rm shop")
    console.run("docker network disconnect shop web")
    with pytest.raises(ConsoleError, match=r"container \w+ is not connected to network shop"):
        console.run("docker network disconnect shop web")
    assert console.run("docker network rm shop") == "shop"
    with pytest.raises(ConsoleError, match="network nosuch not found"):
        console.run("docker run -d --name other --network nosuch web-server:1")
    assert "other" not in console.run("docker ps -a")  # nothing half made
