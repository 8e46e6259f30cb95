"""What the scheduler fits is what a client wrote (issue 28): requests written with kubectl, the
QoS class they make, and the scheduler's own words when nothing fits, through the real kubectl
against a served simulator of three 4-CPU workers."""
from __future__ import annotations

import json
import time

import pytest

from labkit.backends.sim.kube.serve import ServedCluster
from labkit.backends.sim.objects import qos_class, requests_of


@pytest.fixture(scope="module")
def served():
    cluster = ServedCluster(3, speed=20.0, seed=6).start()
    yield cluster
    cluster.stop()


def pods(kubectl, namespace: str) -> list[dict]:
    code, out = kubectl("get", "pods", "-n", namespace, "-o", "json")
    assert code == 0, out
    return json.loads(out)["items"]


def test_requests_larger_than_any_node_leave_a_pod_pending_in_the_schedulers_words(kubectl, namespace):
    assert kubectl("create", "deployment", "big", "-n", namespace, "--image=nginx:1.27")[0] == 0
    assert kubectl("set", "resources", "deployment", "big", "-n", namespace, "--requests=cpu=6")[0] == 0
    deadline = time.time() + 30
    while time.time() < deadline:
        pending = [p for p in pods(kubectl, namespace) if p["status"]["phase"] == "Pending"
                   and p["spec"]["containers"][0].get("resources", {}).get("requests")]  # (not the first pod, starting)
        if pending:
            break
        time.sleep(0.3)
    name = pending[0]["metadata"]["name"]
    assert pending[0]["status"]["qosClass"] == "Burstable"
    code, out = kubectl("get", "events", "-n", namespace, "--field-selector", f"involvedObject.name={name}",
                        "-o", "jsonpath={.items[*].message}")
    assert ("0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
            "3 Insufficient cpu. preemption: 0/4 nodes are available: 1 Preemption is not helpful for scheduling, "
            "3 No preemption victims found for incoming pod..") in out, out
    # lowering the requests is the fix: the next rollout's pods fit, and say which namespace they are in
    assert kubectl("set", "resources", "deployment", "big", "-n", namespace, "--requests=cpu=500m")[0] == 0
    assert kubectl("rollout", "status", "deploy/big", "-n", namespace, "--timeout=60s")[0] == 0
    code, out = kubectl("get", "events", "-n", namespace, "--field-selector", "reason=Scheduled",
                        "-o", "jsonpath={.items[*].message}")
    assert f"Successfully assigned {namespace}/big-" in out, out


def test_the_qos_class_follows_requests_and_limits():
    both = {"requests": {"cpu": "500m", "memory": "64Mi"}, "limits": {"cpu": "0.5", "memory": "64Mi"}}
    assert qos_class({"containers": [{"name": "a", "resources": both}]}) == "Guaranteed"
    assert qos_class({"containers": [{"name": "a", "resources": {"limits": both["limits"]}}]}) == "Guaranteed"
    assert qos_class({"containers": [{"name": "a", "resources": {"requests": {"cpu": "1"}}}]}) == "Burstable"
    assert qos_class({"containers": [{"name": "a"}, {"name": "b", "resources": both}]}) == "Burstable"
    assert qos_class({"containers": [{"name": "a", "resources": {}}]}) == "BestEffort"
    assert requests_of({"containers": [{"resources": {"requests": {"cpu": "250m", "memory": "1Gi"}}},
                                       {"resources": {"limits": {"cpu": "1", "memory": "100M"}}}]}) == (1250, 1120)


def test_pods_of_a_powered_off_node_show_the_kubelets_last_report():
    """Nobody reports for a node without power: the API server keeps showing its pods Running (the
    last report), the node lifecycle controller marks them not ready once the node is NotReady, and
    after the eviction timeout they are Terminating there while their replacements run elsewhere."""
    import labkit as lk
    from labkit import console
    k8s = console.use(lk.connect("sim", nodes=3, seed=1))
    k8s.deploy("web", image="nginx:1.27", replicas=3)
    k8s.wait()

    def on(node: str) -> list[list[str]]:
        rows = console.run("kubectl get pods -o wide --no-headers").splitlines()
        return [row.split() for row in rows if row.split()[6] == node]
    k8s.fail_node("node-2")
    assert [row[1:3] for row in on("node-2")] == [["1/1", "Running"]]
    assert "lost power" in k8s.events()[-1].message  # labkit's own log says what the student did ...
    assert "lost power" not in console.run("kubectl get events")  # ... a real cluster records nothing of it
    k8s.run(60)
    assert [row[1:3] for row in on("node-2")] == [["0/1", "Running"]]
    k8s.run(300)
    assert [row[1:3] for row in on("node-2")] == [["0/1", "Terminating"]]
    k8s.recover_node("node-2")
    k8s.run(10)  # its kubelet is back: it finishes the deletion
    assert not on("node-2")
    console.forget()
