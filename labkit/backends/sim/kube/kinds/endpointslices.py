"""EndpointSlices (pkg/registry/discovery/endpointslice): where each service's traffic goes.

A service with a selector has one slice, kept as the endpoint-slice controller keeps it: the
pods its selector picks that have an IP, ready ones serving, terminating ones marked so.
Computed from the served pods and services when read; read-only. The table follows
printEndpointSlice.
"""
from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from .. import resources as res
from ..printers import AGE, NAME, age
from . import READ, REGISTRY, Column, Kind, Obj, Strategy

if TYPE_CHECKING:
    from ..rest import Storage


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


def objects(store: Storage, namespace: str | None) -> list[Obj]:
    pods = store.objects("pods", namespace)
    return [e for e in (endpoint_slice(svc, pods, store.clock) for svc in store.objects("services", namespace)) if e]


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
            _first_three(ports), _first_three(addresses), age(slice_, now)]


ENDPOINT_SLICE = REGISTRY.add(Kind(
    group="discovery.k8s.io", version="v1", plural="endpointslices", kind="EndpointSlice", namespaced=True,
    verbs=READ, schema="io.k8s.api.discovery.v1.EndpointSlice",
    columns=(NAME, Column("AddressType", "string", "Type of the addresses in the slice (IPv4, IPv6, FQDN)."),
             Column("Ports", "string", "The network ports of the endpoints."),
             Column("Endpoints", "string", "The addresses of the endpoints."), AGE),
    row=endpointslice_row, strategy=Strategy(objects=objects)))
