"""The control plane as the API shows it: its static pods, kube-proxy's pods and what each one logged.

The control plane's static pods (etcd, kube-apiserver, kube-controller-manager, kube-scheduler
on the control-plane node, as kubeadm and minikube run them) show the simulator's components:
Running while one runs, Error once it is stopped; a coredns pod backs kube-dns (the simulator
resolves no names: nothing in it needs DNS). kube-proxy's DaemonSet (daemonsets.py) runs a pod
on every node. Not a kind of its own: pods.py serves these pods beside the stored ones.
"""
from __future__ import annotations

import hashlib

from ...objects import SAFE_ALPHABET
from .. import resources as res

CONTROL_PLANE_PODS = (("coredns-7c65d6cfc9-x6wtq", None), ("etcd", "etcd"), ("kube-apiserver", "api-server"),
                      ("kube-controller-manager", "controller-manager"), ("kube-scheduler", "scheduler"))


PROXY_IMAGE = f"registry.k8s.io/kube-proxy:{res.VERSION}"
PROXY_LABELS = {"k8s-app": "kube-proxy"}
PROXY_OWNER = {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "kube-proxy", "controller": True,
               "blockOwnerDeletion": True, "uid": res.uid("DaemonSet", "kube-system/kube-proxy")}


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

