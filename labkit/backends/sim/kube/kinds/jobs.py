"""Jobs (pkg/registry/batch/job): pods that run to completion, kept as written (kinds/stored.py).

What the API server does to one, as upstream does it:
- defaults (pkg/apis/batch/v1/defaults.go SetDefaults_Job): completions and parallelism 1 when
  neither is set, parallelism 1 when only it is missing, backoffLimit 6, completionMode
  NonIndexed, suspend false, podReplacementPolicy TerminatingOrFailed (Failed with a
  podFailurePolicy), the Job's labels its template's when it has none; the template's pod spec
  gets the pod defaults (pkg/apis/core/v1/defaults.go: restartPolicy Always, which the rules
  below refuse, imagePullPolicy Always for an untagged or :latest image, else IfNotPresent);
- the selector (pkg/registry/batch/job/strategy.go generateSelector, run by Validate on create):
  unless spec.manualSelector, the template gets `batch.kubernetes.io/controller-uid` and
  `controller-uid` (the Job's uid), `batch.kubernetes.io/job-name` and `job-name` (its name), and
  the selector matches `batch.kubernetes.io/controller-uid`. The uid is the one the object is
  served with: the generic store fills it in before the strategy runs (rest.BeforeCreate);
- validation (pkg/apis/batch/validation/validation.go ValidateJob, ValidateJobSpecUpdate):
  the name a DNS-1123 subdomain, counts not negative, completionMode NonIndexed or Indexed
  (Indexed wants completions), the template's restartPolicy OnFailure or Never, a selector that
  matches the template's labels; after create the selector, the template, completions and
  completionMode are immutable (the immutable template's value is abbreviated here; upstream
  prints the whole Go struct).
The status is the job controller's (labkit/backends/sim/jobs.py), kept across client writes
(a status subresource); it keeps its times as cluster seconds and they are stamped here, as the
object is served. Its table follows printJob (pkg/printers/internalversion/printers.go):
Name, Status, Completions, Duration, Age | Containers, Images, Selector.

Protobuf field numbers from kubernetes staging/src/k8s.io/api/batch/v1/generated.proto at
008b3652959ca58af8be3fb5b6ecfe9ae7638282 (`kubectl create job` sends a Job as protobuf).
"""
from __future__ import annotations

import copy
from typing import Any

from ..printers import AGE, NAME, TEMPLATE, age, container_cells, format_label_selector, human_duration, parse_time, \
    parts
from . import ALL, REGISTRY, STATUS, Cause, Column, Kind, Obj
from .batch import check_job_spec, pod_template_defaults, served
from .common import selects
from .stored import record_kind, stored, subdomain_name

UID_LABEL, NAME_LABEL = "batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-name"
LEGACY_UID_LABEL, LEGACY_NAME_LABEL = "controller-uid", "job-name"
RECORD = record_kind("batch", "jobs")  # the simulator store's record kind of Jobs
IMMUTABLE = "field is immutable"

# k8s.io/api/batch/v1 (see the module's docstring); JobStatus is the controller's, never read from a client
MESSAGES = {
    "Job": {1: ("metadata", "ObjectMeta"), 2: ("spec", "JobSpec"), 3: ("status", "Unread")},
    "JobSpec": {1: ("parallelism", "*int32"), 2: ("completions", "*int32"), 3: ("activeDeadlineSeconds", "*int64"),
                11: ("podFailurePolicy", "PodFailurePolicy"), 16: ("successPolicy", "SuccessPolicy"),
                7: ("backoffLimit", "*int32"), 12: ("backoffLimitPerIndex", "*int32"),
                13: ("maxFailedIndexes", "*int32"), 4: ("selector", "LabelSelector"), 5: ("manualSelector", "*bool"),
                6: ("template", "PodTemplateSpec"), 8: ("ttlSecondsAfterFinished", "*int32"),
                9: ("completionMode", "*string"), 10: ("suspend", "*bool"), 14: ("podReplacementPolicy", "*string"),
                15: ("managedBy", "*string")},
    "PodFailurePolicy": {1: ("rules", "[]PodFailurePolicyRule")},
    "PodFailurePolicyRule": {1: ("action", "*string"), 2: ("onExitCodes", "PodFailurePolicyOnExitCodesRequirement"),
                             3: ("onPodConditions", "[]PodFailurePolicyOnPodConditionsPattern")},
    "PodFailurePolicyOnExitCodesRequirement": {1: ("containerName", "*string"), 2: ("operator", "*string"),
                                               3: ("values", "[]int32")},
    "PodFailurePolicyOnPodConditionsPattern": {1: ("type", "*string"), 2: ("status", "*string")},
    "SuccessPolicy": {1: ("rules", "[]SuccessPolicyRule")},
    "SuccessPolicyRule": {1: ("succeededIndexes", "*string"), 2: ("succeededCount", "*int32")},
}


# -- defaults ----------------------------------------------------------------------------------
def job_spec_defaults(spec: Any) -> Any:
    """SetDefaults_Job's part for a JobSpec."""
    if not isinstance(spec, dict):
        return spec
    spec = dict(spec)
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    if spec.get("parallelism") is None:
        spec["parallelism"] = 1
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6
    if spec.get("completionMode") is None:
        spec["completionMode"] = "NonIndexed"
    if spec.get("suspend") is None:
        spec["suspend"] = False
    if spec.get("podReplacementPolicy") is None:
        spec["podReplacementPolicy"] = "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed"
    if "template" in spec:
        spec["template"] = pod_template_defaults(spec["template"])
    return spec


def prepare(body: Obj, current: Obj | None) -> Obj:
    """Defaults on every write (they are applied as a body is decoded); the Job's labels are its
    template's when it has none."""
    body["spec"] = job_spec_defaults(body.get("spec") or {})
    template = body["spec"].get("template") if isinstance(body["spec"].get("template"), dict) else {}
    labels = (template.get("metadata") or {}).get("labels")
    if labels and not body["metadata"].get("labels"):
        body["metadata"]["labels"] = dict(labels)
    return body


def with_selector(body: Obj, name: str, uid: str) -> Obj:
    """generateSelector: the template's labels and the selector, unless the client picks them (manualSelector)."""
    body = copy.deepcopy(body)
    spec = body.get("spec")
    if not isinstance(spec, dict) or spec.get("manualSelector") is True:
        return body
    template = spec["template"] = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    meta = template["metadata"] = template.get("metadata") if isinstance(template.get("metadata"), dict) else {}
    labels = meta["labels"] = dict(meta.get("labels") or {})
    for key, value in ((LEGACY_NAME_LABEL, name), (NAME_LABEL, name), (LEGACY_UID_LABEL, uid), (UID_LABEL, uid)):
        labels.setdefault(key, value)
    selector = spec["selector"] = dict(spec.get("selector") or {})
    selector["matchLabels"] = {**(selector.get("matchLabels") or {})}
    selector["matchLabels"].setdefault(UID_LABEL, uid)
    return body


# -- validation --------------------------------------------------------------------------------
def check(name: str, body: Obj, current: Obj | None) -> list[Cause]:
    """ValidateJob on create, ValidateJobUpdate on update (see the module's docstring)."""
    spec = body.get("spec") or {}
    causes = subdomain_name(name) + check_job_spec(spec)
    selector = spec.get("selector")
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if not selector:
        causes.append(("spec.selector", "Required value"))
    elif not selects(selector, labels):
        causes.append(("spec.template.metadata.labels",
                       f"Invalid value: {go_map(labels)}: `selector` does not match template `labels`"))
    if current is None:
        return causes
    old = current.get("spec") or {}
    if selector != old.get("selector"):
        causes.append(("spec.selector", f"Invalid value: {go_selector(selector)}: {IMMUTABLE}"))
    if comparable(spec.get("template")) != comparable(old.get("template")):
        causes.append(("spec.template", f"Invalid value: core.PodTemplateSpec{{...}}: {IMMUTABLE}"))
    for field in ("completions", "completionMode"):
        if spec.get(field) != old.get(field):
            causes.append((f"spec.{field}", f"Invalid value: {spec.get(field)}: {IMMUTABLE}"))
    return causes


def comparable(template: Any) -> Any:
    """A template as validatePodTemplateUpdate compares it: its labels, annotations, node selector and
    tolerations may change (the scheduling directives a suspended Job's queue sets), the rest may not."""
    if not isinstance(template, dict):
        return template
    out = copy.deepcopy(template)
    meta = out.get("metadata") or {}
    out["metadata"] = {k: v for k, v in meta.items() if k not in ("labels", "annotations", "creationTimestamp")}
    if isinstance(out.get("spec"), dict):
        out["spec"] = {k: v for k, v in out["spec"].items() if k not in ("nodeSelector", "tolerations",
                                                                         "schedulingGates")}
    return out


def go_map(labels: dict) -> str:
    return "map[string]string{" + ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items())) + "}"


def go_selector(selector: Any) -> str:
    if not isinstance(selector, dict):
        return "nil"
    return f"&v1.LabelSelector{{MatchLabels:{go_map(selector.get('matchLabels') or {})}, MatchExpressions:[]}}"


# -- the table ---------------------------------------------------------------------------------
def condition(obj: Obj, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True"
               for c in (obj.get("status") or {}).get("conditions") or [])


def job_row(job: Obj, now: float) -> list:
    """Follows printJob: Name, Status, Completions, Duration, Age | Containers, Images, Selector."""
    meta, spec, status = parts(job)
    succeeded = status.get("succeeded", 0)
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{spec['completions']}"
    elif (spec.get("parallelism") or 0) > 1:
        completions = f"{succeeded}/1 of {spec['parallelism']}"
    else:
        completions = f"{succeeded}/1"
    duration = ""
    if status.get("startTime"):
        end = parse_time(status["completionTime"]) if status.get("completionTime") else now
        duration = human_duration(end - parse_time(status["startTime"]))
    state = next((word for word, found in (
        ("Complete", condition(job, "Complete")), ("Failed", condition(job, "Failed")),
        ("Terminating", bool(meta.get("deletionTimestamp"))), ("Suspended", condition(job, "Suspended")),
        ("FailureTarget", condition(job, "FailureTarget"))) if found), "Running")
    return [meta.get("name", ""), state, completions, duration, age(job, now), *container_cells(spec.get("template")),
            format_label_selector(spec.get("selector"))]


JOB = REGISTRY.add(Kind(
    group="batch", version="v1", plural="jobs", kind="Job", namespaced=True, verbs=ALL, categories=("all",),
    subresources=(STATUS,), schema="io.k8s.api.batch.v1.Job", protobuf="Job", messages=MESSAGES,
    columns=(NAME, Column("Status", "string", "Status of the job."),
             Column("Completions", "string", "The number of pods which reached phase Succeeded."),
             Column("Duration", "string", "Time required to complete the job."), AGE, *TEMPLATE,
             Column("Selector", "string", "A label query over pods that should match the pod count.", 1)),
    row=job_row, **served(stored("Job", "batch/v1", "jobs", prepare=prepare, check=check, generation=True,
                                 status=True), "Job", "jobs", with_selector)))
