"""metrics.k8s.io/v1beta1 PodMetrics and NodeMetrics: what metrics-server serves to `kubectl top` and the HPA.

A model, said as one. A real cluster's metrics-server scrapes each kubelet every 15 s and serves
each container's CPU (the cgroup's usage, averaged over the window) and memory (its working
set). The simulator has no cgroups: each running pod's serving container uses a small idle
baseline plus a stated cost per request it answered over the last 15 s (labkit's traffic:
1 millicore idle + 2 ms of CPU per request, so 50 requests a second cost 101m), and a steady
amount of memory per image; see labkit/backends/sim/usage.py for the figures. Other containers
of a pod, and the control plane's pods, use the idle baseline (the control plane's: figures of
a quiet minikube, SYSTEM_USAGE). A node uses its pods' sum plus what its kubelet, container
runtime and system take (NODE_OVERHEAD). Only running pods on reachable nodes have metrics, as
metrics-server reports only what a kubelet answered for.

Each object has `timestamp` (the window's end: now) and `window` "15s", as metrics-server
reports them. Read-only (get, list), as the aggregated API serves them. The release's OpenAPI
schemas have none of this group's (metrics-server publishes them for its own API): the kinds
bring theirs (SCHEMAS, the shape of k8s.io/metrics/pkg/apis/metrics/v1beta1's types). kubectl top
asks for the group in discovery, then lists pods or nodes here: `kubectl top pods`,
`kubectl top pod --containers`, `kubectl top nodes`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...usage import IDLE_MILLICORES
from .. import resources as res
from ..printers import NAME
from . import REGISTRY, Column, Kind, Obj, Strategy

if TYPE_CHECKING:
    from ..rest import Storage

GROUP_VERSION = "metrics.k8s.io/v1beta1"
WINDOW = "15s"
# The control plane's pods on a quiet cluster: (millicores, MiB) by the pod's name before its node's.
SYSTEM_USAGE = {"etcd": (18.0, 40.0), "kube-apiserver": (45.0, 250.0), "kube-controller-manager": (14.0, 50.0),
                "kube-scheduler": (3.0, 22.0), "kube-proxy": (1.0, 16.0), "coredns": (2.0, 14.0)}
NODE_OVERHEAD = (40.0, 350.0)  # the kubelet, the container runtime and the system: millicores, MiB


def cpu_quantity(millicores: float) -> str:
    """Usage as metrics-server writes CPU: nanocores ("101000000n")."""
    return f"{int(round(millicores * 1e6))}n"


def memory_quantity(mib: float) -> str:
    """Usage as metrics-server writes memory: KiB ("9216Ki")."""
    return f"{int(round(mib * 1024))}Ki"


def container_usage(store: Storage, pod: Obj) -> list[tuple[str, float, float]]:
    """(container, millicores, MiB) of each container of a running pod."""
    meta, spec = pod["metadata"], pod.get("spec") or {}
    names = [c.get("name", "") for c in spec.get("containers") or []]
    sim_pod = store.items("pods").get(res.key(meta["namespace"], meta["name"]))
    if sim_pod is None:  # the control plane's
        base = meta["name"].removesuffix(f"-{spec.get('nodeName', '')}")
        cpu, memory = next((v for k, v in SYSTEM_USAGE.items() if base.startswith(k)), (IDLE_MILLICORES, 10.0))
        return [(n, cpu if i == 0 else IDLE_MILLICORES, memory if i == 0 else 1.0) for i, n in enumerate(names)]
    return store.sim.usage.containers(sim_pod, names[0] if names else "")


def measured(store: Storage, namespace: str | None) -> list[Obj]:
    """The pods metrics-server has figures for: running, on a node that answers."""
    return [p for p in store.objects("pods", namespace)
            if (p.get("status") or {}).get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")
            and answers(store, (p.get("spec") or {}).get("nodeName", ""))]


def answers(store: Storage, node: str) -> bool:
    """Whether the node's kubelet answers metrics-server (the node is up and Ready)."""
    found = store.items("nodes").get(node)
    return found is not None and found.ready


def pod_metrics(store: Storage, pod: Obj) -> Obj:
    meta = pod["metadata"]
    now = store.clock.stamp(store.sim.now())
    return {"kind": "PodMetrics", "apiVersion": GROUP_VERSION,
            "metadata": {"name": meta["name"], "namespace": meta["namespace"], "creationTimestamp": now,
                         "labels": dict(meta.get("labels") or {})},
            "timestamp": now, "window": WINDOW,
            "containers": [{"name": name, "usage": {"cpu": cpu_quantity(cpu), "memory": memory_quantity(memory)}}
                           for name, cpu, memory in container_usage(store, pod)]}


def pods(store: Storage, namespace: str | None) -> list[Obj]:
    return [pod_metrics(store, p) for p in measured(store, namespace)]


def nodes(store: Storage, namespace: str | None) -> list[Obj]:
    """Each reachable node: its pods' usage and its own overhead."""
    totals: dict[str, list[float]] = {}
    for pod in measured(store, None):
        total = totals.setdefault(pod["spec"]["nodeName"], [0.0, 0.0])
        for _, cpu, memory in container_usage(store, pod):
            total[0] += cpu
            total[1] += memory
    now = store.clock.stamp(store.sim.now())
    out = []
    for node in store.objects("nodes", None):
        name = node["metadata"]["name"]
        if not answers(store, name):
            continue
        cpu, memory = totals.get(name, [0.0, 0.0])
        out.append({"kind": "NodeMetrics", "apiVersion": GROUP_VERSION,
                    "metadata": {"name": name, "creationTimestamp": now,
                                 "labels": dict(node["metadata"].get("labels") or {})},
                    "timestamp": now, "window": WINDOW,
                    "usage": {"cpu": cpu_quantity(cpu + NODE_OVERHEAD[0]),
                              "memory": memory_quantity(memory + NODE_OVERHEAD[1])}})
    return out


SCHEMA = "io.k8s.metrics.pkg.apis.metrics.v1beta1."
META = "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1."
QUANTITIES = {"type": "object", "additionalProperties": {
    "$ref": "#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity"}}


def _object(kind: str, description: str, **fields: dict) -> dict:
    return {"description": description, "type": "object", "required": ["timestamp", "window", *fields],
            "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                           "metadata": {"$ref": f"{META}ObjectMeta"}, "timestamp": {"$ref": f"{META}Time"},
                           "window": {"type": "string"}, **fields},
            "x-kubernetes-group-version-kind": [{"group": "metrics.k8s.io", "kind": kind, "version": "v1beta1"}]}


def _list(kind: str) -> dict:
    return {"description": f"{kind}List is a list of {kind}.", "type": "object", "required": ["items"],
            "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                           "metadata": {"$ref": f"{META}ListMeta"},
                           "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{SCHEMA}{kind}"}}},
            "x-kubernetes-group-version-kind": [{"group": "metrics.k8s.io", "kind": f"{kind}List",
                                                 "version": "v1beta1"}]}


SCHEMAS = {
    f"{SCHEMA}PodMetrics": _object("PodMetrics", "PodMetrics sets resource usage metrics of a pod.", containers={
        "type": "array", "items": {"$ref": f"#/components/schemas/{SCHEMA}ContainerMetrics"}}),
    f"{SCHEMA}PodMetricsList": _list("PodMetrics"),
    f"{SCHEMA}ContainerMetrics": {"description": "ContainerMetrics sets resource usage metrics of a container.",
                                  "type": "object", "required": ["name", "usage"],
                                  "properties": {"name": {"type": "string"}, "usage": QUANTITIES}},
    f"{SCHEMA}NodeMetrics": _object("NodeMetrics", "NodeMetrics sets resource usage metrics of a node.",
                                    usage=QUANTITIES),
    f"{SCHEMA}NodeMetricsList": _list("NodeMetrics"),
}

# metrics-server's tables (addPodMetricsToTable, addNodeMetricsToTable): Name, each resource's usage, Window.
COLUMNS = (NAME, Column("cpu", "string", "CPU usage: cores, as a quantity."),
           Column("memory", "string", "Memory usage: the working set, as a quantity."),
           Column("Window", "string", "The interval the usage was averaged over."))


def pod_row(metrics: Obj, now: float) -> list:
    """A pod's usage: its containers' summed."""
    used = [c["usage"] for c in metrics.get("containers") or []]
    cpu = sum(int(u["cpu"].rstrip("n")) for u in used)
    memory = sum(int(u["memory"].removesuffix("Ki")) for u in used)
    return [metrics["metadata"]["name"], f"{cpu}n", f"{memory}Ki", metrics.get("window", "")]


def node_row(metrics: Obj, now: float) -> list:
    usage = metrics.get("usage") or {}
    return [metrics["metadata"]["name"], usage.get("cpu", ""), usage.get("memory", ""), metrics.get("window", "")]


POD_METRICS = REGISTRY.add(Kind(
    group="metrics.k8s.io", version="v1beta1", plural="pods", kind="PodMetrics", namespaced=True,
    verbs=("get", "list"), schema=f"{SCHEMA}PodMetrics", schemas=SCHEMAS, strategy=Strategy(objects=pods),
    columns=COLUMNS, row=pod_row))
NODE_METRICS = REGISTRY.add(Kind(
    group="metrics.k8s.io", version="v1beta1", plural="nodes", kind="NodeMetrics", namespaced=False,
    verbs=("get", "list"), schema=f"{SCHEMA}NodeMetrics", strategy=Strategy(objects=nodes),
    columns=COLUMNS, row=node_row))
