"""Shared fixtures: which backends the scenario suite runs against.

LABKIT_TEST_BACKENDS (comma-separated) chooses; by default the simulator in
both flavors, the real Docker engine and a real Swarm playground when a
daemon answers, labkit's Kubernetes backend (the official client) against the
simulator served as a Kubernetes API ("kubernetes-served", time 30x the wall
clock), and a real Kubernetes cluster when LABKIT_KUBE_CONTEXT names one.
With LABKIT_REQUIRE_DOCKER=1 (CI) a missing engine fails instead of skipping.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

import labkit
from labkit.errors import Unavailable

DEFAULT = "sim-kubernetes,sim-swarm,docker,swarm,kubernetes-served,kubernetes"

# The simulator's clock stands still between calls in every test and in every kernel a test starts
# (nbval, nbclient: they inherit this environment), as the stored outputs were made; a test of the
# wall clock sets LABKIT_CLOCK=wall itself (labkit/timekeeping.py).
os.environ["LABKIT_CLOCK"] = "still"
SERVED_SPEED = 30.0  # the served simulator's clock: 300 s of eviction take 10 s


def backends() -> list[str]:
    return [b.strip() for b in os.environ.get("LABKIT_TEST_BACKENDS", DEFAULT).split(",") if b.strip()]


_open: dict[str, labkit.Cluster] = {}


def open_cluster(kind: str) -> labkit.Cluster:
    """One cluster per backend for the whole run (a Swarm playground is slow to start)."""
    if kind in _open:
        return _open[kind]
    if kind.startswith("sim-"):
        return labkit.connect("sim", nodes=3, flavor=kind[4:], seed=7)
    if kind == "kubernetes-served":
        _open[kind] = cluster = served_cluster(3, SERVED_SPEED)
        return cluster
    if kind == "kubernetes" and not os.environ.get("LABKIT_KUBE_CONTEXT"):
        pytest.skip("no Kubernetes cluster here: set LABKIT_KUBE_CONTEXT=<context> (e.g. labkit after "
                    "`minikube start -p labkit`) to run the scenarios against a real cluster")
    try:
        cluster = labkit.connect(kind, nodes=3)
    except Unavailable as error:
        if os.environ.get("LABKIT_REQUIRE_DOCKER") and kind in ("docker", "swarm"):
            raise
        pytest.skip(f"{kind} backend unavailable: {error.message}")
    _open[kind] = cluster
    return cluster


_served: list = []


def served_cluster(nodes: int, speed: float) -> labkit.Cluster:
    """labkit's Kubernetes backend, through the official client, against a simulator served
    as a Kubernetes API in this process (what `labkit serve` runs), with a kubeconfig of its own."""
    import tempfile

    from labkit.backends.sim.kube.serve import CONTEXT, ServedCluster
    folder = tempfile.mkdtemp(prefix="labkit-served-")
    served = ServedCluster(nodes, seed=7, speed=speed, kubeconfig=os.path.join(folder, "kubeconfig")).start()
    _served.append(served)
    os.environ["KUBECONFIG"] = os.pathsep.join(
        [served.kubeconfig] + [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p])
    return labkit.connect("kubernetes", context=CONTEXT)


@pytest.fixture(scope="module")
def engine():
    """A docker SDK client of the local engine; skips without one, unless LABKIT_REQUIRE_DOCKER."""
    from labkit.backends.docker import common
    try:
        client = common.connect()
    except Unavailable as error:
        if os.environ.get("LABKIT_REQUIRE_DOCKER"):
            raise
        pytest.skip(f"no Docker daemon: {error.message}")
    yield client
    client.close()


@pytest.fixture(params=backends())
def cluster(request):
    c = open_cluster(request.param)
    c.reset()
    yield c
    c.reset()


ENGINE_MARKS = {"docker", "swarm", "kubernetes"}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """Two groups for `pytest -n 2 --dist loadgroup` (make test): what waits on a real engine, and
    what computes (the simulator, notebooks on it, the browser test of its views). One worker each,
    so the engines' minutes overlap the simulator's; a group keeps its module fixtures (one Swarm
    playground). The engines' group is the longer: the browser test (a minute) is in the other."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        real = (any(item.get_closest_marker(m) for m in ENGINE_MARKS) or "engine" in getattr(item, "fixturenames", ())
                or params.get("cluster") in ("docker", "swarm", "kubernetes"))
        item.add_marker(pytest.mark.xdist_group("engines" if real else "simulator"))


def pytest_sessionfinish(session, exitstatus):
    for c in _open.values():
        try:
            c.reset()
            c.close()
        except Exception:  # best effort: the reaper removes what is left
            pass
    for served in _served:
        served.stop()


# -- the real kubectl against a served simulator --------------------------------------------------------
KUBECTL = os.path.join(os.path.dirname(sys.executable), "kubectl")  # the course's, in the venv
if not os.path.exists(KUBECTL):
    KUBECTL = shutil.which("kubectl") or KUBECTL


def kubectl_json(kubectl, *args: str, warnings: bool = False) -> dict:
    """`kubectl get ARGS -o json`, parsed (it must succeed). `warnings`: the command may print the
    server's `Warning:` lines first (a deprecated kind, a relabelled pod); else any line must be JSON."""
    code, out = kubectl("get", *args, "-o", "json")
    assert code == 0, out
    if warnings:
        out = "\n".join(line for line in out.splitlines() if not line.startswith("Warning:"))
    return json.loads(out)


@pytest.fixture
def kubectl(served):
    """The real kubectl against the module's served simulator (the module's own `served` fixture):
    run(*args, stdin=None) -> (exit code, stdout + stderr)."""
    def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
        done = subprocess.run([KUBECTL, *args], input=stdin, capture_output=True, text=True, timeout=90,
                              env={**os.environ, "KUBECONFIG": served.kubeconfig})
        return done.returncode, done.stdout + done.stderr
    return run


@pytest.fixture
def namespace(kubectl, request):
    """A namespace of the test's own, deleted after it: no test sees another's objects."""
    name = request.node.name.replace("_", "-")[:50].strip("-").lower()
    assert kubectl("create", "namespace", name)[0] == 0
    yield name
    kubectl("delete", "namespace", name, "--wait=false")
