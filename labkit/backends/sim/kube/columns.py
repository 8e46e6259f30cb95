"""Server-side Tables (meta.k8s.io/v1), as kube-apiserver answers `Accept: as=Table` (`kubectl get`).

Each kind's columns and row function live in its module (kinds/), ported from kubernetes
pkg/printers/internalversion/printers.go; the helpers they share (durations, selectors,
labels) in printers.py. Here is the generic part (k8s.io/apiserver
pkg/registry/rest/table.go and pkg/printers/tablegenerator.go): a row per object, with the
object, its metadata or nothing embedded. The API server prints with Wide=true, so each row
has every cell; kubectl hides priority-1 columns unless `-o wide`.
"""
from __future__ import annotations

import functools
from typing import Callable, Iterator, Mapping

from .kinds import Kind, Obj
from .kinds.componentstatuses import componentstatus_row  # noqa: F401  (each kind's row, by its old name)
from .kinds.daemonsets import daemonset_row  # noqa: F401
from .kinds.deployments import deployment_row  # noqa: F401
from .kinds.endpointslices import endpointslice_row  # noqa: F401
from .kinds.events import event_row  # noqa: F401
from .kinds.leases import lease_row  # noqa: F401
from .kinds.namespaces import namespace_row  # noqa: F401
from .kinds.nodes import node_row  # noqa: F401
from .kinds.pods import pod_conditions, pod_row, pod_status  # noqa: F401
from .kinds.replicasets import replicaset_row  # noqa: F401
from .kinds.services import service_row  # noqa: F401
from .printers import (format_label_selector, format_labels, human_duration, parse_time,  # noqa: F401
                       selector_string, short_duration)
from .registry import REGISTRY


class ByPlural(Mapping):
    """What every served kind has, by plural (the first kind of a plural: the core group's events)."""

    def __init__(self, read: Callable[[Kind], object]) -> None:
        self.read = read

    def __getitem__(self, plural: str):
        kind = REGISTRY.find(plural)
        if kind is None:
            raise KeyError(plural)
        return self.read(kind)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(k.plural for k in REGISTRY))

    def __len__(self) -> int:
        return len(dict.fromkeys(k.plural for k in REGISTRY))


@functools.lru_cache(maxsize=None)
def columns(kind: Kind) -> list[dict]:
    """The column definitions of `kind`'s tables (shared by every table of it: never changed)."""
    return [c.definition() for c in kind.columns]


COLUMNS: Mapping[str, list[dict]] = ByPlural(columns)
ROWS: Mapping[str, Callable[[Obj, float], list]] = ByPlural(lambda kind: kind.row)


def table(kind: Kind, items: list[dict], api, meta: dict, include: str) -> dict:
    """A Table (meta.k8s.io/v1) of `items`, as the API server answers `Accept: as=Table`: a row of
    cells each, with the object (include="Object"), its metadata ("Metadata") or nothing ("None");
    `api` is the served KubeAPIServer (its clock gives the ages).

        table(REGISTRY.get("", "pods"), pods, api, {"resourceVersion": "42"}, "Metadata")"""
    now = api.clock.epoch + api.storage.sim.now()
    row = kind.row
    rows = []
    for obj in items:
        cells = row(obj, now)
        if include == "Object":
            embedded = obj
        elif include == "None":
            embedded = None
        else:
            embedded = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}
        rows.append({"cells": cells, "object": embedded})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": columns(kind), "rows": rows}
