"""What clients write comes back as a real API server returns it (issue 27), through the real kubectl
and the official client against a served simulator."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest

from labkit.backends.sim.kube.serve import ServedCluster

sys.path.insert(0, os.path.dirname(__file__))
from test_kube_api import DEPLOYMENT, KUBECTL  # noqa: E402


@pytest.fixture(scope="module")
def served():
    cluster = ServedCluster(2, speed=20.0, seed=7).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def kubectl(served):
    def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
        done = subprocess.run([KUBECTL, *args], input=stdin, capture_output=True, text=True, timeout=90,
                              env={**os.environ, "KUBECONFIG": served.kubeconfig})
        return done.returncode, done.stdout + done.stderr
    return run


@pytest.fixture
def namespace(kubectl, request):
    """A namespace of the test's own, gone after it: no test sees another's objects."""
    name = request.node.name.replace("_", "-")[:50].strip("-").lower()
    assert kubectl("create", "namespace", name)[0] == 0
    yield name
    kubectl("delete", "namespace", name, "--wait=false")


def web(namespace: str) -> str:
    return json.dumps({**DEPLOYMENT, "metadata": {**DEPLOYMENT["metadata"], "namespace": namespace}})


def test_generation_counts_spec_changes_only(kubectl, namespace):
    assert kubectl("apply", "-f", "-", stdin=web(namespace))[0] == 0
    assert kubectl("rollout", "status", "-n", namespace, "deploy/web", "--timeout=60s")[0] == 0
    read = lambda: kubectl("get", "-n", namespace, "deploy", "web", "-o",  # noqa: E731
                           "jsonpath={.metadata.generation} {.status.observedGeneration}")[1]
    assert read() == "1 1"  # made once, pods became ready: still the first generation
    assert kubectl("scale", "-n", namespace, "deploy/web", "--replicas=4")[0] == 0
    assert kubectl("rollout", "status", "-n", namespace, "deploy/web", "--timeout=60s")[0] == 0
    assert read() == "2 2"
    assert kubectl("set", "image", "-n", namespace, "deploy/web", "web-server=web-server:2")[0] == 0
    assert kubectl("rollout", "status", "-n", namespace, "deploy/web", "--timeout=60s")[0] == 0
    assert read() == "3 3"


def test_rollout_restart_restarts_and_history_reads_1_2_3(kubectl, namespace):
    assert kubectl("apply", "-f", "-", stdin=web(namespace))[0] == 0
    assert kubectl("rollout", "status", "-n", namespace, "deploy/web", "--timeout=60s")[0] == 0
    before = set(kubectl("get", "pods", "-n", namespace, "-o", "name")[1].split())
    assert kubectl("rollout", "restart", "-n", namespace, "deploy/web")[1].strip() == "deployment.apps/web restarted"
    assert kubectl("rollout", "status", "-n", namespace, "deploy/web", "--timeout=60s")[0] == 0
    code, annotations = kubectl("get", "-n", namespace, "deploy", "web", "-o",
                                "jsonpath={.spec.template.metadata.annotations}")
    assert "kubectl.kubernetes.io/restartedAt" in annotations
    time.sleep(2)  # the old pods end (40 s of cluster time at 20x)
    after = set(kubectl("get", "pods", "-n", namespace, "-o", "name")[1].split())
    assert after and not after & before  # every pod is new
    assert kubectl("set", "image", "-n", namespace, "deploy/web", "web-server=web-server:2")[0] == 0
    assert kubectl("rollout", "status", "-n", namespace, "deploy/web", "--timeout=60s")[0] == 0
    code, out = kubectl("rollout", "history", "-n", namespace, "deploy/web")
    assert [line.split()[0] for line in out.splitlines()[2:] if line.strip()] == ["1", "2", "3"]


def test_node_labels_and_annotations_stick(kubectl):
    assert kubectl("label", "node", "node-1", "disk=ssd")[0] == 0
    assert kubectl("annotate", "node", "node-1", "team=blue")[0] == 0
    assert kubectl("get", "node", "node-1", "-o", "jsonpath={.metadata.labels.disk}")[1] == "ssd"
    assert kubectl("get", "node", "node-1", "-o", "jsonpath={.metadata.annotations.team}")[1] == "blue"
    assert "node-1" in kubectl("get", "nodes", "-l", "disk=ssd", "-o", "name")[1]
    assert kubectl("label", "node", "node-1", "disk-")[0] == 0
    assert "disk" not in kubectl("get", "node", "node-1", "--show-labels")[1]
    code, out = kubectl("get", "node", "node-1", "--show-labels")
    assert "kubernetes.io/hostname=node-1" in out  # the kubelet's own labels stay


def test_nodes_report_the_kubelets_four_conditions(kubectl):
    code, out = kubectl("get", "nodes", "-o", "jsonpath={.items[1].status.conditions[*].type}")
    assert out.split() == ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]
    code, out = kubectl("get", "nodes", "-o", "jsonpath={.items[1].status.conditions[*].reason}")
    assert out.split() == ["KubeletHasSufficientMemory", "KubeletHasNoDiskPressure", "KubeletHasSufficientPID",
                           "KubeletReady"]
    assert "MemoryPressure   False" in kubectl("describe", "node", "node-1")[1]


def test_a_service_patch_merges_ports_on_port_and_delete_answers_the_service(kubectl, namespace, served):
    assert kubectl("apply", "-f", "-", stdin=web(namespace))[0] == 0
    assert kubectl("expose", "-n", namespace, "deploy/web", "--port=80")[0] == 0
    code, out = kubectl("patch", "-n", namespace, "svc", "web", "-p",
                        '{"spec":{"ports":[{"port":80,"targetPort":8080}]}}')
    assert (code, out.strip()) == (0, "service/web patched")
    ports = json.loads(kubectl("get", "-n", namespace, "svc", "web", "-o", "jsonpath={.spec.ports}")[1])
    assert [(p["port"], p["targetPort"]) for p in ports] == [(80, 8080)]  # merged on port, not added
    from kubernetes import client, config
    core = client.CoreV1Api(config.new_client_from_config(config_file=served.kubeconfig))
    deleted = core.delete_namespaced_service("web", namespace)
    assert deleted.kind == "Service" and deleted.metadata.name == "web"  # the object, decoded by the client


def test_no_timestamp_lies_in_the_future_on_a_fast_clock(kubectl, namespace):
    assert kubectl("apply", "-f", "-", stdin=web(namespace))[0] == 0
    time.sleep(3)  # a minute of cluster time at 20x
    pods = json.loads(kubectl("get", "pods", "-n", namespace, "-o", "json")[1])["items"]
    now = datetime.now(timezone.utc).timestamp()
    stamps = [p["metadata"]["creationTimestamp"] for p in pods] + [p["status"]["startTime"] for p in pods]
    assert stamps and all(datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() <= now + 1 for s in stamps)
    assert "<invalid>" not in kubectl("describe", "pods", "-n", namespace)[1]


@pytest.mark.parametrize("pod, says", [("etcd-control-plane", "serving client traffic securely"),
                                       ("kube-apiserver-control-plane", "Serving securely on"),
                                       ("kube-scheduler-control-plane", "successfully acquired lease")])
def test_logs_of_the_control_planes_pods(kubectl, pod, says):
    code, out = kubectl("logs", "-n", "kube-system", pod)
    assert code == 0 and says in out
