"""StatefulSets (pkg/registry/apps/statefulset): pods with names of their own, kept as written (kinds/stored.py).

What the API server does to one, as upstream does it:
- defaults (pkg/apis/apps/v1/defaults.go SetDefaults_StatefulSet): replicas 1, podManagementPolicy
  OrderedReady, updateStrategy RollingUpdate with partition 0, revisionHistoryLimit 10,
  persistentVolumeClaimRetentionPolicy Retain/Retain; each volumeClaimTemplate's volumeMode
  Filesystem; the pod template's defaults (kinds/apps.py);
- validation (pkg/apis/apps/validation/validation.go ValidateStatefulSet, ValidateStatefulSetUpdate):
  the name a DNS-1123 subdomain, the selector and template (kinds/apps.py), replicas and partition not
  negative, podManagementPolicy OrderedReady or Parallel, updateStrategy RollingUpdate or OnDelete;
  after create only replicas, ordinals, template, updateStrategy, revisionHistoryLimit,
  persistentVolumeClaimRetentionPolicy and minReadySeconds may change;
- `scale` (ScaleREST: `kubectl scale statefulset`) and `status` subresources; the status is the
  StatefulSet controller's (labkit/backends/sim/statefulsets.py), kept across client writes.
Its table follows printStatefulSet (pkg/printers/internalversion/printers.go): Name, Ready, Age |
Containers, Images.
"""
from __future__ import annotations

import copy
from dataclasses import replace

from ..printers import AGE, NAME, TEMPLATE, age, container_cells, parts, replicas
from . import ALL, REGISTRY, SCALE, STATUS, Cause, Column, Kind, Obj
from .apps import check_strategy, check_template, nonnegative, scale_handlers, with_template_defaults
from .common import check_cap, check_int32
from .stored import stored, subdomain_name

POLICIES = ("OrderedReady", "Parallel")
MAY_CHANGE = ("replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit",
              "persistentVolumeClaimRetentionPolicy", "minReadySeconds")
FORBIDDEN = ("Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
             "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and "
             "'minReadySeconds' are forbidden")


def statefulset_spec_defaults(spec: dict) -> dict:
    spec = with_template_defaults(spec)
    if not isinstance(spec, dict):
        return spec
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = spec["updateStrategy"] = dict(spec.get("updateStrategy") or {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy["rollingUpdate"] = dict(strategy.get("rollingUpdate") or {})
        rolling.setdefault("partition", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    retention = spec["persistentVolumeClaimRetentionPolicy"] = dict(spec.get("persistentVolumeClaimRetentionPolicy")
                                                                     or {})
    retention.setdefault("whenDeleted", "Retain")
    retention.setdefault("whenScaled", "Retain")
    claims = []
    for claim in spec.get("volumeClaimTemplates") or []:
        if isinstance(claim, dict):
            claim = copy.deepcopy(claim)
            claim["spec"] = {"volumeMode": "Filesystem", **(claim.get("spec") or {})}
        claims.append(claim)
    if claims:
        spec["volumeClaimTemplates"] = claims
    return spec


def prepare(body: Obj, current: Obj | None) -> Obj:
    body["spec"] = statefulset_spec_defaults(body.get("spec") or {})
    return body


def check(name: str, body: Obj, current: Obj | None) -> list[Cause]:
    spec = body.get("spec") or {}
    check_int32("StatefulSet", "StatefulSetSpec", spec.get("replicas"))
    check_cap(None, "statefulsets", name, spec.get("replicas"))
    causes = subdomain_name(name) + nonnegative(spec.get("replicas"), "spec.replicas")
    policy = spec.get("podManagementPolicy")
    if policy not in POLICIES:
        causes.append(("spec.podManagementPolicy", f'Unsupported value: "{policy}": supported values: '
                       '"OrderedReady", "Parallel"'))
    strategy = spec.get("updateStrategy") or {}
    causes += check_strategy(strategy)
    causes += nonnegative((strategy.get("rollingUpdate") or {}).get("partition"),
                          "spec.updateStrategy.rollingUpdate.partition")
    causes += nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds")
    causes += nonnegative(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit")
    causes += check_template(spec, "statefulset")
    if current is not None:
        old = current.get("spec") or {}
        fixed = {k: v for k, v in spec.items() if k not in MAY_CHANGE}
        if fixed != {k: v for k, v in old.items() if k not in MAY_CHANGE}:
            causes.append(("spec", FORBIDDEN))
    return causes


def statefulset_row(sts: Obj, now: float) -> list:
    """Follows printStatefulSet: Name, Ready, Age | Containers, Images."""
    meta, spec, status = parts(sts)
    return [meta.get("name", ""), f"{status.get('readyReplicas', 0)}/{replicas(spec)}", age(sts, now),
            *container_cells(spec.get("template"))]


STATEFULSET = REGISTRY.add(Kind(
    group="apps", version="v1", plural="statefulsets", kind="StatefulSet", namespaced=True, verbs=ALL,
    short=("sts",), categories=("all",), schema="io.k8s.api.apps.v1.StatefulSet",
    subresources=(STATUS, replace(SCALE, handlers=scale_handlers("statefulsets", "apps"))),
    columns=(NAME, Column("Ready", "string", "Number of the pod with ready state"), AGE, *TEMPLATE),
    row=statefulset_row,
    **stored("StatefulSet", "apps/v1", "statefulsets", prepare=prepare, check=check, generation=True,
             status={"replicas": 0, "availableReplicas": 0})))
