"""Lesson 02 on a real swarm: making one by hand, managers, quorum.

Real playground machines: one in no swarm that the console's real
`docker swarm init` turns into a manager, joins that each start a new
machine, and a swarm of three managers that keeps working after losing
one and refuses every change after losing two.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys

import pytest

import labkit
from labkit import console, lessons
from labkit.backends.base import LABEL
from labkit.console.real import CommandFailed, stream
from labkit.errors import Unavailable
from labkit.private import find_dir

pytestmark = pytest.mark.swarm


@pytest.fixture
def lab_cluster(engine):
    made = []

    def open_one(**options):
        cluster = labkit.connect("swarm", lab=f"t02-{os.getpid()}", quiet=True, **options)
        made.append(cluster)
        return cluster
    yield open_one
    errors = []
    for cluster in made:  # every one, even when removing another failed
        try:
            cluster.backend.destroy()
        except Exception as error:
            errors.append(error)
        cluster.close()
    assert not errors
    for cluster in made:
        assert not engine.containers.list(all=True, filters={"label": f"{LABEL}={cluster.backend.lab}"})
        assert not os.path.exists(os.path.join(find_dir() or "", f"{cluster.backend.lab}.lock"))


@contextlib.contextmanager
def busy_cores(seconds: float = 90):
    """Every core kept busy, as on a loaded CI machine or a small laptop, for at most `seconds`
    (each burner stops by itself then, and is killed on the way out)."""
    burn = f"import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end: pass"
    burners = [subprocess.Popen([sys.executable, "-c", burn]) for _ in range(os.cpu_count() or 2)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def containers(engine, cluster) -> int:
    return len(engine.containers.list(all=True, filters={"label": [f"{LABEL}={cluster.backend.lab}",
                                                                    f"{LABEL}.kind=node"]}))


def test_a_swarm_made_by_hand_with_the_real_cli(lab_cluster, engine):
    machine = lab_cluster(nodes=1, init=False)
    assert [(n.name, n.status) for n in machine.state().nodes] == [("node-1", "Ready (no swarm)")]
    with pytest.raises(Unavailable, match="not in a swarm yet"):
        machine.deploy("web", "web-server:1")

    out = console.run("docker swarm init", machine)
    assert "Swarm initialized" in out and "docker swarm join --token" in out
    token = lessons.lab("02").join_token(machine)
    manager = lessons.lab("02").manager_address(machine)
    assert manager in out  # the address `swarm init` printed is the one the lesson joins at

    with pytest.raises(CommandFailed) as error:
        console.run(f"docker swarm join --tocken {token} {manager}", machine)
    assert error.value.hint == "did you mean --token?"
    assert containers(engine, machine) == 1  # the machine started for that join is gone again

    assert "joined a swarm as a worker" in console.run(f"docker swarm join --token {token} {manager}", machine)
    assert lessons.lab("02").join(machine) == "node-3"  # the Python form: also a new machine
    state = machine.wait(until=lambda s: len(s.nodes) == 3 and all(n.ready for n in s.nodes), timeout=60)
    assert [(n.name, n.role) for n in state.nodes] == [("node-1", "manager"), ("node-2", "worker"),
                                                        ("node-3", "worker")]
    web = machine.deploy("web", "web-server:1", replicas=3)
    web.wait(90)
    assert {r.node for r in machine.state().replicas_of("web")} == {"node-1", "node-2", "node-3"}


def test_three_managers_survive_one_loss_and_refuse_after_two(lab_cluster):
    one = lab_cluster(nodes=3, name="ha")
    assert [n.role for n in one.state().nodes] == ["manager", "worker", "worker"]
    ha = lab_cluster(nodes=3, managers=3, name="ha")  # the same lab, asked for three managers: a new swarm
    assert [n.role for n in ha.state().nodes] == ["manager"] * 3
    assert ha.backend.lab == one.backend.lab and ha.backend.pg.ip(1).endswith(".2")
    web = ha.deploy("web", "web-server:1", replicas=2)
    web.wait(90)

    with busy_cores():  # a loaded machine, where cold CI met leadership moving for longer than five tries
        ha.fail_node("node-1")  # the leader: the other two elect a new one
        web.scale(3)
    ha.wait(timeout=90)
    state = ha.state()
    assert not state.node("node-1").ready and state.workload("web").ready == 3

    ha.fail_node("node-2")  # no majority left
    with pytest.raises(Unavailable, match="lost its quorum: 2 of its 3 managers are down"):
        web.scale(4)
    state = ha.state()  # still a picture (the last one, without the switched-off machines)
    assert state.swarm.leader is None and not state.node("node-2").ready
    with pytest.raises(CommandFailed) as error:
        console.run("docker service scale web=4", ha)
    assert "quorum" in error.value.hint and "recover_node('node-1')" in error.value.hint

    with busy_cores():
        ha.recover_node("node-2")  # a majority again: changes are accepted, once node-2 is back in
        assert ha.state().node("node-2").ready
        web.scale(4)
    ha.wait(timeout=90)
    assert ha.state().workload("web").ready == 4


def test_service_progress_redraws_show_their_last_frame(tmp_path):
    """`docker service create` redraws its progress lines on a terminal; a notebook gets what the
    terminal ends up showing: each line's last text, in the order the lines first appeared."""
    script = ("for i in 1 1 1 2 2 3; do echo \"overall progress: $i out of 3 tasks\"; echo '1/3: running'; done; "
              "echo 'verify: Service converged'; echo done")
    shown: list[str] = []
    code, lines = stream(["sh", "-c", script], dict(os.environ), shown.append)
    assert code == 0 and lines == shown  # what an error message quotes is what was shown
    assert shown == ["overall progress: 3 out of 3 tasks", "1/3: running", "verify: Service converged", "done"]


def test_a_lab_made_before_fixed_addresses_is_started_afresh(lab_cluster, engine):
    from labkit.backends.docker.playground import SUBNET_LABEL
    lab = f"t02-{os.getpid()}-old"
    engine.networks.create(f"labkit-{lab}", labels={LABEL: lab, f"{LABEL}.kind": "network"})
    machine = lab_cluster(nodes=1, init=False, name="old")
    network = engine.networks.get(f"labkit-{lab}")
    assert SUBNET_LABEL in network.attrs["Labels"]
    assert machine.backend.pg.ip(1) == network.attrs["IPAM"]["Config"][0]["Subnet"].rsplit(".", 1)[0] + ".2"
