"""A Service's spec as the API server defaults it: the simulator's flavor and the served API share it.

A Service keeps the spec the API server defaulted: a cluster IP from 10.96.0.0/12, node
ports from 30000-32767, TCP, targetPort = port. The served kind (what the API does with a
Service, the API server's own and CoreDNS's) is kinds/services.py.
"""
from __future__ import annotations

import hashlib

from ..objects import KubeService  # noqa: F401  (the record, as the simulator's flavor names it here)

KIND = "kube-services"  # the simulator store's key for Kubernetes Services (Swarm's are "services")


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
