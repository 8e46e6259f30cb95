"""`python -m labkit.lessons`: every exercise, what it asks, what it needs first, the wrong attempt its
check refuses, and its hints, tier by tier (what `lab.hint(...)` shows, one call at a time); then how
to write one's own (labkit.exercises)."""
from . import MODULES, lab, tier_name

OWN = """
Your own exercises: declare them with labkit.exercises (Exercise, Lesson, and the checks' questions:
workload_problems, ready_replicas, events_about, timeline_of, ever_below, last_rollout, last_traffic ...),
as every lesson above is written; help(labkit.exercises) shows an example to copy, and
`labkit new lesson NAME` starts a lesson folder with one exercise, its check and its next steps."""


def main() -> None:
    for number in MODULES:
        for exercise in lab(number).exercises.values():
            print(f"{number}.{exercise.name}\n  task:  {exercise.task}\n  wrong: {exercise.wrong}")
            if exercise.needs is not None:
                print(f"  needs: {exercise.needs.__name__.replace('_', ' ')} (asked before its check and its reset)")
            for tier, text in enumerate(exercise.hints, 1):
                name = tier_name(tier, len(exercise.hints))
                lines = text.splitlines()
                print(f"  hint {tier} of {len(exercise.hints)} ({name}): {lines[0]}")
                print("".join(f"      {line}\n" for line in lines[1:]), end="")
    print(OWN)


if __name__ == "__main__":
    main()
