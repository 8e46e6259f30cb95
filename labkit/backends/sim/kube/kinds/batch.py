"""What the batch kinds share (kinds/jobs.py, kinds/cronjobs.py): a JobSpec's defaults and rules, and
the stored store with the controllers' times stamped as the objects are served.

Sources as in kinds/jobs.py: pkg/apis/core/v1/defaults.go (the pod template's defaults),
pkg/apis/batch/validation/validation.go validateJobSpec, pkg/registry/batch/job/strategy.go.
"""
from __future__ import annotations

import copy
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable

from ...objects import CONTAINER_DEFAULTS, POD_DEFAULTS
from .. import resources as res
from .. import validation
from . import Cause, Obj
from .stored import generated

if TYPE_CHECKING:
    from ..rest import Storage

RESTART_POLICIES = '"OnFailure", "Never"'


def pull_policy(image: str) -> str:
    """SetDefaults_Container: Always for an image without a tag or with :latest (no digest), else IfNotPresent."""
    if "@" in image:
        return "IfNotPresent"
    tail = image.rsplit("/", 1)[-1]
    return "Always" if ":" not in tail or tail.endswith(":latest") else "IfNotPresent"


def pod_template_defaults(template: Any) -> Any:
    """A pod template as the API server stores it: the pod spec's and each container's defaults."""
    if not isinstance(template, dict):
        return template
    out = copy.deepcopy(template)
    spec = out.get("spec")
    if not isinstance(spec, dict):
        return out
    out["spec"] = {**copy.deepcopy(POD_DEFAULTS), **spec}
    containers = []
    for c in spec.get("containers") or []:
        if isinstance(c, dict):
            c = {**copy.deepcopy(CONTAINER_DEFAULTS), "imagePullPolicy": pull_policy(str(c.get("image") or "")), **c}
        containers.append(c)
    if containers:
        out["spec"]["containers"] = containers
    return out


def nonnegative(spec: Obj, path: str, *fields: str) -> list[Cause]:
    """ValidateNonnegativeField for each field that is set."""
    return [(f"{path}.{f}", f"Invalid value: {spec[f]}: must be greater than or equal to 0") for f in fields
            if isinstance(spec.get(f), int) and spec[f] < 0]


def check_job_spec(spec: Obj, path: str = "spec") -> list[Cause]:
    """validateJobSpec: the counts, the completion mode and the pod template (a CronJob's jobTemplate too)."""
    causes = nonnegative(spec, path, "parallelism", "completions", "activeDeadlineSeconds", "backoffLimit",
                         "ttlSecondsAfterFinished", "backoffLimitPerIndex", "maxFailedIndexes")
    mode = spec.get("completionMode")
    if mode not in (None, "NonIndexed", "Indexed"):
        causes.append((f"{path}.completionMode", f'Unsupported value: "{mode}": supported values: '
                       '"NonIndexed", "Indexed"'))
    if mode == "Indexed" and spec.get("completions") is None:
        causes.append((f"{path}.completions", "Required value: when completion mode is Indexed"))
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    labels = (template.get("metadata") or {}).get("labels")
    causes += validation.labels(labels, f"{path}.template.metadata.labels")
    pod = template.get("spec") if isinstance(template.get("spec"), dict) else {}
    containers = pod.get("containers") or []
    if not containers:
        causes.append((f"{path}.template.spec.containers", "Required value"))
    for i, c in enumerate(containers):
        if isinstance(c, dict) and not c.get("name"):
            causes.append((f"{path}.template.spec.containers[{i}].name", "Required value"))
        if isinstance(c, dict) and not c.get("image"):
            causes.append((f"{path}.template.spec.containers[{i}].image", "Required value"))
    policy = pod.get("restartPolicy") or ""
    if policy in ("", "Always"):
        causes.append((f"{path}.template.spec.restartPolicy", f"Required value: valid values: {RESTART_POLICIES}"))
    elif policy not in ("OnFailure", "Never"):
        causes.append((f"{path}.template.spec.restartPolicy",
                       f'Unsupported value: "{policy}": supported values: {RESTART_POLICIES}'))
    return causes


# -- what is served: the stored object, the controller's times stamped --------------------------
TIMES = ("startTime", "completionTime", "lastScheduleTime", "lastSuccessfulTime")  # a CronJob's two too
CONDITION_TIMES = ("lastProbeTime", "lastTransitionTime")


def stamped(obj: Obj | None, clock: res.Clockwork) -> Obj | None:
    """The controller keeps its times as cluster seconds (it has no wall clock); served as RFC 3339."""
    status = (obj or {}).get("status")
    if not status:
        return obj
    status = dict(status)
    for key in TIMES:
        if isinstance(status.get(key), (int, float)):
            status[key] = clock.stamp(status[key])
    if status.get("conditions"):
        status["conditions"] = [{k: clock.stamp(v) if k in CONDITION_TIMES and isinstance(v, (int, float)) else v
                                 for k, v in c.items()} for c in status["conditions"]]
    return {**obj, "status": status}


def served(base: dict, kind: str, plural: str, make: Callable[[Obj, str, str], Obj]) -> dict:
    """`stored(...)`'s strategy and watch with the status's times stamped and, on create, the body
    `make(body, name, uid)` makes of it with the uid it is to be served with (rest.BeforeCreate
    fills in the uid before the strategy runs)."""
    strategy, watch = base["strategy"], base["watch"]
    record = watch.record

    def objects(store: Storage, namespace: str | None) -> list[Obj]:
        return [stamped(o, store.clock) for o in strategy.objects(store, namespace)]

    def get(store: Storage, namespace: str | None, name: str) -> Obj | None:
        return stamped(strategy.get(store, namespace, name), store.clock)

    def create(store: Storage, namespace: str | None, body: Obj, dry_run: bool) -> Obj:
        meta = body.get("metadata") or {}
        name = meta.get("name") or ""
        if not name and meta.get("generateName"):  # as stored.create names it, so the uid is the one it gets
            name = generated(meta["generateName"], lambda n: res.key(namespace or res.NAMESPACE, n)
                             in store.items(record), f"{record}/{namespace}/{store.revision()}")
        if name:
            uid = res.uid(kind, res.key(namespace or res.NAMESPACE, name), store.sim.now())
            body = make({**body, "metadata": {**meta, "name": name}}, name, uid)
        return stamped(strategy.create(store, namespace, body, dry_run), store.clock)

    def tombstone(clock: res.Clockwork, rec: Any) -> Obj:
        return stamped(watch.tombstone(clock, rec), clock)

    return {"strategy": replace(strategy, objects=objects, get=get, create=create),
            "watch": replace(watch, tombstone=tombstone)}
