"""The course's shape: every lesson short enough to hold in one's head, and the student's hands on it.

Each lesson (solutions/, the source) has at most MAX_CELLS cells, at most two cluster handles
alive at a time (a third comes only after one is closed), no handle name bound to two clusters,
and at least a third of its code cells typed by the student (a `### BEGIN SOLUTION` block: the
students' edition shows only the cell's `# Type here` line), the first of them in the lesson's
first half: predict-then-type steps through the lesson, not only exercises at its end.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "solutions").glob("[0-9][0-9]*.ipynb"))
MAX_CELLS = 35
HANDLES = re.compile(r"^(\w+)\s*=\s*(?:lk|labkit)\.connect\(|^(\w+)\.close\(\)", re.MULTILINE)


def problems(path: Path) -> list[str]:
    """What is wrong with a lesson's shape (nothing: [])."""
    cells = nbformat.read(path, as_version=4).cells
    code = [c.source for c in cells if c.cell_type == "code"]
    found = []
    if len(cells) > MAX_CELLS:
        found.append(f"{len(cells)} cells, more than {MAX_CELLS}: split it")
    typed = [i for i, source in enumerate(code) if "### BEGIN SOLUTION" in source]
    if 3 * len(typed) < len(code):
        found.append(f"{len(typed)} of {len(code)} code cells typed by the student, less than a third")
    if not typed or typed[0] >= len(code) / 2:
        found.append("nothing typed in the lesson's first half")
    alive: set[str] = set()
    named: list[str] = []
    for source in code:
        for made, closed in HANDLES.findall(source):
            if made:
                alive.add(made)
                named.append(made)
                if len(alive) > 2 and not any("alive at once" in f for f in found):
                    found.append(f"{sorted(alive)} alive at once (close one first)")
            else:
                alive.discard(closed)
    reused = sorted({n for n in named if named.count(n) > 1})
    if reused:
        found.append(f"{reused} name two different clusters")
    return found


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem.split("-")[0] for p in LESSONS])
def test_a_lesson_is_short_holds_two_clusters_at_most_and_the_student_types_a_third(path: Path):
    assert problems(path) == [], path.name


def test_the_rules_refuse_a_long_lesson_read_aloud(tmp_path: Path):
    """A lesson as 02 was before the split: 65 cells, three clusters alive, a name reused, all demos."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("text") for _ in range(60)] + [
        nbformat.v4.new_code_cell(s) for s in ("a = lk.connect()", "b = lk.connect()", "c = lk.connect()",
                                               "a.close()", "a = lk.connect()")]
    path = tmp_path / "99-long.ipynb"
    nbformat.write(nb, path)
    found = problems(path)
    assert len(found) == 5, found
