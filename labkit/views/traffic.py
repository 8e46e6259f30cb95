"""A traffic record as a picture: requests a second by the version that answered, failures on top.

The static view of `labkit.traffic.Traffic` (matplotlib, like `rollout_plot`): a stacked bar
per second of cluster time, one colour per version (in the order versions first answered,
from the views' colour-blind-safe palette), refused and timed-out requests in black and grey
hatched on top, and the running count of failed requests in the title.
"""
from __future__ import annotations

from .palette import IMAGE_COLOURS, MUTED
from .rollout import figure_and_axes

FAILURES = {"refused": ("0.1", ""), "timeout": (MUTED, "//")}


def traffic_figure(record, *, ax=None, title: str | None = None):
    """A matplotlib figure of `record` (see the module's docstring)."""
    fig, ax = figure_and_axes(ax, (7.5, 3.0))
    seconds = record.per_second()
    versions: list[str] = []
    for r in record.requests:
        if r.outcome == "ok" and r.answer not in versions:
            versions.append(r.answer)
    x = [record.start + s for s, _ in seconds]
    bottom = [0] * len(seconds)
    layers = [(v, IMAGE_COLOURS[k % len(IMAGE_COLOURS)], "") for k, v in enumerate(versions)]
    layers += [(kind, colour, hatch) for kind, (colour, hatch) in FAILURES.items()]
    for key, colour, hatch in layers:
        heights = [answers.get(key, 0) for _, answers in seconds]
        if any(heights):
            ax.bar(x, heights, width=1.0, bottom=bottom, align="edge", color=colour, hatch=hatch,
                   edgecolor="white" if not hatch else "0.3", linewidth=0.3, label=key)
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
