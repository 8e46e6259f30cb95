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
*Run All* on the student edition runs clean and each check says "not yet" with its hint. nbgrader's
`### BEGIN HIDDEN TESTS` / `### END HIDDEN TESTS` blocks go out whole (no stub): tests only the
instructor's edition runs.

Why markers in a source edition rather than solutions hidden in the package: the instructor edits
one notebook where each solution sits in its cell, runs it, and sees its check pass; nbgrader users
know the markers; and CI runs both editions under nbval (every solution passes, every check fails
on the untouched edition).

    labkit student solutions notebooks    # what `make student` runs; any folder of notebooks works

Writing is all or nothing: every notebook is read and converted first (a missing folder, a notebook
that is not JSON or has unbalanced markers stops the run before anything is written), then each is
written to a temporary file beside its target and renamed over it, so no target is ever half written.
Running it again, or on an edition with no markers left, gives the same files.
"""
from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path

from ..errors import InvalidInput, NotFound

BEGIN, END, STUB = "### BEGIN SOLUTION", "### END SOLUTION", "# YOUR CODE HERE"
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
_SOLUTION = re.compile(rf"^([ \t]*){re.escape(BEGIN)}[ \t]*\n.*?^[ \t]*{re.escape(END)}[ \t]*(\n|\Z)",
                       re.MULTILINE | re.DOTALL)
_HIDDEN = re.compile(rf"^[ \t]*{re.escape(HIDDEN_BEGIN)}[ \t]*\n.*?^[ \t]*{re.escape(HIDDEN_END)}[ \t]*(\n|\Z)",
                     re.MULTILINE | re.DOTALL)


def has_solution(source: str) -> bool:
    return BEGIN in source


def student_source(source: str) -> str:
    """A cell's source with every solution replaced by the stub and every hidden test taken out;
    refuses unbalanced markers."""
    for begin, end in ((BEGIN, END), (HIDDEN_BEGIN, HIDDEN_END)):
        if source.count(begin) != source.count(end):
            raise ValueError(f"unbalanced {begin!r} / {end!r} markers in:\n{source}")
    out = _HIDDEN.sub("", source)
    out = _SOLUTION.sub(lambda m: f"{m.group(1)}{STUB}{m.group(2)}", out)
    if any(marker in out for marker in (BEGIN, END, HIDDEN_BEGIN, HIDDEN_END)):
        raise ValueError(f"markers out of order in:\n{source}")
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
    """Write the student edition of every notebook in `source_dir` into `target_dir` (outputs
    cleared: `make notebooks` runs them and stores what a student sees). All or nothing: see the
    module's docstring. Raises NotFound (no such folder, no notebook in it) or InvalidInput (a
    notebook that is not JSON, markers unbalanced, the target the source itself)."""
    import nbformat
    source_dir, target_dir = Path(source_dir), Path(target_dir)
    if not source_dir.is_dir():
        raise NotFound(f"no folder {str(source_dir)!r}", "name the folder of solved notebooks, e.g. solutions")
    paths = sorted(source_dir.glob("*.ipynb"))
    if not paths:
        raise NotFound(f"no notebook (*.ipynb) in {str(source_dir)!r}", "name the folder of solved notebooks")
    if target_dir.exists() and target_dir.resolve() == source_dir.resolve():
        raise InvalidInput("the students' edition would overwrite its source", "name another target folder")
    if target_dir.exists() and not target_dir.is_dir():
        raise InvalidInput(f"{str(target_dir)!r} is a file, not a folder", "name a folder to write into")
    editions = []
    for path in paths:  # every notebook first: a bad one stops the run before anything is written
        try:
            notebook = nbformat.read(path, as_version=4)
            text = nbformat.writes(nbformat.from_dict(student_notebook(notebook)))
        except (json.JSONDecodeError, nbformat.reader.NotJSONError, UnicodeDecodeError) as error:
            raise InvalidInput(f"{path} is not a notebook (not JSON): {error}",
                               "open it in Jupyter and save it again, or move it out of the folder") from None
        except (ValueError, KeyError, TypeError) as error:
            raise InvalidInput(f"{path}: {error}",
                               "fix its markers (### BEGIN SOLUTION ... ### END SOLUTION)") from None
        editions.append((target_dir / path.name, text))
    target_dir.mkdir(parents=True, exist_ok=True)
    for target, text in editions:
        _write_atomically(target, text)
    return [target for target, _ in editions]


def _write_atomically(target: Path, text: str) -> None:
    """A temporary file beside `target`, renamed over it: a reader sees the old file or the new one."""
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    umask = os.umask(0)
    os.umask(umask)
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~umask  # not mkstemp's 0600
    try:
        os.chmod(temporary, mode)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text if text.endswith("\n") else text + "\n")  # what nbformat.write writes
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def main(source: str, target: str) -> int:
    """`labkit student SRC DST`: one line per notebook written, or one error and its hint."""
    try:
        written = write_student_edition(Path(source), Path(target))
    except (NotFound, InvalidInput) as error:
        print(f"labkit student: {error.message}\n  {error.hint}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*(sys.argv[1:3] if len(sys.argv) == 3 else ("solutions", "notebooks"))))
