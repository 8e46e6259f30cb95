"""ReplicaSets (pkg/registry/apps/replicaset): the deployments' replica sets, and a client's own.

The simulator's deployment controller makes and scales its sets; a client reads them (`kubectl get
rs`, `describe`, `rollout history`). A client may also make a ReplicaSet itself (the ReplicaSet page
of kubernetes.io's concepts does, `kubectl apply -f frontend.yaml`): the replica set controller then
keeps its pods, named `<set>-<5 letters>` and labelled as its template says (no pod-template-hash:
only the deployment controller adds one), `kubectl scale rs` changes its count, a change of its
template reaches only the pods made after it (as upstream: a ReplicaSet does not roll), its selector
is immutable (apps/v1) and a delete takes its pods with it (the garbage collector's background
propagation). A change to a deployment's own set is the deployment controller's to undo, as on a
real cluster. Their status counts their pods, so they change with any write. The table follows
printReplicaSet.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dataclasses import replace

from ...controllers import Counts, delete_pod
from ...objects import Deployment, ReplicaSet, Template
from .. import resources as res
from ..printers import AGE, NAME, TEMPLATE, age, container_cells, format_label_selector, parts, replicas
from ..resources import Clockwork, container_name, meta, owner_reference, short, template_meta, template_spec
from ..status import invalid
from . import ALL, REGISTRY, SCALE, STATUS, Cause, Column, Kind, Obj, Strategy, Watch
from .common import already_exists, check_cap, check_kind, deleted, user_annotations, written_template
from .apps import scale_handlers
from .deployments import go_map, validate_deployment

if TYPE_CHECKING:
    from ..rest import Storage


def render(rs: ReplicaSet, counts: Counts, d: Deployment | None, clock: Clockwork, created: float = 0.0) -> dict:
    """`counts`: its pods, counted (ReplicaSetController.counts)."""
    if rs.written is not None:
        return _render_own(rs, counts, clock)
    hash_ = rs.name.rsplit("-", 1)[-1]
    labels = {**(d.selector if d is not None else {"app": short(rs.owner)}), "pod-template-hash": hash_}
    owner = [owner_reference("apps/v1", "Deployment", d.name, d.created)] if d is not None else None
    annotations = {"deployment.kubernetes.io/revision": str(rs.revision)}
    if d is not None:
        annotations["deployment.kubernetes.io/desired-replicas"] = str(d.replicas)
    name = container_name(d) if d is not None else short(rs.owner)
    return {"kind": "ReplicaSet", "apiVersion": "apps/v1",
            "metadata": meta("ReplicaSet", rs.name, rs.resource_version, created, clock, labels=labels,
                             annotations=annotations, ownerReferences=owner, generation=rs.generation),
            "spec": {"replicas": rs.replicas, "selector": {"matchLabels": dict(labels)},
                     "template": {"metadata": template_meta(dict(labels), rs.template),
                                  "spec": template_spec(rs.template.image, name, rs.template.probe, rs.template.spec,
                                                        rs.template.pre_stop)}},
            "status": _status(rs, counts)}


def _render_own(rs: ReplicaSet, counts: Counts, clock: Clockwork) -> dict:
    """A replica set a client made: its metadata and selector as written."""
    written = rs.written or {}
    spec: dict = {"replicas": rs.replicas, "selector": written["selector"],
                  "template": {"metadata": template_meta({}, rs.template),
                               "spec": template_spec(rs.template.image, "", None, rs.template.spec)}}
    if written.get("min_ready"):
        spec["minReadySeconds"] = written["min_ready"]
    return {"kind": "ReplicaSet", "apiVersion": "apps/v1",
            "metadata": meta("ReplicaSet", rs.name, rs.resource_version, written["created"], clock,
                             labels=written["labels"], annotations=written["annotations"] or None,
                             generation=rs.generation),
            "spec": spec, "status": _status(rs, counts)}


def _status(rs: ReplicaSet, counts: Counts) -> dict:
    status: dict = {"replicas": counts.active, "observedGeneration": rs.generation,
                    "fullyLabeledReplicas": counts.active}
    if counts.ready:
        status["readyReplicas"] = counts.ready
    if counts.available:
        status["availableReplicas"] = counts.available
    return status


def rendered(store: Storage, key: str) -> Obj:
    """The replica set `key` (the simulator's name) as JSON, rendered again after any write (its status counts pods)."""
    return store.rendered("replicasets", key, (store.sim.store.revision,), _render)


def _render(store: Storage, key: str) -> dict:
    rs = store.items("replicasets")[key]
    d = store.items("deployments").get(rs.owner)
    return render(rs, store.sim.replicasets.counts(key), d, store.clock, d.created if d else 0.0)


def objects(store: Storage, namespace: str | None) -> list[Obj]:
    return [rendered(store, key) for key in store.keys("replicasets", namespace)]


def get(store: Storage, namespace: str | None, name: str) -> Obj | None:
    key = res.key(namespace or res.NAMESPACE, name)
    return None if namespace is None or key not in store.items("replicasets") else rendered(store, key)


# -- a client's own replica sets --------------------------------------------------------------
def validate(name: str, body: Obj) -> list[Cause]:
    """ValidateReplicaSetSpec: the counts, a selector its template's labels match, a template with
    containers; restartPolicy Always (a ReplicaSet's pods are never done)."""
    spec = body.get("spec") or {}
    kept = {k: spec[k] for k in ("replicas", "minReadySeconds", "selector", "template") if k in spec}
    causes = validate_deployment(name, kept)
    policy = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy", "Always")
    if policy != "Always":
        causes.append(("spec.template.spec.restartPolicy",
                       f'Unsupported value: "{policy}": supported values: "Always"'))
    return causes


def create(store: Storage, namespace: str, body: Obj, dry_run: bool) -> Obj:
    meta_ = body.get("metadata") or {}
    name, spec = meta_.get("name") or "", body.get("spec") or {}
    key = res.key(namespace, name)
    replicas_ = spec.get("replicas", 1)
    check_cap(store.sim, "replicasets", name, replicas_)
    if key in store.items("replicasets"):
        raise already_exists("replicasets", name)
    if dry_run:
        return body
    image = spec["template"]["spec"]["containers"][0]["image"]
    rs = ReplicaSet(key, "", replicas_, Template(image).copy(**written_template(spec)), 0)
    rs.written = {"created": store.sim.clock.now, "min_ready": spec.get("minReadySeconds", 0),
                  "selector": spec["selector"], "labels": dict(meta_.get("labels") or {}),
                  "annotations": user_annotations(body)}
    store.sim.api.write("replicasets", rs)
    return rendered(store, key)


def update(store: Storage, namespace: str, name: str, current: Obj, wanted: Obj, dry_run: bool) -> None:
    """Its count, template (for the pods made from now on), labels and annotations; the selector stays."""
    check_kind(wanted, "ReplicaSet", "apps/v1")
    spec = wanted.get("spec") or {}
    causes = validate(name, wanted)
    if spec.get("selector") != current["spec"]["selector"]:
        causes.append(("spec.selector", f"Invalid value: {go_map(spec.get('selector'))}: field is immutable"))
    if causes:
        raise invalid("ReplicaSet", "replicasets", name, causes)
    check_cap(store.sim, "replicasets", name, spec.get("replicas", 1))
    if dry_run:
        return
    rs = store.items("replicasets")[res.key(namespace, name)]
    if rs.written is not None:
        image = spec["template"]["spec"]["containers"][0]["image"]
        rs.template = rs.template.copy(image=image, **written_template(spec))
        meta_ = wanted.get("metadata") or {}
        rs.written.update(labels=dict(meta_.get("labels") or {}), annotations=user_annotations(wanted),
                          min_ready=spec.get("minReadySeconds", 0))
    rs.replicas = spec.get("replicas", 1)
    store.sim.api.write("replicasets", rs)


def delete(store: Storage, namespace: str, name: str, found: Obj, dry_run: bool) -> Obj:
    """The garbage collector's background propagation: the set goes, then its pods."""
    key = res.key(namespace, name)
    if not dry_run:
        pods = [p for p in store.items("pods").values() if p.owner == key]
        store.sim.api.remove("replicasets", key)
        for pod in pods:
            delete_pod(store.sim.api, pod, source="garbage-collector")
    return deleted("replicasets", name, found["metadata"]["uid"])


# k8s.io/api/apps/v1 generated.proto: what a client sends as protobuf (the status is the server's)
MESSAGES = {"ReplicaSet": {1: ("metadata", "ObjectMeta"), 2: ("spec", "ReplicaSetSpec"), 3: ("status", "Unread")},
            "ReplicaSetSpec": {1: ("replicas", "*int32"), 4: ("minReadySeconds", "int32"),
                               2: ("selector", "LabelSelector"), 3: ("template", "PodTemplateSpec")}}


def replicaset_row(rs: Obj, now: float) -> list:
    """Follows printReplicaSet: Name, Desired, Current, Ready, Age | Containers, Images, Selector."""
    meta, spec, status = parts(rs)
    return [meta.get("name", ""), replicas(spec), status.get("replicas", 0), status.get("readyReplicas", 0),
            age(rs, now), *container_cells(spec.get("template")), format_label_selector(spec.get("selector"))]


def _follows(changed: str, record: Any) -> str | None:
    """The replica set controller counts pods without a write: a pod's change is its replica set's."""
    return record.owner if changed == "pods" and record.owner else None


REPLICASET = REGISTRY.add(Kind(
    group="apps", version="v1", plural="replicasets", kind="ReplicaSet", namespaced=True, verbs=ALL, short=("rs",),
    subresources=(STATUS, replace(SCALE, handlers=scale_handlers("replicasets", "apps"))),
    categories=("all",), schema="io.k8s.api.apps.v1.ReplicaSet", protobuf="ReplicaSet", messages=MESSAGES,
    columns=(NAME, Column("Desired", "integer", "Desired number of pods (spec.replicas)."),
             Column("Current", "integer", "Most recently observed number of pods (status.replicas)."),
             Column("Ready", "integer", "Pods whose Ready condition is true (status.readyReplicas)."),
             AGE, *TEMPLATE, Column("Selector", "string", "Label selector for the replica set's pods.", 1)),
    row=replicaset_row, watch=Watch(record="replicasets", follows=_follows),
    strategy=Strategy(objects=objects, get=get, validate=validate, create=create, update=update, delete=delete)))
