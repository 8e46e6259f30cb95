"""Time as a person sees it: when a simulated cluster's clock moves by itself. The one rule.

On the simulator, time is virtual: `cluster.run(300)` passes five minutes in a moment. Left at
that, a cluster would stand still between the cells of a notebook however long the student waits
(`%kubectl run` then, a minute later, `%kubectl get pods`: still ContainerCreating). So:

    With the clock in `wall` mode, before each facade call that reads or acts on a simulated
    cluster (cluster.state(), .now(), .events(), every verb through them), before each console
    command on it (%kubectl, %docker, %minikube, labkit.console) and before each tick of a live
    view, the cluster's clock first catches up with the wall clock: it moves on by the wall time
    since it was last brought up to date (at 1x; a live view's speed control multiplies it
    while the view ticks), at most CAP cluster seconds at once, so a laptop that slept an hour
    does not replay the hour. Anything that moves the clock itself (run, wait, a kubectl that
    waits) brings it up to date: the wall time it took is not counted again.

    In `still` mode the clock moves only when a cell moves it (run, wait, a waiting command),
    so outputs repeat exactly: what nbval compares, what `labkit grade` and the stored outputs
    of the student edition need.

The switch is $LABKIT_CLOCK=still|wall, read at every catch-up. Unset, it is `wall` in an IPython
shell (a Jupyter kernel, the IPython terminal: a person typing) and `still` anywhere else (a
script, a test). A notebook run by a machine also runs in a real kernel, so whatever runs one sets
`still` itself: the Makefile and tests/conftest.py (nbval, nbconvert, the kernel tests) and
labkit.lessons.grading (`labkit grade`'s kernels).

A lesson that shows an instant ("node-2 is NotReady, its pods not yet evicted") holds the clock
while the student reads it: `cluster.hold_time()` ... `cluster.release_time()`, or
`with cluster.held():`. Explicit moves (run, wait) still move a held clock; only the catch-ups
stop, and the wall time spent held is not replayed on release.

A cluster served to a terminal (`labkit serve`, backends/sim/ticker.py) follows the wall clock
on a thread of its own instead: nobody there runs cells.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from typing import Callable

ENV = "LABKIT_CLOCK"
STILL, WALL = "still", "wall"
MODES = (STILL, WALL)
CAP = 600.0  # cluster seconds one catch-up may make up for: ten minutes, past lesson 06's 5-minute eviction
MIN_STEP = 0.05  # wall seconds: less is left to add up (the calls of one cell do not nudge the clock)

_warned: set[str] = set()


def interactive() -> bool:
    """True in an IPython shell: a Jupyter kernel or the IPython terminal, where a person runs cells.
    (A kernel that nbval, nbconvert or `labkit grade` drives is one too: they set $LABKIT_CLOCK.)"""
    if "IPython" not in sys.modules:  # never import IPython just to ask
        return False
    from IPython import get_ipython
    return get_ipython() is not None


def mode() -> str:
    """`still` or `wall`: $LABKIT_CLOCK, else `wall` in an IPython shell and `still` elsewhere."""
    chosen = os.environ.get(ENV, "").strip().lower()
    if chosen in MODES:
        return chosen
    default = WALL if interactive() else STILL
    if chosen and chosen not in _warned:  # said once: a catch-up runs before every call
        _warned.add(chosen)
        print(f"labkit: {ENV}={chosen!r} is neither 'still' nor 'wall'; the clock follows the default "
              f"({default}). Set {ENV}=still (time moves only when a cell moves it) or {ENV}=wall.",
              file=sys.stderr)
    return default


class Timekeeper:
    """When one simulated cluster's clock should catch up, and by how much (see the module's rule).

    It moves nothing itself: `due()` says how many cluster seconds to pass now, and counts them as
    passed; the caller (Cluster.catch_up) passes them. `wall` is the wall clock to follow
    (injectable: tests use a fake one); `mode` fixes the mode instead of reading $LABKIT_CLOCK.

        keeper = Timekeeper(wall=fake, mode="wall")
        fake.now += 5
        keeper.due()      # 5.0
        keeper.due()      # 0.0: already caught up
    """

    def __init__(self, *, wall: Callable[[], float] | None = None, mode: str | None = None,
                 cap: float = CAP) -> None:
        if mode is not None and mode not in MODES:
            raise ValueError(f"a clock's mode is 'still' or 'wall', not {mode!r}")
        self.wall = wall or time.monotonic
        self.fixed_mode = mode
        self.cap = cap
        self.holds = 0  # hold_time() calls not yet released
        self._last = self.wall()  # wall time the cluster's clock was last brought up to date
        self._lock = threading.Lock()

    @property
    def mode(self) -> str:
        return self.fixed_mode or mode()

    @property
    def follows_wall(self) -> bool:
        """Whether catch-ups move the clock now: `wall` mode and no hold."""
        return not self.holds and self.mode == WALL

    def due(self, speed: float = 1.0) -> float:
        """Cluster seconds to pass now for the clock to have caught up with the wall clock (`speed`
        times the wall time since it was last up to date, at most `cap`), counted as passed from
        here. 0 in `still` mode, while held, and below MIN_STEP wall seconds (left to add up)."""
        with self._lock:
            now = self.wall()
            elapsed = now - self._last
            if not self.follows_wall or speed <= 0:
                self._last = now  # nothing to replay once the clock may move again
                return 0.0
            if elapsed < MIN_STEP:
                return 0.0
            self._last = now
            return round(min(elapsed * speed, self.cap), 3)

    def synced(self) -> None:
        """The clock was just moved up to now some other way (run, wait, a waiting command):
        count the next catch-up from here."""
        with self._lock:
            self._last = self.wall()

    def hold(self) -> None:
        with self._lock:
            self.holds += 1

    def release(self) -> None:
        """End one hold; the wall time spent held is not replayed. Releasing more than was held
        does nothing."""
        with self._lock:
            self.holds = max(self.holds - 1, 0)
            self._last = self.wall()
