"""OpenAPI v3 documents of the served API: `kubectl explain`, validation and `apply` read them.

The schemas are the real ones of the release the simulator follows (made by
tools/make_openapi.py from the Kubernetes schemas that `kubernetes-validate` ships);
the paths list each served kind's operations (from the registry, kinds/) with the query
parameters the real server takes, so kubectl sees that it may ask for server-side field
validation.
"""
from __future__ import annotations

import email.utils
import functools
import gzip
import hashlib
import json
import os
import time

from .kinds import Kind
from .registry import REGISTRY
from .resources import VERSION

HERE = os.path.dirname(os.path.abspath(__file__))
WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation", "pretty")
LIST_PARAMS = ("labelSelector", "fieldSelector", "limit", "continue", "resourceVersion", "timeoutSeconds",
               "watch", "allowWatchBookmarks", "pretty")


@functools.lru_cache(maxsize=1)
def schemas() -> dict:
    with gzip.open(os.path.join(HERE, f"openapi-{VERSION}.json.gz")) as f:
        return json.load(f)["schemas"]


def schema_name(r: Kind, list_: bool = False) -> str:
    """The name of the kind's schema (or its list's) in the documents' components."""
    return f"{r.schema}{'List' if list_ else ''}"


def _op(r: Kind, action: str, params: tuple[str, ...], schema: str, body: bool = False) -> dict:
    op = {"operationId": f"{action}{r.kind}", "x-kubernetes-action": action,
          "x-kubernetes-group-version-kind": {"group": r.group, "version": r.version, "kind": r.kind},
          "parameters": [{"name": p, "in": "query", "schema": {"type": "string"}, "uniqueItems": True}
                         for p in params],
          "responses": {"200": {"description": "OK", "content": {"application/json": {
              "schema": {"$ref": f"#/components/schemas/{schema}"}}}}}}
    if body:
        kinds = ["application/json"] if action != "patch" else [
            "application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json"]
        ref = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch" if action == "patch" else schema
        op["requestBody"] = {"content": {k: {"schema": {"$ref": f"#/components/schemas/{ref}"}} for k in kinds},
                             "required": True}
    return op


def _paths(group: str, version: str) -> dict:
    paths = {}
    for r in REGISTRY:
        if r.group != group or r.version != version:
            continue
        base = f"/api/{version}" if not group else f"/apis/{group}/{version}"
        scope = f"{base}/namespaces/{{namespace}}/{r.plural}" if r.namespaced else f"{base}/{r.plural}"
        one = schema_name(r)
        collection = {"get": _op(r, "list", LIST_PARAMS, schema_name(r, True))} if "list" in r.verbs else {}
        if "create" in r.verbs:
            collection["post"] = _op(r, "post", WRITE_PARAMS, one, body=True)
        item = {"get": _op(r, "get", ("pretty",), one)} if "get" in r.verbs else {}
        if "update" in r.verbs:
            item["put"] = _op(r, "put", WRITE_PARAMS, one, body=True)
        if "patch" in r.verbs:
            item["patch"] = _op(r, "patch", WRITE_PARAMS + ("force",), one, body=True)
        if "delete" in r.verbs:
            item["delete"] = _op(r, "delete", ("dryRun", "gracePeriodSeconds", "propagationPolicy"),
                                 "io.k8s.apimachinery.pkg.apis.meta.v1.Status")
        paths[scope] = _with_path_parameters(scope, collection)
        if item:  # a kind only created (a review) has no object to name
            paths[f"{scope}/{{name}}"] = _with_path_parameters(f"{scope}/{{name}}", item)
    return paths


def _with_path_parameters(path: str, operations: dict) -> dict:
    """The path's {namespace} and {name} declared, as the real documents declare them (OpenAPI
    requires every templated segment to be a declared parameter)."""
    names = [n for n in ("name", "namespace") if f"{{{n}}}" in path]
    described = {"name": "name of the object", "namespace": "object name and auth scope, such as for teams and "
                 "projects"}
    return {**operations, "parameters": [{"name": n, "in": "path", "required": True, "uniqueItems": True,
                                          "description": described[n], "schema": {"type": "string"}}
                                         for n in names]}


def group_versions() -> list[tuple[str, str]]:
    return REGISTRY.group_versions()


def _url_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def document(group: str, version: str) -> bytes:
    """The document of one group version, made again only once the registry changed."""
    return _document(group, version, REGISTRY.revision)


def components() -> dict:
    """Every served schema: the release's, and those the served kinds bring of their own (Kind.schemas)."""
    return _components(REGISTRY.revision)


@functools.lru_cache(maxsize=4)
def _components(revision: int) -> dict:
    own = {name: schema for kind in REGISTRY for name, schema in kind.schemas.items()}
    return {**schemas(), **own} if own else schemas()


@functools.lru_cache(maxsize=16)
def _document(group: str, version: str, revision: int) -> bytes:
    doc = {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": VERSION},
           "paths": _paths(group, version), "components": {"schemas": components()}}
    return json.dumps(doc, separators=(",", ":")).encode()


def _digest(group: str, version: str) -> str:
    return hashlib.sha512(document(group, version)).hexdigest()[:32].upper()


def index() -> dict:
    out = {}
    for group, version in group_versions():
        path = _url_path(group, version)
        out[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={_digest(group, version)}"}
    return {"paths": out}


def cache_headers(path: str, query: dict) -> dict[str, str]:
    """What kube-openapi's handler3 sends with a document: its ETag, and when the URL names the
    document's own hash (as the index's URLs do), a year of freshness, so kubectl's HTTP cache
    answers the next `kubectl apply` from disk instead of downloading the schemas again."""
    for group, version in group_versions():
        if path == _url_path(group, version):
            digest = _digest(group, version)
            if query.get("hash") != digest:
                return {"ETag": f'"{digest}"'}
            expires = email.utils.formatdate(time.time() + 365 * 86400, usegmt=True)
            return {"ETag": f'"{digest}"', "Cache-Control": "public, immutable", "Expires": expires}
    return {}


def find(path: str) -> bytes | None:
    """The document at /openapi/v3/<path>, or None."""
    for group, version in group_versions():
        if path == _url_path(group, version):
            return document(group, version)
    return None
