"""Static HTML pictures of a cluster, for where no widget can run.

nbviewer, exported HTML, GitHub and nbval see these (and they are what
`Cluster._repr_html_` shows). Inline styles only, so sanitisers that drop
`<style>` keep the picture; colours that read on light and dark themes;
deterministic output (no ids, no clock), so nbval can compare it.
"""
from __future__ import annotations

from collections import Counter
from html import escape

from ..model import ClusterState, Node
from .palette import (FAILED, MUTED, PENDING, RUNNING, STARTING, STATE_NAMES, TERMINATING,
                      WARNING, ImagePalette, chip_state, colour_of)
from .payload import workload_names

CHIP_LIMIT = 600  # above this many replicas, draw bars of counts instead of chips
NODE_LIMIT = 200  # above this many nodes, draw one small square per node

FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;font-size:13px;line-height:1.4"
BOX = "border:1px solid rgba(127,127,127,.35);border-radius:8px;background:rgba(127,127,127,.06)"
FAINT = "opacity:.7"


def chip_style(colour: str, state: int) -> str:
    """Inline style of one chip; the same marks as views.css uses live."""
    base = "display:inline-block;width:12px;height:12px;margin:1px;border-radius:3px;box-sizing:border-box;"
    if state == RUNNING:
        return base + f"background:{colour};border:1px solid {colour}"
    if state == STARTING:
        return base + f"background:linear-gradient(135deg,{colour} 50%,transparent 50%);border:1px solid {colour}"
    if state == PENDING:
        return base + f"background:transparent;border:1.5px dashed {colour}"
    if state == TERMINATING:
        return base + f"background:{colour};opacity:.35;border:1px dotted {colour}"
    if state == FAILED:
        return base + f"background:{colour};border:2px solid {WARNING};box-shadow:inset 0 0 0 2px rgba(255,255,255,.6)"
    return base + f"background:{MUTED};border:1px solid {MUTED}"  # succeeded


def chip(colour: str, state: int, title: str) -> str:
    return f'<span class="lk-chip" title="{escape(title)}" style="{chip_style(colour, state)}"></span>'


def static_palette(state: ClusterState) -> ImagePalette:
    """Colours in a deterministic order: each workload's images by revision, oldest first."""
    palette = ImagePalette()
    for _, image in sorted({(r.revision, r.image) for r in state.replicas}):
        palette.index(image)
    for w in state.workloads:
        palette.index(w.image)
    return palette


def cluster_html(state: ClusterState) -> str:
    """The whole cluster: a line per workload, a box per node with its replicas as chips."""
    palette = static_palette(state)
    names = workload_names(state)
    parts = [f'<div class="labkit-view labkit-cluster" style="{FONT};max-width:100%">', _header(state)]
    parts += [_workload_line(state, name, palette) for name in names]
    many = len(state.replicas) > CHIP_LIMIT
    if len(state.nodes) > NODE_LIMIT:
        parts.append(_node_grid(state))
    else:
        parts.append('<div style="display:flex;flex-wrap:wrap;gap:8px;margin-top:8px">')
        by_node: dict[str, list] = {n.name: [] for n in state.nodes}
        for r in state.replicas:
            if r.node in by_node:
                by_node[r.node].append(r)
        parts += [_node_box(n, by_node[n.name], palette, names, many) for n in state.nodes]
        parts.append("</div>")
    known = {n.name for n in state.nodes}
    unplaced = [r for r in state.replicas if r.node not in known]
    if unplaced:
        parts.append(f'<div style="margin-top:6px"><b>not scheduled</b> ({len(unplaced)}): ')
        parts.append(_chips(unplaced, palette, names, many))
        parts.append("</div>")
    parts.append(_legend(palette))
    parts.append("</div>")
    return "".join(parts)


def _header(state: ClusterState) -> str:
    running = state.count()
    return (f'<div style="{FAINT};margin-bottom:4px">{escape(state.backend)} · {escape(state.flavor)} · '
            f't = {state.time:.1f} s · {len(state.nodes)} node{"s" * (len(state.nodes) != 1)} · '
            f'{len(state.replicas)} replica{"s" * (len(state.replicas) != 1)} ({running} running)</div>')


def _workload_line(state: ClusterState, name: str, palette: ImagePalette) -> str:
    w = state.workload(name)
    if w is None:
        mine = state.replicas_of(name)
        label = "containers" if name == "" else f"{name} (deleted)"
        return (f'<div><b>{escape(label)}</b> <span style="{FAINT}">{len(mine)} '
                f'({sum(r.phase == "running" for r in mine)} running)</span></div>')
    swatch = (f'<span style="display:inline-block;width:10px;height:10px;border-radius:2px;'
              f'background:{palette.colour(w.image)};margin-right:4px"></span>')
    warn = f' <span style="color:{WARNING}">{escape(w.message)}</span>' if w.message else ""
    return (f'<div>{swatch}<b>{escape(w.name)}</b> <code>{escape(w.image)}</code> '
            f'<span style="{FAINT}">desired</span> {w.desired} · <span style="{FAINT}">ready</span> {w.ready} · '
            f'<span style="{FAINT}">up-to-date</span> {w.updated} · <span style="{FAINT}">available</span> '
            f'{w.available} · <span style="{FAINT}">rollout</span> {escape(w.rollout)}{warn}</div>')


def _node_box(node: Node, replicas: list, palette: ImagePalette, names: list[str], many: bool) -> str:
    status = node.status or ("Ready" if node.ready else "NotReady")
    colour = "inherit" if node.ready else WARNING
    extra = ""
    if not node.schedulable and node.role != "control-plane":  # control planes are tainted, not cordoned
        extra = f' · <span style="color:{WARNING}">cordoned</span>'
    dim = "" if node.ready else ";opacity:.75;border-style:dashed"
    if node.pods_capacity:  # Kubernetes: a pod limit per node
        used, count = min(node.pods_allocated / node.pods_capacity, 1), f"{node.pods_allocated}/{node.pods_capacity} pods"
    else:  # Swarm and Docker have none: count replicas, fill by CPU
        used = min(node.cpu_allocated / node.cpu_capacity, 1) if node.cpu_capacity else 0
        count = f"{len(replicas)} replica{'s' * (len(replicas) != 1)}"
    bar = (f'<div title="pods {node.pods_allocated}/{node.pods_capacity}, cpu {node.cpu_allocated}/'
           f'{node.cpu_capacity} m" style="height:4px;border-radius:2px;background:rgba(127,127,127,.2);'
           f'margin:4px 0"><div style="height:4px;border-radius:2px;width:{used * 100:.0f}%;'
           f'background:{MUTED}"></div></div>')
    return (f'<div class="lk-node" data-node="{escape(node.name)}" style="{BOX};padding:6px 8px;'
            f'min-width:150px;max-width:320px;flex:1 1 170px{dim}">'
            f'<div><b>{escape(node.name)}</b> <span style="{FAINT};font-size:11px">{escape(node.role)}</span></div>'
            f'<div style="font-size:11px"><span style="color:{colour}">{"●" if node.ready else "○"} '
            f'{escape(status)}</span>{extra} <span style="{FAINT}">· {count}</span></div>{bar}<div style="line-height:0">'
            f'{_chips(replicas, palette, names, many)}</div></div>')


def _chips(replicas, palette: ImagePalette, names: list[str], many: bool) -> str:
    order = {name: i for i, name in enumerate(names)}
    if not many:
        ordered = sorted(replicas, key=lambda r: (order.get(r.workload, 0), palette.index(r.image),
                                                  chip_state(r), r.name))
        return "".join(chip(palette.colour(r.image), chip_state(r),
                            f"{r.name} · {r.image} · {STATE_NAMES[chip_state(r)]}"
                            + (f" · {r.reason}" if r.reason else "")) for r in ordered)
    counts = Counter((palette.index(r.image), chip_state(r)) for r in replicas)
    total = sum(counts.values()) or 1
    segments = "".join(
        f'<span title="{n} × {escape(palette.images[i])} {STATE_NAMES[s]}" style="display:inline-block;'
        f'height:10px;width:{100 * n / total:.2f}%;background:{colour_of(i)};'
        f'{"opacity:.4;" if s != RUNNING else ""}"></span>' for (i, s), n in sorted(counts.items()))
    return (f'<div style="line-height:1.3;font-size:11px">{sum(counts.values())} replicas</div>'
            f'<div style="display:flex;border-radius:3px;overflow:hidden">{segments}</div>')


def _node_grid(state: ClusterState) -> str:
    cells = []
    for n in state.nodes:
        colour = MUTED if n.ready else WARNING
        cells.append(f'<span title="{escape(n.name)}: {n.pods_allocated} pods" style="display:inline-block;'
                     f'width:8px;height:8px;margin:1px;border-radius:1px;background:{colour};'
                     f'opacity:{0.35 + 0.65 * min(n.pods_allocated / (n.pods_capacity or 1), 1):.2f}"></span>')
    ready = sum(n.ready for n in state.nodes)
    return (f'<div style="margin-top:6px">{ready}/{len(state.nodes)} nodes Ready · '
            f'{len(state.replicas)} replicas</div><div style="line-height:0;margin-top:4px">{"".join(cells)}</div>')


def _legend(palette: ImagePalette) -> str:
    items = [f'{chip(colour_of(i), RUNNING, image)} <code>{escape(image)}</code>'
             for i, image in enumerate(palette.images)]
    sample = colour_of(0)
    items += [f'{chip(sample, s, STATE_NAMES[s])} {STATE_NAMES[s]}'
              for s in (PENDING, STARTING, RUNNING, TERMINATING, FAILED)]
    return (f'<div style="margin-top:8px;font-size:11px;{FAINT};display:flex;flex-wrap:wrap;gap:10px;'
            f'align-items:center">{"".join(f"<span>{i}</span>" for i in items)}</div>')


__all__ = ["cluster_html", "chip_style", "chip", "static_palette"]
