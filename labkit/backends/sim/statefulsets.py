"""The StatefulSet controller (kube-controller-manager's, pkg/controller/statefulset): pods with an identity.

A StatefulSet is kept as its client wrote it (kube/kinds/statefulsets.py, record
"stored/apps/statefulsets"); this controller reads it, makes its pods and writes its status, as
stateful_set_control.go's updateStatefulSet does:

- its pods are named `<set>-<ordinal>` (ordinals from spec.ordinals.start, 0 by default), host name
  the pod's name, subdomain the set's serviceName, labelled as the template is and with
  `controller-revision-hash` (the revision's name), `statefulset.kubernetes.io/pod-name` and
  `apps.kubernetes.io/pod-index`; each volumeClaimTemplate is a volume of claim
  `<claim>-<set>-<ordinal>` (no PersistentVolumeClaim is made: the simulator has no storage);
- OrderedReady (the default): one pod at a time, in increasing order, the next only once every lower
  one is Running and Ready (and Available: ready for minReadySeconds); scaling down removes the
  highest ordinal first, one at a time, while every other pod is healthy. Parallel: all made, all
  removed, at once;
- a pod deleted (or failed) is made again under the same name, once the old one is gone;
- RollingUpdate: once every pod is healthy, the pod with the highest ordinal not at the update revision
  is deleted (and made again at it), down to `partition`, as many at once as rollingUpdate.maxUnavailable
  (1 by default) allows, counting the pods not yet Available (updateStatefulSetAfterInvariantEstablished,
  MaxUnavailableStatefulSet). A pod made again below the partition keeps the current revision. OnDelete:
  a pod takes the new template only when it is deleted;
- the status as the real one writes it: observedGeneration, replicas, readyReplicas, currentReplicas,
  updatedReplicas, availableReplicas, currentRevision, updateRevision, collisionCount; once every pod
  is updated and ready, the update revision becomes the current one;
- its history is ControllerRevisions (revisions.py); events `SuccessfulCreate  create Pod web-0 in
  StatefulSet web successful` and `SuccessfulDelete`;
- a deleted StatefulSet's pods and revisions go (the garbage collector's Background propagation).
"""
from __future__ import annotations

import copy

from .controllers import OwnedPods, Result, WorkQueue, delete_pod
from .jobs import MANAGER_POLL
from .kube.kinds.stored import Record, write_status
from .kube.resources import key as make_key, split
from .objects import Pod
from .revisions import HASH_LABEL, History, available, collect, make_pod, owner_of, revision_name, \
    revision_template, scaled, uid_of

RECORD = "stored/apps/statefulsets"  # kube/kinds/stored.py record_kind("apps", "statefulsets")
OWNER = "StatefulSet:/"  # a Pod record's owner: OWNER + the set's uid + "/" + the set's key
SOURCE = "statefulset-controller"
POD_NAME_LABEL, POD_INDEX_LABEL = "statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index"


def healthy(pod: Pod) -> bool:
    """isRunningAndReady, and not terminating."""
    return pod.phase == "running" and pod.ready and not pod.deleting


def pod_revision(pod: Pod) -> str:
    return (pod.template.labels or {}).get(HASH_LABEL, "")


class StatefulSetController:
    """Reconciles each StatefulSet (by its key) to its pods; the pods it owns it knows from the pod watch."""

    def __init__(self, sim) -> None:
        self.api, self.clock = sim.api, sim.clock
        self.manager_running = lambda: sim.deployments is None or sim.deployments.queue.running
        self.queue = WorkQueue(self.clock, self.api, self.sync)
        self.history = History(self.api, "StatefulSet")
        self.pods = OwnedPods(self.api, lambda pod: (owner_of(pod, OWNER) or (None, None))[1], self.queue.add)
        self.api.store.watch(RECORD, lambda event, rec: self.queue.add(rec.name))

    def owned(self, key: str) -> list[Pod]:
        return sorted(self.pods.of(key), key=lambda p: p.name)

    def sync(self, key: str) -> Result | None:
        if not self.manager_running():
            return Result(requeue_after=MANAGER_POLL)
        rec = self.api.items(RECORD).get(key)
        uid = uid_of(rec, "StatefulSet") if rec is not None else None
        pods = collect(self.api, self.owned(key), uid, "garbage-collector")
        self.history.collect(key, uid)
        if rec is None:
            return None
        return self._sync(key, rec, uid, pods)

    def _sync(self, key: str, rec: Record, uid: str, pods: list[Pod]) -> Result | None:
        body, status = rec.body, copy.deepcopy(rec.body.get("status") or {})
        spec = body.get("spec") or {}
        update = self.history.current(key, uid, body)
        revisions = {revision_name(r): r for r in self.history.owned(key, uid)}
        current = revisions.get(status.get("currentRevision", ""), update)
        start = ((spec.get("ordinals") or {}).get("start")) or 0
        replicas = spec.get("replicas", 1)
        strategy = spec.get("updateStrategy") or {}
        rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
        partition = ((strategy.get("rollingUpdate") or {}).get("partition") or 0) if rolling else 0
        ordered = spec.get("podManagementPolicy", "OrderedReady") != "Parallel"
        min_ready = spec.get("minReadySeconds") or 0
        by_ordinal = {ordinal(p, key): p for p in pods}
        wanted = range(start, start + replicas)
        condemned = sorted((o for o in by_ordinal if o not in wanted), reverse=True)

        def settled(pod: Pod) -> bool:
            return healthy(pod) and available(pod, min_ready, self.clock.now)

        blocked = False
        for o in wanted:  # make the missing pods, replace the failed ones (processReplica)
            pod = by_ordinal.get(o)
            if pod is not None and pod.phase == "failed" and pod.restart_policy != "Always" and not pod.deleting:
                self._delete(key, pod)
            if pod is None:
                below = o < start + partition if rolling else False
                self._create(key, rec, uid, o, current if below and current is not update else update)
                if ordered:
                    blocked = True
                    break
            elif ordered and not settled(pod):
                blocked = True  # waiting for the pod to be Running and Ready, then Available (minReadySeconds)
                break
        down = sum(1 for o in wanted if o not in by_ordinal or not settled(by_ordinal[o]))
        for o in condemned:  # scale down, the highest ordinal first (processCondemned)
            pod = by_ordinal[o]
            if pod.deleting:
                if ordered:
                    blocked = True
                    break
                continue
            if ordered and blocked:  # (in order, every lower pod is healthy once nothing blocks)
                break
            self._delete(key, pod)
            if ordered:
                blocked = True
                break
        if rolling and not blocked:  # updateStatefulSetAfterInvariantEstablished
            limit = max(scaled((strategy.get("rollingUpdate") or {}).get("maxUnavailable") or 1, replicas, True), 1)
            budget = limit - down
            for o in sorted(wanted, reverse=True):  # the highest ordinal first, down to the partition
                pod = by_ordinal.get(o)
                if budget <= 0 or o < start + partition:
                    break
                if pod is not None and pod_revision(pod) != revision_name(update) and not pod.deleting:
                    self._delete(key, pod)
                    budget -= 1
        pods = self.owned(key)
        self._status(rec, status, pods, revision_name(current), revision_name(update), min_ready, rolling)
        write_status(self.api, "apps", "statefulsets", key, status)
        self.history.trim(key, uid, spec.get("revisionHistoryLimit", 10),
                          {pod_revision(p) for p in pods} | {status["currentRevision"], status["updateRevision"]})
        if min_ready and any(p.ready and not available(p, min_ready, self.clock.now) for p in pods):
            return Result(requeue_after=min_ready)  # look again once they are available
        return None

    def _status(self, rec: Record, status: dict, pods: list[Pod], current: str, update: str, min_ready: float,
                rolling: bool) -> None:
        """computeReplicaStatus, then completeRollingUpdate (every pod updated and ready: the update
        revision is the current one)."""
        now = self.clock.now
        live = [p for p in pods if not p.deleting]
        counts = {"replicas": len(pods), "readyReplicas": sum(healthy(p) for p in pods),
                  "currentReplicas": sum(pod_revision(p) == current for p in live),
                  "updatedReplicas": sum(pod_revision(p) == update for p in live),
                  "availableReplicas": sum(available(p, min_ready, now) for p in pods)}
        if rolling and counts["updatedReplicas"] == counts["replicas"] == counts["readyReplicas"]:
            current, counts["currentReplicas"] = update, counts["updatedReplicas"]
        status.clear()
        status.update({"observedGeneration": rec.generation, "replicas": counts["replicas"]})
        for field in ("readyReplicas", "currentReplicas", "updatedReplicas"):  # omitempty
            if counts[field]:
                status[field] = counts[field]
        status.update({"currentRevision": current, "updateRevision": update, "collisionCount": 0,
                       "availableReplicas": counts["availableReplicas"]})

    def _create(self, key: str, rec: Record, uid: str, o: int, revision: Record) -> None:
        """newVersionedStatefulSetPod: the revision's template, the pod's identity and storage."""
        namespace, name = split(key)
        pod_name = f"{name}-{o}"
        pod_key = make_key(namespace, pod_name)
        if pod_key in self.api.items("pods"):
            return  # the old one is still going: made once it is gone
        template = revision_template(revision)
        set_spec = rec.body.get("spec") or {}
        spec = copy.deepcopy(template.get("spec") or {})
        spec["hostname"] = pod_name
        if set_spec.get("serviceName"):
            spec["subdomain"] = set_spec["serviceName"]
        claims = [c for c in set_spec.get("volumeClaimTemplates") or [] if isinstance(c, dict)]
        if claims:  # updateStorage: each claim template replaces the template's volume of its name
            names = {(c.get("metadata") or {}).get("name") for c in claims}
            spec["volumes"] = [v for v in spec.get("volumes") or [] if v.get("name") not in names] + [
                {"name": (c.get("metadata") or {}).get("name"), "persistentVolumeClaim": {
                    "claimName": f"{(c.get('metadata') or {}).get('name')}-{name}-{o}"}} for c in claims]
        labels = {**((template.get("metadata") or {}).get("labels") or {}), HASH_LABEL: revision_name(revision),
                  POD_NAME_LABEL: pod_name, POD_INDEX_LABEL: str(o)}
        pod = make_pod(self.api, pod_key, f"{OWNER}{uid}/{key}", template, labels=labels, spec=spec,
                       revision=revision.body.get("revision", 1))
        self.pods.made(key, pod_key)
        self.api.write("pods", pod)
        self.api.record("SuccessfulCreate", f"statefulset/{key}",
                        f"create Pod {pod_name} in StatefulSet {name} successful", source=SOURCE)

    def _delete(self, key: str, pod: Pod) -> None:
        delete_pod(self.api, pod, source=SOURCE)
        self.api.record("SuccessfulDelete", f"statefulset/{key}",
                        f"delete Pod {split(pod.name)[1]} in StatefulSet {split(key)[1]} successful", source=SOURCE)


def ordinal(pod: Pod, key: str) -> int:
    """getOrdinal: the number after the set's name."""
    tail = split(pod.name)[1][len(split(key)[1]) + 1:]
    return int(tail) if tail.isdigit() else -1
