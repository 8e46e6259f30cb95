"""DaemonSets (pkg/registry/apps/daemonset): kube-proxy's, the one every cluster runs.

`kube-system/kube-proxy` runs a pod on every node (controlplane.py serves them), as kubeadm and
minikube run it: why `kubectl drain` wants `--ignore-daemonsets`. Read-only. The table follows
printDaemonSet.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import resources as res
from ..printers import AGE, NAME, TEMPLATE, age, container_cells, format_label_selector, format_labels, parts
from . import READ, REGISTRY, STATUS, Column, Kind, Obj, Strategy
from .controlplane import PROXY_IMAGE, PROXY_LABELS

if TYPE_CHECKING:
    from ..rest import Storage


def daemon_sets(sim, clock: res.Clockwork) -> list[dict]:
    """`kube-system/kube-proxy`: one pod on every node, as kubeadm and minikube run it. It is why
    `kubectl drain` wants `--ignore-daemonsets` (a DaemonSet's pod would only come back)."""
    nodes = list(sim.api.items("nodes").values())
    ready = sum(1 for n in nodes if n.up and n.ready)
    template = {"metadata": {"labels": PROXY_LABELS},
                "spec": {"containers": [{"name": "kube-proxy", "image": PROXY_IMAGE}],
                         "nodeSelector": {"kubernetes.io/os": "linux"}, "hostNetwork": True,
                         "priorityClassName": "system-node-critical"}}
    return [{"kind": "DaemonSet", "apiVersion": "apps/v1",
             "metadata": {**res.meta("DaemonSet", res.key("kube-system", "kube-proxy"), 1, 0.0, clock,
                                     labels=PROXY_LABELS), "generation": 1},
             "spec": {"selector": {"matchLabels": PROXY_LABELS}, "template": template,
                      "updateStrategy": {"type": "RollingUpdate",
                                         "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}},
             "status": {"desiredNumberScheduled": len(nodes), "currentNumberScheduled": len(nodes),
                        "numberReady": ready, "updatedNumberScheduled": len(nodes), "numberAvailable": ready,
                        "numberUnavailable": len(nodes) - ready or None, "numberMisscheduled": 0,
                        "observedGeneration": 1}}]


def objects(store: Storage, namespace: str | None) -> list[Obj]:
    return [o for o in daemon_sets(store.sim, store.clock) if namespace in (None, o["metadata"]["namespace"])]


def daemonset_row(ds: Obj, now: float) -> list:
    """Follows printDaemonSet: Name, Desired, Current, Ready, Up-to-date, Available, Node Selector, Age |
    Containers, Images, Selector."""
    meta, spec, status = parts(ds)
    template = spec.get("template") or {}
    return [meta.get("name", ""), status.get("desiredNumberScheduled", 0), status.get("currentNumberScheduled", 0),
            status.get("numberReady", 0), status.get("updatedNumberScheduled", 0), status.get("numberAvailable", 0),
            format_labels((template.get("spec") or {}).get("nodeSelector")), age(ds, now),
            *container_cells(template), format_label_selector(spec.get("selector"))]


DAEMON_SET = REGISTRY.add(Kind(
    group="apps", version="v1", plural="daemonsets", kind="DaemonSet", namespaced=True, verbs=READ, short=("ds",),
    subresources=(STATUS,), categories=("all",), schema="io.k8s.api.apps.v1.DaemonSet",
    columns=(NAME,
             Column("Desired", "integer", "Nodes that should run the daemon pod (status.desiredNumberScheduled)."),
             Column("Current", "integer", "Nodes running at least one daemon pod (status.currentNumberScheduled)."),
             Column("Ready", "integer", "Nodes whose daemon pod is ready (status.numberReady)."),
             Column("Up-to-date", "integer", "Nodes running the updated daemon pod (status.updatedNumberScheduled)."),
             Column("Available", "integer", "Nodes whose daemon pod is available (status.numberAvailable)."),
             Column("Node Selector", "string", "The pods' nodeSelector."),
             AGE, *TEMPLATE, Column("Selector", "string", "Label selector for the daemon set's pods.", 1)),
    row=daemonset_row, strategy=Strategy(objects=objects)))
