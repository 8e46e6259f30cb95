"""Requests to an exposed workload, and every answer: what zero downtime means to a client.

    web = cluster.deploy("shop", image="web-server:1", replicas=4)
    cluster.expose("shop", port=8080)
    traffic = cluster.traffic("shop", rate=50, seconds=60)   # 50 requests a second, for 60 s
    web.update("web-server:2")
    cluster.wait()
    traffic                      # 3000 requests, 0 failed: hello v1 ..., hello v2 ...

On the simulator the requests are the model's, in cluster time (no wall clock: a minute
of traffic costs what the minute of simulation costs). Each request goes to one of the
service's endpoints at that moment, picked at random as kube-proxy's iptables rules and
Swarm's routing mesh spread connections:

* Kubernetes: the pods the Service's selector picks that are Running and Ready and not
  terminating (the endpoint-slice controller's `ready` condition). A canary whose pods
  carry the stable workload's `app` label gets its share through the same Service. A pod
  deleted while ready keeps its share for a moment (`serving_until`: the endpoint's removal
  reaching every kube-proxy, sim/controllers.ENDPOINT_LAG) while its container has already
  had its SIGTERM: the demo server stops listening at once, so those requests are refused,
  unless a preStop hook (`deploy(pre_stop=5)`) keeps it serving until the proxies forgot it.
* Swarm: the running tasks of the service that publishes the port.

A request fails when the service has no endpoint (refused: kube-proxy rejects it, and
the mesh has no task to forward to), and when its endpoint sits on a machine that was
switched off but not yet noticed by the control plane (timeout: nothing answers until
the node is marked NotReady, or Down, and the endpoint removed). Answers take no time on
the simulator. Above 200
replicas the cluster records no instant by instant (labkit.cluster.BIG_TIMELINE): the
endpoints are then looked at once a second of cluster time.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from . import catalog
from .errors import InvalidInput
from .model import ClusterState, Replica, Service

MAX_RATE = 500  # requests a second: a class's laptop, not a load test
MAX_SECONDS = 3600.0
MAX_REQUESTS = 200_000
OUTCOMES = ("ok", "refused", "reset", "error", "timeout")  # error: the server answered 5xx


@dataclass(frozen=True)
class Request:
    time: float  # cluster time it was sent
    outcome: str  # one of OUTCOMES
    answer: str = ""  # what the page said ("hello v1"): the version that answered
    replica: str = ""  # who answered (or, timed out, who did not)
    latency: float = 0.0  # seconds until the answer (real engines; the simulator's answers take none)
    stopping: bool = False  # it went to a replica already told to stop (the simulator knows)

    @property
    def said(self) -> str:
        """The version that answered, or how it failed: what answers() and plots count."""
        return self.answer if self.outcome == "ok" else self.outcome


def endpoints(state: ClusterState, service: Service) -> list[Replica]:
    """The replicas `service` sends requests to at this moment (see the module's docstring)."""
    if service.selector is None:
        names = {service.name}
    elif not service.selector:  # a Service without a selector has the endpoints somebody writes: none here
        return []
    else:  # the workloads' labels are their pods' labels (their pod template's)
        wanted = set(service.selector)
        names = {w.name for w in state.workloads if wanted <= set(w.labels)}
    up = {n.name for n in state.nodes if n.ready}
    return [r for r in state.replicas if r.workload in names and r.node in up and (
        (r.phase == "running" and r.ready) or (r.serving_until is not None and r.serving_until > state.time))]


def _next_drop(targets: list[Replica]) -> float | None:
    """The first moment one of these terminating endpoints leaves the proxies' rules (no look at the
    cluster may come then, so the requests between two looks drop it themselves)."""
    return min((t.serving_until for t in targets if t.serving_until is not None and t.phase != "running"),
               default=None)


class Traffic:
    """Requests sent at a steady rate to one service, and every answer (see the module)."""

    live = False  # True: real requests, recorded by a thread as they are answered (traffic_live.LiveTraffic)

    def __init__(self, service: Service, rate: float, seconds: float, state: ClusterState,
                 switched_off: frozenset[str] = frozenset(), seed: int = 0) -> None:
        self._begin(service, rate, seconds, state.time, seed)
        self._next = self.start
        self._aim(state, switched_off)

    def _begin(self, service: Service, rate: float, seconds: float, start: float, seed: int) -> None:
        """What every record holds, simulated or live: the plan, from cluster time `start`."""
        self.service, self.rate, self.seconds = service, rate, seconds
        self.start, self.end = start, start + seconds
        self.total = round(rate * seconds)  # the requests it will send
        self.requests: list[Request] = []
        self.cluster = None  # the facade that sends them (Cluster.traffic sets it), for views
        self._rng = random.Random(seed)

    def _aim(self, state: ClusterState, switched_off: frozenset[str]) -> None:
        self._targets = endpoints(state, self.service)
        self._switched_off = switched_off
        self._drops = _next_drop(self._targets)

    @property
    def done(self) -> bool:
        return len(self.requests) >= self.total

    def observe(self, now: float, state: ClusterState, switched_off: frozenset[str]) -> None:
        """Send the requests due up to `now` to the endpoints of the last observed moment, then
        take the endpoints of this one (`switched_off`: machines down that the cluster may not
        have noticed yet)."""
        step = 1.0 / self.rate
        while self._next <= now + 1e-9 and not self.done:
            self.requests.append(self._send(self._next))
            self._next = self.start + len(self.requests) * step
        self._aim(state, switched_off)

    def _send(self, when: float) -> Request:
        if self.service.via in self._switched_off:  # the client's node is off: nothing answers its port
            return Request(when, "timeout", replica=self.service.via)
        if self._drops is not None and when >= self._drops:  # the proxies have dropped a terminating pod by now
            self._targets = [t for t in self._targets if t.phase == "running" or (t.serving_until or 0) > when]
            self._drops = _next_drop(self._targets)
        if not self._targets:
            return Request(when, "refused")
        target = self._targets[self._rng.randrange(len(self._targets))]
        if target.node in self._switched_off:
            return Request(when, "timeout", replica=target.name)
        if not target.listening:  # counted ready without a probe and still loading, or stopped already: refused
            return Request(when, "refused", replica=target.name, stopping=target.phase != "running")
        image = catalog.lookup(target.image)
        return Request(when, "ok", image.page if image else target.image, target.name)

    @property
    def has_endpoints(self) -> bool:
        """Whether the service had somewhere to send requests at the last look."""
        return bool(self._targets)

    def view(self):
        """A live picture of these requests (labkit.views.traffic.TrafficView), in a notebook."""
        from .views.traffic import TrafficView
        if self.cluster is None:
            raise InvalidInput("this record was not made by a cluster", "use cluster.traffic(name).view()")
        return TrafficView(self.cluster, self)

    def stop(self) -> None:
        """Send nothing more; what was sent stays recorded."""
        self.total = len(self.requests)

    # -- reading it ------------------------------------------------------------------------
    @property
    def failed(self) -> int:
        return sum(1 for r in self.requests if r.outcome != "ok")

    def answers(self) -> dict[str, int]:
        """How many requests each version answered, and how many failed of each kind."""
        counts: dict[str, int] = {}
        for r in self.requests:
            counts[r.said] = counts.get(r.said, 0) + 1
        return dict(sorted(counts.items()))

    def per_second(self) -> list[tuple[int, dict[str, int]]]:
        """(second since the start, answers in that second), for plots."""
        seconds: dict[int, dict[str, int]] = {}
        for r in self.requests:
            bucket = seconds.setdefault(int(r.time - self.start), {})
            bucket[r.said] = bucket.get(r.said, 0) + 1
        return sorted(seconds.items())

    def plot(self, **options):
        """A matplotlib figure: requests a second by the version that answered, failures on top."""
        from .views.traffic import traffic_figure
        return traffic_figure(self, **options)

    def __repr__(self) -> str:
        sent = len(self.requests)
        shares = ", ".join(f"{k} {100 * n / sent:.1f} %" for k, n in self.answers().items()) if sent else "none yet"
        left = "" if self.done else f" (still sending, until t={self.end:g})"
        if not self.done and not self.has_endpoints:
            left += "; no endpoints"
        via = f" via {self.service.via}" if self.service.via else ""
        return (f"<Traffic to {self.service.name}:{self.service.port}{via}: {sent} requests at {self.rate:g}/s, "
                f"{self.failed} failed{left}; {shares}>")


def check_rate(rate: object, seconds: object) -> tuple[float, float]:
    """The rate and duration asked for, or InvalidInput saying what is allowed."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= MAX_RATE:
        raise InvalidInput(f"rate must be a number of requests a second above 0 and at most {MAX_RATE}, "
                           f"not {rate!r}", "e.g. cluster.traffic('web', rate=50)")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds <= MAX_SECONDS:
        raise InvalidInput(f"seconds must be above 0 and at most {MAX_SECONDS:g}, not {seconds!r}",
                           "traffic stops by itself after that much cluster time, e.g. seconds=120")
    if rate * seconds > MAX_REQUESTS:
        raise InvalidInput(f"{rate:g} requests a second for {seconds:g} s are {rate * seconds:,.0f} requests; "
                           f"one record holds at most {MAX_REQUESTS:,}", "send fewer a second, or for less time")
    return float(rate), float(seconds)
