"""ReplicaSets (pkg/registry/apps/replicaset): the deployments' replica sets, read-only through the API.

The simulator's deployment controller makes and scales them; a client reads them (`kubectl get
rs`, `describe`, `rollout history`). Discovery lists every verb, as the real server does; the
simulator does not create, change or delete them yet, and says so (405). Their status counts
their pods, so they change with any write. The table follows printReplicaSet.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...controllers import Counts
from ...objects import Deployment, ReplicaSet
from .. import resources as res
from ..printers import AGE, NAME, TEMPLATE, age, container_cells, format_label_selector, parts, replicas
from ..resources import Clockwork, container_name, meta, owner_reference, short, template_meta, template_spec
from . import ALL, REGISTRY, SCALE, STATUS, Column, Kind, Obj, Strategy, Watch

if TYPE_CHECKING:
    from ..rest import Storage


def render(rs: ReplicaSet, counts: Counts, d: Deployment | None, clock: Clockwork, created: float = 0.0) -> dict:
    """`counts`: its pods, counted (ReplicaSetController.counts)."""
    hash_ = rs.name.rsplit("-", 1)[-1]
    labels = {**(d.selector if d is not None else {"app": short(rs.owner)}), "pod-template-hash": hash_}
    owner = [owner_reference("apps/v1", "Deployment", d.name, d.created)] if d is not None else None
    annotations = {"deployment.kubernetes.io/revision": str(rs.revision)}
    if d is not None:
        annotations["deployment.kubernetes.io/desired-replicas"] = str(d.replicas)
    status: dict = {"replicas": counts.active, "observedGeneration": rs.generation,
                    "fullyLabeledReplicas": counts.active}
    if counts.ready:
        status["readyReplicas"] = counts.ready
    if counts.available:
        status["availableReplicas"] = counts.available
    name = container_name(d) if d is not None else short(rs.owner)
    return {"kind": "ReplicaSet", "apiVersion": "apps/v1",
            "metadata": meta("ReplicaSet", rs.name, rs.resource_version, created, clock, labels=labels,
                             annotations=annotations, ownerReferences=owner, generation=rs.generation),
            "spec": {"replicas": rs.replicas, "selector": {"matchLabels": dict(labels)},
                     "template": {"metadata": template_meta(dict(labels), rs.template),
                                  "spec": template_spec(rs.template.image, name, rs.template.probe, rs.template.spec)}},
            "status": status}


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
    subresources=(STATUS, SCALE), categories=("all",), schema="io.k8s.api.apps.v1.ReplicaSet",
    columns=(NAME, Column("Desired", "integer", "Desired number of pods (spec.replicas)."),
             Column("Current", "integer", "Most recently observed number of pods (status.replicas)."),
             Column("Ready", "integer", "Pods whose Ready condition is true (status.readyReplicas)."),
             AGE, *TEMPLATE, Column("Selector", "string", "Label selector for the replica set's pods.", 1)),
    row=replicaset_row, watch=Watch(record="replicasets", follows=_follows),
    strategy=Strategy(objects=objects, get=get)))
