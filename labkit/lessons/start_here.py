"""Lesson 00 · Start here: a first cluster, a first deployment, a first healing."""
from __future__ import annotations

from ..exercises import Exercise, Lesson, delete_workload, praise, ready_replicas, workload_problems

TITLE = "Start here"


@praise("You asked for two copies and the cluster made them: that is the whole idea.")
def check_hello(cluster) -> list[str]:
    return workload_problems(cluster.state(), "hello-minikube", 2, "hello-minikube")


@praise("You broke it and it mended itself: nobody had to type `docker run` again.")
def check_heal(cluster) -> list[str]:
    state = cluster.state()
    problems = workload_problems(state, "hello-minikube", 4)
    if problems:
        return problems
    if not lost_and_replaced(cluster, "hello-minikube"):
        return ["none of hello-minikube's replicas was killed yet: kill one (or delete its pod), then wait"]
    return []


def lost_and_replaced(cluster, name: str) -> bool:
    """Whether a replica of `name` was lost and the cluster made up for it: one restarted in place
    (a killed container), or one of its pods or tasks killed or deleted by someone other than its
    own controller (`kubectl delete pod`; Swarm replaces a killed task): the replacement has a new
    name. Read from the replicas and the events, so any way of breaking one counts, and a
    scale-down does not."""
    state = cluster.state()
    if any(r.restarts for r in ready_replicas(state, name)):
        return True
    events = cluster.events()
    created = {e.message.split(": ", 1)[1] for e in events
               if e.reason == "SuccessfulCreate" and e.object.startswith(f"replicaset/{name}-") and ": " in e.message}
    scaled_down = {e.message.split(": ", 1)[1] for e in events if e.reason == "SuccessfulDelete" and ": " in e.message}
    mine = ({r.name for r in state.replicas_of(name)} | created) - scaled_down

    def ours(replica: str) -> bool:
        return replica in mine or replica.startswith(f"{name}.")  # a Swarm task: <service>.<slot>.<id>

    return any(e.reason in ("Killed", "Killing") and ours(e.object.split("/")[-1]) for e in events)


def reset_hello(cluster) -> str:
    """00.hello starts with no `hello-minikube`: delete it."""
    return "deleted hello-minikube" if delete_workload(cluster, "hello-minikube") else \
        "there was no hello-minikube yet: nothing to undo"


EXERCISES = [
    Exercise("hello", "deploy `hello-minikube` (image `hello-minikube`) with 2 replicas and wait until both run",
             (
                 "a deployment makes the replicas: its name, its image and how many are all in the task; then let "
                 "the cluster work until they run",
                 "cluster.deploy(...) with image=... and replicas=..., then cluster.wait()",
                 "hello = cluster.deploy('hello-minikube', image='hello-minikube', replicas=2); cluster.wait()"),
             check_hello,
             wrong="two replicas of another image, or three of hello-minikube", reset=reset_hello),
    Exercise("heal", "scale `hello-minikube` to 4, kill one of its replicas, and wait until the cluster has "
                     "healed it",
             (
                 "scale first and wait; then lose one replica (crash its container, or delete its pod) and let the "
                 "cluster put it back",
                 "cluster.workload('hello-minikube').scale(4); cluster.wait(); then cluster.kill_replica(name), a "
                 "name from cluster.ps('hello-minikube') (or %kubectl delete pod <name>), and cluster.wait()",
                 "hello = cluster.workload('hello-minikube'); hello.scale(4); cluster.wait(); "
                 "cluster.kill_replica(hello.replicas()[0].name); cluster.wait()"), check_heal,
             wrong="scaling to 4 without killing a replica"),
]

Lesson("00", title=TITLE, exercises=EXERCISES, helpers=__name__)
