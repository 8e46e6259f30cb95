"""ArchitectureView: the control plane the course names, and one request traced through it.

The diagram comes from the snapshot's components (running or down), the
trace from the cluster's real events, in order: each event's `source` says
which component acted. Every component reads and writes the cluster's
state only through the API server, which keeps it in etcd (Swarm: in the
managers' Raft store), so a step is drawn as "component -> API server ->
store"; a kubelet starting or killing a container talks to its node's
container runtime.
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

import traitlets

from ..model import ClusterState, Event
from . import lazy_class
from .palette import IMAGE_COLOURS, MUTED, WARNING

MAX_STEPS = 40
MAX_NODES = 5  # worker nodes drawn; the rest are summarised
RUNTIME_REASONS = {"Pulling", "Pulled", "Created", "Started", "Killing", "Killed", "BackOff", "Failed"}
CONTROLLERS = {"deployment-controller", "replicaset-controller", "node-lifecycle-controller",
               "garbage-collector", "drain", "endpoint-controller", "controller-manager"}
CLIENTS = {"kubectl", "student", "docker", "docker-cli", ""}


@dataclass(frozen=True)
class Box:
    id: str
    label: str
    sub: str
    x: int
    y: int
    w: int = 150
    h: int = 40


@dataclass(frozen=True)
class Step:
    time: float
    path: tuple[str, ...]  # box ids the request travels through, in order
    text: str
    warning: bool = False
    actor: str = ""  # the box of the component that acted (defaults to the path's start)

    @property
    def who(self) -> str:
        return self.actor or self.path[0]


def boxes(state: ClusterState) -> list[Box]:
    """The components to draw for this flavor, laid out top (client) to bottom (nodes)."""
    flavor = state.flavor
    workers = [n for n in state.nodes if n.role != "control-plane"][:MAX_NODES]
    out: list[Box] = []
    if flavor == "kubernetes":
        out += [Box("client", "kubectl", "you", 20, 14), Box("api-server", "API server", "kube-apiserver", 250, 14),
                Box("store", "etcd", "the cluster's state", 480, 14),
                Box("controller-manager", "controller manager", "replica sets, rollouts, nodes", 20, 96, 190),
                Box("scheduler", "scheduler", "picks a node per pod", 470, 96, 160)]
        agent, agent_sub = "kubelet", "node agent"
    elif flavor == "swarm":
        out += [Box("client", "docker CLI", "you", 20, 14), Box("api-server", "manager API", "docker service …", 250, 14),
                Box("store", "Raft store", "replicated on managers", 480, 14),
                Box("controller-manager", "orchestrator", "tasks per service", 20, 96, 190),
                Box("scheduler", "scheduler", "picks a node per task", 470, 96, 160)]
        agent, agent_sub = "agent", "worker agent"
    else:
        out += [Box("client", "docker CLI", "you", 20, 14), Box("api-server", "Docker daemon", "dockerd API", 250, 14),
                Box("store", "local state", "/var/lib/docker", 480, 14)]
        agent, agent_sub = "", ""
    top = 190 if flavor in ("kubernetes", "swarm") else 96
    width = 128
    for k, node in enumerate(workers):
        x = 20 + k * (width + 14)
        if agent:
            out.append(Box(f"agent@{node.name}", agent, node.name, x, top, width, 36))
        out.append(Box(f"runtime@{node.name}", "container runtime", node.name, x, top + 50, width, 36))
    return out


def edges(state: ClusterState, drawn: list[Box]) -> list[tuple[str, str]]:
    ids = {b.id for b in drawn}
    out = [("client", "api-server"), ("api-server", "store")]
    for b in drawn:
        if b.id in ("controller-manager", "scheduler") or b.id.startswith("agent@"):
            out.append((b.id, "api-server"))
        if b.id.startswith("runtime@"):
            agent = "agent@" + b.id.split("@", 1)[1]
            out.append((agent if agent in ids else "api-server", b.id))
    return out


def running(state: ClusterState) -> dict[str, bool]:
    """Box id -> running, from the snapshot's components."""
    up: dict[str, bool] = {}
    names = {"api-server": "api-server", "etcd": "store", "scheduler": "scheduler",
             "controller-manager": "controller-manager"}
    for c in state.components:
        if c.name in names:
            up[names[c.name]] = c.running
        elif c.name == "manager":
            up["api-server"] = up.get("api-server", False) or c.running
            up["store"] = up["api-server"]
        elif c.name in ("kubelet", "agent", "docker-daemon"):
            up[f"agent@{c.node}"] = c.running
        elif c.name == "container-runtime":
            up[f"runtime@{c.node}"] = c.running
    return up


def box_of(event: Event, state: ClusterState, placed: dict[str, str] | None = None) -> str:
    """Which box an event's source stands for (`placed`: pod object -> node, for pods now gone)."""
    source = event.source
    if source in CLIENTS:
        return "client"
    if source in CONTROLLERS or source in ("orchestrator", "manager"):
        return "controller-manager" if state.flavor != "docker" else "api-server"
    if source == "scheduler":
        return "scheduler"
    node = _node_of(event, state) or (placed or {}).get(event.object)
    if source in ("kubelet", "agent", "docker-daemon"):
        return f"agent@{node}" if node else "api-server"
    if source == "container-runtime":
        return f"runtime@{node}" if node else "api-server"
    return "api-server"


def _node_of(event: Event, state: ClusterState) -> str | None:
    kind, _, name = event.object.partition("/")
    if kind == "node":
        return name
    if kind == "pod":
        found = next((r.node for r in state.replicas if r.name == name), None)
        return found
    return None


def trace(events: list[Event], state: ClusterState, request: str | None = None) -> list[Step]:
    """Steps of a request, from the student's call to the containers starting."""
    steps: list[Step] = []
    # Pods that are gone still name their node in the scheduler's "assigned ... to node-2".
    placed = {e.object: e.message.rsplit(" to ", 1)[1] for e in events
              if e.reason == "Scheduled" and " to " in e.message}
    if request:
        steps.append(Step(events[0].time if events else state.time, ("client", "api-server", "store"), request,
                          actor="client"))
    drawn = {b.id for b in boxes(state)}
    last_key, count, first_text, same = None, 0, "", True
    for e in events:
        box = box_of(e, state, placed)
        if box not in drawn:
            box = "api-server"
        if box.startswith("agent@") and e.reason in RUNTIME_REASONS:
            path = ("api-server", box, "runtime@" + box.split("@", 1)[1])
        elif box == "client":
            path = ("client", "api-server", "store")
        elif box.startswith("runtime@"):
            path = (box, "agent@" + box.split("@", 1)[1], "api-server")
        else:
            path = (box, "api-server", "store")
        path = tuple(p for k, p in enumerate(path) if p in drawn and (k == 0 or p != path[k - 1])) or ("api-server",)
        actor = box if box in drawn else path[0]
        text = f"{e.source or 'cluster'}: {e.reason} {e.object}"
        key = (path, e.source, e.reason, e.object.partition("/")[0])
        if steps and last_key == key:  # the same kind of step again (e.g. 5 pods created): count it
            count += 1
            same = same and e.object == first_text.rsplit(" ", 1)[-1]
            text = f"{first_text} ×{count}" if same else f"{e.source}: {e.reason} ×{count} {key[3]}s"
            steps[-1] = Step(steps[-1].time, path, text, steps[-1].warning, actor)
            continue
        last_key, count, first_text, same = key, 1, text, True
        steps.append(Step(e.time, path, text, e.type == "Warning", actor))
    return steps[:MAX_STEPS]


def border_points(a: Box, b: Box) -> tuple[tuple[float, float], tuple[float, float]]:
    """Where the line between two boxes' centres leaves each box (lines never cross labels)."""
    ax, ay, bx, by = a.x + a.w / 2, a.y + a.h / 2, b.x + b.w / 2, b.y + b.h / 2

    def cut(cx, cy, dx, dy, box):
        t = min(box.w / 2 / (abs(dx) or 1e-9), box.h / 2 / (abs(dy) or 1e-9), 1)
        return cx + dx * t, cy + dy * t

    return cut(ax, ay, bx - ax, by - ay, a), cut(bx, by, ax - bx, ay - by, b)


def architecture_svg(state: ClusterState, steps: list[Step]) -> str:
    """The diagram with numbered badges where the traced steps acted (static fallback)."""
    drawn = boxes(state)
    where = {b.id: b for b in drawn}
    up = running(state)
    height = max(b.y + b.h for b in drawn) + 14
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 720 {height}" width="720" height="{height}" '
             f'style="font:12px system-ui,sans-serif">']
    for a, b in edges(state, drawn):
        (x1, y1), (x2, y2) = border_points(where[a], where[b])
        parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{MUTED}" '
                     f'stroke-width="1.2" opacity=".7"/>')
    acted: dict[str, list[int]] = {}
    for k, s in enumerate(steps, 1):
        acted.setdefault(s.who, []).append(k)
    for b in drawn:
        down = up.get(b.id) is False
        stroke = WARNING if down else (IMAGE_COLOURS[0] if b.id in acted else MUTED)
        dash = ' stroke-dasharray="4 3"' if down else ""
        parts.append(f'<rect x="{b.x}" y="{b.y}" width="{b.w}" height="{b.h}" rx="7" fill="rgba(127,127,127,.08)" '
                     f'stroke="{stroke}" stroke-width="{2 if b.id in acted else 1.2}"{dash}/>')
        parts.append(f'<text x="{b.x + 8}" y="{b.y + 16}" fill="currentColor" font-weight="600">{escape(b.label)}'
                     f'{" (down)" if down else ""}</text>')
        parts.append(f'<text x="{b.x + 8}" y="{b.y + 30}" fill="{MUTED}" font-size="10">{escape(b.sub)}</text>')
        if b.id in acted:
            label = ",".join(map(str, acted[b.id][:3])) + ("…" if len(acted[b.id]) > 3 else "")
            parts.append(f'<text x="{b.x + b.w - 6}" y="{b.y + 14}" text-anchor="end" fill="{IMAGE_COLOURS[0]}" '
                         f'font-size="10" font-weight="700">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def architecture_html(state: ClusterState, steps: list[Step]) -> str:
    items = "".join(f'<li{f" style=color:{WARNING}" if s.warning else ""}>{s.time:.1f}s · {escape(s.text)}</li>'
                    for s in steps)
    listing = f'<ol style="margin:4px 0;padding-left:22px">{items}</ol>' if steps else \
        '<div style="opacity:.7">no request traced yet: change something (e.g. scale) and let time pass</div>'
    return (f'<div class="labkit-view labkit-architecture" style="font:13px system-ui,sans-serif">'
            f'<div><b>control plane</b> · {escape(state.flavor)}</div>{architecture_svg(state, steps)}{listing}</div>')


def _live_view_class():
    from .base import HERE, LiveView

    class ArchitectureView(LiveView):
        """The components and an animated trace of the latest request through them.

            view = ArchitectureView(cluster); view         # then, in another cell:
            web.scale(5)                                   # the view traces this request
        """

        _esm = HERE / "architecture.js"
        diagram = traitlets.Dict().tag(sync=True)
        steps = traitlets.List().tag(sync=True)

        def __init__(self, cluster, *, since: float | None = None, **options) -> None:
            self._since = since
            self._request: str | None = None
            super().__init__(cluster, **options)

        def _changed(self, state: ClusterState) -> None:
            prev = self._prev
            if prev is not None and state.time == prev.time and state.version != prev.version and not self._ticking:
                self._since = state.time  # a new request: trace from here
                self._request = {
                    "kubernetes": f"request accepted by the API server and stored in etcd (revision {state.version})",
                    "swarm": f"request accepted by a manager and stored in its Raft log (revision {state.version})",
                }.get(state.flavor, "request accepted by the Docker daemon")
            super()._changed(state)

        def current(self, state: ClusterState) -> list[Step]:
            events = self.cluster.events(self._since or 0.0)
            if self._since is None:
                events = events[-MAX_STEPS * 3:]
            return trace(events, state, self._request)

        def payload(self, state: ClusterState) -> None:
            drawn = boxes(state)
            up = running(state)
            self.diagram = {"flavor": state.flavor,
                            "boxes": [[b.id, b.label, b.sub, b.x, b.y, b.w, b.h, up.get(b.id, True)] for b in drawn],
                            "edges": edges(state, drawn)}
            self.steps = [[s.time, list(s.path), s.text, s.warning, s.who] for s in self.current(state)]
            from .payload import size
            self.last_payload_size = size(self.diagram, {"s": self.steps})

        def static_html(self) -> str:
            state = self.cluster.state()
            return architecture_html(state, self.current(state))

    return ArchitectureView


__getattr__ = lazy_class(globals(), "ArchitectureView", _live_view_class)
