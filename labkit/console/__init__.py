"""The course's commands as typed: `docker`, `kubectl` and `minikube`, in any notebook.

    import labkit
    labkit.console.sh("kubectl create deployment my-web-server --image=web-server:1 --replicas=3")
    labkit.console.sh("kubectl rollout status deployment/my-web-server")

    %load_ext labkit                      # then, in cells:
    %kubectl get pods -o wide
    %docker service ls
    %%labkit
    docker swarm init
    docker service create --replicas=3 --name my-web-server web-server:1

kubectl and docker are the real binaries everywhere: on the simulator against its
own served Kubernetes API and Docker Engine (ages in simulated time, so outputs
repeat exactly), on a real backend against labkit's own engine or context;
minikube on the simulator is interpreted. Each tool
talks to the console's current cluster for it: set it with `use(cluster)`, or
let the console make one on first use (`labkit.connect()`: the simulator
unless $LABKIT_BACKEND says otherwise; a plain Docker host for `docker`, so
that `docker swarm init` has something to turn into a swarm).

Commands from the course notes that no longer exist (`kubectl run
--replicas`, `kubectl rolling-update`) or that hold placeholders (`<-e>`,
`<token>`) are explained, and their modern form is shown and, on the
simulator, run (`configure(translate=...)` changes that).
"""
from __future__ import annotations

from .parse import ConsoleError, OutcomeError, UsageError
from .shell import SESSION, TRANSLATE_MODES, TOOLS, execute, run, run_cell, sh, show_error

__all__ = ["sh", "run", "run_cell", "use", "current", "configure", "forget", "ConsoleError", "OutcomeError", "UsageError",
           "load_ipython_extension"]


def use(cluster):
    """Make `cluster` the one the matching tools talk to (kubectl/minikube for a Kubernetes
    cluster, docker for a docker or swarm one); returns it."""
    SESSION.use(cluster)
    return cluster


def current(tool: str = "kubectl"):
    """The cluster `tool` talks to (made on first use)."""
    if tool not in TOOLS:
        raise UsageError(f"unknown tool {tool!r}", f"choose one of {', '.join(TOOLS)}")
    return SESSION.cluster_for(tool)


def configure(translate: str | None = None) -> dict:
    """translate="auto" (run the modern form of a removed command on the simulator only),
    "always" (also on a real cluster: your consent) or "never" (explain only)."""
    if translate is not None:
        if translate not in TRANSLATE_MODES:
            raise UsageError(f"translate must be one of {', '.join(TRANSLATE_MODES)}, not {translate!r}",
                             "e.g. labkit.console.configure(translate='always')")
        SESSION.translate = translate
    return {"translate": SESSION.translate}


def forget() -> None:
    """Drop the console's clusters and settings (a fresh start, e.g. between tests)."""
    SESSION.clusters.clear()
    SESSION.notes.clear()
    SESSION.translate = "auto"


def load_ipython_extension(ip) -> None:
    """`%load_ext labkit`: the %docker, %kubectl, %minikube and %%labkit magics."""
    from .magics import register
    register(ip)
