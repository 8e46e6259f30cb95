"""Nodes (pkg/registry/core/node): the simulator's machines, as their kubelets post them.

A node's status is its kubelet's (conditions, capacity, addresses, nodeInfo), or, once the
kubelet stopped posting, what the node lifecycle controller sets; its taints follow the
control plane's role, cordoning and reachability. Through the API a client changes only its
labels, annotations and whether it takes new pods (`kubectl label`, `cordon`, `drain`); the
rest is its kubelet's. The table follows printNode.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...objects import NodeObj
from ..printers import AGE, NAME, age, parts
from ..resources import VERSION, Clockwork, meta, node_ip, uid
from . import REGISTRY, STATUS, Column, Kind, Obj, Strategy, Watch
from .common import check_kind, user_annotations

if TYPE_CHECKING:
    from ..rest import Storage

CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"


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


def render(n: NodeObj, clock: Clockwork) -> dict:
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


def objects(store: Storage, namespace: str | None) -> list[Obj]:
    return [render(n, store.clock) for n in store.items("nodes").values()]


def update(store: Storage, namespace: str | None, name: str, current: Obj, wanted: Obj, dry_run: bool) -> None:
    """A node's labels and annotations (`kubectl label/annotate node`) and whether it takes
    new pods (`kubectl cordon/uncordon`); the rest of a node is its kubelet's."""
    check_kind(wanted, "Node", "v1")
    node = store.items("nodes")[name]
    meta = wanted.get("metadata") or {}
    labels, annotations = dict(meta.get("labels") or {}), user_annotations(wanted)
    cordon = bool((wanted.get("spec") or {}).get("unschedulable", False))
    moved = node.role != "control-plane" and cordon == node.schedulable
    if dry_run or (not moved and labels == store.get("nodes", None, name)["metadata"].get("labels", {})
                   and annotations == node.annotations):
        return
    store.sim.api.check()
    node.labels, node.annotations = labels, annotations
    if moved:
        node.schedulable = not cordon
    store.sim.api.write("nodes", node)
    if moved:
        word = "NodeNotSchedulable" if cordon else "NodeSchedulable"
        store.sim.api.record(word, f"node/{name}", f"Node {name} status is now: {word}", source="kubelet")


def node_row(node: Obj, now: float) -> list:
    """Follows printNode: Name, Status, Roles, Age, Version | Internal-IP, External-IP, OS-Image, ..."""
    meta, spec, status = parts(node)
    ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    states = [("Ready" if ready[-1].get("status") == "True" else "NotReady") if ready else "Unknown"]
    if spec.get("unschedulable"):
        states.append("SchedulingDisabled")
    info = status.get("nodeInfo") or {}
    return [meta.get("name", ""), ",".join(states), _node_roles(meta.get("labels") or {}), age(node, now),
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


NODE = REGISTRY.add(Kind(
    group="", version="v1", plural="nodes", kind="Node", namespaced=False,
    verbs=("get", "list", "patch", "update", "watch"), short=("no",), subresources=(STATUS,),
    schema="io.k8s.api.core.v1.Node", fields=("metadata.name", "spec.unschedulable"),
    columns=(NAME, Column("Status", "string", "The status of the node"),
             Column("Roles", "string", "The roles of the node"), AGE,
             Column("Version", "string", "Kubelet version reported by the node."),
             Column("Internal-IP", "string", "The node's InternalIP address.", 1),
             Column("External-IP", "string", "The node's ExternalIP address.", 1),
             Column("OS-Image", "string", "OS image reported by the node.", 1),
             Column("Kernel-Version", "string", "Kernel version reported by the node.", 1),
             Column("Container-Runtime", "string", "Container runtime version reported by the node.", 1)),
    row=node_row, watch=Watch(record="nodes"), strategy=Strategy(objects=objects, update=update)))
