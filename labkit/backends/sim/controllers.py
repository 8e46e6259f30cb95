"""kube-controller-manager: the loops that make the cluster match what was asked.

Each controller keeps a queue of keys to look at; watches put keys in it,
and the queue drains once per moment of virtual time, so a burst of changes
costs one look (the informer + work-queue pattern of the real thing). A look
(a reconcile) returns a Result: done, or look again later (client-go's rules).
Status counters are kept from the watch stream, as informers do, so a
look at a deployment costs O(replica sets), not O(pods).

Stored objects are the informer cache's: a controller changes one only to write it
through the API server at once (the store keeps objects by reference, so a write
here is "change, then write", not client-go's "copy, change the copy, update").
What a controller keeps without a write is its own bookkeeping, off the objects:
the replica set controller's pod counts (Counts), the deployment controller's
time of last progress. The rest, outside this module: the scheduler counts a node's
pods and room on the NodeObj (scheduler.bind/unbind) and the kubelet marks its
node silent (silent_since, node.py) without a write.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .api import APIServer, fenceposts
from .clock import Clock
from .objects import SAFE_ALPHABET, Deployment, NodeObj, Pod, ReplicaSet

SUFFIX_CHARS = SAFE_ALPHABET  # the alphabet Kubernetes uses for generated names
NODE_MONITOR_PERIOD = 5.0
# node-monitor-grace-period: silent this long -> NotReady. 50 s since Kubernetes 1.32 (kubernetes/kubernetes
# PR 126287, pkg/controller/nodelifecycle/config/v1alpha1/defaults.go); 40 s before.
NODE_GRACE_PERIOD = 50.0
EVICTION_TIMEOUT = 300.0  # default tolerationSeconds for not-ready / unreachable
# client-go's default per-item rate limiter (workqueue.DefaultItemBasedRateLimiter): a key that asks
# for a retry waits 5 ms, twice that on its next retry in a row, and so on up to 1000 s.
RETRY_START, RETRY_CAP = 0.005, 1000.0


@dataclass(frozen=True)
class Result:
    """What a reconcile asks of its queue (controller-runtime's reconcile.Result): nothing (done),
    a look again in `requeue_after` seconds, or a `retry` after the key's back-off, which doubles
    with each retry in a row; a look that asks for no retry resets it (the rate limiter's Forget)."""

    requeue_after: float | None = None
    retry: bool = False


class WorkQueue:
    """Coalescing work queue: keys added while waiting are looked at once. `sync(key)` returns a
    Result, or None for done."""

    def __init__(self, clock: Clock, api: APIServer, sync: Callable[[str], Result | None], delay: float = 0.0) -> None:
        self.clock, self.api, self.sync, self.delay = clock, api, sync, delay
        self.keys: dict[str, None] = {}
        self.scheduled = False
        self.running = True
        self.backoff: dict[str, float] = {}  # key -> its wait before the next retry

    def add(self, key: str) -> None:
        self.keys[key] = None
        if not self.scheduled and self.running:
            self.scheduled = True
            self.clock.call_later(self.delay, self._drain)

    def _drain(self) -> None:
        self.scheduled = False
        if not self.running:
            return
        if not self.api.reachable:  # retry when the API answers again
            self.scheduled = True
            self.clock.call_later(1.0, self._drain)
            return
        keys, self.keys = list(self.keys), {}
        for key in keys:
            try:
                result = self.sync(key)
            except Exception as error:  # client-go: HandleError, then the key again after its back-off
                self.clock.failed(error)
                result = Result(retry=True)
            self.done(key, result)

    def done(self, key: str, result: Result | None) -> None:
        """Honour a reconcile's result: a retry after the key's back-off, a look after
        `requeue_after`, or nothing."""
        if result is not None and result.retry:
            wait = self.backoff.get(key, RETRY_START)
            self.backoff[key] = min(wait * 2, RETRY_CAP)
            self.clock.call_later(wait, lambda: self.add(key))
            return
        self.backoff.pop(key, None)
        if result is not None and result.requeue_after is not None:
            self.clock.call_later(result.requeue_after, lambda: self.add(key))

    def start(self) -> None:
        self.running = True
        if self.keys and not self.scheduled:
            self.scheduled = True
            self.clock.call_later(0.0, self._drain)


def suffix(clock: Clock, length: int = 5) -> str:
    return "".join(clock.rng.choice(SUFFIX_CHARS) for _ in range(length))


@dataclass(slots=True)
class Counts:
    """A replica set's pods as the replica set controller counts them from the pod watch: their
    names, and how many are active (not terminating), ready and available (ready for minReadySeconds)."""

    pods: set[str] = field(default_factory=set)
    active: int = 0
    ready: int = 0
    available: int = 0


class ReplicaSetController:
    """Keeps each ReplicaSet's number of pods at its `replicas`.

    A ReplicaSet's pods and their counts are this controller's own bookkeeping (Counts, by replica
    set name), kept from the pod watch as client-go's controllers keep theirs (ControllerExpectations),
    never on the stored ReplicaSet and never written through the API server. (The real controller
    writes them as the ReplicaSet's status; here a write for every pod that turns ready would bump
    the store's revision and the served API's watch feed, which already counts a pod's change as its
    replica set's: kube/watch.py.) Others read them through `counts(name)`: the deployment controller,
    the flavor's statuses and the served API (kube/resources.py). A replica set's counts go with it."""

    def __init__(self, api: APIServer, clock: Clock, on_status: Callable[[str], None]) -> None:
        self.api, self.clock, self.on_status = api, clock, on_status
        self.queue = WorkQueue(clock, api, self.sync)
        self.seen: dict[str, tuple[bool, bool, bool]] = {}  # pod -> (active, ready, available)
        self._counts: dict[str, Counts] = {}  # replica set -> its pods, counted
        api.store.watch("replicasets", self._on_rs)
        api.store.watch("pods", self._on_pod)

    def counts(self, name: str) -> Counts:
        """Replica set `name`'s pods and counts, read-only (shared, as a lister's objects are);
        zeros for a replica set this controller has not counted a pod of."""
        found = self._counts.get(name)
        return found if found is not None else Counts()

    def _tally(self, name: str) -> Counts:
        found = self._counts.get(name)
        if found is None:
            found = self._counts[name] = Counts()
        return found

    def _on_rs(self, event: str, rs: ReplicaSet) -> None:
        if event == "DELETED":  # a replica set made again under this name starts from nothing
            self._counts.pop(rs.name, None)
        self.queue.add(rs.name)

    def min_ready(self, rs: ReplicaSet) -> float:
        owner = self.api.items("deployments").get(rs.owner)
        if owner is None:
            return float((rs.written or {}).get("min_ready", 0))
        return owner.strategy.get("min_ready_seconds", 0.0)

    def _on_pod(self, event: str, pod: Pod) -> None:
        rs = self.api.items("replicasets").get(pod.owner)
        if rs is None:
            if pod.name in self.seen and not pod.owner:  # released (its labels no longer match): gone for its set
                rs, event = self._former(pod.name), "DELETED"
            if rs is None:
                return
        counts = self._tally(rs.name)
        before = self.seen.get(pod.name, (False, False, False))
        if event == "DELETED":
            self.seen.pop(pod.name, None)
            counts.pods.discard(pod.name)
            after = (False, False, False)
        else:
            active = not pod.deleting
            ready = active and pod.ready
            min_ready = self.min_ready(rs)
            available = ready and (min_ready <= 0 or self.clock.now - (pod.ready_since or 0) >= min_ready)
            if ready and not available:
                self.clock.call_later(min_ready, lambda p=pod: self._recheck(p))
            after = (active, ready, available)
            self.seen[pod.name] = after
        if after != before or event == "DELETED":  # a pod gone for good matters to Recreate and history
            counts.active += after[0] - before[0]
            counts.ready += after[1] - before[1]
            counts.available += after[2] - before[2]
            self.queue.add(rs.name)
            self.on_status(rs.owner)

    def _former(self, pod_name: str) -> ReplicaSet | None:
        """The replica set that counted a pod it has released."""
        name = next((rs for rs, counts in self._counts.items() if pod_name in counts.pods), None)
        return self.api.items("replicasets").get(name) if name else None

    def _recheck(self, pod: Pod) -> None:
        if self.api.items("pods").get(pod.name) is pod:
            self._on_pod("MODIFIED", pod)

    def sync(self, name: str) -> None:
        rs = self.api.items("replicasets").get(name)
        if rs is None:
            return
        counts = self.counts(name)
        diff = rs.replicas - counts.active
        if diff > 0:
            for _ in range(diff):
                self._create_pod(rs)
        elif diff < 0:
            pods = self.api.items("pods")
            active = [pods[n] for n in counts.pods if n in pods and not pods[n].deleting]
            for pod in sorted(active, key=deletion_rank)[:-diff]:
                delete_pod(self.api, pod, source="replicaset-controller")
                self.api.record("SuccessfulDelete", f"replicaset/{rs.name}", f"Deleted pod: {pod.name}",
                                source="replicaset-controller")

    def _create_pod(self, rs: ReplicaSet) -> None:
        pods = self.api.items("pods")
        name = f"{rs.name}-{suffix(self.clock)}"
        while name in pods:  # 27^5 names: at thousands of pods two draws meet (the API server says AlreadyExists)
            name = f"{rs.name}-{suffix(self.clock)}"
        pod = Pod(name, rs.owner or rs.name, rs.name, rs.template, rs.revision, self.clock.now)  # (a client's set: its own app)
        self._tally(rs.name).pods.add(name)
        self.api.write("pods", pod)
        self.api.record("SuccessfulCreate", f"replicaset/{rs.name}", f"Created pod: {name}",
                        source="replicaset-controller")


class OwnedPods:
    """Each owner's pods, kept from the pod watch, as client-go's controllers keep theirs: `owner(pod)`
    names the key of the object a pod belongs to (None: not one of these), `changed(key)` hears of
    any change to one of its pods. Jobs, StatefulSets and DaemonSets each keep one."""

    def __init__(self, api: APIServer, owner: Callable[[Pod], str | None], changed: Callable[[str], None]) -> None:
        self.api, self.owner, self.changed = api, owner, changed
        self.names: dict[str, set[str]] = {}  # owner key -> its pods' names
        api.store.watch("pods", self._on_pod)

    def _on_pod(self, event: str, pod: Pod) -> None:
        key = self.owner(pod)
        if key is None:
            return
        names = self.names.setdefault(key, set())
        (names.discard if event == "DELETED" else names.add)(pod.name)
        self.changed(key)

    def made(self, key: str, pod_name: str) -> None:
        """A pod the controller has just made (counted before its watch event comes)."""
        self.names.setdefault(key, set()).add(pod_name)

    def of(self, key: str) -> list[Pod]:
        """The owner's pods, oldest first."""
        pods = self.api.items("pods")
        return sorted((pods[n] for n in self.names.get(key, ()) if n in pods), key=lambda p: (p.created, p.name))


def deletion_rank(pod: Pod) -> tuple:
    """Which pods go first when scaling down: as Kubernetes ranks them (unscheduled,
    pending, not ready, more restarts, newest first)."""
    return (pod.node is not None, pod.phase == "running", pod.ready, -pod.restarts, -pod.created, pod.name)


# Cluster seconds from a pod's deletion until every node's kube-proxy has dropped its endpoint (the
# EndpointSlice controller's write, then each proxy's watch and rules): a stated model, about what a small
# cluster shows; meanwhile requests still reach the pod, which has had its SIGTERM at the same moment.
ENDPOINT_LAG = 1.0


def delete_pod(api: APIServer, pod: Pod, source: str) -> None:
    """Graceful deletion: mark it; the kubelet stops the container and removes it. On Kubernetes the
    Service's proxies keep sending a ready pod requests for ENDPOINT_LAG more seconds (the race a
    preStop hook closes)."""
    if pod.deleting:
        return
    if api.flavor == "kubernetes" and pod.ready:
        pod.serving_until = api.clock.now + ENDPOINT_LAG
    pod.deleting = True
    pod.phase = "terminating"
    pod.ready = False
    api.write("pods", pod)
    if pod.node is None:  # never placed: no kubelet has anything to stop
        api.remove("pods", pod.name)


class DeploymentController:
    """Rolls deployments out: new ReplicaSet up, old ones down, within maxSurge/maxUnavailable.

    A deployment's `condition` is changed and written at once when it changes (kubectl rollout
    status hears it). When it last progressed (its Progressing condition's lastUpdateTime) is this
    controller's bookkeeping, `last_progress(d)`, not the object's: a write on each look would wake
    this controller's own watch for another look. Replica sets' pod counts are the replica set
    controller's, read through `counts` (ReplicaSetController.counts)."""

    def __init__(self, api: APIServer, clock: Clock, counts: Callable[[str], Counts]) -> None:
        self.api, self.clock, self.counts = api, clock, counts
        # a few virtual milliseconds of latency let a burst of pod changes cost one look
        self.queue = WorkQueue(clock, api, self.sync, delay=0.05)
        self.owned: dict[str, set[str]] = {}  # deployment -> replica set names
        self.markers: dict[str, tuple] = {}  # deployment -> counts at the last look, to see progress
        self.rolling: set[str] = set()  # deployments with a rollout under way
        self.progressed: dict[str, float] = {}  # deployment -> when it last progressed (else: its creation)
        api.store.watch("deployments", self._on_deployment)
        api.store.watch("replicasets", self._on_rs)

    def _on_deployment(self, event: str, d: Deployment) -> None:
        if event == "DELETED":  # a deployment made again under this name starts from its creation
            self.progressed.pop(d.name, None)
        self.queue.add(d.name)

    def last_progress(self, d: Deployment) -> float:
        """When deployment `d`'s rollout last moved (read-only)."""
        return self.progressed.get(d.name, d.created)

    def _on_rs(self, event: str, rs: ReplicaSet) -> None:
        owned = self.owned.setdefault(rs.owner, set())
        (owned.discard if event == "DELETED" else owned.add)(rs.name)
        self.queue.add(rs.owner)

    def replica_sets(self, name: str) -> list[ReplicaSet]:
        items = self.api.items("replicasets")
        return sorted((items[n] for n in self.owned.get(name, ()) if n in items), key=lambda rs: rs.revision)

    def sync(self, name: str) -> Result | None:
        d = self.api.items("deployments").get(name)
        if d is None:
            return
        sets = self.replica_sets(name)
        new = next((rs for rs in sets if rs.template.hash() == d.template.hash()), None)
        if d.paused:
            self._scale_paused(d, sets, new)
            return
        if new is None:
            new = self._new_replica_set(d, sets)
            sets.append(new)
        if new.revision != max(rs.revision for rs in sets):
            new.revision = max(rs.revision for rs in sets) + 1  # rollback: the old revision becomes the newest
            self.api.write("replicasets", new)
        old = [rs for rs in sets if rs is not new]
        if d.strategy["type"] == "Recreate":
            self._recreate(d, new, old)
        else:
            self._rolling(d, new, old)
        result = self._track_progress(d, new, old)
        self._clean_history(d, old)
        return result

    def _new_replica_set(self, d: Deployment, sets: list[ReplicaSet]) -> ReplicaSet:
        revision = max((rs.revision for rs in sets), default=0) + 1
        rs = ReplicaSet(f"{d.name}-{d.pod_hash()}", d.name, 0, d.template, revision)
        if not sets:  # the first revision starts at full size
            rs.replicas = d.replicas
        self.api.write("replicasets", rs)
        self.progressed[d.name] = self.clock.now
        self.rolling.add(d.name)
        if rs.replicas:  # upstream records a new replica set's scaling only when it starts above 0
            self._scaled(d, rs, 0, rs.replicas, "up")
        return rs

    def _set_replicas(self, d: Deployment, rs: ReplicaSet, count: int) -> None:
        if count != rs.replicas:
            way, before = ("up" if count > rs.replicas else "down"), rs.replicas
            rs.replicas = count
            self.api.write("replicasets", rs)
            self._scaled(d, rs, before, count, way)

    def _scaled(self, d: Deployment, rs: ReplicaSet, before: int, count: int, way: str) -> None:
        # The words of upstream's deployment controller (pkg/controller/deployment/sync.go: getNewReplicaSet
        # writes "Scaled up replica set %s from 0 to %d", scaleReplicaSet "Scaled %s replica set %s from %d to %d")
        self.api.record("ScalingReplicaSet", f"deployment/{d.name}",
                        f"Scaled {way} replica set {rs.name} from {before} to {count}", source="deployment-controller")

    def _rolling(self, d: Deployment, new: ReplicaSet, old: list[ReplicaSet]) -> None:
        surge, unavailable = fenceposts(d.strategy, d.replicas)
        if not any(rs.replicas for rs in old):
            self._set_replicas(d, new, d.replicas)
            return
        total = new.replicas + sum(rs.replicas for rs in old)
        if new.replicas < d.replicas:
            up = min(d.replicas + surge - total, d.replicas - new.replicas)
            if up > 0:
                self._set_replicas(d, new, new.replicas + up)
        elif new.replicas > d.replicas:
            self._set_replicas(d, new, d.replicas)
        total = new.replicas + sum(rs.replicas for rs in old)
        min_available = d.replicas - unavailable
        counts = self.counts
        room = total - min_available - (new.replicas - counts(new.name).available)
        for rs in old:  # first the old replicas that are not available anyway
            unhealthy = rs.replicas - counts(rs.name).available
            if room <= 0:
                break
            if unhealthy > 0:
                cut = min(unhealthy, room)
                self._set_replicas(d, rs, rs.replicas - cut)
                room -= cut
        total = new.replicas + sum(rs.replicas for rs in old)
        available = counts(new.name).available + sum(min(counts(rs.name).available, rs.replicas) for rs in old)
        room = available - min_available
        for rs in old:
            if room <= 0:
                break
            cut = min(rs.replicas, room)
            if cut > 0:
                self._set_replicas(d, rs, rs.replicas - cut)
                room -= cut

    def _recreate(self, d: Deployment, new: ReplicaSet, old: list[ReplicaSet]) -> None:
        for rs in old:
            self._set_replicas(d, rs, 0)
        if all(self.counts(rs.name).active == 0 and not self.counts(rs.name).pods for rs in old):
            self._set_replicas(d, new, d.replicas)

    def _scale_paused(self, d: Deployment, sets: list[ReplicaSet], new: ReplicaSet | None) -> None:
        """Paused: no rollout, but a change of `replicas` still applies (to the newest set)."""
        target = new or (sets[-1] if sets else None)
        if target is None:
            return
        others = sum(rs.replicas for rs in sets if rs is not target)
        self._set_replicas(d, target, max(d.replicas - others, 0))

    def _track_progress(self, d: Deployment, new: ReplicaSet, old: list[ReplicaSet]) -> Result | None:
        before = d.condition
        result = self._progress(d, new, old)
        if d.condition != before and self.api.reachable:  # a status update: watchers (kubectl rollout status) hear it
            self.api.write("deployments", d)
        return result

    def _progress(self, d: Deployment, new: ReplicaSet, old: list[ReplicaSet]) -> Result | None:
        """The rollout's condition; while it moves, a look again just after its progress deadline
        (has it stalled by then?)."""
        result = None
        counts = self.counts
        complete = (new.replicas == d.replicas and counts(new.name).available == d.replicas
                    and not any(rs.replicas or counts(rs.name).active for rs in old))
        marker = (new.replicas, counts(new.name).available, sum(rs.replicas for rs in old), d.replicas)
        if old and any(rs.replicas or counts(rs.name).active for rs in old):
            self.rolling.add(d.name)
        if complete:
            d.condition = "NewReplicaSetAvailable"
            if d.name in self.rolling:  # said once per rollout, not when crashing pods come back
                self.rolling.discard(d.name)
                self.api.record("RolloutComplete", f"deployment/{d.name}",
                                f'deployment "{d.name}" successfully rolled out', source="deployment-controller")
            self.progressed[d.name] = self.clock.now
        elif self.markers.get(d.name) != marker:
            self.progressed[d.name] = self.clock.now
            if d.condition != "ReplicaSetUpdated":
                d.condition = "ReplicaSetUpdated"
            result = Result(requeue_after=d.progress_deadline + 0.5)
        elif self.clock.now - self.last_progress(d) > d.progress_deadline and d.condition != "ProgressDeadlineExceeded":
            d.condition = "ProgressDeadlineExceeded"
            self.api.record("ProgressDeadlineExceeded", f"deployment/{d.name}",
                            f'ReplicaSet "{new.name}" has timed out progressing.', type="Warning",
                            source="deployment-controller")
        self.markers[d.name] = marker
        return result

    def _clean_history(self, d: Deployment, old: list[ReplicaSet]) -> None:
        spent = [rs for rs in old if rs.replicas == 0 and self.counts(rs.name).active == 0
                 and not self.counts(rs.name).pods]
        for rs in spent[:max(len(spent) - d.history_limit, 0)]:
            self.api.remove("replicasets", rs.name)


class NodeLifecycleController:
    """Notices silent nodes: NotReady after the grace period, pods evicted later."""

    def __init__(self, api: APIServer, clock: Clock, on_node_down: Callable[[NodeObj], None],
                 grace: float = NODE_GRACE_PERIOD, eviction: float = EVICTION_TIMEOUT,
                 period: float = NODE_MONITOR_PERIOD) -> None:
        self.api, self.clock, self.on_node_down = api, clock, on_node_down
        self.grace, self.eviction, self.period = grace, eviction, period
        self._running = True
        self.counting_from = clock.now  # no heartbeat is older than this to a controller that just started
        self.not_ready_since: dict[str, float] = {}  # the not-ready taint's time, kept on the node: survives restarts
        clock.call_later(period, self.monitor)

    @property
    def running(self) -> bool:
        return self._running

    @running.setter
    def running(self, on: bool) -> None:
        """A restarted controller manager remembers no heartbeat: it takes "now" as every node's
        last one, so a node silent for an hour is NotReady a grace period after the restart, not at
        once (tryUpdateNodeHealth in pkg/controller/nodelifecycle/node_lifecycle_controller.go
        records probeTimestamp = now for a node it has not seen)."""
        if on and not self._running:
            self.counting_from = self.clock.now
        self._running = on

    def monitor(self) -> None:
        self.clock.call_later(self.period, self.monitor)
        if not self.running or not self.api.reachable:
            return
        now = self.clock.now
        for node in list(self.api.items("nodes").values()):
            if node.silent_since is None:  # heartbeats arrive
                self.not_ready_since.pop(node.name, None)
                continue
            if node.ready:  # Ready again since a failure (it recovered between two looks): no taint to count from
                self.not_ready_since.pop(node.name, None)
            if node.ready and now - max(node.silent_since, self.counting_from) >= self.grace:
                node.ready = False
                self.not_ready_since[node.name] = now
                self.api.write("nodes", node)
                self.api.record("NodeNotReady", f"node/{node.name}",
                                f"Node {node.name} status is now: NodeNotReady", type="Warning",
                                source="node-lifecycle-controller")
                self.on_node_down(node)
            since = self.not_ready_since.get(node.name)
            if since is not None and now - since >= self.eviction and node.pods:
                self.evict(node)

    def evict(self, node: NodeObj) -> None:
        pods = self.api.items("pods")
        for name in sorted(node.pods):
            pod = pods.get(name)
            if pod is not None and not pod.deleting:
                delete_pod(self.api, pod, source="node-lifecycle-controller")
                self.api.record("TaintManagerEviction", self.api.ref(name), f"Marking for deletion Pod default/{name}",
                                source="node-lifecycle-controller")
