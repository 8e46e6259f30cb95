"""Services, their endpoint slices, and the control plane (its pods, its component statuses), as served.

A Service keeps the spec the API server defaulted (a cluster IP from 10.96.0.0/12, node
ports from 30000-32767, TCP, targetPort = port); its EndpointSlice is computed from the
pods its selector picks, as the endpoint-slice controller keeps it: ready pods serve,
terminating ones are marked so. `default/kubernetes` is the API server's own service and
`kube-system/kube-dns` CoreDNS's (what `kubectl cluster-info` lists). The DaemonSet kube-proxy
runs a pod on every node. The control plane's
static pods (etcd, kube-apiserver, kube-controller-manager, kube-scheduler on the
control-plane node, as kubeadm and minikube run them) show the simulator's components:
Running while one runs, Error once it is stopped; a coredns pod backs kube-dns (the
simulator resolves no names: nothing in it needs DNS).
"""
from __future__ import annotations

import hashlib
import re

from ..objects import SAFE_ALPHABET, KubeService
from . import resources as res

KIND = "kube-services"  # the simulator store's key for Kubernetes Services (Swarm's are "services")
DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS1035_HELP = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
                "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")


def validate(name: str, spec: dict) -> list[tuple[str, str]]:
    causes = []
    if not DNS1035.match(name or "") or len(name) > 63:
        causes.append(("metadata.name", f'Invalid value: "{name}": {DNS1035_HELP}'))
    kind = spec.get("type", "ClusterIP")
    if kind not in TYPES:
        causes.append(("spec.type", f'Unsupported value: "{kind}": supported values: "{TYPES[0]}", "{TYPES[3]}", '
                                    f'"{TYPES[2]}", "{TYPES[1]}"'))
    ports = spec.get("ports") or []
    if not ports and kind != "ExternalName":
        causes.append(("spec.ports", "Required value"))
    for i, port in enumerate(ports):
        number = port.get("port")
        if not isinstance(number, int) or not 1 <= number <= 65535:
            causes.append((f"spec.ports[{i}].port", f"Invalid value: {number}: must be between 1 and 65535, "
                                                    "inclusive"))
        if len(ports) > 1 and not port.get("name"):
            causes.append((f"spec.ports[{i}].name", "Required value"))
    return causes


def defaulted(name: str, spec: dict, taken_ports: set[int]) -> dict:
    """The spec as the API server stores it."""
    out = dict(spec)
    kind = out.setdefault("type", "ClusterIP")
    digest = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)
    ip = f"10.{96 + digest % 16}.{(digest >> 8) % 256}.{(digest >> 16) % 253 + 1}"
    out.setdefault("clusterIP", ip)
    out.setdefault("clusterIPs", [out["clusterIP"]])
    out.setdefault("ipFamilies", ["IPv4"])
    out.setdefault("ipFamilyPolicy", "SingleStack")
    out.setdefault("sessionAffinity", "None")
    out.setdefault("internalTrafficPolicy", "Cluster")
    if kind in ("NodePort", "LoadBalancer"):
        out.setdefault("externalTrafficPolicy", "Cluster")
    ports = []
    for i, port in enumerate(out.get("ports") or []):
        port = dict(port)
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port["port"])
        if kind in ("NodePort", "LoadBalancer") and "nodePort" not in port:
            port["nodePort"] = _free_node_port(name, i, taken_ports)
        ports.append(port)
    out["ports"] = ports
    return out


def _free_node_port(name: str, index: int, taken: set[int]) -> int:
    start = int(hashlib.sha256(f"{name}/{index}".encode()).hexdigest()[:8], 16) % 2768
    for step in range(2768):
        candidate = 30000 + (start + step) % 2768
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    raise ValueError("no free node port")


def node_ports(sim) -> set[int]:
    return {p.get("nodePort") for s in sim.api.items(KIND).values() for p in s.spec.get("ports", []) if p.get("nodePort")}


def render(s: KubeService, clock: res.Clockwork) -> dict:
    return {"kind": "Service", "apiVersion": "v1",
            "metadata": res.meta("Service", s.name, s.resource_version, s.created, clock, labels=s.labels or None,
                                 annotations=s.annotations or None),
            "spec": s.spec, "status": {"loadBalancer": {}}}


def api_server_service(clock: res.Clockwork) -> dict:
    """`default/kubernetes`: the API server's own ClusterIP service, present in every cluster."""
    return {"kind": "Service", "apiVersion": "v1",
            "metadata": res.meta("Service", "kubernetes", 1, 0.0, clock,
                                 labels={"component": "apiserver", "provider": "kubernetes"}),
            "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"],
                     "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443}],
                     "sessionAffinity": "None", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                     "internalTrafficPolicy": "Cluster"},
            "status": {"loadBalancer": {}}}


def system_services(clock: res.Clockwork) -> list[dict]:
    """`kube-system/kube-dns`: CoreDNS's service, which `kubectl cluster-info` lists."""
    labels = {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"}
    return [{"kind": "Service", "apiVersion": "v1",
             "metadata": res.meta("Service", res.key("kube-system", "kube-dns"), 1, 0.0, clock, labels=labels),
             "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                      "selector": {"k8s-app": "kube-dns"}, "sessionAffinity": "None",
                      "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                                {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}],
                      "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster"},
             "status": {"loadBalancer": {}}}]


CONTROL_PLANE_PODS = (("coredns-7c65d6cfc9-x6wtq", None), ("etcd", "etcd"), ("kube-apiserver", "api-server"),
                      ("kube-controller-manager", "controller-manager"), ("kube-scheduler", "scheduler"))


PROXY_IMAGE = f"registry.k8s.io/kube-proxy:{res.VERSION}"
PROXY_LABELS = {"k8s-app": "kube-proxy"}
PROXY_OWNER = {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "kube-proxy", "controller": True,
               "blockOwnerDeletion": True, "uid": res.uid("DaemonSet", "kube-system/kube-proxy")}


def daemon_sets(sim, clock: res.Clockwork) -> list[dict]:
    """`kube-system/kube-proxy`: one pod on every node, as kubeadm and minikube run it. It is why
    `kubectl drain` wants `--ignore-daemonsets` (a DaemonSet's pod would only come back)."""
    nodes = list(sim.api.items("nodes").values())
    ready = sum(1 for n in nodes if n.up and n.ready)
    template = {"metadata": {"labels": PROXY_LABELS},
                "spec": {"containers": [{"name": "kube-proxy", "image": PROXY_IMAGE}],
                         "nodeSelector": {"kubernetes.io/os": "linux"}, "hostNetwork": True,
                         "priorityClassName": "system-node-critical"}}
    return [{"kind": "DaemonSet", "apiVersion": "apps/v1",
             "metadata": {**res.meta("DaemonSet", res.key("kube-system", "kube-proxy"), 1, 0.0, clock,
                                     labels=PROXY_LABELS), "generation": 1},
             "spec": {"selector": {"matchLabels": PROXY_LABELS}, "template": template,
                      "updateStrategy": {"type": "RollingUpdate",
                                         "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}},
             "status": {"desiredNumberScheduled": len(nodes), "currentNumberScheduled": len(nodes),
                        "numberReady": ready, "updatedNumberScheduled": len(nodes), "numberAvailable": ready,
                        "numberUnavailable": len(nodes) - ready or None, "numberMisscheduled": 0,
                        "observedGeneration": 1}}]


def _proxy_pod(node, clock: res.Clockwork) -> dict:
    digest = hashlib.sha256(node.name.encode()).digest()
    name = "kube-proxy-" + "".join(SAFE_ALPHABET[b % len(SAFE_ALPHABET)] for b in digest[:5])
    running, ip = node.up and node.ready, res.node_ip(node)
    return {"kind": "Pod", "apiVersion": "v1",
            "metadata": res.meta("Pod", res.key("kube-system", name), 1, 0.0, clock, generateName="kube-proxy-",
                                 labels=PROXY_LABELS, ownerReferences=[PROXY_OWNER]),
            "spec": {"nodeName": node.name, "hostNetwork": True, "priorityClassName": "system-node-critical",
                     "containers": [{"name": "kube-proxy", "image": PROXY_IMAGE}], "restartPolicy": "Always",
                     "tolerations": [{"operator": "Exists"}]},  # a DaemonSet's pod stays on a failed node
            "status": {"phase": "Running", "hostIP": ip, "podIP": ip, "podIPs": [{"ip": ip}],
                       "startTime": clock.stamp(0.0), "qosClass": "BestEffort",
                       "conditions": [{"type": "Ready", "status": "True" if running else "False"}],
                       "containerStatuses": [{"name": "kube-proxy", "ready": running, "restartCount": 0,
                                              "started": True, "state": {"running": {"startedAt": clock.stamp(0.0)}},
                                              "image": PROXY_IMAGE, "imageID": ""}]}}


def system_pods(sim, clock: res.Clockwork) -> list[dict]:
    """The control plane's static pods, from the simulator's components, and kube-proxy's."""
    node = sim.api.items("nodes").get("control-plane")
    if node is None:
        return []
    proxies = [_proxy_pod(n, clock) for n in sim.api.items("nodes").values()]
    up = {c.name: c.running for c in sim.state().components if c.node == "control-plane"}
    out = []
    for pod, part in CONTROL_PLANE_PODS:
        running = up.get(part, True) and node.up
        name = f"{pod}-{node.name}" if part else pod  # coredns is a Deployment's pod, not a static one
        ip = res.node_ip(node) if part else "10.244.0.2"
        labels = {"component": pod, "tier": "control-plane"} if part else {"k8s-app": "kube-dns"}
        image = f"registry.k8s.io/{pod}:{res.VERSION}" if part else "registry.k8s.io/coredns/coredns:v1.12.1"
        owner = {"apiVersion": "v1", "kind": "Node", "name": node.name, "uid": res.uid("Node", node.name)} \
            if part else {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "coredns-7c65d6cfc9",
                          "uid": res.uid("ReplicaSet", "coredns-7c65d6cfc9")}
        state = {"running": {"startedAt": clock.stamp(0.0)}} if running else \
            {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": clock.stamp(0.0)}}
        mirror = {"kubernetes.io/config.mirror": res.uid("mirror", name), "kubernetes.io/config.source": "file"}
        out.append({"kind": "Pod", "apiVersion": "v1",
                    "metadata": res.meta("Pod", res.key("kube-system", name), 1, 0.0, clock, labels=labels,
                                         ownerReferences=[{**owner, "controller": True}],
                                         annotations=mirror if part else None),
                    "spec": {"nodeName": node.name, "hostNetwork": bool(part),
                             "priorityClassName": "system-node-critical" if part else "system-cluster-critical",
                             "containers": [{"name": name.split("-")[0] if not part else pod, "image": image}],
                             "restartPolicy": "Always"},
                    "status": {"phase": "Running" if running else "Failed", "hostIP": ip, "podIP": ip,
                               "podIPs": [{"ip": ip}], "startTime": clock.stamp(0.0), "qosClass": "Burstable",
                               "conditions": [{"type": "Ready", "status": "True" if running else "False"}],
                               "containerStatuses": [{"name": pod if part else "coredns", "ready": running,
                                                      "restartCount": 0, "started": running, "state": state,
                                                      "image": image, "imageID": ""}]}})
    return out + proxies


# The first lines each control-plane component prints (as klog writes them; the messages are the components'
# own: k8s.io/apiserver secure_serving.go, client-go leaderelection, kube-proxy's server, etcd, CoreDNS).
SYSTEM_LOGS = {
    "etcd": ('{"level":"info","msg":"serving client traffic securely","traffic":"grpc+http",'
             '"address":"{address}:2379"}',),
    "kube-apiserver": ("secure_serving.go:213] Serving securely on [::]:8443",),
    "kube-controller-manager": ('leaderelection.go:257] attempting to acquire leader lease '
                                'kube-system/kube-controller-manager...',
                                'leaderelection.go:271] successfully acquired lease kube-system/kube-controller-manager'),
    "kube-scheduler": ('leaderelection.go:257] attempting to acquire leader lease kube-system/kube-scheduler...',
                       'leaderelection.go:271] successfully acquired lease kube-system/kube-scheduler'),
    "kube-proxy": ('server_linux.go:66] "Using iptables proxy"',
                   'server.go:483] "Version info" version="{version}"'),
    "coredns": (".:53", "CoreDNS-1.12.1", "linux/amd64, go1.24.1, 707c7c1"),
}


def system_log(pod: dict, clock: res.Clockwork) -> str:
    """What a kube-system pod's container printed when it started, stamped with its start."""
    started = pod["status"].get("startTime") or clock.stamp(0.0)
    stamp = f"I{started[5:7]}{started[8:10]} {started[11:19]}.000000       1 "
    component = pod["spec"]["containers"][0]["name"]
    lines = SYSTEM_LOGS.get(component if component in SYSTEM_LOGS else component.split("-")[0], ())
    klog = component not in ("etcd", "coredns")
    prefix = stamp if klog else ""
    address = pod["status"].get("hostIP") or ""
    return "".join(prefix + line.replace("{version}", res.VERSION).replace("{address}", address) + "\n"
                   for line in lines)


NODE_LEASE = 40, 10.0  # the kubelet's Lease: 40 s long, renewed every 10 s (a quarter of it)
LEADER_LEASE = 15, 2.0  # leader election of the controller manager and the scheduler: 15 s, retried every 2 s


def _renewed(now: float, alive_until: float | None, every: float, offset: float) -> float:
    """The last renewal of a lease renewed every `every` seconds since `offset`, by a holder alive
    until `alive_until` (None: still alive)."""
    last = now if alive_until is None else min(alive_until, now)
    return max(last - ((last - offset) % every), 0.0)


def _lease(namespace: str, name: str, holder: str, seconds: int, renewed: float, clock: res.Clockwork,
           labels: dict | None = None) -> dict:
    return {"kind": "Lease", "apiVersion": "coordination.k8s.io/v1",
            "metadata": res.meta("Lease", res.key(namespace, name), 1, 0.0, clock, labels=labels),
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": seconds,
                     "acquireTime": clock.micro(0.0), "renewTime": clock.micro(renewed)}}


def leases(sim, clock: res.Clockwork) -> list[dict]:
    """The heartbeats the control plane reads: each node's Lease in kube-node-lease, renewed by
    its kubelet every 10 s and left alone once the kubelet or its node stops (the node lifecycle
    controller reads renewTime); and the leader leases of kube-controller-manager and
    kube-scheduler in kube-system, renewed while they run (pkg/kubelet/nodelease,
    client-go tools/leaderelection)."""
    now, out = sim.clock.now, []
    for name, agent in sim.agents.items():
        node = agent.node
        until = None if agent.alive else node.silent_since
        out.append(_lease("kube-node-lease", name, name, NODE_LEASE[0],
                          _renewed(now, until, NODE_LEASE[1], (node.index * 3.7) % NODE_LEASE[1]), clock))
    running = {c.name: c.running for c in sim.state().components}
    stops = {obj: t for t, reason, obj, *_ in sim.api.events if reason == "Stopped"}
    for component, part in (("kube-controller-manager", "controller-manager"), ("kube-scheduler", "scheduler")):
        until = None if running.get(part, True) else stops.get(f"component/{part}", now)
        holder = f"control-plane_{res.uid('leader', component)}"
        out.append(_lease("kube-system", component, holder, LEADER_LEASE[0],
                          _renewed(now, until, LEADER_LEASE[1], 0.0), clock))
    return sorted(out, key=lambda o: (o["metadata"]["namespace"], o["metadata"]["name"]))


def endpoint_slice(service: dict, pods: list[dict], clock: res.Clockwork) -> dict | None:
    """The slice the endpoint-slice controller keeps for a service with a selector."""
    spec, meta = service["spec"], service["metadata"]
    selector = spec.get("selector")
    if not selector:
        return None
    endpoints = []
    for pod in pods:
        if pod["metadata"]["namespace"] != meta["namespace"]:
            continue
        labels = pod["metadata"].get("labels") or {}
        ip = pod["status"].get("podIP")
        if not ip or any(labels.get(k) != v for k, v in selector.items()):
            continue
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))
        terminating = "deletionTimestamp" in pod["metadata"]
        endpoints.append({"addresses": [ip],
                          "conditions": {"ready": ready and not terminating, "serving": ready,
                                         "terminating": terminating},
                          "nodeName": pod["spec"].get("nodeName"),
                          "targetRef": {"kind": "Pod", "namespace": meta["namespace"], "name": pod["metadata"]["name"],
                                        "uid": pod["metadata"]["uid"]}})
    suffix = hashlib.sha256(meta["name"].encode()).hexdigest()[:5]
    ports = [{"name": p.get("name", ""), "port": p["targetPort"] if isinstance(p.get("targetPort"), int) else p["port"],
              "protocol": p.get("protocol", "TCP")} for p in spec.get("ports", [])]
    return {"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
            "metadata": {**res.meta("EndpointSlice", res.key(meta["namespace"], f"{meta['name']}-{suffix}"),
                                    int(meta["resourceVersion"]),
                                    0.0, clock, labels={"kubernetes.io/service-name": meta["name"],
                                                        "endpointslice.kubernetes.io/managed-by":
                                                            "endpointslice-controller.k8s.io"}),
                         "creationTimestamp": meta["creationTimestamp"]},
            "addressType": "IPv4", "endpoints": endpoints, "ports": ports}


def component_statuses(sim, clock: res.Clockwork) -> list[dict]:
    """scheduler, controller-manager and etcd-0, healthy as long as the simulator runs them."""
    up = {c.name: c.running for c in sim.state().components}
    out = []
    for name, part, port in (("controller-manager", "controller-manager", 10257), ("etcd-0", "etcd", 2379),
                             ("scheduler", "scheduler", 10259)):
        if up.get(part, False):
            condition = {"type": "Healthy", "status": "True",
                         "message": '{"health":"true","reason":""}' if part == "etcd" else "ok"}
        else:
            condition = {"type": "Healthy", "status": "False", "message": "",
                         "error": f'Get "https://127.0.0.1:{port}/healthz": dial tcp 127.0.0.1:{port}: '
                                  "connect: connection refused"}
        out.append({"kind": "ComponentStatus", "apiVersion": "v1",
                    "metadata": {"name": name, "creationTimestamp": None}, "conditions": [condition]})
    return out
