"""Real requests against the real Docker engine: what rate the generator holds, and at what cost.

    python bench/traffic_live.py [rate] [seconds]      (defaults: 200 requests a second, 15 s)

Three replicas of web-server:1 with published ports; labkit.traffic_live sends `rate` GETs a second
from a background thread while the main thread (the notebook's kernel) ticks every 10 ms. Prints
the rate achieved, latencies, failures, the CPU the engine's processes (dockerd, containerd,
docker-proxy, the containers' shims) and this process used, how often the live traffic view synced
and its largest payload, and how late the main thread's ticks were, idle and under traffic. It
asserts nothing.
"""
from __future__ import annotations

import os
import statistics
import sys
import threading
import time

import labkit

ENGINE = ("dockerd", "containerd", "containerd-shim", "containerd-shim-runc-v2", "docker-proxy")
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_by_process(names: tuple[str, ...]) -> dict[str, float]:
    """{pid: user + system CPU seconds so far} of every process whose name is in `names`."""
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)
            name = fields[0].split("(", 1)[1]
            if name in names or any(name.startswith(n[:15]) for n in names):
                rest = fields[1].split()
                out[pid] = (int(rest[11]) + int(rest[12])) / TICKS
        except (OSError, IndexError, ValueError):
            continue
    return out


def cpu_used(before: dict[str, float], after: dict[str, float]) -> float:
    """CPU seconds used between two readings by the processes alive at both (this machine may
    hold other engines, a playground's nodes, that come and go)."""
    return sum(after[pid] - before[pid] for pid in before.keys() & after.keys())


def own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def late_ticks(seconds: float, period: float = 0.01) -> list[float]:
    """How late each 10 ms tick of this thread came, in ms, over `seconds`."""
    late = []
    end = time.monotonic() + seconds
    due = time.monotonic() + period
    while time.monotonic() < end:
        time.sleep(max(0.0, due - time.monotonic()))
        late.append((time.monotonic() - due) * 1000)
        due += period
    return late


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def main() -> None:
    rate = float(sys.argv[1]) if len(sys.argv) > 1 else 200.0
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 15.0
    cluster = labkit.connect("docker", lab="bench-traffic")
    try:
        cluster.deploy("web", image="web-server:1", replicas=3, ports=["80"])
        cluster.wait(timeout=60)
        time.sleep(3)  # they listen
        engine0, own0 = cpu_by_process(ENGINE), own_cpu()
        idle = late_ticks(5.0)
        engine_idle = cpu_used(engine0, cpu_by_process(ENGINE)) / 5.0
        own_idle = (own_cpu() - own0) / 5.0

        engine0, own0, start = cpu_by_process(ENGINE), own_cpu(), time.monotonic()
        record = cluster.traffic("web", rate=rate, seconds=seconds)
        view = record.view()  # the live traffic view, following it (no browser: the kernel's side)
        sizes: list[int] = []
        watch = threading.Thread(target=lambda: [sizes.append(view.last_payload_size) or time.sleep(0.05)
                                                 for _ in range(int(seconds / 0.05))], daemon=True)
        watch.start()
        busy = late_ticks(seconds)
        record.join(30)
        took = time.monotonic() - start
        syncs = view.sent
        view.close()
        engine_busy = cpu_used(engine0, cpu_by_process(ENGINE)) / took
        own_busy = (own_cpu() - own0) / took

        sent = record.requests
        latency = [r.latency * 1000 for r in sent if r.outcome == "ok"]
        span = max(r.time for r in sent) - min(r.time for r in sent)
        print(f"asked {rate:g} requests/s for {seconds:g} s: sent {len(sent)}, achieved "
              f"{(len(sent) - 1) / span:.1f}/s over the sending, {record.failed} failed; {record!r}")
        print(f"latency ms: median {statistics.median(latency):.1f}, p95 {percentile(latency, 95):.1f}, "
              f"max {max(latency):.1f}")
        print(f"engine processes' CPU: idle {engine_idle:.3f} s/s, under traffic {engine_busy:.3f} s/s "
              f"(+{engine_busy - engine_idle:.3f}, of 2 cores)")
        print(f"this process's CPU (the generator): idle {own_idle:.3f} s/s, under traffic {own_busy:.3f} s/s")
        print(f"traffic view: {syncs / seconds:.1f} syncs a second, largest payload {max(sizes) / 1024:.1f} KB "
              f"(budget: at least 20 a second, at most 64 KB)")
        print(f"main thread's 10 ms ticks late by ms: idle median {statistics.median(idle):.2f} p99 "
              f"{percentile(idle, 99):.2f}; under traffic median {statistics.median(busy):.2f} "
              f"p99 {percentile(busy, 99):.2f} max {max(busy):.1f}")
    finally:
        cluster.reset()
        cluster.close()


if __name__ == "__main__":
    main()
