"""What the apps/v1 kinds kept as written share (kinds/statefulsets.py, kinds/daemonsets.py): the pod
template's defaults and rules, the selector's rules, and the `scale` subresource of a stored kind.

Sources: pkg/apis/apps/validation/validation.go (ValidateStatefulSetSpec, ValidateDaemonSetSpec:
the selector must be given, not empty, and match the template's labels; the template's
restartPolicy must be Always; at least one container), pkg/apis/core/v1/defaults.go (the pod
template's defaults, as kinds/batch.py applies them), and pkg/registry/apps/statefulset/storage
(ScaleREST: the Scale's spec.replicas is the set's, its status.selector the set's selector).
"""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .. import validation
from ..printers import selector_string
from ..status import ApiError, invalid
from . import Call, Cause, Obj
from .batch import pod_template_defaults
from .common import check_int32, selects
from .jobs import go_map, go_selector

if TYPE_CHECKING:
    from ..rest import Storage


def with_template_defaults(spec: Any) -> Any:
    """The spec with its pod template's defaults (restartPolicy Always, imagePullPolicy, ...)."""
    if not isinstance(spec, dict):
        return spec
    spec = dict(spec)
    if "template" in spec:
        spec["template"] = pod_template_defaults(spec["template"])
    return spec


def check_template(spec: Obj, kind: str) -> list[Cause]:
    """The selector and the pod template, as ValidateStatefulSetSpec and ValidateDaemonSetSpec check them."""
    causes: list[Cause] = []
    selector = spec.get("selector")
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if selector is None:
        causes.append(("spec.selector", "Required value"))
    elif not (selector.get("matchLabels") or selector.get("matchExpressions")):
        causes.append(("spec.selector", f"Invalid value: {go_selector(selector)}: empty selector is invalid for "
                       f"{kind}"))
    elif not selects(selector, labels):
        causes.append(("spec.template.metadata.labels",
                       f"Invalid value: {go_map(labels)}: `selector` does not match template `labels`"))
    causes += validation.labels(labels or None, "spec.template.metadata.labels")
    pod = template.get("spec") if isinstance(template.get("spec"), dict) else {}
    containers = pod.get("containers") or []
    if not containers:
        causes.append(("spec.template.spec.containers", "Required value"))
    for i, c in enumerate(containers):
        if isinstance(c, dict) and not c.get("name"):
            causes.append((f"spec.template.spec.containers[{i}].name", "Required value"))
        if isinstance(c, dict) and not c.get("image"):
            causes.append((f"spec.template.spec.containers[{i}].image", "Required value"))
        if isinstance(c, dict) and c.get("readinessProbe") is not None:
            causes += validation.probe(c["readinessProbe"], f"spec.template.spec.containers[{i}].readinessProbe")
    policy = pod.get("restartPolicy") or "Always"
    if policy != "Always":
        causes.append(("spec.template.spec.restartPolicy", f'Unsupported value: "{policy}": supported values: '
                       '"Always"'))
    return causes


def check_strategy(strategy: Any, path: str = "spec.updateStrategy") -> list[Cause]:
    """The update strategy's type (RollingUpdate or OnDelete)."""
    if not isinstance(strategy, dict):
        return []
    kind = strategy.get("type")
    if kind not in ("RollingUpdate", "OnDelete"):
        return [(f"{path}.type", f'Unsupported value: "{kind}": supported values: "OnDelete", "RollingUpdate"')]
    if kind == "OnDelete" and strategy.get("rollingUpdate") is not None:
        return [(f"{path}.rollingUpdate", "Invalid value: \"\": only allowed for updateStrategy 'RollingUpdate'")]
    return []


def nonnegative(value: Any, path: str) -> list[Cause]:
    return [(path, f"Invalid value: {value}: must be greater than or equal to 0")] \
        if isinstance(value, int) and value < 0 else []


# -- the scale subresource of a stored kind ------------------------------------------------------
def scale_of(obj: Obj) -> Obj:
    """The autoscaling/v1 Scale of a StatefulSet (ScaleREST.Get)."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: obj["metadata"][k] for k in ("name", "namespace", "uid", "resourceVersion",
                                                        "creationTimestamp") if k in obj["metadata"]},
            "spec": {"replicas": spec.get("replicas", 1)},
            "status": {"replicas": status.get("replicas", 0), "selector": selector_string(spec.get("selector")) or ""}}


def scale_handlers(plural: str, group: str) -> dict:
    """GET, PUT and PATCH of `<plural>/scale`: a write sets spec.replicas, through the kind's own update."""
    def read(store: Storage, call: Call) -> tuple[int, Obj]:
        return 200, scale_of(store.get(plural, call.namespace, call.name, group=group))

    def write(store: Storage, call: Call) -> tuple[int, Obj]:
        obj = store.get(plural, call.namespace, call.name, group=group)
        current = scale_of(obj)
        wanted = call.wanted(current)
        if call.patch is None and (wanted.get("metadata") or {}).get("resourceVersion") not in (
                None, current["metadata"]["resourceVersion"]):
            raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {plural}.{group} "{call.name}": the '
                           "object has been modified; please apply your changes to the latest version and try again")
        replicas = (wanted.get("spec") or {}).get("replicas")
        check_int32("Scale", "ScaleSpec", replicas)
        if not isinstance(replicas, int) or replicas < 0:
            raise invalid("Scale", plural, call.name,
                          [("spec.replicas", f"Invalid value: {replicas}: must be greater than or equal to 0")])
        body = copy.deepcopy(obj)
        body["spec"]["replicas"] = replicas
        done = store.replace(plural, call.namespace, call.name, body, call.dry_run, check_version=False, group=group)
        return 200, scale_of(done)

    return {"GET": read, "PUT": write, "PATCH": write}
