"""The served kinds are one registry (labkit/backends/sim/kube/kinds/): adding a kind is one module.

A kind registered here, in the test and nowhere else (a read-only PodDisruptionBudget with one
object, in place of the served one, taken out of the registry while the test runs), is listed by discovery, has its paths in the
OpenAPI documents, is listed, read, printed as a table by the real kubectl and watched. Every
kind the simulator registers appears in discovery and the OpenAPI documents, with its schemas
there; the generic modules (rest.Storage, discovery, OpenAPI, watch, tables, protobuf) compare
no plural with a kind's name.
"""
from __future__ import annotations

import ast
import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.backends.sim.kube import kinds, printers
from labkit.backends.sim.kube.kinds import READ, Column, Kind, Strategy
from labkit.backends.sim.kube.registry import REGISTRY
from labkit.backends.sim.kube.serve import ServedCluster

KUBECTL = os.path.join(os.path.dirname(sys.executable), "kubectl")
if not os.path.exists(KUBECTL):
    KUBECTL = shutil.which("kubectl") or KUBECTL
KUBE = Path(__file__).resolve().parent.parent / "labkit" / "backends" / "sim" / "kube"


def budget(store, namespace):
    """The one PodDisruptionBudget, `default/web`."""
    found = {"kind": "PodDisruptionBudget", "apiVersion": "policy/v1",
             "metadata": {"name": "web", "namespace": "default", "uid": "3a7d9f00-0000-4000-8000-000000000001",
                          "resourceVersion": "1", "creationTimestamp": store.clock.stamp(0.0),
                          "labels": {"app": "web"}},
             "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}},
             "status": {"currentHealthy": 3, "desiredHealthy": 1, "disruptionsAllowed": 2, "expectedPods": 3,
                        "observedGeneration": 1}}
    return [found] if namespace in (None, "default") else []


def budget_row(pdb: dict, now: float) -> list:
    """printPodDisruptionBudget: Name, Min Available, Max Unavailable, Allowed Disruptions, Age."""
    meta, spec, status = printers.parts(pdb)
    return [meta["name"], str(spec.get("minAvailable", "N/A")), str(spec.get("maxUnavailable", "N/A")),
            status.get("disruptionsAllowed", 0), printers.age(pdb, now)]


PDB = Kind(group="policy", version="v1", plural="poddisruptionbudgets", kind="PodDisruptionBudget",
           namespaced=True, verbs=READ, short=("pdb",), schema="io.k8s.api.policy.v1.PodDisruptionBudget",
           columns=(printers.NAME, Column("Min Available", "string", "The minimum pods available."),
                    Column("Max Unavailable", "string", "The most pods unavailable."),
                    Column("Allowed Disruptions", "integer", "How many pods may be disrupted now."), printers.AGE),
           row=budget_row, strategy=Strategy(objects=budget))


@pytest.fixture(scope="module")
def served():
    cluster = ServedCluster(1, speed=0, seed=1).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def no_budgets(served):
    """The served PodDisruptionBudgets taken out of the registry while the test runs."""
    real = REGISTRY.get("policy", "poddisruptionbudgets")
    REGISTRY.remove(real)
    try:
        yield
    finally:
        REGISTRY.add(real)


@pytest.fixture
def extra_kind(no_budgets):
    """PDB served while the test runs (registered after the server started: everything reads the registry)."""
    REGISTRY.add(PDB)
    try:
        yield PDB
    finally:
        REGISTRY.remove(PDB)


def get(served, path: str, accept: str = "application/json", text: bool = False) -> tuple[int, object]:
    """(status, JSON, or the text when `text`) of one GET to the served API."""
    context = ssl.create_default_context(cadata=served.api.ca_pem.decode())
    conn = http.client.HTTPSConnection("127.0.0.1", served.api.port, context=context, timeout=30)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {served.api.token}", "Accept": accept})
        answer = conn.getresponse()
        raw = answer.read()
    finally:
        conn.close()
    return answer.status, json.loads(raw) if raw[:1] == b"{" and not text else raw.decode()


def kubectl(served, tmp_path, *args: str) -> tuple[int, str]:
    done = subprocess.run([KUBECTL, "--cache-dir", str(tmp_path / "cache"), *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "KUBECONFIG": served.kubeconfig})
    return done.returncode, done.stdout + done.stderr


def openapi_document(served, group: str, version: str) -> dict:
    index = get(served, "/openapi/v3")[1]["paths"]
    url = index[f"apis/{group}/{version}" if group else f"api/{version}"]["serverRelativeURL"]
    code, document = get(served, url)
    assert code == 200
    return document


def test_a_kind_registered_in_a_test_is_served_everywhere(served, extra_kind, tmp_path):
    assert "policy" in [g["name"] for g in get(served, "/apis")[1]["groups"]]
    listed = get(served, "/apis/policy/v1")[1]
    assert listed["groupVersion"] == "policy/v1"
    assert listed["resources"] == [{"name": "poddisruptionbudgets", "singularName": "poddisruptionbudget",
                                    "namespaced": True, "kind": "PodDisruptionBudget", "verbs": list(READ),
                                    "shortNames": ["pdb"]}]

    paths = openapi_document(served, "policy", "v1")["paths"]
    collection = paths["/apis/policy/v1/namespaces/{namespace}/poddisruptionbudgets"]
    assert set(collection) == {"get", "parameters"}  # read-only: no post
    assert collection["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/io.k8s.api.policy.v1.PodDisruptionBudgetList"}
    assert set(paths["/apis/policy/v1/namespaces/{namespace}/poddisruptionbudgets/{name}"]) == {"get", "parameters"}

    code, found = get(served, "/apis/policy/v1/poddisruptionbudgets")
    assert code == 200 and (found["kind"], found["apiVersion"]) == ("PodDisruptionBudgetList", "policy/v1")
    assert [o["metadata"]["name"] for o in found["items"]] == ["web"]
    code, one = get(served, "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web")
    assert code == 200 and one["spec"]["minAvailable"] == 1
    code, missing = get(served, "/apis/policy/v1/namespaces/default/poddisruptionbudgets/nope")
    assert code == 404 and missing["message"] == 'poddisruptionbudgets.policy "nope" not found'
    code, refused = get(served, "/apis/policy/v1/namespaces/default/poddisruptionbudgets?fieldSelector=spec.x%3D1")
    assert code == 400 and refused["reason"] == "BadRequest"  # the default field selectors: name and namespace

    code, out = kubectl(served, tmp_path, "get", "pdb", "-n", "default")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED", "DISRUPTIONS", "AGE"]
    assert lines[1].split()[:4] == ["web", "1", "N/A", "2"]
    code, out = kubectl(served, tmp_path, "get", "poddisruptionbudgets.policy", "-A", "-o", "name")
    assert (code, out.split()) == (0, ["poddisruptionbudget.policy/web"])

    code, stream = get(served, "/apis/policy/v1/namespaces/default/poddisruptionbudgets?watch=true&timeoutSeconds=1",
                       text=True)
    events = [json.loads(line) for line in stream.splitlines()]
    assert code == 200 and [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "web")]


def test_a_kind_is_gone_once_removed(served, no_budgets, tmp_path):
    assert REGISTRY.get("policy", "poddisruptionbudgets") is None
    assert get(served, "/apis/policy/v1")[0] == 404
    assert "policy" not in [g["name"] for g in get(served, "/apis")[1]["groups"]]
    assert "apis/policy/v1" not in get(served, "/openapi/v3")[1]["paths"]


def test_every_registered_kind_is_in_discovery_and_the_openapi_documents(served):
    kinds_ = list(REGISTRY)
    assert {k.plural for k in kinds_} >= {"namespaces", "nodes", "pods", "events", "services", "componentstatuses",
                                          "endpointslices", "deployments", "replicasets", "daemonsets", "leases"}
    for kind in kinds_:
        base = f"/apis/{kind.group}/{kind.version}" if kind.group else f"/api/{kind.version}"
        listed = {r["name"]: r for r in get(served, base)[1]["resources"]}
        assert listed[kind.plural]["kind"] == kind.kind and listed[kind.plural]["verbs"] == list(kind.verbs)
        assert all(f"{kind.plural}/{sub.name}" in listed for sub in kind.subresources)
        if kind.group:
            assert kind.group in [g["name"] for g in get(served, "/apis")[1]["groups"]]

        document = openapi_document(served, kind.group, kind.version)
        schemas = document["components"]["schemas"]
        scope = f"{base}/namespaces/{{namespace}}/{kind.plural}" if kind.namespaced else f"{base}/{kind.plural}"
        paths = (scope, f"{scope}/{{name}}") if "get" in kind.verbs else (scope,)
        if "get" in kind.verbs:
            assert "get" in document["paths"][scope] and "get" in document["paths"][f"{scope}/{{name}}"]
        else:  # only created (a review): no list, no object to name
            assert set(document["paths"][scope]) == {"post", "parameters"} and paths[0] + "/{name}" not in \
                document["paths"]
        refs = {part for path in paths for part in json.dumps(document["paths"][path])
                .split('"#/components/schemas/')[1:]}
        assert refs and all(ref.split('"')[0] in schemas for ref in refs), kind.plural
        assert kind.schema in schemas and ("list" not in kind.verbs or f"{kind.schema}List" in schemas), kind.plural
        assert all(sub.schema in schemas for sub in kind.subresources if sub.schema), kind.plural


def test_the_registry_finds_kinds_by_path_plural_and_word():
    assert REGISTRY.get("apps", "deployments").kind == "Deployment"
    assert REGISTRY.get("", "deployments") is None
    assert REGISTRY.find("events").group == ""  # the core group's, registered first
    assert REGISTRY.get("events.k8s.io", "events").shape is not None
    assert [REGISTRY.lookup(w).plural for w in ("deploy", "Deployment", "rs", "po", "ns")] == [
        "deployments", "deployments", "replicasets", "pods", "namespaces"]
    assert REGISTRY.lookup("nothing") is None and REGISTRY.by_kind("ReplicaSet").plural == "replicasets"
    with pytest.raises(ValueError):
        REGISTRY.add(REGISTRY.get("", "pods"))


GENERIC = ("rest.py", "discovery.py", "openapi.py", "watch.py", "columns.py", "protobuf.py", "status.py")


@pytest.mark.parametrize("module", GENERIC)
def test_the_generic_modules_compare_no_plural_with_a_kind(module):
    """No `plural == "pods"` or `plural in ("pods", ...)`: what is a kind's own is in its module."""
    plurals = {k.plural for k in REGISTRY} | {"kube-services"}
    found = []
    for node in ast.walk(ast.parse((KUBE / module).read_text())):
        if isinstance(node, ast.Compare):
            for operand in [node.left, *node.comparators]:
                values = operand.elts if isinstance(operand, (ast.Tuple, ast.List, ast.Set)) else [operand]
                found += [v.value for v in values if isinstance(v, ast.Constant) and v.value in plurals]
    assert not found, f"{module} compares with {found}"


def test_kinds_is_the_package_that_holds_the_description():
    assert kinds.REGISTRY is REGISTRY and isinstance(REGISTRY.get("", "pods"), kinds.Kind)


def test_kubectl_keeps_the_schemas_it_downloaded(served, tmp_path, monkeypatch):
    """The index's URLs name each document's hash, and a document fetched by its hash is fresh for a
    year (kube-openapi's handler3: `Cache-Control: public, immutable`, `Expires`, `ETag`), so the
    second `kubectl apply` reads the schemas from kubectl's HTTP cache instead of downloading them."""
    from labkit.backends.sim.kube import openapi
    served_paths = []
    find = openapi.find
    monkeypatch.setattr(openapi, "find", lambda path: (served_paths.append(path), find(path))[1])
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cached}\ndata: {mode: fast}\n"
    for _ in range(2):
        done = subprocess.run([KUBECTL, "--cache-dir", str(tmp_path / "cache"), "apply", "-f", "-"], input=manifest,
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "KUBECONFIG": served.kubeconfig})
        assert done.returncode == 0, done.stderr
    assert served_paths == ["api/v1"], "downloaded once, then read from the cache"
    index = get(served, "/openapi/v3")[1]["paths"]["api/v1"]["serverRelativeURL"]
    assert openapi.cache_headers("api/v1", {"hash": index.split("hash=")[1]})["Cache-Control"] == "public, immutable"
    assert "Cache-Control" not in openapi.cache_headers("api/v1", {"hash": "0"}), "a stale hash is not kept"
    subprocess.run([KUBECTL, "delete", "cm", "cached"], capture_output=True, timeout=60,
                   env={**os.environ, "KUBECONFIG": served.kubeconfig})


def test_a_group_answers_at_its_own_path(served):
    code, found = get(served, "/apis/autoscaling")
    assert code == 200 and found["kind"] == "APIGroup" and found["preferredVersion"]["version"] == "v2"
    assert get(served, "/apis/no.such.group")[0] == 404


def test_the_consoles_kubectl_keeps_its_cache_with_the_served_cluster():
    """kubectl's default cache keys discovery by host and port for hours: a served cluster of another
    labkit version on the same port would be read through a stale list of kinds. The console's kubectl
    keeps its cache in the served cluster's own folder, gone with it."""
    import labkit as lk
    from labkit import console
    from labkit.console.tools.kubectl import cache_dir, served as served_api
    cluster = console.use(lk.connect("sim", nodes=1))
    console.run("kubectl get nodes")
    cache = cache_dir(served_api(cluster.backend))
    assert os.path.isdir(os.path.join(cache, "discovery"))
    console.forget()
