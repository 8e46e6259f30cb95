"""Server-side Table columns and cells, as kube-apiserver's printers make them.

Ported from kubernetes pkg/printers/internalversion/printers.go and apimachinery
pkg/util/duration/duration.go. The API server prints with Wide=true, so each row has
every cell; kubectl hides priority-1 columns unless `-o wide`. Objects are the JSON dicts
kubectl sees; `now` is epoch seconds. Column names, types, order and priorities are
upstream's; descriptions are upstream's where printers.go spells them out, and short
ones of our own where it quotes the API's field documentation.
"""
from __future__ import annotations

import calendar
import re
from typing import Any, Callable

Obj = dict[str, Any]

_NAME = "Name must be unique within a namespace (or the cluster, for cluster-scoped objects)."
NAME = ("Name", "string", _NAME)
AGE = ("Age", "string", "Time since the object was created (metadata.creationTimestamp).")
TEMPLATE = (("Containers", "string", "Names of each container in the template.", 1),
            ("Images", "string", "Images referenced by each container in the template.", 1))


def _columns(*specs: tuple) -> list[dict]:
    """Column definitions from (name, type, description[, priority]); "Name" gets format "name"."""
    return [{"name": name, "type": type_, "format": "name" if name == "Name" else "",
             "description": description, "priority": rest[0] if rest else 0}
            for name, type_, description, *rest in specs]


COLUMNS: dict[str, list[dict]] = {
    "pods": _columns(
        NAME,
        ("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
        ("Status", "string", "The aggregate status of the containers in this pod."),
        ("Restarts", "string", "The number of times the containers in this pod have been restarted "
                               "and when the last container in this pod has restarted."),
        AGE,
        ("IP", "string", "The pod's first IP address (status.podIPs).", 1),
        ("Node", "string", "The node the pod is bound to (spec.nodeName).", 1),
        ("Nominated Node", "string", "The node a preempting pod waits for (status.nominatedNodeName).", 1),
        ("Readiness Gates", "string", "Extra conditions that gate pod readiness (spec.readinessGates).", 1)),
    "nodes": _columns(
        NAME,
        ("Status", "string", "The status of the node"),
        ("Roles", "string", "The roles of the node"),
        AGE,
        ("Version", "string", "Kubelet version reported by the node."),
        ("Internal-IP", "string", "The node's InternalIP address.", 1),
        ("External-IP", "string", "The node's ExternalIP address.", 1),
        ("OS-Image", "string", "OS image reported by the node.", 1),
        ("Kernel-Version", "string", "Kernel version reported by the node.", 1),
        ("Container-Runtime", "string", "Container runtime version reported by the node.", 1)),
    "deployments": _columns(
        NAME,
        ("Ready", "string", "Number of the pod with ready state"),
        ("Up-to-date", "string", "Pods that run the latest pod template (status.updatedReplicas)."),
        ("Available", "string", "Pods ready for at least minReadySeconds (status.availableReplicas)."),
        AGE, *TEMPLATE,
        ("Selector", "string", "Label selector for the deployment's pods.", 1)),
    "replicasets": _columns(
        NAME,
        ("Desired", "integer", "Desired number of pods (spec.replicas)."),
        ("Current", "integer", "Most recently observed number of pods (status.replicas)."),
        ("Ready", "integer", "Pods whose Ready condition is true (status.readyReplicas)."),
        AGE, *TEMPLATE,
        ("Selector", "string", "Label selector for the replica set's pods.", 1)),
    "daemonsets": _columns(
        NAME,
        ("Desired", "integer", "Nodes that should run the daemon pod (status.desiredNumberScheduled)."),
        ("Current", "integer", "Nodes running at least one daemon pod (status.currentNumberScheduled)."),
        ("Ready", "integer", "Nodes whose daemon pod is ready (status.numberReady)."),
        ("Up-to-date", "integer", "Nodes running the updated daemon pod (status.updatedNumberScheduled)."),
        ("Available", "integer", "Nodes whose daemon pod is available (status.numberAvailable)."),
        ("Node Selector", "string", "The pods' nodeSelector."),
        AGE, *TEMPLATE,
        ("Selector", "string", "Label selector for the daemon set's pods.", 1)),
    "namespaces": _columns(NAME, ("Status", "string", "The status of the namespace"), AGE),
    "events": _columns(
        ("Last Seen", "string", "Time since the event last recurred."),
        ("Type", "string", "Type of the event (Normal, Warning)."),
        ("Reason", "string", "Short, machine-readable reason for the event."),
        ("Object", "string", "The object the event is about (involvedObject)."),
        ("Subobject", "string", "Part of the object the event is about (involvedObject.fieldPath).", 1),
        ("Source", "string", "The component (and host) that reported the event.", 1),
        ("Message", "string", "Human-readable description of the event."),
        ("First Seen", "string", "Time since the event was first recorded.", 1),
        ("Count", "string", "The number of times the event has occurred.", 1),
        (*NAME, 1)),
    "services": _columns(
        NAME,
        ("Type", "string", "How the service is exposed (ClusterIP, NodePort, LoadBalancer, ExternalName)."),
        ("Cluster-IP", "string", "The service's cluster IP (spec.clusterIPs)."),
        ("External-IP", "string", "External addresses of the service."),
        ("Port(s)", "string", "The ports the service exposes."),
        AGE,
        ("Selector", "string", "Labels of the pods the service routes to.", 1)),
    "endpointslices": _columns(
        NAME,
        ("AddressType", "string", "Type of the addresses in the slice (IPv4, IPv6, FQDN)."),
        ("Ports", "string", "The network ports of the endpoints."),
        ("Endpoints", "string", "The addresses of the endpoints."),
        AGE),
    "componentstatuses": _columns(
        NAME,
        ("Status", "string", "Status of the component conditions"),
        ("Message", "string", "Message of the component conditions"),
        ("Error", "string", "Error of the component conditions")),
    "leases": _columns(NAME, ("Holder", "string", "Identity of the current holder of the lease."), AGE),
}


def human_duration(seconds: float) -> str:
    """Follows duration.HumanDuration: ~2-3 significant figures ("119s", "3m10s", "2d1h", "2y1d").

    Every printer here (each Age, Last Seen, First Seen and the "(5m ago)" of Restarts)
    and kubectl's own `kubectl events` use this one. Up to 2s in the future counts as "0s"
    (clock skew); further is "<invalid>"."""
    secs = int(seconds)  # truncates toward zero, like Go's int(d.Seconds())
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 2 * 60:
        return f"{secs}s"
    minutes = secs // 60
    if minutes < 10:
        return _pair(minutes, "m", secs % 60, "s")
    if minutes < 3 * 60:
        return f"{minutes}m"
    hours = secs // 3600
    if hours < 8:
        return _pair(hours, "h", minutes % 60, "m")
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if days < 8:
        return _pair(days, "d", hours % 24, "h")
    if days < 365 * 2:
        return f"{days}d"
    if days < 365 * 8:
        return _pair(days // 365, "y", days % 365, "d")
    return f"{days // 365}y"


def _pair(big: int, big_unit: str, small: int, small_unit: str) -> str:
    """"3m10s", or just "3m" when the smaller part is zero."""
    return f"{big}{big_unit}{small}{small_unit}" if small else f"{big}{big_unit}"


def short_duration(seconds: float) -> str:
    """Follows duration.ShortHumanDuration: one unit only ("59s", "1m", "23h", "364d", "1y").

    No printer in printers.go uses it any more (they moved to HumanDuration); it is here
    for callers that want the terse form, with the same "0s"/"<invalid>" rules."""
    secs = int(seconds)
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 60:
        return f"{secs}s"
    if secs < 3600:
        return f"{secs // 60}m"
    hours = secs // 3600
    if hours < 24:
        return f"{hours}h"
    if hours < 24 * 365:
        return f"{hours // 24}d"
    return f"{hours // 24 // 365}y"


_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)?$")


def parse_time(text: str) -> float:
    """Epoch seconds of an RFC 3339 timestamp ("2026-11-30T12:00:00Z", fractions and offsets too)."""
    match = _RFC3339.match(text.strip())
    if not match:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, zone = match.group(7), match.group(8)
    value = calendar.timegm((year, month, day, hour, minute, second)) + (float(fraction) if fraction else 0.0)
    if zone and zone not in "Zz":
        sign = -1 if zone[0] == "-" else 1
        value -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return value


def _since(stamp: str | None, now: float) -> str:
    """Follows translateTimestampSince: "<unknown>" for an unset time."""
    if not stamp:
        return "<unknown>"
    return human_duration(now - parse_time(stamp))


def _age(obj: Obj, now: float) -> str:
    return _since((obj.get("metadata") or {}).get("creationTimestamp"), now)


def _parts(obj: Obj) -> tuple[Obj, Obj, Obj]:
    return obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}


def format_labels(labels: dict | None) -> str:
    """Follows labels.FormatLabels: "a=1,b=2" sorted by key, or "<none>"."""
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items())) or "<none>"


_OPERATORS = {"In": " in ", "NotIn": " notin ", "Exists": "", "DoesNotExist": ""}


def selector_string(selector: dict | None) -> str | None:
    """Follows metav1.LabelSelectorAsSelector(...).String(); "" if empty, None if invalid."""
    parts = [(key, f"{key}={value}") for key, value in ((selector or {}).get("matchLabels") or {}).items()]
    for expr in (selector or {}).get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator"), expr.get("values") or []
        if op not in _OPERATORS:
            return None
        if op in ("In", "NotIn"):
            parts.append((key, f"{key}{_OPERATORS[op]}({','.join(sorted(values))})"))
        else:
            parts.append((key, ("!" if op == "DoesNotExist" else "") + key))
    return ",".join(text for _, text in sorted(parts, key=lambda part: part[0]))


def format_label_selector(selector: dict | None) -> str:
    """Follows metav1.FormatLabelSelector: like selector_string, "<none>" if empty, "<error>" if invalid."""
    text = selector_string(selector)
    return "<error>" if text is None else text or "<none>"


def _container_cells(template: Obj) -> list[str]:
    """Follows layoutContainerCells: comma-joined container names and images."""
    containers = ((template or {}).get("spec") or {}).get("containers") or []
    return [",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)]


def _replicas(spec: Obj) -> int:
    """spec.replicas, with the API's default of 1."""
    value = spec.get("replicas")
    return 1 if value is None else int(value)


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
    meta, spec, status = _parts(pod)
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
    meta, spec, status = _parts(pod)
    reason, ready, total = pod_status(pod)
    ips = status.get("podIPs") or []
    ip = (ips[0].get("ip") if ips else status.get("podIP")) or "<none>"
    restarts = _restarts(status.get("containerStatuses") or [], now)
    return [meta.get("name", ""), f"{ready}/{total}", reason, restarts, _age(pod, now), ip,
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


def node_row(node: Obj, now: float) -> list:
    """Follows printNode: Name, Status, Roles, Age, Version | Internal-IP, External-IP, OS-Image, ..."""
    meta, spec, status = _parts(node)
    ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    states = [("Ready" if ready[-1].get("status") == "True" else "NotReady") if ready else "Unknown"]
    if spec.get("unschedulable"):
        states.append("SchedulingDisabled")
    info = status.get("nodeInfo") or {}
    return [meta.get("name", ""), ",".join(states), _node_roles(meta.get("labels") or {}), _age(node, now),
            info.get("kubeletVersion", ""), _node_address(status, "InternalIP"), _node_address(status, "ExternalIP"),
            info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion") or "<unknown>"]


def _node_roles(labels: dict) -> str:
    """Follows findNodeRoles: node-role.kubernetes.io/<role> keys and kubernetes.io/role values."""
    prefix = "node-role.kubernetes.io/"
    roles = {k[len(prefix):] for k in labels if k.startswith(prefix) and len(k) > len(prefix)}
    if labels.get("kubernetes.io/role"):
        roles.add(labels["kubernetes.io/role"])
    return ",".join(sorted(roles)) or "<none>"


def _node_address(status: Obj, type_: str) -> str:
    """Follows getNodeInternalIP/getNodeExternalIP: the first address of that type, or "<none>"."""
    return next((a.get("address", "") for a in status.get("addresses") or [] if a.get("type") == type_), "<none>")


def deployment_row(deployment: Obj, now: float) -> list:
    """Follows printDeployment: Name, Ready, Up-to-date, Available, Age | Containers, Images, Selector."""
    meta, spec, status = _parts(deployment)
    selector = selector_string(spec.get("selector"))
    return [meta.get("name", ""), f"{status.get('readyReplicas', 0)}/{_replicas(spec)}",
            status.get("updatedReplicas", 0), status.get("availableReplicas", 0), _age(deployment, now),
            *_container_cells(spec.get("template")), "<invalid>" if selector is None else selector]


def replicaset_row(rs: Obj, now: float) -> list:
    """Follows printReplicaSet: Name, Desired, Current, Ready, Age | Containers, Images, Selector."""
    meta, spec, status = _parts(rs)
    return [meta.get("name", ""), _replicas(spec), status.get("replicas", 0), status.get("readyReplicas", 0),
            _age(rs, now), *_container_cells(spec.get("template")), format_label_selector(spec.get("selector"))]


def daemonset_row(ds: Obj, now: float) -> list:
    """Follows printDaemonSet: Name, Desired, Current, Ready, Up-to-date, Available, Node Selector, Age |
    Containers, Images, Selector."""
    meta, spec, status = _parts(ds)
    template = spec.get("template") or {}
    return [meta.get("name", ""), status.get("desiredNumberScheduled", 0), status.get("currentNumberScheduled", 0),
            status.get("numberReady", 0), status.get("updatedNumberScheduled", 0), status.get("numberAvailable", 0),
            format_labels((template.get("spec") or {}).get("nodeSelector")), _age(ds, now),
            *_container_cells(template), format_label_selector(spec.get("selector"))]


def namespace_row(namespace: Obj, now: float) -> list:
    """Follows printNamespace: Name, Status (status.phase), Age."""
    meta, _, status = _parts(namespace)
    return [meta.get("name", ""), status.get("phase", ""), _age(namespace, now)]


def event_row(event: Obj, now: float) -> list:
    """Follows printEvent: Last Seen, Type, Reason, Object, Message | Subobject, Source, First Seen, Count, Name."""
    first = _since(event.get("firstTimestamp") or event.get("eventTime"), now)
    last = _since(event["lastTimestamp"], now) if event.get("lastTimestamp") else first
    count = event.get("count") or 0
    series = event.get("series")
    if series:
        last, count = _since(series.get("lastObservedTime"), now), series.get("count", 0)
    elif count == 0:
        count = 1  # singleton events of the new API carry no count
    involved = event.get("involvedObject") or {}
    target = (involved.get("kind") or "").lower()
    if involved.get("name"):
        target = f"{target}/{involved['name']}"
    return [last, event.get("type", ""), event.get("reason", ""), target, involved.get("fieldPath", ""),
            _event_source(event), (event.get("message") or "").strip(), first, count,
            (event.get("metadata") or {}).get("name", "")]


def _event_source(event: Obj) -> str:
    """Follows formatEventSource: "component, host", falling back to reportingComponent/Instance."""
    source = event.get("source") or {}
    component = source.get("component") or event.get("reportingComponent") or ""
    instance = source.get("host") or event.get("reportingInstance") or ""
    return f"{component}, {instance}" if instance else component


def service_row(service: Obj, now: float) -> list:
    """Follows printService: Name, Type, Cluster-IP, External-IP, Port(s), Age | Selector."""
    meta, spec, _ = _parts(service)
    cluster_ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return [meta.get("name", ""), spec.get("type") or "ClusterIP", cluster_ips[0] if cluster_ips else "<none>",
            _external_ip(service), _port_string(spec.get("ports") or []) or "<none>", _age(service, now),
            format_labels(spec.get("selector"))]


def _external_ip(service: Obj) -> str:
    """Follows getServiceExternalIP (wide, as the server prints it: no clipping)."""
    spec, status = service.get("spec") or {}, service.get("status") or {}
    kind, external = spec.get("type") or "ClusterIP", spec.get("externalIPs") or []
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) or "<none>"
    if kind == "LoadBalancer":
        ingress = ((status.get("loadBalancer") or {}).get("ingress")) or []
        balancers = sorted({i.get("ip") or i.get("hostname") for i in ingress} - {None, ""})
        return ",".join(balancers + external) or "<pending>"
    if kind == "ExternalName":
        return spec.get("externalName", "")
    return "<unknown>"


def _port_string(ports: list[Obj]) -> str:
    """Follows makePortString: "80/TCP", or "80:30080/TCP" with a node port."""
    pieces = []
    for port in ports:
        node_port, protocol = port.get("nodePort") or 0, port.get("protocol") or "TCP"
        pieces.append(f"{port.get('port', 0)}:{node_port}/{protocol}" if node_port > 0
                      else f"{port.get('port', 0)}/{protocol}")
    return ",".join(pieces)


def _first_three(items: list[str]) -> str:
    """Follows listWithMoreString: up to three, then " + N more...", or "<unset>"."""
    text = ",".join(items[:3])
    if len(items) > 3:
        return f"{text} + {len(items) - 3} more..."
    return text or "<unset>"


def endpointslice_row(slice_: Obj, now: float) -> list:
    """Follows printEndpointSlice: Name, AddressType, Ports, Endpoints, Age."""
    ports = [str(p["port"]) if p.get("port") is not None else p["name"] if "name" in p else "*"
             for p in slice_.get("ports") or []]
    addresses = [a for e in slice_.get("endpoints") or [] for a in e.get("addresses") or []]
    return [(slice_.get("metadata") or {}).get("name", ""), slice_.get("addressType", ""),
            _first_three(ports), _first_three(addresses), _age(slice_, now)]


def componentstatus_row(component: Obj, now: float) -> list:
    """Follows printComponentStatus: Name, Status (Healthy/Unhealthy/Unknown), Message, Error."""
    status, message, error = "Unknown", "", ""
    for cond in component.get("conditions") or []:
        if cond.get("type") == "Healthy":
            status = "Healthy" if cond.get("status") == "True" else "Unhealthy"
            message, error = cond.get("message", ""), cond.get("error", "")
            break
    return [(component.get("metadata") or {}).get("name", ""), status, message, error]


def lease_row(lease: Obj, now: float) -> list:
    """Follows printLease: Name, Holder, Age."""
    meta, spec, _ = _parts(lease)
    return [meta.get("name", ""), spec.get("holderIdentity") or "", _age(lease, now)]


ROWS: dict[str, Callable[[Obj, float], list]] = {
    "pods": pod_row, "nodes": node_row, "deployments": deployment_row, "replicasets": replicaset_row,
    "daemonsets": daemonset_row,
    "namespaces": namespace_row, "events": event_row, "services": service_row,
    "endpointslices": endpointslice_row, "componentstatuses": componentstatus_row, "leases": lease_row,
}


def table(plural: str, items: list[dict], api, meta: dict, include: str) -> dict:
    """A Table (meta.k8s.io/v1) of `items`, as the API server answers `Accept: as=Table`: a row of
    cells each, with the object (include="Object"), its metadata ("Metadata") or nothing ("None");
    `api` is the served KubeAPIServer (its clock gives the ages)."""
    now = api.clock.epoch + api.storage.sim.now()
    row = ROWS.get(plural)
    rows = []
    for obj in items:
        cells = row(obj, now) if row else [obj["metadata"]["name"], human_duration(0)]
        if include == "Object":
            embedded = obj
        elif include == "None":
            embedded = None
        else:
            embedded = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}
        rows.append({"cells": cells, "object": embedded})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": COLUMNS.get(plural, COLUMNS["namespaces"][:1]), "rows": rows}
