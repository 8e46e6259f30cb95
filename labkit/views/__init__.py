"""labkit's views: see a cluster, live in Jupyter or as static HTML elsewhere.

    cluster.view()                          # ClusterView: nodes, replicas, workloads
    RolloutView(cluster, "web")             # old vs new replicas during a rolling update
    ArchitectureView(cluster)               # control-plane components, a request traced through them
    EventsView(cluster)                     # a filterable `kubectl get events`
    cluster.traffic("web").view()           # TrafficView: requests a second by version, failures

Widgets (anywidget) load lazily: `labkit.views.static` and `labkit.views.rollout.rollout_figure`
work without a widget library, so nbval and exports never need one.
"""
from __future__ import annotations

import importlib

_LAZY = {
    "ClusterView": ".cluster_view",
    "RolloutView": ".rollout",
    "ArchitectureView": ".architecture",
    "EventsView": ".events",
    "TrafficView": ".traffic",
    "LiveView": ".base",
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
