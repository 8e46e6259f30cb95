"""Virtual time and seeded randomness: the simulator's only sources of change.

Components never sleep; they ask the clock to call them back later. Running
the clock to a time processes every callback due by then, in time order and,
for equal times, in the order they were asked for, so a seed fixes the
whole history.
"""
from __future__ import annotations

import heapq
import random
from typing import Callable


class Clock:
    def __init__(self, seed: int = 0) -> None:
        self.now = 0.0
        self.rng = random.Random(seed)
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = 0
        # Told of a callback that raised (the simulator records it as an event); time goes on.
        self.on_failure: Callable[[Exception], None] | None = None
        self.failures: list[tuple[float, str]] = []  # (when, what): a simulator fault; the tests expect none

    def call_at(self, when: float, callback: Callable[[], None]) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (max(when, self.now), self._seq, callback))

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        self.call_at(self.now + delay, callback)

    def jitter(self, low: float, high: float) -> float:
        """A seeded random duration, e.g. how long one image pull takes."""
        return self.rng.uniform(low, high)

    def run_until(self, when: float, observe: Callable[[], None] | None = None) -> None:
        """Run every callback due by `when`; `observe()` after the last one of each instant."""
        queue = self._queue
        while queue and queue[0][0] <= when:
            self.now, _, callback = heapq.heappop(queue)
            try:
                callback()
            except Exception as error:  # one component's fault on one object must not stop the cluster's time
                self.failed(error)
            if observe is not None and not (queue and queue[0][0] == self.now):
                observe()
        self.now = max(self.now, when)

    def failed(self, error: Exception) -> None:
        """Keep and tell of a fault in a callback (see on_failure)."""
        self.failures = self.failures[-49:] + [(self.now, f"{type(error).__name__}: {error}")]
        if self.on_failure is not None:
            self.on_failure(error)

    @property
    def idle(self) -> bool:
        return not self._queue
