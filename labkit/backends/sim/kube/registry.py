"""Every served kind, registered: what discovery, OpenAPI, watch, tables and the storage read.

    from .registry import REGISTRY
    REGISTRY.get("apps", "deployments")

Each kind's module in kinds/ adds its Kind to REGISTRY when imported; they are imported here,
in the order discovery lists them (the core group's first, as the real server lists them).
Adding a kind is one module in kinds/ and one line here.
"""
from __future__ import annotations

from .kinds import REGISTRY, Kind
from .kinds import namespaces  # noqa: F401  (each module registers its kinds when imported)
from .kinds import nodes  # noqa: F401
from .kinds import pods  # noqa: F401
from .kinds import events  # noqa: F401  (core/v1 and events.k8s.io/v1)
from .kinds import services  # noqa: F401
from .kinds import configmaps  # noqa: F401
from .kinds import secrets  # noqa: F401
from .kinds import serviceaccounts  # noqa: F401
from .kinds import componentstatuses  # noqa: F401
from .kinds import endpointslices  # noqa: F401
from .kinds import endpoints  # noqa: F401
from .kinds import deployments  # noqa: F401
from .kinds import replicasets  # noqa: F401
from .kinds import daemonsets  # noqa: F401
from .kinds import statefulsets  # noqa: F401
from .kinds import controllerrevisions  # noqa: F401  (StatefulSets' and DaemonSets' history)
from .kinds import leases  # noqa: F401
from .kinds import accessreviews  # noqa: F401
from .kinds import poddisruptionbudgets  # noqa: F401
from .kinds import cronjobs  # noqa: F401  (batch/v1, listed before jobs as the real server sorts them)
from .kinds import jobs  # noqa: F401
from .kinds import horizontalpodautoscalers  # noqa: F401  (autoscaling/v2)
from .kinds import metrics  # noqa: F401  (metrics.k8s.io/v1beta1: kubectl top)

__all__ = ["REGISTRY", "Kind"]
