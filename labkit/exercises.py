"""Exercises of your own, in your own notebook or module: the API every labkit lesson is written with.

An exercise is a task, up to three hints, and a check. The check looks only at what the cluster shows
(its state, its events, its timeline), never at the student's code, so any correct way of getting there
passes, on any backend. It returns the problems it sees, in the student's words (an empty list: passed).
Copy this into a notebook cell (or a module) and change it:

    import labkit as lk
    from labkit import exercises
    from labkit.exercises import Exercise, Lesson, delete_workload, praise, workload_problems

    @praise("You asked for two copies and the cluster made them.")       # added to "✔ passed"
    def check_hello(cluster) -> list[str]:
        return workload_problems(cluster.state(), "hello", 2, image="web-server:1")

    def reset_hello(cluster) -> str:                                      # optional: says what it undid
        return "deleted hello" if delete_workload(cluster, "hello") else "nothing to undo"

    Lesson("intro", title="A first deployment", exercises=[
        Exercise("hello", "deploy `hello` (web-server:1) with 2 replicas and wait until both run",
                 hints=("a nudge: where to look, no code",
                        "the command: cluster.deploy(...) with image=... and replicas=...",
                        "the solution: cluster.deploy('hello', image='web-server:1', replicas=2); cluster.wait()"),
                 check=check_hello, wrong="one replica, or another image", reset=reset_hello),
    ])

    cluster = lk.connect(nodes=3)
    lab = exercises.lab("intro")        # what students use; `lab` lists the exercises
    lab.check("hello", cluster)         # ✘ intro.hello: not yet. - there is no workload named 'hello' ...
    lab.hint("hello")                   # hint 1 of 3 (a nudge); again: 2 of 3, then the solution
    lab.reset("hello", cluster)         # ↺ back where the exercise starts, to try again

`Lesson(name, title=..., exercises=[...])` registers the lesson when it is made (running its cell again
replaces it): `exercises.lab(name)` opens it, `exercises.check("intro.hello", cluster)` checks by full
id, and `labkit grade` tables its exercises (every check also writes its result to `$LABKIT_RESULTS`
when that is set). Names are letters, digits, `-` and `_`; labkit's own lessons are numbered (00, 01, ...).
A lesson in a module of yours passes `helpers=__name__`: then `lab.NAME` reaches the module's functions.

What an `Exercise` declares (see `help(Exercise)`):

- `name`, `task` (one sentence), `hints` (one to three, in order: a nudge, the command, the solution;
  each `lab.hint` shows the next, and a check never shows one), `check`;
- `wrong`: the wrong attempt(s) its check must refuse, in words (test them: labkit's tests/test_lessons.py);
- `reset` (optional): puts the cluster back where the exercise starts and says what it did; a check's
  problem that means the attempt cannot go on from here is a `Stuck("...")`, and its report then names
  `lab.reset(...)`;
- `needs` (optional): asked before the check and before a reset, of the same cluster(s): the problems
  that mean the exercise's start is not there yet ("do intro.hello first: ...");
- a check that wants an answer takes it by keyword: `lab.check("lost", site, lost=12)` calls
  `check(site, lost=12)`; a check of two clusters takes both: `lab.check("race", kube, swarm)`.

The questions a check asks, all read-only (a `state` is `cluster.state()`, read once per check):

- replicas and nodes: `ready_replicas(state, name)`, `workload_problems(state, name, replicas, image=None)`,
  `pending_count(state, name=None)`, `nodes_running(state, name)`, `workers(state)`,
  `nodes_down(state, role=None)`, `managers(state)`, `managers_down(state)`, `components_down(state)`;
- events: `events_about(cluster, reason=..., object=..., since=...)`, `switched_off_at(cluster)`;
- the timeline (a workload's summary each time it changed): `timeline_of(cluster, name, since)`,
  `scaled_at(cluster, name, replicas)`, `ever_below(cluster, name, available, since)`,
  `last_rollout(cluster, name, since)` (a `Rollout`: how long, fewest available, most replicas),
  `scaled_before_failure_problems(cluster, name, replicas, lost)`;
- traffic: `last_traffic(cluster, name, since)`, `lost_request_problems(...)`;
- since when: `reset_at(cluster, "intro.hello")`, the cluster time of the exercise's last reset (a
  check of what happened reads only what happened since);
- before a lesson starts: `enough_workers(cluster, 3)`; in a reset: `delete_workload(cluster, name)`.

A reset that cannot start over raises `NotFound(what is wrong, what to do)`: `lab.reset` shows it as
one line. `labkit new lesson NAME` writes a lesson folder that starts from this example.
"""
from __future__ import annotations

import re
from dataclasses import KW_ONLY, dataclass
from typing import Any

from .errors import InvalidInput, NotFound
from .lessons import (Exercise, Hint, Lab, Reset, Result, Stuck, check, hint, lab, praise, register, reset, reset_at,
                      student)
from .lessons._checks import (Rollout, components_down, delete_workload, enough_workers, events_about, ever_below,
                              last_rollout, last_traffic, lost_request_problems, managers, managers_down, nodes_down,
                              nodes_running, pending_count, ready_replicas, scaled_at, scaled_before_failure_problems,
                              switched_off_at, timeline_of, workers, workload_problems)

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")  # no dot: an exercise's id is "<lesson>.<exercise>"


@dataclass(frozen=True)
class Lesson:
    """A lesson: its exercises under one name, registered when made (see the module's docstring).

        Lesson("intro", title="A first deployment", exercises=[Exercise(...), ...])"""

    name: str
    _: KW_ONLY
    title: str
    exercises: tuple[Exercise, ...]
    helpers: Any = None  # a module (or its name) whose functions `lab.NAME` reaches

    def __post_init__(self) -> None:
        exercises = tuple(self.exercises)
        if not isinstance(self.name, str) or not NAME.fullmatch(self.name):
            raise InvalidInput(f"{self.name!r} cannot name a lesson",
                               "use letters, digits, - and _ (at most 40, no dot), e.g. Lesson(\"intro\", ...)")
        if not isinstance(self.title, str) or not self.title.strip():
            raise InvalidInput(f"lesson {self.name} has no title", 'say what it is about: title="A first deployment"')
        if not exercises or not all(isinstance(e, Exercise) for e in exercises):
            raise InvalidInput(f"lesson {self.name} needs a list of Exercise(...)",
                               "exercises=[Exercise(name, task, hints=..., check=...)]")
        names = [e.name for e in exercises]
        for name in names:
            if not NAME.fullmatch(name) or names.count(name) > 1:
                raise InvalidInput(f"lesson {self.name}: {name!r} cannot name one of its exercises",
                                   "give each a name of its own: letters, digits, - and _, no dot")
        object.__setattr__(self, "exercises", exercises)
        register(self)


__all__ = [
    # declaring
    "Exercise", "Lesson", "Stuck", "praise", "NotFound",
    # using (what a notebook calls)
    "lab", "check", "hint", "reset", "student", "Lab", "Result", "Hint", "Reset",
    # the questions a check asks
    "ready_replicas", "workload_problems", "pending_count", "nodes_running", "workers", "nodes_down", "managers",
    "managers_down", "components_down", "events_about", "switched_off_at", "timeline_of", "scaled_at", "ever_below",
    "last_rollout", "Rollout", "last_traffic", "lost_request_problems", "scaled_before_failure_problems", "reset_at",
    # what a lesson does to a cluster: before it starts, and in a reset
    "enough_workers", "delete_workload",
]
