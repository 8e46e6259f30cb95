"""The kubernetes backend and the minikube helper, without a cluster (and with one, when there is one).

No registry ships a cluster, so most of this runs without one:

* reading: API-shaped JSON (tests/data/kube/*.json, validated against the real
  schemas in test_kubernetes_schemas.py) -> labkit's ClusterState;
* rollout history and undo on ReplicaSets as the API returns them;
* the real `kubernetes` client speaking real HTTP to a loopback stub that
  answers a few API paths with canned objects and Status errors, to check the
  requests labkit sends and its errors: forbidden namespace, name clash,
  unreachable or silent server, nothing half made;
* the minikube helper with the CLI missing, and its command lines.

Tests marked `kubernetes` need a real cluster: set LABKIT_KUBE_CONTEXT=<a
local context> (e.g. `minikube start -p labkit --nodes 3` then
LABKIT_KUBE_CONTEXT=labkit), or have the labkit minikube profile running.
"""
from __future__ import annotations

import json
import os
import re
import socket
import stat
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import pytest

from labkit.backends.kubernetes import context as kubecontext
from labkit.backends.kubernetes import manifests as kube_manifests, state as kube_state
from labkit.backends.kubernetes import backend as kube
from labkit.backends.kubernetes import minikube
from labkit.backends.base import Backend, DeploySpec
from labkit.errors import AlreadyExists, InvalidInput, NotFound, Refused, Unavailable

DATA = Path(__file__).parent / "data" / "kube"


def load(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=timezone.utc).timestamp()


# -- reading what the API returns -------------------------------------------------------

@pytest.fixture(scope="module")
def snapshot():
    return kube_state.build_state(load("nodes.json")["items"], [load("deployment.json")],
                                  load("replicasets.json")["items"], load("pods.json")["items"],
                                  "labkit", now=1.0e9, version=2053)


def test_nodes(snapshot):
    nodes = {n.name: n for n in snapshot.nodes}
    assert nodes["labkit"].role == "control-plane" and nodes["labkit-m02"].role == "worker"
    assert nodes["labkit-m02"].ready and nodes["labkit-m02"].schedulable
    m03 = nodes["labkit-m03"]
    assert not m03.ready and not m03.schedulable and m03.status == "NotReady,SchedulingDisabled"
    assert (m03.cpu_capacity, m03.memory_capacity, m03.pods_capacity) == (2000, 3820, 110)
    # requests of active pods of every namespace count; finished pods (once, crashy) do not
    assert nodes["labkit-m03"].cpu_allocated == 100 + 250
    assert nodes["labkit-m03"].memory_allocated == 64 + 128
    assert nodes["labkit-m02"].pods_allocated == 7  # 5 of web (one terminating), stranger, kube-proxy


def test_replicas_phases_and_reasons(snapshot):
    got = {r.name: (r.phase, r.reason, r.ready) for r in snapshot.replicas}
    assert got == {
        "web-7b8c9d6e4a-2xk8p": ("running", "", True),
        "web-7b8c9d6e4a-9fz2q": ("running", "NodeNotReady", False),  # its node stopped answering
        "web-7b8c9d6e4a-tt5mn": ("terminating", "Terminating", False),
        "web-6c9d8b7a5f-crash": ("failed", "CrashLoopBackOff", False),
        "web-6c9d8b7a5f-pullx": ("pending", "ImagePullBackOff", False),
        "web-6c9d8b7a5f-unsch": ("pending", "Unschedulable", False),
        "web-6c9d8b7a5f-newbo": ("pending", "ContainerCreating", False),
        "once": ("succeeded", "Completed", False),
        "crashy": ("failed", "Error", False),
        "stranger": ("running", "", True),
    }  # "stranger" has no labkit label but is in labkit's namespace: the lab's; other namespaces' pods are not
    crash = next(r for r in snapshot.replicas if r.name == "web-6c9d8b7a5f-crash")
    assert (crash.workload, crash.node, crash.image, crash.restarts, crash.revision) == (
        "web", "labkit-m02", "web-server:broken", 4, 3)
    first = next(r for r in snapshot.replicas if r.name == "web-7b8c9d6e4a-2xk8p")
    assert (first.revision, first.ip, first.created) == (1, "10.244.1.5", utc(2026, 11, 25, 10, 10, 5))
    assert {r.workload for r in snapshot.replicas if r.name in ("once", "crashy", "stranger")} == {""}


def test_a_deployment_made_by_kubectl_is_a_workload_and_owns_its_pods_by_reference():
    """`kubectl create deployment` puts no labkit label on anything: the pods are the
    deployment's through their ReplicaSet's owner reference, as kubectl follows them."""
    owner = lambda kind, name: [{"kind": kind, "name": name, "controller": True, "uid": name}]  # noqa: E731
    deployment = {"metadata": {"name": "hello", "uid": "hello", "namespace": "labkit", "labels": {"app": "hello"}},
                  "spec": {"replicas": 1, "template": {"spec": {"containers": [{"image": "web-server:1"}]}}},
                  "status": {}}
    rs = {"metadata": {"name": "hello-5d4f8", "namespace": "labkit", "ownerReferences": owner("Deployment", "hello"),
                       "labels": {"pod-template-hash": "5d4f8"}, "annotations": {kube_manifests.REVISION: "1"}}}
    pod = {"metadata": {"name": "hello-5d4f8-abcde", "namespace": "labkit", "labels": {"pod-template-hash": "5d4f8"},
                        "ownerReferences": owner("ReplicaSet", "hello-5d4f8")},
           "spec": {"nodeName": "n1", "containers": [{"image": "web-server:1"}]},
           "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
    elsewhere = {**pod, "metadata": {**pod["metadata"], "namespace": "default", "name": "other"}}
    state = kube_state.build_state([], [deployment], [rs], [pod, elsewhere], "labkit", now=0.0)
    (replica,) = state.replicas
    assert (replica.name, replica.workload, replica.revision) == ("hello-5d4f8-abcde", "hello", 1)
    (workload,) = state.workloads
    assert (workload.name, workload.current, workload.ready) == ("hello", 1, 1)


def test_workload(snapshot):
    (web,) = snapshot.workloads
    # current and ready are counted from the pods (not terminating, not finished): 6 exist, 2 ready;
    # updated and available come from the deployment's status
    assert (web.name, web.image, web.desired, web.current, web.ready, web.updated, web.available) == (
        "web", "web-server:broken", 3, 6, 2, 1, 3)
    alone = kube_state.workload_of(load("deployment.json"))  # without its pods: the status alone
    assert (alone.current, alone.ready) == (4, 3)
    assert (web.revision, web.max_surge, web.max_unavailable, web.strategy) == (3, 1, 0, "RollingUpdate")
    assert web.rollout == "progressing"
    assert web.message == 'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...'
    assert not snapshot.converged
    assert (snapshot.context, snapshot.lab, snapshot.swarm, snapshot.version) == ("", "labkit", None, 2053)


def test_components(snapshot):
    got = {(c.name, c.node): c.running for c in snapshot.components}
    assert got == {("api-server", "labkit"): True, ("etcd", "labkit"): True, ("scheduler", "labkit"): True,
                   ("controller-manager", "labkit"): False, ("kube-proxy", "labkit-m02"): True,
                   ("kubelet", "labkit"): True, ("kubelet", "labkit-m02"): True, ("kubelet", "labkit-m03"): False,
                   ("container-runtime", "labkit"): True, ("container-runtime", "labkit-m02"): True,
                   ("container-runtime", "labkit-m03"): False}


def test_events():
    events = sorted((kube_state.event_of(e) for e in load("events.json")["items"]), key=lambda e: e.time)
    assert [(e.reason, e.object, e.type, e.source) for e in events] == [
        ("ScalingReplicaSet", "deployment/web", "Normal", "deployment-controller"),
        ("FailedScheduling", "pod/web-6c9d8b7a5f-unsch", "Warning", "default-scheduler"),  # eventTime only
        ("BackOff", "pod/web-6c9d8b7a5f-crash", "Warning", "kubelet"),
    ]
    assert events[1].time == pytest.approx(utc(2026, 11, 25, 10, 10, 5) + 0.123456)


WAITING = 'Waiting for deployment "web" rollout to finish: '


def rollout(generation=2, observed=2, desired=3, replicas=3, updated=3, available=3, paused=False, reason=None):
    conditions = [{"type": "Progressing", "status": "False" if reason else "True",
                   "reason": reason or "NewReplicaSetAvailable"}]
    return {"metadata": {"name": "web", "generation": generation},
            "spec": {"replicas": desired, "paused": paused},
            "status": {"observedGeneration": observed, "replicas": replicas, "updatedReplicas": updated,
                       "availableReplicas": available, "conditions": conditions}}


@pytest.mark.parametrize("deployment, expected", [
    (rollout(), ("complete", 'deployment "web" successfully rolled out')),
    (rollout(generation=3), ("progressing", "Waiting for deployment spec update to be observed...")),
    (rollout(replicas=4), ("progressing", WAITING + "1 old replicas are pending termination...")),
    (rollout(available=2), ("progressing", WAITING + "2 of 3 updated replicas are available...")),
    (rollout(updated=1, reason="ProgressDeadlineExceeded"), ("failed", 'deployment "web" exceeded its progress deadline')),
    (rollout(paused=True, updated=1), ("paused", 'deployment "web" is paused')),
])
def test_rollout_status_like_kubectl(deployment, expected):
    assert kube_state.rollout_of(deployment) == expected


@pytest.mark.parametrize("strategy, desired, bounds", [
    ({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}, 10, (3, 2)),
    ({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}, 1, (1, 0)),
    ({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "10%"}}, 3, (0, 1)),
    ({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 2, "maxUnavailable": 1}}, 5, (2, 1)),
    ({"type": "RollingUpdate"}, 4, (1, 1)),
    ({"type": "Recreate"}, 4, (0, 4)),
])
def test_bounds_resolved_like_the_deployment_controller(strategy, desired, bounds):
    assert kube_state.resolve_bounds(strategy, desired) == bounds


@pytest.mark.parametrize("text, value", [("100m", 0.1), ("2", 2), ("64Mi", 64 * 2**20), ("3912112Ki", 3912112 * 1024),
                                         ("1e3", 1000), ("1.5Gi", 1.5 * 2**30), ("129M", 129e6), ("junk", 0)])
def test_quantities(text, value):
    assert kube_state.quantity(text) == pytest.approx(value)


# -- rollout history and undo, as kubectl does them -------------------------------------------

def test_history_and_previous_revision():
    deployment, replicasets = load("deployment.json"), load("replicasets.json")["items"]
    owned = kube_state.owned_replicasets(deployment, replicasets)
    assert len(owned) == 3  # web-canary's ReplicaSet (revision 7) is not web's
    assert kube_state.history(owned) == [(1, "web-server:1"), (2, "web-server:2"), (3, "web-server:broken")]
    previous = kube_state.previous_replicaset(owned)
    assert kube_state.revision_of(previous) == 2
    assert kube_state.previous_replicaset(replicasets) is not previous  # without the owner filter, revision 7 misleads


def test_undo_after_undo_goes_forward_again():
    """kubectl: undo re-labels the old ReplicaSet with the next revision, so a second undo
    returns to the revision that was just left (here the broken one)."""
    owned = kube_state.owned_replicasets(load("deployment.json"), load("replicasets.json")["items"])
    after = []
    for rs in owned:
        rs = json.loads(json.dumps(rs))
        if kube_state.revision_of(rs) == 2:
            rs["metadata"]["annotations"][kube_manifests.REVISION] = "4"
            rs["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] = "2"
        after.append(rs)
    assert kube_state.history(after) == [(1, "web-server:1"), (3, "web-server:broken"), (4, "web-server:2")]
    assert kube_state.revision_of(kube_state.previous_replicaset(after)) == 3


def test_previous_revision_from_client_models():
    """ReplicaSets built with the client's own models and serialised the way it sends them."""
    from kubernetes import client

    def replicaset(revision, image, uid="u-1"):
        return client.V1ReplicaSet(
            api_version="apps/v1", kind="ReplicaSet",
            metadata=client.V1ObjectMeta(
                name=f"web-{revision}", namespace="labkit", annotations={kube_manifests.REVISION: str(revision)},
                labels={kube_manifests.HASH_LABEL: f"h{revision}"},
                owner_references=[client.V1OwnerReference(api_version="apps/v1", kind="Deployment", name="web",
                                                          uid=uid, controller=True)]),
            spec=client.V1ReplicaSetSpec(
                selector=client.V1LabelSelector(match_labels={"app": "web"}),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels={"app": "web", kube_manifests.HASH_LABEL: f"h{revision}"}),
                    spec=client.V1PodSpec(containers=[client.V1Container(name="web", image=image)]))))

    models = [replicaset(10, "web-server:2"), replicaset(9, "web-server:1"), replicaset(11, "web-server:broken"),
              replicaset(12, "web-server:1", uid="someone-else")]
    dicts = [client.ApiClient().sanitize_for_serialization(m) for m in models]
    deployment = {"metadata": {"name": "web", "uid": "u-1"}}
    owned = kube_state.owned_replicasets(deployment, dicts)
    assert kube_state.history(owned) == [(9, "web-server:1"), (10, "web-server:2"), (11, "web-server:broken")]
    assert kube_state.previous_replicaset(owned)["spec"]["template"]["spec"]["containers"][0]["image"] == "web-server:2"
    assert kube_state.previous_replicaset(owned[:1]) is None  # one revision: nothing to go back to


def test_rollback_patch_is_kubectls():
    deployment, replicasets = load("deployment.json"), load("replicasets.json")["items"]
    deployment["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = "{}"
    previous = kube_state.previous_replicaset(kube_state.owned_replicasets(deployment, replicasets))
    previous["metadata"]["annotations"]["note"] = "from revision 2"
    patch = kube_manifests.rollback_patch(deployment, previous)
    assert [op["path"] for op in patch] == ["/spec/template", "/metadata/annotations"]
    template, annotations = patch[0]["value"], patch[1]["value"]
    assert kube_manifests.HASH_LABEL not in template["metadata"]["labels"]
    assert template["spec"]["containers"][0]["image"] == "web-server:2"
    assert annotations == {kube_manifests.REVISION: "3", "kubectl.kubernetes.io/last-applied-configuration": "{}",
                           "note": "from revision 2"}  # the ReplicaSet's bookkeeping stays behind
    assert previous["spec"]["template"]["metadata"]["labels"][kube_manifests.HASH_LABEL] == "5d8f9c7b6d"  # not mutated
    rolled = kube_manifests.apply_json_patch(deployment, patch)
    assert kube_manifests.template_without_hash(previous["spec"]["template"]) == rolled["spec"]["template"]


# -- the real client against a loopback stub ---------------------------------------------------

VERSION = {"major": "1", "minor": "31", "gitVersion": "v1.31.0", "gitCommit": "9edcffcde5595e8a5b1a35f88c421764e575afce",
           "gitTreeState": "clean", "buildDate": "2024-08-13T07:28:49Z", "goVersion": "go1.22.5",
           "compiler": "gc", "platform": "linux/amd64"}


def status(code: int, reason: str, message: str) -> tuple[int, dict]:
    return code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": message, "reason": reason, "code": code}


NAMESPACE = {"apiVersion": "v1", "kind": "Namespace",
             "metadata": {"name": "labkit", "labels": {"io.labkit": "labkit"}}, "status": {"phase": "Active"}}


class StubAPI:
    """A loopback HTTP server answering Kubernetes API paths with canned JSON; records requests."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern, int, dict]] = []
        self.requests: list[tuple[str, str, str, object]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def handle_one(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                stub.requests.append((self.command, self.path, self.headers.get("Content-Type", ""), body))
                code, answer = stub.answer(self.command, self.path)
                data = json.dumps(answer).encode() + b"\n"  # watch events are lines
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_one

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.on("GET", r"/version/?", 200, VERSION)

    def on(self, method: str, path: str, code: int, body) -> None:
        """Answer `method path` with `body`: a dict, or a function of the stub (for answers
        that change) returning a dict or a (code, dict) pair."""
        self.routes.insert(0, (method, re.compile(path + r"(\?.*)?$"), code, body))

    def answer(self, method: str, path: str) -> tuple[int, dict]:
        for m, pattern, code, body in self.routes:
            if m == method and pattern.match(path):
                answer = body(self) if callable(body) else body
                return answer if isinstance(answer, tuple) else (code, answer)
        return status(404, "NotFound", f"the stub has no answer for {method} {path}")

    def sent(self, method: str) -> list[tuple[str, str, object]]:
        return [(path.split("?")[0], ctype, body) for m, path, ctype, body in self.requests if m == method]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def kubeconfig(path: Path, server: str, name: str = "kind-stub") -> Path:
    path.write_text(json.dumps({  # JSON is YAML
        "apiVersion": "v1", "kind": "Config", "current-context": name,
        "clusters": [{"name": name, "cluster": {"server": server}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "users": [{"name": name, "user": {"token": "not-a-real-token"}}]}))
    return path


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv(kubecontext.ENV_CONTEXT, raising=False)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    return tmp_path


@pytest.fixture
def stub(env, monkeypatch):
    api = StubAPI()
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig(env / "config", api.url)))
    yield api
    api.close()


def test_backend_keeps_the_protocol(stub):
    backend = kube.KubernetesBackend(request_timeout=5)
    assert isinstance(backend, Backend)
    assert (backend.name, backend.flavor, backend.namespace, backend.server_version) == (
        "kubernetes", "kubernetes", "labkit", "v1.31.0")
    assert not stub.sent("POST")  # connecting creates nothing
    backend.close()


def test_deploy_sends_namespace_deployment_and_service(stub):
    stub.on("POST", r"/api/v1/namespaces", 201, NAMESPACE)
    stub.on("POST", r"/apis/apps/v1/namespaces/labkit/deployments", 201, {})
    stub.on("POST", r"/api/v1/namespaces/labkit/services", 201, {})
    backend = kube.KubernetesBackend(request_timeout=5)
    backend.deploy(DeploySpec(name="web", image="web-server:1", replicas=3, ports=("8080:80",)))
    posts = stub.sent("POST")
    assert [p[0] for p in posts] == ["/api/v1/namespaces", "/apis/apps/v1/namespaces/labkit/deployments",
                                     "/api/v1/namespaces/labkit/services"]
    assert posts[0][2] == kube_manifests.namespace_manifest("labkit", "labkit")
    assert posts[1][2]["spec"]["replicas"] == 3 and posts[2][2]["kind"] == "Service"


def test_connect_through_the_facade(stub, monkeypatch):
    """The path the shared scenario suite takes: labkit.connect("kubernetes") with LABKIT_KUBE_CONTEXT."""
    import labkit

    empty = {"metadata": {"resourceVersion": "7"}, "items": []}
    stub.on("GET", r"/api/v1/nodes", 200, load("nodes.json"))
    for path in (r"/apis/apps/v1/namespaces/labkit/deployments", r"/apis/apps/v1/namespaces/labkit/replicasets",
                 r"/api/v1/pods"):
        stub.on("GET", path, 200, empty)
    stub.on("POST", r"/api/v1/namespaces", 201, NAMESPACE)
    stub.on("POST", r"/apis/apps/v1/namespaces/labkit/deployments", 201, {})
    monkeypatch.setenv(kubecontext.ENV_CONTEXT, "kind-stub")
    cluster = labkit.connect("kubernetes", request_timeout=5)
    assert (cluster.name, cluster.flavor, cluster.live) == ("kubernetes", "kubernetes", True)
    assert cluster.nodes == ["labkit", "labkit-m02", "labkit-m03"]
    cluster.deploy("my-web-server", image="web-server:1", replicas=3, max_surge=1)
    body = stub.sent("POST")[-1][2]
    assert body["metadata"]["name"] == "my-web-server"
    assert body["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}
    with pytest.raises(InvalidInput):
        cluster.deploy("Bad Name", image="web-server:1")  # the facade's checks still come first
    cluster.close()


def test_forbidden_namespace_is_a_clear_error(stub):
    stub.on("GET", r"/api/v1/namespaces/labkit", *status(
        403, "Forbidden", 'namespaces "labkit" is forbidden: User "student" cannot get resource "namespaces"'))
    with pytest.raises(Refused) as err:
        kube.KubernetesBackend(request_timeout=5)
    assert "forbids it (while reading namespace labkit)" in err.value.message and "cannot get" in err.value.message
    assert "namespace=" in err.value.hint


def test_namespace_labkit_did_not_make_is_refused(stub):
    stub.on("GET", r"/api/v1/namespaces/default", 200, {**NAMESPACE, "metadata": {"name": "default"}})
    with pytest.raises(Refused, match="labkit did not make it"):
        kube.KubernetesBackend(namespace="default", request_timeout=5)


def test_name_clash_with_a_deployment_labkit_did_not_make(stub):
    stub.on("GET", r"/api/v1/namespaces/labkit", 200, NAMESPACE)
    stub.on("POST", r"/apis/apps/v1/namespaces/labkit/deployments", *status(
        409, "AlreadyExists", 'deployments.apps "web" already exists'))
    stub.on("GET", r"/apis/apps/v1/namespaces/labkit/deployments/web", 200,
            {"metadata": {"name": "web", "labels": {"app": "web"}}})
    backend = kube.KubernetesBackend(request_timeout=5)
    with pytest.raises(AlreadyExists) as err:
        backend.deploy(DeploySpec(name="web", image="web-server:1"))
    assert "labkit did not make" in err.value.message and "will not touch it" in err.value.message
    assert not stub.sent("DELETE") and not stub.sent("PUT") and not stub.sent("PATCH")


def test_service_clash_takes_the_deployment_back(stub):
    stub.on("GET", r"/api/v1/namespaces/labkit", 200, NAMESPACE)
    stub.on("POST", r"/apis/apps/v1/namespaces/labkit/deployments", 201, {})
    stub.on("DELETE", r"/apis/apps/v1/namespaces/labkit/deployments/web", 200, {})
    stub.on("POST", r"/api/v1/namespaces/labkit/services", *status(409, "AlreadyExists", 'services "web" already exists'))
    stub.on("GET", r"/api/v1/namespaces/labkit/services/web", 200, {"metadata": {"name": "web"}})
    backend = kube.KubernetesBackend(request_timeout=5)
    with pytest.raises(AlreadyExists, match="service named 'web' that labkit did not make"):
        backend.deploy(DeploySpec(name="web", image="web-server:1", ports=("80",)))
    assert [p[0] for p in stub.sent("DELETE")] == ["/apis/apps/v1/namespaces/labkit/deployments/web"]


def test_state_and_rollback_through_the_client(stub):
    stub.on("GET", r"/api/v1/namespaces/labkit", 200, NAMESPACE)
    stub.on("GET", r"/api/v1/nodes", 200, load("nodes.json"))
    stub.on("GET", r"/apis/apps/v1/namespaces/labkit/deployments", 200,
            {"kind": "DeploymentList", "apiVersion": "apps/v1", "metadata": {"resourceVersion": "2050"},
             "items": [load("deployment.json")]})
    stub.on("GET", r"/apis/apps/v1/namespaces/labkit/replicasets", 200, load("replicasets.json"))
    stub.on("GET", r"/api/v1/pods", 200, load("pods.json"))
    stub.on("GET", r"/apis/apps/v1/namespaces/labkit/deployments/web", 200, load("deployment.json"))
    stub.on("PATCH", r"/apis/apps/v1/namespaces/labkit/deployments/web", 200, load("deployment.json"))
    backend = kube.KubernetesBackend(request_timeout=5)
    state = backend.state()
    assert state.workload("web").rollout == "progressing" and len(state.nodes) == 3
    assert state.version == 2053 and state.context == "kind-stub"
    assert backend.history("web") == [(1, "web-server:1"), (2, "web-server:2"), (3, "web-server:broken")]
    backend.rollback("web")
    ((path, ctype, body),) = stub.sent("PATCH")
    assert ctype == "application/json-patch+json"
    assert body[0]["value"]["spec"]["containers"][0]["image"] == "web-server:2"
    # the history is every ReplicaSet of the lab's namespace that the deployment controls (by uid)
    assert any(unquote(p).startswith("/apis/apps/v1/namespaces/labkit/replicasets") for _, p, _, _ in stub.requests)


def test_rollback_refused_while_paused_and_without_history(stub):
    paused = load("deployment.json")
    paused["spec"]["paused"] = True
    stub.on("GET", r"/api/v1/namespaces/labkit", 200, NAMESPACE)
    stub.on("GET", r"/apis/apps/v1/namespaces/labkit/deployments/web", 200, paused)
    backend = kube.KubernetesBackend(request_timeout=5)
    with pytest.raises(Refused, match="paused"):
        backend.rollback("web")
    stub.on("GET", r"/apis/apps/v1/namespaces/labkit/deployments/web", 200, load("deployment.json"))
    stub.on("GET", r"/apis/apps/v1/namespaces/labkit/replicasets", 200,
            {**load("replicasets.json"), "items": load("replicasets.json")["items"][2:3]})
    with pytest.raises(NotFound, match='no rollout history found for deployment "web"'):
        backend.rollback("web")
    assert not stub.sent("PATCH")


def test_scale_pause_and_cordon_send_strategic_merge_patches(stub):
    for path in (r"/apis/apps/v1/namespaces/labkit/deployments/web/scale",
                 r"/apis/apps/v1/namespaces/labkit/deployments/web", r"/api/v1/nodes/labkit-m02"):
        stub.on("PATCH", path, 200, {})
    stub.on("GET", r"/api/v1/namespaces/labkit/pods", 200, {"items": []})
    backend = kube.KubernetesBackend(request_timeout=5)
    backend.scale("web", 2000)
    backend.pause("web")
    backend.drain("labkit-m02")
    patches = stub.sent("PATCH")
    assert [(p, c) for p, c, _ in patches] == [
        ("/apis/apps/v1/namespaces/labkit/deployments/web/scale", "application/strategic-merge-patch+json"),
        ("/apis/apps/v1/namespaces/labkit/deployments/web", "application/strategic-merge-patch+json"),
        ("/api/v1/nodes/labkit-m02", "application/strategic-merge-patch+json")]
    assert patches[0][2] == {"spec": {"replicas": 2000}}
    assert patches[2][2] == kube_manifests.cordon_patch(True, "labkit")


def test_wait_for_change_uses_the_watch_api(stub):
    pod = load("pods.json")["items"][0]
    stub.on("GET", r"/api/v1/namespaces/labkit/pods", 200, {"metadata": {"resourceVersion": "2052"}, "items": []})
    stub.on("GET", r"/api/v1/namespaces/labkit/pods\?(?=.*watch=[Tt]rue).*", 200, {"type": "MODIFIED", "object": pod})
    backend = kube.KubernetesBackend(request_timeout=5)
    assert backend.wait_for_change(2) is True
    watch_query = unquote(stub.requests[-1][1])
    assert "watch=" in watch_query and "resourceVersion=2052" in watch_query and "labelSelector" not in watch_query


def test_fail_and_recover_a_node_without_minikube(stub):
    """Not labkit's minikube profile: fail_node cordons (marked as a failure), deletes labkit's pods
    there and says so; recover_node uncordons; both refuse a node in the wrong state."""
    node = load("nodes.json")["items"][1]
    stub.on("GET", r"/api/v1/nodes/labkit-m02", 200, node)
    stub.on("PATCH", r"/api/v1/nodes/labkit-m02", 200, {})
    stub.on("GET", r"/api/v1/namespaces/labkit/pods", 200, {"items": [
        p for p in load("pods.json")["items"] if p["metadata"]["name"] == "web-7b8c9d6e4a-2xk8p"]})
    stub.on("DELETE", r"/api/v1/namespaces/labkit/pods/web-7b8c9d6e4a-2xk8p", 200, {})
    backend = kube.KubernetesBackend(request_timeout=5)
    with pytest.raises(Refused, match="is not down"):
        backend.recover_node("labkit-m02")
    with pytest.warns(UserWarning, match="cannot power off labkit-m02"):
        backend.fail_node("labkit-m02")
    (_, _, patch), = stub.sent("PATCH")
    assert patch == kube_manifests.cordon_patch(True, "labkit", failed=True)
    assert patch["metadata"]["annotations"][kube_manifests.FAILED] == "labkit"
    assert [p for p, _, _ in stub.sent("DELETE")] == ["/api/v1/namespaces/labkit/pods/web-7b8c9d6e4a-2xk8p"]
    failed = json.loads(json.dumps(node))
    failed["spec"]["unschedulable"] = True
    failed["metadata"]["annotations"].update(patch["metadata"]["annotations"])
    stub.on("GET", r"/api/v1/nodes/labkit-m02", 200, failed)
    with pytest.raises(Refused, match="already down"):
        backend.fail_node("labkit-m02")
    backend.recover_node("labkit-m02")
    assert stub.sent("PATCH")[-1][2] == kube_manifests.cordon_patch(False, "labkit")


def test_bare_containers(stub):
    """run_container makes a bare Pod; start_container makes a finished one anew (a pod cannot
    restart once it ended); a name taken by somebody else's pod is a clash."""
    stub.on("GET", r"/api/v1/namespaces/labkit", 200, NAMESPACE)
    stub.on("POST", r"/api/v1/namespaces/labkit/pods", 201, {})
    crashy = next(p for p in load("pods.json")["items"] if p["metadata"]["name"] == "crashy")

    def read_crashy(api):
        gone = any(p.endswith("/pods/crashy") for p, _, _ in api.sent("DELETE"))
        return status(404, "NotFound", 'pods "crashy" not found') if gone else (200, crashy)
    stub.on("GET", r"/api/v1/namespaces/labkit/pods/crashy", 200, read_crashy)
    stub.on("DELETE", r"/api/v1/namespaces/labkit/pods/crashy", 200, {})
    backend = kube.KubernetesBackend(request_timeout=5)
    backend.run_container("web-server-1", "web-server:1", "always")
    backend.start_container("crashy")
    posts = [body for path, _, body in stub.sent("POST")]
    assert posts == [kube_manifests.pod_manifest("web-server-1", "web-server:1", "always", "labkit"),
                     kube_manifests.pod_manifest("crashy", "web-server:broken", "no", "labkit")]
    stub.on("POST", r"/api/v1/namespaces/labkit/pods", *status(409, "AlreadyExists", 'pods "stranger" already exists'))
    stub.on("GET", r"/api/v1/namespaces/labkit/pods/stranger", 200,
            next(p for p in load("pods.json")["items"] if p["metadata"]["name"] == "stranger"))
    with pytest.raises(AlreadyExists, match="pod named 'stranger' that labkit did not make"):
        backend.run_container("stranger", "web-server:1", "no")


def test_events_through_the_client(stub):
    stub.on("GET", r"/api/v1/namespaces/labkit/events", 200, load("events.json"))
    stub.on("GET", r"/api/v1/namespaces/default/events", 200, {"metadata": {}, "items": [{
        "metadata": {"name": "labkit-m03.1", "namespace": "default", "creationTimestamp": "2026-11-25T10:09:30Z"},
        "involvedObject": {"kind": "Node", "name": "labkit-m03"}, "reason": "NodeNotReady",
        "message": "Node labkit-m03 status is now: NodeNotReady", "source": {"component": "node-controller"},
        "lastTimestamp": "2026-11-25T10:09:30Z", "type": "Normal"}]})
    backend = kube.KubernetesBackend(request_timeout=5)
    events = backend.events()
    assert [e.reason for e in events] == ["NodeNotReady", "ScalingReplicaSet", "FailedScheduling", "BackOff"]
    assert [e.reason for e in backend.events(since=utc(2026, 11, 25, 10, 10, 5))] == ["FailedScheduling", "BackOff"]


def test_reset_deletes_only_labkit_namespaces_and_cordons(stub):
    nodes = load("nodes.json")  # labkit-m03 carries labkit's cordon mark; the others do not
    stub.on("GET", r"/api/v1/nodes", 200, nodes)
    stub.on("PATCH", r"/api/v1/nodes/labkit-m03", 200, {})
    labkit_namespaces = {"labkit": NAMESPACE, "labkit-old": {**NAMESPACE, "metadata": {
        "name": "labkit-old", "labels": {"io.labkit": "labkit-old"}}}}

    def listed(api):
        deleted = {p.rsplit("/", 1)[-1] for p, _, _ in api.sent("DELETE") if "/pods" not in p}
        return {"metadata": {}, "items": [ns for name, ns in labkit_namespaces.items() if name not in deleted]}
    stub.on("GET", r"/api/v1/namespaces\?labelSelector=io.labkit", 200, listed)
    for name in labkit_namespaces:
        stub.on("DELETE", rf"/api/v1/namespaces/{name}/pods", 200, {})
        stub.on("DELETE", rf"/api/v1/namespaces/{name}", 200, {})
    backend = kube.KubernetesBackend(request_timeout=5)
    backend.reset()
    assert [p for p, _, _ in stub.sent("DELETE")] == [
        "/api/v1/namespaces/labkit", "/api/v1/namespaces/labkit/pods",
        "/api/v1/namespaces/labkit-old", "/api/v1/namespaces/labkit-old/pods"]
    # the pods of a labkit namespace (all the lab's) go at once, without their grace period
    assert any("gracePeriodSeconds=0" in unquote(p) for m, p, _, _ in stub.requests
               if m == "DELETE" and p.startswith("/api/v1/namespaces/labkit/pods"))
    assert stub.sent("PATCH") == [("/api/v1/nodes/labkit-m03", "application/strategic-merge-patch+json",
                                   kube_manifests.cordon_patch(False, "labkit"))]


def test_unknown_options_and_flavors(stub):
    with pytest.raises(InvalidInput, match="flavor"):
        kube.KubernetesBackend(flavor="swarm")
    with pytest.raises(InvalidInput, match="namespaces"):
        kube.KubernetesBackend(namespaces="x")
    with pytest.raises(InvalidInput, match="eviction_seconds"):
        kube.KubernetesBackend(eviction_seconds=-1)
    with pytest.raises(InvalidInput, match="namespace"):
        kube.KubernetesBackend(namespace="Not_Valid")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_server_is_unavailable_quickly(env, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig(env / "config", f"https://127.0.0.1:{free_port()}", "kind-labkit")))
    started = time.monotonic()
    with pytest.raises(Unavailable) as err:
        kube.KubernetesBackend()
    assert time.monotonic() - started < 5
    assert "does not answer" in err.value.message and "kind-labkit" in err.value.message
    assert "docker start labkit-control-plane" in err.value.hint


def test_silent_server_times_out(env, monkeypatch):
    """A server that accepts the connection and never answers (a hung API server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig(env / "config", f"http://127.0.0.1:{port}", "labkit")))
    started = time.monotonic()
    try:
        with pytest.raises(Unavailable, match="does not answer"):
            kube.KubernetesBackend(request_timeout=0.5)
    finally:
        listener.close()
    assert time.monotonic() - started < 5


def test_no_kubeconfig_is_unavailable(env):
    with pytest.raises(Unavailable) as err:
        kube.KubernetesBackend()
    assert "minikube start" in err.value.hint


def test_doctor_lines(env, monkeypatch):
    lines = kube.doctor()
    assert lines[0].startswith("kubernetes: not usable: no kubeconfig found")
    assert any("minikube start" in line for line in lines)
    api = StubAPI()
    try:
        api.on("GET", r"/api/v1/nodes", 200, load("nodes.json"))
        for path in (r"/apis/apps/v1/namespaces/labkit/deployments", r"/apis/apps/v1/namespaces/labkit/replicasets",
                     r"/api/v1/pods"):
            api.on("GET", path, 200, {"metadata": {}, "items": []})
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig(env / "config", api.url)))
        lines = kube.doctor()
    finally:
        api.close()
    text = "\n".join(lines)
    assert "context kind-stub" in text and "v1.31.0" in text
    assert "node labkit-m03: worker, NotReady,SchedulingDisabled" in text
    assert not api.sent("POST")  # doctor only looks


# -- the minikube helper -------------------------------------------------------------------------

def test_missing_minikube_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(minikube.ENV_BINARY, raising=False)
    with pytest.raises(Unavailable) as err:
        minikube.start(nodes=3)
    assert "not installed" in err.value.message and "minikube.sigs.k8s.io" in err.value.hint
    assert minikube.describe().startswith("minikube: the minikube command is not installed")
    assert minikube.running() is False
    monkeypatch.setenv(minikube.ENV_BINARY, str(tmp_path / "nope"))
    with pytest.raises(Unavailable, match="not an executable"):
        minikube.find()


def test_start_arguments():
    assert minikube.start_args() == ["start", "-p", "labkit", "--nodes", "3"]
    assert minikube.start_args(2, driver="docker", container_runtime="containerd", cpus=2, memory="4g",
                               kubernetes_version="v1.31.0") == [
        "start", "-p", "labkit", "--nodes", "2", "--driver=docker", "--container-runtime=containerd",
        "--cpus=2", "--memory=4g", "--kubernetes-version=v1.31.0"]
    with pytest.raises(InvalidInput, match="runtime"):
        minikube.start_args(container_runtime="rkt")
    with pytest.raises(InvalidInput, match="nodes"):
        minikube.start_args(0)


def test_stream_hands_over_lines_as_they_come():
    seen = []
    out = minikube.stream(["/bin/sh", "-c", "echo one; echo two >&2; echo three"], seen.append)
    assert seen == ["one", "two", "three"] and out == "one\ntwo\nthree"
    with pytest.raises(Unavailable) as err:
        minikube.stream(["/bin/sh", "-c", "echo starting; echo 'X Exiting due to DRV_NOT_DETECTED'; exit 3"],
                        seen.append)
    assert "exit 3" in err.value.message and "DRV_NOT_DETECTED" in err.value.message
    started = time.monotonic()
    with pytest.raises(Unavailable, match="longer than 0.5 s"):
        minikube.stream(["/bin/sh", "-c", "echo waiting; exec sleep 30"], seen.append, timeout=0.5)
    assert time.monotonic() - started < 5


def test_commands_reach_the_minikube_binary(monkeypatch, tmp_path):
    """A stand-in `minikube` on PATH records its arguments: the helper's command lines."""
    log = tmp_path / "calls"
    fake = tmp_path / "minikube"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\n'
                    'if [ "$1" = status ]; then echo \'[{"Name":"labkit","Host":"Running","APIServer":"Running"},'
                    '{"Name":"labkit-m02","Host":"Stopped","APIServer":"Irrelevant"}]\'; exit 7; fi\n'
                    'if [ "$1" = node ] && [ "$2" = list ]; then\n'
                    '  printf "labkit\\t192.168.49.2\\nlabkit-m02\\t192.168.49.3\\n"; exit 0\nfi\n'
                    'echo "* done"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv(minikube.ENV_BINARY, raising=False)
    lines = []
    minikube.start(nodes=2, container_runtime="containerd", images=False, progress=lines.append)
    minikube.node_stop("labkit-m02", progress=lines.append)
    minikube.node_start("labkit-m02", progress=lines.append)
    assert minikube.running()
    assert [n["Name"] for n in minikube.status()] == ["labkit", "labkit-m02"]
    assert minikube.node_list() == ["labkit", "labkit-m02"]
    assert log.read_text().splitlines() == [
        "start -p labkit --nodes 2 --container-runtime=containerd", "node stop labkit-m02 -p labkit",
        "node start labkit-m02 -p labkit", "status -p labkit -o json", "status -p labkit -o json",
        "node list -p labkit"]
    assert lines == ["* done"] * 3


# -- on a real cluster ----------------------------------------------------------------------------

def cluster_context() -> str | None:
    if os.environ.get(kubecontext.ENV_CONTEXT):
        return os.environ[kubecontext.ENV_CONTEXT]
    return minikube.PROFILE if minikube.running() else None


needs_cluster = pytest.mark.skipif(
    cluster_context() is None,
    reason="needs a local Kubernetes cluster: set LABKIT_KUBE_CONTEXT=<context> (e.g. after "
           "`minikube start -p labkit --nodes 3`, LABKIT_KUBE_CONTEXT=labkit) or have the labkit minikube "
           "profile running; load the demo images with labkit.backends.kubernetes.minikube.load_images()")


@pytest.mark.kubernetes
@needs_cluster
def test_a_lesson_on_a_real_cluster():
    import labkit

    cluster = labkit.connect("kubernetes", context=cluster_context(), namespace="labkit-test")
    try:
        cluster.reset()
        web = cluster.deploy("web", image="web-server:1", replicas=3)
        web.wait(timeout=180)
        assert cluster.state().count("web", image="web-server:1") == 3
        web.scale(5).wait(timeout=180)
        web.update("web-server:2", max_surge=1, max_unavailable=0).wait(timeout=300)
        assert [image for _, image in web.history()] == ["web-server:1", "web-server:2"]
        web.rollback().wait(timeout=300)
        assert web.status().image == "web-server:1"
        killed = cluster.kill_replica()
        cluster.wait(timeout=180)
        assert killed not in {r.name for r in web.replicas()}
        assert any(e.reason == "Killing" or e.reason == "ScalingReplicaSet" for e in cluster.events())
    finally:
        cluster.reset()
        cluster.close()
    assert not cluster.backend._labkit_namespaces()
