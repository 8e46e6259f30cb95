"""The job controller (kube-controller-manager's, pkg/controller/job/job_controller.go): a Job's pods.

A Job is kept as its client wrote it (kube/kinds/jobs.py, a record "stored/batch/jobs" of the
simulator's store); this controller reads it, makes its pods and writes its status, as the real
one does (syncJob, manageJob):

- its pods are named `<job>-<5 characters>` (the API server's generateName), made from the Job's
  template, labelled as it (with the Job's uid and name), owned by it: a Pod record whose `owner`
  is "Job:/<the Job's uid>/<its key>" (the served pod's ownerReference says kind Job, controller true);
- up to `parallelism` run at once, until `completions` succeeded (without completions: until one
  succeeded and none is left running); a failed pod (phase Failed, restartPolicy Never) or one
  deleted before it ended counts as failed and is replaced after a back-off of 10 s, doubling
  with each failure in a row, at most 6 minutes (DefaultJobPodFailureBackOff,
  MaxJobPodFailureBackOff); more than `backoffLimit` failures (with OnFailure: as many container
  restarts) or a run longer than activeDeadlineSeconds fail the Job: a FailureTarget condition,
  its running pods deleted, then Failed (reason BackoffLimitExceeded or DeadlineExceeded);
- an Indexed Job's pods each have an index (0 to completions - 1, the lowest missing first), named
  `<job>-<index>-<5 characters>`, labelled and annotated `batch.kubernetes.io/job-completion-index`,
  host name `<job>-<index>`, JOB_COMPLETION_INDEX in their environment; it succeeds once each index
  did (status.completedIndexes, "0-2,4");
- enough successes: the SuccessCriteriaMet and Complete conditions (reason CompletionsReached),
  completionTime, the event `Completed  Job completed`;
- `suspend`: no pods (running ones are deleted), the Suspended condition, no startTime until
  it is resumed (`Resumed`);
- the status as the real controller writes it: startTime, completionTime, active, succeeded,
  failed, terminating, ready, uncountedTerminatedPods (empty: a pod is counted as it ends, where
  the real controller counts through a finalizer), conditions; times are cluster seconds, stamped
  as the Job is served; events `SuccessfulCreate  Created pod: x`, `SuccessfulDelete`;
- a deleted Job's pods are deleted (the garbage collector's work, as for `kubectl delete job`'s
  Background propagation), and so are those of a Job finished ttlSecondsAfterFinished ago (the
  TTL-after-finished controller deletes the Job).

It runs while the controller manager runs (the deployment controller's queue says so). Counted
pods are this controller's bookkeeping (by Job uid), never written elsewhere.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

from .controllers import OwnedPods, Result, WorkQueue, delete_pod, suffix
from .kube.kinds.stored import write_status
from .kube.resources import key as make_key, short, split, uid as make_uid
from .objects import Pod, Template

RECORD = "stored/batch/jobs"  # kube/kinds/stored.py record_kind("batch", "jobs")
OWNER = "Job:/"  # a Pod record's owner when a Job owns it: OWNER + the Job's uid + "/" + the Job's key
INDEX = "batch.kubernetes.io/job-completion-index"  # an Indexed Job's pod's label and annotation
SOURCE = "job-controller"
BACKOFF_START, BACKOFF_CAP = 10.0, 360.0  # DefaultJobPodFailureBackOff, MaxJobPodFailureBackOff
MANAGER_POLL = 1.0  # a stopped controller manager: look again this much later


def job_of(pod: Pod) -> str | None:
    """The key of the Job owning `pod`, or None."""
    return pod.owner[len(OWNER):].partition("/")[2] if pod.owner.startswith(OWNER) else None


def job_uid(pod: Pod) -> str:
    """The uid of the Job owning `pod` (kube/kinds/pods.py serves it in the pod's ownerReference)."""
    return pod.owner[len(OWNER):].partition("/")[0]


def outcome(pod: Pod) -> str | None:
    """"succeeded" or "failed" once the pod has ended for good (its served phase), else None."""
    if pod.phase == "succeeded":
        return "succeeded"
    if pod.phase == "failed" and pod.restart_policy == "Never":
        return "failed"
    return None


def has(status: dict, kind: str) -> dict | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind and c.get("status") == "True"),
                None)


def finished(status: dict) -> dict | None:
    """The Complete or Failed condition of a finished Job."""
    return has(status, "Complete") or has(status, "Failed")


@dataclass
class Book:
    """What the controller remembers of one Job (by uid): the pods it counted and deleted, failures in a row."""
    counted: set[str] = field(default_factory=set)
    removing: set[str] = field(default_factory=set)
    streak: int = 0
    last_failure: float = 0.0


class JobController:
    def __init__(self, sim) -> None:
        self.api, self.clock = sim.api, sim.clock
        self.manager_running = lambda: sim.deployments is None or sim.deployments.queue.running
        self.queue = WorkQueue(self.clock, self.api, self.sync)
        self.pods = OwnedPods(self.api, job_of, self.queue.add)  # Job key -> its pods, from the pod watch
        self.books: dict[str, Book] = {}
        self.api.store.watch(RECORD, lambda event, rec: self.queue.add(rec.name))

    def owned(self, key: str) -> list[Pod]:
        return self.pods.of(key)

    # -- one look at one Job ---------------------------------------------------------------
    def sync(self, key: str) -> Result | None:
        if not self.manager_running():
            return Result(requeue_after=MANAGER_POLL)
        rec = self.api.items(RECORD).get(key)
        uid = make_uid("Job", key, rec.created) if rec is not None else None
        pods = []
        for pod in self.owned(key):  # the garbage collector: pods of a Job that is gone (or made again)
            if job_uid(pod) == uid:
                pods.append(pod)
            elif not pod.deleting:
                delete_pod(self.api, pod, source="garbage-collector")
        if rec is None:
            return None
        spec, status = rec.body.get("spec") or {}, copy.deepcopy(rec.body.get("status") or {})
        book = self.books.setdefault(uid, Book())
        done = finished(status)
        result = self._expire(key, spec, done) if done else self._run(key, rec.body, spec, status, pods, book)
        if not done:
            write_status(self.api, "batch", "jobs", key, shaped(status))
        return result

    def _expire(self, key: str, spec: dict, done: dict) -> Result | None:
        """ttlSecondsAfterFinished (pkg/controller/ttlafterfinished): the finished Job goes that long after."""
        ttl = spec.get("ttlSecondsAfterFinished")
        if ttl is None:
            return None
        left = done["lastTransitionTime"] + ttl - self.clock.now
        if left > 0:
            return Result(requeue_after=left)
        self.api.remove(RECORD, key)
        return None

    def _run(self, key: str, job: dict, spec: dict, status: dict, pods: list[Pod], book: Book) -> Result | None:
        now = self.clock.now
        indexed = spec.get("completionMode") == "Indexed"
        done = indexes(status.get("completedIndexes", ""))
        for pod in pods:  # count the pods that ended since the last look
            if pod.name in book.counted:
                continue
            ended = outcome(pod) or ("failed" if pod.deleting and pod.name not in book.removing else None)
            if ended is None:
                continue
            book.counted.add(pod.name)
            if indexed and ended == "succeeded":  # an Indexed Job counts its indexes that succeeded
                done.add(index_of(pod))
                status["succeeded"], status["completedIndexes"] = len(done), ranges(done)
            else:
                status[ended] = status.get(ended, 0) + 1
            book.streak = book.streak + 1 if ended == "failed" else 0
            book.last_failure = now if ended == "failed" else book.last_failure
        active = [p for p in pods if not p.deleting and outcome(p) is None]
        suspended = bool(spec.get("suspend"))
        if not suspended and status.get("startTime") is None:
            status["startTime"] = now
        failure = self._failure(spec, status, active)
        completions, succeeded = spec.get("completions"), status.get("succeeded", 0)
        requeue = None
        if failure is not None:
            if not has(status, "FailureTarget"):
                set_condition(status, "FailureTarget", *failure, now)
            active = self._delete(key, active, len(active), book, counted=True)  # isPodFailed: deleted ones fail
            if not any(p.deleting and outcome(p) is None for p in pods):
                set_condition(status, "Failed", *failure, now)
                self.api.record(failure[0], f"job/{key}", failure[1], type="Warning", source=SOURCE)
        elif (succeeded >= completions) if completions is not None else (succeeded > 0 and not active):
            active = self._delete(key, active, len(active), book)
            set_condition(status, "SuccessCriteriaMet", "CompletionsReached",
                          "Reached expected number of succeeded pods", now)
            set_condition(status, "Complete", "CompletionsReached", "Reached expected number of succeeded pods", now)
            status["completionTime"] = now
            self.api.record("Completed", f"job/{key}", "Job completed", source=SOURCE)
        elif suspended:
            active = self._delete(key, active, len(active), book)
            status.pop("startTime", None)
            if not has(status, "Suspended"):
                set_condition(status, "Suspended", "JobSuspended", "Job suspended", now)
                self.api.record("Suspended", f"job/{key}", "Job suspended", source=SOURCE)
        else:
            if any(c.get("type") == "Suspended" and c.get("status") == "True" for c in status.get("conditions") or []):
                set_condition(status, "Suspended", "JobResumed", "Job resumed", now, "False")
                self.api.record("Resumed", f"job/{key}", "Job resumed", source=SOURCE)
            parallelism = spec.get("parallelism", 1)
            want = len(active) if completions is None and succeeded else \
                parallelism if completions is None else min(completions - succeeded, parallelism)
            if want < len(active):
                active = self._delete(key, active, len(active) - want, book)
            elif want > len(active):
                wait = self._backoff(book)
                if wait > 0:
                    requeue = wait
                elif indexed:  # the lowest indexes neither done nor running
                    running = {index_of(p) for p in active}
                    pending = [i for i in range(completions) if i not in done and i not in running]
                    active = active + [self._create(key, job, i) for i in pending[:want - len(active)]]
                else:
                    active = active + [self._create(key, job) for _ in range(want - len(active))]
            deadline = spec.get("activeDeadlineSeconds")
            if deadline is not None and status.get("startTime") is not None:
                left = status["startTime"] + deadline - now
                requeue = left if requeue is None else min(requeue, left)
        status["active"] = len(active)
        status["ready"] = sum(1 for p in active if p.ready)
        status["terminating"] = sum(1 for p in self.owned(key) if p.deleting and outcome(p) is None)
        return Result(requeue_after=max(requeue, 0.0)) if requeue is not None else None

    def _failure(self, spec: dict, status: dict, active: list[Pod]) -> tuple[str, str] | None:
        """Why the Job fails, if it does (syncJob: exceedsBackoffLimit, pastBackoffLimitOnFailure,
        pastActiveDeadline); a FailureTarget already set keeps its reason."""
        target = has(status, "FailureTarget")
        if target is not None:
            return target["reason"], target["message"]
        limit = spec.get("backoffLimit", 6)
        restarts = sum(p.restarts for p in active) if (spec.get("template") or {}).get("spec", {}).get(
            "restartPolicy") == "OnFailure" else 0
        if status.get("failed", 0) > limit or (restarts > 0 if limit == 0 else restarts >= limit > 0):
            return "BackoffLimitExceeded", "Job has reached the specified backoff limit"
        deadline = spec.get("activeDeadlineSeconds")
        if deadline is not None and status.get("startTime") is not None and \
                self.clock.now - status["startTime"] >= deadline:
            return "DeadlineExceeded", "Job was active longer than specified deadline"
        return None

    def _backoff(self, book: Book) -> float:
        """What is left of the back-off after the last failure (getRemainingTime)."""
        if not book.streak:
            return 0.0
        wait = min(BACKOFF_START * 2 ** (book.streak - 1), BACKOFF_CAP)
        return max(book.last_failure + wait - self.clock.now, 0.0)

    def _create(self, key: str, job: dict, index: int | None = None) -> Pod:
        """A pod of the Job; of an Indexed Job's, its index: named `<job>-<index>-<5 characters>`, labelled and
        annotated with it, its host name `<job>-<index>`, JOB_COMPLETION_INDEX in each container's environment
        (addCompletionIndexAnnotation, addCompletionIndexEnvVariables)."""
        namespace, name = split(key)
        prefix = f"{name}-" if index is None else f"{name}-{index}-"
        pods = self.api.items("pods")
        pod_key = make_key(namespace, f"{prefix[:58]}{suffix(self.clock)}")
        while pod_key in pods:
            pod_key = make_key(namespace, f"{prefix[:58]}{suffix(self.clock)}")
        template = (job.get("spec") or {}).get("template") or {}
        meta, spec = template.get("metadata") or {}, copy.deepcopy(template.get("spec") or {})
        labels, annotations = dict(meta.get("labels") or {}), dict(meta.get("annotations") or {})
        if index is not None:
            labels[INDEX] = annotations[INDEX] = str(index)
            spec["hostname"] = f"{name}-{index}"
            for container in spec.get("containers") or []:
                container["env"] = [*(container.get("env") or []), {"name": "JOB_COMPLETION_INDEX", "valueFrom": {
                    "fieldRef": {"fieldPath": f"metadata.annotations['{INDEX}']"}}}]
        image = ((spec.get("containers") or [{}])[0]).get("image", "")
        uid = make_uid("Job", key, self.api.items(RECORD)[key].created)
        pod = Pod(pod_key, "", f"{OWNER}{uid}/{key}",
                  Template(image, annotations=annotations, labels=labels, spec=spec), 1,
                  self.clock.now, spec.get("restartPolicy") or "Never")
        self.pods.made(key, pod_key)
        self.api.write("pods", pod)
        self.api.record("SuccessfulCreate", f"job/{key}", f"Created pod: {short(pod_key)}", source=SOURCE)
        return pod

    def _delete(self, key: str, active: list[Pod], count: int, book: Book, counted: bool = False) -> list[Pod]:
        """Delete `count` of the active pods, the newest first; the ones left. `counted`: each counts as
        failed (a failing Job's); else not at all (a suspended or complete Job's, one too many)."""
        gone = sorted(active, key=lambda p: (p.ready, p.node is not None, -p.created))[:count]
        for pod in gone:
            if not counted:
                book.removing.add(pod.name)
            delete_pod(self.api, pod, source=SOURCE)
            self.api.record("SuccessfulDelete", f"job/{key}", f"Deleted pod: {short(pod.name)}", source=SOURCE)
        return [p for p in active if p not in gone]


def index_of(pod: Pod) -> int:
    return int((pod.template.labels or {}).get(INDEX, -1))


def indexes(text: str) -> set[int]:
    """The indexes of a completedIndexes string ("1,3-5,7")."""
    out: set[int] = set()
    for part in filter(None, text.split(",")):
        low, _, high = part.partition("-")
        out.update(range(int(low), int(high or low) + 1))
    return out


def ranges(numbers: set[int]) -> str:
    """completedIndexes: increasing, three or more consecutive numbers as first-last ("1,3-5,7")."""
    out, run = [], []
    for n in sorted(numbers) + [None]:
        if run and (n is None or n != run[-1] + 1):
            out += [f"{run[0]}-{run[-1]}"] if len(run) >= 3 else [str(r) for r in run]
            run = []
        if n is not None:
            run.append(n)
    return ",".join(out)


def set_condition(status: dict, kind: str, reason: str, message: str, now: float, state: str = "True") -> None:
    """A condition set (or changed), as the controller's newCondition makes them."""
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != kind]
    conditions.append({"type": kind, "status": state, "lastProbeTime": now, "lastTransitionTime": now,
                       "reason": reason, "message": message})
    status["conditions"] = conditions


STATUS_ORDER = ("conditions", "startTime", "completionTime", "active", "succeeded", "failed", "terminating",
                "completedIndexes", "failedIndexes", "uncountedTerminatedPods", "ready")


def shaped(status: dict) -> dict:
    """The status as the API writes a JobStatus: in its fields' order, zero counts left out (omitempty)
    but ready and terminating (pointers), an empty uncountedTerminatedPods."""
    status = {**status, "uncountedTerminatedPods": {}}
    out = {k: status[k] for k in STATUS_ORDER if k in status}
    return {k: v for k, v in out.items() if v not in (0, None) or k in ("ready", "terminating")}
