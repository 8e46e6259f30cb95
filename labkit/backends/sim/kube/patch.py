"""Patches and selectors as the API server applies them.

- JSON patch (RFC 6902), merge patch (RFC 7386) and strategic merge patch, which
  kubectl sends for `set image`, `apply`, `rollout`: lists of containers, env, ports
  and volumes merge by their key field instead of being replaced; `$patch: delete`
  removes an element; `$setElementOrder/...` and `$retainKeys` directives are dropped.
  (apimachinery's strategicpatch package; the merge keys come from the API's
  `patchMergeKey` tags.)
- Label selectors (`app=web,tier!=db,env in (a,b),!canary`) and field selectors
  (`metadata.name=web`, `spec.nodeName=node-1`, `status.phase!=Running`).
"""
from __future__ import annotations

import copy
from typing import Any

from .schema import resolve

# patchMergeKey of the list fields labkit's objects have (core/v1 and apps/v1 types)
MERGE_KEYS = {"containers": "name", "initContainers": "name", "env": "name", "volumes": "name",
              "volumeMounts": "mountPath", "ports": "containerPort", "imagePullSecrets": "name",
              "tolerations": None, "conditions": "type", "ownerReferences": "uid", "addresses": "type",
              "taints": "key"}


class PatchError(ValueError):
    """A patch that cannot be applied (the API answers 422 or 400 with this text)."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge, null removes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def strategic_merge_patch(target: Any, patch: Any, schema: dict | None = None) -> Any:
    """Kubernetes' strategic merge patch: as a merge patch, except that a list whose schema says
    `x-kubernetes-patch-strategy: merge` is merged item by item on its
    `x-kubernetes-patch-merge-key` (a Service's ports on `port`, a container's on `containerPort`),
    read from the served OpenAPI `schema` of the object; without a schema, MERGE_KEYS."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$retainKeys", "$patch"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            out[name] = [v for v in out.get(name, []) if v not in value]
            continue
        child = _child(schema, key)
        merge_key = _merge_key(child, key, schema is not None)
        if value is None:
            out.pop(key, None)
        elif isinstance(value, list) and merge_key and isinstance(out.get(key), list):
            out[key] = _merge_list(out[key], value, merge_key, _items(child))
        elif isinstance(value, dict):
            out[key] = strategic_merge_patch(out.get(key), value, child)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _child(schema: dict | None, key: str) -> dict | None:
    """The schema of field `key` of an object of `schema` (a map's values, for a map)."""
    if schema is None:
        return None
    found, _ = resolve(schema)
    if "properties" in found:
        return found["properties"].get(key)
    inner = found.get("additionalProperties")
    return inner if isinstance(inner, dict) else None


def _merge_key(field: dict | None, name: str, have_schema: bool) -> str | None:
    if not have_schema:
        return MERGE_KEYS.get(name)
    if field is None or "merge" not in (field.get("x-kubernetes-patch-strategy") or ""):
        return None
    return field.get("x-kubernetes-patch-merge-key")


def _items(field: dict | None) -> dict | None:
    return None if field is None else resolve(field)[0].get("items")


def _merge_list(current: list, patch: list, key: str, item_schema: dict | None = None) -> list:
    out = [copy.deepcopy(item) for item in current]
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise PatchError(f"map: {item} does not contain declared merge key: {key}")
        at = next((i for i, old in enumerate(out) if isinstance(old, dict) and old.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if at is not None:
                del out[at]
        elif at is None:
            out.append({k: v for k, v in item.items() if k != "$patch"})
        else:
            out[at] = strategic_merge_patch(out[at], item, item_schema)
    return out


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902: add, remove, replace, move, copy, test."""
    if not isinstance(operations, list):
        raise PatchError("a JSON patch is a list of operations")
    doc = copy.deepcopy(target)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"invalid JSON patch operation: {op}")
        kind, path = op["op"], op["path"]
        if kind in ("move", "copy"):
            value = copy.deepcopy(_get(doc, op.get("from", "")))
            if kind == "move":
                doc = _remove(doc, op["from"])
            doc = _add(doc, path, value)
        elif kind == "add":
            doc = _add(doc, path, op.get("value"))
        elif kind == "remove":
            doc = _remove(doc, path)
        elif kind == "replace":
            _get(doc, path)
            doc = _add(_remove(doc, path), path, op.get("value"))
        elif kind == "test":
            if _get(doc, path) != op.get("value"):
                raise PatchError(f"testing value {path} failed")
        else:
            raise PatchError(f"Unexpected kind: {kind}")
    return doc


def _tokens(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer: {path!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in path[1:].split("/")]


def _parent(doc: Any, path: str) -> tuple[Any, str]:
    tokens = _tokens(path)
    if not tokens:
        raise PatchError("the whole document cannot be patched this way")
    node = doc
    for token in tokens[:-1]:
        node = _step(node, token, path)
    return node, tokens[-1]


def _step(node: Any, token: str, path: str) -> Any:
    try:
        return node[int(token)] if isinstance(node, list) else node[token]
    except (KeyError, IndexError, ValueError, TypeError):
        raise PatchError(f"doc is missing path: {path!r}") from None


def _get(doc: Any, path: str) -> Any:
    node = doc
    for token in _tokens(path):
        node = _step(node, token, path)
    return node


def _add(doc: Any, path: str, value: Any) -> Any:
    parent, last = _parent(doc, path)
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last) if last.isdigit() else -1
        if not 0 <= index <= len(parent):
            raise PatchError(f"add operation does not apply: doc is missing path: {path!r}")
        parent.insert(index, copy.deepcopy(value))
    elif isinstance(parent, dict):
        parent[last] = copy.deepcopy(value)
    else:
        raise PatchError(f"add operation does not apply: doc is missing path: {path!r}")
    return doc


def _remove(doc: Any, path: str) -> Any:
    parent, last = _parent(doc, path)
    try:
        if isinstance(parent, list):
            del parent[int(last)]
        else:
            del parent[last]
    except (KeyError, IndexError, ValueError, TypeError):
        raise PatchError(f"remove operation does not apply: doc is missing path: {path!r}") from None
    return doc


# -- selectors ---------------------------------------------------------------------------------
# Parsed by a linear lexer and parser in selectors.py; imported here, where server.py looks.
from .selectors import SelectorError, field_matcher, label_matcher  # noqa: E402,F401
