"""The cronjob controller (pkg/controller/cronjob/cronjob_controllerv2.go): Jobs on a schedule.

A CronJob is kept as written (kube/kinds/cronjobs.py, record "stored/batch/cronjobs"); this
controller, as syncCronJob does:

- keeps `status.active` (references to its Jobs that have not finished; `SawCompletedJob` when
  one has) and `lastSuccessfulTime`, and deletes the finished Jobs beyond
  successfulJobsHistoryLimit and failedJobsHistoryLimit, the oldest first (`SuccessfulDelete`);
- at each time the schedule names (sim/cron.py, in spec.timeZone, else UTC, the controller
  manager's zone) since the last one, unless suspended, makes the Job `<cronjob>-<the scheduled
  time in minutes since the Unix epoch>` from its jobTemplate, owned by the CronJob (controller),
  annotated `batch.kubernetes.io/cronjob-scheduled-timestamp` (`SuccessfulCreate  Created job
  x`); only the most recent missed time runs, not one started startingDeadlineSeconds late;
  concurrencyPolicy Forbid skips a time while a Job is active (`JobAlreadyActive`), Replace
  deletes the active ones first;
- looks again just after the next scheduled time.

The Job is made as the API server would make it (the Job kind's defaults, selector and rules,
kube/kinds/jobs.py) and the job controller (sim/jobs.py) runs it. A deleted CronJob's Jobs are
deleted (the garbage collector's work), and their pods with them.

Cluster time is a wall clock here: the cluster's second 0 is the wall-clock second this controller
started (`base`); a served cluster running 20x faster than the wall clock runs its schedules 20x
faster too, in step with the ages it shows.
"""
from __future__ import annotations

import copy
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from .controllers import Result, WorkQueue
from .cron import CronError, parse
from .jobs import RECORD as JOB_RECORD, JobController, finished
from .kube.kinds.stored import Record, write_status
from .kube.resources import key as make_key, split, uid as make_uid

RECORD = "stored/batch/cronjobs"  # kube/kinds/stored.py record_kind("batch", "cronjobs")
SOURCE = "cronjob-controller"
MISSED_LIMIT = 100  # more missed times than this: said in an event (TooManyMissedTimes)
SCHEDULED = "batch.kubernetes.io/cronjob-scheduled-timestamp"


def owner_uid(job: dict) -> str | None:
    refs = (job.get("metadata") or {}).get("ownerReferences") or []
    return next((r.get("uid") for r in refs if r.get("kind") == "CronJob" and r.get("controller")), None)


class CronJobController:
    def __init__(self, sim) -> None:
        self.api, self.clock = sim.api, sim.clock
        self.manager_running = lambda: sim.deployments is None or sim.deployments.queue.running
        self.base = float(int(time.time() - self.clock.now))  # the wall-clock second of cluster second 0
        self.queue = WorkQueue(self.clock, self.api, self.sync)
        self.api.store.watch(RECORD, lambda event, rec: self.queue.add(rec.name))
        self.api.store.watch(JOB_RECORD, self._on_job)

    def _on_job(self, event: str, rec: Record) -> None:
        """A Job of a CronJob changed: its CronJob looks again (by its owner's name, in its namespace)."""
        refs = (rec.body.get("metadata") or {}).get("ownerReferences") or []
        owner = next((r.get("name") for r in refs if r.get("kind") == "CronJob" and r.get("controller")), None)
        if owner:
            self.queue.add(make_key(split(rec.name)[0], owner))

    def wall(self, t: float) -> float:
        return self.base + t

    def sync(self, key: str) -> Result | None:
        if not self.manager_running():
            return Result(requeue_after=1.0)
        namespace, name = split(key)
        rec = self.api.items(RECORD).get(key)
        uid = make_uid("CronJob", key, rec.created) if rec is not None else None
        jobs = self.api.items(JOB_RECORD)
        mine = {k: j for k, j in jobs.items() if split(k)[0] == namespace
                and owner_uid(j.body) is not None and
                any(r.get("name") == name for r in j.body["metadata"].get("ownerReferences") or [])}
        if rec is None:  # the garbage collector: a deleted CronJob's Jobs go (and their pods with them)
            for k in list(mine):
                self.api.remove(JOB_RECORD, k)
            return None
        mine = {k: j for k, j in mine.items() if owner_uid(j.body) == uid}
        spec, status = rec.body.get("spec") or {}, copy.deepcopy(rec.body.get("status") or {})
        self._track(key, mine, status)
        self._clean(key, spec, mine)
        result = None if spec.get("suspend") else self._schedule(key, rec, uid, spec, status, mine)
        write_status(self.api, "batch", "cronjobs", key, {k: status[k] for k in
                                                           ("active", "lastScheduleTime", "lastSuccessfulTime")
                                                           if status.get(k)})
        return result

    def _track(self, key: str, mine: dict, status: dict) -> None:
        """status.active: the Jobs not finished; the ones that finished since, said (SawCompletedJob)."""
        active = []
        for ref in status.get("active") or []:
            job_key = make_key(split(key)[0], ref.get("name", ""))
            job = mine.get(job_key)
            if job is None:
                continue
            done = finished(job.body.get("status") or {})
            if done is None:
                active.append(ref)
                continue
            self.api.record("SawCompletedJob", f"cronjob/{key}",
                            f"Saw completed job: {ref['name']}, condition: {done['type']}", source=SOURCE)
        known = {r.get("name") for r in active}
        for job_key, job in sorted(mine.items()):  # a Job of it that status does not list yet (made by hand)
            done_before = any(r.get("name") == split(job_key)[1] for r in status.get("active") or [])
            if finished(job.body.get("status") or {}) is None and split(job_key)[1] not in known and not done_before:
                active.append(self._ref(job_key, job))
        for job in mine.values():
            done = finished(job.body.get("status") or {})
            when = (job.body.get("status") or {}).get("completionTime")
            if done is not None and done["type"] == "Complete" and when is not None:
                status["lastSuccessfulTime"] = max(status.get("lastSuccessfulTime") or 0.0, when)
        status["active"] = active

    def _clean(self, key: str, spec: dict, mine: dict) -> None:
        """The history limits: the oldest finished Jobs beyond them are deleted."""
        for kind, limit in (("Complete", spec.get("successfulJobsHistoryLimit", 3)),
                            ("Failed", spec.get("failedJobsHistoryLimit", 1))):
            done = sorted((j.created, k) for k, j in mine.items()
                          if (finished(j.body.get("status") or {}) or {}).get("type") == kind)
            for _, job_key in done[:max(len(done) - (limit or 0), 0)]:
                self.api.remove(JOB_RECORD, job_key)
                mine.pop(job_key, None)
                self.api.record("SuccessfulDelete", f"cronjob/{key}", f"Deleted job {split(job_key)[1]}",
                                source=SOURCE)

    def _schedule(self, key: str, rec: Record, uid: str, spec: dict, status: dict, mine: dict) -> Result | None:
        try:
            schedule = parse(spec.get("schedule") or "")
        except CronError:
            return None
        zone = ZoneInfo(spec["timeZone"]) if spec.get("timeZone") else timezone.utc
        now = datetime.fromtimestamp(self.wall(self.clock.now), zone).replace(tzinfo=None)
        since = status.get("lastScheduleTime")
        earliest = datetime.fromtimestamp(self.wall(since if since is not None else rec.created), zone) \
            .replace(tzinfo=None)
        deadline = spec.get("startingDeadlineSeconds")
        if deadline is not None:
            earliest = max(earliest, datetime.fromtimestamp(self.wall(self.clock.now - deadline), zone)
                           .replace(tzinfo=None))
        latest, missed, t = None, 0, schedule.next(earliest)
        while t is not None and t <= now:
            latest, missed = t, missed + 1
            if missed > 10_000:
                break
            t = schedule.next(t)
        after = (t.replace(tzinfo=zone).timestamp() - self.wall(self.clock.now) + 0.1) if t is not None else None
        result = Result(requeue_after=max(after, 0.1)) if after is not None else None
        if latest is None:
            return result
        if missed > MISSED_LIMIT:
            self.api.record("TooManyMissedTimes", f"cronjob/{key}", f"too many missed start times: {missed}. Set or "
                            "decrease .spec.startingDeadlineSeconds or check clock skew", type="Warning", source=SOURCE)
        scheduled = latest.replace(tzinfo=zone)
        active = status.get("active") or []
        policy = spec.get("concurrencyPolicy", "Allow")
        if policy == "Forbid" and active:
            self.api.record("JobAlreadyActive", f"cronjob/{key}", "Not starting job because prior execution is "
                            "running and concurrency policy is Forbid", source=SOURCE)
            return result
        if policy == "Replace":
            for ref in active:
                job_key = make_key(split(key)[0], ref["name"])
                if job_key in self.api.items(JOB_RECORD):
                    self.api.remove(JOB_RECORD, job_key)
                    self.api.record("SuccessfulDelete", f"cronjob/{key}", f"Deleted job {ref['name']}", source=SOURCE)
            active = status["active"] = []
        made = self._make_job(key, rec, uid, spec, scheduled)
        if made is not None:
            status["active"] = active + [made]
        status["lastScheduleTime"] = scheduled.timestamp() - self.base
        return result

    def _make_job(self, key: str, rec: Record, uid: str, spec: dict, scheduled: datetime) -> dict | None:
        """getJobFromTemplate2, then the API server's create of that Job (its defaults, selector and rules)."""
        from .kube import registry  # noqa: F401  (every kind registered, in discovery's order, before the Job's)
        from .kube.kinds import jobs as job_kind

        namespace, name = split(key)
        job_name = f"{name}-{int(scheduled.timestamp()) // 60}"
        job_key = make_key(namespace, job_name)
        if job_key in self.api.items(JOB_RECORD):
            return None  # made already (this time was seen before)
        template = (spec.get("jobTemplate") or {})
        meta = template.get("metadata") or {}
        body = {"metadata": {"name": job_name, "labels": dict(meta.get("labels") or {}),
                             "annotations": {**(meta.get("annotations") or {}),
                                             SCHEDULED: scheduled.isoformat().replace("+00:00", "Z")},
                             "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": name, "uid": uid,
                                                  "controller": True, "blockOwnerDeletion": True}]},
                "spec": copy.deepcopy(template.get("spec") or {})}
        if not body["metadata"]["labels"]:
            del body["metadata"]["labels"]
        created = self.clock.now
        body = job_kind.prepare(job_kind.with_selector(body, job_name, make_uid("Job", job_key, created)), None)
        causes = job_kind.check(job_name, body, None)
        if causes:
            self.api.record("FailedCreate", f"cronjob/{key}", "Error creating job: Job.batch \"" + job_name +
                            "\" is invalid: " + "; ".join(f"{f}: {m}" for f, m in causes), type="Warning",
                            source=SOURCE)
            return None
        job = Record(job_key, body, created)
        self.api.write(JOB_RECORD, job)
        self.api.record("SuccessfulCreate", f"cronjob/{key}", f"Created job {job_name}", source=SOURCE)
        return self._ref(job_key, job)

    def _ref(self, job_key: str, job: Record) -> dict:
        namespace, name = split(job_key)
        return {"kind": "Job", "namespace": namespace, "name": name, "uid": make_uid("Job", job_key, job.created),
                "apiVersion": "batch/v1", "resourceVersion": str(job.resource_version)}


def controllers(sim) -> tuple:
    """The batch controllers, as the controller manager runs them: the job controller (jobs.py) and this
    one; none in a simulator without a controller manager (Swarm, Docker). backend.py starts them."""
    if sim.deployments is None:
        return ()
    return JobController(sim), CronJobController(sim)
