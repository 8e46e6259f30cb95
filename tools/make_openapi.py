"""Make the OpenAPI v3 schemas the simulator's API server serves (kubectl explain, apply, validation).

The schemas are Kubernetes' own, for the release the simulator follows, as the
`kubernetes-validate` package ships them (JSON-schema form of the real OpenAPI
document, with descriptions and x-kubernetes-* extensions): this script keeps the
definitions the served kinds reach and turns them back into OpenAPI 3.0 form.

    .venv/bin/python tools/make_openapi.py     # writes labkit/backends/sim/kube/openapi-<version>.json.gz
"""
from __future__ import annotations

import gzip
import json
import os
import sys

VERSION = "v1.37.0"
# What every request may carry besides a kind's own objects; the kinds' schemas come from the registry (roots()).
COMMON = ("io.k8s.apimachinery.pkg.apis.meta.v1.Status", "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
          "io.k8s.apimachinery.pkg.apis.meta.v1.Patch")


def roots() -> tuple[str, ...]:
    """The schemas the served kinds name (labkit's kube registry): each kind's, its list's, and what its
    subresources read and write (Scale, Eviction). A kind added to the registry is in the next run."""
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from labkit.backends.sim.kube.registry import REGISTRY
    names = list(COMMON)
    for kind in REGISTRY:
        names += [kind.schema, kind.schema + "List"] + [sub.schema for sub in kind.subresources if sub.schema]
    return tuple(dict.fromkeys(names))


def source() -> dict:
    import kubernetes_validate
    folder = os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema",
                          f"{VERSION}-local", "_definitions.json")
    with open(folder) as f:
        return json.load(f)["$defs"]


def reachable(defs: dict, roots: tuple[str, ...]) -> dict:
    keep: dict = {}
    todo = [r for r in roots if r in defs]
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep[name] = defs[name]
        text = json.dumps(defs[name])
        todo += [ref for ref in _refs(text) if ref in defs and ref not in keep]
    return keep


def _refs(text: str) -> list[str]:
    out, marker = [], '"$ref": "#/$defs/'
    at = text.find(marker)
    while at >= 0:
        end = text.index('"', at + len(marker))
        out.append(text[at + len(marker):end])
        at = text.find(marker, end)
    return out


def to_openapi(node):
    """JSON-schema form back to OpenAPI 3.0: `type: [x, "null"]` -> `type: x`, refs to components."""
    if isinstance(node, list):
        return [to_openapi(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "$ref":
            out[key] = value.replace("#/$defs/", "#/components/schemas/")
        elif key == "type" and isinstance(value, list):
            kinds = [v for v in value if v != "null"]
            if kinds:
                out[key] = kinds[0]
        elif key == "oneOf" and all(set(o) == {"type"} for o in value):  # IntOrString
            out["x-kubernetes-int-or-string"] = True
        else:
            out[key] = to_openapi(value)
    if "$ref" in out and len(out) > 1:  # OpenAPI 3.0 ignores siblings of $ref: wrap it as the real doc does
        ref = out.pop("$ref")
        out["allOf"] = [{"$ref": ref}]
    return out


def main() -> int:
    defs = source()
    schemas = {name: to_openapi(schema) for name, schema in sorted(reachable(defs, roots()).items())}
    target = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "labkit", "backends", "sim", "kube", f"openapi-{VERSION}.json.gz")
    data = json.dumps({"version": VERSION, "schemas": schemas}, sort_keys=True, separators=(",", ":")).encode()
    with gzip.GzipFile(target, "wb", mtime=0) as f:
        f.write(data)
    print(f"{len(schemas)} schemas, {len(data) // 1024} KiB ({os.path.getsize(target) // 1024} KiB gzipped) -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
