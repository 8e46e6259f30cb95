"""The course's exercises and their checks, one small module per lesson.

Every lesson ends with exercises the student does alone. A check looks only
at what the cluster shows (its `ClusterState`, its events and its timeline),
never at the student's code, so it works on any backend and accepts any
correct way of getting there. It prints `✔ passed`, or what it sees that is
still wrong, and where a hint is; it never prints the hint itself:

    from labkit.lessons import lab
    lab = lab("02")                  # the exercises of lesson 02
    lab                              # lists them
    lab.check("quorum", ha5)         # ✔ passed / ✘ not yet: what it sees; stuck? lab.hint("02.quorum")
    lab.hint("quorum")               # hint 1 of 3, a nudge; again: 2 of 3, the command; then the solution
    lab.reset("04.canary", k8s)      # an exercise with a cluster to undo: back where it starts, to try again

    labkit.lessons.check("02.quorum", ha5)   # the same, by full id (and labkit.lessons.hint("02.quorum"))

Hints come in tiers, at most three: a nudge (where to look), the command (what to type), the solution
(all of it). Each `hint()` call shows the next tier; `hint(name, tier)` shows that one. In a notebook a
failed check also shows a button that shows the next tier under it. The students' edition stores
what a check printed before the student's first try (tests/test_hints.py): no hint is in it.

How to write exercises and lessons of your own, and the questions a check asks of a cluster:
`labkit.exercises` (labkit/exercises.py), the public API every lesson here is written with. In short:
an `Exercise` names the wrong attempt its check refuses (`Exercise.wrong`): together they are the table
of what a check catches; `python -m labkit.lessons` prints it, with every exercise's hints. A check
takes the cluster(s) and any answers the exercise asks for, and returns the problems it sees (an empty
list means passed). A problem that means the attempt cannot go on is a `Stuck`: the report then names
`lab.reset(...)`, which puts the cluster back where the exercise starts (`Exercise.reset`). A lesson is
registered when its `labkit.exercises.Lesson` is made; labkit's own (`MODULES`) when `lab(number)`
first imports their module.

When `$LABKIT_RESULTS` names a file, every check also appends its result to it as one JSON line
(`{"id", "passed", "said", "at"}`), and `lab(number)` a line naming the lesson's exercises: the
channel `labkit grade` (labkit/lessons/grading.py) reads. Unset, nothing is written.
"""
from __future__ import annotations

import importlib
import json
import os
import time
import weakref
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import InvalidInput, LabkitError, NotFound

MODULES = {
    "00": "start_here",
    "01": "why",
    "02": "swarm",
    "02b": "swarm_managers",
    "03": "kubernetes",
    "04": "rollouts",
    "04b": "canaries",
    "05": "architecture",
    "06": "healing",
    "07": "choosing",
    "08": "troubleshooting",
    "09": "autoscaling",
}


TIERS = ("a nudge", "the command", "the solution")


class Stuck(str):
    """A problem that means this attempt cannot go on from where the cluster is (running the cell
    again changes nothing): the check's report then says how to start over (`lab.reset`)."""


@dataclass(frozen=True)
class Exercise:
    """One exercise: its short name, the task in a sentence, its hints, the check, and the wrong
    attempt the check must refuse (tests/test_lessons.py tries each one).

    `hints`: up to three tiers, in order: a nudge (where to look, no code), the command (what to
    type, not all of it), the solution (all of it). One string is one tier."""

    name: str
    task: str
    hints: tuple[str, ...] | str
    check: Callable[..., list[str]]
    wrong: str = ""
    # Puts the check's cluster(s) back where the exercise starts, and says what it did (None: the
    # exercise's cell can simply run again).
    reset: Callable[..., str] | None = None
    # Asked first, of the same cluster(s): the problems that mean the exercise's start is not there yet
    # (an earlier exercise not done). The check then reports them instead, and reset refuses with them.
    needs: Callable[..., list[str]] | None = None

    def __post_init__(self) -> None:
        hints = (self.hints,) if isinstance(self.hints, str) else tuple(self.hints)
        if not 1 <= len(hints) <= len(TIERS) or not all(hints):
            raise ValueError(f"exercise {self.name!r}: one to {len(TIERS)} hints, none empty")
        object.__setattr__(self, "hints", hints)

    @property
    def hint(self) -> str:
        """Every tier, one a line (what tests look for in an output)."""
        return "\n".join(self.hints)


def tier_name(tier: int, of: int) -> str:
    """What hint `tier` (1-based) of `of` is: the last is the solution, the first a nudge."""
    if tier == of and of > 1:
        return TIERS[-1]
    return TIERS[tier - 1] if tier < len(TIERS) else TIERS[-1]


_shown: dict[str, int] = {}  # exercise id -> the last hint tier shown (this kernel's, not saved)
# exercise id -> (weak references to) the clusters its last check or reset read: lab.reset's default
_checked: dict[str, tuple[weakref.ref, ...]] = {}
# cluster -> {exercise id: cluster time of the exercise's last reset there}
_resets: "weakref.WeakKeyDictionary[Any, dict[str, float]]" = weakref.WeakKeyDictionary()


def _remember(exercise_id: str, clusters: tuple) -> None:
    _checked[exercise_id] = tuple(weakref.ref(cluster) for cluster in clusters)


def _remembered(exercise_id: str) -> tuple:
    clusters = tuple(ref() for ref in _checked.get(exercise_id, ()))
    return clusters if all(cluster is not None for cluster in clusters) else ()


@dataclass(frozen=True)
class Hint:
    """One tier of an exercise's hints, and how to see the next."""

    id: str
    tier: int
    of: int
    text: str

    def __str__(self) -> str:
        lines = [f"{self.id} · hint {self.tier} of {self.of} ({tier_name(self.tier, self.of)}):"]
        lines += [f"  {line}" for line in self.text.splitlines()]
        if self.tier < self.of:
            lines.append(f'  still stuck? lab.hint("{self.id}") again shows hint {self.tier + 1} of {self.of} '
                         f"({tier_name(self.tier + 1, self.of)})")
        else:
            lines.append(f'  that was the last one; lab.hint("{self.id}", 1) starts again')
        return "\n".join(lines)

    __repr__ = __str__


@dataclass(frozen=True)
class Result:
    """What a check found. True when passed; prints as a short report: what the check sees, and
    where the hints are (never a hint itself)."""

    id: str
    problems: tuple[str, ...]
    hints: int = 0
    praise: str = ""
    stuck: bool = False  # the attempt cannot go on: the report names lab.reset

    @property
    def passed(self) -> bool:
        return not self.problems

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        if self.passed:
            return f"✔ {self.id}: passed." + (f" {self.praise}" if self.praise else "")
        lines = [f"✘ {self.id}: not yet."]
        lines += [f"  - {problem}" for problem in self.problems]
        if self.stuck:
            lines.append(f'  start over: lab.reset("{self.id}") puts the cluster back where this exercise starts; '
                         "then run your cell again")
        if self.hints:
            tiers = ", ".join(tier_name(t, self.hints) for t in range(1, self.hints + 1))
            lines.append(f'  stuck? lab.hint("{self.id}") shows a hint; call it again for the next '
                         f"({self.hints} in all: {tiers})")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_mimebundle_(self, include=None, exclude=None):
        """In a widget front end, the report with a button under it that shows the next hint; the
        text alone anywhere else, and when a notebook is run headless (what it stores is text)."""
        data = {"text/plain": str(self)}
        if self.passed or not self.hints:
            return data
        try:
            from . import _button
            if not _button.interactive():
                return data
            number, _, name = self.id.partition(".")
            hints = lab(number).exercise(name).hints
        except Exception:  # no ipywidgets, or a lesson of a test: the text names lab.hint(...)
            return data

        def label(tier: int) -> str | None:
            return f"hint {tier} of {len(hints)}: {tier_name(tier, len(hints))}" if tier <= len(hints) else None

        def next_hint() -> tuple[str, str | None]:
            shown = show_hint(self.id, hints)
            return str(shown), label(shown.tier + 1)

        view = _button.hint_button(str(self), label(min(_shown.get(self.id, 0), len(hints)) + 1), next_hint)
        return {**view, "text/plain": str(self)}  # the report, not the widget's repr


def show_hint(exercise_id: str, hints: tuple[str, ...], tier: int | None = None) -> Hint:
    """The next tier of `hints` (or `tier`), remembered as shown."""
    if tier is None:
        tier = min(_shown.get(exercise_id, 0) + 1, len(hints))
    if not 1 <= tier <= len(hints):
        raise NotFound(f"{exercise_id} has {len(hints)} hint(s), not a hint {tier}",
                       f'lab.hint("{exercise_id}") shows the next one')
    _shown[exercise_id] = tier
    return Hint(exercise_id, tier, len(hints), hints[tier - 1])


class Lab:
    """The exercises of one lesson."""

    def __init__(self, number: str, title: str, exercises: list[Exercise], module: Any = None) -> None:
        self.number, self.title, self.module = number, title, module
        self.exercises = {e.name: e for e in exercises}

    def exercise(self, name: str) -> Exercise:
        name = name.split(".", 1)[1] if name.startswith(self.number + ".") else name
        if name not in self.exercises:
            raise NotFound(f"lesson {self.number} has no exercise {name!r}",
                           f"its exercises are: {', '.join(self.exercises)}")
        return self.exercises[name]

    def check(self, name: str, *clusters, **answers) -> Result:
        """Check exercise `name` against the cluster(s) and answers it asks for."""
        exercise = self.exercise(name)
        full = f"{self.number}.{exercise.name}"
        praise = getattr(exercise.check, "praise", "")
        if any(cluster is None for cluster in clusters):  # the student edition's `ha5 = None`, still unset
            return _recorded(Result(full, ("its cluster is not made yet: the exercise's cell sets it (it is "
                                           "still None)",), len(exercise.hints), praise))
        try:
            problems = (exercise.needs and exercise.needs(*clusters)) or exercise.check(*clusters, **answers)
        except LabkitError as error:  # e.g. the API server refuses: that is something to fix, not a crash
            problems = [f"the cluster said: {error.message}" + (f" ({error.hint})" if error.hint else "")]
        except TypeError as error:
            problems = [f"this check is called differently: {error}"]
        if clusters and exercise.reset is not None:
            _remember(full, clusters)
        stuck = exercise.reset is not None and any(isinstance(p, Stuck) for p in problems)
        return _recorded(Result(full, tuple(problems), len(exercise.hints), praise, stuck))

    def reset(self, name: str, *clusters) -> "Reset":
        """Put the cluster(s) of exercise `name` back where the exercise starts, so that its cell can
        run again from the top. Without clusters: the ones its last check (or reset) read. Prints
        what it did (it is usually a cell's first line, whose value a notebook does not show)."""
        exercise = self.exercise(name)
        full = f"{self.number}.{exercise.name}"
        if exercise.reset is None:
            raise NotFound(f"{full} has nothing to reset", "its cell can simply run again")
        clusters = clusters or _remembered(full)
        if not clusters or any(cluster is None for cluster in clusters):
            raise NotFound(f"which cluster should {full} start again on?",
                           f'name it: lab.reset("{exercise.name}", k8s) (the one its check reads)')
        _remember(full, clusters)
        try:
            missing = exercise.needs(*clusters) if exercise.needs else []
            done = "" if missing else exercise.reset(*clusters)
        except LabkitError as error:  # e.g. the cluster refused: say so, do not stop the cell
            missing = [error.message + (f" ({error.hint})" if error.hint else "")]
        if missing:  # e.g. the exercise before it is not done: say so, do not stop the cell
            report = Reset(full, "; ".join(missing), ok=False)
        else:
            for cluster in clusters:
                _resets.setdefault(cluster, {})[full] = cluster.now()
            report = Reset(full, done)
        print(report)
        return report

    def hint(self, name: str, tier: int | None = None) -> Hint:
        """The next hint of exercise `name` (a nudge, then the command, then the solution), or
        hint number `tier`. Shows as text; each call goes one tier further."""
        exercise = self.exercise(name)
        return show_hint(f"{self.number}.{exercise.name}", exercise.hints, tier)

    def __getattr__(self, name: str):
        # Lesson helpers (e.g. lab.mystery_outage) come from the lesson's module.
        if name.startswith("_") or self.module is None or not hasattr(self.module, name):
            raise AttributeError(name)
        return getattr(self.module, name)

    def __repr__(self) -> str:
        lines = [f"Lesson {self.number} · {self.title}: {len(self.exercises)} exercises"]
        lines += [f"  {self.number}.{e.name}: {e.task}" for e in self.exercises.values()]
        return "\n".join(lines)


_lessons: dict[str, Any] = {}  # lesson key -> its labkit.exercises.Lesson, registered when made


def lesson_key(number: str | int) -> str:
    """The key a lesson is known by: "02" for 2 or "2" (labkit's numbered lessons), else the name."""
    return f"{int(number):02d}" if str(number).isdigit() else str(number)


def register(lesson: Any) -> None:
    """Make `lesson` (a `labkit.exercises.Lesson`: name, title, exercises, helpers) what `lab(its
    name)` opens; a lesson made again (its cell run again) replaces the one before. labkit's own
    numbers are their modules' only."""
    key = lesson_key(lesson.name)
    if key in MODULES and lesson.helpers != f"{__name__}.{MODULES[key]}":
        raise InvalidInput(f"lesson {key} is labkit's own ({MODULES[key]})",
                           "give yours a name of its own, e.g. Lesson(\"intro\", ...)")
    _lessons[key] = lesson


def lab(number: str | int) -> Lab:
    """The exercises of lesson `number` ("02" or 2, or the name a `labkit.exercises.Lesson` was made with)."""
    key = lesson_key(number)
    if key in MODULES and key not in _lessons:
        importlib.import_module(f".{MODULES[key]}", __name__)  # the module makes its Lesson
    lesson = _lessons.get(key)
    if lesson is None:
        yours = [k for k in _lessons if k not in MODULES]
        raise NotFound(f"no exercises for lesson {number!r}",
                       f"lessons with exercises: {', '.join([*MODULES, *yours])} (a lesson of yours is known once "
                       "its labkit.exercises.Lesson(...) has run)")
    helpers = importlib.import_module(lesson.helpers) if isinstance(lesson.helpers, str) else lesson.helpers
    _record({"lesson": key, "exercises": [f"{key}.{e.name}" for e in lesson.exercises]})
    return Lab(key, lesson.title, list(lesson.exercises), helpers)


RESULTS = "LABKIT_RESULTS"  # the file `labkit grade` reads the checks' results from


def _record(line: dict) -> None:
    """Append one JSON line to `$LABKIT_RESULTS`, if set (the grader's channel; see the docstring)."""
    path = os.environ.get(RESULTS)
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")


def _recorded(result: "Result") -> "Result":
    _record({"id": result.id, "passed": result.passed, "said": str(result), "at": time.time()})
    return result


@dataclass(frozen=True)
class Reset:
    """What `lab.reset` did, or why it could not; shows as one line."""

    id: str
    done: str
    ok: bool = True

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        if not self.ok:
            return f"↺ {self.id}: cannot start over yet: {self.done}"
        return f"↺ {self.id}: back at its start ({self.done})"

    __repr__ = __str__

    def _ipython_display_(self) -> None:
        """Printed already: a notebook shows it once."""


def reset_at(cluster, exercise_id: str) -> float:
    """When `exercise_id` was last reset on `cluster` (cluster time; 0 if never): a check reads
    only what happened since."""
    return _resets.get(cluster, {}).get(exercise_id, 0.0)


def check(id: str, *clusters, **answers) -> Result:
    """`check("02.scale", cluster)`: check one exercise by its full id."""
    number, _, name = id.partition(".")
    if not name:
        raise NotFound(f"{id!r} is not an exercise id", 'ids look like "02.scale"')
    return lab(number).check(name, *clusters, **answers)


def reset(id: str, *clusters) -> Reset:
    """`reset("04.canary", k8s)`: put an exercise's cluster back where it starts, by full id."""
    number, _, name = id.partition(".")
    if not name:
        raise NotFound(f"{id!r} is not an exercise id", 'ids look like "04.canary"')
    return lab(number).reset(name, *clusters)


def hint(id: str, tier: int | None = None) -> Hint:
    """`hint("02.quorum")`: the next hint of one exercise, by full id."""
    number, _, name = id.partition(".")
    if not name:
        raise NotFound(f"{id!r} is not an exercise id", 'ids look like "02.quorum"')
    return lab(number).hint(name, tier)


def student() -> str:
    """Who does the exercises: `$LABKIT_STUDENT`, else user@host. What a lesson draws at random (the
    mystery outage) is drawn from this, so two students do not share one answer."""
    import getpass
    import socket
    return os.environ.get("LABKIT_STUDENT") or f"{getpass.getuser()}@{socket.gethostname()}"


def praise(text: str) -> Callable:
    """Decorator: what a passed check adds (the idea the exercise was about)."""
    def mark(fn: Callable) -> Callable:
        fn.praise = text
        return fn
    return mark


__all__ = ["Exercise", "Hint", "Reset", "Result", "Stuck", "Lab", "lab", "check", "hint", "reset", "praise",
           "student", "register", "reset_at"]
