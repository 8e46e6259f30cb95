"""Namespaces (pkg/registry/core/namespace): the ones every cluster starts with and the ones made since.

What a namespace holds and how deleting one empties it is the namespace controller's
(kube/namespaces.py); here is what the API does with them: a name is an RFC 1123 label,
a client changes labels and annotations, the four system namespaces cannot be deleted, and
a deleted one stays Terminating until its pods are gone (the controller's last step runs
before the namespaces are read or watched). The table follows printNamespace.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .....errors import LabkitError
from ...objects import KubeNamespace
from .. import namespaces
from ..printers import AGE, NAME, age, parts
from ..resources import SYSTEM_NAMESPACES, Clockwork, meta
from ..status import ApiError, from_labkit
from . import REGISTRY, Cause, Column, Kind, Obj, Strategy, Watch
from .common import DNS1123_LABEL, DNS1123_LABEL_HELP, already_exists, check_kind, deleted, user_annotations

if TYPE_CHECKING:
    from ..rest import Storage


def render(ns: KubeNamespace, clock: Clockwork) -> Obj:
    labels = {**(ns.labels or {}), "kubernetes.io/metadata.name": ns.name}
    out = {"kind": "Namespace", "apiVersion": "v1",
           "metadata": meta("Namespace", ns.name, ns.resource_version or 1, ns.created, clock, None, labels),
           "spec": {"finalizers": ["kubernetes"]},
           "status": {"phase": "Terminating" if ns.terminating is not None else "Active"}}
    if ns.annotations:
        out["metadata"]["annotations"] = dict(ns.annotations)
    if ns.terminating is not None:
        out["metadata"]["deletionTimestamp"] = clock.stamp(ns.terminating)
    return out


def objects(store: Storage, namespace: str | None) -> list[Obj]:
    every = namespaces.every(store.sim)
    return [render(every[n], store.clock) for n in sorted(every)]


def validate(name: str, body: Obj) -> list[Cause]:
    if not DNS1123_LABEL.match(name) or len(name) > 63:
        return [("metadata.name", f'Invalid value: "{name}": {DNS1123_LABEL_HELP}')]
    return []


def create(store: Storage, namespace: str | None, body: Obj, dry_run: bool) -> Obj:
    meta_ = body.get("metadata") or {}
    name = meta_.get("name") or ""
    if name in namespaces.every(store.sim):
        raise already_exists("namespaces", name)
    made = KubeNamespace(name, dict(meta_.get("labels") or {}), user_annotations(body), store.sim.now())
    if not dry_run:
        store.sim.api.check()
        store.sim.api.write(namespaces.KIND, made)
    return render(made, store.clock)


def update(store: Storage, namespace: str | None, name: str, current: Obj, wanted: Obj, dry_run: bool) -> None:
    """Its labels (but kubernetes.io/metadata.name, the server's) and annotations."""
    check_kind(wanted, "Namespace", "v1")
    if not dry_run:
        ns = namespaces.every(store.sim)[name]
        if name in namespaces.SYSTEM and name not in store.items(namespaces.KIND):
            ns = KubeNamespace(name, {}, {}, 0.0)  # stored from its first change on
        store.sim.api.check()
        ns.labels = {k: v for k, v in ((wanted.get("metadata") or {}).get("labels") or {}).items()
                     if k != "kubernetes.io/metadata.name"}
        ns.annotations = user_annotations(wanted)
        store.sim.api.write(namespaces.KIND, ns)


def delete(store: Storage, namespace: str | None, name: str, found: Obj, dry_run: bool) -> Obj:
    """Terminating until what is in it is gone (answered so), then gone (a Status)."""
    if name in SYSTEM_NAMESPACES:
        raise ApiError(403, "Forbidden", f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                       {"name": name, "kind": "namespaces"})
    if dry_run:
        return found
    try:
        namespaces.delete(store.sim, name)
        if name in store.items(namespaces.KIND):
            return render(store.items(namespaces.KIND)[name], store.clock)
    except LabkitError as error:
        raise from_labkit(error, "namespaces", name) from None
    return deleted("namespaces", name, found["metadata"]["uid"])


def refresh(store: Storage) -> None:
    namespaces.finish(store.sim)


def namespace_row(namespace: Obj, now: float) -> list:
    """Follows printNamespace: Name, Status (status.phase), Age."""
    meta_, _, status = parts(namespace)
    return [meta_.get("name", ""), status.get("phase", ""), age(namespace, now)]


NAMESPACE = REGISTRY.add(Kind(
    group="", version="v1", plural="namespaces", kind="Namespace", namespaced=False,
    verbs=("create", "delete", "get", "list", "patch", "update", "watch"), short=("ns",),
    schema="io.k8s.api.core.v1.Namespace", protobuf="Namespace", fields=("metadata.name", "status.phase"),
    columns=(NAME, Column("Status", "string", "The status of the namespace"), AGE), row=namespace_row,
    watch=Watch(record=namespaces.KIND),
    strategy=Strategy(objects=objects, validate=validate, create=create, update=update, delete=delete,
                      refresh=refresh)))
