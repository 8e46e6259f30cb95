"""Lesson 05 · Kubernetes architecture: who does what, and what breaks without it."""
from __future__ import annotations

import random
import weakref

from ..cluster import Table
from ..errors import Refused
from . import Exercise, praise
from ._checks import component_down, workload

TITLE = "Kubernetes architecture"
SUSPECTS = ("scheduler", "controller-manager", "etcd")
REQUEST_PATH = ("controller-manager", "scheduler", "kubelet")  # each through the API server, which uses etcd
# Sources of events that belong to the controller manager, and names a path may mention but need not.
CONTROLLERS = {"deployment-controller": "controller-manager", "replicaset-controller": "controller-manager",
               "node-lifecycle-controller": "controller-manager"}
IMPLIED = {"api-server", "etcd", "kubectl", "student", "you", "container-runtime"}
_mysteries: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # cluster -> the component stopped


def trace(cluster, since: float, limit: int = 14) -> Table:
    """The events since `since`, oldest first: which component did what (`kubectl get events`)."""
    rows = [(f"{e.time:6.1f}", e.source or "-", e.reason, e.object, e.message[:60])
            for e in cluster.events(since)[:limit]]
    return Table(("TIME", "SOURCE", "REASON", "OBJECT", "MESSAGE"), rows)


def components(cluster) -> Table:
    """Every component of the control plane and of the nodes, and whether it runs."""
    rows = [(c.name, c.node or "-", "running" if c.running else "STOPPED") for c in cluster.state().components]
    return Table(("COMPONENT", "NODE", "STATE"), rows)


def mystery_outage(cluster, seed: int = 0) -> None:
    """Quietly stop one control-plane component, for the student to find and fix."""
    if not hasattr(cluster.backend, "stop_component"):
        raise Refused("the mystery outage stops a control-plane component: only the simulator lets us",
                      "use lk.connect('sim') for this exercise")
    name = random.Random(seed).choice(SUSPECTS)
    cluster.backend.stop_component(name, None)
    events = cluster.backend.api.events
    if events and events[-1][2] == f"component/{name}":
        events.pop()  # a mystery: the event log must not name the culprit
    _mysteries[cluster] = name
    print("Something in the control plane has stopped. Find out what, from what the cluster shows you.")


@praise("You diagnosed it from its symptoms alone, the way an operator does.")
def check_mystery(cluster, answer: str = "") -> list[str]:
    stopped = _mysteries.get(cluster)
    if stopped is None:
        return ["no outage yet on this cluster: run lab.mystery_outage(cluster) first"]
    problems = []
    if str(answer).strip().lower() != stopped:
        problems.append(f"{answer!r} is not the component that stopped" if answer else
                        "set answer = '<component>' and pass it: lab.check('mystery', cluster, answer=answer)")
    still = component_down(cluster.state())
    if still:
        problems.append(f"still stopped: {', '.join(still)}")
    return problems + workload(cluster.state(), "web", 6)


def normalize_path(names) -> tuple[str, ...]:
    """Controllers count as the controller manager; the API server and etcd sit under every step."""
    out: list[str] = []
    for name in names:
        name = CONTROLLERS.get(str(name).strip().lower(), str(name).strip().lower())
        if name not in IMPLIED and (not out or out[-1] != name):
            out.append(name)
    return tuple(out)


@praise("controller manager -> scheduler -> kubelet; each read and wrote through the API server, which "
        "keeps everything in etcd.")
def check_path(cluster, answer=()) -> list[str]:
    if isinstance(answer, str) or not answer:
        return ["set path = [...] (the components in the order they acted) and pass answer=path"]
    path = normalize_path(answer)
    if path in (REQUEST_PATH, REQUEST_PATH + ("controller-manager",)):  # it may end with "rollout complete"
        return []
    if set(path) != set(REQUEST_PATH):
        return [f"your path names {', '.join(path) or 'nothing'} (API server and etcd aside); it should name "
                "the components in the SOURCE column of the trace"]
    return [f"the right components in the wrong order: {' -> '.join(path)}"]


EXERCISES = [
    Exercise("path", "scale `web`, trace the request, and list the components that acted, in order",
             "lab.trace(cluster, since=t) shows each event's SOURCE: the component that acted; the "
             "deployment and replicaset controllers both live in the controller manager",
             check_path),
    Exercise("mystery", "something stopped in the control plane: find it from its symptoms, name it, start it "
                        "again, and get `web` back to 6 running replicas",
             "scale web and look at what happens (or does not), and at cluster.events(): "
             "Pending pods point at one component, nothing happening at another, refused changes at a third",
             check_mystery),
]
