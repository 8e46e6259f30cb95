"""HorizontalPodAutoscalers (pkg/registry/autoscaling/horizontalpodautoscaler), autoscaling/v2, kept as written.

The spec is the client's; the status is the HPA controller's (labkit/backends/sim/autoscaler.py),
which keeps it through the status subresource. Defaults follow SetDefaults_HorizontalPodAutoscaler
(pkg/apis/autoscaling/v2/defaults.go): minReplicas 1, no metrics -> 80% average CPU utilization, a
behavior that is set gets the default rules for what it leaves out. Validation follows
pkg/apis/autoscaling/validation (ValidateHorizontalPodAutoscaler): minReplicas >= 1, maxReplicas
>= 1 and >= minReplicas, scaleTargetRef's kind and name, each metric's type and its one source,
targets and behavior rules. The table follows printHorizontalPodAutoscaler: Name, Reference,
Targets ("cpu: 12%/50%", "cpu: <unknown>/50%" before the first metrics), MinPods, MaxPods,
Replicas, Age.

`kubectl autoscale` (v1.37) sends autoscaling/v2 as protobuf (and tries autoscaling/v1 only when
v2 fails): the messages below are autoscaling/v2's, field numbers from kubernetes/api
autoscaling/v2/generated.proto at 3fecd54e66d608d8b6b563957348affe87eb2f17 (the staging copy
of staging/src/k8s.io/api/autoscaling/v2).
"""
from __future__ import annotations

import copy
import re
from dataclasses import replace
from typing import TYPE_CHECKING

from ..printers import AGE, NAME, age, parts
from ..resources import Clockwork
from . import ALL, REGISTRY, STATUS, Cause, Column, Kind, Obj
from .stored import stored, subdomain_name

if TYPE_CHECKING:
    from ..rest import Storage

GROUP, VERSION, PLURAL = "autoscaling", "v2", "horizontalpodautoscalers"
DEFAULT_CPU_UTILIZATION = 80  # autoscaling.DefaultCPUUtilization
METRIC_TYPES = ("ContainerResource", "External", "Object", "Pods", "Resource")
SOURCE_FIELD = {"ContainerResource": "containerResource", "External": "external", "Object": "object",
                "Pods": "pods", "Resource": "resource"}
TARGET_TYPES = ("AverageValue", "Utilization", "Value")
SELECT_POLICIES = ("Disabled", "Max", "Min")
POLICY_TYPES = ("Percent", "Pods")
MAX_WINDOW, MAX_PERIOD = 3600, 1800
QUANTITY_NUMBER = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")


def scale_up_rules(rules: Obj | None) -> Obj:
    """GenerateHPAScaleUpRules: no stabilization; at most 4 pods or double, each 15 s; the larger."""
    rules = dict(rules or {})
    rules.setdefault("stabilizationWindowSeconds", 0)
    rules.setdefault("selectPolicy", "Max")
    rules.setdefault("policies", [{"type": "Pods", "value": 4, "periodSeconds": 15},
                                  {"type": "Percent", "value": 100, "periodSeconds": 15}])
    return rules


def scale_down_rules(rules: Obj | None) -> Obj:
    """GenerateHPAScaleDownRules: the highest recommendation of the last 300 s; all pods may go in 15 s."""
    rules = dict(rules or {})
    rules.setdefault("stabilizationWindowSeconds", 300)
    rules.setdefault("selectPolicy", "Max")
    rules.setdefault("policies", [{"type": "Percent", "value": 100, "periodSeconds": 15}])
    return rules


def prepare(body: Obj, current: Obj | None) -> Obj:
    """SetDefaults_HorizontalPodAutoscaler (v2)."""
    spec = body.setdefault("spec", {})
    if not isinstance(spec, dict):
        return body
    if spec.get("minReplicas") is None:
        spec["minReplicas"] = 1
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}}}]
    if isinstance(spec.get("behavior"), dict):
        behavior = spec["behavior"]
        behavior["scaleUp"] = scale_up_rules(behavior.get("scaleUp"))
        behavior["scaleDown"] = scale_down_rules(behavior.get("scaleDown"))
    return body


# -- validation (pkg/apis/autoscaling/validation) -------------------------------------------------
def check(name: str, body: Obj, current: Obj | None) -> list[Cause]:
    spec = body.get("spec") or {}
    return subdomain_name(name) + check_spec(spec)


def check_spec(spec: Obj) -> list[Cause]:
    causes: list[Cause] = []
    low, high = spec.get("minReplicas"), spec.get("maxReplicas")
    if isinstance(low, int) and low < 1:
        causes.append(("spec.minReplicas", f"Invalid value: {low}: must be greater than or equal to 1"))
    if not isinstance(high, int) or high < 1:
        causes.append(("spec.maxReplicas", f"Invalid value: {high or 0}: must be greater than 0"))
    elif isinstance(low, int) and high < low:
        causes.append(("spec.maxReplicas", f"Invalid value: {high}: must be greater than or equal to `minReplicas`"))
    causes += check_reference(spec.get("scaleTargetRef") or {}, "spec.scaleTargetRef")
    for i, metric in enumerate(spec.get("metrics") or []):
        causes += check_metric(metric if isinstance(metric, dict) else {}, f"spec.metrics[{i}]")
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        for way in ("scaleUp", "scaleDown"):
            causes += check_rules(behavior.get(way) or {}, f"spec.behavior.{way}")
    return causes


def check_reference(ref: Obj, path: str) -> list[Cause]:
    """ValidateCrossVersionObjectReference: a kind and a name, each a path segment (IsValidPathSegmentName)."""
    causes: list[Cause] = []
    for key in ("kind", "name"):
        value = ref.get(key) or ""
        if not value:
            causes.append((f"{path}.{key}", "Required value"))
            continue
        causes += [(f"{path}.{key}", f'Invalid value: "{value}": {m}') for m in path_segment(value)]
    return causes


def path_segment(value: str) -> list[str]:
    """What makes a name no path segment: "." or "..", a "/" or a "%" (path.ValidatePathSegmentName)."""
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{c}'" for c in "/%" if c in value]


def check_metric(metric: Obj, path: str) -> list[Cause]:
    """validateMetricSpec: a known type, the one source it names, that source's target."""
    kind = metric.get("type") or ""
    causes: list[Cause] = []
    if not kind:
        causes.append((f"{path}.type", "Required value: must specify a metric source type"))
    if kind not in METRIC_TYPES:
        causes.append((f"{path}.type", f'Unsupported value: "{kind}": supported values: '
                       + ", ".join(f'"{t}"' for t in METRIC_TYPES)))
    present = [field for field in SOURCE_FIELD.values() if metric.get(field) is not None]
    expected = SOURCE_FIELD.get(kind)
    if expected is not None and expected not in present:
        causes.append((f"{path}.{expected}", "Required value: must populate information for the given metric source"))
    causes += [(f"{path}.{field}", "Forbidden: must populate the given metric source only")
               for field in present if field != expected and len(present) > 1]
    if expected in ("resource", "containerResource") and isinstance(metric.get(expected), dict):
        causes += check_resource(metric[expected], f"{path}.{expected}", container=expected == "containerResource")
    elif expected in present and isinstance(metric.get(expected), dict):
        causes += check_target(metric[expected].get("target") or {}, f"{path}.{expected}.target")
    return causes


def check_resource(source: Obj, path: str, container: bool) -> list[Cause]:
    """validateResourceSource: a resource name, a utilization or an average value (not both, no value)."""
    causes: list[Cause] = []
    if not source.get("name"):
        causes.append((f"{path}.name", "Required value: must specify a resource name"))
    if container and not source.get("container"):
        causes.append((f"{path}.container", "Required value: must specify a container"))
    target = source.get("target") or {}
    causes += check_target(target, f"{path}.target")
    if target.get("averageUtilization") is None and target.get("averageValue") is None:
        causes.append((f"{path}.target.averageUtilization",
                       "Required value: must set either a target raw value or a target utilization"))
    if target.get("averageUtilization") is not None and target.get("averageValue") is not None:
        causes.append((f"{path}.target.averageValue",
                       "Forbidden: may not set both a target raw value and a target utilization"))
    return causes


def check_target(target: Obj, path: str) -> list[Cause]:
    """validateMetricTarget: a known type; what it sets above zero."""
    kind = target.get("type") or ""
    causes: list[Cause] = []
    if not kind:
        causes.append((f"{path}.type", "Required value: must specify a metric target type"))
    elif kind not in TARGET_TYPES:
        causes.append((f"{path}.type", f'Unsupported value: "{kind}": supported values: '
                       + ", ".join(f'"{t}"' for t in TARGET_TYPES)))
    utilization = target.get("averageUtilization")
    if isinstance(utilization, int) and utilization < 1:
        causes.append((f"{path}.averageUtilization", f"Invalid value: {utilization}: must be greater than 0"))
    for key in ("value", "averageValue"):
        value = target.get(key)
        number = QUANTITY_NUMBER.match(str(value)) if value is not None else None
        if number is not None and float(number.group(1)) <= 0:
            causes.append((f"{path}.{key}", f'Invalid value: "{value}": must be positive'))
    return causes


def check_rules(rules: Obj, path: str) -> list[Cause]:
    """validateScalingRules: a window of 0 to 3600 s, a known select policy, policies above zero."""
    causes: list[Cause] = []
    window = rules.get("stabilizationWindowSeconds")
    if isinstance(window, int) and window < 0:
        causes.append((f"{path}.stabilizationWindowSeconds", f"Invalid value: {window}: must be greater than or "
                       "equal to zero"))
    elif isinstance(window, int) and window > MAX_WINDOW:
        causes.append((f"{path}.stabilizationWindowSeconds", f"Invalid value: {window}: must be less than or "
                       f"equal to {MAX_WINDOW}"))
    select = rules.get("selectPolicy")
    if select is not None and select not in SELECT_POLICIES:
        causes.append((f"{path}.selectPolicy", f'Unsupported value: "{select}": supported values: '
                       + ", ".join(f'"{p}"' for p in SELECT_POLICIES)))
    policies = rules.get("policies") or []
    if not policies and select != "Disabled":
        causes.append((f"{path}.policies", "Required value: must specify at least one Policy"))
    for i, policy in enumerate(policies):
        policy = policy if isinstance(policy, dict) else {}
        where = f"{path}.policies[{i}]"
        if policy.get("type") not in POLICY_TYPES:
            causes.append((f"{where}.type", f'Unsupported value: "{policy.get("type") or ""}": supported values: '
                           + ", ".join(f'"{p}"' for p in POLICY_TYPES)))
        value, period = policy.get("value"), policy.get("periodSeconds")
        if not isinstance(value, int) or value <= 0:
            causes.append((f"{where}.value", f"Invalid value: {value or 0}: must be greater than zero"))
        if not isinstance(period, int) or period <= 0:
            causes.append((f"{where}.periodSeconds", f"Invalid value: {period or 0}: must be greater than zero"))
        elif period > MAX_PERIOD:
            causes.append((f"{where}.periodSeconds", f"Invalid value: {period}: must be less than or equal to "
                           f"{MAX_PERIOD}"))
    return causes


# -- the table (printHorizontalPodAutoscaler) -------------------------------------------------------
def target_text(spec: Obj, status: Obj | None) -> str:
    """One metric of formatHPAMetrics: "cpu: 12%/50%", "cpu: <unknown>/50%", "100m/200m", ..."""
    kind, status = spec.get("type"), status or {}
    source = spec.get(SOURCE_FIELD.get(kind, ""), None) or {}
    target = source.get("target") or {}
    current = status.get(SOURCE_FIELD.get(kind, ""), None)
    now = (current or {}).get("current") or {}
    if kind in ("Resource", "ContainerResource"):
        name = source.get("name", "")
        if target.get("averageValue") is not None:
            return f"{name}: {now.get('averageValue', '<unknown>')}/{target['averageValue']}"
        used = f"{now['averageUtilization']}%" if now.get("averageUtilization") is not None else "<unknown>"
        wanted = f"{target['averageUtilization']}%" if target.get("averageUtilization") is not None else "<auto>"
        return f"{name}: {used}/{wanted}"
    if kind == "Pods":
        return f"{now.get('averageValue', '<unknown>')}/{target.get('averageValue', '')}"
    if kind in ("Object", "External"):
        if target.get("averageValue") is not None:
            return f"{now.get('averageValue', '<unknown>')}/{target['averageValue']} (avg)"
        return f"{now.get('value', '<unknown>')}/{target.get('value', '')}"
    return "<unknown type>"


def targets(spec: Obj, status: Obj) -> str:
    """formatHPAMetrics: each metric with its current value, the first two and "+ N more..."."""
    metrics = spec.get("metrics") or []
    if not metrics:
        return "<none>"
    current = status.get("currentMetrics") or []
    shown = [target_text(m, current[i] if i < len(current) else None) for i, m in enumerate(metrics)]
    text = ", ".join(shown[:2])
    return f"{text} + {len(shown) - 2} more..." if len(shown) > 2 else text


def hpa_row(hpa: Obj, now: float) -> list:
    meta, spec, status = parts(hpa)
    ref = spec.get("scaleTargetRef") or {}
    low = spec.get("minReplicas")
    return [meta.get("name", ""), f"{ref.get('kind', '')}/{ref.get('name', '')}", targets(spec, status),
            "<unset>" if low is None else str(low), spec.get("maxReplicas", 0), status.get("currentReplicas", 0),
            age(hpa, now)]


COLUMNS = (NAME,
           Column("Reference", "string", "scaleTargetRef points to the target resource to scale, and is used to the "
                  "pods for which metrics should be collected, as well as to actually change the replica count."),
           Column("Targets", "string", "metrics contains the specifications for which to use to calculate the "
                  "desired replica count (the maximum replica count across all metrics will be used)."),
           Column("MinPods", "string", "minReplicas is the lower limit for the number of replicas to which the "
                  "autoscaler can scale down.  It defaults to 1 pod."),
           Column("MaxPods", "integer", "maxReplicas is the upper limit for the number of replicas to which the "
                  "autoscaler can scale up. It cannot be less that minReplicas."),
           Column("Replicas", "integer", "currentReplicas is current number of replicas of pods managed by this "
                  "autoscaler, as last seen by the autoscaler."),
           AGE)

P = "autoscaling.v2."  # this kind's own messages, named apart from the shared ones
MESSAGES = {
    f"{P}HorizontalPodAutoscaler": {1: ("metadata", "ObjectMeta"), 2: ("spec", f"{P}HorizontalPodAutoscalerSpec"),
                                    3: ("status", "Unread")},
    f"{P}HorizontalPodAutoscalerSpec": {1: ("scaleTargetRef", f"{P}CrossVersionObjectReference"),
                                        2: ("minReplicas", "*int32"), 3: ("maxReplicas", "*int32"),
                                        4: ("metrics", f"[]{P}MetricSpec"),
                                        5: ("behavior", f"{P}HorizontalPodAutoscalerBehavior")},
    f"{P}CrossVersionObjectReference": {1: ("kind", "string"), 2: ("name", "string"), 3: ("apiVersion", "string")},
    f"{P}MetricSpec": {1: ("type", "string"), 2: ("object", f"{P}ObjectMetricSource"),
                       3: ("pods", f"{P}PodsMetricSource"), 4: ("resource", f"{P}ResourceMetricSource"),
                       7: ("containerResource", f"{P}ContainerResourceMetricSource"),
                       5: ("external", f"{P}ExternalMetricSource")},
    f"{P}ResourceMetricSource": {1: ("name", "string"), 2: ("target", f"{P}MetricTarget")},
    f"{P}ContainerResourceMetricSource": {1: ("name", "string"), 2: ("target", f"{P}MetricTarget"),
                                          3: ("container", "string")},
    f"{P}PodsMetricSource": {1: ("metric", f"{P}MetricIdentifier"), 2: ("target", f"{P}MetricTarget")},
    f"{P}ObjectMetricSource": {1: ("describedObject", f"{P}CrossVersionObjectReference"),
                               2: ("target", f"{P}MetricTarget"), 3: ("metric", f"{P}MetricIdentifier")},
    f"{P}ExternalMetricSource": {1: ("metric", f"{P}MetricIdentifier"), 2: ("target", f"{P}MetricTarget")},
    f"{P}MetricIdentifier": {1: ("name", "string"), 2: ("selector", "LabelSelector")},
    f"{P}MetricTarget": {1: ("type", "string"), 2: ("value", "Quantity"), 3: ("averageValue", "Quantity"),
                         4: ("averageUtilization", "*int32")},
    f"{P}HorizontalPodAutoscalerBehavior": {1: ("scaleUp", f"{P}HPAScalingRules"),
                                            2: ("scaleDown", f"{P}HPAScalingRules")},
    f"{P}HPAScalingRules": {3: ("stabilizationWindowSeconds", "*int32"), 1: ("selectPolicy", "*string"),
                            2: ("policies", f"[]{P}HPAScalingPolicy"), 4: ("tolerance", "Quantity")},
    f"{P}HPAScalingPolicy": {1: ("type", "string"), 2: ("value", "int32"), 3: ("periodSeconds", "int32")},
}

def dated(clock: Clockwork, hpa: Obj) -> Obj:
    """The object with its status's times as RFC 3339: the controller keeps them in cluster seconds."""
    status = hpa.get("status")
    if isinstance(status, dict):
        if isinstance(status.get("lastScaleTime"), (int, float)):
            status["lastScaleTime"] = clock.stamp(status["lastScaleTime"])
        for condition in status.get("conditions") or []:
            if isinstance(condition.get("lastTransitionTime"), (int, float)):
                condition["lastTransitionTime"] = clock.stamp(condition["lastTransitionTime"])
    return hpa


def with_dates(kept: dict) -> dict:
    """The stored kind's strategy and watch, each object they answer dated."""
    strategy, watch = kept["strategy"], kept["watch"]

    def objects(store: Storage, namespace: str | None) -> list[Obj]:
        return [dated(store.clock, o) for o in strategy.objects(store, namespace)]

    def get(store: Storage, namespace: str | None, name: str) -> Obj | None:
        found = strategy.get(store, namespace, name)
        return None if found is None else dated(store.clock, found)

    return {"strategy": replace(strategy, objects=objects, get=get),
            "watch": replace(watch, tombstone=lambda clock, rec: dated(clock, watch.tombstone(clock, rec)))}


HPA = REGISTRY.add(Kind(
    group=GROUP, version=VERSION, plural=PLURAL, kind="HorizontalPodAutoscaler", namespaced=True, verbs=ALL,
    short=("hpa",), categories=("all",), subresources=(STATUS,),
    schema="io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler", protobuf=f"{P}HorizontalPodAutoscaler",
    messages=MESSAGES, columns=COLUMNS, row=hpa_row,
    **with_dates(stored("HorizontalPodAutoscaler", f"{GROUP}/{VERSION}", PLURAL, prepare=prepare, check=check,
                        generation=True, status=True))))


def spec_of(hpa: Obj) -> Obj:
    """A copy of an HPA's spec, its defaults filled (what the controller reads)."""
    return prepare(copy.deepcopy({"spec": hpa.get("spec") or {}}), None)["spec"]
