"""ComponentStatuses (pkg/registry/core/componentstatus): the control plane's health, as `kubectl get cs` shows it.

scheduler, controller-manager and etcd-0, healthy while the simulator runs them. Deprecated
since v1.19, as every request to it is warned; read-only. The table follows printComponentStatus.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..printers import NAME
from ..resources import Clockwork
from . import REGISTRY, Column, Kind, Obj, Strategy

if TYPE_CHECKING:
    from ..rest import Storage


def component_statuses(sim, clock: Clockwork) -> list[dict]:
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


def objects(store: Storage, namespace: str | None) -> list[Obj]:
    return component_statuses(store.sim, store.clock)


def componentstatus_row(component: Obj, now: float) -> list:
    """Follows printComponentStatus: Name, Status (Healthy/Unhealthy/Unknown), Message, Error."""
    status, message, error = "Unknown", "", ""
    for cond in component.get("conditions") or []:
        if cond.get("type") == "Healthy":
            status = "Healthy" if cond.get("status") == "True" else "Unhealthy"
            message, error = cond.get("message", ""), cond.get("error", "")
            break
    return [(component.get("metadata") or {}).get("name", ""), status, message, error]


COMPONENT_STATUS = REGISTRY.add(Kind(
    group="", version="v1", plural="componentstatuses", kind="ComponentStatus", namespaced=False,
    verbs=("get", "list"), short=("cs",), schema="io.k8s.api.core.v1.ComponentStatus",
    deprecated="v1 ComponentStatus is deprecated in v1.19+",
    columns=(NAME, Column("Status", "string", "Status of the component conditions"),
             Column("Message", "string", "Message of the component conditions"),
             Column("Error", "string", "Error of the component conditions")),
    row=componentstatus_row, strategy=Strategy(objects=objects)))
