"""kubectl on the simulator: the real binary, against the simulator served as a Kubernetes API.

The first kubectl command for a simulated cluster serves it (labkit.backends.sim.kube) on
127.0.0.1, with a certificate, a token and a kubeconfig of its own (never the user's
~/.kube/config); every command then runs the real kubectl against it, as on minikube.
While the simulated API server is stopped (lesson 05) nothing listens there, so kubectl's
connections are refused, as they would be.

Time, the one rule. In a notebook the cluster's clock stands still while kubectl runs, so
`kubectl get` prints the same AGE on every run and nbval can compare outputs. A command
that waits for the cluster (`rollout status`, `get -w`, `delete` of pods, `drain`, `wait`)
moves the clock on while it waits: one step of STEP cluster seconds each time the server
has answered everything, every open watch has sent every change and kubectl has had
QUIET wall seconds to act on it, until what the command waits for is true (`get -w`:
until every workload has converged and nothing changed for SETTLE seconds, at most
WATCH_LIMIT; then its watch is closed and kubectl ends), or for at most LIMIT cluster
seconds. Timestamps read as the wall clock's at the start of each command (so
`describe` counts ages as kubectl would), ages in cluster time. A cluster
served to a terminal (`labkit serve`) follows the wall clock instead (see its module).
"""
from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Callable

from ...backends.sim.kube import resources as res
from ...backends.sim.kube.server import KubeAPIServer, whole_seconds
from .. import real
from ..parse import ConsoleError, closest, flag_value, positionals
from . import kubectl_wait

CONTEXT = "labkit-sim"
PORT = 8443
STEP = 1.0  # cluster seconds per step while a command waits
QUIET = 0.05  # wall seconds a client gets to act on what it was sent
LIMIT = 900.0  # cluster seconds a waiting command may take (past Kubernetes' 600 s progress deadline)
SETTLE = 10.0  # cluster seconds without a change before `get -w` ends
WATCH_LIMIT = 120.0  # `get -w` on a cluster that does not settle (a crash loop): two minutes of it


def served(sim) -> KubeAPIServer:
    """The API server of this simulator, started on first use, serving its current store."""
    api = sim.served_api
    if api is None:
        try:  # minikube's API server port, when it is free (so outputs repeat); else any free one
            api = KubeAPIServer(sim, port=PORT)
        except OSError:
            api = KubeAPIServer(sim)
        sim.served_api = api.start()
        api.write_kubeconfig(kubeconfig(api), CONTEXT)
    elif api.feed.store is not sim.store:  # the simulator was reset
        api.rebind(sim)
    if sim.api.running:
        api.resume()
    else:
        api.pause()
    return api


def kubeconfig(api: KubeAPIServer) -> str:
    """labkit's kubeconfig for this served simulator (in the server's private folder)."""
    return os.path.join(api.folder, "kubeconfig")


def cache_dir(api: KubeAPIServer) -> str:
    """kubectl's discovery and HTTP cache for this served simulator (in its private folder, gone with
    it): ~/.kube/cache keys its entries by host and port alone, and keeps discovery for hours, so a
    served cluster of another labkit version on minikube's port would be read through a stale list
    of kinds ("the server doesn't have a resource type ...")."""
    return os.path.join(api.folder, "kubectl-cache")


@dataclass
class Wait:
    """What a waiting command waits for: when to step the clock, when it is done."""

    ready: Callable[[], bool]  # kubectl is waiting now (has its watch open, has evicted ...)
    done: Callable[[], bool]
    end_watches: bool = False  # `get -w` never ends by itself: close its watch once done
    limit: float = LIMIT  # cluster seconds at most
    hold: bool = False  # past the limit, hold the clock and let kubectl's own timeout end it (`kubectl wait`)


def main(ctx, argv: list[str]) -> None:
    sim = ctx.sim
    if sim.flavor != "kubernetes":
        raise ConsoleError(f"error: this is a simulated {'Docker Swarm' if sim.flavor == 'swarm' else 'Docker host'}, "
                           "not a Kubernetes cluster: no API server answers kubectl here",
                           "use docker commands on it, or kubectl on labkit.connect(flavor='kubernetes')")
    api = served(sim)
    api.clock.epoch = whole_seconds(sim.now())
    api.ending_watches.clear()
    command = [real.binary("kubectl"), *argv]
    env = {**os.environ, "KUBECONFIG": kubeconfig(api), "KUBECACHEDIR": cache_dir(api)}
    wait = waits_for(argv, sim, api)
    driver = Driver(api, ctx.cluster, wait) if wait else None
    try:
        code, lines = real.stream(command, env, ctx.out, started=driver.start if driver else None)
    finally:
        if driver and driver.process is not None:
            driver.stop()
    if driver and driver.gave_up:
        ctx.print(f"(labkit: stopped after {wait.limit:g} s of cluster time)")
    if code != 0:
        raise real.failed("kubectl", argv, code, lines, hint(sim, command, env, lines))


def hint(sim, command: list[str], env: dict, lines: list[str]) -> str:
    if not sim.api.running:
        return "the API server is stopped, so nothing answers kubectl: cluster.start_component('api-server')"
    if not sim.store.up:
        return "the API server keeps nothing itself: etcd is stopped. cluster.start_component('etcd')"
    missing = re.search(r'\(NotFound\): (\w+)[.\w]* "([^"]+)" not found', "\n".join(lines))
    if missing:
        kind = {"services": "kube-services"}.get(missing.group(1), missing.group(1))
        namespace = flag_value(command, "-n", "--namespace") or res.NAMESPACE
        names = [res.short(k) for k in sim.api.items(kind) if kind == "nodes" or res.split(k)[0] == namespace]
        guess = closest(missing.group(2), names)
        if guess:
            return f"did you mean {guess}?"
    return real.hint_for(command, env, lines)


# -- what a command waits for ------------------------------------------------------------------
def waits_for(argv: list[str], sim, api: KubeAPIServer) -> Wait | None:
    words = positionals(argv, VALUED)
    namespace = flag_value(argv, "-n", "--namespace") or res.NAMESPACE
    before = set(api.watches)  # a watch of an earlier command may still be closing: it is not this one's
    watching = lambda: bool(set(api.watches) - before)  # noqa: E731 - this kubectl has its watch open
    if any(a in ("-w", "--watch", "--watch-only") or a.startswith(("--watch=t", "--watch-only=t")) for a in argv):
        return Wait(watching, settled(sim), end_watches=True, limit=WATCH_LIMIT)
    if words[:2] == ["rollout", "status"] and flag_value(argv, "-w", "--watch", separate=False) != "false":
        target = rollout_target(words[2:], namespace)
        return Wait(watching, lambda: rolled_out(sim, target)) if target else None
    if words[:1] == ["delete"] and len(words) > 1 and flag_value(argv, "--wait", separate=False) != "false":
        return deleting(words[1:], sim, namespace, watching)
    if words[:1] == ["drain"] and len(words) > 1:
        node = words[1]
        return Wait(lambda: on_node(sim, node, deleting=True), lambda: not on_node(sim, node))
    if words[:1] == ["wait"]:  # its --timeout counts in cluster time; then kubectl's own timer ends it
        met = kubectl_wait.condition(flag_value(argv, "--for"))
        check = kubectl_wait.done(api, kubectl_wait.targets(words[1:]), namespace, met)
        return Wait(watching, check, limit=kubectl_wait.duration(flag_value(argv, "--timeout")), hold=True)
    return None


VALUED = ("-n", "--namespace", "-o", "--output", "-l", "--selector", "--context", "--kubeconfig", "-f",
          "--filename", "--timeout", "--image", "--replicas", "--for", "--field-selector", "-c", "--container",
          "--sort-by", "--grace-period", "--to-revision", "--revision", "--type", "--port", "--target-port",
          "--name", "--cascade", "--request-timeout", "-s", "--server", "--user", "--cluster", "--token")


def deleting(words: list[str], sim, namespace: str, watching) -> Wait | None:
    """`kubectl delete` waits until what it deleted is gone: pods end gracefully, a namespace
    once its pods have; deployments and services go at once (their pods are the garbage
    collector's, which kubectl does not wait for)."""
    kind = words[0].split("/")[0].lower()
    names = [w.split("/", 1)[1] for w in words if "/" in w] + ([] if "/" in words[0] else words[1:])
    start = sim.store.revision
    if kind in ("pod", "pods", "po"):
        return Wait(watching, lambda: sim.store.revision > start and not any(
            p.deleting for k, p in sim.api.items("pods").items() if res.split(k)[0] == namespace))
    if kind in ("namespace", "namespaces", "ns"):
        from ...backends.sim.kube import namespaces

        def gone() -> bool:
            namespaces.finish(sim)
            return not any(n in sim.api.items(namespaces.KIND) for n in names)
        return Wait(watching, gone)
    return None


def rollout_target(words: list[str], namespace: str) -> str | None:
    """The simulator's name of the deployment `rollout status` names (deployment/x or deployment x)."""
    if words and "/" in words[0]:
        kind, name = words[0].split("/", 1)
    elif len(words) >= 2:
        kind, name = words[0], words[1]
    else:
        return None
    return res.key(namespace, name) if kind in ("deployment", "deployments", "deploy", "deployment.apps") else None


def rolled_out(sim, key: str) -> bool:
    """What `kubectl rollout status` waits for: every replica updated and available, or the
    progress deadline passed (it then fails), or no such deployment (it fails at once)."""
    d = sim.api.items("deployments").get(key)
    if d is None or d.condition == "ProgressDeadlineExceeded":
        return True
    status = next((w for w in sim.workloads() if w.name == key), None)
    return status is not None and status.desired == status.updated == status.current == status.available


def settled(sim) -> Callable[[], bool]:
    """`get -w` is done once the cluster has converged and nothing has changed for SETTLE cluster
    seconds (a pod that runs, then crashes, has not settled)."""
    seen = {"revision": -1, "since": 0.0}

    def done() -> bool:
        if sim.store.revision != seen["revision"]:
            seen.update(revision=sim.store.revision, since=sim.now())
        return converged(sim) and sim.now() - seen["since"] >= SETTLE
    return done


def converged(sim) -> bool:
    return all(w.desired == w.updated == w.current == w.available == w.ready for w in sim.workloads()) and not any(
        p.deleting or p.node is None for p in sim.api.items("pods").values())


def on_node(sim, node: str, deleting: bool = False) -> bool:
    pods = [p for p in sim.api.items("pods").values() if p.node == node]
    return any(p.deleting for p in pods) if deleting else bool(pods)


class Driver:
    """Moves the cluster's clock while a waiting command waits (see the module's rule)."""

    def __init__(self, api: KubeAPIServer, cluster, wait: Wait) -> None:
        self.api, self.cluster, self.wait = api, cluster, wait
        self.sim = cluster.backend
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="labkit-kubectl-clock", daemon=True)
        self.gave_up = False
        self.process = None

    def start(self, process) -> None:
        self.process = process
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        spent = 0.0
        while not self._stop.wait(QUIET / 5):
            if not self.api.quiet(QUIET):
                continue
            with self.api.lock:
                done, ready = self.wait.done(), self.wait.ready()
            if done or spent >= self.wait.limit:
                if self.wait.hold:
                    return  # the clock stands still from here: kubectl's own timeout says it, in its words
                self.gave_up = not done
                if self.wait.end_watches or self.gave_up:
                    self.api.end_watches()
                if self.gave_up and not self._stop.wait(2.0):
                    self.process.terminate()  # a rollout status would watch again: end it
                return
            if ready:
                with self.api.lock:
                    self.sim.advance(STEP)
                spent += STEP
                self.cluster._changed(step=True)
