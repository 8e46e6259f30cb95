"""Every command a lesson's text shows runs (issue #24, item 6).

A lesson's markdown shows commands in backticks, in sentences and in tables: `kubectl ...`,
`docker ...`, `minikube ...` (with or without `%`), and Python calls on the lesson's objects
(`k8s.add_node()`, `web.rollback()`). A student types them as written, so each must run. This test
executes each solved lesson (solutions/) in one IPython shell, cell after cell, on the simulator;
after each markdown cell it runs the commands that cell shows, in order, where the lesson stands
at that point (an exercise's text: once the exercise is done and checked; the tables that
name their own starting point: on fresh clusters), and it fails when one errors.

Not run, and why:
  - a command's name alone (`kubectl set image`, `docker run`): the text names the command, it does
    not give one to type. Recognised as: it fails, and it is at most three words with no flag;
  - Python that names what the lesson has not defined (yet): `cluster.kill_replica(name)`;
  - a template (`...`, `<a pod>`, `$token`, an upper-case word such as NAME or N);
  - a watch (`-w`): it runs until interrupted;
  - a connection to a real engine or cluster (`lk.connect("swarm")`), or a command the text gives for
    one ("in a terminal on your machine: `minikube start -p labkit`", "on a real engine, ..."): this
    test never starts one.
A command shown on purpose as one that fails is accepted when the text around it says so ("fails",
"no longer", "error", ...).

The same pass runs every exercise's cell twice (issue #24, item 7: a student runs it again after a
wrong attempt): the second run must raise nothing, and the check after it must still pass.
"""
from __future__ import annotations

import io
import re
from contextlib import redirect_stdout
from pathlib import Path
from typing import NamedTuple

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "solutions").glob("*.ipynb"))

SPAN = re.compile(r"`([^`\n]+)`")
EXERCISE = re.compile(r"^# Exercise \d\d[a-z]?\.[\w-]+: your turn\.", re.MULTILINE)
TOOL = re.compile(r"^%?(kubectl|docker|minikube)\s")
# Python the student could type: a call on one of the lesson's usual names.
PYTHON = re.compile(r"^(lk|cluster|k8s|kube|swarm|site|web|shop|store|host|lab|single|one|ha|ha3|k3|svc|big)"
                    r"\.\w+\(.*\)$")
TEMPLATE = re.compile(r"\.\.\.|<[^>]*>|\$\w|(^|[\s=/])[A-Z][A-Z_]*($|[\s=/,])")
WATCH = re.compile(r"\s(-w|--watch|--follow)(\s|$)|\blogs\b.*\s-f(\s|$)")  # (-f follows logs; apply -f reads a file)
REAL_BACKEND = re.compile(r"""lk\.connect\(\s*["'](?!sim)""")
# What the text says just before a command it gives for a real engine or machine, not the simulator.
ELSEWHERE = re.compile(r"(in a terminal on your machine|on a real engine)[^`]{0,60}$", re.IGNORECASE)
# What the text says next to a command it shows failing on purpose.
SAYS_IT_FAILS = re.compile(r"fails|no longer|error|refus|not work|cannot|unknown flag", re.IGNORECASE)

# Tables whose rows start from nothing ("make a cluster: docker swarm init ...") or set the notes'
# commands beside today's: each column of commands runs on fresh clusters made by this code, not where
# the lesson stands.
FRESH = {
    # 07's side-by-side table: every step, Swarm's column on a new Docker host, Kubernetes' on a new cluster
    ("07", "| step | Docker Swarm | Kubernetes |"):
        'console.use(lk.connect("sim", flavor="docker", name="table"))\n'
        'console.use(lk.connect("sim", flavor="kubernetes", nodes=3, name="table"))',
    # 03's summary: the notes' commands and today's, from the start of the lesson
    ("03", "| notes | today | what happens |"):
        'console.use(lk.connect("sim", flavor="kubernetes", nodes=3, name="table"))',
    # 04's summary: on a deployment as the lesson made it (its container is named my-web-server)
    # 02's summary: what was typed, from a machine that is no swarm yet
    ("02", "| you typed | the swarm did |"):
        'console.use(lk.connect("sim", flavor="docker", name="table"))',
    ("04", "| notes | today | what it does |"):
        'table = lk.connect("sim", flavor="kubernetes", nodes=4, name="table")\n'
        'table.deploy("my-web-server", image="web-server:1", replicas=10)\n'
        'table.wait()\n'
        'console.use(table)',
}


class Shown(NamedTuple):
    """A command a markdown cell shows."""

    span: str
    around: str  # the text around it (what it says of the command)
    column: int  # its column in a table, or -1
    elsewhere: bool  # given for a real engine or machine, not the simulator


def shown_commands(markdown: str) -> list[Shown]:
    """Every command-like span of a markdown cell, in order."""
    found = []
    for line_start, line in _lines(markdown):
        columns = line.strip().strip("|").split("|") if line.lstrip().startswith("|") else None
        for match in SPAN.finditer(line):
            span = match.group(1).strip()
            if not (TOOL.match(span) or PYTHON.match(span)):
                continue
            at = line_start + match.start()
            before = markdown[max(0, at - 200):at]
            around = markdown[max(0, at - 100):at + len(match.group(0)) + 100]
            column = line[:match.start()].strip().lstrip("|").count("|") if columns else -1
            found.append(Shown(span, around, column, bool(ELSEWHERE.search(before))))
    return found


def _lines(text: str):
    start = 0
    for line in text.split("\n"):
        yield start, line
        start += len(line) + 1


def not_run(span: str, elsewhere: bool = False) -> str:
    """Why `span` is not run, or ''."""
    if elsewhere:
        return "for a real engine or machine"
    if TEMPLATE.search(span):
        return "a template"
    if WATCH.search(span):
        return "a watch"
    if REAL_BACKEND.search(span):
        return "a real backend"
    return ""


def a_command_name(span: str) -> bool:
    if not TOOL.match(span + " "):
        return False  # Python is a call, never a name
    words = span.lstrip("%").split()
    return len(words) <= 3 and not any(w.startswith("-") or "=" in w or "/" in w for w in words)


@pytest.fixture(scope="module")
def shell():
    from IPython.core.interactiveshell import InteractiveShell
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MPLBACKEND", "Agg")
        patch.setenv("LABKIT_BACKEND", "sim")
        yield InteractiveShell.instance()


def run_span(ip, span: str) -> str | None:
    """Run one shown command in `ip`'s namespace: None when it ran, the error it raised as text, or ''
    when Python names what is not defined here (not counted as a failure)."""
    from labkit import console
    from labkit.errors import LabkitError
    out = io.StringIO()
    try:
        with redirect_stdout(out):
            if TOOL.match(span):
                console.run(span.lstrip("%"))
            else:
                eval(span, ip.user_ns)  # noqa: S307 - the lesson's own text, run as a student would
    except LabkitError as error:
        return f"{type(error).__name__}: {error.message}"
    except NameError:
        return ""  # a placeholder (`name`), or a name the lesson defines further on
    except Exception as error:  # noqa: BLE001 - any crash is a failure to report
        return f"{type(error).__name__}: {error}"
    return None


def check_span(ip, index: int, span: str, around: str) -> list[str]:
    """Run one shown command; the failure to report, if any."""
    error = run_span(ip, span)
    if not error:
        return []
    if a_command_name(span):
        return []  # the name of a command, not a command line
    if SAYS_IT_FAILS.search(around):
        return []  # shown failing on purpose, and the text says so
    return [f"cell {index}: `{span}` -> {error}"]


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem.split("-")[0] for p in LESSONS])
def test_every_command_a_lesson_shows_runs(path, shell):
    from labkit import console
    number = path.stem.split("-")[0]
    notebook = nbformat.read(path, as_version=4)
    console.forget()
    shell.reset(new_session=False)
    shell.run_cell("%load_ext labkit")
    from labkit.lessons import Result
    failures, ran, again, deferred = [], 0, None, []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            source = "\n".join(line for line in cell.source.splitlines() if not line.startswith("%matplotlib"))
            runs = 2 if EXERCISE.search(source) else 1
            for run in range(runs):
                with redirect_stdout(io.StringIO()):
                    result = shell.run_cell(source)
                if not result.success:
                    error = result.error_in_exec or result.error_before_exec
                    failures.append(f"cell {index} ({'run again' if run else 'code'}) raised {error!r}")
                    break
            if not result.success:
                break
            if runs == 2:
                again = index
            elif again is not None and isinstance(result.result, Result):
                if not result.result:
                    failures.append(f"cell {index}: after the exercise's cell ran twice:\n{result.result}")
                again = None
                for later in deferred:  # the exercise's text: what it shows runs once the exercise is done
                    ran += 1
                    failures += check_span(shell, *later)
                deferred = []
            continue
        if cell.cell_type != "markdown":
            continue
        shown = [s for s in shown_commands(cell.source) if not not_run(s.span, s.elsewhere)]
        if not shown:
            continue
        if cell.source.startswith("### Exercise "):
            deferred += [(index, s.span, s.around) for s in shown]
            continue
        fresh = next((code for (lesson, marker), code in FRESH.items()
                      if lesson == number and marker in cell.source), None)
        if fresh:
            saved = dict(console.SESSION.clusters)  # family -> cluster: put back after the table
            shown = sorted(shown, key=lambda s: s.column)  # column by column, each row in order
        column = None
        for span, around, at, _ in shown:  # (text beside a table runs where the lesson stands: its column is -1)
            if fresh and at != column and at >= 0:
                column = at
                result = shell.run_cell(fresh, silent=True)
                assert result.success, f"{path.name} cell {index}: the table's context failed"
            ran += 1
            failures += check_span(shell, index, span, around)
        if fresh:
            console.SESSION.clusters.clear()
            console.SESSION.clusters.update(saved)
    assert not deferred, f"{path.name}: an exercise's text with no exercise cell after it"
    assert ran, f"{path.name}: no command found in its text"
    assert not failures, f"{path.name}:\n" + "\n".join(failures)


def test_the_patterns_tell_commands_from_names_and_templates():
    text = ("Run `kubectl get nodes`, then `kubectl set image` with `docker service update --update-parallelism N "
            "--image web-server:2 web`; `%kubectl describe pod <a pending pod>`; `docker swarm join --token ...`; "
            "`kubectl get pods -w`; `k8s.add_node()`; `lk.connect(\"swarm\")`; `maxSurge`")
    spans = [s.span for s in shown_commands(text)]
    assert spans == ["kubectl get nodes", "kubectl set image",
                     "docker service update --update-parallelism N --image web-server:2 web",
                     "%kubectl describe pod <a pending pod>", "docker swarm join --token ...", "kubectl get pods -w",
                     "k8s.add_node()", 'lk.connect("swarm")']
    assert [not_run(s) for s in spans] == ["", "", "a template", "a template", "a template", "a watch", "",
                                           "a real backend"]
    assert a_command_name("kubectl set image") and not a_command_name("kubectl scale deployment/web --replicas=3")
    table = ("| a | b |\n|---|---|\n| `docker ps` | `kubectl get pods` |\n"
             "in a terminal on your machine: `minikube start`")
    assert [(s.span, s.column, s.elsewhere) for s in shown_commands(table)] == [
        ("docker ps", 0, False), ("kubectl get pods", 1, False), ("minikube start", -1, True)]
    assert not_run("minikube start", True) == "for a real engine or machine"
