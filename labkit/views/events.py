"""EventsView: a filterable event log, in the shape of `kubectl get events`.

Events only grow, so the view never resends the log: the frontend asks for
the newest `limit` rows when it appears ("hello"), then receives only the
new rows ("append"), at most once per sync interval.
"""
from __future__ import annotations

from html import escape

import traitlets

from ..model import ClusterState, Event
from . import lazy_class
from .palette import WARNING

STATIC_ROWS = 30


def event_row(e: Event) -> list:
    return [round(e.time, 3), e.type, e.reason, e.object, e.message, e.source]


def events_html(events: list[Event], rows: int = STATIC_ROWS, title: str = "events") -> str:
    """The newest `rows` events as a plain table (oldest first, as kubectl sorts them)."""
    shown = events[-rows:]
    head = "".join(f'<th style="text-align:left;padding:2px 10px 2px 0;opacity:.7">{h}</th>'
                   for h in ("TIME", "TYPE", "REASON", "OBJECT", "SOURCE", "MESSAGE"))
    body = []
    for e in shown:
        style = f' style="color:{WARNING}"' if e.type == "Warning" else ""
        cells = (f"{e.time:.1f}s", e.type, e.reason, e.object, e.source, e.message)
        body.append(f"<tr{style}>" + "".join(f'<td style="padding:1px 10px 1px 0;vertical-align:top">'
                                             f"{escape(str(c))}</td>" for c in cells) + "</tr>")
    more = f" (newest {len(shown)} of {len(events)})" if len(events) > len(shown) else ""
    return (f'<div class="labkit-view labkit-events" style="font:12px system-ui,sans-serif">'
            f'<div style="font-size:13px"><b>{escape(title)}</b>{more}</div>'
            f'<table style="border-collapse:collapse"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _live_view_class():
    from .base import HERE, LiveView

    class EventsView(LiveView):
        """Every event of the cluster, newest at the bottom, with filters.

            EventsView(cluster)                       # all
            EventsView(cluster, filter="Warning")     # start filtered (text, type or source)
        """

        _esm = HERE / "events.js"
        count = traitlets.Int(0).tag(sync=True)
        limit = traitlets.Int(500).tag(sync=True)
        filter = traitlets.Unicode("").tag(sync=True)

        def __init__(self, cluster, *, limit: int = 500, filter: str = "", **options) -> None:
            self._events: list[Event] = []
            self._seen_at_last: set[Event] = set()
            super().__init__(cluster, limit=limit, filter=filter, **options)

        def _fetch(self) -> list[Event]:
            """New events since the last fetch (events at the boundary time are deduplicated)."""
            since = self._events[-1].time if self._events else 0.0
            fresh = [e for e in self.cluster.events(since) if e not in self._seen_at_last]
            if fresh:
                self._events.extend(fresh)
                last = self._events[-1].time
                self._seen_at_last = {e for e in self._events[-len(fresh) - 50:] if e.time == last}
            return fresh

        def payload(self, state: ClusterState) -> None:
            fresh = self._fetch()
            self.count = len(self._events)
            if fresh:
                rows = [event_row(e) for e in fresh[-self.limit:]]
                self.send({"type": "append", "rows": rows})
                from .payload import size
                self.last_payload_size = size({"rows": rows})

        def handle(self, message: dict) -> None:
            if message["type"] == "hello":
                self.send({"type": "reset", "rows": [event_row(e) for e in self._events[-self.limit:]]})

        def static_html(self) -> str:
            return events_html(self.cluster.events())  # now, not the last sync: deterministic for nbval

    return EventsView


__getattr__ = lazy_class(globals(), "EventsView", _live_view_class)
