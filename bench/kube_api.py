"""The simulator served as a Kubernetes API: how fast, how much, what it costs (prints, asserts nothing).

    python bench/kube_api.py

Targets from issue 12: `kubectl get pods` of 2,000 pods through the real kubectl, server time
under 100 ms and the whole command under 1 s; `kubectl scale --replicas=2000` to all Running,
watched by `rollout status`; 100 concurrent watchers while 2,000 pods roll, no event lost,
memory reported; serving costs the simulator nothing while no client is connected.
From issue 28: everyday commands beside kubectl's own floor (`kubectl version --client`, which
reads the kubeconfig and asks nothing), each the best of a few runs in the same process, goal
within 1.3x of the floor plus the round trips the command needs.
"""
from __future__ import annotations

import http.client
import json
import os
import resource
import ssl
import subprocess
import sys
import threading
import time

import labkit as lk
from labkit.backends.sim.kube.serve import ServedCluster

KUBECTL = os.path.join(os.path.dirname(sys.executable), "kubectl")


def kubectl(served: ServedCluster, *args: str) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run([KUBECTL, *args], capture_output=True, text=True, check=True,
                          env={**os.environ, "KUBECONFIG": served.kubeconfig})
    return time.perf_counter() - start, done.stdout


def get(served: ServedCluster, path: str, accept: str = "application/json") -> tuple[float, bytes]:
    context = ssl.create_default_context(cadata=served.api.ca_pem.decode())
    conn = http.client.HTTPSConnection("127.0.0.1", served.api.port, context=context, timeout=60)
    start = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"Bearer {served.api.token}", "Accept": accept})
    body = conn.getresponse().read()
    took = time.perf_counter() - start
    conn.close()
    return took, body


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def get_pods() -> None:
    with ServedCluster(20, speed=0) as served:
        served.sim.deploy(lk.backends.base.DeploySpec("web", "web-server:1", 2000))
        served.sim.advance(120)
        table = "application/json;as=Table;v=v1;g=meta.k8s.io"
        server = min(get(served, "/api/v1/namespaces/default/pods?limit=500", table)[0] for _ in range(5))
        whole = min(kubectl(served, "get", "pods")[0] for _ in range(5))
        rows = len(kubectl(served, "get", "pods", "--no-headers")[1].splitlines())
        print(f"kubectl get pods, {rows} pods on 20 nodes: server {server * 1000:.0f} ms for its first page of 500 "
              f"(target < 100 ms), whole command {whole:.2f} s (target < 1 s)")
        everything = min(get(served, "/api/v1/namespaces/default/pods", table)[0] for _ in range(3))
        print(f"  all {rows} rows in one answer (kubectl --chunk-size=0): {everything * 1000:.0f} ms")


def scale_and_watch() -> None:
    with ServedCluster(20, speed=10.0) as served:
        kubectl(served, "create", "deployment", "my-web-server", "--image=web-server:1", "--replicas=1000")
        kubectl(served, "rollout", "status", "deployment/my-web-server")
        start = served.sim.now()
        took, _ = kubectl(served, "scale", "deployment/my-web-server", "--replicas=2000")
        status, out = kubectl(served, "rollout", "status", "deployment/my-web-server")
        print(f"kubectl scale --replicas=2000, then rollout status until all run (time 10x): {took + status:.1f} s "
              f"wall, {served.sim.now() - start:.0f} s of cluster time, {len(out.splitlines())} lines printed")


def watchers(count: int = 100) -> None:
    """Each watcher follows the pods as an informer does and remembers the last resourceVersion it
    was told (events and bookmarks), so the end tells lag (a watcher not yet at the store's
    revision: how far behind) from loss (a watcher at that revision whose pods differ)."""
    with ServedCluster(20, speed=20.0) as served:
        served.sim.deploy(lk.backends.base.DeploySpec("web", "web-server:1", 2000))
        served.sim.advance(60)
        before = rss_mib()
        seen: list[dict[str, str]] = [{} for _ in range(count)]
        added = [0] * count
        last = [0] * count  # the last resourceVersion each watcher was told
        errors: list[str] = []

        stop = threading.Event()

        def watch(i: int) -> None:
            """As an informer watches: on each end of the stream, again from the last version seen."""
            context = ssl.create_default_context(cadata=served.api.ca_pem.decode())
            version = ""
            while not stop.is_set():
                conn = http.client.HTTPSConnection("127.0.0.1", served.api.port, context=context, timeout=120)
                conn.request("GET", f"/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=5"
                                    f"&allowWatchBookmarks=true&resourceVersion={version}",
                             headers={"Authorization": f"Bearer {served.api.token}"})
                for line in conn.getresponse():
                    event = json.loads(line)
                    if event["type"] == "ERROR":
                        errors.append(str(event["object"]))
                        stop.set()
                        break
                    version = event["object"]["metadata"]["resourceVersion"]
                    last[i] = max(last[i], int(version))
                    if event["type"] == "BOOKMARK":
                        continue
                    name = event["object"]["metadata"]["name"]
                    added[i] += 1
                    seen[i][name] = "gone" if event["type"] == "DELETED" else event["object"]["status"].get("phase", "")
                conn.close()

        threads = [threading.Thread(target=watch, args=(i,), daemon=True) for i in range(count)]
        for t in threads:
            t.start()
        time.sleep(3)
        start = time.perf_counter()
        served.sim.update("web", "web-server:2", lk.backends.base.UpdateStrategy())
        while time.perf_counter() - start < 60:
            w = next(w for w in served.sim.workloads() if w.name == "web")
            if w.updated == w.available == w.desired == w.current:
                break
            time.sleep(0.2)
        rolled = time.perf_counter() - start
        while any(p.deleting for p in served.sim.api.items("pods").values()):  # the old pods end
            time.sleep(0.2)
        served.speed = 0  # the clock stops: nothing changes from here on, so what each watcher ends with can be judged
        with served.api.lock:
            final = {k: p.phase for k, p in served.sim.api.items("pods").items()}
        waited, steady, before_last = time.perf_counter(), time.perf_counter(), list(last)
        while time.perf_counter() - steady < 6 and time.perf_counter() - waited < 60:  # until no watcher moves
            time.sleep(0.2)  # for 6 s: each stream (5 s) has ended and resumed once from its last version
            if last != before_last:
                steady, before_last = time.perf_counter(), list(last)
        waited = time.perf_counter() - waited
        target = max(last)  # the newest version any watcher was told
        stop.set()
        for t in threads:
            t.join()
        behind = [i for i in range(count) if last[i] < target]
        lost = 0
        for i in range(count):
            alive = {name for name, phase in seen[i].items() if phase != "gone"}
            if i not in behind and alive != set(final):
                lost += 1
                if lost == 1:
                    print(f"  e.g. watcher {i}: {len(alive - set(final))} extra, {len(set(final) - alive)} missing, "
                          f"{sum(1 for n in alive & set(final) if seen[i][n].lower() != final[n])} stale")
        lag = f", the others at most {target - min(last)} revision(s) behind" if behind else ""
        print(f"{count} watchers while 2000 pods roll to a new image ({rolled:.1f} s wall at 20x): "
              f"{count - len(behind)} of {count} caught up (told revision {target}, the newest any was told) within "
              f"{waited:.1f} s{lag}; of those, {lost} lost an event (pods differ from the {len(final)} that exist); "
              f"{sum(added) // count} events each on average, {len(errors)} errors; "
              f"peak memory {before:.0f} -> {rss_mib():.0f} MiB (the 100 clients' threads are in this process too)")


def no_client_overhead(rounds: int = 5) -> None:
    def course(serve: bool) -> float:
        cluster = lk.connect(nodes=20)
        api = None
        if serve:
            from labkit.console.tools.kubectl import served
            api = served(cluster.backend)
        start = time.perf_counter()
        web = cluster.deploy("my-web-server", "web-server:1", replicas=1000)
        cluster.wait()
        web.scale(2000)
        cluster.wait()
        web.update("web-server:2")
        cluster.wait()
        took = time.perf_counter() - start
        cluster.close()
        assert api is None or not api.listening
        return took
    plain = min(course(False) for _ in range(rounds))
    served = min(course(True) for _ in range(rounds))
    print(f"the course's 1000 -> 2000 -> rolling update, no client connected: {plain * 1000:.0f} ms unserved, "
          f"{served * 1000:.0f} ms served ({served / plain:.2f}x; best of {rounds})")


CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: fast}
"""
EVERYDAY = [("get pods", ("get", "pods")), ("get deploy", ("get", "deploy")),
            ("describe deploy/web", ("describe", "deploy", "web")), ("get events", ("get", "events")),
            ("scale deploy/web --replicas=4", ("scale", "deploy", "web", "--replicas=4")),
            ("rollout status deploy/web", ("rollout", "status", "deploy/web")),
            ("apply -f configmap.yaml", ("apply", "-f", "-")), ("get cm settings -o yaml", ("get", "cm", "settings",
                                                                                          "-o", "yaml")),
            ("logs deploy/web", ("logs", "deploy/web")), ("top pods", ("top", "pods")),
            ("auth can-i create pods", ("auth", "can-i", "create", "pods"))]


def timed(served: ServedCluster, args: tuple, stdin: str | None = None) -> float:
    start = time.perf_counter()
    subprocess.run([KUBECTL, *args], input=stdin, capture_output=True, text=True,
                   env={**os.environ, "KUBECONFIG": served.kubeconfig})
    return time.perf_counter() - start


def floor(rounds: int = 5) -> None:
    """Each everyday command against kubectl's own floor, measured in this run."""
    with ServedCluster(3, speed=10.0) as served:
        timed(served, ("create", "deployment", "web", "--image=nginx:1.27", "--replicas=3"))
        timed(served, ("rollout", "status", "deploy/web"))
        timed(served, ("get", "pods"))  # discovery cached from here on, as in a session
        base = min(timed(served, ("version", "--client")) for _ in range(rounds))
        print(f"kubectl's floor (version --client, asks nothing): {base * 1000:.0f} ms; each command best of {rounds}:")
        for label, args in EVERYDAY:
            stdin = CONFIGMAP if "-" in args else None
            best = min(timed(served, args, stdin) for _ in range(rounds))
            print(f"  kubectl {label:32} {best * 1000:5.0f} ms  {best / base:4.2f}x the floor")


if __name__ == "__main__":
    floor()
    get_pods()
    scale_and_watch()
    watchers()
    no_client_overhead()
