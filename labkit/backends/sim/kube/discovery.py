"""What the served API offers, in the shapes of the real discovery endpoints.

kubectl asks `/api` and `/apis` first (offering the aggregated v2 format; a plain
`APIVersions` / `APIGroupList` answer makes it fall back to the per-version lists
below, as it does with older servers), then `/api/v1` and `/apis/<group>/<version>`.
"""
from __future__ import annotations

from dataclasses import dataclass

from .resources import VERSION


@dataclass(frozen=True)
class Resource:
    plural: str
    kind: str
    group: str  # "" for the core group
    version: str
    namespaced: bool
    verbs: tuple[str, ...]
    short: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


READ = ("get", "list", "watch")
ALL = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
RESOURCES = (
    Resource("namespaces", "Namespace", "", "v1", False, ("create", "delete", "get", "list", "patch", "update", "watch"),
             ("ns",)),
    Resource("nodes", "Node", "", "v1", False, ("get", "list", "patch", "update", "watch"), ("no",),
             ("status",)),
    Resource("pods", "Pod", "", "v1", True, ALL, ("po",), ("status", "log", "eviction", "binding"), ("all",)),
    Resource("events", "Event", "", "v1", True, READ, ("ev",)),
    Resource("services", "Service", "", "v1", True, ALL, ("svc",), ("status",), ("all",)),
    Resource("componentstatuses", "ComponentStatus", "", "v1", False, ("get", "list"), ("cs",)),
    Resource("endpointslices", "EndpointSlice", "discovery.k8s.io", "v1", True, READ),
    Resource("deployments", "Deployment", "apps", "v1", True, ALL, ("deploy",), ("status", "scale"), ("all",)),
    Resource("replicasets", "ReplicaSet", "apps", "v1", True, ALL, ("rs",), ("status", "scale"), ("all",)),
    Resource("daemonsets", "DaemonSet", "apps", "v1", True, READ, ("ds",), ("status",), ("all",)),
    Resource("leases", "Lease", "coordination.k8s.io", "v1", True, READ),
    Resource("events", "Event", "events.k8s.io", "v1", True, READ, ("ev",)),  # the core events, reshaped
)
BY_PLURAL = {(r.group, r.plural): r for r in RESOURCES}
GROUPS = ("apps", "coordination.k8s.io", "discovery.k8s.io", "events.k8s.io")


def version() -> dict:
    major, minor, _ = VERSION.lstrip("v").split(".")
    return {"major": major, "minor": minor, "gitVersion": f"{VERSION}+labkit", "gitCommit": "labkit-simulator",
            "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "simulated",
            "compiler": "gc", "platform": "linux/amd64"}


def core_versions(server_address: str) -> dict:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def group_list() -> dict:
    groups = []
    for name in GROUPS:
        gv = {"groupVersion": f"{name}/v1", "version": "v1"}
        groups.append({"name": name, "versions": [gv], "preferredVersion": gv})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def resource_list(group: str, version_: str) -> dict | None:
    found = [r for r in RESOURCES if r.group == group and r.version == version_]
    if not found:
        return None
    entries = []
    for r in found:
        entry = {"name": r.plural, "singularName": r.kind.lower(), "namespaced": r.namespaced, "kind": r.kind,
                 "verbs": list(r.verbs)}
        if r.short:
            entry["shortNames"] = list(r.short)
        if r.categories:
            entry["categories"] = list(r.categories)
        entries.append(entry)
        for sub in r.subresources:
            kind = {"scale": "Scale", "eviction": "Eviction", "binding": "Binding", "log": "Pod"}.get(sub, r.kind)
            verbs = {"log": ["get"], "eviction": ["create"], "binding": ["create"]}.get(sub, ["get", "patch", "update"])
            item = {"name": f"{r.plural}/{sub}", "singularName": "", "namespaced": r.namespaced, "kind": kind,
                    "verbs": verbs}
            if sub == "scale":
                item.update(group="autoscaling", version="v1")
            if sub == "eviction":
                item.update(group="policy", version="v1")
            entries.append(item)
    gv = f"{group}/{version_}" if group else version_
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": entries}
