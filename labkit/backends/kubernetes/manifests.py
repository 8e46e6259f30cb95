"""Every object and patch labkit sends to Kubernetes, built by pure functions.

Each is a plain dict, as `kubectl apply -f` would read it (the tests validate
them against the real OpenAPI schemas of several Kubernetes versions). No
client here: `labkit.backends.kubernetes.backend` sends them.
"""
from __future__ import annotations

import copy
import math
from typing import Any

from ...errors import InvalidInput
from ..base import LABEL, DeploySpec, Probe, UpdateStrategy

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
                       memory: int | None = None, probe: Probe | None = None, pre_stop: float = 0) -> dict:
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
    if probe is not None:
        container["readinessProbe"] = probe.manifest()
    if pre_stop:  # the sleep action (KEP-3960, on by default since 1.30)
        container["lifecycle"] = {"preStop": {"sleep": {"seconds": round(pre_stop)}}}
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


def _set_min_ready(deployment_spec: dict, strategy: UpdateStrategy) -> None:
    """spec.minReadySeconds from the strategy (whole seconds); left out when it says nothing."""
    if strategy.min_ready_seconds is None:
        deployment_spec.pop("minReadySeconds", None)
    else:
        deployment_spec["minReadySeconds"] = math.ceil(strategy.min_ready_seconds)


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
                                                           spec.cpu, spec.memory, spec.probe,
                                                           spec.pre_stop)]},
            },
        },
    }
    _set_min_ready(body["spec"], spec.strategy)
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
        _set_min_ready(spec, strategy)
    return updated


# -- rollout undo, the way kubectl sends it ------------------------------------------------

def template_without_hash(template: dict) -> dict:
    """A pod template without the pod-template-hash label the controller adds (kubectl compares
    templates this way)."""
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
