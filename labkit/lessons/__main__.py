"""`python -m labkit.lessons`: every exercise, what it asks, the wrong attempt its check refuses, and
its hints, tier by tier (what `lab.hint(...)` shows, one call at a time)."""
from . import MODULES, lab, tier_name


def main() -> None:
    for number in MODULES:
        for exercise in lab(number).exercises.values():
            print(f"{number}.{exercise.name}\n  task:  {exercise.task}\n  wrong: {exercise.wrong}")
            for tier, text in enumerate(exercise.hints, 1):
                name = tier_name(tier, len(exercise.hints))
                lines = text.splitlines()
                print(f"  hint {tier} of {len(exercise.hints)} ({name}): {lines[0]}")
                print("".join(f"      {line}\n" for line in lines[1:]), end="")


if __name__ == "__main__":
    main()
