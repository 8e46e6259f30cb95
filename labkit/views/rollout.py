"""A rolling update over time: old and new replicas, and the bounds they must keep.

Data: `cluster.timeline`, the (time, workload statuses) samples the facade
records whenever a workload changes. Old replicas = current - updated.
The rollout bounds are drawn as Kubernetes states them: at most
desired + maxSurge replicas exist, at least desired - maxUnavailable are
available.

`rollout_figure` draws a static matplotlib figure (notes, exports, nbval);
`RolloutView` draws the same live in the browser.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

import traitlets

from ..errors import NotFound
from ..model import ClusterState
from . import lazy_class
from .palette import IMAGE_COLOURS, MUTED, WARNING

OLD, NEW = IMAGE_COLOURS[0], IMAGE_COLOURS[1]
MAX_POINTS = 600  # what the live view sends at most; steps are kept, the rest thinned


COLUMNS = ("t", "old", "new", "available", "desired", "surge", "floor", "rollout", "revision", "image",
           "current", "updated")


@dataclass
class Series:
    """One workload's rollout history, column by column (step functions: each value
    holds from its time until the next).

    "new" replicas run the newest template in the series; everything else is
    "old", so colours match the cluster view (the previous image blue, the
    rolled-out one orange) even before the rollout started.
    """

    name: str
    t: list[float] = field(default_factory=list)
    old: list[int] = field(default_factory=list)
    new: list[int] = field(default_factory=list)
    available: list[int] = field(default_factory=list)
    desired: list[int] = field(default_factory=list)
    surge: list[int] = field(default_factory=list)  # desired + max_surge: most replicas allowed
    floor: list[int] = field(default_factory=list)  # desired - max_unavailable: fewest available allowed
    rollout: list[str] = field(default_factory=list)
    revision: list[int] = field(default_factory=list)  # 0 or a lower one (not known yet): the next known one
    image: list[str] = field(default_factory=list)
    current: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    marks: list | None = None  # changes() of the whole history, when this is a window of it

    def __len__(self) -> int:
        return len(self.t)

    def add(self, time: float, w) -> None:
        self.t.append(round(time, 3))
        self.available.append(w.available)
        self.desired.append(w.desired)
        self.surge.append(w.desired + w.max_surge)
        self.floor.append(max(w.desired - w.max_unavailable, 0))
        self.rollout.append(w.rollout)
        self.revision.append(w.revision)
        self.image.append(w.image)
        self.current.append(w.current)
        self.updated.append(w.updated)

    def finish(self) -> "Series":
        """Fill in unknown revisions and split replicas into old and new."""
        highest = 0
        for k in range(len(self)):  # revisions only grow: a lower one is a transient, not known yet
            if 0 < self.revision[k] < highest:
                self.revision[k] = 0
            highest = max(highest, self.revision[k])
        known = 0
        for k in range(len(self) - 1, -1, -1):  # a revision 0 belongs to the revision being made
            known = self.revision[k] = self.revision[k] or known
        for k in range(1, len(self)):
            self.revision[k] = self.revision[k] or self.revision[k - 1]
        newest = self.revision[-1] if len(self) else 0
        self.old = [c if r != newest else max(c - u, 0) for c, u, r in zip(self.current, self.updated, self.revision)]
        self.new = [0 if r != newest else u for u, r in zip(self.updated, self.revision)]
        return self

    def changes(self) -> list[tuple[int, str]]:
        """(sample index, label) where a new revision began: "rev N", or "rollback" when
        it brings back an image an earlier revision had."""
        if self.marks is not None:
            return list(self.marks)
        out = []
        for k in range(1, len(self)):
            if self.revision[k] != self.revision[k - 1]:
                back = self.rollout[k] == "rolling back" or self.image[k] in self.image[:k] \
                    and self.image[k] != self.image[k - 1]
                out.append((k, "rollback" if back else f"rev {self.revision[k]}"))
        return out

    def window(self, start: int) -> "Series":
        out = Series(self.name)
        for key in COLUMNS:
            setattr(out, key, getattr(self, key)[start:])
        out.marks = [(k - start, label) for k, label in self.changes() if k > start]
        return out.finish()

    def thinned(self, limit: int = MAX_POINTS) -> "Series":
        """At most `limit` points, keeping the first, the last and every revision change."""
        if len(self) <= limit:
            return self
        step = len(self) / limit
        keep = sorted({int(k * step) for k in range(limit)} | {len(self) - 1}
                      | {k for k in range(1, len(self)) if self.revision[k] != self.revision[k - 1]})
        out = Series(self.name)
        for key in COLUMNS:
            column = getattr(self, key)
            setattr(out, key, [column[k] for k in keep])
        where = {k: n for n, k in enumerate(keep)}
        out.marks = [(where[k], label) for k, label in self.changes() if k in where]
        return out

    def columns(self) -> dict:
        marks = self.changes()
        return {"name": self.name, "t": self.t, "old": self.old, "new": self.new, "available": self.available,
                "desired": self.desired, "surge": self.surge, "floor": self.floor, "rollout": self.rollout,
                "revision": self.revision, "marks": [[k, label] for k, label in marks]}


def series(timeline, name: str) -> Series:
    """The samples of workload `name` in a timeline of (time, workloads)."""
    out = Series(name)
    for time, workloads in timeline:
        for w in workloads:
            if w.name == name:
                out.add(time, w)
                break
    return out.finish()


def last_rollout_start(s: Series) -> int | None:
    """Index of the last sample before the last rollout began: the steady state it started
    from (None when there was no rollout)."""
    for k in range(len(s) - 1, 0, -1):
        if s.revision[k] != s.revision[k - 1]:
            return k - 1
    return None


def lead_in(s: Series) -> Series:
    """Start the axis shortly before the rollout's first step (that state held since the
    sample's own time, maybe long before: the deploy is not part of the rollout)."""
    if len(s) > 1:
        s.t[0] = max(s.t[0], s.t[1] - max(0.5, 0.05 * (s.t[-1] - s.t[1])))
    return s


def _timeline(cluster, name: str, last: bool) -> Series:
    s = series(getattr(cluster, "timeline", []), name)
    if not len(s):
        status = cluster.state().workload(name)
        if status is None:
            raise NotFound(f"no workload named {name!r}", "deploy it first, or check the name")
        s.add(cluster.now(), status)
        s.finish()
    start = last_rollout_start(s) if last else None
    return s if start is None else lead_in(s.window(start))


def _png(fig) -> bytes:
    import io
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def figure_and_axes(ax, size: tuple[float, float]):
    """The figure to draw on: `ax`'s, or a new one of `size` inches. A new one is a Figure outside
    pyplot (nothing shows twice, no global state is touched) that a notebook shows even without
    %matplotlib inline."""
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure
    fig = Figure(figsize=size, layout="constrained")
    fig._repr_png_ = lambda: _png(fig)
    return fig, fig.subplots()


def _end(s: Series, now: float) -> float:
    """Where the time axis ends: now, and never on the last sample (it would have no width)."""
    span = max(s.t[-1] - s.t[0], 1.0)
    return max(now, s.t[-1] + 0.08 * span)


def rollout_figure(cluster, name: str, *, last: bool = True, ax=None, title: str | None = None):
    """A matplotlib figure of `name`'s replicas over time: old (blue) and new (orange) stacked,
    available as a line, the maxSurge / maxUnavailable bounds dashed, pauses shaded and
    rollbacks marked. `last=False` draws the whole history. When requests were sent to it
    (`cluster.traffic`), the latest record's band is drawn below, on the same time axis."""
    record = next((t for t in reversed(getattr(cluster, "traffic_log", [])) if t.service.name == name), None)
    if record is not None and record.end < _timeline(cluster, name, last).t[0]:
        record = None  # requests from before the rollout drawn: nothing to show beside it
    if ax is None and record is not None:
        from matplotlib.figure import Figure
        fig = Figure(figsize=(7.5, 5.4), layout="constrained")
        fig._repr_png_ = lambda: _png(fig)
        ax, below = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
        _draw_rollout(cluster, name, last, ax, title)
        span = ax.get_xlim()
        record.plot(ax=below, title=f"requests to {name}: failed requests: {record.failed}")  # views.traffic's figure
        below.set_xlim(*span)  # shared with the rollout's axis
        ax.set_xlabel("")
        return fig
    fig, ax = figure_and_axes(ax, (7.5, 3.4))
    _draw_rollout(cluster, name, last, ax, title)
    return fig


def _draw_rollout(cluster, name: str, last: bool, ax, title: str | None) -> None:
    s = _timeline(cluster, name, last)
    end = _end(s, cluster.now())
    t = s.t + [end]

    def ext(column):
        return column + column[-1:]

    ax.stackplot(t, ext(s.old), ext(s.new), step="post", colors=[OLD, NEW], alpha=0.85,
                 labels=["old replicas", "new replicas"])
    from matplotlib import patheffects
    ax.step(t, ext(s.available), where="post", color="0.1", lw=1.8, label="available",
            path_effects=[patheffects.withStroke(linewidth=3.6, foreground="white")])
    ax.step(t, ext(s.surge), where="post", color=WARNING, lw=1, ls="--", label="desired + maxSurge")
    ax.step(t, ext(s.floor), where="post", color=MUTED, lw=1, ls="--", label="desired − maxUnavailable")
    for k in range(len(s)):
        if s.rollout[k] == "paused":
            ax.axvspan(t[k], t[k + 1], color=MUTED, alpha=0.18, lw=0)
    for k, label in s.changes():
        back = label == "rollback"
        ax.axvline(t[k], color=WARNING if back else "0.4", lw=1, ls=":")
        ax.annotate(label, (t[k], 1), xycoords=("data", "axes fraction"), xytext=(3, -12),
                    textcoords="offset points", fontsize=8, color=WARNING if back else "0.3")
    if any(r == "paused" for r in s.rollout):
        ax.plot([], [], color=MUTED, alpha=0.4, lw=6, label="paused")
    top = max(max(s.surge), max(a + b for a, b in zip(s.old, s.new)), 1)
    ax.set_ylim(0, top * 1.15 + 0.5)
    ax.set_xlim(t[0], end if end > t[0] else t[0] + 1)
    ax.set_xlabel("cluster time (s)")
    ax.set_ylabel("replicas")
    ax.set_title(title or f"{name}: rolling update", fontsize=11, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.25)


def rollout_svg(s: Series, width: int = 640, height: int = 220) -> str:
    """The same chart as a small inline SVG (the live view's static fallback)."""
    if not len(s):
        return "<svg></svg>"
    left, right, top, bottom = 34, 10, 10, 22
    t0, t1 = s.t[0], _end(s, s.t[-1])
    ymax = max(max(s.surge), max(a + b for a, b in zip(s.old, s.new)), 1) * 1.15

    def x(v):
        return left + (v - t0) / (t1 - t0) * (width - left - right)

    def y(v):
        return top + (1 - v / ymax) * (height - top - bottom)

    def steps(values, base=None):
        pts = []
        for k, v in enumerate(values):
            nxt = s.t[k + 1] if k + 1 < len(s) else t1
            pts += [(x(s.t[k]), y(v)), (x(nxt), y(v))]
        if base is not None:
            back = []
            for k in range(len(values) - 1, -1, -1):
                nxt = s.t[k + 1] if k + 1 < len(s) else t1
                back += [(x(nxt), y(base[k])), (x(s.t[k]), y(base[k]))]
            pts += back
        return " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)

    zero = [0] * len(s)
    total = [a + b for a, b in zip(s.old, s.new)]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" style="font:11px system-ui,sans-serif">']
    for k in range(len(s)):
        if s.rollout[k] == "paused":
            nxt = s.t[k + 1] if k + 1 < len(s) else t1
            parts.append(f'<rect x="{x(s.t[k]):.1f}" y="{top}" width="{max(x(nxt) - x(s.t[k]), 1):.1f}" '
                         f'height="{height - top - bottom}" fill="{MUTED}" opacity=".18"/>')
    parts.append(f'<polygon points="{steps(s.old, zero)}" fill="{OLD}" opacity=".85"/>')
    parts.append(f'<polygon points="{steps(total, s.old)}" fill="{NEW}" opacity=".85"/>')
    parts.append(f'<polyline points="{steps(s.available)}" fill="none" stroke="currentColor" stroke-width="1.6"/>')
    parts.append(f'<polyline points="{steps(s.surge)}" fill="none" stroke="{WARNING}" stroke-dasharray="5 3"/>')
    parts.append(f'<polyline points="{steps(s.floor)}" fill="none" stroke="{MUTED}" stroke-dasharray="5 3"/>')
    parts.append(f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" '
                 f'stroke="{MUTED}"/>')
    for v in sorted({0, round(ymax / 1.15)}):
        parts.append(f'<text x="{left - 4}" y="{y(v) + 4:.1f}" text-anchor="end" fill="{MUTED}">{v}</text>')
    parts.append(f'<text x="{left}" y="{height - 6}" fill="{MUTED}">{t0:.0f} s</text>')
    parts.append(f'<text x="{width - right}" y="{height - 6}" text-anchor="end" fill="{MUTED}">{t1:.0f} s</text>')
    parts.append("</svg>")
    return "".join(parts)


def rollout_html(s: Series) -> str:
    legend = (f'<span style="color:{OLD}">■</span> old · <span style="color:{NEW}">■</span> new · '
              f'— available · <span style="color:{WARNING}">- -</span> desired + maxSurge · '
              f'<span style="color:{MUTED}">- -</span> desired − maxUnavailable')
    return (f'<div class="labkit-view labkit-rollout" style="font:13px system-ui,sans-serif">'
            f'<div><b>{escape(s.name)}</b>: rolling update</div>{rollout_svg(s)}'
            f'<div style="font-size:11px;opacity:.75">{legend}</div></div>')


def _live_view_class():
    from .base import LiveView, esm

    class RolloutView(LiveView):
        """Old and new replicas of one workload over time, live, with the rollout bounds.

            RolloutView(cluster, "web")            # the last rollout
            RolloutView(cluster, "web", last=False)  # everything since deploy
        """

        _esm = esm("rollout.js")
        series = traitlets.Dict().tag(sync=True)

        def __init__(self, cluster, name: str, *, last: bool = True, **options) -> None:
            self.name = name
            self.last = last
            cluster.workload(name)  # NotFound with a hint, before anything is shown
            super().__init__(cluster, **options)

        def current(self) -> Series:
            return _timeline(self.cluster, self.name, self.last).thinned()

        def payload(self, state: ClusterState) -> None:
            columns = self.current().columns()
            columns["now"] = round(state.time, 3)
            self.series = columns
            from .payload import size
            self.last_payload_size = size(columns)

        def static_html(self) -> str:
            return rollout_html(self.current())

    return RolloutView


__getattr__ = lazy_class(globals(), "RolloutView", _live_view_class)
