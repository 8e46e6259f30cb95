"""`labkit grade NOTEBOOKS... [--out results] [--timeout 300]`: run students' notebooks headless and
table every exercise's result.

Each notebook runs top to bottom in a fresh kernel of its own (nbclient, kernel `python3`: this
Python's), from the notebook's folder, within `--timeout` seconds in all (the time left is each cell's
limit). A notebook that raises, runs out of time, or whose kernel dies is one status in the table,
never the end of the run: the grader goes on with the next one.

The channel a check's result comes back by: the grader names a fresh file in `$LABKIT_RESULTS` for
each kernel, and every `lab.check(...)` appends one JSON line to it (`{"id", "passed", "said", "at"}`,
labkit/lessons/__init__.py), as does every `lessons.lab("02")` (`{"lesson", "exercises"}`: what there
is to check). The file outlives the kernel, so the checks that ran before a hang or a crash still
count; an exercise of the notebook's lesson (the first it opens, and any it checks an exercise of)
whose check never ran is "not checked". An
exercise checked more than once counts by its last check (lesson 00 checks `hello` before the try
too). A notebook could write that file itself: this is a grader for honest runs, not a proctor.

Every kernel runs on the simulator: `LABKIT_BACKEND=sim`, and DOCKER_HOST and KUBECONFIG point at
nothing, so neither the lessons nor an engine client a student opens reaches a real engine (a
notebook that sets those variables itself is not stopped). Its clock stands still between cells
(`LABKIT_CLOCK=still`, labkit.timekeeping): a notebook's checks see the same cluster however fast
or slow this machine runs it.

Written to `--out` (default `results/`): results.csv and results.json (one row per notebook and
exercise: notebook, status, exercise, passed, said, seconds: how long the notebook ran) and
results.html, one self-contained page.
"""
from __future__ import annotations

import csv
import html
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from . import RESULTS

FIELDS = ("notebook", "status", "exercise", "passed", "said", "seconds")
OK = "ok"
SANDBOX = "grading on the simulator: every kernel runs with LABKIT_BACKEND=sim, DOCKER_HOST and KUBECONFIG " \
          "pointing at nothing (no real engine is reached)"


@dataclass(frozen=True)
class Row:
    """One exercise of one notebook (or the notebook alone, when no exercise is known)."""

    notebook: str
    status: str      # "ok", "raised NameError: ...", "timeout after 300 s", "kernel died", "not a notebook: ..."
    exercise: str    # "00.hello"; "" when the notebook showed no exercise
    passed: bool
    said: str        # what the check printed, or why there is no check
    seconds: float   # how long the notebook ran


def sandbox_env(results: Path) -> dict[str, str]:
    """The kernel's environment: this one, on the simulator, its checks' results into `results`."""
    env = dict(os.environ)
    env.pop("LABKIT_STRICT", None)
    env.update({"LABKIT_BACKEND": "sim", "LABKIT_CLOCK": "still", RESULTS: str(results),
                "DOCKER_HOST": "unix:///nonexistent/labkit-grading.sock",
                "KUBECONFIG": "/nonexistent/labkit-grading-kubeconfig"})
    return env


def run_notebook(path: Path, timeout: float) -> tuple[str, list[dict], float]:
    """Run one notebook in its own kernel: (status, the lines its checks recorded, seconds)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    start = time.monotonic()
    try:
        notebook = nbformat.read(path, as_version=4)
    except FileNotFoundError:
        return "not found", [], 0.0
    except Exception as error:  # not JSON, not nbformat
        return f"not a notebook: {type(error).__name__}", [], 0.0
    deadline = start + timeout
    with tempfile.TemporaryDirectory(prefix="labkit-grade-") as scratch:
        results = Path(scratch) / "results.jsonl"
        results.touch()
        client = NotebookClient(notebook, kernel_name="python3", startup_timeout=min(60, max(1, int(timeout))),
                                timeout_func=lambda cell: max(1, math.ceil(deadline - time.monotonic())),
                                shutdown_kernel="immediate")
        try:
            client.execute(env=sandbox_env(results), cwd=str(path.resolve().parent),
                           stderr=subprocess.DEVNULL)  # the kernel's own warnings; a cell's stderr is an output
            status = OK
        except CellTimeoutError:
            status = f"timeout after {timeout:g} s"
        except CellExecutionError as error:
            status = f"raised {error.ename}: {error.evalue}"[:300]
        except DeadKernelError:
            status = "kernel died"
        except RuntimeError as error:  # e.g. the kernel did not start in time
            status = f"timeout after {timeout:g} s" if time.monotonic() >= deadline else f"kernel failed: {error}"
        lines = _lines(results)
    return status, lines, round(time.monotonic() - start, 1)


def _lines(results: Path) -> list[dict]:
    """The channel's lines; one cut short (a kernel killed mid-write) or not an object is left out."""
    lines = []
    for text in results.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            line = json.loads(text)
        except ValueError:
            continue
        if isinstance(line, dict) and (isinstance(line.get("id"), str) or isinstance(line.get("exercises"), list)):
            lines.append(line)
    return lines


def rows_of(notebook: str, status: str, lines: list[dict], seconds: float) -> list[Row]:
    """The table's rows for one notebook: every exercise of its lessons, by its last check. Its
    lessons: the one it opens first (`lab = lessons.lab("02")` near its top) and any it checks an
    exercise of; one it opens only for a helper (lesson 07 borrows lesson 04's `compare`) is not."""
    announced: dict[str, list[str]] = {}
    last: dict[str, dict] = {}
    for line in lines:
        if "exercises" in line:
            announced.setdefault(str(line.get("lesson")), [str(e) for e in line["exercises"]])
        else:
            last[line["id"]] = line
    mine = set(list(announced)[:1]) | {exercise.split(".")[0] for exercise in last}
    expected = [e for lesson, exercises in announced.items() if lesson in mine for e in exercises]
    expected += [e for e in last if e not in expected]
    if not expected:
        return [Row(notebook, status, "", False, "no exercise was checked", seconds)]
    return [Row(notebook, status, e, bool(last[e]["passed"]) if e in last else False,
                last[e]["said"] if e in last else "not checked: the run stopped before its check, or it has none",
                seconds)
            for e in expected]


def grade(notebooks: list[Path], out: Path, timeout: float = 300,
          echo: Callable[[str], None] = print) -> list[Row]:
    """Run every notebook, one kernel each, print progress, write the tables into `out`."""
    echo(SANDBOX)
    rows: list[Row] = []
    for number, path in enumerate(notebooks, 1):
        echo(f"[{number}/{len(notebooks)}] {path} ...")
        status, lines, seconds = run_notebook(Path(path), timeout)
        mine = rows_of(str(path), status, lines, seconds)
        rows += mine
        checked = [row for row in mine if row.exercise]
        tally = f"{sum(row.passed for row in checked)} of {len(checked)} exercises passed" if checked else "no exercise"
        echo(f"      {status}: {tally} ({seconds:g} s)")
    write(rows, Path(out))
    echo(f"wrote {Path(out) / 'results.csv'}, results.json and results.html")
    return rows


def write(rows: list[Row], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "results.csv", "w", newline="", encoding="utf-8") as file:
        table = csv.DictWriter(file, fieldnames=FIELDS)
        table.writeheader()
        table.writerows(asdict(row) for row in rows)
    (out / "results.json").write_text(json.dumps([asdict(row) for row in rows], indent=1, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
    (out / "results.html").write_text(page(rows), encoding="utf-8")


def page(rows: list[Row]) -> str:
    """results.html: one table, its style inline, nothing fetched."""
    def cell(text: object, cls: str = "") -> str:
        return f"<td{f' class={cls}' if cls else ''}>{html.escape(str(text))}</td>"
    body = "\n".join(
        "<tr>" + cell(r.notebook) + cell(r.status, "ok" if r.status == OK else "bad") + cell(r.exercise)
        + cell("passed" if r.passed else "not yet", "ok" if r.passed else "bad") + cell(r.said, "said")
        + cell(f"{r.seconds:g}") + "</tr>" for r in rows)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>labkit grade</title>
<style>body{{font-family:sans-serif;margin:1.5em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .6em;vertical-align:top;text-align:left}}
.ok{{color:#17631c}} .bad{{color:#a31515}} .said{{white-space:pre-wrap;font-family:monospace;font-size:90%}}</style>
</head><body><h1>labkit grade</h1><p>{html.escape(SANDBOX)}.</p>
<table><tr>{''.join(f'<th>{f}</th>' for f in FIELDS)}</tr>
{body}
</table></body></html>
"""


def main(notebooks: list[str], out: str, timeout: float) -> int:
    """`labkit grade`: 0 when every notebook ran (whatever its checks said), 1 otherwise."""
    if timeout <= 0:
        print("labkit grade: --timeout takes a number of seconds above 0", file=sys.stderr)
        return 2
    rows = grade([Path(n) for n in notebooks], Path(out), timeout)
    return 0 if all(row.status == OK for row in rows) else 1
