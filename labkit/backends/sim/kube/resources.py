"""The simulator's objects as the Kubernetes API shows them (the JSON kubectl and the client read).

One function per kind turns a simulator record into the object a real API server of
`VERSION` would return, with the fields kubectl's printers, `describe` and the official
client look at. Names, labels and owner references follow the real controllers:
a Deployment `web` owns ReplicaSet `web-<pod-template-hash>`, which owns its pods,
labelled `app=web` (kubectl create deployment's selector) and `pod-template-hash`.
"""
from __future__ import annotations

import copy
import hashlib
from datetime import datetime, timezone
from typing import Callable

from ...base import Probe
from ..controllers import Counts
from ..objects import CONTAINER_DEFAULTS, POD_DEFAULTS, Deployment, NodeObj, Pod, ReplicaSet
from ..versions import KUBERNETES as VERSION  # the release whose API, words and defaults it follows

NAMESPACE = "default"
SYSTEM_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"


def key(namespace: str, name: str) -> str:
    """The simulator's name for a namespaced object: the name itself in "default", else
    "namespace/name" (a "/" no valid name holds), so the simulator's controllers, which
    relate objects by name, keep each namespace's objects apart without knowing of them."""
    return name if namespace == NAMESPACE else f"{namespace}/{name}"


def split(key_: str) -> tuple[str, str]:
    """(namespace, name) of a simulator name made by `key`."""
    namespace_, _, name = key_.rpartition("/")
    return namespace_ or NAMESPACE, name


def short(key_: str) -> str:
    return split(key_)[1]


class Clockwork:
    """Turns the simulator's virtual seconds into the timestamps the API shows.

    `epoch` is the wall-clock moment of virtual time 0: a served cluster takes the wall
    clock at its start, so kubectl's own client-side ages (describe) are right too."""

    def __init__(self, epoch: float) -> None:
        self.epoch = epoch

    def stamp(self, t: float | None) -> str | None:
        if t is None:
            return None
        when = datetime.fromtimestamp(self.epoch + t, timezone.utc)
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")

    def micro(self, t: float) -> str:
        """A MicroTime (a Lease's renewTime, an events.k8s.io eventTime)."""
        return datetime.fromtimestamp(self.epoch + t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def uid(kind: str, name: str, created: float = 0.0) -> str:
    """A stable UUID-shaped id: the same object keeps it, a re-created one gets a new one."""
    digest = hashlib.sha256(f"{kind}/{name}/{created!r}".encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def meta(kind: str, name: str, rv: int, created: float, clock: Clockwork, namespace: str | None = NAMESPACE,
         labels: dict | None = None, **more) -> dict:
    """`name` is the simulator's (namespace/name outside "default"): a namespaced
    object's namespace comes from it."""
    key_ = name
    if namespace:
        namespace, name = split(key_)
    out = {"name": name}
    if namespace:
        out["namespace"] = namespace
    out.update(uid=uid(kind, key_, created), resourceVersion=str(rv), creationTimestamp=clock.stamp(created))
    if labels:
        out["labels"] = dict(labels)
    out.update({k: v for k, v in more.items() if v is not None})
    return out


def namespace(name: str, clock: Clockwork, rv: int = 1, created: float = 0.0, labels: dict | None = None,
              terminating: bool = False) -> dict:
    return {"kind": "Namespace", "apiVersion": "v1",
            "metadata": meta("Namespace", name, rv, created, clock, None,
                             {**(labels or {}), "kubernetes.io/metadata.name": name}),
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Terminating" if terminating else "Active"}}


def node_ip(n: NodeObj) -> str:
    return f"192.168.49.{n.index + 2}"  # minikube's default network


def kubelet_labels(n: NodeObj) -> dict[str, str]:
    """The labels a node's kubelet (and kubeadm, for the control plane) gives it."""
    labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
              "kubernetes.io/hostname": n.name, "kubernetes.io/os": "linux"}
    if n.role == "control-plane":
        labels[CONTROL_PLANE_LABEL] = ""
    return labels


# The kubelet's node conditions (pkg/kubelet/nodestatus/setters.go), in the order it reports them.
PRESSURES = (("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
             ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
             ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"))


def node_conditions(n: NodeObj, clock: Clockwork) -> list[dict]:
    """What the kubelet posts, or, once it stopped posting, what the node lifecycle controller
    sets every condition to (Unknown, NodeStatusUnknown)."""
    since = clock.stamp(0.0)
    if not n.ready:
        return [{"type": kind, "status": "Unknown", "reason": "NodeStatusUnknown",
                 "message": "Kubelet stopped posting node status.", "lastHeartbeatTime": since,
                 "lastTransitionTime": since} for kind in [p[0] for p in PRESSURES] + ["Ready"]]
    conditions = [{"type": kind, "status": "False", "reason": reason, "message": message,
                   "lastHeartbeatTime": since, "lastTransitionTime": since} for kind, reason, message in PRESSURES]
    return conditions + [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                          "message": "kubelet is posting ready status", "lastHeartbeatTime": since,
                          "lastTransitionTime": since}]


def node(n: NodeObj, clock: Clockwork) -> dict:
    labels = kubelet_labels(n) if n.labels is None else n.labels
    taints = []
    if n.role == "control-plane":
        taints.append({"key": CONTROL_PLANE_LABEL, "effect": "NoSchedule"})
    cordoned = not n.schedulable and n.role != "control-plane"
    if cordoned:
        taints.append({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule",
                       "timeAdded": clock.stamp(0.0)})
    if not n.ready:
        taints += [{"key": "node.kubernetes.io/unreachable", "effect": effect} for effect in ("NoSchedule", "NoExecute")]
    spec: dict = {"podCIDR": f"10.244.{n.index}.0/24"}
    if cordoned:
        spec["unschedulable"] = True
    if taints:
        spec["taints"] = taints
    resources = {"cpu": str(n.cpu // 1000) if n.cpu % 1000 == 0 else f"{n.cpu}m",
                 "memory": f"{n.memory * 1024}Ki", "pods": str(n.pods_capacity),
                 "ephemeral-storage": "17784752Ki"}
    return {"kind": "Node", "apiVersion": "v1",
            "metadata": meta("Node", n.name, n.resource_version, 0.0, clock, None, labels,
                             annotations=n.annotations or None),
            "spec": spec,
            "status": {"capacity": resources, "allocatable": dict(resources),
                       "conditions": node_conditions(n, clock),
                       "addresses": [{"type": "InternalIP", "address": node_ip(n)},
                                     {"type": "Hostname", "address": n.name}],
                       "nodeInfo": {"kubeletVersion": VERSION, "kubeProxyVersion": VERSION,
                                    "machineID": uid("machine", n.name).replace("-", ""),
                                    "systemUUID": uid("system", n.name), "bootID": uid("boot", n.name),
                                    "operatingSystem": "linux", "architecture": "amd64",
                                    "osImage": "labkit simulated node", "kernelVersion": "simulated",
                                    "containerRuntimeVersion": "docker://simulated"}}}


def container_name(d: Deployment) -> str:
    return d.container or short(d.name)


def template_spec(image: str, name: str, probe: Probe | None = None, manifest: dict | None = None) -> dict:
    """A pod spec as the API server stores it: what the client wrote (`manifest`; every field kept)
    with the defaults the server adds, the container `name` running `image` (the simulator's, which a
    rollout or rollback changes); without a manifest, the spec the facade's deploy stands for."""
    if manifest is not None:
        return _defaulted(manifest, image, name)
    container = {"name": name, "image": image, **copy.deepcopy(CONTAINER_DEFAULTS)}
    if probe is not None:
        container["readinessProbe"] = probe.manifest()
    return {"containers": [container], **copy.deepcopy(POD_DEFAULTS)}


def _defaulted(manifest: dict, image: str, name: str) -> dict:
    spec = {**copy.deepcopy(POD_DEFAULTS), **copy.deepcopy(manifest)}
    containers = [{**copy.deepcopy(CONTAINER_DEFAULTS), **c} for c in spec.get("containers") or []]
    main = next((i for i, c in enumerate(containers) if c.get("name") == name), 0)
    if containers:
        containers[main]["image"] = image
    spec["containers"] = containers
    return spec


def _strategy(d: Deployment) -> dict:
    s = d.strategy
    if s["type"] == "Recreate":
        return {"type": "Recreate"}
    return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": s["max_surge"], "maxUnavailable": s["max_unavailable"]}}


def deployment(d: Deployment, sets: list[ReplicaSet], clock: Clockwork, counts: Callable[[str], Counts],
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
                                                        d.template.spec)},
                     "strategy": _strategy(d), "revisionHistoryLimit": d.history_limit,
                     "progressDeadlineSeconds": int(d.progress_deadline), **({"paused": True} if d.paused else {})},
            "status": status}


def _deployment_conditions(d: Deployment, new: ReplicaSet | None, available: int, clock: Clockwork,
                           last_progress: float) -> list[dict]:
    enough = available >= d.replicas - _max_unavailable(d)
    when = clock.stamp(last_progress)
    out = [{"type": "Available", "status": "True" if enough else "False",
            "reason": "MinimumReplicasAvailable" if enough else "MinimumReplicasUnavailable",
            "message": "Deployment has minimum availability." if enough else
            "Deployment does not have minimum availability.", "lastUpdateTime": when, "lastTransitionTime": when}]
    rs_name = short(new.name if new else f"{d.name}-{d.template.hash()}")
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
    from ..api import fenceposts
    return fenceposts(d.strategy, d.replicas)[1] if d.strategy["type"] == "RollingUpdate" else d.replicas


def replicaset(rs: ReplicaSet, counts: Counts, d: Deployment | None, clock: Clockwork, created: float = 0.0) -> dict:
    """`counts`: its pods, counted (ReplicaSetController.counts)."""
    hash_ = rs.name.rsplit("-", 1)[-1]
    labels = {**(d.selector if d is not None else {"app": short(rs.owner)}), "pod-template-hash": hash_}
    owner = [_owner("apps/v1", "Deployment", d.name, d.created)] if d is not None else None
    annotations = {"deployment.kubernetes.io/revision": str(rs.revision)}
    if d is not None:
        annotations["deployment.kubernetes.io/desired-replicas"] = str(d.replicas)
    status: dict = {"replicas": counts.active, "observedGeneration": rs.generation,
                    "fullyLabeledReplicas": counts.active}
    if counts.ready:
        status["readyReplicas"] = counts.ready
    if counts.available:
        status["availableReplicas"] = counts.available
    name = container_name(d) if d is not None else short(rs.owner)
    return {"kind": "ReplicaSet", "apiVersion": "apps/v1",
            "metadata": meta("ReplicaSet", rs.name, rs.resource_version, created, clock, labels=labels,
                             annotations=annotations, ownerReferences=owner, generation=rs.generation),
            "spec": {"replicas": rs.replicas, "selector": {"matchLabels": dict(labels)},
                     "template": {"metadata": template_meta(dict(labels), rs.template),
                                  "spec": template_spec(rs.template.image, name, rs.template.probe, rs.template.spec)}},
            "status": status}


def template_meta(labels: dict, template) -> dict:
    """A pod template's metadata: its labels (as written, when a client wrote them; `labels` adds
    the replica set's pod-template-hash), and its annotations when it has any."""
    written = {**template.labels, **{k: v for k, v in labels.items() if k == "pod-template-hash"}} \
        if template.labels is not None else labels
    return {"labels": written, **({"annotations": dict(template.annotations)} if template.annotations else {})}


def _owner(api_version: str, kind: str, name: str, created: float) -> dict:
    return {"apiVersion": api_version, "kind": kind, "name": short(name), "uid": uid(kind, name, created),
            "controller": True, "blockOwnerDeletion": True}


def pod_ip(p: Pod, n: NodeObj | None) -> str | None:
    if n is None or not p.container_up and p.phase == "pending":
        return None
    digest = int(hashlib.sha256(p.name.encode()).hexdigest()[:4], 16)
    return f"10.244.{n.index}.{digest % 250 + 2}"


def pod(p: Pod, n: NodeObj | None, d: Deployment | None, clock: Clockwork, rs_created: float = 0.0) -> dict:
    if p.template.labels is not None:
        labels = dict(p.template.labels)
    else:
        labels = dict(d.selector) if d is not None else {"app": short(p.app)} if p.app else {"run": short(p.name)}
    owner = None
    if p.owner:
        labels["pod-template-hash"] = p.owner.rsplit("-", 1)[-1]
        owner = [_owner("apps/v1", "ReplicaSet", p.owner, rs_created)]
    written = (p.template.spec or {}).get("containers") or [{}]
    name = container_name(d) if d is not None else written[0].get("name") or short(p.app or p.name)
    spec = template_spec(p.image, name, p.template.probe, p.template.spec)
    spec["restartPolicy"] = p.restart_policy
    if p.node:
        spec["nodeName"] = p.node
    spec["tolerations"] = [{"key": f"node.kubernetes.io/{k}", "operator": "Exists", "effect": "NoExecute",
                            "tolerationSeconds": 300} for k in ("not-ready", "unreachable")]
    deleting = clock.stamp(p.created) if p.deleting else None
    return {"kind": "Pod", "apiVersion": "v1",
            "metadata": meta("Pod", p.name, p.resource_version, p.created, clock, labels=labels,
                             annotations=dict(p.template.annotations) or None,
                             ownerReferences=owner, deletionTimestamp=deleting,
                             deletionGracePeriodSeconds=30 if p.deleting else None,
                             generateName=f"{short(p.owner)}-" if p.owner else None),
            "spec": spec, "status": pod_status(p, n, name, clock)}


def pod_status(p: Pod, n: NodeObj | None, container: str, clock: Clockwork) -> dict:
    started = clock.stamp(p.created)
    if p.node is None:
        return {"phase": "Pending", "qosClass": "BestEffort", "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
             "message": p.reason or "0/0 nodes are available", "lastTransitionTime": started}]}
    if p.phase == "pending" and not (p.reason or p.container_up or p.restarts):
        # scheduled, but no kubelet has reported on it yet (its kubelet may be stopped): kubectl says Pending
        return {"phase": "Pending", "qosClass": "BestEffort", "conditions": [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": started}]}
    state, last, phase = _container_state(p, clock)
    status = {"phase": phase, "hostIP": node_ip(n) if n else None, "startTime": started, "qosClass": "BestEffort",
              "conditions": [{"type": t, "status": "True" if ok else "False", "lastTransitionTime": started}
                             for t, ok in (("PodReadyToStartContainers", p.container_up or p.phase != "pending"),
                                           ("Initialized", True), ("Ready", p.ready),
                                           ("ContainersReady", p.ready), ("PodScheduled", True))],
              "containerStatuses": [{"name": container, "image": p.image, "imageID": "", "ready": p.ready,
                                     "restartCount": p.restarts, "started": p.container_up, "state": state,
                                     "lastState": last}]}
    ip = pod_ip(p, n)
    if ip:
        status["podIP"] = ip
        status["podIPs"] = [{"ip": ip}]
    return {k: v for k, v in status.items() if v is not None}


def _container_state(p: Pod, clock: Clockwork) -> tuple[dict, dict, str]:
    """(state, lastState, pod phase) in the kubelet's words."""
    crashed = {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": clock.stamp(p.created),
                              "finishedAt": clock.stamp(p.created)}} if p.restarts else {}
    if p.container_up:
        return {"running": {"startedAt": clock.stamp(p.started or p.created)}}, crashed, "Running"
    if p.phase == "failed" and p.restart_policy == "Never":
        return {"terminated": {"exitCode": 1, "reason": "Error"}}, {}, "Failed"
    if p.phase == "failed":  # crashed, the kubelet will restart it (CrashLoopBackOff) or just did (Error)
        if p.reason == "CrashLoopBackOff":
            message = f"back-off restarting failed container {short(p.app or p.name)}"
            return {"waiting": {"reason": "CrashLoopBackOff", "message": message}}, crashed, "Running"
        return {"terminated": {"exitCode": 1, "reason": "Error"}}, crashed, "Running"
    if p.phase == "succeeded":
        return {"terminated": {"exitCode": 0, "reason": "Completed"}}, {}, "Succeeded"
    return {"waiting": {"reason": p.reason or "ContainerCreating"}}, crashed, "Pending"


def event(index: int, t: float, reason: str, obj: str, message: str, type_: str, source: str,
          clock: Clockwork, uid_of=None) -> dict:
    """One entry of the simulator's event log as a core/v1 Event; `uid_of(kind, name)` gives
    the involved object's uid while it exists (`kubectl describe` selects events by it)."""
    kind_word, _, name = obj.partition("/")
    kind = {"pod": "Pod", "node": "Node", "deployment": "Deployment", "replicaset": "ReplicaSet"}.get(kind_word, "Pod")
    api_version = "apps/v1" if kind in ("Deployment", "ReplicaSet") else "v1"
    namespace_ = None if kind == "Node" else split(name)[0]
    involved_uid = uid_of(kind, name) if uid_of else None
    if namespace_ not in (None, NAMESPACE):
        name, message = short(name), message.replace(f"{namespace_}/", "")
    component = {"kubelet": "kubelet", "scheduler": "default-scheduler"}.get(source, source or "labkit")
    stamp = clock.stamp(t)
    return {"kind": "Event", "apiVersion": "v1",
            "metadata": {"name": f"{name}.{index:016x}", "namespace": namespace_ or NAMESPACE,
                         "uid": uid("Event", str(index)), "resourceVersion": str(index + 1),
                         "creationTimestamp": stamp},
            "involvedObject": {k: v for k, v in {"kind": kind, "namespace": namespace_, "name": name,
                                                  "uid": involved_uid, "apiVersion": api_version}.items() if v},
            "reason": reason, "message": message, "type": type_, "count": 1,
            "source": {"component": component}, "firstTimestamp": stamp, "lastTimestamp": stamp,
            "reportingComponent": component, "reportingInstance": ""}


def event_v1(core: dict) -> dict:
    """A core/v1 Event in the shape of events.k8s.io/v1, as the API server converts it
    (pkg/apis/events/v1/conversion.go: involvedObject -> regarding, message -> note, source,
    firstTimestamp, lastTimestamp and count -> deprecated*, reportingComponent -> reportingController)."""
    same = ("eventTime", "series", "reportingInstance", "action", "reason", "related", "type")
    shaped = {"kind": "Event", "apiVersion": "events.k8s.io/v1", "metadata": core["metadata"],
              **{k: core[k] for k in same if core.get(k) is not None},
              "reportingController": core.get("reportingComponent"), "regarding": core.get("involvedObject"),
              "note": core.get("message"), "deprecatedSource": core.get("source"),
              "deprecatedFirstTimestamp": core.get("firstTimestamp"),
              "deprecatedLastTimestamp": core.get("lastTimestamp"), "deprecatedCount": core.get("count")}
    if shaped.get("eventTime") is None and core.get("lastTimestamp"):
        # A core event's eventTime is empty, and the real server sends null; the schema (and the official
        # client, which refuses null) require a MicroTime: the moment it happened, to the microsecond.
        shaped["eventTime"] = core["lastTimestamp"].replace("Z", ".000000Z")
    return {k: v for k, v in shaped.items() if v is not None}


SHAPES = {"events.k8s.io": event_v1}  # groups that serve another group's objects in their own shape
