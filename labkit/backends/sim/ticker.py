"""The clock of a served simulator: cluster time follows the wall clock, `speed` times faster.

Both served APIs (the Kubernetes API, kube/serve.py; the Docker Engine API, engine/serve.py) run
one: a thread that steps the simulator every TICK wall seconds, under the server's lock, by the
wall time since the last step times `speed`. A step that fails (a controller's bug) is said once
on stderr and tried again at the next tick: one bad object cannot stop the clock for good.
"""
from __future__ import annotations

import sys
import threading
import time
from typing import Callable

TICK = 0.05  # wall seconds between steps of the clock


class Ticker:
    """`after()` runs under the lock after each step (the Kubernetes API re-dates its timestamps there)."""

    def __init__(self, sim, lock, speed: float, name: str, what: str, after: Callable[[], None] = lambda: None) -> None:
        self.sim, self.lock, self.speed, self.after, self.what = sim, lock, speed, after, what
        self._stop = threading.Event()
        self._failed = False
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> "Ticker":
        if self.speed > 0:
            self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout=2)

    def is_alive(self) -> bool:
        return self.thread.is_alive()

    def _run(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(TICK):
            now = time.monotonic()
            try:
                with self.lock:
                    self.sim.advance((now - last) * self.speed)
                    self.after()
            except Exception as error:  # a bug in a controller must not stop the clock for good
                self._report(error)
            last = now

    def _report(self, error: Exception) -> None:
        """Say once that the clock failed to move (every tick would flood the terminal)."""
        if not self._failed:
            self._failed = True
            print(f"labkit: {self.what}'s clock failed to move on ({type(error).__name__}: {error}); "
                  "it keeps trying, and says so only this once", file=sys.stderr, flush=True)
