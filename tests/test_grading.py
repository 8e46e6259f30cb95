"""The instructor's two commands (issue #25): `labkit student SRC DST` writes the students' edition of
any folder of notebooks, and `labkit grade NOTEBOOKS...` runs notebooks headless on the simulator, one
kernel each, and tables every exercise's result, a notebook that raises or hangs included.

Lesson 00 is the one graded: the shortest (its kernel runs it in about a second)."""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from labkit import cli
from labkit.lessons import editions, grading

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "solutions" / "00-start-here.ipynb"
EXERCISES = ["00.hello", "00.heal"]


def sources(path: Path) -> str:
    return "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")


# -- labkit student ---------------------------------------------------------------------------------

def test_student_replaces_the_solutions_and_running_it_again_changes_nothing(tmp_path, capsys):
    source, target = tmp_path / "solved", tmp_path / "students"
    source.mkdir()
    shutil.copy(LESSON, source)
    assert cli.main(["student", str(source), str(target)]) == 0
    written = target / LESSON.name
    assert f"wrote {written}" in capsys.readouterr().out
    text = sources(written)
    assert editions.STUB in text and editions.BEGIN not in text and editions.END not in text
    assert 'deploy("hello-minikube"' not in text and "hello.scale(4)" not in text
    assert all(not c.get("outputs") for c in json.loads(written.read_text())["cells"] if c["cell_type"] == "code")
    first = written.read_bytes()
    assert cli.main(["student", str(source), str(target)]) == 0 and written.read_bytes() == first
    again = tmp_path / "again"  # the students' edition of the students' edition: the same
    assert cli.main(["student", str(target), str(again)]) == 0 and (again / LESSON.name).read_bytes() == first
    assert [p.name for p in target.iterdir()] == [LESSON.name]  # no temporary file left behind


def test_hidden_tests_go_out_whole():
    cell = ("x = 1\n### BEGIN SOLUTION\nx = 2\n### END SOLUTION\n"
            "### BEGIN HIDDEN TESTS\nassert x == 2\n### END HIDDEN TESTS\n")
    assert editions.student_source(cell) == "x = 1\n# YOUR CODE HERE\n"


def test_student_refuses_bad_input_and_writes_nothing(tmp_path, capsys):
    assert cli.main(["student", str(tmp_path / "nowhere"), str(tmp_path / "out")]) == 1
    assert "no folder" in capsys.readouterr().err
    source = tmp_path / "solved"
    source.mkdir()
    assert cli.main(["student", str(source), str(tmp_path / "out")]) == 1
    assert "no notebook" in capsys.readouterr().err
    shutil.copy(LESSON, source / "00.ipynb")
    (source / "01.ipynb").write_text("{this is not json")
    assert cli.main(["student", str(source), str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "01.ipynb is not a notebook (not JSON)" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()  # the good notebook was not written either
    (source / "01.ipynb").write_text(nbformat.writes(new_notebook(cells=[new_code_cell("### BEGIN SOLUTION\nx = 1")])))
    assert cli.main(["student", str(source), str(tmp_path / "out")]) == 1
    assert "unbalanced" in capsys.readouterr().err and not (tmp_path / "out").exists()
    (source / "01.ipynb").unlink()
    assert cli.main(["student", str(source), str(source)]) == 1  # never over its own source
    assert "overwrite its source" in capsys.readouterr().err


# -- labkit grade -----------------------------------------------------------------------------------

def table(out: Path) -> list[dict]:
    rows = json.loads((out / "results.json").read_text())
    with open(out / "results.csv", newline="") as file:
        assert [row["exercise"] for row in csv.DictReader(file)] == [row["exercise"] for row in rows]
    assert (out / "results.html").read_text().startswith("<!doctype html>")
    return rows


def test_grade_the_solved_lesson_and_its_students_edition(tmp_path, capsys):
    shutil.copy(LESSON, tmp_path / "solved.ipynb")
    editions.write_student_edition(LESSON.parent, tmp_path / "students")  # all lessons: converting is quick
    untouched = tmp_path / "students" / LESSON.name
    out = tmp_path / "results"
    assert cli.main(["grade", str(tmp_path / "solved.ipynb"), str(untouched), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "LABKIT_BACKEND=sim" in printed and "[1/2]" in printed and "[2/2]" in printed
    assert "ok: 2 of 2 exercises passed" in printed and "ok: 0 of 2 exercises passed" in printed
    rows = table(out)
    assert [(Path(r["notebook"]).name, r["exercise"], r["passed"], r["status"]) for r in rows] == \
        [("solved.ipynb", e, True, "ok") for e in EXERCISES] + [(LESSON.name, e, False, "ok") for e in EXERCISES]
    assert all(r["said"].startswith("✔") for r in rows[:2]) and all("not yet" in r["said"] for r in rows[2:])


def test_a_notebook_that_raises_hangs_dies_or_is_no_notebook_is_reported_and_the_run_goes_on(tmp_path, capsys):
    def notebook(name: str, *cells: str) -> Path:
        nbformat.write(new_notebook(cells=[new_code_cell(c) for c in cells]), tmp_path / name)
        return tmp_path / name

    solved = nbformat.read(LESSON, as_version=4)  # both exercises pass, then it hangs: they still count
    solved.cells.append(new_code_cell("import time\ntime.sleep(600)"))
    nbformat.write(solved, tmp_path / "hangs.ipynb")
    raises = notebook("raises.ipynb", "from labkit import lessons\nlab = lessons.lab('00')", "1 / 0")
    dies = notebook("dies.ipynb", "import os\nos._exit(1)")
    (tmp_path / "broken.ipynb").write_text("{not json")
    engine = notebook("engine.ipynb", "import os\nassert os.environ['LABKIT_BACKEND'] == 'sim', os.environ")
    paths = [tmp_path / "hangs.ipynb", raises, dies, tmp_path / "broken.ipynb", engine]
    out = tmp_path / "results"
    assert cli.main(["grade", *map(str, paths), "--out", str(out), "--timeout", "8"]) == 1  # not all ran
    assert "[5/5]" in capsys.readouterr().out
    rows = {(Path(r["notebook"]).stem, r["exercise"]): r for r in table(out)}
    assert rows["hangs", "00.hello"]["status"] == "timeout after 8 s"
    assert rows["hangs", "00.hello"]["passed"] and rows["hangs", "00.heal"]["passed"]
    assert rows["raises", "00.hello"]["status"] == "raised ZeroDivisionError: division by zero"
    assert not rows["raises", "00.heal"]["passed"] and rows["raises", "00.heal"]["said"].startswith("not checked")
    assert rows["dies", ""]["status"] == "kernel died"
    assert rows["broken", ""]["status"].startswith("not a notebook")
    assert rows["engine", ""]["status"] == "ok"


def test_a_channel_line_cut_short_or_forged_is_left_out(tmp_path):
    channel = tmp_path / "results.jsonl"
    channel.write_text('{"lesson": "00", "exercises": ["00.hello", "00.heal"]}\n'
                       '{"id": "00.hello", "passed": true, "said": "passed"}\n[1, 2]\n"text"\n{"id": "00.he')
    rows = grading.rows_of("nb.ipynb", "ok", grading._lines(channel), 1.0)
    assert [(r.exercise, r.passed) for r in rows] == [("00.hello", True), ("00.heal", False)]


def test_a_lesson_opened_only_for_a_helper_is_not_the_notebooks():
    lines = [{"lesson": "07", "exercises": ["07.race"]}, {"lesson": "04b", "exercises": ["04b.canary"]},
             {"id": "07.race", "passed": True, "said": "passed"}]
    assert [r.exercise for r in grading.rows_of("07.ipynb", "ok", lines, 1.0)] == ["07.race"]
    lines.append({"id": "04b.canary", "passed": False, "said": "not yet"})  # checked: it counts
    assert [r.exercise for r in grading.rows_of("07.ipynb", "ok", lines, 1.0)] == ["07.race", "04b.canary"]


@pytest.mark.parametrize("argv", [["grade"], ["grade", "x.ipynb", "--timeout", "0"]])
def test_grade_refuses_a_bad_command_line(argv, capsys):
    try:
        code = cli.main(argv)
    except SystemExit as exit:  # argparse: no notebook named
        code = exit.code
    assert code == 2
