"""Endpoints (pkg/registry/core/endpoint): the v1 list of where a service's traffic goes.

Kept in step with the EndpointSlices (kinds/endpointslices.py), as the endpoints controller
(pkg/controller/endpoint) keeps them from the same pods: one object per service with a
selector, named after it, with the service's labels; ready pods under `addresses`, the others
(not ready, not terminating) under `notReadyAddresses`, with the service's target ports; no
`subsets` while no pod is selected. `default/kubernetes` lists the API server itself. Every
request gets the deprecation warning the real server sends since 1.33. Read-only here (the
controller owns them). The table follows printEndpoints.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import resources as res
from ..printers import AGE, NAME, age
from . import READ, REGISTRY, Column, Kind, Obj, Strategy
from .endpointslices import endpoint_slice

if TYPE_CHECKING:
    from ..rest import Storage

WARNING = "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"


def endpoints(service: Obj, slice_: Obj | None, clock: res.Clockwork) -> Obj:
    """The Endpoints the controller keeps for `service`, from the pods its slice lists."""
    meta = service["metadata"]
    out = {"kind": "Endpoints", "apiVersion": "v1",
           "metadata": {**res.meta("Endpoints", res.key(meta["namespace"], meta["name"]),
                                   int(meta["resourceVersion"]), 0.0, clock, labels=meta.get("labels")),
                        "creationTimestamp": meta["creationTimestamp"]}}
    ready, waiting = [], []
    for endpoint in (slice_ or {}).get("endpoints") or []:
        conditions = endpoint.get("conditions") or {}
        if conditions.get("terminating"):
            continue
        address = {"ip": endpoint["addresses"][0], "nodeName": endpoint.get("nodeName"),
                   "targetRef": endpoint["targetRef"]}
        (ready if conditions.get("ready") else waiting).append(address)
    if ready or waiting:
        ports = [{k: v for k, v in p.items() if v != ""} for p in (slice_ or {}).get("ports") or []]
        by_ip = lambda a: (a["ip"], a["targetRef"]["uid"])  # noqa: E731  (RepackSubsets sorts them so)
        subset = {"addresses": sorted(ready, key=by_ip), "notReadyAddresses": sorted(waiting, key=by_ip),
                  "ports": ports}
        out["subsets"] = [{k: v for k, v in subset.items() if v}]
    return out


def api_server_endpoints(store: Storage) -> Obj:
    """`default/kubernetes`: the API server, on the control-plane node's address."""
    nodes = sorted(store.items("nodes").values(), key=lambda n: n.index)
    ip = res.node_ip(nodes[0]) if nodes else "192.168.49.2"
    return {"kind": "Endpoints", "apiVersion": "v1",
            "metadata": {**res.meta("Endpoints", "kubernetes", 1, 0.0, store.clock,
                                    labels={"endpointslice.kubernetes.io/skip-mirror": "true"})},
            "subsets": [{"addresses": [{"ip": ip}], "ports": [{"name": "https", "port": 8443, "protocol": "TCP"}]}]}


def objects(store: Storage, namespace: str | None) -> list[Obj]:
    pods = store.objects("pods", namespace)
    found = [api_server_endpoints(store)] if namespace in (None, res.NAMESPACE) else []
    for service in store.objects("services", namespace):
        if service["spec"].get("selector") and service["metadata"]["name"] != "kubernetes":
            found.append(endpoints(service, endpoint_slice(service, pods, store.clock), store.clock))
    return sorted(found, key=lambda o: (o["metadata"]["namespace"], o["metadata"]["name"]))


def endpoints_row(obj: Obj, now: float) -> list:
    """Follows printEndpoints and formatEndpoints: the ready addresses as ip:port, three at most."""
    shown = [f"{a['ip']}:{p['port']}" for subset in obj.get("subsets") or [] for p in subset.get("ports") or [{}]
             if "port" in p for a in subset.get("addresses") or []]
    text = ",".join(shown[:3]) + (f" + {len(shown) - 3} more..." if len(shown) > 3 else "")
    return [(obj.get("metadata") or {}).get("name", ""), text or "<none>", age(obj, now)]


ENDPOINTS = REGISTRY.add(Kind(
    group="", version="v1", plural="endpoints", kind="Endpoints", namespaced=True, verbs=READ, short=("ep",),
    schema="io.k8s.api.core.v1.Endpoints", deprecated=WARNING,
    columns=(NAME, Column("Endpoints", "string", "Endpoints is the list of addresses."), AGE),
    row=endpoints_row, strategy=Strategy(objects=objects)))
