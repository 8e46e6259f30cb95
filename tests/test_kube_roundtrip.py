"""What clients write comes back as a real API server returns it (issue 27), through the real kubectl
and the official client against a served simulator."""
from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime, timezone

import pytest

from labkit.backends.sim.kube.serve import ServedCluster

sys.path.insert(0, os.path.dirname(__file__))
from test_kube_api import DEPLOYMENT  # noqa: E402


@pytest.fixture(scope="module")
def served():
    cluster = ServedCluster(2, speed=20.0, seed=7).start()
    yield cluster
    cluster.stop()


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


POD = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "hi", "labels": {"app": "hi", "tier": "demo"}, "annotations": {"owner": "me"}},
       "spec": {"restartPolicy": "Never", "volumes": [{"name": "scratch", "emptyDir": {}}],
                "containers": [{"name": "main", "image": "web-server:1", "command": ["sh", "-c"],
                                "args": ["echo hi"], "env": [{"name": "GREETING", "value": "hi"}],
                                "ports": [{"containerPort": 80, "name": "http"}],
                                "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}]}]}}


def test_a_manifest_pod_keeps_what_it_was_given(kubectl, namespace):
    assert kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(POD))[0] == 0
    pod = json.loads(kubectl("get", "-n", namespace, "pod", "hi", "-o", "json")[1])
    written = POD["spec"]["containers"][0]
    container = pod["spec"]["containers"][0]
    assert {k: container[k] for k in written} == written  # name, command, args, env, ports, mounts: as written
    assert container["imagePullPolicy"] == "IfNotPresent"  # and the server's defaults beside them
    assert pod["spec"]["volumes"] == POD["spec"]["volumes"] and pod["spec"]["restartPolicy"] == "Never"
    assert pod["metadata"]["labels"] == POD["metadata"]["labels"]
    assert pod["metadata"]["annotations"]["owner"] == "me"
    assert "hi" in kubectl("get", "-n", namespace, "pods", "-l", "tier=demo", "-o", "name")[1]
    statuses = json.loads(kubectl("get", "-n", namespace, "pod", "hi", "-o", "jsonpath={.status.containerStatuses}")[1])
    assert [s["name"] for s in statuses] == ["main"]


def test_a_deployments_template_keeps_what_it_was_given_through_rollouts(kubectl, namespace):
    body = json.loads(web(namespace))
    template = body["spec"]["template"]
    template["metadata"]["labels"] = {"app": "web", "tier": "front"}
    template["spec"]["containers"][0].update(env=[{"name": "COLOR", "value": "blue"}],
                                             ports=[{"containerPort": 80}], args=["--quiet"])
    assert kubectl("apply", "-f", "-", stdin=json.dumps(body))[0] == 0
    assert kubectl("rollout", "status", "-n", namespace, "deploy/web", "--timeout=60s")[0] == 0
    assert kubectl("set", "image", "-n", namespace, "deploy/web", "web-server=web-server:2")[0] == 0
    assert kubectl("rollout", "status", "-n", namespace, "deploy/web", "--timeout=60s")[0] == 0
    assert kubectl("rollout", "undo", "-n", namespace, "deploy/web")[0] == 0
    assert kubectl("rollout", "status", "-n", namespace, "deploy/web", "--timeout=60s")[0] == 0
    found = json.loads(kubectl("get", "-n", namespace, "deploy", "web", "-o", "json")[1])["spec"]["template"]
    container = found["spec"]["containers"][0]
    assert (container["image"], container["env"], container["ports"], container["args"]) == (
        "web-server:1", [{"name": "COLOR", "value": "blue"}], [{"containerPort": 80}], ["--quiet"])
    assert found["metadata"]["labels"] == {"app": "web", "tier": "front"}
    pods = json.loads(kubectl("get", "-n", namespace, "pods", "-l", "tier=front", "-o", "json")[1])["items"]
    assert pods and all(p["spec"]["containers"][0]["env"] == [{"name": "COLOR", "value": "blue"}] for p in pods)


# -- the round trip, over the served schemas -------------------------------------------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from labkit.backends.sim.kube import schema  # noqa: E402

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
SERVER_OWNED = {"name", "image", "readinessProbe", "nodeName", "restartPolicy"}  # labkit's or validated


def simple_fields(schema_name: str) -> dict:
    """A strategy per field of a schema whose value is a plain string, number, flag, list of strings
    or map of strings: the fields whose round trip any served kind must keep, whatever they say."""
    found, _ = schema.resolve(schema.ref(schema_name))
    out = {}
    for name, field in found["properties"].items():
        kind, _ = schema.resolve(field)
        if name in SERVER_OWNED or kind.get("readOnly"):
            continue
        if kind.get("enum"):
            out[name] = st.sampled_from(kind["enum"])
        elif kind.get("type") == "string" and kind.get("format") is None:
            out[name] = WORD
        elif kind.get("type") == "integer":
            out[name] = st.integers(0, 2**31 - 1 if kind.get("format") == "int32" else 2**40)
        elif kind.get("type") == "boolean":
            out[name] = st.booleans()
        elif kind.get("type") == "array" and schema.resolve(kind.get("items") or {})[0].get("type") == "string":
            out[name] = st.lists(WORD, max_size=3)
        elif (kind.get("additionalProperties") or {}).get("type") == "string":
            out[name] = st.dictionaries(WORD, WORD, max_size=2)
    return out


CONTAINER_FIELDS = simple_fields("io.k8s.api.core.v1.Container")
POD_FIELDS = simple_fields("io.k8s.api.core.v1.PodSpec")


@settings(max_examples=25, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(container=st.fixed_dictionaries({}, optional=CONTAINER_FIELDS),
       pod=st.fixed_dictionaries({}, optional=POD_FIELDS))
def test_every_simple_field_of_a_pod_and_its_container_comes_back(served, container, pod):
    from kubernetes import client, config
    core = client.CoreV1Api(config.new_client_from_config(config_file=served.kubeconfig))
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "round-trip"},
            "spec": {**pod, "containers": [{"name": "main", "image": "web-server:1", **container}]}}
    try:
        core.create_namespaced_pod("default", body)
    except client.ApiException as refused:  # a value the real validation refuses too: a Status, nothing made
        assert refused.status in (400, 422), refused.body
        assert "round-trip" not in [p.metadata.name for p in core.list_namespaced_pod("default").items]
        return
    try:
        found = core.api_client.sanitize_for_serialization(core.read_namespaced_pod("round-trip", "default"))
        for key, value in pod.items():
            assert found["spec"].get(key) == value, key
        for key, value in container.items():
            assert found["spec"]["containers"][0].get(key) == value, key
    finally:
        core.delete_namespaced_pod("round-trip", "default", grace_period_seconds=0)
        for _ in range(100):
            if "round-trip" not in [p.metadata.name for p in core.list_namespaced_pod("default").items]:
                break
            time.sleep(0.1)


def test_describe_of_a_re_created_deployment_lists_its_own_events_only(kubectl, namespace):
    """Events name their object by uid: the deleted deployment's stay in `get events`, not in the new one's describe."""
    assert kubectl("create", "deployment", "web", "-n", namespace, "--image=web-server:1")[0] == 0
    assert kubectl("rollout", "status", "-n", namespace, "deploy/web", "--timeout=60s")[0] == 0
    old = json.loads(kubectl("get", "rs", "-n", namespace, "-o", "json")[1])["items"][0]["metadata"]["name"]
    assert kubectl("delete", "deployment", "web", "-n", namespace)[0] == 0
    time.sleep(1.5)  # a new second: the served clock keeps whole seconds
    assert kubectl("create", "deployment", "web", "-n", namespace, "--image=web-server:2")[0] == 0
    assert kubectl("rollout", "status", "-n", namespace, "deploy/web", "--timeout=60s")[0] == 0
    described = kubectl("describe", "deployment", "web", "-n", namespace)[1]
    assert "Scaled up replica set" in described and old not in described
    assert old in kubectl("get", "events", "-n", namespace)[1]
