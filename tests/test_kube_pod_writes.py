"""Pod writes of every kind kubectl sends, and v1 Endpoints kept in step with the slices (issue 28),
through the real kubectl against a served simulator."""
from __future__ import annotations

import time

import pytest

from labkit.backends.sim.kube.serve import ServedCluster
from tests.conftest import kubectl_json


@pytest.fixture(scope="module")
def served():
    cluster = ServedCluster(2, speed=20.0, seed=5).start()
    yield cluster
    cluster.stop()


def get(kubectl, *args: str) -> dict:
    return kubectl_json(kubectl, *args, warnings=True)  # (a relabelled pod's kubectl prints a Warning: first)


def web(kubectl, namespace: str, replicas: int = 2) -> list[str]:
    assert kubectl("create", "deployment", "web", "-n", namespace, "--image=web-server:1",
                   f"--replicas={replicas}")[0] == 0
    assert kubectl("rollout", "status", "deploy/web", "-n", namespace, "--timeout=60s")[0] == 0
    return sorted(p["metadata"]["name"] for p in get(kubectl, "pods", "-n", namespace, "-l", "app=web")["items"])


def test_labels_and_annotations_of_pods_stick(kubectl, namespace):
    pods = web(kubectl, namespace)
    code, out = kubectl("label", "pods", "-n", namespace, "-l", "app=web", "tier=front")
    assert code == 0 and out.split("\n")[0] == f"pod/{pods[0]} labeled"
    assert kubectl("annotate", "pod", pods[1], "-n", namespace, "note=hello")[0] == 0
    found = {p["metadata"]["name"]: p["metadata"] for p in get(kubectl, "pods", "-n", namespace)["items"]}
    assert all(found[name]["labels"]["tier"] == "front" for name in pods)
    assert found[pods[1]]["annotations"] == {"note": "hello"}
    assert found[pods[0]]["labels"]["pod-template-hash"], "the replica set's label stays"
    assert kubectl("label", "pod", pods[0], "-n", namespace, "tier-")[0] == 0
    assert "tier" not in get(kubectl, "pod", pods[0], "-n", namespace)["metadata"]["labels"]


def test_a_relabelled_pod_leaves_its_replica_set_and_the_service(kubectl, namespace):
    """The quarantine every tutorial shows: the replica set makes another pod, the service drops it."""
    pods = web(kubectl, namespace)
    assert kubectl("expose", "deploy", "web", "-n", namespace, "--port=80")[0] == 0
    assert kubectl("label", "pod", pods[0], "-n", namespace, "app=debug", "--overwrite")[0] == 0
    quarantined = get(kubectl, "pod", pods[0], "-n", namespace)
    assert "ownerReferences" not in quarantined["metadata"]
    assert quarantined["spec"]["containers"][0]["name"] == "web-server", "it keeps the spec it was made with"
    deadline = time.time() + 30
    while time.time() < deadline:
        serving = get(kubectl, "pods", "-n", namespace, "-l", "app=web")["items"]
        if len(serving) == 2 and all(c["status"] == "True" for p in serving for c in p["status"]["conditions"]
                                     if c["type"] == "Ready"):
            break
        time.sleep(0.5)
    assert len(serving) == 2 and pods[0] not in {p["metadata"]["name"] for p in serving}
    targets = {a["targetRef"]["name"] for s in get(kubectl, "endpoints", "web", "-n", namespace)["subsets"]
               for a in s["addresses"]}
    assert targets == {p["metadata"]["name"] for p in serving}
    assert kubectl("delete", "deploy", "web", "-n", namespace)[0] == 0
    assert kubectl("get", "pod", pods[0], "-n", namespace)[0] == 0, "an orphan outlives the deployment"


def test_a_pod_spec_changes_only_where_the_api_allows(kubectl, namespace):
    assert kubectl("run", "solo", "-n", namespace, "--image=web-server:1")[0] == 0
    code, out = kubectl("patch", "pod", "solo", "-n", namespace, "-p", '{"spec": {"restartPolicy": "Never"}}')
    assert code == 1 and 'The Pod "solo" is invalid: spec: Forbidden: pod updates may not change fields other ' \
                         "than `spec.containers[*].image`" in out
    assert kubectl("patch", "pod", "solo", "-n", namespace, "-p", '{"spec": {"activeDeadlineSeconds": 600}}')[0] == 0
    add = '[{"op": "add", "path": "/spec/tolerations/-", "value": {"key": "x", "operator": "Exists"}}]'
    assert kubectl("patch", "pod", "solo", "-n", namespace, "--type=json", "-p", add)[0] == 0
    spec = get(kubectl, "pod", "solo", "-n", namespace)["spec"]
    assert spec["activeDeadlineSeconds"] == 600 and {"key": "x", "operator": "Exists"} in spec["tolerations"]
    drop = '[{"op": "remove", "path": "/spec/tolerations/0"}]'
    code, out = kubectl("patch", "pod", "solo", "-n", namespace, "--type=json", "-p", drop)
    assert code == 1 and "only additions to existing tolerations" in out
    code, out = kubectl("set", "image", "pod/solo", "-n", namespace, "solo=web-server:2")
    assert code == 1 and "does not change a running pod's image yet" in out and "kubectl set image deployment" in out
    assert kubectl("label", "pod", "solo", "-n", namespace, "bad key=1")[0] == 1


def test_endpoints_follow_readiness_with_the_deprecation_warning(kubectl, namespace):
    code, out = kubectl("get", "endpoints", "-n", "default", "kubernetes")
    assert code == 0 and "192.168.49.2:8443" in out
    assert "Warning: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice" in out
    assert kubectl("create", "service", "clusterip", "lonely", "-n", namespace, "--tcp=80:80")[0] == 0
    lonely = get(kubectl, "ep", "lonely", "-n", namespace)
    assert "subsets" not in lonely and kubectl("get", "ep", "lonely", "-n", namespace)[1].split("\n")[1].split()[1] \
        == "<none>"
    pods = web(kubectl, namespace, replicas=3)
    assert kubectl("expose", "deploy", "web", "-n", namespace, "--port=8080", "--target-port=80")[0] == 0
    subsets = get(kubectl, "ep", "web", "-n", namespace)["subsets"]
    ips = [a["ip"] for a in subsets[0]["addresses"]]
    assert ips == sorted(ips) and len(ips) == 3 and subsets[0]["ports"] == [{"port": 80, "protocol": "TCP"}]
    assert {a["targetRef"]["name"] for a in subsets[0]["addresses"]} == set(pods)
    row = kubectl("get", "ep", "web", "-n", namespace)[1].split("\n")[1].split()
    assert row[1] == ",".join(f"{ip}:80" for ip in ips)
