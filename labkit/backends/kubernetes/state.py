"""What the Kubernetes API returns, read into labkit's snapshots, by pure functions.

The input is JSON dicts, the shape `kubectl get -o json` prints; the output is
`labkit.model` (`ClusterState`, `WorkloadStatus`, `Replica`, ...). Rollout history
is read here too, as kubectl reads it from the ReplicaSets. No client here:
`labkit.backends.kubernetes.backend` fetches the lists.
"""
from __future__ import annotations

import math
import re
from datetime import datetime

from ...model import ClusterState, Component, Event, Node, Replica, WorkloadStatus
from ..base import LABEL
from .manifests import HASH_LABEL, REVISION, WORKLOAD_LABEL

COMPONENTS = {"kube-apiserver": "api-server", "etcd": "etcd", "kube-scheduler": "scheduler",
              "kube-controller-manager": "controller-manager", "kube-proxy": "kube-proxy"}


# -- small readers ------------------------------------------------------------------------

def labels_of(obj: dict) -> dict[str, str]:
    return obj["metadata"].get("labels") or {}


def annotations_of(obj: dict) -> dict[str, str]:
    return obj["metadata"].get("annotations") or {}


def belongs_to(obj: dict, lab: str) -> bool:
    """True when the object carries labkit's label for this lab."""
    return labels_of(obj).get(LABEL) == lab


def controller_of(obj: dict) -> tuple[str, str] | None:
    """(kind, name) of the object's controller (its ownerReference with controller: true)."""
    ref = next((r for r in obj["metadata"].get("ownerReferences") or [] if r.get("controller")), None)
    return (ref.get("kind", ""), ref.get("name", "")) if ref else None


def workload_names(pods: list[dict], replicasets: list[dict]) -> dict[str, str]:
    """pod name -> the deployment that owns it through a ReplicaSet, as kubectl follows the
    owner references; labkit's own label where a pod carries it."""
    owner = {}
    for rs in replicasets:
        controller = controller_of(rs)
        if controller and controller[0] == "Deployment":
            owner[rs["metadata"]["name"]] = controller[1]
    names = {}
    for pod in pods:
        controller = controller_of(pod) or ("", "")
        names[pod["metadata"]["name"]] = labels_of(pod).get(WORKLOAD_LABEL) or (
            owner.get(controller[1], "") if controller[0] == "ReplicaSet" else "")
    return names


def _condition(obj: dict, kind: str) -> dict:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == kind), {})


def is_ready(obj: dict) -> bool:
    """The Ready condition of a node or pod is True."""
    return _condition(obj, "Ready").get("status") == "True"


# -- rollout history, the way kubectl reads it ----------------------------------------

def revision_of(obj: dict) -> int | None:
    value = ((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION)
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def owned_replicasets(deployment: dict, replicasets: list[dict]) -> list[dict]:
    """The ReplicaSets whose controller is this deployment (by UID, as kubectl checks)."""
    uid = deployment["metadata"].get("uid")
    return [rs for rs in replicasets
            if any(ref.get("controller") and ref.get("uid") == uid
                   for ref in rs["metadata"].get("ownerReferences") or [])]


def history(replicasets: list[dict]) -> list[tuple[int, str]]:
    """(revision, image) per ReplicaSet, oldest first: `kubectl rollout history`."""
    found = {}
    for rs in replicasets:
        revision = revision_of(rs)
        if revision is not None:
            found[revision] = rs["spec"]["template"]["spec"]["containers"][0]["image"]
    return sorted(found.items())


def previous_replicaset(replicasets: list[dict]) -> dict | None:
    """The ReplicaSet `kubectl rollout undo` goes back to: the second-highest revision."""
    latest = previous = None
    latest_rev = previous_rev = -1
    for rs in replicasets:
        revision = revision_of(rs)
        if revision is None:
            continue
        if revision > latest_rev:
            previous, previous_rev = latest, latest_rev
            latest, latest_rev = rs, revision
        elif revision > previous_rev:
            previous, previous_rev = rs, revision
    return previous


# -- values ------------------------------------------------------------------------------

_SUFFIXES = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
             "n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
             "P": 1e15, "E": 1e18}


def quantity(value: object) -> float:
    """A Kubernetes quantity ('100m', '64Mi', '2', '3912112Ki', '1e3') as a plain number."""
    match = re.fullmatch(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)([a-zA-Z]*)", str(value).strip())
    if not match or match.group(2) not in _SUFFIXES:
        return 0.0
    return float(match.group(1)) * _SUFFIXES[match.group(2)]


def timestamp(value: str | None) -> float:
    if not value:
        return 0.0
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


# -- objects -----------------------------------------------------------------------------

def _requests(pod: dict) -> tuple[int, int]:
    cpu = memory = 0.0
    for container in pod["spec"].get("containers") or []:
        requested = (container.get("resources") or {}).get("requests") or {}
        cpu += quantity(requested.get("cpu", 0)) * 1000
        memory += quantity(requested.get("memory", 0)) / 2**20
    return round(cpu), round(memory)


def _active(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def node_of(node: dict, pods: list[dict]) -> Node:
    meta, spec, status = node["metadata"], node.get("spec") or {}, node.get("status") or {}
    labels = meta.get("labels") or {}
    allocatable = status.get("allocatable") or status.get("capacity") or {}
    ready = is_ready(node)
    schedulable = not spec.get("unschedulable", False)
    mine = [p for p in pods if (p.get("spec") or {}).get("nodeName") == meta["name"] and _active(p)]
    cpu = sum(_requests(p)[0] for p in mine)
    memory = sum(_requests(p)[1] for p in mine)
    words = ["Ready" if ready else "NotReady"] + ([] if schedulable else ["SchedulingDisabled"])
    control = "node-role.kubernetes.io/control-plane" in labels or "node-role.kubernetes.io/master" in labels
    return Node(name=meta["name"], role="control-plane" if control else "worker", ready=ready,
                schedulable=schedulable, cpu_capacity=round(quantity(allocatable.get("cpu", 0)) * 1000),
                memory_capacity=round(quantity(allocatable.get("memory", 0)) / 2**20),
                pods_capacity=int(quantity(allocatable.get("pods", 110))), cpu_allocated=cpu,
                memory_allocated=memory, pods_allocated=len(mine), status=",".join(words),
                labels=tuple(sorted(labels.items())))


def pod_phase(pod: dict) -> tuple[str, str]:
    """(labkit phase, reason) of a pod, as a student reads kubectl's STATUS column:
    ContainerCreating and ImagePullBackOff are pending; CrashLoopBackOff, Error and
    OOMKilled are failed (the container is not running, whatever the pod phase says)."""
    meta, status = pod["metadata"], pod.get("status") or {}
    if meta.get("deletionTimestamp"):
        return "terminating", "Terminating"
    phase = status.get("phase", "Pending")
    waiting = terminated = ""
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        if "waiting" in state:
            waiting = waiting or (state["waiting"] or {}).get("reason", "Waiting")
        elif "terminated" in state:
            terminated = terminated or (state["terminated"] or {}).get("reason", "Error")
    if phase == "Pending":
        scheduled = _condition(pod, "PodScheduled")
        if scheduled.get("status") == "False":
            return "pending", scheduled.get("reason") or "Unschedulable"
        return "pending", waiting or ("" if status.get("containerStatuses") else "ContainerCreating")
    if phase == "Running":
        if waiting in ("ContainerCreating", "PodInitializing"):
            return "pending", waiting
        if waiting or terminated:
            return "failed", waiting or terminated
        return "running", ""
    if phase == "Succeeded":
        return "succeeded", terminated or "Completed"
    if phase == "Failed":
        return "failed", status.get("reason") or terminated or "Error"
    return "failed", status.get("reason") or "Unknown"  # "Unknown": the node stopped reporting


def replica_of(pod: dict, revisions: dict[str, int], not_ready_nodes: frozenset[str] = frozenset(),
               workload: str | None = None) -> Replica:
    meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    labels = meta.get("labels") or {}
    phase, reason = pod_phase(pod)
    node = spec.get("nodeName")
    ready = is_ready(pod)
    if node in not_ready_nodes and phase == "running":
        ready, reason = False, "NodeNotReady"
    return Replica(name=meta["name"], workload=labels.get(WORKLOAD_LABEL, "") if workload is None else workload,
                   node=node,
                   image=(spec.get("containers") or [{}])[0].get("image", ""), phase=phase,
                   ready=ready and phase == "running",
                   restarts=sum(c.get("restartCount", 0) for c in status.get("containerStatuses") or []),
                   revision=revisions.get(labels.get(HASH_LABEL, ""), 1), reason=reason,
                   ip=status.get("podIP", "") or "", created=timestamp(meta.get("creationTimestamp")))


def rollout_of(deployment: dict) -> tuple[str, str]:
    """('complete' | 'progressing' | 'paused' | 'failed', message): kubectl rollout status."""
    meta, spec, status = deployment["metadata"], deployment["spec"], deployment.get("status") or {}
    name = meta["name"]
    if spec.get("paused"):
        return "paused", f'deployment "{name}" is paused'
    if meta.get("generation", 0) > status.get("observedGeneration", 0):
        return "progressing", "Waiting for deployment spec update to be observed..."
    progressing = _condition(deployment, "Progressing")
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return "failed", f'deployment "{name}" exceeded its progress deadline'
    desired = spec.get("replicas", 1)
    updated, replicas = status.get("updatedReplicas", 0), status.get("replicas", 0)
    available = status.get("availableReplicas", 0)
    prefix = f'Waiting for deployment "{name}" rollout to finish: '
    if updated < desired:
        return "progressing", prefix + f"{updated} out of {desired} new replicas have been updated..."
    if replicas > updated:
        return "progressing", prefix + f"{replicas - updated} old replicas are pending termination..."
    if available < updated:
        return "progressing", prefix + f"{available} of {updated} updated replicas are available..."
    return "complete", f'deployment "{name}" successfully rolled out'


def resolve_bounds(strategy: dict, desired: int) -> tuple[int, int]:
    """maxSurge (rounded up) and maxUnavailable (rounded down) as numbers, as the
    deployment controller resolves them; never both 0."""
    if strategy.get("type") == "Recreate":
        return 0, desired

    def absolute(value: object, default: str, round_up: bool) -> int:
        value = default if value is None else value
        if isinstance(value, str) and value.endswith("%"):
            exact = int(value[:-1]) * desired / 100
            return math.ceil(exact) if round_up else math.floor(exact)
        return int(value)

    rolling = strategy.get("rollingUpdate") or {}
    surge = absolute(rolling.get("maxSurge"), "25%", True)
    unavailable = absolute(rolling.get("maxUnavailable"), "25%", False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def workload_of(deployment: dict, pods: list[dict] | None = None) -> WorkloadStatus:
    """A deployment as labkit's WorkloadStatus. With its `pods`, `current` and `ready` are counted
    from them (as the ReplicaSet controller counts: not terminating, not finished), so a
    killed pod shows at once instead of when the controllers next write the status."""
    meta, spec, status = deployment["metadata"], deployment["spec"], deployment.get("status") or {}
    desired = spec.get("replicas", 1)
    current, ready = status.get("replicas", 0), status.get("readyReplicas", 0)
    if pods is not None:
        active = [p for p in pods if _active(p) and not p["metadata"].get("deletionTimestamp")]
        current = len(active)
        ready = sum(1 for p in active if is_ready(p))
    strategy = spec.get("strategy") or {}
    surge, unavailable = resolve_bounds(strategy, desired)
    rollout, message = rollout_of(deployment)
    return WorkloadStatus(name=meta["name"], image=spec["template"]["spec"]["containers"][0]["image"],
                    desired=desired, current=current, ready=ready,
                    updated=status.get("updatedReplicas", 0), available=status.get("availableReplicas", 0),
                    revision=revision_of(deployment) or 1, kind="deployment",
                    strategy=strategy.get("type", "RollingUpdate"), max_surge=surge,
                    max_unavailable=unavailable, paused=bool(spec.get("paused")), rollout=rollout,
                    message=message, labels=tuple(sorted(labels_of(deployment).items())))


def components_of(nodes: list[dict], pods: list[dict]) -> tuple[Component, ...]:
    """Control-plane pods (kube-system, labelled by kubeadm/minikube) and a kubelet per node."""
    found = []
    for pod in pods:
        labels = labels_of(pod)
        key = labels.get("component") or labels.get("k8s-app")
        if pod["metadata"].get("namespace") == "kube-system" and key in COMPONENTS:
            running = pod_phase(pod)[0] == "running" and is_ready(pod)
            found.append(Component(name=COMPONENTS[key], running=running, node=(pod.get("spec") or {}).get("nodeName") or ""))
    for node in nodes:  # the kubelet reports its runtime's health in the node's Ready condition
        ready = is_ready(node)
        found.append(Component(name="kubelet", running=ready, node=node["metadata"]["name"]))
        found.append(Component(name="container-runtime", running=ready, node=node["metadata"]["name"]))
    return tuple(sorted(found, key=lambda c: (c.node, c.name)))


def event_of(event: dict) -> Event:
    involved = event.get("involvedObject") or event.get("regarding") or {}
    source = (event.get("source") or {}).get("component") or event.get("reportingComponent") or ""
    when = (event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp")
            or event["metadata"].get("creationTimestamp"))
    return Event(time=timestamp(when), reason=event.get("reason", ""),
                 object=f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
                 message=(event.get("message") or event.get("note") or "").strip(),
                 type=event.get("type", "Normal"), source=source)


def build_state(nodes: list[dict], deployments: list[dict], replicasets: list[dict], pods: list[dict],
                namespace: str, now: float, version: int = 0, context: str = "") -> ClusterState:
    """One snapshot from lists as the API returns them (`pods` may span all namespaces). Every
    object in the lab's `namespace` is the lab's (labkit refuses a namespace it did not make)."""
    ours = [p for p in pods if p["metadata"].get("namespace") == namespace]
    revisions = {labels_of(rs).get(HASH_LABEL, ""): revision_of(rs) or 1 for rs in replicasets}
    node_objects = tuple(node_of(n, pods) for n in nodes)
    not_ready = frozenset(n.name for n in node_objects if not n.ready)
    owners = workload_names(ours, replicasets)
    by_workload: dict[str, list[dict]] = {}
    for pod in ours:
        by_workload.setdefault(owners[pod["metadata"]["name"]], []).append(pod)
    workloads = tuple(workload_of(d, by_workload.get(d["metadata"]["name"], []))
                      for d in sorted(deployments, key=lambda d: d["metadata"]["name"]))
    replicas = tuple(sorted((replica_of(p, revisions, not_ready, owners[p["metadata"]["name"]]) for p in ours),
                            key=lambda r: r.name))
    return ClusterState(backend="kubernetes", flavor="kubernetes", time=now, nodes=node_objects,
                        workloads=workloads, replicas=replicas, components=components_of(nodes, pods),
                        version=version, context=context, lab=namespace)
