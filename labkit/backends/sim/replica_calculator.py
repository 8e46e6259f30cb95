"""The replica calculator of pkg/controller/podautoscaler (replica_calculator.go, and horizontal.go's rules):
how many pods a metric wants, and how far one look may move the count. Pure functions of numbers,
used by the HPA controller (autoscaler.py) and tested on their own.

    replicas_for(2, {"a": 60.0, "b": 60.0}, {"a": 100, "b": 100}, 50, set(), set(), True)  # (3, 60, 60)
    limited(1, 9, 1, 10)     # (4, "ScaleUpLimit", ...): at most max(2 x current, 4) at once
"""
from __future__ import annotations

import math

TOLERANCE = 0.1  # --horizontal-pod-autoscaler-tolerance
SCALE_UP_FACTOR, SCALE_UP_MINIMUM = 2.0, 4.0  # scaleUpLimitFactor, scaleUpLimitMinimum


class MetricError(Exception):
    """A metric that gave no replica count: `reason` is the condition's and the event's."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def quantity(millis: int) -> str:
    """resource.NewMilliQuantity(v, DecimalSI).String(): "250m", or "2" when whole."""
    return f"{millis // 1000}" if millis % 1000 == 0 else f"{millis}m"


def within_tolerance(ratio: float) -> bool:
    """tolerances.isWithin: 0.9 <= ratio <= 1.1 (so 55% of a 50% target is within, as 1.0 + 0.1 is 1.1)."""
    return 1.0 - TOLERANCE <= ratio <= 1.0 + TOLERANCE


def replicas_for(current: int, usage: dict[str, float], requests: dict[str, float], target: float,
                 unready: set[str], missing: set[str], utilization: bool) -> tuple[int, int, int]:
    """GetResourceReplicas (utilization) and GetRawResourceReplicas (average value) for the pods with
    metrics (`usage`, in millicores or bytes), `requests` by pod: (replicas, utilization %, average)."""
    def ratio_of(values: dict[str, float]) -> tuple[float, int, int]:
        if utilization:
            counted = [p for p in values if p in requests]
            total_requests = sum(requests[p] for p in counted)
            if not counted or total_requests <= 0:
                raise MetricError("FailedGetResourceMetric", "no metrics returned matched known pods")
            used = sum(values[p] for p in counted)
            percent = int(used * 100 / total_requests)
            return percent / target, percent, int(used // len(values))
        average = sum(values.values()) / len(values)
        return average / target, 0, int(average)

    ready = {p: v for p, v in usage.items() if p not in unready}
    if not ready:
        raise MetricError("FailedGetResourceMetric",
                          "did not receive metrics for targeted pods (pods might be unready)")
    ratio, percent, average = ratio_of(ready)
    scale_up_with_unready = bool(unready) and ratio > 1.0
    if not scale_up_with_unready and not missing:
        return (current if within_tolerance(ratio) else math.ceil(ratio * len(ready))), percent, average
    values = dict(ready)
    if missing and ratio < 1.0:  # on a scale down a pod without metrics counts as using its whole request
        for pod in missing:
            values[pod] = requests.get(pod, 0) * max(100, target) / 100 if utilization else target
    elif missing and ratio > 1.0:  # on a scale up, as using nothing
        values.update({pod: 0.0 for pod in missing})
    if scale_up_with_unready:
        values.update({pod: 0.0 for pod in unready})
    new_ratio = ratio_of(values)[0]
    if within_tolerance(new_ratio) or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return current, percent, average
    wanted = math.ceil(new_ratio * len(values))
    if (new_ratio < 1.0 and wanted > current) or (new_ratio > 1.0 and wanted < current):
        return current, percent, average
    return wanted, percent, average


def scale_up_limit(current: int) -> int:
    """calculateScaleUpLimit: at most twice the pods, or 4, whichever is more (without behavior)."""
    return int(max(SCALE_UP_FACTOR * current, SCALE_UP_MINIMUM))


def limited(current: int, wanted: int, low: int, high: int) -> tuple[int, str, str]:
    """convertDesiredReplicasWithRules: (count, ScalingLimited reason, message)."""
    if high > scale_up_limit(current):
        ceiling, reason, message = scale_up_limit(current), "ScaleUpLimit", \
            "the desired replica count is increasing faster than the maximum scale rate"
    else:
        ceiling, reason, message = high, "TooManyReplicas", "the desired replica count is more than the maximum " \
            "replica count"
    if wanted < low:
        return low, "TooFewReplicas", "the desired replica count is less than the minimum replica count"
    if wanted > ceiling:
        return ceiling, reason, message
    return wanted, "DesiredWithinRange", "the desired count is within the acceptable range"


def policy_limit(rules: dict, current: int, added: list[tuple[float, int]], removed: list[tuple[float, int]],
                 now: float, up: bool) -> int | None:
    """calculateScaleUpLimitWithScalingRules / calculateScaleDownLimitWithBehaviors: the bound the rules'
    policies set, each from the count at the start of its period (`added`, `removed`: (time, pods) of
    the rescales); None when the rules disable scaling this way."""
    select = rules.get("selectPolicy") or "Max"
    if select == "Disabled":
        return None
    bounds = []
    for policy in rules.get("policies") or []:
        since = now - policy.get("periodSeconds", 15)
        start = current - sum(n for t, n in added if t > since) + sum(n for t, n in removed if t > since)
        value = policy.get("value", 0)
        if policy.get("type") == "Pods":
            bounds.append(start + value if up else start - value)
        else:  # Percent: up rounds up, down truncates (int32 of the float)
            bounds.append(math.ceil(start * (1 + value / 100)) if up else int(start * (1 - value / 100)))
    if not bounds:
        return current
    return (max if (select == "Max") == up else min)(bounds)
