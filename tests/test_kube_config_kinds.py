"""ConfigMaps, Secrets and ServiceAccounts: kept as written, through the real kubectl and the official
client against a served simulator (kinds/configmaps.py, secrets.py, serviceaccounts.py on kinds/stored.py)."""
from __future__ import annotations

import base64
import json

import pytest

from labkit.backends.sim.kube.serve import ServedCluster
from tests.conftest import kubectl_json


@pytest.fixture(scope="module")
def served():
    cluster = ServedCluster(1, speed=20.0, seed=3).start()
    yield cluster
    cluster.stop()


read = kubectl_json  # kubectl get ... -o json, parsed


def test_a_configmap_keeps_what_was_written_and_lists_as_kubectl_prints_it(kubectl, namespace):
    code, out = kubectl("create", "configmap", "app", "-n", namespace, "--from-literal=color=blue",
                        "--from-literal=size=10")
    assert (code, out.strip()) == (0, "configmap/app created")
    cm = read(kubectl, "cm", "app", "-n", namespace)
    assert cm["data"] == {"color": "blue", "size": "10"}
    assert "generation" not in cm["metadata"] and cm["metadata"]["uid"]
    lines = kubectl("get", "cm", "-n", namespace)[1].splitlines()
    assert lines[0].split() == ["NAME", "DATA", "AGE"]
    assert [line.split()[:2] for line in lines[1:]] == [["app", "2"], ["kube-root-ca.crt", "1"]]
    assert kubectl("label", "cm", "app", "-n", namespace, "tier=web")[0] == 0
    assert read(kubectl, "cm", "app", "-n", namespace)["metadata"]["labels"] == {"tier": "web"}
    assert "app" in kubectl("get", "cm", "-n", namespace, "-l", "tier=web")[1]
    patch = json.dumps({"data": {"color": "green"}})
    assert kubectl("patch", "cm", "app", "-n", namespace, "-p", patch)[0] == 0
    assert read(kubectl, "cm", "app", "-n", namespace)["data"] == {"color": "green", "size": "10"}
    assert kubectl("delete", "cm", "app", "-n", namespace)[1].startswith('configmap "app" deleted')
    assert kubectl("get", "cm", "app", "-n", namespace)[1].strip() == \
        'Error from server (NotFound): configmaps "app" not found'


def test_a_configmap_applied_from_a_file_and_its_rules(kubectl, namespace):
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "frozen", "namespace": namespace},
                "data": {"a": "1"}, "immutable": True}
    code, out = kubectl("apply", "-f", "-", stdin=json.dumps(manifest))
    assert (code, out.strip()) == (0, "configmap/frozen created")
    code, out = kubectl("patch", "cm", "frozen", "-n", namespace, "-p", '{"data": {"a": "2"}}')
    assert code == 1 and "data: Forbidden: field is immutable when `immutable` is set" in out
    bad = {**manifest, "metadata": {"name": "bad", "namespace": namespace}, "data": {"a/b": "1"}, "immutable": False}
    code, out = kubectl("apply", "-f", "-", stdin=json.dumps(bad))
    assert code == 1 and 'ConfigMap "bad" is invalid: data[a/b]: Invalid value: "a/b": a valid config key' in out
    assert kubectl("get", "cm", "bad", "-n", namespace)[0] == 1, "nothing half made"


def test_a_secret_folds_string_data_into_base64_and_checks_its_type(kubectl, namespace):
    assert kubectl("create", "secret", "generic", "pw", "-n", namespace, "--from-literal=password=s3cret")[0] == 0
    secret = read(kubectl, "secret", "pw", "-n", namespace)
    assert secret["type"] == "Opaque" and base64.b64decode(secret["data"]["password"]) == b"s3cret"
    manifest = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "plain", "namespace": namespace},
                "stringData": {"user": "ada"}, "data": {"user": base64.b64encode(b"old").decode()}}
    assert kubectl("apply", "-f", "-", stdin=json.dumps(manifest))[0] == 0
    plain = read(kubectl, "secret", "plain", "-n", namespace)
    assert plain["data"] == {"user": base64.b64encode(b"ada").decode()} and "stringData" not in plain
    lines = kubectl("get", "secrets", "-n", namespace, "--field-selector", "type=Opaque")[1].splitlines()
    assert lines[0].split() == ["NAME", "TYPE", "DATA", "AGE"] and len(lines) == 3
    tls = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
           "metadata": {"name": "cert", "namespace": namespace}, "data": {"tls.crt": "YQ=="}}
    code, out = kubectl("apply", "-f", "-", stdin=json.dumps(tls))
    assert code == 1 and "data[tls.key]: Required value" in out
    junk = {**manifest, "metadata": {"name": "junk", "namespace": namespace}, "data": {"k": "not base64!"}}
    junk.pop("stringData")
    code, out = kubectl("create", "-f", "-", stdin=json.dumps(junk))
    assert code == 1 and "illegal base64 data at input byte 3" in out
    code, out = kubectl("patch", "secret", "pw", "-n", namespace, "-p", '{"type": "kubernetes.io/basic-auth"}')
    assert code == 1 and "type: Invalid value" in out and "field is immutable" in out


def test_every_namespace_has_its_default_service_account(kubectl, namespace):
    lines = kubectl("get", "sa", "-n", namespace)[1].splitlines()
    assert [line.split()[:2] for line in lines] == [["NAME", "SECRETS"], ["default", "0"]]
    assert kubectl("create", "sa", "robot", "-n", namespace)[1].strip() == "serviceaccount/robot created"
    code, out = kubectl("create", "sa", "default", "-n", namespace)
    assert code == 1 and 'serviceaccounts "default" already exists' in out
    assert [line.split()[0] for line in kubectl("get", "sa", "-n", namespace)[1].splitlines()[1:]] == \
        ["default", "robot"]


def test_deleting_a_namespace_takes_what_is_stored_in_it(kubectl):
    assert kubectl("create", "namespace", "doomed")[0] == 0
    assert kubectl("create", "cm", "x", "-n", "doomed", "--from-literal=a=1")[0] == 0
    assert kubectl("delete", "namespace", "doomed")[0] == 0
    assert kubectl("create", "namespace", "doomed")[0] == 0
    assert kubectl("get", "cm", "x", "-n", "doomed")[0] == 1
    kubectl("delete", "namespace", "doomed", "--wait=false")


def test_a_watch_hears_configmaps_and_the_official_client_reads_them(served, namespace):
    from kubernetes import client, config, watch
    api = client.CoreV1Api(config.new_client_from_config(served.kubeconfig))

    def changes(since: str) -> list[tuple[str, str, str | None]]:
        stream = watch.Watch().stream(api.list_namespaced_config_map, namespace, resource_version=since,
                                      timeout_seconds=1)
        return [(e["type"], e["object"].metadata.name, (e["object"].data or {}).get("k")) for e in stream]

    start = api.list_namespaced_config_map(namespace).metadata.resource_version
    api.create_namespaced_config_map(namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="w"),
                                                                   data={"k": "v"}))
    made = api.read_namespaced_config_map("w", namespace)
    assert made.data == {"k": "v"} and changes(start) == [("ADDED", "w", "v")]
    api.patch_namespaced_config_map("w", namespace, {"data": {"k": "v2"}})
    assert changes(made.metadata.resource_version) == [("MODIFIED", "w", "v2")]
    before = api.read_namespaced_config_map("w", namespace).metadata.resource_version
    assert api.delete_namespaced_config_map("w", namespace)["status"] == "Success"  # this client types it "object"
    assert changes(before) == [("DELETED", "w", "v2")]


def test_deleting_every_configmap_leaves_the_ones_the_cluster_keeps(kubectl, namespace):
    """`kubectl delete cm --all` succeeds; kube-root-ca.crt is made again at once, as its publisher does,
    and the default ServiceAccount likewise: nothing is left half deleted."""
    for name in ("a", "b"):
        assert kubectl("create", "cm", name, "-n", namespace, "--from-literal=k=v")[0] == 0
    code, out = kubectl("delete", "cm", "--all", "-n", namespace)
    assert code == 0 and 'configmap "kube-root-ca.crt" deleted' in out, out
    names = [line.split()[0] for line in kubectl("get", "cm", "-n", namespace)[1].splitlines()[1:]]
    assert names == ["kube-root-ca.crt"]
    assert kubectl("delete", "sa", "default", "-n", namespace)[0] == 0
    assert kubectl("get", "sa", "default", "-n", namespace)[0] == 0
