"""The course's two editions: `solutions/` (the source, every exercise solved) and `notebooks/`
(what students open: every solution taken out).

In `solutions/`, a solution sits between nbgrader's markers, in a code cell:

    # Exercise 02.quorum: your turn.
    ha5 = None                      # outside the markers: kept in both editions
    ### BEGIN SOLUTION
    ha5 = lk.connect(flavor="swarm", nodes=5, managers=5, name="ha5")
    ...
    ### END SOLUTION

The student edition keeps the lines outside the markers and puts `# YOUR CODE HERE` (nbgrader's own
words) where the solution was, at its indentation. Unlike nbgrader's default stub it raises nothing:
*Run All* on the student edition runs clean and each check says "not yet" with its hint.

Why markers in a source edition rather than solutions hidden in the package: the instructor edits
one notebook where each solution sits in its cell, runs it, and sees its check pass; nbgrader users
know the markers; and CI runs both editions under nbval (every solution passes, every check fails
on the untouched edition).

    python -m labkit.lessons.editions solutions notebooks    # what `make student` runs
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

BEGIN, END, STUB = "### BEGIN SOLUTION", "### END SOLUTION", "# YOUR CODE HERE"
_SOLUTION = re.compile(rf"^([ \t]*){re.escape(BEGIN)}[ \t]*\n.*?^[ \t]*{re.escape(END)}[ \t]*(\n|\Z)",
                       re.MULTILINE | re.DOTALL)


def has_solution(source: str) -> bool:
    return BEGIN in source


def student_source(source: str) -> str:
    """A cell's source with every solution replaced by the stub; refuses unbalanced markers."""
    if source.count(BEGIN) != source.count(END):
        raise ValueError(f"unbalanced solution markers in:\n{source}")
    out = _SOLUTION.sub(lambda m: f"{m.group(1)}{STUB}{m.group(2)}", source)
    if BEGIN in out or END in out:
        raise ValueError(f"solution markers out of order in:\n{source}")
    return out


def student_notebook(notebook: dict) -> dict:
    """The student edition of a notebook (nbformat JSON): solutions out, every output cleared."""
    cells = []
    for cell in notebook["cells"]:
        cell = dict(cell)
        if cell["cell_type"] == "code":
            cell["source"] = student_source("".join(cell["source"]))
            cell["outputs"], cell["execution_count"] = [], None
        cells.append(cell)
    return {**notebook, "cells": cells}


def write_student_edition(source_dir: Path, target_dir: Path) -> list[Path]:
    """Write the student edition of every lesson in `source_dir` into `target_dir` (outputs
    cleared: `make notebooks` runs them and stores what a student sees)."""
    import nbformat
    written = []
    for path in sorted(Path(source_dir).glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        student = nbformat.from_dict(student_notebook(notebook))
        target = Path(target_dir) / path.name
        nbformat.write(student, target)
        written.append(target)
    return written


if __name__ == "__main__":
    source, target = (Path(a) for a in (sys.argv[1:3] if len(sys.argv) == 3 else ("solutions", "notebooks")))
    for path in write_student_edition(source, target):
        print(f"wrote {path}")
