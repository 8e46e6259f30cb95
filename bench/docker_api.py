"""The simulator served as a Docker Engine: what each everyday docker command costs (prints, asserts nothing).

    python bench/docker_api.py [RUNS] [CLI...]      # RUNS=15, the CLIs: /usr/bin/docker, then any `docker` on PATH

For each command against a served simulated swarm of 3 nodes (a service `web` of 3 tasks in it), the
median wall time of RUNS rounds (each round runs every command once, so that a busy moment of a shared
machine weighs on all of them alike) beside the CLI's own floor measured in the same run:
`docker version --format '{{.Client.Version}}'` (the CLI starts, reads its config, pings the engine),
and the ratio; goal: within 1.3x of the floor (issue 23). `docker --version` (no engine at all) is
printed too, to show what the CLI costs before it speaks.
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from labkit.backends.sim import SimBackend
from labkit.backends.sim.engine import ServedEngine

GOAL = 1.3
EVERYDAY = [("node ls", ("node", "ls")), ("service ls", ("service", "ls")),
            ("service ps web", ("service", "ps", "web")),
            ("service inspect --pretty web", ("service", "inspect", "--pretty", "web")), ("info", ("info",)),
            ("ps", ("ps",)), ("images", ("images",)), ("network ls", ("network", "ls"))]


def clis() -> list[str]:
    given = sys.argv[2:]
    if given:
        return given
    found = [p for p in ("/usr/bin/docker", shutil.which("docker")) if p and os.path.exists(p)]
    return list(dict.fromkeys(os.path.realpath(p) for p in found))


def timed(cli: str, env: dict[str, str], *args: str) -> float:
    start = time.perf_counter()
    done = subprocess.run([cli, *args], env=env, capture_output=True, text=True)
    took = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"docker {' '.join(args)} failed ({cli}): {done.stderr.strip()}")
    return took


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def bench(cli: str, runs: int) -> None:
    with ServedEngine(SimBackend(nodes=3, flavor="swarm", seed=1), speed=10.0) as engine, \
            tempfile.TemporaryDirectory(prefix="docker-config-") as config:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": config, "DOCKER_CONFIG": config, **engine.env()}
        version = subprocess.run([cli, "version", "--format", "{{.Client.Version}} (API {{.Client.APIVersion}})"],
                                 env=env, capture_output=True, text=True).stdout.strip()
        timed(cli, env, "service", "create", "-d", "--name", "web", "--replicas", "3", "web-server:1")
        time.sleep(1.0)  # (time runs 10x: the tasks run)
        steps = [("--version", ("--version",)), ("floor", ("version", "--format", "{{.Client.Version}}"))] + EVERYDAY
        took: dict[str, list[float]] = {label: [] for label, _ in steps}
        took.update({"service create -d": [], "service rm": []})
        for i in range(runs):  # one of each per round: a busy moment of the machine costs every command alike
            for label, args in steps:
                took[label].append(timed(cli, env, *args))
            took["service create -d"].append(timed(cli, env, "service", "create", "-d", "-q", "--name", f"bench-{i}",
                                                   "web-server:1"))
            took["service rm"].append(timed(cli, env, "service", "rm", f"bench-{i}"))
        bare, floor = median_ms(took.pop("--version")), median_ms(took.pop("floor"))
        print(f"{cli}, client {version}; median of {runs} rounds; `docker --version` (no engine) {bare:.0f} ms")
        print(f"  floor: docker version --format '{{{{.Client.Version}}}}'  {floor:5.0f} ms")
        rows = [(label, median_ms(samples)) for label, samples in took.items()]
        for label, ms in rows:
            mark = "" if ms / floor <= GOAL else f"   over the {GOAL}x goal"
            print(f"  docker {label:30} {ms:5.0f} ms  {ms / floor:4.2f}x the floor{mark}")
        assert not list(engine.failures), list(engine.failures)


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    for binary in clis():
        bench(binary, count)
