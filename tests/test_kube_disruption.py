"""PodDisruptionBudgets, honoured by eviction (kinds/poddisruptionbudgets.py): `kubectl drain` waits for a
budget as on a real cluster, through the real kubectl against a served simulator."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from labkit.backends.sim.kube.serve import ServedCluster

sys.path.insert(0, os.path.dirname(__file__))
from test_kube_api import KUBECTL  # noqa: E402


@pytest.fixture
def kubectl():
    cluster = ServedCluster(2, speed=20.0, seed=4).start()

    def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
        done = subprocess.run([KUBECTL, *args], input=stdin, capture_output=True, text=True, timeout=90,
                              env={**os.environ, "KUBECONFIG": cluster.kubeconfig})
        return done.returncode, done.stdout + done.stderr
    yield run
    cluster.stop()


def pdb_status(kubectl, name: str) -> dict:
    return json.loads(kubectl("get", "pdb", name, "-o", "json")[1])["status"]


def test_a_budget_counts_healthy_pods_and_refuses_bad_specs(kubectl):
    assert kubectl("create", "deployment", "web", "--image=web-server:1", "--replicas=3")[0] == 0
    assert kubectl("rollout", "status", "deploy/web", "--timeout=60s")[0] == 0
    assert kubectl("create", "pdb", "web", "--selector=app=web", "--max-unavailable=34%")[1].strip() == \
        "poddisruptionbudget.policy/web created"
    status = pdb_status(kubectl, "web")
    assert (status["expectedPods"], status["currentHealthy"], status["desiredHealthy"],
            status["disruptionsAllowed"]) == (3, 3, 1, 2), "34% of 3 rounds up to 2 that may go"
    lines = kubectl("get", "pdb")[1].splitlines()
    assert lines[0].split() == ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED", "DISRUPTIONS", "AGE"]
    assert lines[1].split()[:4] == ["web", "N/A", "34%", "2"]
    both = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "both"},
            "spec": {"minAvailable": 1, "maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}}}
    code, out = kubectl("apply", "-f", "-", stdin=json.dumps(both))
    assert code == 1 and "minAvailable and maxUnavailable cannot be both set" in out
    both["spec"] = {"minAvailable": "120%"}
    code, out = kubectl("apply", "-f", "-", stdin=json.dumps(both))
    assert code == 1 and 'spec.minAvailable: Invalid value: "120%": must not be greater than 100%' in out


def test_drain_waits_for_the_budget_then_goes_once_it_allows(kubectl):
    assert kubectl("create", "deployment", "web", "--image=web-server:1", "--replicas=2")[0] == 0
    assert kubectl("rollout", "status", "deploy/web", "--timeout=60s")[0] == 0
    assert kubectl("create", "pdb", "web", "--selector=app=web", "--min-available=2")[0] == 0
    code, out = kubectl("drain", "node-1", "--ignore-daemonsets", "--timeout=7s")
    assert code == 1 and "(will retry after 5s): Cannot evict pod as it would violate the pod's disruption " \
                         "budget." in out
    assert "global timeout reached: 7s" in out
    pods = json.loads(kubectl("get", "pods", "-o", "json")[1])["items"]
    assert len(pods) == 2 and not any(p["metadata"].get("deletionTimestamp") for p in pods), "nothing evicted"
    assert kubectl("patch", "pdb", "web", "--type=merge", "-p", '{"spec": {"minAvailable": 1}}')[0] == 0
    code, out = kubectl("drain", "node-1", "--ignore-daemonsets", "--timeout=60s")
    assert code == 0 and "node/node-1 drained" in out.splitlines() and " evicted" in out, out
    assert kubectl("rollout", "status", "deploy/web", "--timeout=60s")[0] == 0
    nodes = {p["spec"]["nodeName"] for p in json.loads(kubectl("get", "pods", "-o", "json")[1])["items"]}
    assert nodes == {"node-2"}
