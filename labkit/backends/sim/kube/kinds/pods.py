"""Pods (pkg/registry/core/pod): the simulator's pods and the control plane's, as the API serves them.

A pod is rendered from the simulator's record (with its node, and its deployment's selector
and container name), once per change: watchers and lists share one rendering. A pod made
through the API (`kubectl run`) is a bare one, which no controller brings back. Deleting one
is graceful: it stays, Terminating, until its kubelet is done. Its subresources: `log` (what
the container printed), `eviction` (`kubectl drain`: no PodDisruptionBudgets here, so a
graceful delete), `binding` and `status` as discovery lists them. Its table follows printPod
(pkg/printers/internalversion/printers.go).
"""
from __future__ import annotations

import copy
import hashlib
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ..... import catalog
from .....errors import LabkitError
from ...controllers import delete_pod
from ...objects import Deployment, NodeObj, Pod, Template, qos_class
from .. import resources as res
from ..printers import AGE, NAME, age, human_duration, parse_time, parts
from ..resources import Clockwork, container_name, meta, node_ip, owner_reference, short, template_spec
from ..status import ApiError, from_labkit, invalid, not_found
from . import ALL, REGISTRY, STATUS, Call, Column, Kind, Obj, Strategy, Subresource, Watch
from .common import DNS1123, DNS1123_HELP, named, user_annotations
from .controlplane import system_log, system_pods
from .poddisruptionbudgets import check_eviction

if TYPE_CHECKING:
    from ..rest import Storage


# -- the simulator's pod as JSON ---------------------------------------------------------------
def pod_ip(p: Pod, n: NodeObj | None) -> str | None:
    if n is None or not p.container_up and p.phase == "pending":
        return None
    digest = int(hashlib.sha256(p.name.encode()).hexdigest()[:4], 16)
    return f"10.244.{n.index}.{digest % 250 + 2}"


def render(p: Pod, n: NodeObj | None, d: Deployment | None, clock: Clockwork, rs_created: float = 0.0) -> dict:
    if n is not None and not n.up and p.reported_up and not p.container_up:
        # its node lost power: nobody reports, and the API server shows the kubelet's last report (Running)
        p = copy.copy(p)
        p.container_up = True
    if p.template.labels is not None:
        labels = dict(p.template.labels)
    else:
        labels = dict(d.selector) if d is not None else {"app": short(p.app)} if p.app else {"run": short(p.name)}
    owner = None
    if p.owner.startswith(("Job:/", "StatefulSet:/", "DaemonSet:/")):  # sim/jobs.py, statefulsets.py, daemonsets.py:
        kind = p.owner.split(":/")[0]  # its owner is "<Kind>:/<the owner's uid>/<its key>"
        owner = [{**owner_reference("batch/v1" if kind == "Job" else "apps/v1", kind, p.owner, 0.0),
                  "uid": p.owner.split("/")[1]}]
    elif p.owner:
        if p.owner != p.app:  # a deployment's replica set (a client's own set adds no hash)
            labels["pod-template-hash"] = p.owner.rsplit("-", 1)[-1]
        owner = [owner_reference("apps/v1", "ReplicaSet", p.owner, rs_created)]
    written = (p.template.spec or {}).get("containers") or [{}]
    name = container_name(d) if d is not None else written[0].get("name") or short(p.app or p.name)
    spec = template_spec(p.image, name, p.template.probe, p.template.spec, p.template.pre_stop)
    spec["restartPolicy"] = p.restart_policy
    if p.node:
        spec["nodeName"] = p.node
    # the DefaultTolerationSeconds admission plugin adds these two to a pod that does not tolerate them
    given = [t for t in spec.get("tolerations") or [] if isinstance(t, dict)]
    spec["tolerations"] = given + [
        {"key": f"node.kubernetes.io/{k}", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
        for k in ("not-ready", "unreachable") if not any(t.get("key") == f"node.kubernetes.io/{k}" for t in given)]
    deleting = clock.stamp(p.created) if p.deleting else None
    return {"kind": "Pod", "apiVersion": "v1",
            "metadata": meta("Pod", p.name, p.resource_version, p.created, clock, labels=labels,
                             annotations=dict(p.template.annotations) or None,
                             ownerReferences=owner, deletionTimestamp=deleting,
                             deletionGracePeriodSeconds=30 if p.deleting else None,
                             generateName=f"{short(p.owner)}-" if p.owner else None),
            "spec": spec, "status": _status(p, n, name, clock)}


def _status(p: Pod, n: NodeObj | None, container: str, clock: Clockwork) -> dict:
    started = clock.stamp(p.created)
    if p.node is None:
        return {"phase": "Pending", "qosClass": qos_class(p.template.spec, p.cpu, p.memory), "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
             "message": p.reason or "0/0 nodes are available", "lastTransitionTime": started}]}
    if p.phase == "pending" and not (p.reason or p.container_up or p.restarts):
        # scheduled, but no kubelet has reported on it yet (its kubelet may be stopped): kubectl says Pending
        return {"phase": "Pending", "qosClass": qos_class(p.template.spec, p.cpu, p.memory), "conditions": [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": started}]}
    state, last, phase = _container_state(p, clock)
    status = {"phase": phase, "hostIP": node_ip(n) if n else None, "startTime": started, "qosClass": qos_class(p.template.spec, p.cpu, p.memory),
              "conditions": [{"type": t, "status": "True" if ok else "False", "lastTransitionTime": started}
                             for t, ok in (("PodReadyToStartContainers", p.container_up or p.phase != "pending"),
                                           ("Initialized", True), ("Ready", p.ready),
                                           ("ContainersReady", p.ready), ("PodScheduled", True))],
              "containerStatuses": [{"name": container, **_image_status(p), "ready": p.ready,
                                     "restartCount": p.restarts, "started": p.container_up, "state": state,
                                     "lastState": last}]}
    ip = pod_ip(p, n)
    if ip:
        status["podIP"] = ip
        status["podIPs"] = [{"ip": ip}]
    return {k: v for k, v in status.items() if v is not None}


def _image_status(p: Pod) -> dict:
    """The image a public image's container runs, as containerd names it, and its digest once pulled."""
    found = catalog.find(p.image) if p.runs else None
    if found is None or found.error:
        return {"image": p.image, "imageID": ""}
    digest = hashlib.sha256(found.reference.encode()).hexdigest()
    repository = found.reference.split("@")[0].rsplit(":", 1)[0] if "@" not in found.reference else \
        found.reference.split("@")[0]
    return {"image": found.reference, "imageID": f"{repository}@sha256:{digest}"}


def _container_state(p: Pod, clock: Clockwork) -> tuple[dict, dict, str]:
    """(state, lastState, pod phase) in the kubelet's words."""
    if p.runs:
        return _program_state(p, clock)
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
    waiting = {"reason": p.reason or "ContainerCreating", **({"message": p.message} if p.message else {})}
    return {"waiting": waiting}, crashed, "Pending"


def _program_state(p: Pod, clock: Clockwork) -> tuple[dict, dict, str]:
    """A container that runs a program (node.py, programs.py): its current run, and its last
    terminated one as lastState (pkg/kubelet/kubelet_pods.go convertToAPIContainerStatuses)."""
    run, before = p.runs[-1], (p.runs[-2] if len(p.runs) > 1 else None)

    def terminated(r) -> dict:
        return {"terminated": {"exitCode": r.code, "reason": r.reason, "startedAt": clock.stamp(r.started),
                               "finishedAt": clock.stamp(r.finished)}}
    last = terminated(before) if before is not None and before.finished is not None else {}
    if p.container_up:
        return {"running": {"startedAt": clock.stamp(run.started)}}, last, "Running"
    if run.finished is None:  # not started again yet (its ConfigMap went missing, its node restarted)
        waiting = {"reason": p.reason or "ContainerCreating", **({"message": p.message} if p.message else {})}
        return {"waiting": waiting}, last, "Running" if p.restarts else "Pending"
    if p.phase == "succeeded":
        return terminated(run), last, "Succeeded"
    restarts = p.restart_policy == "Always" or (p.restart_policy == "OnFailure" and run.code != 0)
    if not restarts:
        return terminated(run), last, "Failed"
    if p.reason in ("CrashLoopBackOff", "CreateContainerConfigError"):
        return {"waiting": {"reason": p.reason, "message": p.message}}, terminated(run), "Running"
    return terminated(run), last, "Running"


def rendered(store: Storage, key: str) -> Obj:
    """The pod `key` (the simulator's name) as JSON, rendered again only once it or its deployment changed."""
    return store.rendered("pods", key, _version(store, key), _render)


def _version(store: Storage, key: str) -> tuple:
    p = store.items("pods")[key]
    d = store.items("deployments").get(p.app) if p.owner and p.owner != p.app else None
    return p.resource_version, d.resource_version if d else 0


def _render(store: Storage, key: str) -> dict:
    return _render_record(store, store.items("pods")[key])


def _render_record(store: Storage, p: Pod) -> dict:
    d = store.items("deployments").get(p.app) if p.owner and p.owner != p.app else None
    rs = store.items("replicasets").get(p.owner) if p.owner == p.app else None  # a client's own set
    created = d.created if d else (rs.written or {}).get("created", 0.0) if rs else 0.0
    return render(p, store.items("nodes").get(p.node) if p.node else None, d, store.clock, created)


# -- the strategy ----------------------------------------------------------------------------
def objects(store: Storage, namespace: str | None) -> list[Obj]:
    """The stored pods, and the control plane's in kube-system."""
    system = system_pods(store.sim, store.clock) if namespace in (None, "kube-system") else []
    found = [rendered(store, key) for key in store.keys("pods", namespace)] + system
    return sorted(found, key=lambda o: (o["metadata"]["namespace"], o["metadata"]["name"])) if system else found


def get(store: Storage, namespace: str | None, name: str) -> Obj | None:
    if namespace == "kube-system":
        return named(objects(store, namespace), name)
    key = res.key(namespace or res.NAMESPACE, name)
    return None if namespace is None or key not in store.items("pods") else rendered(store, key)


def validate(name: str, body: Obj) -> list[tuple[str, str]]:
    """A pod made through the API needs a name and an image."""
    containers = (body.get("spec") or {}).get("containers") or []
    causes = [] if DNS1123.match(name) else [("metadata.name", f'Invalid value: "{name}": {DNS1123_HELP}')]
    if not containers or not containers[0].get("image"):
        causes.append(("spec.containers[0].image", "Required value"))
    return causes


def create(store: Storage, namespace: str, body: Obj, dry_run: bool) -> Obj:
    """A bare pod (`kubectl run`): no controller brings it back once it is gone."""
    name = (body.get("metadata") or {}).get("name") or ""
    key = res.key(namespace, name)
    if key in store.items("pods"):
        raise ApiError(409, "AlreadyExists", f'pods "{name}" already exists', {"name": name, "kind": "pods"})
    if dry_run:
        return body
    meta, spec = body.get("metadata") or {}, body.get("spec") or {}
    containers = spec.get("containers") or []
    template = Template(containers[0]["image"], annotations=user_annotations(body),
                        labels=dict(meta.get("labels") or {}), spec=dict(spec))
    try:
        store.sim.run_pod(key, template, spec.get("restartPolicy") or "Always")
    except LabkitError as error:
        raise from_labkit(error, "pods", name) from None
    return rendered(store, key)


def delete(store: Storage, namespace: str | None, name: str, found: Obj, dry_run: bool) -> Obj:
    """Graceful: the pod stays, Terminating, until its kubelet is done; the answer is the pod
    (the registry's ReturnDeletedObject), which clients decode."""
    if dry_run:
        return found
    key = res.key(namespace or res.NAMESPACE, name)
    pods = store.items("pods")
    try:
        if key in pods:  # else a control-plane static pod: its kubelet makes its mirror again at once
            store.sim.api.check()
            delete_pod(store.sim.api, pods[key], source="api-server")
    except LabkitError as error:
        raise from_labkit(error, "pods", name) from None
    return rendered(store, key) if key in store.items("pods") else found


# What a pod's update may change in its spec (pkg/apis/core/validation ValidatePodUpdate); the rest is fixed.
POD_UPDATE_RULE = ("pod updates may not change fields other than `spec.containers[*].image`,"
                   "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions "
                   "to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
                   "previously negative)")


def _fixed(spec: Obj) -> Obj:
    """A pod spec without the fields an update may change."""
    out = {k: v for k, v in spec.items() if k not in ("activeDeadlineSeconds", "tolerations",
                                                       "terminationGracePeriodSeconds")}
    out["containers"] = [{k: v for k, v in c.items() if k != "image"} for c in spec.get("containers") or []
                         if isinstance(c, dict)]
    return out


def update(store: Storage, namespace: str | None, name: str, current: Obj, wanted: Obj, dry_run: bool) -> None:
    """`kubectl label/annotate/patch/edit` of a pod: its labels and annotations change; its spec only
    where ValidatePodUpdate allows, else 422 with upstream's rule. A pod whose new labels no longer
    match its replica set's selector is released by it (the replica set makes another, as
    `kubectl label pod ... app=debug --overwrite` shows on a real cluster)."""
    key = res.key(namespace or res.NAMESPACE, name)
    p = store.items("pods").get(key)
    if p is None:
        raise ApiError(405, "MethodNotAllowed", f'pod "{name}" is a static pod of the control plane: its kubelet '
                       "keeps it as its manifest says")
    spec, now = wanted.get("spec") or {}, current["spec"]
    kept = spec.get("tolerations") or []
    if _fixed(spec) != _fixed(now) or any(t not in kept for t in now.get("tolerations") or []):
        raise invalid("Pod", "pods", name, [("spec", f"Forbidden: {POD_UPDATE_RULE}")])
    if [c.get("image") for c in spec.get("containers") or []] != [c.get("image") for c in now["containers"]]:
        raise ApiError(405, "MethodNotAllowed", f'the simulator does not change a running pod\'s image yet: delete '
                       f'pod "{name}" and create it again with the new image (a Deployment does this for you: '
                       "kubectl set image deployment/...)")
    meta = wanted.get("metadata") or {}
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != "pod-template-hash"}
    if dry_run:
        return
    store.sim.api.check()
    changes = {"labels": labels, "annotations": user_annotations(wanted)}
    if spec != now:  # activeDeadlineSeconds, tolerations, the grace period: the pod keeps them from now on
        changes["spec"] = copy.deepcopy(spec)
    p.template = p.template.copy(**changes)
    d = store.items("deployments").get(p.app) if p.owner and p.owner != p.app else None
    if d is not None and any(labels.get(k) != v for k, v in d.selector.items()):
        # released: no controller of it any more; it keeps the spec it was made with
        p.owner, p.app, p.template = "", "", p.template.copy(spec=copy.deepcopy(changes.get("spec", now)))
    store.sim.api.write("pods", p)


def log(store: Storage, call: Call) -> tuple[int, str]:
    """What the container printed: the demo web servers log nothing; the broken one says why it died.
    A public image's container (programs.py) shows its program's output up to now, as the kubelet's
    GetContainerLogs does (pkg/kubelet/kubelet_pods.go validateContainerLogStatus: the current
    container, or with previous=true the last terminated one; a waiting one has no log yet), with
    the query's container, previous, tailLines, timestamps, sinceSeconds and limitBytes."""
    namespace, name = call.namespace, call.name
    if namespace == "kube-system":
        return 200, system_log(store.get("pods", namespace, name), store.clock)
    p = store.items("pods").get(res.key(namespace, name)) if namespace else None
    if p is None:
        raise not_found("pods", name)
    containers = [c.get("name") for c in store.get("pods", namespace, name)["spec"]["containers"]]
    query = call.query
    container = query.get("container") or containers[0]
    if not query.get("container") and len(containers) > 1:
        raise ApiError(400, "BadRequest", f"a container name must be specified for pod {name}, "
                                          f"choose one of: [{' '.join(containers)}]")
    if container not in containers:
        raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {name}")
    if p.runs and container == containers[0]:
        return 200, _program_log(p, store.clock, store.sim.now(), name, container, query)
    if p.node is None or (not p.container_up and p.phase == "pending"):
        why = "trying and failing to pull image" if p.reason in ("ErrImagePull", "ImagePullBackOff") else \
            p.reason or "ContainerCreating"
        raise ApiError(400, "BadRequest", f'container "{container}" in pod "{name}" is waiting to start: {why}')
    return 200, "web-server:broken: crashing on purpose\n" if p.image == "web-server:broken" and p.restarts else ""


def _program_log(p: Pod, clock: Clockwork, now: float, name: str, container: str, query) -> str:
    """A program's log (kubelet validateContainerLogStatus, then the CRI log's options)."""
    state, last, _ = _program_state(p, clock)
    run, before = p.runs[-1], (p.runs[-2] if len(p.runs) > 1 else None)
    shown_last = run if "waiting" in state and run.finished is not None else before
    if query.get("previous") in ("true", "1"):
        if not last:
            raise ApiError(400, "BadRequest", f'previous terminated container "{container}" in pod "{name}" not found')
        shown = shown_last
    elif "waiting" in state:
        if not last:
            raise ApiError(400, "BadRequest", f'container "{container}" in pod "{name}" is waiting to start: '
                                              f'{state["waiting"].get("reason")}')
        shown = shown_last
    else:
        shown = run
    lines = shown.output(now, lambda t: datetime.fromtimestamp(clock.epoch + t, timezone.utc))
    since = query.get("sinceSeconds")
    if since and since.isdigit():
        lines = [(t, text) for t, text in lines if t >= now - int(since)]
    tail = query.get("tailLines")
    if tail is not None and tail.lstrip("-").isdigit() and int(tail) >= 0:
        lines = lines[len(lines) - int(tail):] if int(tail) else []
    stamped = query.get("timestamps") in ("true", "1")
    text = "".join((f"{_nano(clock.epoch + t)} " if stamped else "") + line + "\n" for t, line in lines)
    limit = query.get("limitBytes")
    if limit and limit.isdigit():
        text = text.encode()[:int(limit)].decode(errors="ignore")
    return text


def _nano(epoch_seconds: float) -> str:
    """Go's time.RFC3339Nano, as the kubelet stamps log lines (trailing zeros of the fraction dropped)."""
    when = datetime.fromtimestamp(epoch_seconds, timezone.utc)
    fraction = f"{when.microsecond:06d}000".rstrip("0")
    return when.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def no_shell(store: Storage, call: Call) -> tuple[int, Obj]:
    """`kubectl attach`: the simulator has no process to attach a terminal to, so it answers what it
    cannot do (a real API server proxies this to the kubelet's streaming server). `exec` is answered
    by kube/exec.py, `portforward` by kube/portforward.py (both streams: server.route sends them there)."""
    store.get("pods", call.namespace, call.name)  # a pod that is not there: 404, as upstream
    raise ApiError(400, "BadRequest",
                   "labkit's simulated cluster does not attach to a container's process (attach needs a real "
                   "container runtime); `%kubectl logs POD` shows what the container prints, `kubectl exec POD -- "
                   "COMMAND` runs one command, and labkit's kubernetes backend on minikube runs kubectl attach for real")


def evict(store: Storage, call: Call) -> tuple[int, Obj]:
    """`kubectl drain`'s eviction: a graceful delete, unless a PodDisruptionBudget does not allow it."""
    pod = store.get("pods", call.namespace, call.name)
    if call.namespace and not call.dry_run:
        check_eviction(store, call.namespace, pod)
    store.delete("pods", call.namespace, call.name, dry_run=False)
    return 201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


# -- the table (printPod) --------------------------------------------------------------------
def _restarts(statuses: list[Obj], now: float) -> str:
    """printPod's RESTARTS: the total, plus "(5m ago)" from the latest lastState.terminated.finishedAt."""
    count = sum(int(cs.get("restartCount") or 0) for cs in statuses)
    finished = [parse_time(stamp) for cs in statuses
                if (stamp := ((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt"))]
    if count and finished:
        return f"{count} ({human_duration(now - max(finished))} ago)"
    return str(count)


def _exit_reason(terminated: Obj) -> str:
    """A terminated container's reason, else "Signal:N" or "ExitCode:N"."""
    if terminated.get("reason"):
        return terminated["reason"]
    if terminated.get("signal"):
        return f"Signal:{terminated['signal']}"
    return f"ExitCode:{terminated.get('exitCode', 0)}"


def _ready_condition(status: Obj) -> bool:
    """Follows hasPodReadyCondition: some Ready condition is True."""
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def pod_status(pod: Obj) -> tuple[str, int, int]:
    """Follows printPod's STATUS and READY (init containers left out): (status, ready, total)."""
    meta, spec, status = parts(pod)
    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    if any(c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated"
           for c in status.get("conditions") or []):
        reason = "SchedulingGated"
    ready, running = 0, False
    for cs in reversed(status.get("containerStatuses") or []):  # the first container's word wins
        state = cs.get("state") or {}
        waiting, terminated = state.get("waiting") or {}, state.get("terminated")
        if waiting.get("reason"):
            reason = waiting["reason"]
        elif terminated is not None:
            reason = _exit_reason(terminated)
        elif cs.get("ready") and state.get("running") is not None:
            running, ready = True, ready + 1
    if reason == "Completed" and running:
        reason = "Running" if _ready_condition(status) else "NotReady"
    if meta.get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":  # node.NodeUnreachablePodReason
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"
    return reason, ready, len(spec.get("containers") or [])


def pod_row(pod: Obj, now: float) -> list:
    """Follows printPod: Name, Ready, Status, Restarts, Age | IP, Node, Nominated Node, Readiness Gates."""
    meta, spec, status = parts(pod)
    reason, ready, total = pod_status(pod)
    ips = status.get("podIPs") or []
    ip = (ips[0].get("ip") if ips else status.get("podIP")) or "<none>"
    restarts = _restarts(status.get("containerStatuses") or [], now)
    return [meta.get("name", ""), f"{ready}/{total}", reason, restarts, age(pod, now), ip,
            spec.get("nodeName") or "<none>", status.get("nominatedNodeName") or "<none>",
            _readiness_gates(spec, status)]


def _readiness_gates(spec: Obj, status: Obj) -> str:
    """"true/all" over spec.readinessGates, or "<none>"."""
    gates = spec.get("readinessGates") or []
    if not gates:
        return "<none>"
    conditions = status.get("conditions") or []
    passed = 0
    for gate in gates:
        match = next((c for c in conditions if c.get("type") == gate.get("conditionType")), None)
        passed += bool(match and match.get("status") == "True")
    return f"{passed}/{len(gates)}"


def pod_conditions(pod: Obj) -> list[dict]:
    """Follows printPod's row conditions: Completed=True for Succeeded and Failed pods."""
    phase = ((pod.get("status") or {}).get("phase")) or ""
    messages = {"Succeeded": "The pod has completed successfully.", "Failed": "The pod failed."}
    if phase not in messages:
        return []
    return [{"type": "Completed", "status": "True", "reason": phase, "message": messages[phase]}]


COLUMNS = (NAME,
           Column("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
           Column("Status", "string", "The aggregate status of the containers in this pod."),
           Column("Restarts", "string", "The number of times the containers in this pod have been restarted "
                                        "and when the last container in this pod has restarted."),
           AGE,
           Column("IP", "string", "The pod's first IP address (status.podIPs).", 1),
           Column("Node", "string", "The node the pod is bound to (spec.nodeName).", 1),
           Column("Nominated Node", "string", "The node a preempting pod waits for (status.nominatedNodeName).", 1),
           Column("Readiness Gates", "string", "Extra conditions that gate pod readiness (spec.readinessGates).", 1))

POD = REGISTRY.add(Kind(
    group="", version="v1", plural="pods", kind="Pod", namespaced=True, verbs=ALL, short=("po",),
    subresources=(STATUS, Subresource(name="log", verbs=("get",), handlers={"GET": log}),
                  Subresource(name="exec", kind="PodExecOptions", verbs=("create", "get")),  # exec.py
                  Subresource(name="attach", kind="PodAttachOptions", verbs=("create", "get"),
                              handlers={"GET": no_shell, "POST": no_shell}),
                  Subresource(name="portforward", kind="PodPortForwardOptions", verbs=("create", "get")),  # portforward.py
                  Subresource(name="eviction", kind="Eviction", group="policy", version="v1", verbs=("create",),
                              schema="io.k8s.api.policy.v1.Eviction", handlers={"POST": evict}),
                  Subresource(name="binding", kind="Binding", verbs=("create",))),
    categories=("all",), schema="io.k8s.api.core.v1.Pod", protobuf="Pod",
    fields=("metadata.name", "metadata.namespace", "spec.nodeName", "status.phase", "spec.restartPolicy",
            "spec.schedulerName", "status.podIP"),
    columns=COLUMNS, row=pod_row,
    watch=Watch(record="pods", tombstone=lambda clock, p: render(p, None, None, clock), snapshot=_render_record),
    strategy=Strategy(objects=objects, get=get, validate=validate, create=create, update=update, delete=delete,
                      delete_collection=True, pod_spec=True)))
