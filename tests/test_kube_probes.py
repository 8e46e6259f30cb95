"""Liveness probes (sim/prober.py), played as kubernetes.io's "Configure Liveness, Readiness and
Startup Probes" writes them, through the real kubectl against a served simulator."""
from __future__ import annotations

import json
import time

import pytest

from labkit.backends.sim.kube.serve import ServedCluster

EXEC_LIVENESS = """\
apiVersion: v1
kind: Pod
metadata:
  labels: {test: liveness}
  name: liveness-exec
spec:
  containers:
  - name: liveness
    image: registry.k8s.io/busybox:1.27.2
    args: [/bin/sh, -c, touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600]
    livenessProbe:
      exec:
        command: [cat, /tmp/healthy]
      initialDelaySeconds: 5
      periodSeconds: 5
"""

HTTP_LIVENESS = """\
apiVersion: v1
kind: Pod
metadata:
  labels: {test: liveness}
  name: liveness-http
spec:
  containers:
  - name: liveness
    image: registry.k8s.io/e2e-test-images/agnhost:2.40
    args: [liveness]
    livenessProbe:
      httpGet:
        path: /healthz
        port: 8080
        httpHeaders:
        - {name: Custom-Header, value: Awesome}
      initialDelaySeconds: 3
      periodSeconds: 3
"""


@pytest.fixture(scope="module")
def served():
    cluster = ServedCluster(1, speed=20.0, seed=4).start()
    yield cluster
    cluster.stop()


def events_of(kubectl, namespace: str, pod: str) -> list[tuple[str, str]]:
    code, out = kubectl("get", "events", "-n", namespace, "--field-selector", f"involvedObject.name={pod}",
                        "-o", "json")
    assert code == 0, out
    return [(e["reason"], e["message"]) for e in json.loads(out)["items"]]


def restarts(kubectl, namespace: str, pod: str) -> int:
    code, out = kubectl("get", "pod", pod, "-n", namespace, "-o", "jsonpath={.status.containerStatuses[0].restartCount}")
    assert code == 0, out
    return int(out or 0)


def wait_for(what, seconds: float = 60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError("never came")


def test_an_exec_probe_restarts_the_container_once_its_file_is_gone(kubectl, namespace):
    assert kubectl("apply", "-n", namespace, "-f", "-", stdin=EXEC_LIVENESS)[0] == 0  # the page's file, unchanged
    wait_for(lambda: restarts(kubectl, namespace, "liveness-exec") >= 1, 90)
    said = events_of(kubectl, namespace, "liveness-exec")
    assert ("Unhealthy", "Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory\n") in said
    assert ("Killing", "Container liveness failed liveness probe, will be restarted") in said
    code, out = kubectl("get", "pod", "liveness-exec", "-n", namespace, "-o",
                        "jsonpath={.status.containerStatuses[0].lastState.terminated.exitCode}")
    assert out == "137", "sh as PID 1 ignores SIGTERM: killed after the grace period"


def test_an_http_probe_sees_agnhost_fail_after_ten_seconds(kubectl, namespace):
    assert kubectl("apply", "-n", namespace, "-f", "-", stdin=HTTP_LIVENESS)[0] == 0
    wait_for(lambda: restarts(kubectl, namespace, "liveness-http") >= 1, 90)
    said = events_of(kubectl, namespace, "liveness-http")
    assert ("Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 500") in said
    assert ("Killing", "Container liveness failed liveness probe, will be restarted") in said


def test_a_probe_on_a_path_or_port_nothing_serves_fails_as_the_kubelet_says(kubectl, namespace):
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                         "livenessProbe": {"httpGet": {"path": "/healthz", "port": 80},
                                                           "periodSeconds": 2}}]}}
    assert kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(manifest))[0] == 0
    wait_for(lambda: ("Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 404")
             in events_of(kubectl, namespace, "web"))
    manifest["metadata"]["name"] = "tcp"
    manifest["spec"]["containers"][0]["livenessProbe"] = {"tcpSocket": {"port": 8080}, "periodSeconds": 2}
    assert kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(manifest))[0] == 0
    said = wait_for(lambda: [m for r, m in events_of(kubectl, namespace, "tcp") if r == "Unhealthy"])
    assert said[0].startswith("Liveness probe failed: dial tcp 10.244.") and said[0].endswith(
        ":8080: connect: connection refused"), said


def test_a_probe_that_passes_never_restarts(kubectl, namespace):
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "fine"},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"name": "http",
                                                                                       "containerPort": 80}],
                                         "livenessProbe": {"httpGet": {"path": "/", "port": "http"},
                                                           "periodSeconds": 1}}]}}
    assert kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(manifest))[0] == 0
    wait_for(lambda: "Running" in kubectl("get", "pod", "fine", "-n", namespace)[1])
    time.sleep(2)  # 40 s of cluster time: 40 checks
    assert restarts(kubectl, namespace, "fine") == 0
    assert not [r for r, _ in events_of(kubectl, namespace, "fine") if r in ("Unhealthy", "Killing")]
