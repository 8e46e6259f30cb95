"""The served Kubernetes API under bad input: every request answered with a Status, nothing half
written, no connection or object that can stop the cluster (issue 22's reproductions, then fuzzing).

Fuzzing is bounded (a few examples per operation, derandomized so a run repeats): schemathesis
over every served group's OpenAPI document, and a type-mutation fuzz of valid bodies (each
field in turn given a value of another type). After each: no 5xx, no closed connection, a
refused write leaves the store's revision where it was; after all: the cluster still rolls out
a deployment and no simulator component failed.
"""
from __future__ import annotations

import copy
import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit.backends.sim.kube import openapi
from labkit.backends.sim.kube.serve import ServedCluster

sys.path.insert(0, os.path.dirname(__file__))
from test_kube_api import DEPLOYMENT, KUBECTL  # noqa: E402

DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
FUZZ = settings(max_examples=4, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def served():
    cluster = ServedCluster(3, speed=0.0, seed=5).start()  # the clock moves only when a test says so
    yield cluster
    cluster.stop()


def send(served, method: str, path: str, body=None, *, token: str | None = "", headers: dict | None = None,
         raw: bytes | None = None) -> tuple[int, dict | str, http.client.HTTPResponse]:
    """One HTTPS request; (status, JSON or text, response). A closed connection raises."""
    context = ssl.create_default_context(cadata=served.api.ca_pem.decode())
    conn = http.client.HTTPSConnection("127.0.0.1", served.api.port, context=context, timeout=30)
    sent = {"Content-Type": "application/json", **(headers or {})}
    if token is not None:
        sent["Authorization"] = f"Bearer {token or served.api.token}"
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    try:
        conn.request(method, path, body=data, headers=sent)
        answer = conn.getresponse()
        text = answer.read()
    finally:
        conn.close()
    return answer.status, json.loads(text) if text[:1] in (b"{", b"[") else text.decode(), answer


def raw_exchange(served, request: bytes, body_chunks=()) -> str:
    """Send bytes as they are over TLS; the answer's head and body, read to its Content-Length."""
    context = ssl.create_default_context(cadata=served.api.ca_pem.decode())
    with context.wrap_socket(socket.create_connection(("127.0.0.1", served.api.port), timeout=10),
                             server_hostname="127.0.0.1") as s:
        s.sendall(request)
        try:
            for chunk in body_chunks:
                s.sendall(chunk)
        except OSError:
            pass  # the server answered and closed early (a body past the limit)
        answer = s.makefile("rb")
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            line = answer.readline()
            if not line:
                break
            head += line
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        return (head + answer.read(length)).decode()


def kubectl(served, *args: str, stdin: str | None = None, timeout: float = 30) -> tuple[int, str]:
    done = subprocess.run([KUBECTL, *args], input=stdin, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "KUBECONFIG": served.kubeconfig})
    return done.returncode, done.stdout + done.stderr


def revision(served) -> int:
    return served.sim.store.revision


def advance(served, seconds: float) -> None:
    with served.api.lock:
        served.sim.advance(seconds)


def rolls_out(served, name: str) -> bool:
    """Whether a new deployment still becomes ready: the cluster is alive."""
    body = copy.deepcopy(DEPLOYMENT)
    body["metadata"]["name"] = name
    body["spec"]["selector"]["matchLabels"] = body["spec"]["template"]["metadata"]["labels"] = {"app": name}
    code, _, _ = send(served, "POST", DEPLOYMENTS, body)
    assert code == 201
    for _ in range(60):
        advance(served, 1.0)
        code, found, _ = send(served, "GET", f"{DEPLOYMENTS}/{name}")
        if found.get("status", {}).get("readyReplicas") == 3:
            send(served, "DELETE", f"{DEPLOYMENTS}/{name}")
            return True
    return False


def healthy(served) -> None:
    assert not served.api.failures, served.api.failures[-1][2]
    assert not served.sim.clock.failures, served.sim.clock.failures


# -- the reproductions -------------------------------------------------------------------------
def with_spec(**fields) -> dict:
    body = copy.deepcopy(DEPLOYMENT)
    body["metadata"]["name"] = "typo"
    body["spec"]["selector"]["matchLabels"] = body["spec"]["template"]["metadata"]["labels"] = {"app": "typo"}
    body["spec"].update(fields)
    return body


def test_one_typo_in_a_deployment_is_refused_and_the_cluster_goes_on(served):
    before = revision(served)
    code, status, _ = send(served, "POST", DEPLOYMENTS, with_spec(strategy={"rollingUpdate": {"maxSurge": "x"}}))
    assert (code, status["reason"]) == (422, "Invalid")
    assert status["details"]["causes"][0]["field"] == "spec.strategy.rollingUpdate.maxSurge"
    assert "a valid percent string must be a numeric string followed by an ending '%'" in status["message"]
    code, status, _ = send(served, "POST", DEPLOYMENTS, with_spec(progressDeadlineSeconds=[]))
    assert (code, status["reason"]) == (400, "BadRequest")
    assert status["message"] == ('Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal '
                                 "array into Go struct field DeploymentSpec.spec.progressDeadlineSeconds of type int32")
    assert revision(served) == before  # nothing stored
    assert kubectl(served, "get", "pods", "-A")[0] == 0
    assert kubectl(served, "get", "deploy")[0] == 0
    assert rolls_out(served, "after-typo")
    healthy(served)


@pytest.mark.parametrize("rule", [
    {"strategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}},
    {"strategy": {"rollingUpdate": {"maxUnavailable": "101%"}}},
    {"strategy": {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}},
    {"strategy": {"type": "Sideways"}},
    {"minReadySeconds": 10, "progressDeadlineSeconds": 5},
    {"revisionHistoryLimit": -1},
    {"replicas": 2**31},
])
def test_deployment_rules_of_apps_validation(served, rule):
    before = revision(served)
    code, status, _ = send(served, "POST", DEPLOYMENTS, with_spec(**rule))
    assert code in (400, 422) and status["kind"] == "Status", status
    assert revision(served) == before


@pytest.mark.parametrize("body", [1, "x", None, [None, None], True])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_bodies_of_the_wrong_type_get_a_400(served, method, body):
    path = DEPLOYMENTS if method == "POST" else f"{DEPLOYMENTS}/web"
    if method != "POST":
        send(served, "POST", DEPLOYMENTS, DEPLOYMENT)
    before = revision(served)
    kind = "application/merge-patch+json" if method == "PATCH" else "application/json"
    code, status, _ = send(served, method, path, raw=json.dumps(body).encode(), headers={"Content-Type": kind})
    assert code == 400 and status["kind"] == "Status" and "cannot unmarshal" in status["message"]
    assert revision(served) == before


@pytest.mark.parametrize("length, code", [("abc", 400), ("-1", 400), ("1e3", 400), ("99999999999999999999", 400)])
def test_a_content_length_that_is_not_a_count_is_a_400(served, length, code):
    answer = raw_exchange(served, f"POST {DEPLOYMENTS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {served.api.token}\r\n"
                                  f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n{{}}".encode())
    assert answer.startswith(f"HTTP/1.1 {code}") and '"kind":"Status"' in answer


def test_json_that_is_not_json_or_nests_too_deep(served):
    for raw in (b'{"metadata": {"name": "n", "labels": {"a": Infinity}}}', b'{"a": NaN}', b'{"a": 1e999}',
                b"[" * 10_000 + b"]" * 10_000, b'{"a":' * 5000 + b"1" + b"}" * 5000, b"\xff\xfe"):
        code, status, _ = send(served, "POST", "/api/v1/namespaces", raw=raw)
        assert code == 400 and status["reason"] == "BadRequest", (raw[:20], status)
    code, listing, _ = send(served, "GET", "/api/v1/namespaces")
    assert code == 200 and isinstance(listing["items"], list)  # still valid JSON


def test_a_body_past_3_mib_is_refused_and_not_kept(served):
    chunk = b"x" * 65536
    answer = raw_exchange(served, f"POST {DEPLOYMENTS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                                  f"{served.api.token}\r\nContent-Type: application/json\r\n"
                                  "Transfer-Encoding: chunked\r\n\r\n".encode(),  # no length said up front
                          [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 64)  # 4 MiB
    assert answer.startswith("HTTP/1.1 413") and "RequestEntityTooLarge" in answer


def test_idle_connections_delay_nobody(served):
    idle = [socket.create_connection(("127.0.0.1", served.api.port)) for _ in range(20)]  # no TLS hello at all
    try:
        started = time.monotonic()
        code, out = kubectl(served, "get", "nodes", "--request-timeout=10s")
        assert code == 0 and "node-1" in out
        assert time.monotonic() - started < 8
    finally:
        for s in idle:
            s.close()


def test_a_slow_selector_cannot_freeze_the_api(served):
    selector = "a" + " " * 65_400 + "!"
    result: dict = {}

    def slow() -> None:
        query = urlencode({"labelSelector": selector})  # spaces as '+': the whole request line fits in 64 KiB
        result["answer"] = send(served, "GET", f"/api/v1/namespaces/default/pods?{query}")[:2]
    worker = threading.Thread(target=slow)
    worker.start()
    started = time.monotonic()
    assert send(served, "GET", "/api/v1/nodes")[0] == 200
    assert time.monotonic() - started < 2  # not held behind the selector
    worker.join(10)
    assert not worker.is_alive() and result["answer"][0] == 400


@pytest.mark.parametrize("where, value", [
    (("metadata", "labels"), {"app": "bad\x07value"}),
    (("metadata", "labels"), {"app": "naïve"}),
    (("metadata", "labels"), {"-bad-key": "x"}),
    (("metadata", "annotations"), {"bad key": "x"}),
    (("metadata", "annotations"), {"big": "x" * 262_145}),
    (("spec", "template", "metadata", "labels"), {"app": "typo", "tier": "x\ny"}),
    (("spec", "template", "spec", "containers", 0, "image"), "web-server:1\x00"),
    (("spec", "template", "spec", "containers", 0, "image"), "wéb-server:1"),
])
def test_labels_annotations_and_images_follow_the_real_validation(served, where, value):
    body = mutated(with_spec(), where, value)
    before = revision(served)
    code, status, _ = send(served, "POST", DEPLOYMENTS, body)
    assert (code, status["reason"]) == (422, "Invalid"), status
    assert status["details"]["causes"][0]["field"].startswith(".".join(str(w) for w in where[:2]))
    assert revision(served) == before


def test_only_a_bearer_token_is_accepted(served):
    token = served.api.token
    for header in (token, f"Basic {token}", f"Bearer{token}", "Bearer ", f"Token {token}"):
        assert send(served, "GET", "/api/v1/nodes", token=None, headers={"Authorization": header})[0] == 401
    assert send(served, "GET", "/api/v1/nodes", token=None, headers={"Authorization": f"bearer {token}"})[0] == 200


def test_unknown_methods_answer_a_status_after_the_token_and_no_banner(served):
    code, status, answer = send(served, "BREW", "/api/v1/nodes", token=None)
    assert (code, status["reason"]) == (401, "Unauthorized")
    code, status, answer = send(served, "OPTIONS", "/api/v1/nodes")
    assert (code, status["reason"]) == (405, "MethodNotAllowed")
    for code_and_headers in (answer.getheaders(), send(served, "GET", "/version")[2].getheaders()):
        assert not any("python" in value.lower() or name.lower() == "server" for name, value in code_and_headers)


@pytest.mark.parametrize("method, path", [("POST", "/scale"), ("DELETE", "/scale"), ("DELETE", "/status"),
                                          ("POST", "/status"), ("GET", "/nonsense")])
def test_a_subresource_takes_only_its_own_verbs(served, method, path):
    send(served, "POST", DEPLOYMENTS, with_spec())
    before = revision(served)
    code, status, _ = send(served, method, f"{DEPLOYMENTS}/typo{path}", raw=b"" if method == "DELETE" else b"{}")
    assert code == (404 if path == "/nonsense" else 405) and status["kind"] == "Status", status
    assert revision(served) == before


def test_openapi_documents_declare_their_path_parameters(served):
    for group, version in openapi.group_versions():
        document = json.loads(openapi.document(group, version))
        for path, item in document["paths"].items():
            declared = {p["name"] for p in item.get("parameters", ()) if p["in"] == "path"}
            assert declared == {n for n in ("namespace", "name") if f"{{{n}}}" in path}, path


# -- fuzzing --------------------------------------------------------------------------------------
VALID_BODIES = {
    DEPLOYMENTS: with_spec(),
    "/api/v1/namespaces/default/services": {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "fuzz"},
        "spec": {"selector": {"app": "fuzz"}, "ports": [{"port": 80, "targetPort": 8080}], "type": "NodePort"}},
    "/api/v1/namespaces": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fuzz", "labels": {"a": "b"}}},
    "/api/v1/namespaces/default/pods": {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "fuzz"},
        "spec": {"containers": [{"name": "c", "image": "web-server:1", "ports": [{"containerPort": 80}]}]}},
}
OTHER_TYPES = st.one_of(st.integers(-2**64, 2**64), st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
                        st.none(), st.text(max_size=8), st.lists(st.integers(), max_size=2),
                        st.dictionaries(st.text(max_size=4), st.integers(), max_size=2))


def paths_of(value, prefix=()):
    """Every path into a JSON value, the value itself included."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths_of(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths_of(v, prefix + (i,))


def mutated(body: dict, path: tuple, value) -> object:
    if not path:
        return value
    out = copy.deepcopy(body)
    node = out
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return out


def answered_without_harm(served, method: str, path: str, body) -> None:
    before = revision(served)
    kind = "application/merge-patch+json" if method == "PATCH" else "application/json"
    code, answer, _ = send(served, method, path, raw=json.dumps(body).encode(), headers={"Content-Type": kind})
    assert code < 500, answer
    if code >= 400:
        assert answer["kind"] == "Status" and answer["code"] == code
        assert revision(served) == before, f"{method} {path} was refused ({code}) but changed the store"
    elif method == "POST":  # made: take it away again, so the next example starts alike
        name = answer["metadata"]["name"]
        send(served, "DELETE", f"{path}/{name}")
        advance(served, 40)


@pytest.mark.parametrize("path", sorted(VALID_BODIES))
def test_type_mutated_bodies(served, path):
    body = VALID_BODIES[path]
    where = list(paths_of(body))

    @settings(FUZZ, max_examples=40)
    @given(at=st.sampled_from(where), value=OTHER_TYPES)
    def one(at, value):
        answered_without_harm(served, "POST", path, mutated(body, at, value))
    one()
    healthy(served)


def test_type_mutated_updates_and_patches(served):
    send(served, "POST", DEPLOYMENTS, VALID_BODIES[DEPLOYMENTS])
    current = send(served, "GET", f"{DEPLOYMENTS}/typo")[1]
    where = [p for p in paths_of(current) if p[:1] in (("spec",), ("metadata",))]

    @settings(FUZZ, max_examples=60)
    @given(at=st.sampled_from(where), value=OTHER_TYPES, method=st.sampled_from(["PUT", "PATCH"]))
    def one(at, value, method):
        fresh = send(served, "GET", f"{DEPLOYMENTS}/typo")[1]
        if at not in set(paths_of(fresh)):
            return  # an earlier example's accepted change took that field away
        body = mutated(fresh, at, value)
        if method == "PATCH" and at:  # a merge patch of just that field
            body = mutated({}, at[:1], mutated(fresh[at[0]], at[1:], value)) if isinstance(fresh[at[0]], dict) else body
        answered_without_harm(served, method, f"{DEPLOYMENTS}/typo", body)
    one()
    assert rolls_out(served, "after-updates")
    healthy(served)


@pytest.mark.parametrize("group, version", openapi.group_versions())
def test_schemathesis_finds_no_server_error(served, group, version):
    schemathesis = pytest.importorskip("schemathesis")
    schema = schemathesis.openapi.from_dict(json.loads(openapi.document(group, version)))
    for result in schema.get_all_operations():
        operation = result.ok()

        @FUZZ
        @given(case=operation.as_strategy())
        def one(case):
            query = {k: v for k, v in (case.query or {}).items() if k not in ("watch", "timeoutSeconds")}
            target = quote(case.formatted_path, safe="/%") + ("?" + urlencode(query, doseq=True) if query else "")
            body = None if case.body is None or type(case.body).__name__ == "NotSet" else case.body
            kind = case.media_type or "application/json"
            raw = json.dumps(body).encode() if body is not None else None
            before = revision(served)
            try:
                code, answer, _ = send(served, case.method.upper(), target, raw=raw, headers={"Content-Type": kind})
            except http.client.InvalidURL:
                return  # not a request a client can send
            assert code < 500, (case.method, target, answer)
            if code >= 400:
                assert isinstance(answer, dict) and answer["kind"] == "Status", (case.method, target, answer)
                assert revision(served) == before, (case.method, target, code)
        one()
    healthy(served)
    assert rolls_out(served, f"after-{group.replace('.', '-') or 'core'}")
