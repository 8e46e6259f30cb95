"""Kinds kept as their clients wrote them: the generic registry's store, for kinds with no simulator record.

Most of what the real API server serves (ConfigMaps, Secrets, ServiceAccounts, Jobs, ...) is
stored as it was written: the generic store (k8s.io/apiserver pkg/registry/generic/registry/
store.go) adds the object meta the server owns (uid, resourceVersion, creationTimestamp,
generation), runs the kind's strategy (PrepareForCreate, Validate, PrepareForUpdate,
ValidateUpdate) and writes the object to etcd. `stored(...)` builds that store for one kind:
a `Record` per object in the simulator's store (so etcd being down refuses writes, watches
hear every write, a namespace's deletion takes them), the object itself kept as JSON.

    CONFIGMAP = REGISTRY.add(Kind(..., **stored("ConfigMap", "v1", "configmaps", prepare=..., check=...)))

What a kind adds, each as its upstream strategy does: `prepare(body, current)` fills defaults
and resets what clients may not set (current is None on create); `check(name, body, current)`
returns the causes of a 422 (the name's rules included); `generation`: whether the kind's
metadata.generation counts changes to its spec; `status`: whether a write to the object
keeps the status it had (the kind has a status subresource, written by its controller).
"""
from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from .. import resources as res
from ..status import ApiError, invalid
from . import Cause, Obj, Strategy, Watch
from .common import DNS1123, DNS1123_HELP, already_exists, deleted

if TYPE_CHECKING:
    from ..rest import Storage

PREFIX = "stored/"  # the simulator store's record kinds of stored kinds: "stored/<group>/<plural>"
SERVER_META = ("uid", "resourceVersion", "creationTimestamp", "generation", "deletionTimestamp", "selfLink")
GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # apiserver's names.SimpleNameGenerator


@dataclass(eq=False)
class Record:
    """One stored object: `name` the simulator's key (namespace/name outside default), `body`
    the object as written (the server's metadata left out), `created` in cluster seconds."""
    name: str
    body: Obj
    created: float
    generation: int = 1
    resource_version: int = 0


def record_kind(group: str, plural: str) -> str:
    return f"{PREFIX}{group or 'core'}/{plural}"


def subdomain_name(name: str) -> list[Cause]:
    """Most kinds' names are DNS-1123 subdomains (ValidateObjectMeta with NameIsDNSSubdomain)."""
    if not name:
        return [("metadata.name", "Required value: name or generateName is required")]
    if len(name) > 253 or not DNS1123.match(name):
        return [("metadata.name", f'Invalid value: "{name}": {DNS1123_HELP}')]
    return []


def generated(prefix: str, taken: Callable[[str], bool], seed: str) -> str:
    """A name from generateName: the prefix and five characters, as the API server picks them
    (here from a hash, so a seeded simulator names alike; a taken one is skipped)."""
    for attempt in range(100):
        digest = hashlib.sha256(f"{seed}/{attempt}".encode()).digest()
        name = prefix[:58] + "".join(GENERATE_ALPHABET[b % len(GENERATE_ALPHABET)] for b in digest[:5])
        if not taken(name):
            return name
    raise ApiError(500, "InternalError", "could not generate a unique name")


def render(kind: str, api_version: str, record: Record, clock: res.Clockwork, generation: bool,
           namespaced: bool = True) -> Obj:
    """The object as the API answers it: what was written, with the server's metadata."""
    body = copy.deepcopy(record.body)
    written = body.pop("metadata", {}) or {}
    meta: dict[str, Any] = {"name": record.name}
    if namespaced:
        meta["namespace"], meta["name"] = res.split(record.name)
    meta.update({k: v for k, v in written.items() if k not in ("name", "namespace", *SERVER_META)})
    meta.update(uid=res.uid(kind, record.name, record.created), resourceVersion=str(record.resource_version),
                creationTimestamp=clock.stamp(record.created))
    if generation:
        meta["generation"] = record.generation
    return {"kind": kind, "apiVersion": api_version, "metadata": meta, **body}


def stored(kind: str, api_version: str, plural: str, *, namespaced: bool = True,
           prepare: Callable[[Obj, Obj | None], Obj] = lambda body, current: body,
           check: Callable[[str, Obj, Obj | None], list[Cause]] = lambda name, body, current: subdomain_name(name),
           generation: bool = False, status: bool | Obj = False, returns_deleted: bool = False,
           system: Callable[["Storage"], list[Obj]] = lambda store: []) -> dict:
    """The `strategy` and `watch` of a Kind kept as written (see the module's docstring). `system`
    lists objects the cluster's own controllers keep (a namespace's `default` ServiceAccount),
    served beside the stored ones and not changed through the API here. `status` as a dict: the
    status a new object has before its controller writes one (its non-omitempty fields, as
    PrepareForCreate's empty status serializes)."""
    group = api_version.rpartition("/")[0]
    record = record_kind(group, plural)

    def key(namespace: str | None, name: str) -> str:
        return res.key(namespace or res.NAMESPACE, name) if namespaced else name

    def shown(store: Storage, rec: Record) -> Obj:
        return render(kind, api_version, rec, store.clock, generation, namespaced)

    def own(store: Storage, namespace: str | None) -> list[Obj]:
        """The cluster's own objects, but for those made again since (stored as any other)."""
        stored_now = store.items(record)
        return [o for o in system(store) if (namespace is None or o["metadata"].get("namespace") == namespace)
                and key(o["metadata"].get("namespace"), o["metadata"]["name"]) not in stored_now]

    def objects(store: Storage, namespace: str | None) -> list[Obj]:
        found = [shown(store, store.items(record)[k]) for k in store.keys(record, namespace if namespaced else None)]
        extra = own(store, namespace)
        if not extra:
            return found
        return sorted(found + extra, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))

    def get(store: Storage, namespace: str | None, name: str) -> Obj | None:
        found = store.items(record).get(key(namespace, name))
        if found is None:
            return next((o for o in own(store, namespace) if o["metadata"]["name"] == name), None)
        return shown(store, found)

    def kept(store: Storage, namespace: str | None, name: str) -> Record:
        """The stored record of an object that was found: a system one is the cluster's to keep."""
        rec = store.items(record).get(key(namespace, name))
        if rec is None:
            raise ApiError(405, "MethodNotAllowed", f'{plural} "{name}" is kept by the cluster\'s own '
                           "controllers; the simulator does not change it")
        return rec

    def written(body: Obj) -> Obj:
        out = copy.deepcopy({k: v for k, v in body.items() if k not in ("kind", "apiVersion")})
        meta = out.get("metadata") or {}
        out["metadata"] = {k: v for k, v in meta.items() if k not in SERVER_META and v not in (None, {}, [])}
        return out

    def create(store: Storage, namespace: str | None, body: Obj, dry_run: bool) -> Obj:
        meta = body.get("metadata") or {}
        name = meta.get("name") or ""
        if not name and meta.get("generateName"):
            name = generated(meta["generateName"], lambda n: key(namespace, n) in store.items(record),
                             f"{record}/{namespace}/{store.revision()}")
        body = prepare(written({**body, "metadata": {**meta, "name": name}}), None)
        if status:
            body.pop("status", None)
            if isinstance(status, dict):
                body["status"] = copy.deepcopy(status)
        causes = check(name, body, None)
        if causes:
            raise invalid(kind, plural, name, causes)
        if key(namespace, name) in store.items(record) or any(
                o["metadata"]["name"] == name for o in own(store, namespace)):
            raise already_exists(plural, name)
        made = Record(key(namespace, name), body, store.sim.now())
        if dry_run:
            made.resource_version = store.revision()
            return shown(store, made)
        store.sim.api.check()
        store.sim.api.write(record, made)
        return shown(store, made)

    def update(store: Storage, namespace: str | None, name: str, current: Obj, wanted: Obj, dry_run: bool) -> None:
        rec = kept(store, namespace, name)
        body = prepare(written(wanted), current)
        if status:
            body["status"] = copy.deepcopy(rec.body.get("status"))
            if body["status"] is None:
                body.pop("status")
        causes = check(name, body, current)
        if causes:
            raise invalid(kind, plural, name, causes)
        if dry_run:
            return
        store.sim.api.check()
        if generation and body.get("spec") != rec.body.get("spec"):
            rec.generation += 1
        rec.body = body
        store.sim.api.write(record, rec)

    def delete(store: Storage, namespace: str | None, name: str, found: Obj, dry_run: bool) -> Obj:
        """Gone; one the cluster's controllers keep (`system`) is made again at once, a new object with
        a new uid, as they would make it, so `kubectl delete cm --all` succeeds and it stays."""
        store.sim.api.check()
        if not dry_run:
            if key(namespace, name) in store.items(record):
                store.sim.api.remove(record, key(namespace, name))
            again = next((o for o in own(store, namespace) if o["metadata"]["name"] == name), None)
            if again is not None:
                store.sim.api.write(record, Record(key(namespace, name), written(again), store.sim.now()))
        return found if returns_deleted else deleted(plural, name, found["metadata"]["uid"])

    def tombstone(clock: res.Clockwork, rec: Record) -> Obj:
        return render(kind, api_version, rec, clock, generation, namespaced)

    return {"strategy": Strategy(objects=objects, get=get, create=create, update=update, delete=delete,
                                 delete_collection=True),
            "watch": Watch(record=record, tombstone=tombstone)}


def write_status(api, group: str, plural: str, key: str, status: Obj) -> None:
    """A controller's write of a stored object's status (its /status subresource), if it changed;
    `api` is the simulator's API server."""
    rec = api.items(record_kind(group, plural)).get(key)
    if rec is not None and rec.body.get("status") != status:
        rec.body["status"] = status
        api.write(record_kind(group, plural), rec)
