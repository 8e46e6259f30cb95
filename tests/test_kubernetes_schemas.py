"""Every object labkit sends to Kubernetes, validated against the real OpenAPI schemas.

`kubernetes-validate` ships the JSON schemas generated from Kubernetes' own
OpenAPI documents; the strict variant rejects unknown fields, so a misspelt
key fails here instead of on a student's cluster. Patches are checked by
applying them to objects shaped as the API returns them and validating the
result: the dict patches hold no lists, so the strategic merge patch the
client sends acts as an RFC 7386 merge patch; undo is an RFC 6902 replace.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

kubernetes_validate = pytest.importorskip("kubernetes_validate")

from labkit.backends.kubernetes import manifests as kube_manifests, state as kube_state  # noqa: E402
from labkit.backends.base import DeploySpec, UpdateStrategy  # noqa: E402
from labkit.errors import InvalidInput  # noqa: E402

DATA = Path(__file__).parent / "data" / "kube"
# the oldest minor kubernetes-validate ships, a middle one, and the newest
VERSIONS = ("1.25", "1.31", kubernetes_validate.utils.latest_version())
LAB = "labkit"


def check(obj: dict, version: str) -> None:
    kubernetes_validate.validate(obj, version, strict=True)


def load(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch (null deletes): for list-free patches, what a strategic merge does."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


SPECS = {
    "defaults": DeploySpec(name="my-web-server", image="web-server:1", replicas=3),
    "everything": DeploySpec(name="web", image="localhost:5000/team/web-server:2", replicas=0,
                             env={"GREETING": "hello", "COLOR": "blue"}, ports=("8080:80", "9000:9000/udp"),
                             labels={"tier": "front"}, cpu=250, memory=128,
                             strategy=UpdateStrategy(max_surge=1, max_unavailable=0, min_ready_seconds=2.5)),
    "percentages": DeploySpec(name="web", image="web-server:1", replicas=10,
                              strategy=UpdateStrategy(max_surge="50%", max_unavailable="10%")),
    "recreate": DeploySpec(name="web", image="web-server:1", replicas=2, strategy=UpdateStrategy(type="Recreate")),
    "canary": DeploySpec(name="web-canary", image="web-server:2", replicas=1,
                         labels={"app": "web", "track": "canary"}),
    "no-requests": DeploySpec(name="web", image="web-server:1", replicas=1, cpu=0, memory=0),
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", sorted(SPECS))
def test_deployments_and_services(case, version):
    spec = SPECS[case]
    check(kube_manifests.deployment_manifest(spec, LAB), version)
    check(kube_manifests.deployment_manifest(spec, LAB, eviction_seconds=20), version)
    service = kube_manifests.service_manifest(spec, LAB)
    if spec.ports:
        check(service, version)
    else:
        assert service is None


@pytest.mark.parametrize("version", VERSIONS)
def test_namespace_pods_and_evictions(version):
    check(kube_manifests.namespace_manifest("labkit", LAB), version)
    for restart in kube_manifests.RESTART_POLICY:
        check(kube_manifests.pod_manifest("web-server-1", "web-server:broken", restart, LAB), version)
    check(kube_manifests.eviction_manifest("web-7b8c9d6e4a-2xk8p", "labkit"), version)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("strategy", [
    UpdateStrategy(),
    UpdateStrategy(max_surge=1, max_unavailable=0),
    UpdateStrategy(max_surge="25%"),
    UpdateStrategy(type="Recreate"),
    UpdateStrategy(min_ready_seconds=5),
], ids=["keep", "surge-1", "surge-25%", "recreate", "min-ready"])
def test_update_replaces_a_valid_deployment(version, strategy):
    """`update` reads the deployment, changes it and sends it back whole (PUT)."""
    for deployment in (load("deployment.json"), kube_manifests.deployment_manifest(SPECS["everything"], LAB)):
        check(kube_manifests.with_update(deployment, "web-server:2", strategy), version)


@pytest.mark.parametrize("version", VERSIONS)
def test_rollback_patch_gives_a_valid_deployment(version):
    deployment = load("deployment.json")
    replicasets = kube_state.owned_replicasets(deployment, load("replicasets.json")["items"])
    patch = kube_manifests.rollback_patch(deployment, kube_state.previous_replicaset(replicasets))
    check(kube_manifests.apply_json_patch(deployment, patch), version)


@pytest.mark.parametrize("version", VERSIONS)
def test_merge_patches_give_valid_objects(version):
    deployment = load("deployment.json")
    for paused in (True, False):
        check(merge_patch(deployment, {"spec": {"paused": paused}}), version)
    scale = {"apiVersion": "autoscaling/v1", "kind": "Scale",
             "metadata": {"name": "web", "namespace": "labkit"}, "spec": {"replicas": 3},
             "status": {"replicas": 3, "selector": "io.labkit=labkit,io.labkit/workload=web"}}
    check(merge_patch(scale, {"spec": {"replicas": 2000}}), version)
    node = load("nodes.json")["items"][1] | {"apiVersion": "v1", "kind": "Node"}
    cordoned = merge_patch(node, kube_manifests.cordon_patch(True, LAB))
    check(cordoned, version)
    assert cordoned["spec"]["unschedulable"] is True
    assert cordoned["metadata"]["annotations"][kube_manifests.CORDONED] == LAB
    uncordoned = merge_patch(cordoned, kube_manifests.cordon_patch(False, LAB))
    check(uncordoned, version)
    assert ("unschedulable" not in uncordoned["spec"]
            and kube_manifests.CORDONED not in uncordoned["metadata"]["annotations"])


@pytest.mark.parametrize("version", VERSIONS)
def test_fixtures_are_shaped_as_the_api_returns_them(version):
    """The API-shaped fixtures the reading tests use are themselves valid objects."""
    kinds = {"deployment.json": None, "replicasets.json": ("apps/v1", "ReplicaSet"),
             "pods.json": ("v1", "Pod"), "nodes.json": ("v1", "Node"), "events.json": ("v1", "Event")}
    for name, item_kind in kinds.items():
        data = load(name)
        if item_kind is None:
            check(data, version)
            continue
        for item in data["items"]:
            check({"apiVersion": item_kind[0], "kind": item_kind[1], **item}, version)


def test_the_validator_catches_mistakes():
    """The check above can fail: a misspelt field and a wrong type are both rejected."""
    good = kube_manifests.deployment_manifest(SPECS["defaults"], LAB)
    misspelt = copy.deepcopy(good)
    misspelt["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "IfNotPresent"
    wrong_type = copy.deepcopy(good)
    wrong_type["spec"]["replicas"] = "3"
    for bad in (misspelt, wrong_type):
        with pytest.raises(kubernetes_validate.utils.ValidationError):
            check(bad, VERSIONS[0])


def test_manifest_details():
    spec = SPECS["everything"]
    body = kube_manifests.deployment_manifest(spec, LAB)
    container = body["spec"]["template"]["spec"]["containers"][0]
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["resources"] == {"requests": {"cpu": "250m", "memory": "128Mi"}}
    assert container["ports"] == [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 9000, "protocol": "UDP"}]
    assert body["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    assert body["spec"]["minReadySeconds"] == 3
    assert body["spec"]["selector"]["matchLabels"] == {"io.labkit": LAB, "io.labkit/workload": "web"}
    assert body["metadata"]["labels"]["tier"] == "front"
    # None means Kubernetes' default, so nothing is written
    plain = kube_manifests.deployment_manifest(SPECS["defaults"], LAB)
    assert plain["spec"]["strategy"] == {"type": "RollingUpdate"}
    assert "minReadySeconds" not in plain["spec"]
    assert kube_manifests.deployment_manifest(SPECS["recreate"], LAB)["spec"]["strategy"] == {"type": "Recreate"}
    # a canary shares the stable workload's app label (so its Service), never its selector
    canary = kube_manifests.deployment_manifest(SPECS["canary"], LAB)
    assert canary["spec"]["template"]["metadata"]["labels"]["app"] == "web"
    assert canary["spec"]["selector"]["matchLabels"]["io.labkit/workload"] == "web-canary"
    assert kube_manifests.service_manifest(spec, LAB)["spec"]["ports"][0] == {
        "name": "tcp-8080", "port": 8080, "targetPort": 80, "protocol": "TCP"}
    assert [kube_manifests.pod_manifest("c", "web-server:1", r, LAB)["spec"]["restartPolicy"]
            for r in ("no", "on-failure", "always", "unless-stopped")] == ["Never", "OnFailure", "Always", "Always"]


def test_update_keeps_or_replaces_the_strategy():
    deployment = kube_manifests.deployment_manifest(SPECS["everything"], LAB)
    kept = kube_manifests.with_update(deployment, "web-server:2", UpdateStrategy())
    assert kept["spec"]["template"]["spec"]["containers"][0]["image"] == "web-server:2"
    assert kept["spec"]["strategy"] == deployment["spec"]["strategy"]
    assert kept["spec"]["minReadySeconds"] == 3
    replaced = kube_manifests.with_update(deployment, "web-server:2", UpdateStrategy(max_surge="25%"))
    assert replaced["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}}
    assert "minReadySeconds" not in replaced["spec"]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "localhost:5000/team/web-server:2"


@pytest.mark.parametrize("bad", [{"io.labkit": "x"}, {"io.labkit/workload": "x"}])
def test_labkit_labels_are_reserved(bad):
    with pytest.raises(InvalidInput):
        kube_manifests.deployment_manifest(DeploySpec(name="web", image="web-server:1", labels=bad), LAB)


@pytest.mark.parametrize("port", ["http", "0:80", "80:70000", "80/icmp", ""])
def test_bad_ports(port):
    with pytest.raises(InvalidInput, match="port"):
        kube_manifests.deployment_manifest(DeploySpec(name="web", image="web-server:1", ports=(port,)), LAB)
