"""How fast the simulator runs the course's big numbers (wall-clock; prints, asserts nothing).

    python bench/sim_scale.py

Targets from issue 2: 2000 replicas on 100 nodes to convergence < 50 ms; the
course's run --replicas=1000, scale --replicas=2000, full rolling update < 0.5 s;
5000 nodes / 150,000 pods < 10 s.
"""
from __future__ import annotations

import time

import labkit as lk


def timed(label: str, target: float, work) -> None:
    start = time.perf_counter()
    virtual = work()
    took = time.perf_counter() - start
    print(f"{label:58} {took * 1000:9.1f} ms   (target < {target * 1000:.0f} ms, {took / target:4.2f}x of target; "
          f"{virtual:.0f} s of cluster time)")


def two_thousand() -> float:
    cluster = lk.connect(nodes=100)
    cluster.deploy("web", "web-server:1", replicas=2000)
    return cluster.wait().time


def course() -> float:
    cluster = lk.connect(nodes=20)
    web = cluster.deploy("my-web-server", "web-server:1", replicas=1000)
    cluster.wait()
    web.scale(2000)
    cluster.wait()
    web.update("web-server:2")
    return cluster.wait().time


def under_traffic(replicas: int) -> float:
    """A rolling update while 50 requests a second reach the workload, for two minutes of cluster time."""
    cluster = lk.connect(nodes=20)
    web = cluster.deploy("shop", "web-server:1", replicas=replicas)
    cluster.wait()
    cluster.expose("shop")
    sent = cluster.traffic("shop", rate=50, seconds=120)
    web.update("web-server:2")
    cluster.run(120)
    assert len(sent.requests) == 6000
    return cluster.now()


def huge() -> float:
    cluster = lk.connect(nodes=5000)
    cluster.deploy("web", "web-server:1", replicas=150_000)
    return cluster.wait(timeout=5000).time


if __name__ == "__main__":
    import labkit.backends.sim  # noqa: F401  (import cost is not what we measure)
    timed("2000 replicas on 100 nodes, to convergence", 0.05, two_thousand)
    timed("--replicas=1000, scale 2000, rolling update (20 nodes)", 0.5, course)
    timed("rolling update of 20 under 50 requests/s for 120 s", 0.5, lambda: under_traffic(20))
    timed("rolling update of 2000 under 50 requests/s for 120 s", 5.0, lambda: under_traffic(2000))
    timed("150,000 pods on 5000 nodes, to convergence", 10.0, huge)
