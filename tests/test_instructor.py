"""An instructor's own lesson, from nothing to a graded class (issue #25, items 1 and 5): the public
exercise API (`labkit.exercises`), which labkit's own lessons are written with too, and `labkit new
lesson NAME`, whose README's steps this file runs as typed: the students' edition, both editions under
nbval, three students' notebooks graded."""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import labkit as lk
from labkit import cli, exercises, lessons
from labkit.errors import InvalidInput
from labkit.exercises import Exercise, Lesson, Stuck
from labkit.lessons import skeleton

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # labkit, jupyter and python of this environment


def sh(command: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run one command line as a shell runs it (its VAR=value prefixes and globs), with this
    environment's tools first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABKIT_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(command, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"$ {command}\n{done.stdout}\n{done.stderr}"
    return done


def outputs(path: Path) -> str:
    """Every text a notebook's code cells stored."""
    texts = []
    for cell in json.loads(path.read_text())["cells"]:
        for output in cell.get("outputs", []):
            texts.append("".join(output.get("text", "")) + "".join(output.get("data", {}).get("text/plain", "")))
    return "\n".join(texts)


def hand_in(student_edition: Path, folder: Path, name: str, code: str | None) -> None:
    """A student's notebook: the students' edition with `code` where `# YOUR CODE HERE` is."""
    book = json.loads(student_edition.read_text())
    for cell in book["cells"]:
        source = "".join(cell["source"])
        if code is not None and "# YOUR CODE HERE" in source:
            cell["source"] = source.replace("# YOUR CODE HERE", code)
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.ipynb").write_text(json.dumps(book))


# -- the walkthrough: README's commands, as typed -----------------------------------------------------
@pytest.mark.slow
def test_a_new_lesson_runs_under_nbval_in_both_editions_and_grades_three_students(tmp_path):
    sh("labkit new lesson intro", tmp_path)
    lesson = tmp_path / "intro"
    steps = re.findall(r"^ {7}(\S.*)$", (lesson / "README.md").read_text(), re.MULTILINE)
    assert steps == [command for _, command in skeleton.STEPS]  # what the README shows is what runs here
    student, store, nbval, grade = steps

    sh(student, lesson)
    assert "# YOUR CODE HERE" in (lesson / "notebooks" / "intro.ipynb").read_text()
    assert 'hello = cluster.deploy(\\"hello\\"' in (lesson / "solutions" / "intro.ipynb").read_text()
    assert 'hello = cluster.deploy(' not in (lesson / "notebooks" / "intro.ipynb").read_text()
    sh(store, lesson)
    assert "✔ intro.hello: passed." in outputs(lesson / "solutions" / "intro.ipynb")
    assert "✘ intro.hello: not yet." in outputs(lesson / "notebooks" / "intro.ipynb")
    ran = sh(nbval, lesson).stdout
    assert re.search(r"\b8 passed\b", ran) and "failed" not in ran, ran  # 4 code cells in each edition

    handed_in = lesson / "handed-in"
    edition = lesson / "notebooks" / "intro.ipynb"
    hand_in(edition, handed_in, "untouched", None)
    hand_in(edition, handed_in, "wrong", 'cluster.deploy("hello", image="web-server:1", replicas=1)\ncluster.wait()')
    hand_in(edition, handed_in, "right", 'cluster.deploy("hello", image="web-server:1", replicas=2)\ncluster.wait()')
    sh(grade, lesson)
    rows = {Path(row["notebook"]).stem: row for row in json.loads((lesson / "results" / "results.json").read_text())}
    assert {name: (row["status"], row["exercise"], row["passed"]) for name, row in rows.items()} == {
        "untouched": ("ok", "intro.hello", False), "wrong": ("ok", "intro.hello", False),
        "right": ("ok", "intro.hello", True)}
    assert "there is no workload named 'hello'" in rows["untouched"]["said"]
    assert "hello asks for 1 replica, not 2" in rows["wrong"]["said"]
    page = (lesson / "results" / "results.html").read_text()
    assert page.count("<td>intro.hello</td>") == 3
    assert page.count("<td class=bad>not yet</td>") == 2 and page.count("<td class=ok>passed</td>") == 1


# -- labkit new lesson: names checked, nothing overwritten, nothing half written ----------------------
def test_new_lesson_writes_one_folder_and_labkit_help_lists_it(tmp_path, capsys):
    assert cli.main(["new", "lesson", "pod-basics", "--dir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    folder = tmp_path / "pod-basics"
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) == \
        ["README.md", "nbval-sanitize.cfg", "solutions", "solutions/pod-basics.ipynb"]
    assert f"wrote {folder / 'solutions' / 'pod-basics.ipynb'}" in printed and skeleton.STEPS[0][1] in printed
    assert [p.name for p in tmp_path.iterdir()] == ["pod-basics"]  # no temporary folder left
    assert oct(folder.stat().st_mode & 0o777) == oct(0o777 & ~skeleton._umask())
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert re.search(r"^ +new +start something of your own: `labkit new lesson NAME`", capsys.readouterr().out, re.M)


@pytest.mark.parametrize("name", ["Intro", "03", "a.b", "x y", "../up", "x_y", "x--y", "x-", "", "a" * 41])
def test_new_lesson_refuses_a_name_that_cannot_be_one(tmp_path, capsys, name):
    assert cli.main(["new", "lesson", name, "--dir", str(tmp_path)]) == 1
    assert "cannot name a lesson" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_new_lesson_overwrites_nothing_and_needs_its_folder(tmp_path, capsys):
    (tmp_path / "intro").mkdir()
    (tmp_path / "intro" / "mine.txt").write_text("an instructor's file")
    assert cli.main(["new", "lesson", "intro", "--dir", str(tmp_path)]) == 1
    assert "exists already" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()  # an empty folder of that name is refused too
    assert cli.main(["new", "lesson", "empty", "--dir", str(tmp_path)]) == 1
    assert [p.name for p in (tmp_path / "intro").iterdir()] == ["mine.txt"] and not any((tmp_path / "empty").iterdir())
    assert cli.main(["new", "lesson", "intro", "--dir", str(tmp_path / "nowhere")]) == 1
    assert "no folder" in capsys.readouterr().err and not (tmp_path / "nowhere").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "intro"]


def test_new_lesson_leaves_nothing_when_writing_fails(tmp_path, monkeypatch):
    def full(*_):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(skeleton, "readme", full)  # the second file: the notebook was written already
    with pytest.raises(OSError, match="No space left"):
        skeleton.new_lesson("intro", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_the_skeleton_uses_only_the_public_api_and_sanitizes_as_the_course_does(tmp_path):
    skeleton.new_lesson("intro", tmp_path)
    book = json.loads((tmp_path / "intro" / "solutions" / "intro.ipynb").read_text())
    code = "\n".join("".join(c["source"]) for c in book["cells"] if c["cell_type"] == "code")
    found = {(node.module, alias.name) for node in ast.walk(ast.parse(code)) if isinstance(node, ast.ImportFrom)
             for alias in node.names}
    assert found and all(module == "labkit.exercises" or (module, name) == ("labkit", "exercises")
                         for module, name in found), found
    tags = [c["metadata"].get("tags", []) for c in book["cells"] if "lab.check(" in "".join(c["source"])]
    assert tags == [["nbval-check-output"]]
    assert skeleton.SANITIZE == (ROOT / "tests" / "nbval-sanitize.cfg").read_text()


# -- the public API: labkit's own lessons are written with it -----------------------------------------
INFRASTRUCTURE = {"__init__", "__main__", "_button", "_checks", "editions", "grading", "skeleton"}
LESSON_FILES = sorted(p for p in (ROOT / "labkit" / "lessons").glob("*.py") if p.stem not in INFRASTRUCTURE)


@pytest.mark.parametrize("path", LESSON_FILES, ids=lambda p: p.stem)
def test_a_lesson_module_takes_its_exercise_machinery_from_labkit_exercises_only(path):
    siblings = {p.stem for p in LESSON_FILES}
    wrong = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:  # from . import x / from .x import y
            named = [node.module] if node.module else [alias.name for alias in node.names]
            wrong += [f"from .{node.module or ''} import ..." for name in named if name not in siblings]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("labkit.lessons"):
            wrong.append(f"from {node.module} import ...")
    assert not wrong, f"{path.name} imports lesson machinery around labkit.exercises: {wrong}"


def test_every_lesson_of_labkit_registers_a_lesson_of_the_public_api():
    for number, module in lessons.MODULES.items():
        lab = lessons.lab(number)
        declared = lessons._lessons.get(number)
        assert isinstance(declared, Lesson), f"{module}.py makes no labkit.exercises.Lesson"
        assert declared.helpers == f"labkit.lessons.{module}" and lab.title == declared.title
        assert list(lab.exercises.values()) == list(declared.exercises)


# -- the public API: a lesson of one's own -----------------------------------------------------------
@pytest.fixture
def mine():
    """Lessons a test declares are forgotten after it."""
    before = dict(lessons._lessons)
    yield
    for key in [key for key in lessons._lessons if key not in lessons.MODULES]:
        if key in before:
            lessons._lessons[key] = before[key]
        else:
            del lessons._lessons[key]


def two_replicas(cluster) -> list[str]:
    return exercises.workload_problems(cluster.state(), "hello", 2, image="web-server:1")


def test_a_lesson_is_registered_when_made_and_made_again_replaces_it(mine, tmp_path, monkeypatch):
    monkeypatch.setenv(lessons.RESULTS, str(tmp_path / "results.jsonl"))
    Lesson("t-api", title="First", exercises=[Exercise("hello", "deploy hello", ("a nudge",), two_replicas)])
    lab = exercises.lab("t-api")
    assert repr(lab) == "Lesson t-api · First: 1 exercises\n  t-api.hello: deploy hello"
    cluster = lk.connect(nodes=2)
    assert "there is no workload named 'hello'" in str(lab.check("hello", cluster))
    cluster.deploy("hello", image="web-server:1", replicas=2)
    cluster.wait()
    assert exercises.check("t-api.hello", cluster).passed
    assert str(exercises.hint("t-api.hello")).startswith("t-api.hello · hint 1 of 1 (a nudge):")
    Lesson("t-api", title="Second", exercises=[Exercise("hello", "deploy hello", "a nudge", two_replicas),
                                               Exercise("more", "scale it", "a nudge", lambda c: ["no"])])
    assert list(exercises.lab("t-api").exercises) == ["hello", "more"]
    channel = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert channel[0] == {"lesson": "t-api", "exercises": ["t-api.hello"]}  # what labkit grade tables
    assert [line["passed"] for line in channel if "id" in line] == [False, True]
    assert channel[-1] == {"lesson": "t-api", "exercises": ["t-api.hello", "t-api.more"]}


@pytest.mark.parametrize("name, title, exercise_names, said", [
    ("a.b", "T", ["x"], "cannot name a lesson"), ("", "T", ["x"], "cannot name a lesson"),
    ("x y", "T", ["x"], "cannot name a lesson"), ("t-api", " ", ["x"], "has no title"),
    ("t-api", "T", [], "needs a list of Exercise"), ("t-api", "T", ["x", "x"], "cannot name one of its exercises"),
    ("t-api", "T", ["x.y"], "cannot name one of its exercises"), ("3", "T", ["x"], "lesson 03 is labkit's own"),
])
def test_a_lesson_that_cannot_be_is_refused_and_not_registered(mine, name, title, exercise_names, said):
    with pytest.raises(InvalidInput, match=said):
        Lesson(name, title=title, exercises=[Exercise(n, "task", "a nudge", two_replicas) for n in exercise_names])
    assert set(lessons._lessons) <= set(lessons.MODULES)
    assert exercises.lab("03").title == "Kubernetes first steps"  # the course's own is untouched


def test_needs_is_asked_before_the_check_and_before_a_reset(mine, capsys):
    undone = []

    def hello_first(cluster) -> list[str]:
        return [] if cluster.state().workload("hello") else ["do t-api.hello first: this exercise scales hello"]

    def scaled(cluster) -> list[str]:
        problems = exercises.workload_problems(cluster.state(), "hello", 3)
        return [Stuck(p) for p in problems] if cluster.state().workload("hello").desired > 3 else problems

    def undo(cluster) -> str:
        undone.append(cluster)
        cluster.workload("hello").scale(2)
        return "hello back to 2 replicas"

    Lesson("t-api", title="T", exercises=[
        Exercise("hello", "deploy hello", "a nudge", two_replicas),
        Exercise("scale", "scale hello to 3", "a nudge", scaled, wrong="4 replicas", reset=undo, needs=hello_first)])
    lab = exercises.lab("t-api")
    cluster = lk.connect(nodes=2)
    result = lab.check("scale", cluster)
    assert result.problems == ("do t-api.hello first: this exercise scales hello",) and not result.stuck
    reset = lab.reset("scale", cluster)
    assert not reset and not undone
    assert str(reset) == "↺ t-api.scale: cannot start over yet: do t-api.hello first: this exercise scales hello"
    cluster.deploy("hello", image="web-server:1", replicas=4)
    cluster.wait()
    stuck = lab.check("scale", cluster)
    assert stuck.stuck and 'lab.reset("t-api.scale")' in str(stuck)
    assert lab.reset("scale") and undone == [cluster]  # the cluster its last check read
    assert "↺ t-api.scale: back at its start (hello back to 2 replicas)" in capsys.readouterr().out
    cluster.workload("hello").scale(3)
    cluster.wait()
    assert lab.check("scale", cluster).passed


def test_a_lesson_in_a_module_reaches_its_helpers_through_lab(mine):
    Lesson("t-api", title="T", exercises=[Exercise("x", "task", "a nudge", two_replicas)],
           helpers="labkit.lessons.mesos")
    assert exercises.lab("t-api").first_fit is lessons.mesos.first_fit
    with pytest.raises(AttributeError):
        exercises.lab("t-api").no_such_helper


# -- the public API: the questions a check asks -------------------------------------------------------
def test_the_questions_about_events_and_the_timeline():
    cluster = lk.connect(nodes=3)
    cluster.deploy("web", image="web-server:1", replicas=4)
    cluster.wait()
    before = cluster.now()
    cluster.workload("web").update("web-server:2")  # the default strategy: 25 % may be unavailable
    cluster.wait()
    assert exercises.ever_below(cluster, "web", 4, since=before)
    assert not exercises.ever_below(cluster, "web", 3, since=before)
    assert exercises.ever_below(cluster, "web", 3)  # from the start: none were available at first
    assert not exercises.ever_below(cluster, "web", 4, since=cluster.now() + 1)
    assert exercises.last_rollout(cluster, "web", before).fewest_available == 3
    assert [w.image for _, w in exercises.timeline_of(cluster, "web", before)][-1] == "web-server:2"
    assert exercises.scaled_at(cluster, "web", 4) == exercises.timeline_of(cluster, "web")[0][0]

    cluster.fail_node("node-2")
    cluster.run(60)
    noticed = exercises.events_about(cluster, reason="NodeNotReady", object="node/node-2")
    assert [(e.reason, e.object) for e in noticed] == [("NodeNotReady", "node/node-2")]
    assert exercises.events_about(cluster, reason="NodeNotReady", object="node/node-1") == []
    about_nodes = exercises.events_about(cluster, object="node/")
    assert {e.object.split("/")[0] for e in about_nodes} == {"node"} and len(about_nodes) > len(noticed)
    both = exercises.events_about(cluster, reason=("NodeFailed", "NodeNotReady"), since=before)
    assert [e.reason for e in both] == ["NodeFailed", "NodeNotReady"]
    assert exercises.switched_off_at(cluster) == {"node-2": both[0].time}
    assert exercises.nodes_down(cluster.state()) == ["node-2"]
    assert len(exercises.ready_replicas(cluster.state(), "web")) == 4 - len(
        [r for r in cluster.state().replicas_of("web") if r.node == "node-2"])


def test_the_documentations_example_runs_as_written(mine, capsys):
    """labkit.exercises' docstring is what an instructor copies: its example runs, and says what it says."""
    example = re.search(r"\n\n((?: {4}.*\n|\n)+)", exercises.__doc__).group(1)
    namespace: dict = {}
    exec(textwrap.dedent(example), namespace)
    lab, cluster = namespace["lab"], namespace["cluster"]
    assert str(lab.check("hello", cluster)).startswith(
        "✘ intro.hello: not yet.\n  - there is no workload named 'hello'")
    assert "↺ intro.hello: back at its start (nothing to undo)" in capsys.readouterr().out
    cluster.deploy("hello", image="web-server:1", replicas=2)
    cluster.wait()
    assert str(lab.check("hello", cluster)) == \
        "✔ intro.hello: passed. You asked for two copies and the cluster made them."
