"""Fidelity: a restart policy's back-off on the real Docker engine and on the simulator, compared.

Docker restarts a container whose policy says so after 100 ms, doubling each time up to one
minute, and back to 100 ms once it ran for 10 s (moby restartmanager/restartmanager.go);
`RestartCount` counts each decision; during the wait `docker ps` says `Restarting (1) ...`. The
kubelet's words (CrashLoopBackOff) are not Docker's. Measured on Debian's Docker Engine 20.10.24.
"""
from __future__ import annotations

import os
import re
import subprocess
import time

import pytest

import labkit
from labkit import console

pytestmark = pytest.mark.docker
SECONDS = 24.0  # web-server:broken crashes 5 s after each start: four restarts in this window
WORD = re.compile(r"\b(Up|Restarting \(\d+\)|Exited \(\d+\)|Created)")  # docker ps's STATUS, its first words


def restart_times(samples: list[tuple[float, int]]) -> list[float]:
    """When RestartCount went up, from (time, count) samples."""
    return [t for (t, count), (_, before) in zip(samples[1:], samples) if count > before]


def engine_starts(cluster, name: str, since: float, until: float) -> list[float]:
    """When the engine started container `name` (its own event timestamps, epoch seconds): a
    loaded machine slows our polling, not these."""
    events = cluster.backend.client.events(since=int(since), until=int(until) + 1, decode=True,
                                           filters={"type": "container", "event": "start",
                                                    "label": f"io.labkit={cluster.backend.lab}"})
    return sorted(e["timeNano"] / 1e9 for e in events if e["Actor"]["Attributes"].get("name") == name)


def real_run(cluster) -> tuple[list[float], set[str], set[str]]:
    """(restart times from the engine's events, the facade's phase/reason pairs, docker ps's
    status words) on the engine."""
    start, epoch = time.monotonic(), time.time()
    name = cluster.run_container("web-server:broken", name="flaky", restart="always")
    cluster.run_container("web-server:broken", name="once")  # no restart policy: it stays Exited (1)
    samples, seen, words = [(0.0, 0)], set(), set()
    while (now := time.monotonic() - start) < SECONDS:
        replica = next(r for r in cluster.state().replicas if r.name == name)
        samples.append((now, replica.restarts))
        seen.add(f"{replica.phase}/{replica.reason}")
        status = subprocess.run(["docker", "ps", "-a", "--filter", f"label=io.labkit={cluster.backend.lab}",
                                 "--format", "{{.Status}}"], capture_output=True, text=True).stdout
        words.update(WORD.findall(status))
        time.sleep(0.2)
    polled = restart_times(samples)
    started = [t - epoch for t in engine_starts(cluster, name, epoch, time.time())[1:]]
    assert len(started) >= len(polled), (started, polled)  # every restart polled is one the engine made
    return [t for t in started if t < SECONDS], seen, words


def sim_run(seed: int) -> tuple[list[float], set[str], set[str]]:
    cluster = labkit.connect("sim", flavor="docker", seed=seed)
    start = cluster.now()
    name = cluster.run_container("web-server:broken", name="flaky", restart="always")
    cluster.run_container("web-server:broken", name="once")
    samples, seen, words = [(0.0, 0)], set(), set()
    while (now := cluster.now() - start) < SECONDS:
        replica = next(r for r in cluster.state().replicas if r.name == name)
        samples.append((now, replica.restarts))
        seen.add(f"{replica.phase}/{replica.reason}")
        words.update(WORD.findall(console.run("docker ps -a", cluster)))
        cluster.run(0.2)
    return restart_times(samples), seen, words


@pytest.fixture(scope="module")
def real(engine):
    cluster = labkit.connect("docker", lab=f"fidelity-{os.getpid()}", quiet=True)
    yield cluster
    cluster.reset()
    cluster.close()


def test_a_crashing_container_restarts_at_the_real_times_within_2_s(real):
    """Each of the first restarts (5 s up, then 0.1, 0.2, 0.4, 0.8 s of back-off) happens within
    2 s of the real one, in the same number, with the same states: running, then `Restarting`
    (phase pending, as the real backend maps Docker's state), never the kubelet's words; and a
    second container with no restart policy shows `Exited (1)` in both."""
    real_times, real_seen, real_words = real_run(real)
    sim_times, sim_seen, sim_words = sim_run(seed=3)
    print(f"real restarts at {[round(t, 1) for t in real_times]}, states {sorted(real_seen)}, "
          f"docker ps {sorted(real_words)}")
    print(f"simulator restarts at {[round(t, 1) for t in sim_times]}, states {sorted(sim_seen)}, "
          f"docker ps {sorted(sim_words)}")
    assert len(real_times) >= 3, real_times
    assert abs(len(sim_times) - len(real_times)) <= 1, (real_times, sim_times)
    assert all(abs(s - r) <= 2.0 for s, r in zip(sim_times, real_times)), (real_times, sim_times)
    assert {"running/", "pending/Restarting"} <= sim_seen and not any("CrashLoop" in s for s in sim_seen)
    assert sim_seen <= real_seen | {"pending/"}, (sim_seen, real_seen)  # pending/: the first start
    assert {"Up", "Restarting (1)", "Exited (1)"} <= sim_words <= {"Up", "Restarting (1)", "Exited (1)", "Created"}, \
        sim_words
    assert real_words <= sim_words | {"Created"} and "Exited (1)" in real_words, (real_words, sim_words)
