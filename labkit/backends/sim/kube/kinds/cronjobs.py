"""CronJobs (pkg/registry/batch/cronjob): Jobs made on a schedule, kept as written (kinds/stored.py).

Defaults (pkg/apis/batch/v1/defaults.go SetDefaults_CronJob): concurrencyPolicy Allow, suspend
false, successfulJobsHistoryLimit 3, failedJobsHistoryLimit 1; the job template's pod spec gets
the pod defaults (its JobSpec none: a Job made from it gets them as it is made). Validation
(pkg/apis/batch/validation ValidateCronJobCreate, ValidateCronJobUpdate): the name a DNS-1123
subdomain of at most 52 characters (the controller adds `-<11 digits>`), a schedule robfig/cron
reads (sim/cron.py, its errors in its words) without TZ= in it, a known timeZone, a
concurrencyPolicy of Allow, Forbid or Replace, counts not negative, the job template's spec as a
Job's (restartPolicy OnFailure or Never) without a selector. The status (active, lastScheduleTime,
lastSuccessfulTime) is the cronjob controller's (sim/cronjobs.py). The table follows printCronJob
(pkg/printers/internalversion/printers.go): Name, Schedule, Timezone, Suspend, Active, Last
Schedule, Age | Containers, Images, Selector.

Protobuf field numbers from kubernetes staging/src/k8s.io/api/batch/v1/generated.proto at
008b3652959ca58af8be3fb5b6ecfe9ae7638282 (`kubectl create cronjob` sends a CronJob as protobuf).
"""
from __future__ import annotations

import re
import zoneinfo

from ...cron import CronError, parse
from ..printers import AGE, NAME, TEMPLATE, age, container_cells, format_label_selector, parts, since
from . import ALL, REGISTRY, STATUS, Cause, Column, Kind, Obj
from .batch import check_job_spec, nonnegative, pod_template_defaults, served
from .stored import stored, subdomain_name

POLICIES = ("Allow", "Forbid", "Replace")
ZONE_PART = re.compile(r"^[A-Za-z.\-_0-9+]{1,14}$")

MESSAGES = {
    "CronJob": {1: ("metadata", "ObjectMeta"), 2: ("spec", "CronJobSpec"), 3: ("status", "Unread")},
    "CronJobSpec": {1: ("schedule", "string"), 8: ("timeZone", "*string"), 2: ("startingDeadlineSeconds", "*int64"),
                    3: ("concurrencyPolicy", "string"), 4: ("suspend", "*bool"), 5: ("jobTemplate", "JobTemplateSpec"),
                    6: ("successfulJobsHistoryLimit", "*int32"), 7: ("failedJobsHistoryLimit", "*int32")},
    "JobTemplateSpec": {1: ("metadata", "ObjectMeta"), 2: ("spec", "JobSpec")},
}


def prepare(body: Obj, current: Obj | None) -> Obj:
    spec = body["spec"] = dict(body.get("spec") or {})
    for key, value in (("concurrencyPolicy", "Allow"), ("suspend", False), ("successfulJobsHistoryLimit", 3),
                       ("failedJobsHistoryLimit", 1)):
        if spec.get(key) is None:
            spec[key] = value
    template = spec.get("jobTemplate")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict) and "template" in template["spec"]:
        spec["jobTemplate"] = {**template, "spec": {**template["spec"],
                                                    "template": pod_template_defaults(template["spec"]["template"])}}
    return body


def zone_causes(zone: object) -> list[Cause]:
    """validateTimeZone: nil, or an IANA name the time zone database knows."""
    if zone is None:
        return []
    text = str(zone)
    if not text:
        return [("spec.timeZone", 'Invalid value: "": timeZone must be nil or non-empty string')]
    if any(p in (".", "..") or p.startswith("-") or not ZONE_PART.match(p) for p in text.split("/")):
        return [("spec.timeZone", f'Invalid value: "{text}": unknown time zone {text}')]
    if text.lower() == "local":
        return [("spec.timeZone", f'Invalid value: "{text}": timeZone must be an explicit time zone as defined in '
                 "https://www.iana.org/time-zones")]
    try:
        zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return [("spec.timeZone", f'Invalid value: "{text}": unknown time zone {text}')]
    return []


def check(name: str, body: Obj, current: Obj | None) -> list[Cause]:
    spec = body.get("spec") or {}
    causes = subdomain_name(name)
    schedule = spec.get("schedule") or ""
    if not schedule:
        causes.append(("spec.schedule", "Required value"))
    else:
        try:
            parse(schedule)
        except CronError as error:
            causes.append(("spec.schedule", f'Invalid value: "{schedule}": {error}'))
        allowed = current is not None and "TZ" in ((current.get("spec") or {}).get("schedule") or "")
        if "TZ" in schedule and not allowed:
            causes.append(("spec.schedule", f'Invalid value: "{schedule}": cannot use TZ or CRON_TZ in schedule, '
                           "use timeZone field instead"))
    causes += nonnegative(spec, "spec", "startingDeadlineSeconds", "successfulJobsHistoryLimit",
                          "failedJobsHistoryLimit")
    old_zone = (current.get("spec") or {}).get("timeZone") if current is not None else object()
    if spec.get("timeZone") != old_zone:
        causes += zone_causes(spec.get("timeZone"))
    policy = spec.get("concurrencyPolicy") or ""
    if not policy:
        causes.append(("spec.concurrencyPolicy", "Required value"))
    elif policy not in POLICIES:
        causes.append(("spec.concurrencyPolicy", f'Unsupported value: "{policy}": supported values: '
                       '"Allow", "Forbid", "Replace"'))
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    causes += check_job_spec(job_spec, "spec.jobTemplate.spec")
    if job_spec.get("selector") is not None:
        causes.append(("spec.jobTemplate.spec.selector",
                       'Invalid value: "object": `selector` will be auto-generated'))
    if job_spec.get("manualSelector") is True:
        causes.append(("spec.jobTemplate.spec.manualSelector", 'Unsupported value: true: supported values: "nil", '
                       '"false"'))
    if current is None and len(name) > 52:
        causes.append(("metadata.name", f'Invalid value: "{name}": must be no more than 52 characters'))
    return causes


def cronjob_row(cronjob: Obj, now: float) -> list:
    """Follows printCronJob: Name, Schedule, Timezone, Suspend, Active, Last Schedule, Age | Containers, Images,
    Selector."""
    meta, spec, status = parts(cronjob)
    suspend = spec.get("suspend")
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    last = since(status["lastScheduleTime"], now) if status.get("lastScheduleTime") else "<none>"
    return [meta.get("name", ""), spec.get("schedule", ""), spec.get("timeZone") or "<none>",
            "<unset>" if suspend is None else str(bool(suspend)), len(status.get("active") or []), last,
            age(cronjob, now), *container_cells(job_spec.get("template")),
            format_label_selector(job_spec.get("selector"))]


CRONJOB = REGISTRY.add(Kind(
    group="batch", version="v1", plural="cronjobs", kind="CronJob", namespaced=True, verbs=ALL, short=("cj",),
    categories=("all",), subresources=(STATUS,), schema="io.k8s.api.batch.v1.CronJob", protobuf="CronJob",
    messages=MESSAGES,
    columns=(NAME, Column("Schedule", "string", "The schedule in Cron format."),
             Column("Timezone", "string", "The time zone name for the given schedule."),
             Column("Suspend", "boolean", "This flag tells the controller to suspend subsequent executions."),
             Column("Active", "integer", "A list of pointers to currently running jobs."),
             Column("Last Schedule", "string", "Information when was the last time the job was successfully "
                    "scheduled."), AGE, *TEMPLATE,
             Column("Selector", "string", "A label query over pods that should match the pod count.", 1)),
    row=cronjob_row, **served(stored("CronJob", "batch/v1", "cronjobs", prepare=prepare, check=check, generation=True,
                                     status=True), "CronJob", "cronjobs", make=lambda body, name, uid: body)))
