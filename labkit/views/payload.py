"""The compact picture of a cluster that a live view sends to the browser.

Never HTML and never one entry per replica: replicas are counted per node by
(workload, image, chip state), so the payload grows with the number of nodes
and distinct kinds of replica, not with the number of replicas. 2000 replicas
on 100 nodes fit in a few KB; 150,000 still do.

Two parts, synced as two traits so the rarely changing one is not resent:
`topology` (names, roles, capacities, images) and `status` (what moves).
"""
from __future__ import annotations

import json
from collections import Counter

from ..model import ClusterState
from .palette import ImagePalette, chip_state

NODE_READY, NODE_SCHEDULABLE = 1, 2


def workload_names(state: ClusterState) -> list[str]:
    """Workloads in state order, then any a replica names that is gone or is "" (lone containers)."""
    names = [w.name for w in state.workloads]
    known = set(names)
    for r in state.replicas:
        if r.workload not in known:
            known.add(r.workload)
            names.append(r.workload)
    return names


def encode(state: ClusterState, palette: ImagePalette, moving: bool = False) -> tuple[dict, dict]:
    """(layout, status) of `state`; `palette` keeps image colours stable across calls."""
    names = workload_names(state)
    w_index = {name: i for i, name in enumerate(names)}
    n_index = {n.name: i for i, n in enumerate(state.nodes)}
    # New images get the next colour, oldest revision first (blue, then orange, ...).
    for _, image in sorted({(r.revision, r.image) for r in state.replicas}):
        palette.index(image)
    for w in state.workloads:
        palette.index(w.image)
    groups: list[Counter] = [Counter() for _ in state.nodes]
    pool: Counter = Counter()  # replicas with no (known) node yet
    for r in state.replicas:
        key = (w_index[r.workload], palette.index(r.image), chip_state(r))
        at = n_index.get(r.node) if r.node is not None else None
        (pool if at is None else groups[at])[key] += 1
    layout = {
        "backend": state.backend,
        "flavor": state.flavor,
        "nodes": [[n.name, n.role, n.cpu_capacity, n.memory_capacity, n.pods_capacity] for n in state.nodes],
        "workloads": [[name, _kind(state, name)] for name in names],
        "images": list(palette.images),
    }
    status = {
        "t": round(state.time, 3),
        "v": state.version,
        "moving": bool(moving),
        "nodes": [[(NODE_READY if n.ready else 0) | (NODE_SCHEDULABLE if n.schedulable else 0),
                   n.cpu_allocated, n.memory_allocated, n.pods_allocated, n.status]
                  for n in state.nodes],
        "chips": [_flatten(g) for g in groups],
        "pool": _flatten(pool),
        "workloads": [_workload_row(state, name, palette) for name in names],
    }
    return layout, status


def _kind(state: ClusterState, name: str) -> str:
    w = state.workload(name)
    return w.kind if w else ("containers" if name == "" else "deleted")


def _workload_row(state: ClusterState, name: str, palette: ImagePalette) -> list:
    w = state.workload(name)
    if w is None:  # lone containers, or what is left of a deleted workload: count them
        mine = state.replicas_of(name)
        running = sum(1 for r in mine if r.phase == "running")
        return [len(mine), len(mine), running, len(mine), running, -1, "", 0, 0, 0]
    return [w.desired, w.current, w.ready, w.updated, w.available, palette.index(w.image),
            w.rollout, w.revision, w.max_surge, w.max_unavailable]


def _flatten(groups: Counter) -> list[int]:
    """{(w, i, s): n} as [w, i, s, n, w, i, s, n, ...], sorted so chips keep their places."""
    out: list[int] = []
    for key in sorted(groups):
        out.extend(key)
        out.append(groups[key])
    return out


def size(*parts: dict) -> int:
    """Bytes of JSON these parts take on the wire (as ipywidgets serialises them)."""
    return sum(len(json.dumps(p, separators=(",", ":"))) for p in parts)


def expand(flat: list[int]) -> list[tuple[int, int, int, int]]:
    """[w, i, s, n, ...] back into (w, i, s, n) tuples."""
    return [tuple(flat[k:k + 4]) for k in range(0, len(flat), 4)]  # type: ignore[misc]
