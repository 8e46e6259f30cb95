"""ReplicaSets a client makes itself and the pod-template-hash (issue 27), through the real kubectl
against a served simulator: the ReplicaSet page of kubernetes.io's concepts, played as written
(its image swapped for one the simulator's registry holds)."""
from __future__ import annotations

import time

import pytest

from labkit.backends.sim.kube.serve import ServedCluster
from tests.conftest import kubectl_json

FRONTEND = """\
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: frontend
  labels:
    app: guestbook
    tier: frontend
spec:
  replicas: 3
  selector:
    matchLabels:
      tier: frontend
  template:
    metadata:
      labels:
        tier: frontend
    spec:
      containers:
      - name: php-redis
        image: nginx:1.27
"""


@pytest.fixture(scope="module")
def served():
    cluster = ServedCluster(2, speed=20.0, seed=11).start()
    yield cluster
    cluster.stop()


def get(kubectl, *args: str) -> dict:
    return kubectl_json(kubectl, *args, warnings=True)  # (a relabelled pod's kubectl prints a Warning: first)


def pods_of(kubectl, namespace: str, selector: str, count: int) -> list[dict]:
    """The running, ready pods `selector` picks, once there are `count` of them and no more."""
    deadline = time.time() + 60
    while time.time() < deadline:
        items = [p for p in get(kubectl, "pods", "-n", namespace, "-l", selector)["items"]
                 if "deletionTimestamp" not in p["metadata"]]
        ready = [p for p in items if any(c["type"] == "Ready" and c["status"] == "True"
                                         for c in p["status"].get("conditions", []))]
        if len(items) == len(ready) == count:
            return sorted(items, key=lambda p: p["metadata"]["name"])
        time.sleep(0.3)
    raise AssertionError(f"never {count} ready pods for {selector}: {[p['metadata']['name'] for p in items]}")


def test_a_replica_set_of_ones_own_keeps_its_pods(kubectl, namespace):
    code, out = kubectl("apply", "-n", namespace, "-f", "-", stdin=FRONTEND)
    assert code == 0 and out.strip() == "replicaset.apps/frontend created", out
    pods = pods_of(kubectl, namespace, "tier=frontend", 3)
    for pod in pods:
        meta = pod["metadata"]
        assert meta["name"].startswith("frontend-") and len(meta["name"]) == len("frontend-") + 5
        assert meta["labels"] == {"tier": "frontend"}, "only the template's labels: no pod-template-hash"
        assert meta["ownerReferences"][0]["kind"] == "ReplicaSet"
        assert meta["ownerReferences"][0]["name"] == "frontend"
        assert pod["spec"]["containers"][0]["name"] == "php-redis"
    rs = get(kubectl, "rs", "frontend", "-n", namespace)
    assert rs["metadata"]["labels"] == {"app": "guestbook", "tier": "frontend"}
    assert "ownerReferences" not in rs["metadata"]
    assert "deployment.kubernetes.io/revision" not in rs["metadata"].get("annotations", {})
    assert rs["spec"]["selector"] == {"matchLabels": {"tier": "frontend"}}
    assert rs["status"]["readyReplicas"] == 3
    assert pods[0]["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]
    code, out = kubectl("get", "rs", "frontend", "-n", namespace)
    assert out.split("\n")[1].split()[:4] == ["frontend", "3", "3", "3"], out

    # a pod deleted is made again; scaling down takes pods away
    assert kubectl("delete", "pod", pods[0]["metadata"]["name"], "-n", namespace)[0] == 0
    again = pods_of(kubectl, namespace, "tier=frontend", 3)
    assert pods[0]["metadata"]["name"] not in [p["metadata"]["name"] for p in again]
    code, out = kubectl("scale", "rs", "frontend", "-n", namespace, "--replicas=1")
    assert code == 0 and out.strip() == "replicaset.apps/frontend scaled", out
    pods_of(kubectl, namespace, "tier=frontend", 1)

    # the selector is immutable; deleting the set takes its pods
    code, out = kubectl("patch", "rs", "frontend", "-n", namespace, "--type=merge",
                        "-p", '{"spec":{"selector":{"matchLabels":{"tier":"back"}}}}')
    assert code != 0 and "field is immutable" in out, out
    assert kubectl("delete", "rs", "frontend", "-n", namespace)[0] == 0
    pods_of(kubectl, namespace, "tier=frontend", 0)


def test_a_replica_set_whose_selector_does_not_match_is_refused(kubectl, namespace):
    wrong = FRONTEND.replace("        tier: frontend\n    spec:", "        tier: backend\n    spec:")
    code, out = kubectl("apply", "-n", namespace, "-f", "-", stdin=wrong)
    assert code != 0 and "`selector` does not match template `labels`" in out, out
    assert kubectl("get", "rs", "frontend", "-n", namespace)[0] != 0, "nothing half made"


def test_two_deployments_of_one_image_get_different_hashes(kubectl, namespace):
    """The hash covers the whole template, labels included (controller.ComputeHash): `web` and `api`
    of one image get different replica sets' hashes; a change of the template's labels alone is a
    new replica set, as a change of its image is."""
    for name in ("web", "api"):
        assert kubectl("create", "deployment", name, "-n", namespace, "--image=nginx:1.27")[0] == 0
        assert kubectl("rollout", "status", f"deploy/{name}", "-n", namespace, "--timeout=60s")[0] == 0
    sets = {rs["metadata"]["ownerReferences"][0]["name"]: rs["metadata"]["labels"]["pod-template-hash"]
            for rs in get(kubectl, "rs", "-n", namespace)["items"]}
    assert sets["web"] != sets["api"]
    patch = '{"spec":{"template":{"metadata":{"labels":{"tier":"front"}}}}}'
    assert kubectl("patch", "deployment", "web", "-n", namespace, "-p", patch)[0] == 0
    assert kubectl("rollout", "status", "deploy/web", "-n", namespace, "--timeout=60s")[0] == 0
    hashes = {rs["metadata"]["labels"]["pod-template-hash"] for rs in get(kubectl, "rs", "-n", namespace)["items"]
              if rs["metadata"]["ownerReferences"][0]["name"] == "web"}
    assert len(hashes) == 2 and sets["web"] in hashes


def test_new_pods_are_pending_first_in_a_watch(served, kubectl, namespace):
    """`kubectl get pods -w` shows a new pod Pending (not yet bound) before it runs, as the real
    scheduler's delay shows it, even when the simulator binds and starts it in one window."""
    import os
    import subprocess

    from tests.conftest import KUBECTL
    template = "{.type} {.object.metadata.name} {.object.status.phase} {.object.spec.nodeName}{\"\\n\"}"
    watch = subprocess.Popen([KUBECTL, "get", "pods", "-n", namespace, "-w", "--output-watch-events",
                              "-o", f"jsonpath={template}"], env={**os.environ, "KUBECONFIG": served.kubeconfig},
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(1.0)
        assert kubectl("create", "deployment", "web", "-n", namespace, "--image=nginx:1.27")[0] == 0
        pods_of(kubectl, namespace, "app=web", 1)
        time.sleep(0.5)
    finally:
        watch.terminate()
    lines = [line.split() for line in watch.communicate(timeout=10)[0].splitlines() if line.strip()]
    assert lines[0][0] == "ADDED" and lines[0][2] == "Pending" and len(lines[0]) == 3, lines  # no node yet
    assert lines[-1][:1] == ["MODIFIED"] and lines[-1][2] == "Running" and len(lines[-1]) == 4, lines
