"""What labkit costs on top of the docker SDK, on a real engine and a real swarm.

The same operations, in one run, through labkit's facade and through the raw
docker SDK, each timed until the engine has converged:

    docker  (one engine):      run 10 containers, scale to 20 (run 10 more)
    swarm   (the playground):  deploy 10 replicas, scale to 20, rolling update to web-server:2

Prints absolute times and the ratio labkit / raw (target: <= 1.1). With
`--repeat N` the two sides alternate N times and the medians are compared
(the machine's load moves the absolute times a lot; alternating keeps it fair).

    python bench/docker_overhead.py [--only docker|swarm] [--parallelism 5] [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import labkit  # noqa: E402
from labkit.backends.docker import common as du  # noqa: E402
from labkit.backends.base import LABEL  # noqa: E402

LAB = f"bench-{os.getpid()}"


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def poll(check, timeout: float = 300, step: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("did not converge")
        time.sleep(step)


# -- docker: containers on one engine ----------------------------------------------------
def docker_raw(client) -> dict[str, float]:
    labels = {LABEL: LAB, du.KIND: "bench"}

    def run(first: int, last: int) -> None:
        for i in range(first, last + 1):
            client.containers.run("web-server:1", name=f"raw.{i}", detach=True, labels=labels)
        poll(lambda: len(client.containers.list(filters={"label": f"{LABEL}={LAB}", "status": "running"})) == last)
    out = {"run 10": timed(lambda: run(1, 10)), "scale to 20": timed(lambda: run(11, 20))}
    for c in client.containers.list(all=True, filters={"label": f"{LABEL}={LAB}"}):
        c.remove(force=True)
    return out


def docker_labkit() -> dict[str, float]:
    cluster = labkit.connect("docker", lab=LAB, quiet=True, reaper=False)
    try:
        t_run = timed(lambda: cluster.deploy("lk", "web-server:1", replicas=10).wait(300))
        t_scale = timed(lambda: cluster.workload("lk").scale(20).wait(300))
        return {"run 10": t_run, "scale to 20": t_scale}
    finally:
        cluster.reset()
        cluster.close()


# -- swarm: services on the playground ----------------------------------------------------------
def swarm_raw(manager, parallelism: int) -> dict[str, float]:
    from docker.types import ServiceMode, UpdateConfig

    def converged(service, replicas: int, image: str) -> bool:
        service.reload()
        state = (service.attrs.get("UpdateStatus") or {}).get("State")
        if state in ("updating", "rollback_started"):
            return False
        tasks = service.tasks(filters={"desired-state": "running"})
        return sum(1 for t in tasks if t["Status"]["State"] == "running"
                   and t["Spec"]["ContainerSpec"]["Image"].split("@")[0] == image) == replicas

    holder = {}

    def deploy() -> None:
        holder["s"] = manager.services.create(
            "web-server:1", name="raw", mode=ServiceMode("replicated", replicas=10),
            labels={LABEL: LAB, du.KIND: "bench"})
        poll(lambda: converged(holder["s"], 10, "web-server:1"))

    def scale() -> None:
        holder["s"].scale(20)
        poll(lambda: converged(holder["s"], 20, "web-server:1"))

    def update() -> None:
        holder["s"].reload()
        holder["s"].update(image="web-server:2", update_config=UpdateConfig(
            parallelism=parallelism, delay=0, failure_action="pause", monitor=5_000_000_000, order="stop-first"))
        poll(lambda: converged(holder["s"], 20, "web-server:2"))
    try:
        return {"deploy 10": timed(deploy), "scale to 20": timed(scale), "rolling update": timed(update)}
    finally:
        if "s" in holder:
            holder["s"].remove()


def swarm_labkit(cluster, parallelism: int) -> dict[str, float]:
    try:
        return {
            "deploy 10": timed(lambda: cluster.deploy("lk", "web-server:1", replicas=10).wait(300)),
            "scale to 20": timed(lambda: cluster.workload("lk").scale(20).wait(300)),
            "rolling update": timed(lambda: cluster.workload("lk").update(
                "web-server:2", parallelism=parallelism).wait(300)),
        }
    finally:
        cluster.reset()


def median(runs: list[dict[str, float]]) -> dict[str, float]:
    import statistics
    return {op: statistics.median(r[op] for r in runs) for op in runs[0]}


def alternate(repeat: int, raw_fn, lk_fn) -> tuple[dict[str, float], dict[str, float]]:
    raws, lks = [], []
    for i in range(repeat):
        first, second = (raw_fn, lk_fn) if i % 2 == 0 else (lk_fn, raw_fn)
        a, b = first(), second()
        (raws if first is raw_fn else lks).append(a)
        (lks if first is raw_fn else raws).append(b)
    return median(raws), median(lks)


def report(title: str, raw: dict[str, float], lk: dict[str, float]) -> None:
    print(f"\n{title}")
    print(f"  {'operation':<16}{'raw SDK':>10}{'labkit':>10}{'ratio':>8}")
    for op in raw:
        print(f"  {op:<16}{raw[op]:>9.2f}s{lk[op]:>9.2f}s{lk[op] / raw[op]:>8.2f}")
    total_raw, total_lk = sum(raw.values()), sum(lk.values())
    print(f"  {'total':<16}{total_raw:>9.2f}s{total_lk:>9.2f}s{total_lk / total_raw:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=("docker", "swarm"))
    parser.add_argument("--parallelism", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    client = du.connect()
    from labkit.backends.docker import images
    images.ensure_images(client)
    if args.only in (None, "docker"):
        raw, lk = alternate(args.repeat, lambda: docker_raw(client), docker_labkit)
        report(f"docker engine: containers (median of {args.repeat})", raw, lk)
    if args.only in (None, "swarm"):
        start = time.perf_counter()
        cluster = labkit.connect("swarm", nodes=3, lab=LAB, quiet=True, reaper=False)
        print(f"\nswarm playground (3 nodes) up in {time.perf_counter() - start:.1f} s")
        try:
            raw, lk = alternate(args.repeat, lambda: swarm_raw(cluster.backend.api, args.parallelism),
                                lambda: swarm_labkit(cluster, args.parallelism))
            report(f"swarm playground: a service (update parallelism {args.parallelism}, "
                   f"median of {args.repeat})", raw, lk)
        finally:
            cluster.backend.destroy()
            cluster.close()


if __name__ == "__main__":
    main()
