"""The protobuf body decoder against what the real kubectl sends, and against hand-built bodies.

kubectl is pointed at a tiny HTTPS server that answers discovery and records each POST body;
the decoded body must equal what `kubectl ... --dry-run=client -o json` prints for the same
command. (kubectl drain sends its Eviction as JSON, so Eviction is tested on built bodies.)
"""
from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from labkit.backends.sim.kube import protobuf
from labkit.backends.sim.kube.protobuf import CONTENT_TYPE, MAGIC, MESSAGES, SCALARS, decode
from labkit.backends.sim.kube.registry import REGISTRY
from labkit.backends.sim.kube.tls import make_certificate

KUBECTL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".venv", "bin", "kubectl")

COMMANDS = [
    "create deployment web --image=web-server:1 --replicas=3",
    "create deployment web2 --image=a:1 --image=b:2 --port=80",
    "create service nodeport web --tcp=80:8080",
    "create namespace lab",
    "create configmap cfg --from-literal=a=b",
]


# -- a kubectl-facing capture server ------------------------------------------------------------

def _resource(name: str, kind: str, namespaced: bool = True, verbs: tuple[str, ...] = ("create", "get", "list")):
    return {"name": name, "singularName": "", "namespaced": namespaced, "kind": kind, "verbs": list(verbs)}


def _group(name: str) -> dict:
    version = {"groupVersion": f"{name}/v1", "version": "v1"}
    return {"name": name, "versions": [version], "preferredVersion": version}


DISCOVERY = {
    "/api": {"kind": "APIVersions", "versions": ["v1"],
             "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]},
    "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group("apps"), _group("policy")]},
    "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
        _resource("pods", "Pod"), _resource("services", "Service"), _resource("configmaps", "ConfigMap"),
        _resource("namespaces", "Namespace", namespaced=False),
        {**_resource("pods/eviction", "Eviction", verbs=("create",)), "group": "policy", "version": "v1"}]},
    "/apis/apps/v1": {"kind": "APIResourceList", "groupVersion": "apps/v1",
                      "resources": [_resource("deployments", "Deployment")]},
    "/apis/policy/v1": {"kind": "APIResourceList", "groupVersion": "policy/v1",
                        "resources": [_resource("poddisruptionbudgets", "PodDisruptionBudget")]},
}
CREATED = {"deployments": ("apps/v1", "Deployment"), "services": ("v1", "Service"),
           "namespaces": ("v1", "Namespace"), "configmaps": ("v1", "ConfigMap")}


class Capture(BaseHTTPRequestHandler):
    posts: list[tuple[str, bytes]]

    def log_message(self, *args) -> None:
        pass

    def _send(self, code: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path in DISCOVERY:
            self._send(200, DISCOVERY[path])
        else:
            self._send(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
                             "code": 404})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.posts.append((self.headers.get("Content-Type", ""), body))
        api_version, kind = CREATED.get(self.path.split("?")[0].rsplit("/", 1)[-1], ("v1", "Status"))
        self._send(201, {"apiVersion": api_version, "kind": kind, "metadata": {"name": "created"}})


@pytest.fixture(scope="module")
def kubectl(tmp_path_factory):
    """run(args) -> completed kubectl process, talking to a capture server whose .posts it returns too."""
    if not os.access(KUBECTL, os.X_OK):
        pytest.skip(f"kubectl not installed at {KUBECTL}")
    folder = tmp_path_factory.mktemp("kubectl")
    cert, key, pem = make_certificate(str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    server.posts = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = {"apiVersion": "v1", "kind": "Config", "current-context": "lab",
              "clusters": [{"name": "lab", "cluster": {"server": f"https://127.0.0.1:{server.server_address[1]}",
                                                       "certificate-authority-data": base64.b64encode(pem).decode()}}],
              "users": [{"name": "lab", "user": {"token": "t"}}],
              "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "lab", "namespace": "default"}}]}
    (folder / "config.json").write_text(json.dumps(config))
    env = {**os.environ, "KUBECONFIG": str(folder / "config.json"), "HOME": str(folder)}

    def run(args: str) -> subprocess.CompletedProcess:
        return subprocess.run([KUBECTL, *args.split()], env=env, capture_output=True, text=True, timeout=30)

    yield run, server.posts
    server.shutdown()
    server.server_close()


def pruned(value):
    """`value` without the keys whose values are empty (None, "", {}, []), as JSON may omit them."""
    if isinstance(value, dict):
        kept = {key: pruned(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item not in (None, "", {}, [])}
    if isinstance(value, list):
        return [pruned(item) for item in value]
    return value


def empties(value, path: str = "") -> list[str]:
    """Paths in `value` holding "" or None (JSON omits those, so a decoded body should not carry them)."""
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in empties(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in empties(item, f"{path}[{i}]")]
    return [path] if value in ("", None) else []


@pytest.mark.parametrize("command", COMMANDS)
def test_kubectl_bodies_decode_to_its_json(kubectl, command):
    run, posts = kubectl
    before = len(posts)
    done = run(command)
    assert done.returncode == 0, done.stderr
    assert len(posts) == before + 1
    content_type, body = posts[-1]
    assert content_type == CONTENT_TYPE  # kubectl v1.37 sends these typed objects as protobuf only
    expected = json.loads(run(f"{command} --dry-run=client -o json").stdout)
    decoded = decode(body)
    assert pruned(decoded) == pruned(expected)
    assert empties(decoded) == []  # zero-valued scalars left out, as a JSON body would


# -- hand-built bodies --------------------------------------------------------------------------

def varint(number: int) -> bytes:
    number &= (1 << 64) - 1
    out = bytearray()
    while True:
        out.append((number & 0x7F) | (0x80 if number > 0x7F else 0))
        number >>= 7
        if not number:
            return bytes(out)


def field(number: int, value: int | bool | str | bytes) -> bytes:
    """One field: ints and bools as varints, str and bytes length-delimited."""
    if isinstance(value, (bool, int)):
        return varint(number << 3) + varint(int(value))
    data = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data


def entry(number: int, key: str, value: str | bytes) -> bytes:
    return field(number, field(1, key) + field(2, value))


def envelope(api_version: str, kind: str, raw: bytes, content_type: str = "") -> bytes:
    type_meta = field(1, api_version) + field(2, kind)
    return MAGIC + field(1, type_meta) + field(2, raw) + field(3, "") + field(4, content_type)


def int_or_string(value: int | str) -> bytes:
    return field(1, 1) + field(3, value) if isinstance(value, str) else field(1, 0) + field(2, value)


def quantity(text: str) -> bytes:
    return field(1, text)


NEW_YEAR = 1767225600  # 2026-01-01T00:00:00Z


def test_eviction_with_delete_options():
    meta = field(1, "web-1") + field(3, "default") + field(8, b"")  # an empty Time is Go's zero time: left out
    options = (field(1, 0) + field(2, field(1, "uid-1") + field(2, "42")) + field(4, "Foreground")
               + field(5, "All"))
    decoded = decode(envelope("policy/v1", "Eviction", field(1, meta) + field(2, options)))
    assert decoded == {"kind": "Eviction", "apiVersion": "policy/v1",
                       "metadata": {"name": "web-1", "namespace": "default"},
                       "deleteOptions": {"gracePeriodSeconds": 0,
                                         "preconditions": {"uid": "uid-1", "resourceVersion": "42"},
                                         "propagationPolicy": "Foreground", "dryRun": ["All"]}}


def test_rich_deployment():
    owner = field(5, "apps/v1") + field(1, "Thing") + field(3, "boss") + field(4, "u-0") + field(6, True)
    meta = (field(1, "web") + field(3, "lab") + field(5, "u-1") + field(6, "7") + field(7, 2)
            + field(8, field(1, NEW_YEAR)) + field(9, field(1, NEW_YEAR + 61) + field(2, 5))
            + entry(11, "app", "web") + entry(12, "note", "hi") + field(13, owner) + field(14, "a/b")
            + field(14, "c/d") + field(2, ""))
    header = field(1, "X") + field(2, "y")
    http = field(1, "/healthz") + field(2, int_or_string("http")) + field(4, "HTTP") + field(5, header)
    readiness = field(1, field(2, http)) + field(2, 3) + field(4, 10) + field(6, 0)
    liveness = field(1, field(3, field(1, int_or_string(8080)))) + field(3, 2)
    startup = field(1, field(1, field(1, "cat") + field(1, "/ok")))
    resources = (field(1, field(1, "cpu") + field(2, quantity("500m")))
                 + field(2, field(1, "memory") + field(2, quantity("64Mi"))))
    env = field(1, "MODE") + field(2, "fast")
    env_ref = field(1, "KEY") + field(3, field(3, field(1, field(1, "cfg")) + field(2, "k")))
    container = (field(1, "web") + field(2, "web:1") + field(3, "serve") + field(4, "--port=80") + field(5, "/srv")
                 + field(6, field(3, 80) + field(4, "TCP")) + field(7, env) + field(7, env_ref) + field(8, resources)
                 + field(10, liveness) + field(11, readiness) + field(22, startup) + field(13, "/dev/termination-log")
                 + field(20, "File") + field(14, "IfNotPresent")
                 + field(15, field(1, field(2, "ALL")) + field(6, True)))
    toleration = field(1, "node.kubernetes.io/unreachable") + field(2, "Exists") + field(4, "NoExecute") + field(5, 300)
    pod = (field(2, container) + field(20, field(1, "init") + field(2, "busybox")) + field(3, "Always") + field(4, 30)
           + field(6, "ClusterFirst") + entry(7, "disk", "ssd") + field(8, "runner") + field(10, "node-1")
           + field(14, field(2, 1000) + field(4, varint(5) + varint(6))) + field(19, "default-scheduler")
           + field(22, toleration) + field(25, -5))
    strategy = field(1, "RollingUpdate") + field(2, field(1, int_or_string(0)) + field(2, int_or_string("25%")))
    selector = entry(1, "app", "web") + field(2, field(1, "tier") + field(2, "In") + field(3, "a") + field(3, "b"))
    spec = (field(1, 0) + field(2, selector) + field(3, field(1, entry(11, "app", "web")) + field(2, pod))
            + field(4, strategy) + field(5, 0) + field(7, False))
    decoded = decode(envelope("apps/v1", "Deployment", field(1, meta) + field(2, spec) + field(3, b"")))
    assert decoded["metadata"] == {
        "name": "web", "namespace": "lab", "uid": "u-1", "resourceVersion": "7", "generation": 2,
        "creationTimestamp": "2026-01-01T00:00:00Z", "deletionTimestamp": "2026-01-01T00:01:01Z",
        "labels": {"app": "web"}, "annotations": {"note": "hi"}, "finalizers": ["a/b", "c/d"],
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Thing", "name": "boss", "uid": "u-0",
                             "controller": True}]}
    spec = decoded["spec"]
    assert spec["replicas"] == 0 and "minReadySeconds" not in spec and "paused" not in spec
    assert spec["selector"] == {"matchLabels": {"app": "web"},
                                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}}
    pod = spec["template"]["spec"]
    assert pod["initContainers"] == [{"name": "init", "image": "busybox"}]
    assert {key: pod[key] for key in ("restartPolicy", "terminationGracePeriodSeconds", "dnsPolicy", "nodeSelector",
                                      "serviceAccountName", "nodeName", "schedulerName", "priority")} == {
        "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
        "nodeSelector": {"disk": "ssd"}, "serviceAccountName": "runner", "nodeName": "node-1",
        "schedulerName": "default-scheduler", "priority": -5}
    assert pod["securityContext"] == {"runAsUser": 1000, "supplementalGroups": [5, 6]}
    assert pod["tolerations"] == [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                                   "effect": "NoExecute", "tolerationSeconds": 300}]
    assert pod["containers"] == [{
        "name": "web", "image": "web:1", "command": ["serve"], "args": ["--port=80"], "workingDir": "/srv",
        "ports": [{"containerPort": 80, "protocol": "TCP"}],
        "env": [{"name": "MODE", "value": "fast"},
                {"name": "KEY", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k"}}}],
        "resources": {"limits": {"cpu": "500m"}, "requests": {"memory": "64Mi"}},
        "livenessProbe": {"tcpSocket": {"port": 8080}, "timeoutSeconds": 2},
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP",
                                       "httpHeaders": [{"name": "X", "value": "y"}]},
                           "initialDelaySeconds": 3, "periodSeconds": 10},
        "startupProbe": {"exec": {"command": ["cat", "/ok"]}},
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
        "securityContext": {"capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": True}}]
    assert decoded["status"] == {}


def test_unknown_fields_of_every_wire_type_are_skipped():
    extra = field(90, 7) + varint(91 << 3 | 1) + bytes(8) + varint(92 << 3 | 5) + bytes(4) + field(93, b"\x01\x02")
    decoded = decode(envelope("v1", "ConfigMap", extra + field(1, field(1, "cfg") + extra) + entry(2, "a", "b")))
    assert decoded == {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "cfg"}, "data": {"a": "b"}}


def test_bytes_become_base64_and_service_ports():
    raw = field(1, field(1, "s")) + entry(3, "blob", b"\x00\xff") + field(4, True)
    assert decode(envelope("v1", "ConfigMap", raw))["binaryData"] == {"blob": "AP8="}
    port = field(1, "http") + field(3, 80) + field(4, int_or_string("web")) + field(5, 30080)
    spec = field(1, port) + entry(2, "app", "web") + field(4, "NodePort") + field(20, False)
    decoded = decode(envelope("v1", "Service", field(1, field(1, "web")) + field(2, spec)))
    assert decoded["spec"] == {"ports": [{"name": "http", "port": 80, "targetPort": "web", "nodePort": 30080}],
                               "selector": {"app": "web"}, "type": "NodePort", "allocateLoadBalancerNodePorts": False}


def test_a_json_body_in_the_envelope_is_passed_through():
    body = {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "lab"}}
    assert decode(envelope("v1", "Namespace", json.dumps(body).encode(), "application/json")) == body


def test_errors_are_value_errors_with_a_clear_message():
    good = envelope("v1", "Namespace", field(1, field(1, "lab")))
    assert decode(good)["metadata"] == {"name": "lab"}
    with pytest.raises(ValueError, match="must start with"):
        decode(b'{"kind": "Namespace"}')
    with pytest.raises(ValueError, match="truncated"):
        decode(good[:-5])  # inside raw (the last 4 bytes are the empty contentEncoding and contentType)
    with pytest.raises(ValueError, match="truncated"):
        decode(MAGIC + b"\x0a\x80")
    with pytest.raises(ValueError, match="no protobuf schema for Widget in example.com/v1"):
        decode(envelope("example.com/v1", "Widget", b""))
    with pytest.raises(ValueError, match="wire type"):
        decode(envelope("v1", "Namespace", field(1, 5)))  # metadata as a varint


def test_the_schema_table_names_only_known_types():
    own = {name: schema for kind in REGISTRY for name, schema in kind.messages.items()}
    assert not set(own) & set(MESSAGES), "a kind's own message shadows a shared one"
    known = {**MESSAGES, **own}
    for name, schema in known.items():
        for number, (json_name, kind) in schema.items():
            kind = kind.lstrip("*").removeprefix("[]").removeprefix("map[string]")
            assert kind in SCALARS or kind in known, (name, number, kind)
            assert json_name or kind in known, (name, number)
    assert all(protobuf.message(*pair) in known for pair in protobuf.kinds())
