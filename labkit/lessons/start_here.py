"""Lesson 00 · Start here: a first cluster, a first deployment, a first healing."""
from __future__ import annotations

from . import Exercise, praise
from ._checks import running, workload

TITLE = "Start here"


@praise("You asked for two copies and the cluster made them: that is the whole idea.")
def check_hello(cluster) -> list[str]:
    return workload(cluster.state(), "hello-minikube", 2, "hello-minikube")


@praise("You broke it and it mended itself: nobody had to type `docker run` again.")
def check_heal(cluster) -> list[str]:
    state = cluster.state()
    problems = workload(state, "hello-minikube", 4)
    if problems:
        return problems
    mine = {r.name for r in state.replicas_of("hello-minikube")}
    killed = any(e.reason in ("Killed", "Killing") and e.object.split("/")[-1] in mine for e in cluster.events())
    restarted = any(r.restarts for r in running(state, "hello-minikube"))
    if not (killed or restarted):
        return ["none of hello-minikube's replicas was killed yet: kill one, then wait"]
    return []


EXERCISES = [
    Exercise("hello", "deploy `hello-minikube` (image `hello-minikube`) with 2 replicas and wait until both run",
             "cluster.deploy(name, image=..., replicas=2), then cluster.wait()", check_hello,
             wrong="two replicas of another image, or three of hello-minikube"),
    Exercise("heal", "scale `hello-minikube` to 4, kill one of its replicas, and wait until the cluster has "
                     "healed it", "workload.scale(4); cluster.wait(); cluster.kill_replica(name); cluster.wait()",
             check_heal,
             wrong="scaling to 4 without killing a replica"),
]
