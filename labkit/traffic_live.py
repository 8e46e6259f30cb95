"""Real requests to a real engine's replicas, recorded as the simulator records its own.

A background thread sends `GET /` at a steady rate of wall-clock time, each on a new
connection (as many clients would), to one of the addresses the engine routes to at that
moment, picked at random, and records every answer in the same `traffic.Traffic` record:
the version that answered (the demo page's heading), the latency, or how it failed
(refused, reset, timeout, or a 5xx error). It stops by itself after `seconds`, and only
ever sends to addresses the backend found among the lab's own replicas.

Where the routing happens:

* Docker: no load balancer at all; each running container's published port is one address.
* Swarm: the routing mesh sends each connection to a task that is running (after its
  healthcheck passed, if it has one) and not shutting down. The playground cannot host the
  mesh itself (its kernel has no IPVS: dockerd says "Could not get ipvs family information
  from the kernel"), so its tasks publish in host mode and this client follows the same
  rule from the tasks Swarm reports: running, desired running. Swarm's own 2 s pause
  between taking a task out of the mesh and stopping it covers the client's refresh.
"""
from __future__ import annotations

import http.client
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from .traffic import Request, Service, Traffic

REFRESH = 0.2  # seconds between two looks at where the engine routes
TIMEOUT = 2.0  # seconds a request may take before it counts as timed out
MAX_IN_FLIGHT = 64
HEADING = re.compile(rb"<h1>(.*?)</h1>", re.S)

Targets = Callable[[], list[tuple[str, int, str]]]  # [(host, port, replica name)] routed to now


class LiveTraffic(Traffic):
    """A traffic record filled by real HTTP requests (see the module's docstring)."""

    live = True

    def __init__(self, service: Service, rate: float, seconds: float, targets: Targets,
                 clock: Callable[[], float], seed: int = 0) -> None:
        self._begin(service, rate, seconds, clock(), seed)
        self._find, self._clock = targets, clock
        self._targets: list[tuple[str, int, str]] = targets()
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"labkit-traffic-{service.name}", daemon=True)
        self._thread.start()

    @property
    def done(self) -> bool:
        return self._finished.is_set()

    def observe(self, now, state, switched_off) -> None:
        """Nothing to do: the thread sends in real time."""

    def stop(self) -> None:
        """Stop sending; the requests already sent are still recorded."""
        self._stop.set()
        self._thread.join(TIMEOUT + 1)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every request was sent and answered; True if so."""
        return self._finished.wait(timeout)

    def _run(self) -> None:
        """Send on schedule; a separate thread looks where to send, so a slow engine never delays
        a request. At most MAX_IN_FLIGHT wait for their answers: beyond that nothing is
        answering in time, and a request counts as timed out at once (no backlog builds up)."""
        pool = ThreadPoolExecutor(max_workers=MAX_IN_FLIGHT)
        slots = threading.BoundedSemaphore(MAX_IN_FLIGHT)
        threading.Thread(target=self._keep_looking, daemon=True, name=f"labkit-traffic-{self.service.name}-look").start()
        first = time.monotonic()
        try:
            for i in range(self.total):
                wait = first + i / self.rate - time.monotonic()
                if (wait > 0 and self._stop.wait(wait)) or self._stop.is_set():
                    break
                targets = self._targets
                target = targets[self._rng.randrange(len(targets))] if targets else None
                if not slots.acquire(blocking=False):
                    self.requests.append(Request(self._clock(), "timeout", replica=target[2] if target else ""))
                    continue
                pool.submit(self._send, self._clock(), target, slots)
        finally:
            stopped = self._stop.is_set()
            pool.shutdown(wait=not stopped, cancel_futures=stopped)  # stopped: what is queued is not sent
            self._finished.set()

    def _keep_looking(self) -> None:
        while not self._finished.wait(REFRESH):
            try:
                self._targets = self._find()
            except Exception:  # the engine did not answer this once (a manager moving): keep the last list
                pass

    def _send(self, when: float, target: tuple[str, int, str] | None, slots: threading.BoundedSemaphore) -> None:
        try:
            if target is None:
                self.requests.append(Request(when, "refused"))  # nothing to route to: nobody accepts
                return
            host, port, replica = target
            began = time.monotonic()
            try:
                outcome, answer = get(host, port)
            except Exception:  # whatever else broke the exchange: the client saw it fail
                outcome, answer = "reset", ""
            self.requests.append(Request(when, outcome, answer, replica, time.monotonic() - began))
        finally:
            slots.release()


def get(host: str, port: int, path: str = "/", timeout: float = TIMEOUT) -> tuple[str, str]:
    """One GET on a new connection: ("ok", the page's heading) or (how it failed, "")."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Connection": "close"})
        response = connection.getresponse()
        body = response.read()
        if response.status >= 500:
            return "error", ""
        found = HEADING.search(body)
        return "ok", (found.group(1) if found else body[:40]).decode(errors="replace").strip()
    except ConnectionRefusedError:
        return "refused", ""
    except (ConnectionResetError, BrokenPipeError, http.client.HTTPException):  # cut mid-answer, too
        return "reset", ""
    except (socket.timeout, TimeoutError):
        return "timeout", ""
    except OSError:  # no route to the host: its machine is off
        return "timeout", ""
    finally:
        connection.close()
