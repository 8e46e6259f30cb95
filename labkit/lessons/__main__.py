"""`python -m labkit.lessons`: every exercise, what it asks, and the wrong attempt its check refuses."""
from . import MODULES, lab

for number in MODULES:
    for exercise in lab(number).exercises.values():
        print(f"{number}.{exercise.name}\n  task:  {exercise.task}\n  wrong: {exercise.wrong}")
