"""The horizontal pod autoscaler: kube-controller-manager's loop over HorizontalPodAutoscalers.

Every SYNC_PERIOD (15 s) of cluster time while there are HPAs, each one is reconciled as pkg/controller/podautoscaler
does it (horizontal.go reconcileAutoscaler, replica_calculator.go GetResourceReplicas):

* the target's Scale: a Deployment of the HPA's namespace (its spec.replicas; `kubectl scale`'s
  path writes it back), else AbleToScale False, FailedGetScale;
* a replica count wanted by each metric: for a Resource metric (cpu, memory) with a utilization
  target, usage / request of the target's pods, as a percentage truncated to an integer; the
  wanted count is ceil(ready pods x utilization / target), unless the ratio is within the 10%
  tolerance (then the current count). Pods pending, not ready or ready for less than one metrics
  window (within their first 5 minutes) count as using nothing on a scale up; pods without
  metrics count as using their whole request on a scale down (nothing on a scale up); deleted or
  failed ones not at all. A pod without a request for the resource makes the metric invalid:
  "failed to get cpu utilization: missing request for cpu in container web of Pod web-...",
  ScalingActive False, FailedGetResourceMetric, as the real one says;
* normalized: without spec.behavior, the highest recommendation of the last 300 s
  (--horizontal-pod-autoscaler-downscale-stabilization), then at most max(2 x current, 4) on a
  scale up and the min/max bounds (ScalingLimited with ScaleUpLimit, TooManyReplicas,
  TooFewReplicas, DesiredWithinRange); with spec.behavior (defaulted by the API server), its
  stabilization windows and its policies over the scale events of their periods;
* a rescale through the simulator's own scale path (SimBackend.scale, as `kubectl scale`),
  with the event SuccessfulRescale "New size: 4; reason: cpu resource utilization (percentage of
  request) above target"; the status (currentReplicas, desiredReplicas, currentMetrics,
  lastScaleTime, conditions AbleToScale / ScalingActive / ScalingLimited) written through the
  HPA's status subresource (its times in cluster seconds: the served kind dates them).

The arithmetic is replica_calculator.py's; the usage is the simulator's model (usage.py, what
metrics.k8s.io serves). The controller works while the controller manager runs and the API
server answers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ...errors import LabkitError
from .kube.kinds.stored import record_kind, write_status
from .objects import Pod
from .replica_calculator import MetricError, limited, policy_limit, quantity, replicas_for
from .usage import WINDOW, containers, cpu_request, millicores

SYNC_PERIOD = 15.0  # --horizontal-pod-autoscaler-sync-period
DOWNSCALE_WINDOW = 300.0  # --horizontal-pod-autoscaler-downscale-stabilization
CPU_INITIALIZATION_PERIOD = 300.0  # --horizontal-pod-autoscaler-cpu-initialization-period
RECORD = record_kind("autoscaling", "horizontalpodautoscalers")
SOURCE = "horizontal-pod-autoscaler"
REPEAT_AFTER = 300.0  # cluster seconds before a warning said already is said again
MIB = 1024 * 1024


@dataclass
class Proposal:
    """What one metric wants: a replica count, its status, and its words for a rescale."""
    replicas: int
    status: dict
    name: str


@dataclass
class Memory:
    """What the controller keeps of one HPA between looks (upstream's recommendations and scaleUpEvents/
    scaleDownEvents): (time, recommended count), and (time, pods added or removed)."""
    recommendations: list[tuple[float, int]] = field(default_factory=list)
    scaled_up: list[tuple[float, int]] = field(default_factory=list)
    scaled_down: list[tuple[float, int]] = field(default_factory=list)
    warned: dict[str, float] = field(default_factory=dict)  # a warning's words -> when they were last said


class Autoscaler:
    """The HPA controller (see the module); `sim` is the SimBackend it scales through."""

    def __init__(self, sim, period: float = SYNC_PERIOD) -> None:
        self.sim, self.api, self.clock, self.period = sim, sim.api, sim.clock, period
        self.memory: dict[str, Memory] = {}
        self.looking = False  # whether a look is due: only while there are HPAs (none on Swarm or Docker)
        sim.store.watch(RECORD, self._changed)

    def _changed(self, event: str, record) -> None:
        if not self.looking:
            self.looking = True
            self.clock.call_later(self.period, self.tick)

    @property
    def running(self) -> bool:
        """Whether kube-controller-manager runs (its deployment controller's queue says so)."""
        return self.sim.deployments is not None and self.sim.deployments.queue.running

    def tick(self) -> None:
        """Every period while there are HPAs: look at each one."""
        hpas = self.api.items(RECORD)
        for key in [k for k in self.memory if k not in hpas]:
            del self.memory[key]
        self.looking = bool(hpas)
        if not hpas:
            return
        self.clock.call_later(self.period, self.tick)
        if not self.running or not self.api.reachable:
            return
        for key in sorted(hpas):
            self.reconcile(key)

    # -- one HPA ---------------------------------------------------------------------------------
    def reconcile(self, key: str) -> None:
        """reconcileAutoscaler for the HPA `key` (the simulator's name: namespace/name outside default)."""
        record = self.api.items(RECORD).get(key)
        if record is None:
            return
        spec, old = record.body.get("spec") or {}, record.body.get("status") or {}
        namespace = key.rpartition("/")[0]
        conditions = {c["type"]: c for c in old.get("conditions") or []}
        status = {"observedGeneration": record.generation, **({"lastScaleTime": old["lastScaleTime"]}
                                                              if old.get("lastScaleTime") else {})}
        ref = spec.get("scaleTargetRef") or {}
        target = f"{namespace}/{ref.get('name', '')}" if namespace else ref.get("name", "")
        deployment = self.api.items("deployments").get(target) if ref.get("kind") == "Deployment" else None
        if deployment is None:
            message = (f'deployments.apps "{ref.get("name", "")}" not found' if ref.get("kind") == "Deployment"
                       else f'no matches for kind "{ref.get("kind", "")}" in group ""')
            self._event(key, "FailedGetScale", message, warning=True)
            self._condition(conditions, "AbleToScale", "False", "FailedGetScale",
                            f"the HPA controller was unable to get the target's current scale: {message}")
            self._write(key, {**status, "currentReplicas": old.get("currentReplicas", 0),
                              "desiredReplicas": old.get("desiredReplicas", 0)}, conditions)
            return
        memory = self.memory.setdefault(key, Memory())
        current = deployment.replicas
        low, high = spec.get("minReplicas", 1), spec.get("maxReplicas", 1)
        self._condition(conditions, "AbleToScale", "True", "SucceededGetScale",
                        "the HPA controller was able to get the target's current scale")
        metrics: list[dict] = old.get("currentMetrics") or []
        reason = ""
        if current == 0 and low != 0:
            desired = 0
            self._condition(conditions, "ScalingActive", "False", "ScalingDisabled",
                            "scaling is disabled since the replica count of the target is zero")
        elif current > high:
            desired, reason = high, "Current number of replicas above Spec.MaxReplicas"
        elif current < low:
            desired, reason = low, "Current number of replicas below Spec.MinReplicas"
        else:
            try:
                proposal, metrics, reason = self._metrics(key, spec, target, current, conditions)
            except MetricError as error:
                self._write(key, {**status, "currentReplicas": current, "desiredReplicas": current,
                                  "currentMetrics": [{"type": ""} for _ in spec.get("metrics") or []]}, conditions)
                self._event(key, "FailedComputeMetricsReplicas", str(error), warning=True)
                return
            desired = self._normalize(spec, memory, current, proposal, low, high, conditions)
        if desired != current:
            try:
                self.sim.scale(target, desired)
            except LabkitError as error:  # the simulator refused (its API server or etcd is down)
                self._condition(conditions, "AbleToScale", "False", "FailedUpdateScale",
                                f"the HPA controller was unable to update the target scale: {error}")
                self._event(key, "FailedRescale", f"New size: {desired}; reason: {reason}; error: {error}",
                            warning=True)
                self._write(key, {**status, "currentReplicas": current, "desiredReplicas": current,
                                  "currentMetrics": metrics}, conditions)
                return
            self._condition(conditions, "AbleToScale", "True", "SucceededRescale",
                            f"the HPA controller was able to update the target scale to {desired}")
            self._event(key, "SuccessfulRescale", f"New size: {desired}; reason: {reason}")
            (memory.scaled_up if desired > current else memory.scaled_down).append(
                (self.clock.now, abs(desired - current)))
            status["lastScaleTime"] = self.clock.now
        self._write(key, {**status, "currentReplicas": current, "desiredReplicas": desired,
                          **({"currentMetrics": metrics} if metrics else {})}, conditions)

    def _metrics(self, key: str, spec: dict, target: str, current: int,
                 conditions: dict) -> tuple[int, list[dict], str]:
        """computeReplicasForMetrics: the highest count any valid metric wants, their statuses, and the
        rescale's reason; MetricError when none is valid, or one is not and the others want fewer pods."""
        specs = spec.get("metrics") or []
        statuses: list[dict] = [{"type": ""} for _ in specs]
        best, best_name, invalid = -1, "", []
        for i, metric in enumerate(specs):
            try:
                found = self._metric(metric, target, current)
            except MetricError as error:
                invalid.append(error)
                self._condition(conditions, "ScalingActive", "False", error.reason,
                                f"the HPA was unable to compute the replica count: {error}")
                self._event(key, error.reason, str(error), warning=True)
                continue
            statuses[i] = found.status
            if found.replicas > best:
                best, best_name = found.replicas, found.name
        if invalid and (len(invalid) == len(specs) or best < current):
            raise MetricError("FailedComputeMetricsReplicas", f"invalid metrics ({len(invalid)} invalid out of "
                              f"{len(specs)}), first error is: {invalid[0]}")
        self._condition(conditions, "ScalingActive", "True", "ValidMetricFound",
                        f"the HPA was able to successfully calculate a replica count from {best_name}")
        reason = f"{best_name} above target" if best > current else "All metrics below target"
        return best, statuses, reason

    def _metric(self, metric: dict, target: str, current: int) -> Proposal:
        """One metric's proposal; only resource metrics have a source here (no custom or external metrics API)."""
        kind = metric.get("type")
        if kind == "Pods":
            name = ((metric.get("pods") or {}).get("metric") or {}).get("name", "")
            raise MetricError("FailedGetPodsMetric", f"failed to get pods metric value: unable to get metric {name}: "
                              "unable to fetch metrics from custom metrics API: the server could not find the "
                              "requested resource")
        if kind == "Object":
            name = ((metric.get("object") or {}).get("metric") or {}).get("name", "")
            raise MetricError("FailedGetObjectMetric", f"failed to get object metric value: unable to get metric "
                              f"{name}: unable to fetch metrics from custom metrics API: the server could not find "
                              "the requested resource")
        if kind == "External":
            name = ((metric.get("external") or {}).get("metric") or {}).get("name", "")
            raise MetricError("FailedGetExternalMetric", f"failed to get external metric value: unable to get "
                              f"external metric {name}: unable to fetch metrics from external metrics API: the "
                              "server could not find the requested resource")
        field_name = "containerResource" if kind == "ContainerResource" else "resource"
        source = metric.get(field_name) or {}
        resource, wanted = source.get("name", ""), source.get("target") or {}
        reason = "FailedGetContainerResourceMetric" if kind == "ContainerResource" else "FailedGetResourceMetric"
        utilization = wanted.get("averageUtilization") is not None
        try:
            usage, requests, unready, missing = self._pods(target, resource, source.get("container"))
            goal = float(wanted["averageUtilization"]) if utilization else self._amount(resource,
                                                                                      wanted.get("averageValue"))
            replicas, percent, average = replicas_for(current, usage, requests, goal, unready, missing, utilization)
        except MetricError as error:
            words = "utilization" if utilization else "usage"
            raise MetricError(reason, f"failed to get {resource} {words}: {error}") from None
        value = quantity(average) if resource == "cpu" else str(average)
        now = {"averageValue": value, **({"averageUtilization": percent} if utilization else {})}
        status_source = {"name": resource, "current": now, **({"container": source["container"]}
                                                               if kind == "ContainerResource" else {})}
        name = f"{resource} resource utilization (percentage of request)" if utilization else f"{resource} resource"
        if kind == "ContainerResource":
            name = f"{resource} container resource utilization (percentage of request)" if utilization else \
                f"{resource} container resource"
        return Proposal(replicas, {"type": kind, field_name: status_source}, name)

    @staticmethod
    def _amount(resource: str, text: object) -> float:
        """A target average value in this controller's units (millicores, bytes)."""
        if resource == "cpu":
            found = millicores(text)
        else:
            units = {"Ki": 1024, "Mi": MIB, "Gi": 1024 * MIB, "k": 1e3, "M": 1e6, "G": 1e9, "": 1}
            raw = str(text or "")
            unit = next((u for u in units if u and raw.endswith(u)), "")
            try:
                found = float(raw[:len(raw) - len(unit)] if unit else raw) * units[unit]
            except ValueError:
                found = None
        if not found or found <= 0:
            raise MetricError("FailedGetResourceMetric", f"invalid target value {text!r}")
        return found

    def _pods(self, target: str, resource: str, container: str | None) -> tuple[dict, dict, set, set]:
        """groupPods: the target's pods' usage (millicores or bytes) and requests, the unready and the missing."""
        owners = {rs.name for rs in self.sim.deployments.replica_sets(target)}
        pods = sorted((p for p in self.api.items("pods").values() if p.owner in owners), key=lambda p: p.name)
        if not pods:
            raise MetricError("FailedGetResourceMetric", "no pods returned by selector while calculating replica "
                              "count")
        nodes, now = self.api.items("nodes"), self.clock.now
        usage: dict[str, float] = {}
        unready: set[str] = set()
        missing: set[str] = set()
        deployment = self.api.items("deployments")[target]
        for pod in pods:
            if pod.deleting or pod.phase == "failed":
                continue  # ignored
            if pod.phase == "pending":
                unready.add(pod.name)
                continue
            node = nodes.get(pod.node or "")
            if node is None or not node.ready or pod.phase != "running":
                missing.add(pod.name)
                continue
            if resource == "cpu" and self._unready(pod, now):
                unready.add(pod.name)
            usage[pod.name] = self._usage(pod, resource, container, deployment.container)
        if not usage and not unready and not missing:
            raise MetricError("FailedGetResourceMetric", f"unable to get metrics for resource {resource}: no metrics "
                              "returned from resource metrics API")
        requests = {}
        for pod in pods:
            total = 0.0
            listed = containers(pod, deployment.container)
            for i, c in enumerate(listed):
                if container and c.get("name") != container:
                    continue
                request = self._request(pod, c, i == 0, resource)
                if request is None:
                    raise MetricError("FailedGetResourceMetric", f"missing request for {resource} in container "
                                      f"{c.get('name', '')} of Pod {pod.name.rpartition('/')[2]}")
                total += request
            requests[pod.name] = total
        return usage, requests, unready, missing

    @staticmethod
    def _unready(pod: Pod, now: float) -> bool:
        """A pod whose CPU sample is not to be trusted yet: not ready, or, in its first 5 minutes, ready
        for less than one metrics window."""
        started = pod.started if pod.started is not None else pod.created
        if now < started + CPU_INITIALIZATION_PERIOD:
            return not pod.ready or pod.ready_since is None or now < pod.ready_since + WINDOW
        return not pod.ready

    def _usage(self, pod: Pod, resource: str, container: str | None, default_name: str) -> float:
        usage = self.sim.usage
        if resource == "cpu":
            return math.ceil(usage.pod_cpu(pod, container, default_name))
        return usage.pod_memory(pod, container, default_name) * MIB

    @staticmethod
    def _request(pod: Pod, container: dict, first: bool, resource: str) -> float | None:
        if resource == "cpu":
            return cpu_request(pod, container, first)
        requests = (container.get("resources") or {}).get("requests") or {}
        if resource in requests:
            return Autoscaler._amount(resource, requests[resource])
        if resource == "memory" and first and pod.template.spec is None and pod.template.memory > 0:
            return float(pod.template.memory) * MIB
        return None

    def _normalize(self, spec: dict, memory: Memory, current: int, proposal: int, low: int, high: int,
                   conditions: dict) -> int:
        """normalizeDesiredReplicas (no behavior) or normalizeDesiredReplicasWithBehaviors."""
        now = self.clock.now
        behavior = spec.get("behavior")
        if not isinstance(behavior, dict):
            memory.recommendations = [(t, r) for t, r in memory.recommendations if t > now - DOWNSCALE_WINDOW]
            memory.recommendations.append((now, proposal))
            stabilized = max(r for _, r in memory.recommendations)
            if stabilized != proposal:
                self._condition(conditions, "AbleToScale", "True", "ScaleDownStabilized", "recent recommendations "
                                "were higher than current one, applying the highest recent recommendation")
            else:
                self._condition(conditions, "AbleToScale", "True", "ReadyForNewScale",
                                "recommended size matches current size")
            desired, reason, message = limited(current, stabilized, low, high)
            self._condition(conditions, "ScalingLimited", "False" if desired == stabilized else "True", reason,
                            message)
            return desired
        up, down = behavior.get("scaleUp") or {}, behavior.get("scaleDown") or {}
        longest = max(up.get("stabilizationWindowSeconds", 0), down.get("stabilizationWindowSeconds", 300))
        memory.recommendations = [(t, r) for t, r in memory.recommendations if t > now - longest]
        memory.recommendations.append((now, proposal))
        in_up = [r for t, r in memory.recommendations
                 if t > now - up.get("stabilizationWindowSeconds", 0)] or [proposal]
        in_down = [r for t, r in memory.recommendations
                   if t > now - down.get("stabilizationWindowSeconds", 300)] or [proposal]
        stabilized = current
        if proposal > current:
            stabilized = max(current, min(in_up + [proposal]))
        elif proposal < current:
            stabilized = min(current, max(in_down + [proposal]))
        if stabilized != proposal:
            self._condition(conditions, "AbleToScale", "True", "ScaleDownStabilized" if proposal < current else
                            "ScaleUpStabilized", "recent recommendations were higher than current one, applying the "
                            "highest recent recommendation" if proposal < current else "recent recommendations were "
                            "lower than current one, applying the lowest recent recommendation")
        else:
            self._condition(conditions, "AbleToScale", "True", "ReadyForNewScale",
                            "recommended size matches current size")
        desired, reason, message = stabilized, "DesiredWithinRange", "the desired count is within the acceptable range"
        memory.scaled_up = [(t, n) for t, n in memory.scaled_up if t > now - 1800]
        memory.scaled_down = [(t, n) for t, n in memory.scaled_down if t > now - 1800]
        if stabilized > current:
            bound = policy_limit(up, current, memory.scaled_up, memory.scaled_down, now, up=True)
            bound = current if bound is None else max(bound, current)
            if bound < high and stabilized > bound:
                desired, reason, message = bound, "ScaleUpLimit", "the desired replica count is increasing faster " \
                    "than the maximum scale rate"
            elif stabilized > high:
                desired, reason, message = high, "TooManyReplicas", "the desired replica count is more than the " \
                    "maximum replica count"
        elif stabilized < current:
            bound = policy_limit(down, current, memory.scaled_up, memory.scaled_down, now, up=False)
            bound = current if bound is None else min(bound, current)
            if bound > low and stabilized < bound:
                desired, reason, message = bound, "ScaleDownLimit", "the desired replica count is decreasing faster " \
                    "than the maximum scale rate"
            elif stabilized < low:
                desired, reason, message = low, "TooFewReplicas", "the desired replica count is less than the " \
                    "minimum replica count"
        self._condition(conditions, "ScalingLimited", "False" if desired == stabilized else "True", reason, message)
        return desired

    # -- writing -------------------------------------------------------------------------------
    def _condition(self, conditions: dict, kind: str, state: str, reason: str, message: str) -> None:
        """setCondition: a condition's lastTransitionTime moves only when its status does."""
        old = conditions.get(kind)
        since = old["lastTransitionTime"] if old is not None and old["status"] == state else self.clock.now
        conditions[kind] = {"type": kind, "status": state, "lastTransitionTime": since, "reason": reason,
                            "message": message}

    def _write(self, key: str, status: dict, conditions: dict) -> None:
        order = ("AbleToScale", "ScalingActive", "ScalingLimited")
        status["conditions"] = sorted(conditions.values(), key=lambda c: order.index(c["type"])
                                      if c["type"] in order else len(order))
        write_status(self.api, "autoscaling", "horizontalpodautoscalers", key, status)

    def _event(self, key: str, reason: str, message: str, warning: bool = False) -> None:
        """An event about the HPA. The real recorder folds repeats into one event's count; this log has no
        counts, so a warning said at the last look is said again only after REPEAT_AFTER."""
        if warning:
            memory, now = self.memory.setdefault(key, Memory()), self.clock.now
            memory.warned = {words: t for words, t in memory.warned.items() if now - t < REPEAT_AFTER}
            if message in memory.warned:
                return
            memory.warned[message] = now
        self.api.record(reason, f"horizontalpodautoscaler/{key}", message, "Warning" if warning else "Normal",
                        source=SOURCE)
