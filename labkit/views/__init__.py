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
from typing import Any, Callable

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


def lazy_class(namespace: dict[str, Any], name: str, build: Callable[[], type]) -> Callable[[str], type]:
    """A module `__getattr__` (PEP 562) that makes class `name` with `build()` when first asked
    for and keeps it in `namespace` (the module's globals), so later look-ups are plain ones.

    Why lazy: a live view's base class needs anywidget, yet its module (static HTML, figures)
    is imported where there is no widget library, and `import labkit` must not load one:

        __getattr__ = lazy_class(globals(), "RolloutView", _live_view_class)
    """
    def __getattr__(attr: str) -> type:
        if attr != name:
            raise AttributeError(f"module {namespace['__name__']!r} has no attribute {attr!r}")
        namespace[name] = cls = build()
        return cls

    return __getattr__
