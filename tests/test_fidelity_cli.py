"""Fidelity of the served Docker Engine: the same docker command lines, through the real CLI
(Debian's 20.10, /usr/bin/docker), against the real playground (three Docker-in-Docker nodes made
by labkit's swarm backend) and against a served simulated swarm of the same shape, compared after
normalizing what must differ: ids, ages, addresses, engine versions, and which node a task landed
on (each side's scheduler breaks ties its own way; the spread itself is compared). A failure shows a
unified diff, the real engine's lines first.

Both sides run at once (two threads, each its own commands in order), so the file costs about the
real swarm's half minute: create 3 tasks, scale to 5, update to web-server:2, then a container on a
plain engine (the playground's node-3, a machine's own Docker Engine; on the simulator a machine in
no swarm). Differences found here and fixed in the simulator (each fix names its upstream source):
- progress bars counted the old tasks during an update (`5 out of 5`, then `verify: Detected task
  failure`): the `_up-to-date` task filter (swarmkit controlapi/task.go) was accepted but not applied;
- `service inspect --pretty` had no UpdateConfig/RollbackConfig: `?insertDefaults=true` was ignored
  (swarmkit api/defaults/service.go InterpolateService);
- the course's images had a registry digest pinned; they are built on the machine, in no registry,
  so the CLI warns and keeps the tag (services.py distribution);
- `docker ps`: an argument with a space in single quotes (moby container/view.go), the image's
  EXPOSE as `80/tcp` on a task's container, and a shut-down task's container kept `Exited (0)`
  until the task leaves the history (boxes.py);
- a spec read back had no `"Runtime": "container"` and no `"Isolation": "default"` (moby
  daemon/cluster/convert: spec.py as_served).
Known, not fixed here: a simulated machine holds none of the course's images and pulls web-server:1
on first `docker run` (test_docker_run_of_a_course_image_pulls_nothing, xfail).
"""
from __future__ import annotations

import concurrent.futures
import difflib
import json
import os
import re
import subprocess
import time
from collections import Counter
from dataclasses import dataclass

import pytest

from labkit.backends.sim import SimBackend
from labkit.backends.sim.engine import ServedEngine

from conftest import backends, open_cluster

pytestmark = pytest.mark.swarm
CLI = "/usr/bin/docker"  # Debian's 20.10: what the playground's nodes run, and what students type
SPEED = 1.0  # the simulated swarm keeps the wall clock's pace, so the CLI's waits see the same moves

SWARM_STEPS = (
    ("node ls", ("node", "ls")),
    ("service create", ("service", "create", "--replicas", "3", "--name", "web", "web-server:1")),
    ("service ps", ("service", "ps", "web")),
    ("service ls", ("service", "ls")),
    ("service inspect --pretty", ("service", "inspect", "--pretty", "web")),
    ("service inspect spec", ("service", "inspect", "--format", "{{json .Spec}}", "web")),
    ("info", ("info",)),
    ("service scale", ("service", "scale", "web=5")),
    ("service ps after scale", ("service", "ps", "web")),
    ("service update", ("service", "update", "--image", "web-server:2", "web")),
    ("service ps after update", ("service", "ps", "web")),
    ("ps -a", ("ps", "-a")),
    ("service rm", ("service", "rm", "web")),
)
PLAIN_STEPS = (
    ("run", ("run", "-d", "--name", "solo", "web-server:1")),
    ("ps", ("ps",)),
    ("inspect state", ("inspect", "--format", "{{json .State}}", "solo")),
    ("stop", ("stop", "solo")),
    ("ps -a after stop", ("ps", "-a")),
    ("inspect state after stop", ("inspect", "--format", "{{json .State}}", "solo")),
    ("rm", ("rm", "solo")),
)


@dataclass(frozen=True)
class Ran:
    out: str
    err: str
    code: int
    seconds: float


@dataclass(frozen=True)
class Side:
    """Where one side's commands go: a swarm's manager and a plain engine (DOCKER_HOST values)."""
    name: str
    manager: str
    plain: str
    config: str


def docker(host: str, config: str, *args: str) -> Ran:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": config, "DOCKER_CONFIG": config, "DOCKER_HOST": host}
    start = time.monotonic()
    done = subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=240)
    return Ran(done.stdout, done.stderr, done.returncode, time.monotonic() - start)


def transcript(side: Side) -> dict[str, Ran]:
    """Every step on one side, in order; the plain engine's steps once no task container is left on it."""
    ran = {key: docker(side.manager, side.config, *args) for key, args in SWARM_STEPS}
    deadline = time.monotonic() + 30
    while docker(side.plain, side.config, "ps", "-aq").out.strip() and time.monotonic() < deadline:
        time.sleep(0.5)  # the real agent removes a removed service's containers a moment later
    ran.update({key: docker(side.plain, side.config, *args) for key, args in PLAIN_STEPS})
    return ran


# -- the two sides ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real(tmp_path_factory):
    if not os.path.exists(CLI):
        pytest.skip(f"no {CLI} (Debian's docker.io client) on this machine")
    if "swarm" not in backends():
        pytest.skip("the swarm backend is not in LABKIT_TEST_BACKENDS")
    cluster = open_cluster("swarm")
    pg = cluster.backend.pg
    if pg is None or len(pg.node_containers()) != 3:
        pytest.skip("the swarm backend has no 3-node playground here")
    cluster.reset()
    side = Side("real", pg.names.socket_url(1), pg.names.socket_url(3), str(tmp_path_factory.mktemp("real-cli")))
    docker(side.manager, side.config, "service", "rm", "web")  # what an interrupted run left
    docker(side.plain, side.config, "rm", "-f", "solo")
    yield side
    docker(side.manager, side.config, "service", "rm", "web")
    docker(side.plain, side.config, "rm", "-f", "solo")
    cluster.reset()


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    with ServedEngine(SimBackend(nodes=3, flavor="swarm", seed=1), speed=SPEED) as swarm, \
            ServedEngine(SimBackend(nodes=1, flavor="swarm", init=False, seed=3), speed=SPEED) as plain:
        yield Side("simulated", swarm.host, plain.host, str(tmp_path_factory.mktemp("sim-cli")))
        assert not list(swarm.failures) and not list(plain.failures), (list(swarm.failures), list(plain.failures))


@pytest.fixture(scope="module")
def runs(real, simulated) -> dict[str, dict[str, Ran]]:
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = {side.name: pool.submit(transcript, side) for side in (real, simulated)}
        found = {name: future.result() for name, future in futures.items()}
    for name, ran in found.items():
        print(f"{name}: " + ", ".join(f"{key} {r.seconds:.1f} s" for key, r in ran.items() if r.seconds > 1))
    return found


# -- normalizing ---------------------------------------------------------------------------------------
AGE = r"(?:Less than a second|About an? \w+|\d+ \w+)"  # go-units HumanDuration
IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")


def ages(text: str) -> str:
    return re.sub(rf"{AGE} ago", "<age> ago", re.sub(rf"\bUp {AGE}", "Up <age>", text))


def columns(text: str) -> list[dict[str, str]]:
    """A table the CLI printed (text/tabwriter: each column starts where the header's does) as rows
    of {header: cell}; a cell may hold single spaces (`Running 5 seconds ago`)."""
    lines = text.rstrip("\n").splitlines()
    header = lines[0]
    starts = [0] + [m.end() for m in re.finditer(r" {2,}(?=\S)", header)]
    names = [header[a:b].strip() for a, b in zip(starts, starts[1:] + [None])]
    return [{n: line[a:b].strip() for n, a, b in zip(names, starts, starts[1:] + [None])} for line in lines[1:]]


def table(text: str, **fix) -> str:
    """The table as `header | header` then `cell | cell` lines, each column's cells through fix[column]
    (its name with `_` for a space) and every age normalized."""
    rows = columns(text)
    if not rows:
        return text
    names = list(rows[0])
    out = [" | ".join(names)]
    for row in rows:
        cells = [fix.get(n.replace(" ", "_"), lambda v: v)(row[n]) for n in names]
        out.append(" | ".join(ages(c) for c in cells))
    return "\n".join(out)


def task_node(value: str) -> str:
    return re.sub(r"node-\d+", "node-N", value)


def ident(_: str) -> str:
    return "<id>"


def progress(ran: Ran) -> tuple[str, list[int]]:
    """What a following `docker service create/scale/update` printed, its repeats dropped (the
    number of looks depends on timing): the opening lines and the final ones; and the running
    counts it went through."""
    lines = ran.out.splitlines()
    if lines and re.fullmatch(r"[0-9a-z]{25}", lines[0]):
        lines[0] = "<service id>"
    counts = [int(m.group(1)) for m in map(re.compile(r"overall progress: (\d+) out of").match, lines) if m]
    last = max(i for i, line in enumerate(lines) if line.startswith("overall progress:"))
    first = next(i for i, line in enumerate(lines) if line.startswith("overall progress:"))
    opening = lines[:first + 1] + [line for line in lines[first + 1:last] if re.fullmatch(r"\d+/\d+: .*", line)]
    final = [line for line in lines[last:] if not line.startswith("verify: Waiting")]
    return "\n".join(opening + ["..."] + final + ["stderr:", ran.err.rstrip(), f"exit {ran.code}"]), counts


def same(runs: dict[str, dict[str, Ran]], key: str, normalize) -> None:
    """The step's normalized output alike on both sides, else a unified diff (real first)."""
    real, sim = (normalize(runs[side][key]) for side in ("real", "simulated"))
    if real != sim:
        diff = "\n".join(difflib.unified_diff(real.splitlines(), sim.splitlines(), "real swarm", "simulator",
                                              lineterm=""))
        pytest.fail(f"`docker {key}` differs (normalized):\n{diff}", pytrace=False)


def ok(ran: Ran) -> Ran:
    assert ran.code == 0, ran.err
    return ran


# -- the comparisons -----------------------------------------------------------------------------------
def test_node_ls(runs):
    same(runs, "node ls", lambda r: table(ok(r).out, ID=lambda v: re.sub(r"^[0-9a-z]{25}", "<id>", v),
                                          ENGINE_VERSION=lambda v: "<version>"))


@pytest.mark.parametrize("key", ["service create", "service scale", "service update"])
def test_a_following_command_prints_the_same_progress(runs, key):
    """The opening lines (`overall progress: 0 out of 3 tasks`, `1/3:`...), the final ones (`3 out of 3`,
    `verify: Service converged`), the registry warning on stderr; the running count never goes down."""
    same(runs, key, lambda r: progress(ok(r))[0])
    for side in ("real", "simulated"):
        counts = progress(runs[side][key])[1]
        assert counts == sorted(counts), f"{side}: the count went down: {counts}"
        assert "Detected task failure" not in runs[side][key].out, side


def spread(text: str) -> list[int]:
    """How many running tasks each node holds, largest first."""
    return sorted(Counter(r["NODE"] for r in columns(text) if r["DESIRED STATE"] == "Running").values(), reverse=True)


@pytest.mark.parametrize("key", ["service ps", "service ps after scale", "service ps after update"])
def test_service_ps(runs, key):
    """Rows, slots, images, the states' words (`Running`, and after the update each slot's old task
    `\\_ web.N ... Shutdown  Shutdown <age> ago`); which node is normalized, how they spread is not."""
    same(runs, key, lambda r: table(ok(r).out, ID=ident, NODE=task_node))
    assert spread(runs["real"][key].out) == spread(runs["simulated"][key].out)


def test_service_ls(runs):
    same(runs, "service ls", lambda r: table(ok(r).out, ID=ident))


def test_service_inspect_pretty(runs):
    same(runs, "service inspect --pretty", lambda r: re.sub(r"(?m)^ID:\t\t\S+$", "ID:\t\t<id>", ok(r).out))


def test_service_spec_as_json(runs):
    """The spec as stored and served (`docker service inspect` asks for swarmkit's defaults too)."""
    same(runs, "service inspect spec", lambda r: json.dumps(json.loads(ok(r).out), indent=1, sort_keys=True))


def swarm_section(ran: Ran) -> str:
    """`docker info`'s Swarm lines (from ` Swarm:` to the next top-level line), ids and addresses
    normalized; the rest of `docker info` describes the host (kernel, CPUs, storage driver)."""
    lines = ok(ran).out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(" Swarm:"))
    end = next((i for i in range(start + 1, len(lines)) if re.match(r" \S", lines[i])), len(lines))
    text = "\n".join(lines[start:end])
    text = re.sub(r"(NodeID|ClusterID): \S+", r"\1: <id>", text)
    return IPV4.sub("<ip>", text)


def test_info_swarm_section(runs):
    same(runs, "info", swarm_section)


def test_ps_on_the_manager_after_the_update(runs):
    """The manager's own containers: its new tasks `Up`, `80/tcp`, and its old tasks' containers kept
    `Exited (0) <age> ago` until the task history lets them go. Which tasks the manager holds depends on
    where each side placed them, so the kinds of rows are compared, not their number."""
    def kinds(ran: Ran) -> str:
        rows = table(ok(ran).out, CONTAINER_ID=ident, CREATED=lambda v: "<created>",
                     NAMES=lambda v: re.sub(r"^web\.\d+\.[0-9a-z]{25}$", "web.N.<task>", v)).splitlines()
        return "\n".join(rows[:1] + sorted(set(rows[1:])))
    same(runs, "ps -a", kinds)


def test_service_rm(runs):
    same(runs, "service rm", lambda r: ok(r).out)


def state(ran: Ran) -> str:
    found = json.loads(ok(ran).out)
    found["Pid"] = "<pid>" if found.get("Pid") else 0
    for key in ("StartedAt", "FinishedAt"):
        found[key] = "<zero>" if found.get(key, "").startswith("0001-01-01") else "<time>"
    return json.dumps(found, indent=1, sort_keys=True)


def test_a_plain_engine_container_ps_and_state(runs):
    """`docker run -d`, `ps`, the State of `inspect`, `stop` (the demo image's trap: exit 0), `ps -a`."""
    same(runs, "run", lambda r: re.sub(r"^[0-9a-f]{64}$", "<id>", ok(r).out.strip()))
    for key in ("ps", "ps -a after stop"):
        same(runs, key, lambda r: table(ok(r).out, CONTAINER_ID=ident, CREATED=lambda v: "<created>"))
    for key in ("inspect state", "inspect state after stop"):
        same(runs, key, state)
    same(runs, "stop", lambda r: ok(r).out)
    same(runs, "rm", lambda r: ok(r).out)


@pytest.mark.xfail(strict=True, reason="labkit loads its images into every playground machine (playground.py "
                   "_load_images); a simulated machine holds none and pulls web-server:1 on first use, from a "
                   "registry that does not have it")
def test_docker_run_of_a_course_image_pulls_nothing(runs):
    same(runs, "run", lambda r: r.err)


def test_the_commands_take_the_real_time_within_a_factor_of_two(runs):
    """The CLI follows a service until it converges: a student waits about as long on both."""
    for key in ("service create", "service scale", "service update"):
        real, sim = runs["real"][key].seconds, runs["simulated"][key].seconds
        assert 0.5 * real <= sim <= 2.0 * real, (key, real, sim)
