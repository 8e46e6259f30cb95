"""Deployments on a real Kubernetes cluster (minikube, kind, k3d, Docker Desktop ...).

Through the official `kubernetes` client, imported only when a backend is
made, so `import labkit` stays fast. The module has three layers:

* manifests -- pure functions that build every object labkit sends, as the
  dicts `kubectl apply -f` would read (the tests validate them against the
  real OpenAPI schemas of several Kubernetes versions);
* reading -- pure functions that turn what the API returns (JSON dicts, the
  shape of `kubectl get -o json`) into labkit's `ClusterState`;
* `KubernetesBackend` -- the requests, and the translation of the API's
  errors into labkit's errors with a next step to try.

Safety: the context guard (`labkit.kubecontext`) runs before the client is
created; labkit works in its own namespace (labelled `io.labkit=<lab>`),
refuses a namespace it did not make, and `reset` deletes only namespaces
carrying that label.
"""
from __future__ import annotations

import copy
import json
import math
import os
import random
import re
import time
import warnings
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Callable, Iterator

from .. import kubecontext
from ..errors import AlreadyExists, InvalidInput, LabkitError, NotFound, Refused, Timeout, Unavailable
from ..model import ClusterState, Component, Event, Node, Replica, Workload
from .base import LABEL, DeploySpec, UpdateStrategy

WORKLOAD_LABEL = "io.labkit/workload"  # which deployment a pod belongs to (also the selector)
CONTAINER_LABEL = "io.labkit/container"  # a bare pod made by run_container
CORDONED = "io.labkit/cordoned"  # annotation on nodes labkit cordoned, so reset uncordons only those
FAILED = "io.labkit/failed"  # ... and on nodes it cordoned in place of a power failure
REVISION = "deployment.kubernetes.io/revision"
HASH_LABEL = "pod-template-hash"
# Annotations `kubectl rollout undo` keeps from the deployment instead of copying them from
# the ReplicaSet (kubectl/pkg/polymorphichelpers/rollback.go).
ROLLBACK_SKIPPED_ANNOTATIONS = (
    "kubectl.kubernetes.io/last-applied-configuration", REVISION,
    "deployment.kubernetes.io/revision-history", "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas", "deprecated.deployment.rollback.to")
RESTART_POLICY = {"no": "Never", "on-failure": "OnFailure", "always": "Always", "unless-stopped": "Always"}
COMPONENTS = {"kube-apiserver": "api-server", "etcd": "etcd", "kube-scheduler": "scheduler",
              "kube-controller-manager": "controller-manager", "kube-proxy": "kube-proxy"}
DEFAULT_NAMESPACE = "labkit"
KILL_GRACE_SECONDS = 1  # kill_replica / remove_container: a crash, not a polite shutdown


# -- manifests (pure) -----------------------------------------------------------------

def namespace_manifest(namespace: str, lab: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": namespace, "labels": {LABEL: lab}}}


def object_labels(name: str, lab: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Labels of a deployment and its pods: `app` (the Service selects it, so a canary that
    says app=<stable name> joins the stable one), the caller's, then labkit's own."""
    for key in extra or {}:
        if key == LABEL or key.startswith(LABEL + "/"):
            raise InvalidInput(f"label {key!r} is labkit's own", "use another label key, e.g. 'tier'")
    return {"app": name, **(extra or {}), LABEL: lab, WORKLOAD_LABEL: name}


def container_manifest(name: str, image: str, env: dict[str, str] | None = None,
                       ports: tuple[str, ...] = (), cpu: int | None = None,
                       memory: int | None = None) -> dict:
    container: dict[str, Any] = {"name": name, "image": image,
                                 # images loaded with `minikube image load` exist only on the nodes
                                 "imagePullPolicy": "IfNotPresent"}
    if env:
        container["env"] = [{"name": k, "value": str(v)} for k, v in env.items()]
    if ports:
        container["ports"] = [{"containerPort": target, "protocol": protocol}
                              for _, target, protocol in map(parse_port, ports)]
    requests = {}
    if cpu:
        requests["cpu"] = f"{cpu}m"
    if memory:
        requests["memory"] = f"{memory}Mi"
    if requests:
        container["resources"] = {"requests": requests}
    return container


def strategy_manifest(strategy: UpdateStrategy) -> dict:
    """spec.strategy of a Deployment. A `None` stays out, so the API server fills in
    Kubernetes' own default (maxSurge and maxUnavailable 25 %)."""
    if strategy.type == "Recreate":
        return {"type": "Recreate"}
    rolling = {key: value for key, value in (("maxSurge", strategy.max_surge),
                                             ("maxUnavailable", strategy.max_unavailable))
               if value is not None}
    return {"type": "RollingUpdate", **({"rollingUpdate": rolling} if rolling else {})}


def tolerations(eviction_seconds: int) -> list[dict]:
    """How long pods stay bound to a node that stopped answering before they are evicted
    and replaced elsewhere (Kubernetes adds 300 s when the pod says nothing)."""
    return [{"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": eviction_seconds}
            for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")]


def deployment_manifest(spec: DeploySpec, lab: str, eviction_seconds: int | None = None) -> dict:
    labels = object_labels(spec.name, lab, spec.labels)
    body: dict[str, Any] = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": spec.name, "labels": labels},
        "spec": {
            "replicas": spec.replicas,
            "selector": {"matchLabels": {LABEL: lab, WORKLOAD_LABEL: spec.name}},
            "strategy": strategy_manifest(spec.strategy),
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [container_manifest(spec.name, spec.image, spec.env, spec.ports,
                                                           spec.cpu, spec.memory)]},
            },
        },
    }
    if spec.strategy.min_ready_seconds is not None:
        body["spec"]["minReadySeconds"] = math.ceil(spec.strategy.min_ready_seconds)
    if eviction_seconds is not None:
        body["spec"]["template"]["spec"]["tolerations"] = tolerations(eviction_seconds)
    return body


def service_manifest(spec: DeploySpec, lab: str) -> dict | None:
    """A NodePort Service for `ports` ("8080:80" as docker -p takes it), selecting `app`,
    so `minikube service <name> -n <namespace>` opens it. None when there are no ports."""
    if not spec.ports:
        return None
    app = spec.labels.get("app", spec.name)
    ports = []
    for published, target, protocol in map(parse_port, spec.ports):
        ports.append({"name": f"{protocol.lower()}-{published}", "port": published,
                      "targetPort": target, "protocol": protocol})
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": spec.name, "labels": {LABEL: lab, WORKLOAD_LABEL: spec.name}},
            "spec": {"type": "NodePort", "selector": {"app": app, LABEL: lab}, "ports": ports}}


def parse_port(port: str) -> tuple[int, int, str]:
    """'8080:80/udp' -> (8080, 80, 'UDP'); '80' -> (80, 80, 'TCP'); an address in front is dropped."""
    text, _, protocol = str(port).partition("/")
    parts = text.split(":")
    try:
        numbers = [int(p) for p in parts[-2:]]
    except ValueError:
        numbers = []
    protocol = (protocol or "tcp").upper()
    if not numbers or not all(1 <= n <= 65535 for n in numbers) or protocol not in ("TCP", "UDP", "SCTP"):
        raise InvalidInput(f"{port!r} is not a port mapping", "write it as docker -p takes it: '8080:80' or '80'")
    return numbers[0], numbers[-1], protocol


def pod_manifest(name: str, image: str, restart: str, lab: str) -> dict:
    """A bare Pod: one container outside any workload, as `docker run -d --restart=...`."""
    if restart not in RESTART_POLICY:
        raise InvalidInput(f"unknown restart policy {restart!r}", f"use one of {', '.join(RESTART_POLICY)}")
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {LABEL: lab, CONTAINER_LABEL: name}},
            "spec": {"restartPolicy": RESTART_POLICY[restart],
                     "containers": [container_manifest(name, image)]}}


def eviction_manifest(pod: str, namespace: str) -> dict:
    return {"apiVersion": "policy/v1", "kind": "Eviction",
            "metadata": {"name": pod, "namespace": namespace}}


def cordon_patch(cordon: bool, lab: str, failed: bool = False) -> dict:
    """Strategic merge patch for a node: cordon (marked as labkit's doing, and as a stand-in for a
    power failure when `failed`) or uncordon (which removes both marks)."""
    return {"spec": {"unschedulable": True if cordon else None},
            "metadata": {"annotations": {CORDONED: lab if cordon else None,
                                         FAILED: lab if cordon and failed else None}}}


def with_update(deployment: dict, image: str, strategy: UpdateStrategy) -> dict:
    """The deployment after `kubectl set image`, and, when the caller gave any rollout option,
    with exactly that strategy (options left out fall back to Kubernetes' defaults)."""
    updated = copy.deepcopy(deployment)
    updated.pop("status", None)
    updated["metadata"].pop("managedFields", None)  # left out, the server keeps its own
    spec = updated["spec"]
    spec["template"]["spec"]["containers"][0]["image"] = image
    if strategy != UpdateStrategy():
        spec["strategy"] = strategy_manifest(strategy)
        if strategy.min_ready_seconds is None:
            spec.pop("minReadySeconds", None)
        else:
            spec["minReadySeconds"] = math.ceil(strategy.min_ready_seconds)
    return updated


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


def template_without_hash(template: dict) -> dict:
    clean = copy.deepcopy(template)
    labels = (clean.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(HASH_LABEL, None)
    return clean


def rollback_patch(deployment: dict, replicaset: dict) -> list[dict]:
    """The JSON patch `kubectl rollout undo` sends: the ReplicaSet's pod template (without
    its hash label) and its annotations, keeping the deployment's own revision bookkeeping."""
    kept = (deployment["metadata"].get("annotations") or {})
    annotations = {k: kept[k] for k in ROLLBACK_SKIPPED_ANNOTATIONS if k in kept}
    annotations.update({k: v for k, v in (replicaset["metadata"].get("annotations") or {}).items()
                        if k not in ROLLBACK_SKIPPED_ANNOTATIONS})
    return [{"op": "replace", "path": "/spec/template", "value": template_without_hash(replicaset["spec"]["template"])},
            {"op": "replace", "path": "/metadata/annotations", "value": annotations}]


def apply_json_patch(obj: dict, patch: list[dict]) -> dict:
    """Apply the 'replace' operations of a JSON patch (enough to check what undo sends)."""
    result = copy.deepcopy(obj)
    for op in patch:
        if op["op"] != "replace":
            raise ValueError(f"unsupported op {op['op']}")
        *parents, last = op["path"].strip("/").split("/")
        target = result
        for key in parents:
            target = target.setdefault(key, {})
        target[last] = copy.deepcopy(op["value"])
    return result


# -- reading what the API returns (pure) ------------------------------------------------

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


def _condition(obj: dict, kind: str) -> dict:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == kind), {})


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
    ready = _condition(node, "Ready").get("status") == "True"
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


def replica_of(pod: dict, revisions: dict[str, int], not_ready_nodes: frozenset[str] = frozenset()) -> Replica:
    meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    labels = meta.get("labels") or {}
    phase, reason = pod_phase(pod)
    node = spec.get("nodeName")
    ready = _condition(pod, "Ready").get("status") == "True"
    if node in not_ready_nodes and phase == "running":
        ready, reason = False, "NodeNotReady"
    return Replica(name=meta["name"], workload=labels.get(WORKLOAD_LABEL, ""), node=node,
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


def workload_of(deployment: dict, pods: list[dict] | None = None) -> Workload:
    """A deployment as labkit's Workload. With its `pods`, `current` and `ready` are counted
    from them (as the ReplicaSet controller counts: not terminating, not finished), so a
    killed pod shows at once instead of when the controllers next write the status."""
    meta, spec, status = deployment["metadata"], deployment["spec"], deployment.get("status") or {}
    desired = spec.get("replicas", 1)
    current, ready = status.get("replicas", 0), status.get("readyReplicas", 0)
    if pods is not None:
        active = [p for p in pods if _active(p) and not p["metadata"].get("deletionTimestamp")]
        current = len(active)
        ready = sum(1 for p in active if _condition(p, "Ready").get("status") == "True")
    strategy = spec.get("strategy") or {}
    surge, unavailable = resolve_bounds(strategy, desired)
    rollout, message = rollout_of(deployment)
    return Workload(name=meta["name"], image=spec["template"]["spec"]["containers"][0]["image"],
                    desired=desired, current=current, ready=ready,
                    updated=status.get("updatedReplicas", 0), available=status.get("availableReplicas", 0),
                    revision=revision_of(deployment) or 1, kind="deployment",
                    strategy=strategy.get("type", "RollingUpdate"), max_surge=surge,
                    max_unavailable=unavailable, paused=bool(spec.get("paused")), rollout=rollout,
                    message=message, labels=tuple(sorted((meta.get("labels") or {}).items())))


def components_of(nodes: list[dict], pods: list[dict]) -> tuple[Component, ...]:
    """Control-plane pods (kube-system, labelled by kubeadm/minikube) and a kubelet per node."""
    found = []
    for pod in pods:
        labels = pod["metadata"].get("labels") or {}
        key = labels.get("component") or labels.get("k8s-app")
        if pod["metadata"].get("namespace") == "kube-system" and key in COMPONENTS:
            running = pod_phase(pod)[0] == "running" and _condition(pod, "Ready").get("status") == "True"
            found.append(Component(COMPONENTS[key], running, (pod.get("spec") or {}).get("nodeName") or ""))
    for node in nodes:  # the kubelet reports its runtime's health in the node's Ready condition
        ready = _condition(node, "Ready").get("status") == "True"
        found.append(Component("kubelet", ready, node["metadata"]["name"]))
        found.append(Component("container-runtime", ready, node["metadata"]["name"]))
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
                namespace: str, lab: str, now: float, version: int = 0, extra: dict | None = None) -> ClusterState:
    """One snapshot from lists as the API returns them (`pods` may span all namespaces)."""
    ours = [p for p in pods if p["metadata"].get("namespace") == namespace
            and (p["metadata"].get("labels") or {}).get(LABEL) == lab]
    revisions = {(rs["metadata"].get("labels") or {}).get(HASH_LABEL, ""): revision_of(rs) or 1
                 for rs in replicasets}
    node_objects = tuple(node_of(n, pods) for n in nodes)
    not_ready = frozenset(n.name for n in node_objects if not n.ready)
    by_workload: dict[str, list[dict]] = {}
    for pod in ours:
        by_workload.setdefault((pod["metadata"].get("labels") or {}).get(WORKLOAD_LABEL, ""), []).append(pod)
    workloads = tuple(workload_of(d, by_workload.get(d["metadata"]["name"], []))
                      for d in sorted(deployments, key=lambda d: d["metadata"]["name"])
                      if (d["metadata"].get("labels") or {}).get(LABEL) == lab)
    replicas = tuple(sorted((replica_of(p, revisions, not_ready) for p in ours), key=lambda r: r.name))
    return ClusterState(backend="kubernetes", flavor="kubernetes", time=now, nodes=node_objects,
                        workloads=workloads, replicas=replicas, components=components_of(nodes, pods),
                        version=version, extra=dict(extra or {}))


# -- the backend ------------------------------------------------------------------------

class KubernetesBackend:
    """labkit's operations as requests to a local Kubernetes cluster.

    `nodes` is the cluster's own business on a real cluster (start minikube
    with `labkit.backends.minikube.start(nodes=3)`); it is kept only to be
    shown. `namespace` defaults to "labkit" and is also the lab id that labels
    everything labkit makes. Options: `request_timeout` (seconds, default 10)
    and `eviction_seconds` (how long pods stay bound to a node that stopped
    answering; None keeps Kubernetes' 300 s).
    """

    name = "kubernetes"
    flavor = "kubernetes"

    def __init__(self, nodes: int = 3, flavor: str | None = None, seed: int = 0,
                 context: str | None = None, allow_remote: bool = False,
                 namespace: str | None = None, **options: Any) -> None:
        if flavor not in (None, "kubernetes"):
            raise InvalidInput(f"the kubernetes backend has one flavor, 'kubernetes', not {flavor!r}",
                               f"use labkit.connect('sim', flavor={flavor!r}) to imitate {flavor}")
        unknown = set(options) - {"request_timeout", "eviction_seconds"}
        if unknown:
            raise InvalidInput(f"unknown option(s) for the kubernetes backend: {', '.join(sorted(unknown))}",
                               "it takes context=, allow_remote=, namespace=, request_timeout=, eviction_seconds=")
        from .. import validate

        self.namespace = validate.name(namespace or DEFAULT_NAMESPACE, "namespace")
        self.lab = self.namespace
        self.requested_nodes = nodes
        self.timeout = options.get("request_timeout", 10.0)
        if isinstance(self.timeout, bool) or not isinstance(self.timeout, (int, float)) or not self.timeout > 0:
            raise InvalidInput(f"request_timeout must be a number of seconds > 0, not {self.timeout!r}",
                               "e.g. request_timeout=10")
        self.eviction_seconds = options.get("eviction_seconds")
        if self.eviction_seconds is not None and (isinstance(self.eviction_seconds, bool) or not isinstance(
                self.eviction_seconds, int) or self.eviction_seconds < 0):
            raise InvalidInput(f"eviction_seconds must be a whole number >= 0, not {self.eviction_seconds!r}",
                               "e.g. eviction_seconds=20 moves pods off a failed node after 20 s")
        self._rng = random.Random(seed)
        self._stopped_nodes: set[str] = set()
        # The guard reads the kubeconfig only: a refused context never meets the client.
        self.context = kubecontext.guard(context, allow_remote)
        self._api = self._connect()
        try:
            self.server_version = self._probe()
            self._check_namespace()
        except LabkitError:
            self.close()
            raise

    # -- connection and errors ------------------------------------------------------
    def _connect(self):
        import urllib3
        from kubernetes import client, config

        configuration = client.Configuration()
        try:
            config.load_kube_config(config_file=os.pathsep.join(self.context.files), context=self.context.name,
                                    client_configuration=configuration, persist_config=False)
        except Exception as exc:  # the client's ConfigException, or a missing certificate file
            raise Unavailable(f"the kubeconfig entry for context {self.context.name!r} cannot be used: {exc}",
                              "recreate it, e.g. `minikube update-context -p labkit`") from None
        configuration.retries = urllib3.util.Retry(total=1, read=0, redirect=0, status=0)
        self._client = client
        return client.ApiClient(configuration)

    def _probe(self) -> str:
        """Ask the server its version, quickly: the first request, so an unreachable cluster
        fails here with a hint rather than later in the middle of a lesson."""
        version = self._json(self._client.VersionApi(self._api).get_code,
                             _request_timeout=(min(self.timeout, 3.0), self.timeout))
        return str(version.get("gitVersion", ""))

    def _call(self, method: Callable, *args: Any, what: str = "", **kwargs: Any) -> Any:
        kwargs.setdefault("_request_timeout", self.timeout)
        kwargs.setdefault("_preload_content", False)  # labkit reads JSON itself (see _json)
        with self._errors(what):
            return method(*args, **kwargs)

    @contextmanager
    def _errors(self, what: str = "") -> Iterator[None]:
        """Turn the client's exceptions into labkit's errors, each with a next step."""
        from kubernetes.client.exceptions import ApiException
        import urllib3

        try:
            yield
        except ApiException as exc:
            raise self._api_error(exc, what) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._unreachable(exc) from None

    def _json(self, method: Callable, *args: Any, **kwargs: Any) -> dict:
        """Call a read method and return its JSON as a dict (the shape `kubectl -o json` prints):
        plain dicts are what the pure functions above read, and skipping the client's models
        is faster and indifferent to the client's version."""
        return json.loads(self._call(method, *args, **kwargs).data)

    def _unreachable(self, exc: Exception) -> Unavailable:
        reason = str(getattr(exc, "reason", None) or exc).split(": ", 1)[-1][:200]
        hint = "is the cluster running? "
        if self.context.minikube_profile:
            hint += f"`minikube status -p {self.context.minikube_profile}`; start it with " \
                    f"`minikube start -p {self.context.minikube_profile}`"
        elif self.context.name.startswith("kind-"):
            hint += f"`docker start {self.context.name[5:]}-control-plane`, or `kind create cluster`"
        else:
            hint += "start it, or pick another context: labkit.connect('kubernetes', context=...)"
        return Unavailable(f"the Kubernetes API server of context {self.context.name!r} at "
                           f"{self.context.server} does not answer ({reason})", hint)

    def _api_error(self, exc: Any, what: str) -> LabkitError:
        try:
            message = json.loads(exc.body).get("message", "")
        except (TypeError, ValueError, AttributeError):
            message = ""
        message = message or f"{exc.status} {exc.reason}"
        doing = f" (while {what})" if what else ""
        if exc.status == 401:
            return Unavailable(f"the cluster did not accept the credentials of context {self.context.name!r}",
                               "refresh them, e.g. `minikube update-context -p labkit`, or pick another context")
        if exc.status == 403:
            if "being terminated" in message:
                return Unavailable(f"namespace {self.namespace} is still being deleted: {message}",
                                   "wait a few seconds and try again")
            return Refused(f"the cluster forbids it{doing}: {message}",
                           f"use a context allowed to manage namespace {self.namespace!r} "
                           "(minikube's and kind's own contexts are), or pass namespace= one you may use")
        if exc.status == 404:
            return NotFound(f"{message}{doing}", "look at cluster.state() for what exists")
        if exc.status == 409:
            return AlreadyExists(f"{message}{doing}", "pick another name")
        if exc.status in (400, 422):
            return InvalidInput(f"the cluster rejected it{doing}: {message}", "check the names and values you gave")
        return Unavailable(f"the Kubernetes API failed{doing}: {message}", "try again; if it persists, "
                           "look at the cluster's health, e.g. `minikube status -p labkit`")

    # -- apis, namespace --------------------------------------------------------------
    @property
    def _core(self):
        return self._client.CoreV1Api(self._api)

    @property
    def _apps(self):
        return self._client.AppsV1Api(self._api)

    def _check_namespace(self) -> dict | None:
        """The namespace if it exists and is labkit's; Refused if it is somebody else's."""
        try:
            ns = self._json(self._core.read_namespace, self.namespace, what=f"reading namespace {self.namespace}")
        except NotFound:
            return None
        if (ns["metadata"].get("labels") or {}).get(LABEL) != self.lab:
            raise Refused(f"namespace {self.namespace!r} exists but labkit did not make it "
                          f"(it has no {LABEL}={self.lab} label), so labkit will not work in it",
                          "use labkit's own: labkit.connect('kubernetes', namespace='labkit-2')")
        return ns

    def _ensure_namespace(self) -> None:
        ns = self._check_namespace()
        if ns is not None and not ns["metadata"].get("deletionTimestamp"):
            return
        if ns is not None:
            self._wait_gone(lambda: self._check_namespace() is not None, f"namespace {self.namespace}",
                            f"kubectl get namespace {self.namespace} -o yaml")
        try:
            self._call(self._core.create_namespace, namespace_manifest(self.namespace, self.lab),
                       what=f"creating namespace {self.namespace}")
        except AlreadyExists:
            self._check_namespace()  # somebody made it meanwhile: fine if it is labkit's

    def _wait_gone(self, exists: Callable[[], bool], what: str, look: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while exists():
            if time.monotonic() > deadline:
                raise Timeout(f"{what} is still there after {timeout:g} s",
                              f"see what holds it up: `{look}`")
            time.sleep(0.5)

    # -- looking --------------------------------------------------------------------------
    def now(self) -> float:
        return time.time()

    def state(self) -> ClusterState:
        ns, selector = self.namespace, LABEL
        nodes = self._json(self._core.list_node)
        deployments = self._json(self._apps.list_namespaced_deployment, ns, label_selector=selector)
        replicasets = self._json(self._apps.list_namespaced_replica_set, ns, label_selector=selector)
        try:
            pods = self._json(self._core.list_pod_for_all_namespaces)
        except Refused:  # may not read other namespaces: then node usage counts labkit's pods only
            pods = self._json(self._core.list_namespaced_pod, ns)
        version = max((int(x["metadata"].get("resourceVersion") or 0) for x in (nodes, deployments, replicasets, pods)
                       if str(x["metadata"].get("resourceVersion") or "0").isdigit()), default=0)
        return build_state(nodes["items"], deployments["items"], replicasets["items"], pods["items"],
                           ns, self.lab, self.now(), version,
                           {"context": self.context.name, "server": self.context.server,
                            "namespace": ns, "server_version": self.server_version})

    def events(self, since: float = 0.0) -> list[Event]:
        items = self._json(self._core.list_namespaced_event, self.namespace)["items"]
        try:
            items += self._json(self._core.list_namespaced_event, "default",
                                field_selector="involvedObject.kind=Node")["items"]
        except Refused:
            pass
        found = [event_of(e) for e in items]
        return sorted((e for e in found if e.time >= since), key=lambda e: e.time)

    def advance(self, seconds: float) -> None:
        """Real time passes on a real cluster: wait."""
        time.sleep(seconds)

    def wait_for_change(self, timeout: float) -> bool:
        """Block until one of labkit's pods changes, or `timeout` seconds pass; True when
        something changed. Through the watch API, so a view can redraw the moment the
        cluster moves instead of polling."""
        from kubernetes import watch

        listed = self._json(self._core.list_namespaced_pod, self.namespace, label_selector=LABEL, limit=1)
        stream = watch.Watch()
        try:
            with self._errors("watching pods"):
                for _ in stream.stream(self._core.list_namespaced_pod, self.namespace, label_selector=LABEL,
                                       resource_version=listed["metadata"].get("resourceVersion"),
                                       timeout_seconds=max(1, math.ceil(timeout)),
                                       _request_timeout=timeout + self.timeout):
                    return True
        finally:
            stream.stop()
        return False

    # -- workloads ---------------------------------------------------------------------------
    def deploy(self, spec: DeploySpec) -> None:
        deployment = deployment_manifest(spec, self.lab, self.eviction_seconds)
        service = service_manifest(spec, self.lab)
        self._ensure_namespace()
        try:
            self._call(self._apps.create_namespaced_deployment, self.namespace, deployment,
                       what=f"creating deployment {spec.name}")
        except AlreadyExists:
            raise self._clash("deployment", spec.name,
                              self._json(self._apps.read_namespaced_deployment, spec.name, self.namespace)) from None
        if service is None:
            return
        try:
            self._call(self._core.create_namespaced_service, self.namespace, service,
                       what=f"creating service {spec.name}")
        except LabkitError as exc:  # nothing half made: take the deployment back
            self._call(self._apps.delete_namespaced_deployment, spec.name, self.namespace)
            if isinstance(exc, AlreadyExists):
                raise self._clash("service", spec.name, self._json(
                    self._core.read_namespaced_service, spec.name, self.namespace)) from None
            raise

    def _clash(self, kind: str, name: str, existing: dict) -> AlreadyExists:
        if (existing["metadata"].get("labels") or {}).get(LABEL) == self.lab:
            return AlreadyExists(f"labkit already has a {kind} named {name!r} in namespace {self.namespace}",
                                 f"pick another name, or change it: cluster.workload({name!r}).update(...)")
        return AlreadyExists(f"a {kind} named {name!r} that labkit did not make exists in namespace "
                             f"{self.namespace}; labkit will not touch it", "pick another name")

    def _read_deployment(self, name: str) -> dict:
        return self._json(self._apps.read_namespaced_deployment, name, self.namespace,
                          what=f"reading deployment {name}")

    def _patch_deployment(self, name: str, body: dict | list, what: str) -> None:
        """PATCH a deployment. The client (every version since 28) sends a list as a JSON patch
        and a dict as a strategic merge patch, where null deletes a field."""
        self._call(self._apps.patch_namespaced_deployment, name, self.namespace, body, what=what)

    def scale(self, name: str, replicas: int) -> None:
        self._call(self._apps.patch_namespaced_deployment_scale, name, self.namespace,
                   {"spec": {"replicas": replicas}},
                   what=f"scaling deployment {name}")

    def update(self, name: str, image: str, strategy: UpdateStrategy) -> None:
        for attempt in range(5):  # replace is optimistic: retry when the controller wrote first
            updated = with_update(self._read_deployment(name), image, strategy)
            try:
                self._call(self._apps.replace_namespaced_deployment, name, self.namespace, updated,
                           what=f"updating deployment {name}")
                break
            except AlreadyExists:
                if attempt == 4:
                    raise

    def rollback(self, name: str) -> None:
        """`kubectl rollout undo`: put the previous revision's pod template back."""
        deployment = self._read_deployment(name)
        if deployment["spec"].get("paused"):
            raise Refused(f"you cannot roll back {name} while its rollout is paused (kubectl refuses too)",
                          f"resume it first: cluster.workload({name!r}).resume()")
        replicasets = owned_replicasets(deployment, self._replicasets(name))
        previous = previous_replicaset(replicasets)
        if previous is None:
            raise NotFound(f'no rollout history found for deployment "{name}"',
                           "there is nothing to go back to until you have updated the image once")
        if template_without_hash(previous["spec"]["template"]) == template_without_hash(deployment["spec"]["template"]):
            return  # kubectl: "skipped rollback (current template already matches revision N)"
        self._patch_deployment(name, rollback_patch(deployment, previous), f"rolling back deployment {name}")

    def _replicasets(self, name: str) -> list[dict]:
        return self._json(self._apps.list_namespaced_replica_set, self.namespace,
                          label_selector=f"{WORKLOAD_LABEL}={name}")["items"]

    def history(self, name: str) -> list[tuple[int, str]]:
        return history(owned_replicasets(self._read_deployment(name), self._replicasets(name)))

    def pause(self, name: str) -> None:
        self._patch_deployment(name, {"spec": {"paused": True}}, f"pausing deployment {name}")

    def resume(self, name: str) -> None:
        self._patch_deployment(name, {"spec": {"paused": False}}, f"resuming deployment {name}")

    def delete(self, name: str) -> None:
        self._call(self._apps.delete_namespaced_deployment, name, self.namespace,
                   propagation_policy="Background", what=f"deleting deployment {name}")
        try:
            service = self._json(self._core.read_namespaced_service, name, self.namespace)
        except NotFound:
            service = None
        if service and (service["metadata"].get("labels") or {}).get(LABEL) == self.lab:
            self._call(self._core.delete_namespaced_service, name, self.namespace)

    # -- bare containers ------------------------------------------------------------------
    def run_container(self, name: str, image: str, restart: str) -> None:
        manifest = pod_manifest(name, image, restart, self.lab)
        self._ensure_namespace()
        try:
            self._call(self._core.create_namespaced_pod, self.namespace, manifest, what=f"creating pod {name}")
        except AlreadyExists:
            raise self._clash("pod", name, self._json(self._core.read_namespaced_pod, name, self.namespace)) from None

    def start_container(self, name: str) -> None:
        """`docker start` for a bare pod: a pod cannot restart once it ended, so make it anew."""
        pod = self._json(self._core.read_namespaced_pod, name, self.namespace, what=f"reading pod {name}")
        if pod_phase(pod)[0] in ("running", "pending"):
            return
        restart = {v: k for k, v in RESTART_POLICY.items() if k != "unless-stopped"}[pod["spec"]["restartPolicy"]]
        self._delete_pod(name, grace=0)
        self._wait_gone(lambda: self._exists(self._core.read_namespaced_pod, name), f"pod {name}",
                        f"kubectl -n {self.namespace} describe pod {name}", timeout=60)
        self._call(self._core.create_namespaced_pod, self.namespace,
                   pod_manifest(name, pod["spec"]["containers"][0]["image"], restart, self.lab),
                   what=f"creating pod {name}")

    def remove_container(self, name: str) -> None:
        self._delete_pod(name)

    def _exists(self, read: Callable, name: str) -> bool:
        try:
            self._call(read, name, self.namespace)
            return True
        except NotFound:
            return False

    def _delete_pod(self, name: str, grace: int = KILL_GRACE_SECONDS) -> None:
        try:
            self._call(self._core.delete_namespaced_pod, name, self.namespace,
                       grace_period_seconds=grace, what=f"deleting pod {name}")
        except NotFound:
            pass

    def kill_replica(self, name: str | None = None) -> str:
        if name is None:
            running = sorted(r.name for r in self.state().replicas if r.phase == "running")
            if not running:
                raise NotFound("there is no running replica to kill", "deploy something first")
            name = self._rng.choice(running)
        self._delete_pod(name)
        return name

    # -- nodes ------------------------------------------------------------------------------
    def _minikube_node(self, node: str) -> bool:
        """True when `node` belongs to labkit's own minikube profile (then minikube may stop it)."""
        from . import minikube

        profile = self.context.minikube_profile
        return profile == minikube.PROFILE and (node == profile or node.startswith(profile + "-m"))

    def _is_down(self, node: dict) -> bool:
        """Failed through labkit: stopped by minikube (NotReady), or cordoned as a stand-in."""
        annotations = node["metadata"].get("annotations") or {}
        return (node["metadata"]["name"] in self._stopped_nodes or annotations.get(FAILED) == self.lab
                or _condition(node, "Ready").get("status") != "True")

    def fail_node(self, name: str) -> None:
        """Power a node off: `minikube node stop` on labkit's minikube profile. Elsewhere labkit
        cannot switch a machine off, so it cordons the node and deletes labkit's pods on it,
        which is what the rest of the cluster sees when a node dies, and says so."""
        node = self._json(self._core.read_node, name, what=f"reading node {name}")
        if self._is_down(node):
            raise Refused(f"{name} is already down", f"recover it with cluster.recover_node({name!r})")
        if self._minikube_node(name):
            from . import minikube

            if "node-role.kubernetes.io/control-plane" in (node["metadata"].get("labels") or {}):
                raise Refused(f"{name} is the control-plane node: stopping it takes the API server down, "
                              "and with it everything labkit can see", "fail a worker node instead")
            try:
                minikube.node_stop(name, profile=self.context.minikube_profile)
                self._stopped_nodes.add(name)
                return
            except Unavailable as exc:
                warnings.warn(f"{exc.message}; cordoning {name} instead", stacklevel=2)
        self._cordon(name, True, failed=True)
        for pod in self._pods_on(name):
            self._delete_pod(pod)
        warnings.warn(f"labkit cannot power off {name} on this cluster ({self.context.name}): it cordoned "
                      f"the node and deleted labkit's pods on it, so they are rescheduled elsewhere. "
                      f"recover_node({name!r}) uncordons it.", stacklevel=2)

    def recover_node(self, name: str) -> None:
        node = self._json(self._core.read_node, name, what=f"reading node {name}")
        if not self._is_down(node):
            raise Refused(f"{name} is not down", "fail it first with cluster.fail_node(...)")
        if self._minikube_node(name) and (name in self._stopped_nodes or not self._node_ready(name)):
            from . import minikube

            minikube.node_start(name, profile=self.context.minikube_profile)
            self._stopped_nodes.discard(name)
        if (node["metadata"].get("annotations") or {}).get(FAILED) == self.lab:
            self._cordon(name, False)

    def _node_ready(self, name: str) -> bool:
        node = self._json(self._core.read_node, name)
        return _condition(node, "Ready").get("status") == "True"

    def _cordon(self, name: str, cordon: bool, failed: bool = False) -> None:
        self._call(self._core.patch_node, name, cordon_patch(cordon, self.lab, failed),
                   what=f"{'cordoning' if cordon else 'uncordoning'} node {name}")

    def _pods_on(self, node: str, selector: str = LABEL) -> list[str]:
        pods = self._json(self._core.list_namespaced_pod, self.namespace, label_selector=selector,
                          field_selector=f"spec.nodeName={node}")["items"]
        return [p["metadata"]["name"] for p in pods if not p["metadata"].get("deletionTimestamp")]

    def drain(self, name: str) -> None:
        """`kubectl drain`, limited to labkit's workloads: cordon, then evict their pods through
        the eviction API (which honours PodDisruptionBudgets). Bare pods stay, as kubectl drain
        leaves them without --force (nothing would make them again); so do other people's pods."""
        self._cordon(name, True)
        for pod in self._pods_on(name, WORKLOAD_LABEL):
            try:
                self._call(self._core.create_namespaced_pod_eviction, pod, self.namespace,
                           eviction_manifest(pod, self.namespace), what=f"evicting pod {pod}")
            except NotFound:
                pass

    def uncordon(self, name: str) -> None:
        self._cordon(name, False)

    # -- housekeeping --------------------------------------------------------------------------
    def reset(self) -> None:
        """Delete every namespace labelled as labkit's (any lab), uncordon the nodes labkit
        cordoned, restart the minikube nodes it stopped, and wait until the namespaces are gone
        so the next lesson can start at once. Nothing without labkit's label is touched."""
        if self._stopped_nodes:
            from . import minikube

            for name in sorted(self._stopped_nodes):
                minikube.node_start(name, profile=self.context.minikube_profile)
            self._stopped_nodes.clear()
        for node in self._json(self._core.list_node)["items"]:
            if (node["metadata"].get("annotations") or {}).get(CORDONED):
                self._cordon(node["metadata"]["name"], False)
        namespaces = self._labkit_namespaces()
        for ns in namespaces:
            try:  # first the namespace: once it is terminating, no controller can add a pod to it
                self._call(self._core.delete_namespace, ns, what=f"deleting namespace {ns}")
            except NotFound:
                continue
            # then shorten the pods' 30 s grace period, which the namespace would otherwise wait out
            self._call(self._core.delete_collection_namespaced_pod, ns, label_selector=LABEL,
                       grace_period_seconds=0, what=f"deleting pods in {ns}")
        self._wait_gone(lambda: bool(self._labkit_namespaces()), "a labkit namespace",
                        f"kubectl get namespaces -l {LABEL} -o yaml")

    def _labkit_namespaces(self) -> list[str]:
        items = self._json(self._core.list_namespace, label_selector=LABEL)["items"]
        return [ns["metadata"]["name"] for ns in items]

    def close(self) -> None:
        api = getattr(self, "_api", None)
        if api is not None:
            api.close()


def doctor(context: str | None = None) -> list[str]:
    """Lines for `labkit doctor`: the cluster labkit would use, or why there is none."""
    from . import minikube

    lines = []
    try:
        ctx = kubecontext.guard(context)
        lines.append(f"kubernetes: context {ctx.name} -> {ctx.server} (local: {ctx.why})")
        backend = KubernetesBackend(context=context, request_timeout=5)
        try:
            state = backend.state()
        finally:
            backend.close()
        lines.append(f"  server version {backend.server_version or 'unknown'}, "
                     f"labkit namespace {backend.namespace}")
        for node in state.nodes:
            lines.append(f"  node {node.name}: {node.role}, {node.status}, "
                         f"{node.cpu_capacity}m CPU, {node.memory_capacity} MiB")
        lines.append(f"  {len(state.workloads)} labkit deployments, {len(state.replicas)} labkit pods")
    except LabkitError as exc:
        lines.append(f"kubernetes: not usable: {exc.message}")
        if exc.hint:
            lines.append(f"  hint: {exc.hint}")
    lines.append("  " + minikube.describe())
    return lines
