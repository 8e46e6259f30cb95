"""Lesson 05 · Kubernetes architecture: who does what, and what breaks without it."""
from __future__ import annotations

import itertools
import random
import weakref
from dataclasses import dataclass

from ..backends.base import Components
from ..cluster import Table
from ..errors import Refused
from ..exercises import Exercise, Lesson, components_down, praise, student, workload_problems

TITLE = "Kubernetes architecture"
SUSPECTS = ("scheduler", "controller-manager", "etcd")
_mysteries: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # cluster -> its Mystery


@dataclass
class Mystery:
    """One mystery outage: what stopped, when, and how many of the student's starts since then
    were wrong guesses that a check has already told them about. Those no longer count: a check
    that said "wrong" lets the next start be the next answer (without this, one wrong guess
    blocked the check until the mystery was run again)."""

    stopped: str
    since: float
    told: int = 0
    before: int = 0  # starts already recorded at `since` when the outage began (not answers to it)


def trace(cluster, since: float, limit: int = 14) -> Table:
    """The events since `since`, oldest first: which component did what (`kubectl get events`)."""
    rows = [(f"{e.time:6.1f}", e.source or "-", e.reason, e.object, e.message[:60])
            for e in cluster.events(since)[:limit]]
    return Table(("TIME", "SOURCE", "REASON", "OBJECT", "MESSAGE"), rows)


def components(cluster) -> Table:
    """Every component of the control plane and of the nodes, and whether it runs. While a mystery
    outage is unsolved the control plane's rows say "?": the exercise is to find it from symptoms."""
    hidden = _mysteries.get(cluster) is not None and bool(components_down(cluster.state()))
    rows = [(c.name, c.node or "-", "?" if hidden and c.name in SUSPECTS else
             "running" if c.running else "STOPPED") for c in cluster.state().components]
    if hidden:
        print("(a mystery outage is on: the control plane's states are hidden until you have fixed it)")
    return Table(("COMPONENT", "NODE", "STATE"), rows)


def mystery_outage(cluster, seed: str | None = None) -> None:
    """Quietly stop one control-plane component, for the student to find and fix. Which one is
    drawn from `seed`, by default `lessons.student()`: each student has their own mystery."""
    if not isinstance(cluster.backend, Components):
        raise Refused("the mystery outage stops a control-plane component: only the simulator lets us",
                      "use lk.connect('sim') for this exercise")
    name = random.Random(f"05.mystery:{seed or student()}").choice(SUSPECTS)
    cluster.stop_component(name, quiet=True)  # a mystery: the event log must not name the culprit
    before = len(_restarts(cluster, cluster.now()))  # e.g. 05.path's kubelet, started this very second
    _mysteries[cluster] = Mystery(name, cluster.now(), before=before)
    print("Something in the control plane has stopped. Find out what, from what the cluster shows you.")


def _restarts(cluster, since: float) -> list[str]:
    """The components the student started since `since`, in order ("kubelet" for any node's)."""
    return [e.object.split("/", 1)[1] for e in cluster.events(since)
            if e.reason == "Started" and e.object.startswith("component/") and e.source == "student"]


@praise("You diagnosed it from its symptoms alone, and fixed only what was broken: the way an operator does.")
def check_mystery(cluster) -> list[str]:
    mystery = _mysteries.get(cluster)
    if mystery is None:
        return ["no outage yet on this cluster: run lab.mystery_outage(k8s) first"]
    problems = []
    started = _restarts(cluster, mystery.since)[mystery.before + mystery.told:]
    wrong = list(itertools.takewhile(lambda name: name != mystery.stopped, started))
    if not started:
        since = "since your wrong guess" if mystery.told else "again yet"
        problems.append(f"nothing has been started {since}: name the component from its symptoms, then "
                        "k8s.start_component(name)")
    elif wrong:
        which = "next" if mystery.told else "first"
        mystery.told += len(wrong)  # said once: the next component started is the next guess
        also = f" (then {', '.join(wrong[1:])}, running too)" if wrong[1:] else ""
        problems.append(f"the {which} component you started was {wrong[0]}{also}, and it was running: a guess, and "
                        "a wrong one. Read the symptoms (Pending pods? no new pods? refused changes?); the next "
                        "component you start counts as your answer")
    state = cluster.state()
    still = components_down(state)
    if mystery.stopped in still:  # never named here: that is the student's to find
        problems.append("the component that stopped is still stopped")
    others = [name for name in still if name != mystery.stopped]
    if others:
        problems.append(f"also stopped now: {', '.join(others)}")
    return problems + workload_problems(state, "web", 10)


def _held_on_their_node(cluster) -> list[str]:
    """Pods of `web` that the scheduler gave a node while that node's kubelet was stopped: the
    request got through the controller manager and the scheduler, and waited at its last step."""
    stopped: dict[str, float] = {}  # node -> since when its kubelet is stopped
    held = []
    for e in cluster.events():
        if e.object == "component/kubelet" and e.source == "student":
            node = e.message.split()[2]  # "kubelet on node-2 stopped"
            if e.reason == "Stopped":
                stopped.setdefault(node, e.time)
            else:
                stopped.pop(node, None)
        elif e.reason == "Scheduled" and e.object.startswith("pod/web-"):
            node = e.message.rsplit(" ", 1)[-1]
            if node in stopped:
                held.append(e.object)
    return held


@praise("controller manager -> scheduler -> kubelet: the pods existed and had a node, and waited for the one "
        "component that was left. Each step went through the API server, which keeps everything in etcd.")
def check_path(cluster) -> list[str]:
    if not _held_on_their_node(cluster):
        return ["no pod of web was ever given a node and then left waiting there: the request never stopped at "
                "its last step"]
    state = cluster.state()
    still = components_down(state)
    problems = [f"still stopped: {', '.join(still)}: start it, so the waiting pod can run"] if still else []
    return problems + workload_problems(state, "web", 8)


EXERCISES = [
    Exercise("path", "scale `web` to 8 so that a new pod is created and given a node but does not start there; "
                     "then let it start",
             (
                 "which component starts the containers of a pod once the scheduler has given it a node? Stop that "
                 "one, on one node only, before scaling",
                 "k8s.stop_component(name, node=...); %kubectl scale deployment web --replicas=8; k8s.run(10); "
                 "%kubectl get pods -o wide; then k8s.start_component(name, node=...)",
                 "k8s.stop_component('kubelet', node='node-2'); %kubectl scale deployment web --replicas=8; "
                 "k8s.run(10); %kubectl get pods -o wide; k8s.start_component('kubelet', node='node-2'); k8s.wait()"),
             check_path,
             wrong="stopping the scheduler instead: the new pods never get a node"),
    Exercise("mystery", "something stopped in the control plane: find it from its symptoms, start it (and only "
                        "it) again, and get `web` to 10 running replicas",
             (
                 "scale web and look at what happens (or does not), and at lab.trace(k8s, since=...): Pending pods "
                 "point at one component, nothing happening at another, refused changes at a third",
                 "a refused change: nothing can store it (etcd); stored, but no new pod: nobody runs the "
                 "controllers (controller-manager); new pods Pending without a node: nobody places them "
                 "(scheduler). Then k8s.start_component(that one), and scale web to 10 again",
                 "start = k8s.now(); web.scale(10) (a LabkitError: etcd); k8s.run(30); fewer than 10 pods of web: "
                 "controller-manager; else scheduler. Then k8s.start_component(the one you found); web.scale(10); "
                 "k8s.wait()"),
             check_mystery,
             wrong="starting a running component first (guessing instead of diagnosing)"),
]

Lesson("05", title=TITLE, exercises=EXERCISES, helpers=__name__)
