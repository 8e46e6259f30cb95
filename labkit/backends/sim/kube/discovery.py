"""What the served API offers, in the shapes of the real discovery endpoints, from the registry of kinds.

kubectl asks `/api` and `/apis` first (offering the aggregated v2 format; a plain
`APIVersions` / `APIGroupList` answer makes it fall back to the per-version lists
below, as it does with older servers), then `/api/v1` and `/apis/<group>/<version>`.
Every list is made from REGISTRY (kinds/): a kind registered is a kind listed.
"""
from __future__ import annotations

from .kinds import Kind
from .registry import REGISTRY
from .resources import VERSION

Resource = Kind  # what discovery lists of a served kind
RESOURCES = REGISTRY  # every served kind, in the order discovery lists them (iterating it reads it now)


def version() -> dict:
    major, minor, _ = VERSION.lstrip("v").split(".")
    return {"major": major, "minor": minor, "gitVersion": f"{VERSION}+labkit", "gitCommit": "labkit-simulator",
            "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "simulated",
            "compiler": "gc", "platform": "linux/amd64"}


def core_versions(server_address: str) -> dict:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def group_list() -> dict:
    """Every group but the core one, by name, each with its versions (the first registered preferred)."""
    versions: dict[str, list[str]] = {}
    for kind in REGISTRY:
        if kind.group and kind.version not in versions.setdefault(kind.group, []):
            versions[kind.group].append(kind.version)
    groups = []
    for name in sorted(versions):
        listed = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions[name]]
        groups.append({"name": name, "versions": listed, "preferredVersion": listed[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(name: str) -> dict | None:
    """One group (GET /apis/<group>: an APIGroup), or None when none is served."""
    found = next((g for g in group_list()["groups"] if g["name"] == name), None)
    return None if found is None else {"kind": "APIGroup", "apiVersion": "v1", **found}


def resource_list(group: str, version_: str) -> dict | None:
    found = [k for k in REGISTRY if k.group == group and k.version == version_]
    if not found:
        return None
    entries = []
    for k in found:
        entry = {"name": k.plural, "singularName": k.kind.lower(), "namespaced": k.namespaced, "kind": k.kind,
                 "verbs": list(k.verbs)}
        if k.short:
            entry["shortNames"] = list(k.short)
        if k.categories:
            entry["categories"] = list(k.categories)
        entries.append(entry)
        for sub in k.subresources:
            item = {"name": f"{k.plural}/{sub.name}", "singularName": "", "namespaced": k.namespaced,
                    "kind": sub.kind or k.kind, "verbs": list(sub.verbs)}
            if sub.group is not None:
                item.update(group=sub.group, version=sub.version)
            entries.append(item)
    gv = f"{group}/{version_}" if group else version_
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": entries}
