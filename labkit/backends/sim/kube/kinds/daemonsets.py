"""DaemonSets (pkg/registry/apps/daemonset): a pod on every node, kept as written (kinds/stored.py).

`kube-system/kube-proxy` is the cluster's own: it runs a pod on every node (controlplane.py serves
them), as kubeadm and minikube run it, which is why `kubectl drain` wants `--ignore-daemonsets`; it
is served beside the stored ones and not changed through the API. Any other DaemonSet a client
writes, and the DaemonSet controller (labkit/backends/sim/daemonsets.py) runs it. What the API
server does to one, as upstream does it:
- defaults (pkg/apis/apps/v1/defaults.go SetDefaults_DaemonSet): updateStrategy RollingUpdate with
  maxUnavailable 1 and maxSurge 0, revisionHistoryLimit 10, the pod template's defaults (kinds/apps.py);
- validation (pkg/apis/apps/validation/validation.go ValidateDaemonSet, ValidateDaemonSetUpdate): the
  name a DNS-1123 subdomain, the selector and template (kinds/apps.py), the update strategy (maxSurge
  and maxUnavailable not both 0), minReadySeconds not negative; the selector is immutable;
- a `status` subresource: the status is the controller's, kept across client writes.
The table follows printDaemonSet.
"""
from __future__ import annotations

from .. import resources as res
from ..printers import AGE, NAME, TEMPLATE, age, container_cells, format_label_selector, format_labels, parts
from . import ALL, REGISTRY, STATUS, Cause, Column, Kind, Obj
from .apps import check_strategy, check_template, nonnegative, with_template_defaults
from .controlplane import PROXY_IMAGE, PROXY_LABELS
from .jobs import go_selector
from .stored import stored, subdomain_name


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


def daemonset_spec_defaults(spec: dict) -> dict:
    spec = with_template_defaults(spec)
    if not isinstance(spec, dict):
        return spec
    strategy = spec["updateStrategy"] = dict(spec.get("updateStrategy") or {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy["rollingUpdate"] = dict(strategy.get("rollingUpdate") or {})
        rolling.setdefault("maxUnavailable", 1)
        rolling.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    return spec


def prepare(body: Obj, current: Obj | None) -> Obj:
    body["spec"] = daemonset_spec_defaults(body.get("spec") or {})
    return body


def zero(value: object) -> bool:
    return value in (0, "0%", None)


def check(name: str, body: Obj, current: Obj | None) -> list[Cause]:
    spec = body.get("spec") or {}
    strategy = spec.get("updateStrategy") or {}
    causes = subdomain_name(name) + check_template(spec, "daemonset") + check_strategy(strategy)
    causes += nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds")
    causes += nonnegative(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit")
    rolling = strategy.get("rollingUpdate") or {}
    if strategy.get("type") == "RollingUpdate" and zero(rolling.get("maxUnavailable")) and \
            zero(rolling.get("maxSurge")):
        causes.append(("spec.updateStrategy.rollingUpdate.maxUnavailable",
                       f"Invalid value: {rolling.get('maxUnavailable')}: may not be 0 when maxSurge is 0"))
    if current is not None and spec.get("selector") != (current.get("spec") or {}).get("selector"):
        causes.append(("spec.selector", f"Invalid value: {go_selector(spec.get('selector'))}: field is immutable"))
    return causes


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
    group="apps", version="v1", plural="daemonsets", kind="DaemonSet", namespaced=True, verbs=ALL, short=("ds",),
    subresources=(STATUS,), categories=("all",), schema="io.k8s.api.apps.v1.DaemonSet",
    columns=(NAME,
             Column("Desired", "integer", "Nodes that should run the daemon pod (status.desiredNumberScheduled)."),
             Column("Current", "integer", "Nodes running at least one daemon pod (status.currentNumberScheduled)."),
             Column("Ready", "integer", "Nodes whose daemon pod is ready (status.numberReady)."),
             Column("Up-to-date", "integer", "Nodes running the updated daemon pod (status.updatedNumberScheduled)."),
             Column("Available", "integer", "Nodes whose daemon pod is available (status.numberAvailable)."),
             Column("Node Selector", "string", "The pods' nodeSelector."),
             AGE, *TEMPLATE, Column("Selector", "string", "Label selector for the daemon set's pods.", 1)),
    row=daemonset_row,
    **stored("DaemonSet", "apps/v1", "daemonsets", prepare=prepare, check=check, generation=True,
             status={"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0,
                     "numberReady": 0},
             system=lambda store: daemon_sets(store.sim, store.clock))))
