"""Deployments (pkg/registry/apps/deployment): the simulator's deployments, as the API serves them.

A Deployment is made, changed and deleted through the simulator's own calls (deploy, update,
scale, pause, resume, delete: the facade's operations), so `kubectl scale` and
`cluster.workload(...).scale()` are one operation; what the simulator's spec has no field for
(the container's name, the selector, labels, history limit, progress deadline) is kept on its
record. Its status counts its replica sets' pods, so it changes with any write. The `scale`
subresource reads and writes spec.replicas (autoscaling/v1 Scale). Validation follows
pkg/apis/apps/validation (ValidateDeploymentSpec); the table, printDeployment.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable

from .....errors import LabkitError
from ....base import DeploySpec, Probe, UpdateStrategy
from ...api import fenceposts
from ...controllers import Counts
from ...objects import Deployment, ReplicaSet
from .. import resources as res
from .. import validation
from ..printers import AGE, NAME, TEMPLATE, age, container_cells, parts, replicas, selector_string
from ..resources import Clockwork, container_name, meta, short, template_meta, template_spec
from ..status import ApiError, from_labkit, invalid
from . import ALL, REGISTRY, SCALE, STATUS, Call, Cause, Column, Kind, Obj, Strategy, Watch
from .common import (DNS1123, DNS1123_HELP, already_exists, check_cap, check_int32, check_kind, deleted,
                     user_annotations, written_template)

if TYPE_CHECKING:
    from ..rest import Storage


# -- the simulator's deployment as JSON ----------------------------------------------------------
def _strategy(d: Deployment) -> dict:
    s = d.strategy
    if s["type"] == "Recreate":
        return {"type": "Recreate"}
    return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": s["max_surge"], "maxUnavailable": s["max_unavailable"]}}


def render(d: Deployment, sets: list[ReplicaSet], clock: Clockwork, counts: Callable[[str], Counts],
           last_progress: float) -> dict:
    """`sets`: the deployment's replica sets, oldest revision first (the controller's own list);
    `counts`: a replica set's pods, counted (ReplicaSetController.counts); `last_progress`: when
    the rollout last moved (DeploymentController.last_progress)."""
    new = next((rs for rs in sets if rs.template.hash() == d.template.hash()), None)
    revision = new.revision if new else max((rs.revision for rs in sets), default=0)
    counted = [counts(rs.name) for rs in sets]
    replicas = sum(c.active for c in counted)
    ready = sum(c.ready for c in counted)
    available = sum(c.available for c in counted)
    selector = dict(d.selector)
    status: dict = {"observedGeneration": d.generation}
    if replicas:
        status["replicas"] = replicas
        status["updatedReplicas"] = counts(new.name).active if new else 0
    if ready:
        status["readyReplicas"] = ready
    if available:
        status["availableReplicas"] = available
    if replicas - available > 0:
        status["unavailableReplicas"] = replicas - available
    status["conditions"] = _deployment_conditions(d, new, available, clock, last_progress)
    annotations = {**d.annotations, **({"deployment.kubernetes.io/revision": str(revision)} if revision else {})}
    return {"kind": "Deployment", "apiVersion": "apps/v1",
            "metadata": meta("Deployment", d.name, d.resource_version, d.created, clock, labels=d.labels,
                             annotations=annotations or None, generation=d.generation),
            "spec": {"replicas": d.replicas, "selector": {"matchLabels": selector},
                     "template": {"metadata": template_meta(dict(selector), d.template),
                                  "spec": template_spec(d.template.image, container_name(d), d.template.probe,
                                                        d.template.spec, d.template.pre_stop)},
                     "strategy": _strategy(d), "revisionHistoryLimit": d.history_limit,
                     "progressDeadlineSeconds": int(d.progress_deadline), **({"paused": True} if d.paused else {}),
                     **({"minReadySeconds": int(ready)} if (ready := d.strategy.get("min_ready_seconds")) else {})},
            "status": status}


def _deployment_conditions(d: Deployment, new: ReplicaSet | None, available: int, clock: Clockwork,
                           last_progress: float) -> list[dict]:
    enough = available >= d.replicas - _max_unavailable(d)
    when = clock.stamp(last_progress)
    out = [{"type": "Available", "status": "True" if enough else "False",
            "reason": "MinimumReplicasAvailable" if enough else "MinimumReplicasUnavailable",
            "message": "Deployment has minimum availability." if enough else
            "Deployment does not have minimum availability.", "lastUpdateTime": when, "lastTransitionTime": when}]
    rs_name = short(new.name if new else f"{d.name}-{d.pod_hash()}")
    progress = {"NewReplicaSetAvailable": ("True", f'ReplicaSet "{rs_name}" has successfully progressed.'),
                "ReplicaSetUpdated": ("True", f'ReplicaSet "{rs_name}" is progressing.'),
                "ProgressDeadlineExceeded": ("False", f'ReplicaSet "{rs_name}" has timed out progressing.')}
    status, message = progress.get(d.condition, ("True", f'ReplicaSet "{rs_name}" is progressing.'))
    reason = "DeploymentPaused" if d.paused else d.condition
    out.append({"type": "Progressing", "status": "Unknown" if d.paused else status, "reason": reason,
                "message": "Deployment is paused" if d.paused else message,
                "lastUpdateTime": when, "lastTransitionTime": when})
    return out


def _max_unavailable(d: Deployment) -> int:
    return fenceposts(d.strategy, d.replicas)[1] if d.strategy["type"] == "RollingUpdate" else d.replicas


def rendered(store: Storage, key: str) -> Obj:
    """The deployment `key` (the simulator's name) as JSON, rendered again after any write (its
    status counts pods)."""
    return store.rendered("deployments", key, (store.sim.store.revision,), _render)


def _render(store: Storage, key: str) -> dict:
    d = store.items("deployments")[key]
    sets = store.sim.deployments.replica_sets(key)
    counts = store.sim.replicasets.counts
    out = render(d, sets, store.clock, counts, store.sim.deployments.last_progress(d))
    pods = store.items("pods")
    out["metadata"]["resourceVersion"] = str(max([d.resource_version] + [rs.resource_version for rs in sets] +
                                                 [pods[p].resource_version for rs in sets
                                                  for p in counts(rs.name).pods if p in pods]))
    return out


# -- the strategy ----------------------------------------------------------------------------
def objects(store: Storage, namespace: str | None) -> list[Obj]:
    return [rendered(store, key) for key in store.keys("deployments", namespace)]


def get(store: Storage, namespace: str | None, name: str) -> Obj | None:
    key = res.key(namespace or res.NAMESPACE, name)
    return None if namespace is None or key not in store.items("deployments") else rendered(store, key)


def validate(name: str, body: Obj) -> list[Cause]:
    return validate_deployment(name, body.get("spec") or {})


def create(store: Storage, namespace: str, body: Obj, dry_run: bool) -> Obj:
    spec = _deploy_spec(body)
    name, key = spec.name, res.key(namespace, spec.name)
    check_cap(store.sim, "deployments", name, spec.replicas)
    if key in store.items("deployments"):
        raise already_exists("deployments", name)
    if dry_run:
        return body
    try:
        store.sim.deploy(replace(spec, name=key))
    except LabkitError as error:
        raise from_labkit(error, "deployments", name) from None
    _keep_api_fields(store, key, body)
    return rendered(store, key)


def _deploy_spec(body: Obj) -> DeploySpec:
    """The simulator's spec of a deployment a client wrote (validated already)."""
    meta = body.get("metadata") or {}
    name = meta.get("name") or ""
    spec = body.get("spec") or {}
    container = spec["template"]["spec"]["containers"][0]
    strategy = spec.get("strategy") or {}
    rolling = strategy.get("rollingUpdate") or {}
    plan = UpdateStrategy(type=strategy.get("type"), max_surge=rolling.get("maxSurge"),
                          max_unavailable=rolling.get("maxUnavailable"),
                          min_ready_seconds=spec.get("minReadySeconds"))
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != "app"}
    return DeploySpec(name=name, image=container["image"], replicas=int(spec.get("replicas", 1)),
                      labels=labels, strategy=plan, probe=Probe.from_manifest(container.get("readinessProbe")))


def _keep_api_fields(store: Storage, key: str, body: dict) -> None:
    """What the simulator's own spec has no field for: the container's name, the selector,
    the deployment's labels as given, history limit, progress deadline, paused."""
    d = store.items("deployments")[key]
    spec = body.get("spec") or {}
    d.container = spec["template"]["spec"]["containers"][0]["name"]
    d.selector = dict((spec.get("selector") or {}).get("matchLabels") or {"app": short(key)})
    d.labels = dict((body.get("metadata") or {}).get("labels") or {})
    d.annotations = user_annotations(body)
    d.history_limit = int(spec.get("revisionHistoryLimit", d.history_limit))
    d.progress_deadline = float(spec.get("progressDeadlineSeconds", d.progress_deadline))
    d.paused = bool(spec.get("paused", False))
    d.template = d.template.copy(**written_template(spec))
    d.generation, d.spec_seen = 0, None  # one create, one generation: 1
    store.sim.api.write("deployments", d)


def update(store: Storage, namespace: str, name: str, current: Obj, wanted: Obj, dry_run: bool) -> None:
    """A replace or patch: its template (one rollout with a new image), strategy, replicas, paused."""
    check_kind(wanted, "Deployment", "apps/v1")
    key = res.key(namespace, name)
    spec, old = wanted.get("spec") or {}, current["spec"]
    causes = validate_deployment(name, spec)
    if spec.get("selector") != old["selector"]:
        causes.append(("spec.selector", f"Invalid value: {go_map(spec.get('selector'))}: field is immutable"))
    if causes:
        raise invalid("Deployment", "deployments", name, causes)
    check_cap(store.sim, "deployments", name, spec.get("replicas", 1))
    if dry_run:
        return
    d = store.items("deployments")[key]
    generation = d.generation
    container = spec["template"]["spec"]["containers"][0]
    try:
        if spec.get("paused", False) and not d.paused:
            store.sim.pause(key)
        strategy = spec.get("strategy") or {}
        rolling = strategy.get("rollingUpdate") or {}
        plan = UpdateStrategy(type=strategy.get("type"), max_surge=rolling.get("maxSurge"),
                              max_unavailable=rolling.get("maxUnavailable"),
                              min_ready_seconds=spec.get("minReadySeconds"))
        store.sim.shape_template(key, **written_template(spec))  # with the image below: one rollout
        if container["image"] != d.template.image or plan != UpdateStrategy():
            store.sim.update(key, container["image"], plan)
        if int(spec.get("replicas", 1)) != d.replicas:
            store.sim.scale(key, int(spec.get("replicas", 1)))
        if not spec.get("paused", False) and d.paused:
            store.sim.resume(key)
    except LabkitError as error:
        raise from_labkit(error, "deployments", name) from None
    d.container = container["name"]
    d.labels = dict((wanted.get("metadata") or {}).get("labels") or {})
    d.annotations = user_annotations(wanted)
    d.history_limit = int(spec.get("revisionHistoryLimit", d.history_limit))
    d.generation = min(d.generation, generation + 1)  # one request, one generation, however many steps
    store.sim.api.write("deployments", d)


def delete(store: Storage, namespace: str, name: str, found: Obj, dry_run: bool) -> Obj:
    """The garbage collector takes its replica sets and pods."""
    if dry_run:
        return found
    try:
        store.sim.delete(res.key(namespace or res.NAMESPACE, name))
    except LabkitError as error:
        raise from_labkit(error, "deployments", name) from None
    return deleted("deployments", name, found["metadata"]["uid"])


def scale(store: Storage, namespace: str, name: str) -> Obj:
    """The autoscaling/v1 Scale of a deployment."""
    d = store.get("deployments", namespace, name)
    selector = ",".join(f"{k}={v}" for k, v in d["spec"]["selector"]["matchLabels"].items())
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: d["metadata"][k] for k in ("name", "namespace", "uid", "resourceVersion",
                                                      "creationTimestamp")},
            "spec": {"replicas": d["spec"]["replicas"]},
            "status": {"replicas": d["status"].get("replicas", 0), "selector": selector}}


def read_scale(store: Storage, call: Call) -> tuple[int, Obj]:
    return 200, scale(store, call.namespace, call.name)


def change_scale(store: Storage, call: Call) -> tuple[int, Obj]:
    """A write of the Scale: spec.replicas, checked as the deployment's would be."""
    namespace, name, dry_run = call.namespace, call.name, call.dry_run
    current = scale(store, namespace, name)
    wanted = call.wanted(current)
    if call.patch is None and (wanted.get("metadata") or {}).get("resourceVersion") not in (
            None, current["metadata"]["resourceVersion"]):
        raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on deployments.apps "{name}": the '
                       "object has been modified; please apply your changes to the latest version and try again")
    replicas = (wanted.get("spec") or {}).get("replicas")
    check_int32("Scale", "ScaleSpec", replicas)
    if not isinstance(replicas, int) or replicas < 0:
        raise invalid("Scale", "deployments", name,
                      [("spec.replicas", f"Invalid value: {replicas}: must be greater than or equal to 0")])
    check_cap(store.sim, "deployments", name, replicas)
    if not dry_run and replicas != current["spec"]["replicas"]:
        try:
            store.sim.scale(res.key(namespace, name), replicas)
        except LabkitError as error:
            raise from_labkit(error, "deployments", name) from None
    return 200, scale(store, namespace, name)


# -- validation (pkg/apis/apps/validation) ------------------------------------------------------
def validate_deployment(name: str, spec: dict) -> list[tuple[str, str]]:
    """apps/v1 validation (pkg/apis/apps/validation ValidateDeploymentSpec), on a body schema.py
    has decoded, so every field has its type."""
    check_int32("Deployment", "DeploymentSpec", spec.get("replicas"))
    causes: list[tuple[str, str]] = []
    if not name:
        causes.append(("metadata.name", "Required value: name or generateName is required"))
    elif len(name) > 253 or not DNS1123.match(name):
        causes.append(("metadata.name", f'Invalid value: "{name}": {DNS1123_HELP}'))
    for field in ("replicas", "minReadySeconds", "revisionHistoryLimit", "progressDeadlineSeconds"):
        value = spec.get(field, 0)
        if not isinstance(value, int) or value < 0:
            causes.append((f"spec.{field}", f"Invalid value: {value}: must be greater than or equal to 0"))
    deadline = spec.get("progressDeadlineSeconds")
    if isinstance(deadline, int) and deadline <= spec.get("minReadySeconds", 0):
        causes.append(("spec.progressDeadlineSeconds",
                       f"Invalid value: {deadline}: must be greater than minReadySeconds"))
    causes += _strategy_causes(spec.get("strategy") or {})
    selector = (spec.get("selector") or {}).get("matchLabels")
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if not selector:
        causes.append(("spec.selector", "Required value"))
    elif any(labels.get(k) != v for k, v in selector.items()):
        causes.append(("spec.template.metadata.labels",
                       f"Invalid value: {go_map(labels)}: `selector` does not match template `labels`"))
    containers = (template.get("spec") or {}).get("containers") or []
    if not containers:
        causes.append(("spec.template.spec.containers", "Required value"))
    for i, c in enumerate(containers):
        if not c.get("name"):
            causes.append((f"spec.template.spec.containers[{i}].name", "Required value"))
        if not c.get("image"):
            causes.append((f"spec.template.spec.containers[{i}].image", "Required value"))
        if c.get("readinessProbe") is not None:
            causes += validation.probe(c["readinessProbe"], f"spec.template.spec.containers[{i}].readinessProbe")
    return causes


PERCENT = re.compile(r"[0-9]{1,9}%")
PERCENT_HELP = ("a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', "
                "regex used for validation is '[0-9]+%')")


def _strategy_causes(strategy: dict) -> list[tuple[str, str]]:
    """ValidateDeploymentStrategy and ValidateRollingUpdateDeployment: maxSurge and maxUnavailable
    are counts or percentages, not both 0, maxUnavailable at most 100%; Recreate takes no rollingUpdate."""
    path = "spec.strategy.rollingUpdate"
    rolling = strategy.get("rollingUpdate")
    if strategy.get("type", "RollingUpdate") not in ("Recreate", "RollingUpdate"):
        return [("spec.strategy.type", f'Unsupported value: "{strategy["type"]}": supported values: "Recreate", '
                                       '"RollingUpdate"')]
    if strategy.get("type") == "Recreate":
        return [(path, "Forbidden: may not be specified when strategy `type` is 'Recreate'")] if rolling else []
    causes = []
    amounts = {}
    for field in ("maxUnavailable", "maxSurge"):
        value = (rolling or {}).get(field, "25%")
        if isinstance(value, str) and not PERCENT.fullmatch(value):
            causes.append((f"{path}.{field}", f'Invalid value: "{value}": {PERCENT_HELP}'))
        elif isinstance(value, int) and value < 0:
            causes.append((f"{path}.{field}", f"Invalid value: {value}: must be greater than or equal to 0"))
        else:
            amounts[field] = int(value.rstrip("%")) if isinstance(value, str) else value
    if amounts.get("maxUnavailable") == 0 and amounts.get("maxSurge") == 0:
        causes.append((f"{path}.maxUnavailable", f"Invalid value: {_go_value(rolling['maxUnavailable'])}: "
                                                 "may not be 0 when `maxSurge` is 0"))
    unavailable = (rolling or {}).get("maxUnavailable")
    if isinstance(unavailable, str) and amounts.get("maxUnavailable", 0) > 100:
        causes.append((f"{path}.maxUnavailable", f'Invalid value: "{unavailable}": must not be greater than 100%'))
    return causes


def _go_value(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


def go_map(value: Any) -> str:
    """A value as Go's %#v prints a map[string]string in validation messages."""
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return "map[string]string{" + ", ".join(f'"{k}":"{v}"' for k, v in sorted(value.items())) + "}"
    return repr(value)


def deployment_row(deployment: Obj, now: float) -> list:
    """Follows printDeployment: Name, Ready, Up-to-date, Available, Age | Containers, Images, Selector."""
    meta, spec, status = parts(deployment)
    selector = selector_string(spec.get("selector"))
    return [meta.get("name", ""), f"{status.get('readyReplicas', 0)}/{replicas(spec)}",
            status.get("updatedReplicas", 0), status.get("availableReplicas", 0), age(deployment, now),
            *container_cells(spec.get("template")), "<invalid>" if selector is None else selector]


def _follows(changed: str, record: Any) -> str | None:
    """A deployment's status counts its replica sets' pods: a change to one of them is its change too."""
    if changed == "replicasets":
        return record.owner or None
    if changed == "pods":
        return record.app if record.owner else None
    return None


DEPLOYMENT = REGISTRY.add(Kind(
    group="apps", version="v1", plural="deployments", kind="Deployment", namespaced=True, verbs=ALL,
    short=("deploy",), categories=("all",), schema="io.k8s.api.apps.v1.Deployment", protobuf="Deployment",
    subresources=(STATUS, replace(SCALE, handlers={"GET": read_scale, "PUT": change_scale, "PATCH": change_scale})),
    columns=(NAME, Column("Ready", "string", "Number of the pod with ready state"),
             Column("Up-to-date", "string", "Pods that run the latest pod template (status.updatedReplicas)."),
             Column("Available", "string", "Pods ready for at least minReadySeconds (status.availableReplicas)."),
             AGE, *TEMPLATE, Column("Selector", "string", "Label selector for the deployment's pods.", 1)),
    row=deployment_row, watch=Watch(record="deployments", follows=_follows),
    strategy=Strategy(objects=objects, get=get, validate=validate, create=create, update=update, delete=delete)))

