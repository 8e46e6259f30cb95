"""What every live view shares: following a cluster, batching syncs, ticking the simulator.

A view subscribes to `cluster.on_change`. Every change (a facade call, a step
of simulated time, a poll of a real engine) only marks the view dirty; the
state is encoded and sent at most once per `interval` seconds (trailing edge
guaranteed by a timer), so a `cluster.wait()` that takes 500 steps sends a
handful of messages, not 500. In a kernel the trailing flush runs on the
kernel's own event loop (main thread), never beside a cell that is moving
the simulator.

On the simulator the clock follows one rule (labkit.timekeeping): in `wall` mode, the
one a person gets in Jupyter, it catches up with the wall clock before every cell's call
and every tick of a view. While a view is on screen and the cluster is still moving, its
frontend sends a "tick" about every 100 ms and the view answers with that same
`cluster.catch_up()`, times its `speed` (1x by default; the pause button holds the
cluster's time, cells included): the view and the cells agree on when time moves. In
`still` mode (nbval, `labkit grade`, tests) and while the cluster's time is held, the
view does not tick, so outputs stay deterministic. On real engines (`cluster.live`) a
background thread follows the engine instead: through its watch where the backend has
one (backends.base.Watches: the view redraws the moment the cluster moves, and looks
every WATCH_FALLBACK seconds for what the watch does not cover), else by polling
`cluster.state()`.
"""
from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any, Callable

import anywidget
import traitlets

from ..backends.base import Watches
from ..errors import InvalidInput, LabkitError
from ..model import ClusterState

HERE = Path(__file__).parent
CSS = HERE / "views.css"

WATCH_FALLBACK = 5.0  # wall seconds between two looks while an engine's watch reports nothing


def esm(name: str) -> str:
    """The view's ES module `name` with live.js (what the chart views share: their frame,
    redraws, the simulator's clock) in front: anywidget takes one module, and there is no
    build step to bundle them."""
    return (HERE / "live.js").read_text() + "\n" + (HERE / name).read_text()


def is_settled(state: ClusterState) -> bool:
    """Nothing left to happen by itself: converged, nothing pending or terminating."""
    return state.converged and not any(r.phase in ("pending", "terminating") for r in state.replicas)


class LiveView(anywidget.AnyWidget):
    """Base of the live views. Subclasses set `_esm` and implement `payload(state)`."""

    _css = CSS
    moving = traitlets.Bool(False).tag(sync=True)  # the frontend should tick
    settled = traitlets.Bool(True).tag(sync=True)  # ... but slowly: only lingering after a change
    speed = traitlets.Float(1.0).tag(sync=True)
    sim = traitlets.Bool(True).tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)

    def __init__(self, cluster, *, interval: float = 0.05, speed: float = 1.0, linger: float = 360.0,
                 poll: float = 0.5, **traits) -> None:
        """`interval`: least wall time between two syncs. `speed`: simulated seconds per
        wall second while ticking (0: the cluster's time is held, cells included, while this
        view says so). `linger`: simulated seconds to keep ticking after the last change (node
        failures take a while to notice). `poll`: seconds between two polls of a real engine."""
        super().__init__(**traits)
        self.cluster = cluster
        self.interval = self.base_interval = interval
        self.linger = linger
        self.sim = not cluster.live
        self._holding = False  # this view holds the cluster's time (its speed is 0)
        self.speed = speed
        self.sent = 0  # syncs sent, for tests and benchmarks
        self.looks = 0  # snapshots taken of a real engine
        self.last_payload_size = 0
        self._lock = threading.RLock()
        self._pending: ClusterState | None = None
        self._last_sent = 0.0
        self._timer: threading.Timer | None = None
        self._ticking = False
        self._prev: ClusterState | None = None
        self._action_time = float("-inf")
        self._closed = threading.Event()
        self._problem = ""  # what the backend says is wrong (a swarm without a quorum), shown as the message
        try:  # in a kernel: flush on its event loop (main thread), where the cell code runs
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        state = cluster.state()
        self._prev = state
        if not is_settled(state):
            self._action_time = state.time
        self._unsubscribe: Callable[[], None] = cluster.on_change(self._changed)
        self.on_msg(self._on_message)
        self._flush(state)
        self._poller = None
        if cluster.live:
            self._poller = threading.Thread(target=self._poll, args=(poll,), daemon=True,
                                            name=f"labkit-{type(self).__name__}-poll")
            self._poller.start()

    # -- what subclasses provide ----------------------------------------------------------
    def payload(self, state: ClusterState) -> None:
        """Set the synced traits from `state` (called inside `hold_sync`)."""
        raise NotImplementedError

    def static_html(self) -> str:
        """The picture shown where no widget can run."""
        raise NotImplementedError

    def handle(self, message: dict) -> None:
        """A control message from the frontend (other than "tick" and "speed")."""

    # -- following the cluster -------------------------------------------------------------
    def _changed(self, state: ClusterState) -> None:
        prev = self._prev
        if prev is not None and state.time == prev.time and state.version != prev.version and not self._ticking:
            self._action_time = state.time  # a change made through the facade, not time passing
        self._prev = state
        with self._lock:
            self._pending = state
            wait = self._last_sent + self.interval - time.monotonic()
            if wait <= 0 and not self._ticking:
                self._flush_pending()
            elif self._timer is None:
                self._timer = threading.Timer(max(wait, 0.0), self._flush_later)
                self._timer.daemon = True
                self._timer.start()

    def _flush_later(self) -> None:
        """The timer fired: flush on the kernel's loop when there is one, else right here."""
        loop = self._loop
        if loop is not None and loop.is_running() and threading.current_thread() is not threading.main_thread():
            loop.call_soon_threadsafe(self._flush_pending)
        else:
            self._flush_pending()

    def _flush_pending(self) -> None:
        with self._lock:
            self._timer = None
            state, self._pending = self._pending, None
            if state is not None and not self._closed.is_set():
                self._flush(state)

    def _flush(self, state: ClusterState) -> None:
        started = time.monotonic()
        with self._lock, self.hold_sync():
            self.settled = is_settled(state)
            self.moving = self.sim and self.cluster.follows_wall_clock and (
                not self.settled or state.time - self._action_time < self.linger)
            self.payload(state)
            problem = state.problem
            if problem != self._problem:
                self.message = self._problem = problem
        self.sent += 1
        self._last_sent = time.monotonic()
        # A big cluster takes long to encode: leave the kernel time for anything else.
        self.interval = max(self.base_interval, min(2.0, 3 * (self._last_sent - started)))

    def refresh(self) -> None:
        """Send the current state now."""
        self._flush(self.cluster.state())

    def _poll(self, every: float) -> None:
        """Follow a real engine: wait for its watch to report a change (or WATCH_FALLBACK), or
        for `every` seconds without one; then, after `every` seconds more to gather a burst of
        changes into one look, take a snapshot."""
        backend = self.cluster.backend
        watch = backend.wait_for_change if isinstance(backend, Watches) else None
        while not self._closed.is_set():
            try:
                if watch is not None:
                    watch(WATCH_FALLBACK)
                if self._closed.wait(every):
                    return
                self._changed(self.cluster.state())
                self.looks += 1
            except Exception as error:  # the engine went away: say so, keep trying
                self.message = f"cannot reach the cluster: {error}"
                if self._closed.wait(every):
                    return

    # -- messages from the frontend --------------------------------------------------------
    def _on_message(self, _widget, content: Any, _buffers) -> None:
        if not isinstance(content, dict) or "type" not in content:
            return  # e.g. anywidget's own commands
        kind = content["type"]
        try:
            if kind == "tick":
                if not self.tick():
                    self.send({"type": "tock"})  # nothing to do: answer anyway, the frontend counts replies
            elif kind == "speed":
                value = content.get("value", 1.0)
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1000:
                    raise InvalidInput(f"a view's speed is a number from 0 to 1000, not {value!r}",
                                       "use the speed control, or view.speed = 10")
                self.speed = float(value)
                self.refresh()
            else:
                self.handle(content)
                self.message = ""
        except LabkitError as error:
            self.message = error.message + (f" ({error.hint})" if error.hint else "")

    @traitlets.observe("speed")
    def _speed_changed(self, change) -> None:
        """Speed 0 (the pause button) holds the cluster's time, for the cells too: the view and the
        text agree on when time moves. Any other speed ends this view's hold."""
        if not self.sim:
            return
        if change["new"] <= 0 and not self._holding:
            self._holding = True
            self.cluster.hold_time()
        elif change["new"] > 0 and self._holding:
            self._holding = False
            self.cluster.release_time()

    def tick(self) -> bool:
        """The same catch-up with the wall clock as before every cell's call (labkit.timekeeping),
        times `speed`; False when there was nothing to do (not moving, a still or held clock, or
        another view of this cluster ticked just now)."""
        if not self.sim or not self.moving or self.speed <= 0:
            return False
        self._ticking = True
        try:
            moved = self.cluster.catch_up(speed=self.speed, tick=True)
        finally:
            self._ticking = False
        if not moved:
            return False
        with self._lock:
            if self._pending is not None:
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
                state, self._pending = self._pending, None
                self._flush(state)
        return True

    # -- display and lifetime --------------------------------------------------------------
    def __repr__(self) -> str:
        """Deterministic (no address): nbval compares text/plain."""
        return f"<{type(self).__name__} of {self.cluster!r}>"

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle
        data["text/html"] = self.static_html()
        return data, metadata

    def close(self) -> None:
        self._closed.set()
        self._unsubscribe()
        if self._holding:  # a closed view's pause holds nothing any more
            self._holding = False
            self.cluster.release_time()
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        super().close()
