"""The course's exercises and their checks, one small module per lesson.

Every lesson ends with exercises the student does alone. A check looks only
at what the cluster shows (its `ClusterState`, its events and its timeline),
never at the student's code, so it works on any backend and accepts any
correct way of getting there. It prints `✔ passed`, or what is still wrong
and a hint:

    from labkit.lessons import lab
    lab = lab("02")                  # the exercises of lesson 02
    lab                              # lists them
    lab.check("scale", cluster)      # ✔ passed / ✘ not yet: ... hint: ...
    lab.hint("scale")

    labkit.lessons.check("02.scale", cluster)   # the same, by full id

A lesson module defines `TITLE` and `EXERCISES`, a list of `Exercise`. Each
names the wrong attempt its check refuses (`Exercise.wrong`): together they
are the table of what a check catches; `python -m labkit.lessons` prints it.
A check function takes the cluster(s) and any answers the exercise asks
for, and returns the problems it sees (an empty list means passed).
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import LabkitError, NotFound

MODULES = {
    "00": "start_here",
    "01": "why",
    "02": "swarm",
    "03": "kubernetes",
    "04": "rollouts",
    "05": "architecture",
    "06": "healing",
    "07": "choosing",
}


@dataclass(frozen=True)
class Exercise:
    """One exercise: its short name, the task in a sentence, a hint, the check, and the wrong
    attempt the check must refuse (tests/test_lessons.py tries each one)."""

    name: str
    task: str
    hint: str
    check: Callable[..., list[str]]
    wrong: str = ""


@dataclass(frozen=True)
class Result:
    """What a check found. True when passed; prints as a short report."""

    id: str
    problems: tuple[str, ...]
    hint: str = ""
    praise: str = ""

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
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)

    __repr__ = __str__


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
            return Result(full, ("its cluster is not made yet: the exercise's cell sets it (it is still None)",),
                          exercise.hint, praise)
        try:
            problems = exercise.check(*clusters, **answers)
        except LabkitError as error:  # e.g. the API server refuses: that is something to fix, not a crash
            problems = [f"the cluster said: {error.message}" + (f" ({error.hint})" if error.hint else "")]
        except TypeError as error:
            problems = [f"this check is called differently: {error}"]
        return Result(full, tuple(problems), exercise.hint, praise)

    def hint(self, name: str) -> str:
        exercise = self.exercise(name)
        print(f"hint for {self.number}.{exercise.name}: {exercise.hint}")
        return None

    def __getattr__(self, name: str):
        # Lesson helpers (e.g. lab.mystery_outage) come from the lesson's module.
        if name.startswith("_") or self.module is None or not hasattr(self.module, name):
            raise AttributeError(name)
        return getattr(self.module, name)

    def __repr__(self) -> str:
        lines = [f"Lesson {self.number} · {self.title}: {len(self.exercises)} exercises"]
        lines += [f"  {self.number}.{e.name}: {e.task}" for e in self.exercises.values()]
        return "\n".join(lines)


def lab(number: str | int) -> Lab:
    """The exercises of lesson `number` ("02" or 2)."""
    key = f"{int(number):02d}" if str(number).isdigit() else str(number)
    if key not in MODULES:
        raise NotFound(f"no exercises for lesson {number!r}", f"lessons with exercises: {', '.join(MODULES)}")
    module = importlib.import_module(f".{MODULES[key]}", __name__)
    return Lab(key, module.TITLE, module.EXERCISES, module)


def check(id: str, *clusters, **answers) -> Result:
    """`check("02.scale", cluster)`: check one exercise by its full id."""
    number, _, name = id.partition(".")
    if not name:
        raise NotFound(f"{id!r} is not an exercise id", 'ids look like "02.scale"')
    return lab(number).check(name, *clusters, **answers)


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


__all__ = ["Exercise", "Result", "Lab", "lab", "check", "praise", "student"]
