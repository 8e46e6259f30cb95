"""A simulated Kubernetes cluster served to kubectl, like `minikube start` makes a real one.

    labkit serve --nodes 3             # runs until Ctrl-C (or `labkit serve --stop`)
    export KUBECONFIG=$(labkit kubeconfig)
    kubectl get nodes

Time: a served cluster's clock follows the wall clock, `speed` times faster (10x by
default, so a 300 s eviction takes 30 s), so a blocked `kubectl rollout status` or
`get -w` sees progress. In a notebook under nbval, nothing is served and time only
moves when the lesson says so (`cluster.run`, `cluster.wait`).

The kubeconfig is labkit's own file (never the user's ~/.kube/config), mode 0600, with
the server's certificate and a fresh token; it is removed when the cluster stops. It and
the pid file live in labkit's private folder (labkit.private), which no other user can
have made or entered.
"""
from __future__ import annotations

import os
import shutil
import signal
import threading
import time

from ....private import is_labkit_process, private_dir, read_pid, write_private
from ..ticker import Ticker
from .server import KubeAPIServer, whole_seconds

CONTEXT = "labkit-sim"


def state_dir() -> str:
    return private_dir("serve")


def kubeconfig_path() -> str:
    return os.path.join(state_dir(), "kubeconfig")


def cache_path() -> str:
    """kubectl's cache for the served cluster (KUBECACHEDIR), emptied when one starts: the default
    ~/.kube/cache keys discovery by host and port alone, for hours (see console/tools/kubectl.py)."""
    return os.path.join(state_dir(), "kubectl-cache")


def pid_path() -> str:
    return os.path.join(state_dir(), "pid")


class ServedCluster:
    """A simulator backend, its API server and a clock that follows the wall clock."""

    def __init__(self, nodes: int = 3, *, seed: int = 0, speed: float = 10.0, port: int = 0,
                 kubeconfig: str | None = None, backend=None) -> None:
        from ..backend import SimBackend
        self.sim = backend or SimBackend(nodes=nodes, flavor="kubernetes", seed=seed)
        self.api = KubeAPIServer(self.sim, port=port)
        self.speed = self.api.speed = speed
        self.kubeconfig = kubeconfig or os.path.join(self.api.folder, "kubeconfig")
        self._ticker = Ticker(self.sim, self.api.lock, speed, "labkit-sim-clock", "the simulated cluster",
                              after=self._redate)

    def start(self) -> "ServedCluster":
        self.api.start()
        self.api.write_kubeconfig(self.kubeconfig, CONTEXT)
        self._ticker.start()
        return self

    def _redate(self) -> None:
        """Cluster time runs `speed` times faster than the wall clock: the timestamps are dated so that the
        cluster's now is the wall clock's now, so no timestamp lies in the future (a client-side age, as
        `kubectl describe` computes it, would read "<invalid>")."""
        self.api.clock.epoch = whole_seconds(self.sim.now())

    def stop(self) -> None:
        self._ticker.stop()
        self.api.stop()
        _unlink(self.kubeconfig)

    def __enter__(self) -> "ServedCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def run(nodes: int, speed: float, port: int, out=print) -> int:
    """`labkit serve`: serve until Ctrl-C or SIGTERM (`labkit serve --stop`)."""
    if running_pid():
        out(f"a served cluster already runs (pid {running_pid()}); stop it with: labkit serve --stop")
        return 1
    shutil.rmtree(cache_path(), ignore_errors=True)  # what kubectl learnt of an earlier one
    cluster = ServedCluster(nodes, speed=speed, port=port, kubeconfig=kubeconfig_path()).start()
    write_private(pid_path(), str(os.getpid()))
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    out(f"labkit: a simulated Kubernetes cluster of {nodes} node(s) answers at {cluster.api.url} "
        f"(time runs {speed:g}x)")
    out(f"  export KUBECONFIG={cluster.kubeconfig} KUBECACHEDIR={cache_path()}")
    out("  kubectl get nodes")
    out("stop with Ctrl-C, or `labkit serve --stop` from another terminal")
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
        _unlink(pid_path())
    out("labkit: the served cluster stopped")
    return 0


def running_pid() -> int | None:
    """The pid of this user's `labkit serve`, when the pid file names one that runs."""
    pid = read_pid(pid_path())
    return pid if pid is not None and is_labkit_process(pid, "serve") else None


def wait_until_serving(seconds: float) -> bool:
    """Whether a served cluster runs and has written its kubeconfig, waiting up to `seconds`."""
    deadline = time.monotonic() + seconds
    while not (running_pid() and os.path.exists(kubeconfig_path())):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def stop_running(out=print) -> int:
    pid = read_pid(pid_path())
    if pid is None:
        out("no served cluster is running")
        return 1
    if not is_labkit_process(pid, "serve"):
        out(f"no served cluster is running: pid {pid} in {pid_path()} is not a `labkit serve` of yours, "
            "so it was not stopped")
        return 1
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:  # it ended meanwhile
        pass
    for _ in range(100):
        if running_pid() is None:
            break
        time.sleep(0.1)
    out(f"stopped the served cluster (pid {pid})")
    return 0


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
