"""The DaemonSet controller (kube-controller-manager's, pkg/controller/daemon): a pod on each node that should run one.

A DaemonSet is kept as its client wrote it (kube/kinds/daemonsets.py, record "stored/apps/daemonsets");
this controller reads it, makes and removes its pods and writes its status, as daemon_controller.go
and update.go do:

- which nodes run one (NodeShouldRunDaemonPod): the template's nodeName if set, its nodeSelector and
  required node affinity matching the node's labels, and the node's NoSchedule/NoExecute taints
  tolerated by the template's tolerations plus the ones every daemon pod gets
  (AddOrUpdateDaemonPodTolerations: not-ready and unreachable NoExecute; disk-, memory- and
  pid-pressure, unschedulable NoSchedule; network-unavailable with hostNetwork). So a cordoned node
  keeps its daemon pod, the control plane gets one only when the template tolerates its taint, an
  unreachable node gets no new one but keeps the one it has;
- a node that should run one and has none gets a pod `<set>-<5 characters>`, pinned to it (the
  required node affinity `metadata.name In [node]`, ReplaceDaemonSetPodNodeNameNodeAffinity) and
  bound there at once (by the scheduler, which honours that affinity: none is made while it is
  stopped), labelled `controller-revision-hash` and `pod-template-generation`; a failed
  pod is deleted and made again; extra pods on a node go (the oldest stays); a node that should no
  longer run one loses it; a node that joins gets one;
- RollingUpdate (the default: maxUnavailable 1, maxSurge 0): an old pod that is not available is
  replaced at once, others as long as fewer than maxUnavailable of the nodes' pods are unavailable
  (an int or a percentage of the nodes, rounded up); with maxSurge the new pod starts beside the old
  one, which goes once the new one is available. OnDelete: a pod takes the new template when deleted;
- the status as the real one writes it: desiredNumberScheduled, currentNumberScheduled, numberReady,
  updatedNumberScheduled, numberAvailable, numberUnavailable, numberMisscheduled, observedGeneration;
- its history is ControllerRevisions (revisions.py); events `SuccessfulCreate  Created pod: x`,
  `SuccessfulDelete  Deleted pod: x`; a deleted DaemonSet's pods go (the garbage collector).

The control plane's own DaemonSet (kube-system/kube-proxy) is served by kube/kinds/daemonsets.py with
the control plane's pods (kube/kinds/controlplane.py); this controller leaves it alone.
"""
from __future__ import annotations

import copy

from .controllers import OwnedPods, Result, WorkQueue, delete_pod, suffix
from .jobs import MANAGER_POLL
from .kube.kinds.nodes import render as render_node
from .kube.kinds.stored import Record, write_status
from .kube.resources import Clockwork, key as make_key, split
from .objects import NodeObj, Pod
from .revisions import HASH_LABEL, History, available, collect, make_pod, owner_of, scaled, uid_of
from .scheduler import bind
from .statefulsets import StatefulSetController

RECORD = "stored/apps/daemonsets"  # kube/kinds/stored.py record_kind("apps", "daemonsets")
OWNER = "DaemonSet:/"  # a Pod record's owner: OWNER + the set's uid + "/" + the set's key
SOURCE = "daemonset-controller"
GENERATION_LABEL = "pod-template-generation"
SYSTEM = ("kube-system/kube-proxy",)  # the control plane's, served with its own pods
DAEMON_TOLERATIONS = [{"key": f"node.kubernetes.io/{key}", "operator": "Exists", "effect": effect}
                      for key, effect in (("not-ready", "NoExecute"), ("unreachable", "NoExecute"),
                                          ("disk-pressure", "NoSchedule"), ("memory-pressure", "NoSchedule"),
                                          ("pid-pressure", "NoSchedule"), ("unschedulable", "NoSchedule"))]
NETWORK_TOLERATION = {"key": "node.kubernetes.io/network-unavailable", "operator": "Exists", "effect": "NoSchedule"}


# -- which nodes run a daemon pod -------------------------------------------------------------
def tolerates(toleration: dict, taint: dict) -> bool:
    """v1.Toleration.ToleratesTaint."""
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("key") and toleration["key"] != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    return (toleration.get("value") or "") == (taint.get("value") or "")


def matches_term(term: dict, labels: dict, name: str) -> bool:
    """One NodeSelectorTerm: every matchExpression on the node's labels, every matchField on its name."""
    def check(expr: dict, value: str | None) -> bool:
        op, values = expr.get("operator"), expr.get("values") or []
        if op == "In":
            return value is not None and value in values
        if op == "NotIn":
            return value is None or value not in values
        if op == "Exists":
            return value is not None
        if op == "DoesNotExist":
            return value is None
        if op in ("Gt", "Lt") and value is not None and value.lstrip("-").isdigit() and values:
            return int(value) > int(values[0]) if op == "Gt" else int(value) < int(values[0])
        return False
    expressions, fields = term.get("matchExpressions") or [], term.get("matchFields") or []
    if not expressions and not fields:
        return False
    return all(check(e, labels.get(e.get("key"))) for e in expressions) and \
        all(check(f, name if f.get("key") == "metadata.name" else None) for f in fields)


def daemon_tolerations(pod_spec: dict) -> list[dict]:
    """The template's tolerations and the ones every daemon pod gets."""
    given = [t for t in pod_spec.get("tolerations") or [] if isinstance(t, dict)]
    extra = DAEMON_TOLERATIONS + ([NETWORK_TOLERATION] if pod_spec.get("hostNetwork") else [])
    return given + [t for t in extra if not any(g.get("key") == t["key"] and g.get("effect") == t["effect"]
                                                 for g in given)]


def should_run(node: dict, pod_spec: dict) -> tuple[bool, bool]:
    """NodeShouldRunDaemonPod: (should run a new pod there, should keep one running there)."""
    meta, spec = node.get("metadata") or {}, node.get("spec") or {}
    name, labels = meta.get("name", ""), meta.get("labels") or {}
    if pod_spec.get("nodeName") and pod_spec["nodeName"] != name:
        return False, False
    if any(labels.get(k) != v for k, v in (pod_spec.get("nodeSelector") or {}).items()):
        return False, False
    required = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms")
    if terms and not any(matches_term(t, labels, name) for t in terms):
        return False, False
    tolerations = daemon_tolerations(pod_spec)
    untolerated = [t for t in spec.get("taints") or [] if t.get("effect") in ("NoSchedule", "NoExecute")
                   and not any(tolerates(tol, t) for tol in tolerations)]
    if untolerated:
        return False, not any(t.get("effect") == "NoExecute" for t in untolerated)
    return True, True


def room(node: NodeObj, pod: Pod) -> bool:
    """Whether the node has room for the pod (the scheduler's resource checks)."""
    return not (node.pods_capacity and len(node.pods) >= node.pods_capacity) and \
        not (pod.cpu and node.cpu_used + pod.cpu > node.cpu) and \
        not (pod.memory and node.memory_used + pod.memory > node.memory)


class DaemonSetController:
    """Reconciles each DaemonSet (by its key) to a pod per node; any node's change has them all look again."""

    def __init__(self, sim) -> None:
        self.api, self.clock = sim.api, sim.clock
        self.manager_running = lambda: sim.deployments is None or sim.deployments.queue.running
        self.scheduler_running = lambda: sim.scheduler is None or sim.scheduler.running
        self.queue = WorkQueue(self.clock, self.api, self.sync)
        self.history = History(self.api, "DaemonSet")
        self.nodes_clock = Clockwork(0.0)
        self.pods = OwnedPods(self.api, lambda pod: (owner_of(pod, OWNER) or (None, None))[1], self.queue.add)
        self.api.store.watch(RECORD, lambda event, rec: self.queue.add(rec.name))
        self.api.store.watch("nodes", self._on_node)

    def _on_node(self, event: str, node: NodeObj) -> None:
        """A node joined or changed (labels, cordon, readiness): every DaemonSet looks again."""
        for key in self.api.items(RECORD):
            self.queue.add(key)

    def owned(self, key: str) -> list[Pod]:
        return self.pods.of(key)

    def sync(self, key: str) -> Result | None:
        if not self.manager_running():
            return Result(requeue_after=MANAGER_POLL)
        if key in SYSTEM:
            return None
        rec = self.api.items(RECORD).get(key)
        uid = uid_of(rec, "DaemonSet") if rec is not None else None
        pods = collect(self.api, self.owned(key), uid, "garbage-collector")
        self.history.collect(key, uid)
        if rec is None:
            return None
        return self._sync(key, rec, uid, pods)

    def _sync(self, key: str, rec: Record, uid: str, pods: list[Pod]) -> Result | None:
        spec = rec.body.get("spec") or {}
        template = spec.get("template") or {}
        pod_spec = template.get("spec") or {}
        revision = self.history.current(key, uid, rec.body)
        hashed = (revision.body["metadata"].get("labels") or {}).get(HASH_LABEL, "")
        min_ready = spec.get("minReadySeconds") or 0
        now = self.clock.now
        nodes = {n.name: (n, should_run(render_node(n, self.nodes_clock), pod_spec))
                 for n in self.api.items("nodes").values()}
        on_node: dict[str, list[Pod]] = {}
        for pod in pods:
            on_node.setdefault(pod.node or "", []).append(pod)
        strategy = spec.get("updateStrategy") or {}
        rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
        settings = strategy.get("rollingUpdate") or {}
        desired = sum(run for _, (run, _) in nodes.values())
        surge = scaled(settings.get("maxSurge"), desired, True) if rolling else 0
        unavailable = scaled(settings.get("maxUnavailable", 1), desired, True) if rolling else 0
        if surge == 0 and unavailable == 0:
            unavailable = 1
        create, delete = [], []
        for name, (node, (run, keep)) in sorted(nodes.items()):  # manage: podsShouldBeOnNode
            here = on_node.get(name, [])
            if run and not here:
                create.append(node)
            elif keep:
                running = []
                for pod in here:
                    if pod.deleting:
                        continue
                    if pod.phase in ("failed", "succeeded") and pod.restart_policy != "Always":
                        delete.append(pod)
                    else:
                        running.append(pod)
                if surge and len(running) > 1:  # keep the oldest old pod and the oldest new one
                    kept: dict[bool, Pod] = {}
                    for pod in running:
                        if kept.setdefault(updated(pod, hashed), pod) is not pod:
                            delete.append(pod)
                elif len(running) > 1:
                    delete += running[1:]
            elif here:
                delete += [p for p in here if not p.deleting]
        if rolling and not create and not delete:
            create, delete = self._rolling(nodes, on_node, hashed, min_ready, surge, unavailable)
        for pod in delete:
            delete_pod(self.api, pod, source=SOURCE)
            self.api.record("SuccessfulDelete", f"daemonset/{key}", f"Deleted pod: {split(pod.name)[1]}",
                            source=SOURCE)
        waiting = bool(create) and not self.scheduler_running()  # its pods are placed by the scheduler
        for node in [] if waiting else create:
            self._create(key, rec, uid, node, revision, hashed)
        pods = self.owned(key)
        write_status(self.api, "apps", "daemonsets", key, self._status(rec, nodes, pods, hashed, min_ready))
        self.history.trim(key, uid, spec.get("revisionHistoryLimit", 10),
                          {f"{split(key)[1]}-{(p.template.labels or {}).get(HASH_LABEL)}" for p in pods})
        if waiting:
            return Result(requeue_after=MANAGER_POLL)
        if min_ready and any(p.ready and not available(p, min_ready, now) for p in pods):
            return Result(requeue_after=min_ready)
        return None

    def _rolling(self, nodes: dict, on_node: dict, hashed: str, min_ready: float, surge: int,
                 unavailable: int) -> tuple[list[NodeObj], list[Pod]]:
        """rollingUpdate (update.go): which old pods go, and, with maxSurge, which nodes get a new pod first."""
        now = self.clock.now
        create, delete, candidates, lost = [], [], [], 0
        for name, (node, (run, _)) in sorted(nodes.items()):
            if not run:
                continue
            live = [p for p in on_node.get(name, []) if not p.deleting]
            new = next((p for p in live if updated(p, hashed)), None)
            old = next((p for p in live if not updated(p, hashed)), None)
            if surge:
                if old is None:
                    lost += new is None or not available(new, min_ready, now)
                elif new is None:
                    if not available(old, min_ready, now):
                        create.append(node)
                    else:
                        candidates.append(node)
                elif available(new, min_ready, now):
                    delete.append(old)
                else:
                    lost += 1
            elif (old is None) == (new is None):
                lost += 1
            elif new is not None:
                lost += not available(new, min_ready, now)
            elif not available(old, min_ready, now):
                delete.append(old)
            else:
                candidates.append(old)
        budget = max((surge if surge else unavailable) - lost, 0)
        if surge:
            return create + candidates[:budget], delete
        return [], delete + candidates[:budget]

    def _status(self, rec: Record, nodes: dict, pods: list[Pod], hashed: str, min_ready: float) -> dict:
        """updateDaemonSetStatus: counted per node, from its oldest pod."""
        now = self.clock.now
        counts = dict.fromkeys(("desired", "current", "ready", "updated", "available", "misscheduled"), 0)
        for name, (_, (run, _)) in nodes.items():
            here = sorted((p for p in pods if p.node == name), key=lambda p: (p.deleting, p.created))
            if not run:
                counts["misscheduled"] += bool(here)
                continue
            counts["desired"] += 1
            if not here:
                continue
            counts["current"] += 1
            pod = here[0]
            counts["ready"] += pod.ready and not pod.deleting
            counts["available"] += available(pod, min_ready, now)
            counts["updated"] += updated(pod, hashed)
        status = {"currentNumberScheduled": counts["current"], "numberMisscheduled": counts["misscheduled"],
                  "desiredNumberScheduled": counts["desired"], "numberReady": counts["ready"],
                  "observedGeneration": rec.generation, "updatedNumberScheduled": counts["updated"],
                  "numberAvailable": counts["available"],
                  "numberUnavailable": counts["desired"] - counts["available"]}
        omitted = ("updatedNumberScheduled", "numberAvailable", "numberUnavailable")
        return {k: v for k, v in status.items() if v or k not in omitted}

    def _create(self, key: str, rec: Record, uid: str, node: NodeObj, revision: Record, hashed: str) -> None:
        """A daemon pod for `node` (NewPod, then ReplaceDaemonSetPodNodeNameNodeAffinity), bound there."""
        namespace, name = split(key)
        pods = self.api.items("pods")
        pod_key = make_key(namespace, f"{name[:57]}-{suffix(self.clock)}")
        while pod_key in pods:
            pod_key = make_key(namespace, f"{name[:57]}-{suffix(self.clock)}")
        template = (rec.body.get("spec") or {}).get("template") or {}
        spec = copy.deepcopy(template.get("spec") or {})
        affinity = spec["affinity"] = dict(spec.get("affinity") or {})
        affinity["nodeAffinity"] = {**(affinity.get("nodeAffinity") or {}),
                                    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                                        {"matchFields": [{"key": "metadata.name", "operator": "In",
                                                          "values": [node.name]}]}]}}
        spec["tolerations"] = daemon_tolerations(spec)
        labels = {**((template.get("metadata") or {}).get("labels") or {}), HASH_LABEL: hashed,
                  GENERATION_LABEL: str(rec.generation)}
        pod = make_pod(self.api, pod_key, f"{OWNER}{uid}/{key}", template, labels=labels, spec=spec,
                       revision=revision.body.get("revision", 1))
        if not room(node, pod):
            self.api.record("FailedPlacement", f"daemonset/{key}", f"failed to place pod on {node.name!r}: "
                            "the node has no room for it (pods, cpu or memory)", type="Warning", source=SOURCE)
            return
        self.pods.made(key, pod_key)
        self.api.record("SuccessfulCreate", f"daemonset/{key}", f"Created pod: {split(pod_key)[1]}", source=SOURCE)
        self.api.record("Scheduled", self.api.ref(pod_key),
                        f"Successfully assigned {namespace}/{split(pod_key)[1]} to {node.name}", source="scheduler")
        bind(self.api, pod, node)  # its one write: made, on its node (the scheduler honours the affinity)


def updated(pod: Pod, hashed: str) -> bool:
    """IsPodUpdated: its controller-revision-hash is the current template's."""
    return (pod.template.labels or {}).get(HASH_LABEL) == hashed


def apps_controllers(sim) -> tuple:
    """The StatefulSet controller (statefulsets.py) and this one, as the controller manager runs them;
    none in a simulator without a controller manager (Swarm, Docker). backend.py starts them."""
    if sim.deployments is None:
        return ()
    return StatefulSetController(sim), DaemonSetController(sim)
