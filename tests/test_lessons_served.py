"""Lessons 03, 04, 04b, 06 and 07, solved (solutions/), on labkit's Kubernetes backend: the official
client and the real kubectl against the simulator served as an API server (`labkit serve`).

Each notebook runs under nbval's lax mode with LABKIT_BACKEND=kubernetes: every cell must run
without an error, and the exercises' checks (the cells tagged `nbval-check-output`) must print
exactly what they print on the simulator in the notebook: "✔ ... passed". Twice: on a served
cluster of one worker and of three, because a lesson must read the size of the cluster it is
given (lesson 03 asks for 50, 100 and 125 replicas a worker; 06 and 07 add the workers they
lack), so that the same notebook fits a one-node minikube. Each notebook gets a served cluster
of its own, in a process of its own (its clock follows the wall clock 30x, so the 300 s
eviction of lesson 06 takes 10 s); two run at once. The same runs against a real cluster
are `LABKIT_BACKEND=kubernetes LABKIT_KUBE_CONTEXT=<context> pytest --nbval-lax solutions/03-...`.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ("03-kubernetes-first-steps.ipynb", "04-rolling-updates-rollbacks-canaries.ipynb",
             "04b-bad-updates-canaries-clients.ipynb", "06-self-healing-and-high-availability.ipynb",
             "07-choosing-an-orchestrator.ipynb")
SPEED = 30.0
# One process: a served cluster of NODES workers, then pytest --nbval-lax on NOTEBOOK against it.
RUNNER = """
import os, subprocess, sys, tempfile
from labkit.backends.sim.kube.serve import CONTEXT, ServedCluster
notebook, nodes, speed = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
folder = tempfile.mkdtemp(prefix="labkit-lesson-")
with ServedCluster(nodes, seed=7, speed=speed, kubeconfig=os.path.join(folder, "kubeconfig")) as served:
    env = {**os.environ, "KUBECONFIG": served.kubeconfig, "LABKIT_BACKEND": "kubernetes",
           "LABKIT_KUBE_CONTEXT": CONTEXT, "LABKIT_STRICT": "1"}
    sys.exit(subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "-q", "-p", "no:cacheprovider",
                             notebook], cwd=folder, env=env).returncode)
"""


@pytest.mark.slow
@pytest.mark.parametrize("nodes", [1, 3])
def test_lessons_run_on_the_kubernetes_backend_against_a_served_cluster(nodes):
    outputs: dict[str, str] = {}
    for start in range(0, len(NOTEBOOKS), 2):  # two at a time: the engines' timing tests share the 2 cores
        pair = NOTEBOOKS[start:start + 2]
        runs = {name: subprocess.Popen([sys.executable, "-c", RUNNER, str(ROOT / "solutions" / name), str(nodes),
                                        str(SPEED)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                       start_new_session=True)  # its pytest and kernel go with it
                for name in pair}
        try:
            outputs.update({name: run.communicate(timeout=600)[0] for name, run in runs.items()})
        finally:
            for run in runs.values():
                if run.poll() is None:
                    os.killpg(run.pid, signal.SIGKILL)
        for name, run in runs.items():
            assert run.returncode == 0, f"{name} on {nodes} served node(s):\n{outputs[name][-5000:]}"
            assert " passed" in outputs[name]
