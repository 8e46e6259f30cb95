"""A traffic record as a picture: requests a second by the version that answered, failures on top.

`traffic_figure` is the static view of `labkit.traffic.Traffic` (matplotlib, like
`rollout_plot`): a stacked bar per second of cluster time, one colour per version (in the
order versions first answered, from the views' colour-blind-safe palette), failed requests in
red on top (hatched by kind), and the running count of failed requests in the title.
`TrafficView` draws the same live, with the workload's rollout steps marked on the time axis;
`Buckets` counts a record's requests a second incrementally, for it.
"""
from __future__ import annotations

import base64
from html import escape

import traitlets

from ..model import ClusterState
from . import lazy_class
from .palette import IMAGE_COLOURS, WARNING
from .rollout import figure_and_axes, series

# How each failure is drawn: red, told apart by hatching as well as by shade.
FAILURES = {"refused": (WARNING, ""), "reset": ("#A33F00", "\\\\"), "timeout": (WARNING, "//"),
            "error": ("#6B2A00", "xx")}
MAX_SECONDS = 600  # what the live view sends at most: the last ten minutes


class Buckets:
    """A record's requests counted per second since its start, by what answered; it reads
    only the requests added since its last look (a live record grows while it is drawn)."""

    def __init__(self, record) -> None:
        self.record = record
        self.counts: dict[int, dict[str, int]] = {}
        self.versions: list[str] = []
        self._seen = 0

    def update(self) -> None:
        new = self.record.requests[self._seen:]  # (threads may append meanwhile: count what was read)
        self._seen += len(new)
        for r in new:
            said = r.said
            if r.outcome == "ok" and said not in self.versions:
                self.versions.append(said)
            bucket = self.counts.setdefault(int(r.time - self.record.start), {})
            bucket[said] = bucket.get(said, 0) + 1

    def layers(self) -> list[tuple[str, str, str]]:
        """(what answered, colour, hatch), bottom to top: the versions, then the failures."""
        out = [(v, IMAGE_COLOURS[k % len(IMAGE_COLOURS)], "") for k, v in enumerate(self.versions)]
        return out + [(kind, colour, hatch) for kind, (colour, hatch) in FAILURES.items()]

    def columns(self, limit: int = MAX_SECONDS) -> dict:
        """The wire form: the last `limit` seconds, one list of counts per layer drawn."""
        self.update()
        record = self.record
        last = max(self.counts, default=0)
        seconds = list(range(max(0, last - limit + 1), last + 1))
        layers = []
        for key, colour, _ in self.layers():
            counts = [self.counts.get(s, {}).get(key, 0) for s in seconds]
            if any(counts):
                layers.append([key, colour, counts])
        return {"name": record.service.name, "port": record.service.port, "t0": round(record.start, 3),
                "end": round(record.end, 3), "rate": record.rate, "seconds": seconds, "layers": layers,
                "sent": len(record.requests), "total": record.total, "failed": record.failed,
                "done": record.done, "note": "" if record.done or record.has_endpoints else "no endpoints"}


def traffic_figure(record, *, ax=None, title: str | None = None):
    """A matplotlib figure of `record` (see the module's docstring)."""
    fig, ax = figure_and_axes(ax, (7.5, 3.0))
    buckets = Buckets(record)
    buckets.update()
    seconds = sorted(buckets.counts.items())
    x = [record.start + s for s, _ in seconds]
    bottom = [0] * len(seconds)
    for key, colour, hatch in buckets.layers():
        heights = [answers.get(key, 0) for _, answers in seconds]
        if any(heights):
            ax.bar(x, heights, width=1.0, bottom=bottom, align="edge", color=colour, hatch=hatch,
                   edgecolor="white" if not hatch else "0.2", linewidth=0.3, label=key)
            bottom = [b + h for b, h in zip(bottom, heights)]
    ax.set_xlim(record.start, max(record.end, record.start + 1))
    ax.set_ylim(0, max(bottom + [record.rate]) * 1.2)
    ax.set_xlabel("cluster time (s)")
    ax.set_ylabel("requests a second")
    ax.set_title(title or f"{record.service.name}: {len(record.requests)} requests, "
                 f"failed requests: {record.failed}", fontsize=11, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    return fig


def traffic_html(record) -> str:
    """The static picture (exports, nbval, no widget library): the figure as an image."""
    fig = traffic_figure(record)
    png = base64.b64encode(fig._repr_png_()).decode()
    return (f'<div class="labkit-view labkit-traffic"><img alt="requests to {escape(record.service.name)} '
            f'a second" src="data:image/png;base64,{png}"></div>')


def rollout_marks(cluster, name: str) -> list[list]:
    """[cluster time, label] of each rollout step of workload `name` ("rev 2", "rollback")."""
    s = series(getattr(cluster, "timeline", []), name)
    return [[s.t[k], label] for k, label in s.changes()]


def _live_view_class():
    from .base import LiveView, esm

    class TrafficView(LiveView):
        """Requests a second to one service by the version that answered, failures in red, the
        rollout's steps marked, live (`record.view()`, or `TrafficView(cluster, record)`)."""

        _esm = esm("traffic.js")
        series = traitlets.Dict().tag(sync=True)

        def __init__(self, cluster, record, **options) -> None:
            self.record = record
            self.buckets = Buckets(record)
            options.setdefault("interval", 0.04)  # 25 syncs a second at most: its payload is small
            super().__init__(cluster, **options)
            if record.live:  # real requests fill it from a thread: look as often as we sync
                import threading
                threading.Thread(target=self._follow, daemon=True, name="labkit-TrafficView-follow").start()

        def _follow(self) -> None:
            seen = -1
            while not self._closed.wait(self.base_interval):
                if len(self.record.requests) != seen:
                    seen = len(self.record.requests)
                    self._changed(self._prev or self.cluster.state())
                if self.record.done and seen == len(self.record.requests):
                    return

        def payload(self, state: ClusterState) -> None:
            if self.sim and not self.record.done:
                self.moving = True  # its requests go out as the simulator's time passes
            columns = self.buckets.columns()
            columns["now"] = round(state.time, 3)
            columns["marks"] = rollout_marks(self.cluster, self.record.service.name)
            self.series = columns
            from .payload import size
            self.last_payload_size = size(columns)

        def static_html(self) -> str:
            return traffic_html(self.record)

    return TrafficView


__getattr__ = lazy_class(globals(), "TrafficView", _live_view_class)
