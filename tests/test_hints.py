"""Hints on demand (issues #24 and #25, item 2): a check says what it sees and where the hints are,
`lab.hint(...)` shows them one tier at a time (a nudge, the command, the solution), and the students'
edition stores nothing a student sees before their own first try that gives a hint or an answer away."""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

import labkit as lk
from labkit import lessons
from labkit.errors import NotFound
from labkit.lessons import editions

ROOT = Path(__file__).resolve().parent.parent
STUDENT = sorted((ROOT / "notebooks").glob("0*.ipynb"))
EVERY = {f"{n}.{e.name}": e for n in lessons.MODULES for e in lessons.lab(n).exercises.values()}


@pytest.fixture(autouse=True)
def nothing_shown_yet():
    lessons._shown.clear()
    yield
    lessons._shown.clear()


# -- lab.hint: one tier a call -----------------------------------------------------------------------
def test_each_hint_call_shows_the_next_tier_and_says_which_of_how_many():
    lab = lessons.lab("02b")
    first, second, third, again = (str(lab.hint("quorum")) for _ in range(4))
    assert first.startswith("02b.quorum · hint 1 of 3 (a nudge):")
    assert 'lab.hint("02b.quorum") again shows hint 2 of 3 (the command)' in first
    assert second.startswith("02b.quorum · hint 2 of 3 (the command):")
    assert 'again shows hint 3 of 3 (the solution)' in second
    assert third.startswith("02b.quorum · hint 3 of 3 (the solution):") and "managers=5" in third
    assert "managers=5" not in first + second  # the nudge and the command leave the number to the student
    assert 'that was the last one; lab.hint("02b.quorum", 1) starts again' in third
    assert again == third
    assert str(lab.hint("02b.quorum", 1)).startswith("02b.quorum · hint 1 of 3")
    assert lab.hint("quorum").tier == 2  # after tier 1 again, the next is 2
    assert str(lessons.hint("02b.quorum", 3)) == third
    with pytest.raises(NotFound, match="has 3 hint"):
        lab.hint("quorum", 4)
    with pytest.raises(NotFound, match="not an exercise id"):
        lessons.hint("02b")


def test_every_exercise_has_a_nudge_a_command_and_a_solution_each_saying_more():
    for id, exercise in EVERY.items():
        assert len(exercise.hints) == 3 and len(set(exercise.hints)) == 3, id
        assert [lessons.tier_name(t, 3) for t in (1, 2, 3)] == list(lessons.TIERS)
        for line in exercise.hints[2].splitlines():
            assert line not in exercise.hints[0], f"{id}: the nudge holds the solution"


def test_one_hint_is_one_tier_and_a_bad_one_is_refused():
    exercise = lessons.Exercise("x", "task", "a hint", lambda c: [])
    assert exercise.hints == ("a hint",) and lessons.tier_name(1, 1) == "a nudge"
    with pytest.raises(ValueError, match="one to 3 hints"):
        lessons.Exercise("x", "task", ("1", "2", "3", "4"), lambda c: [])
    with pytest.raises(ValueError, match="none empty"):
        lessons.Exercise("x", "task", ("a nudge", ""), lambda c: [])


# -- a failed check: what it sees, and where the hints are -------------------------------------------
def test_a_failed_check_says_what_it_sees_and_names_lab_hint_but_shows_no_hint():
    lab = lessons.lab("02b")
    small = lk.connect(flavor="swarm", nodes=5, managers=3)
    text = str(lab.check("quorum", small))
    assert text.splitlines()[1] == "  - 3 managers, and a swarm of 3 managers keeps a majority through 1 lost, not 2"
    assert text.endswith('stuck? lab.hint("02b.quorum") shows a hint; call it again for the next '
                         "(3 in all: a nudge, the command, the solution)")
    assert not any(tier in text for tier in lab.exercise("quorum").hints)
    assert "managers=5" not in text and "hint:" not in text
    lab.hint("quorum")
    assert str(lab.check("quorum", small)) == text  # the report does not change with what was shown


def test_outside_a_widget_front_end_a_failed_check_is_its_text():
    result = lessons.lab("02b").check("quorum", None)
    assert result._repr_mimebundle_() == {"text/plain": str(result)}


def test_a_notebook_run_headless_stores_the_text_alone(monkeypatch):
    """nbclient (make notebooks, nbval) allows no input: no widget goes into the stored outputs."""
    from labkit.lessons import _button
    result = lessons.lab("02b").check("quorum", None)
    monkeypatch.setattr(_button, "interactive", lambda: False)
    assert result._repr_mimebundle_() == {"text/plain": str(result)}
    monkeypatch.setattr(_button, "interactive", lambda: True)
    bundle = result._repr_mimebundle_()
    assert bundle["text/plain"] == str(result) and "application/vnd.jupyter.widget-view+json" in bundle


def test_the_button_shows_the_next_tier_under_the_check(monkeypatch):
    pytest.importorskip("ipywidgets")
    from ipywidgets.widgets.widget import _instances

    from labkit.lessons import _button
    monkeypatch.setattr(_button, "interactive", lambda: True)  # as in JupyterLab
    result = lessons.lab("02b").check("quorum", None)
    data = result._repr_mimebundle_()
    assert data["text/plain"] == str(result)
    box = _instances[data["application/vnd.jupyter.widget-view+json"]["model_id"]]
    report, button, shown = box.children
    assert report.value == f"<pre style='margin:0'>{html.escape(str(result))}</pre>"
    assert button.description == "hint 1 of 3: a nudge" and shown.value == ""
    button.click()
    assert button.description == "hint 2 of 3: the command" and "hint 1 of 3 (a nudge)" in shown.value
    button.click()
    button.click()
    assert "hint 3 of 3 (the solution)" in shown.value and "managers=5" in shown.value
    assert button.disabled and button.description == "no more hints"
    for widget in (box, *box.children):
        widget.close()


# -- the students' edition: nothing given away before the first try ----------------------------------
def outputs(path: Path) -> list[str]:
    """Every text a notebook's stored outputs show: streams, plain text and HTML, errors."""
    texts = []
    for cell in json.loads(path.read_text())["cells"]:
        for output in cell.get("outputs", []):
            texts.append("".join(output.get("text", "")))
            for mime in ("text/plain", "text/html"):
                texts.append("".join(output.get("data", {}).get(mime, "")))
            texts.append(output.get("evalue", "") + "\n".join(output.get("traceback", [])))
    return [t for t in texts if t]


def plain(text: str) -> str:
    """Quotes made alike: a hint writes 'x', a notebook "x"."""
    return text.replace('"', "'")


def solutions(number: str) -> dict[str, tuple[list[str], str]]:
    """exercise id -> (the solution's code lines, what the solved cell printed) from solutions/."""
    path = next((ROOT / "solutions").glob(f"{number}-*.ipynb"))
    found = {}
    for cell in json.loads(path.read_text())["cells"]:
        source = "".join(cell["source"])
        mark = re.search(r"# Exercise (\d\d[a-z]?\.[\w-]+): your turn", source)
        if cell["cell_type"] != "code" or not mark or not editions.has_solution(source):
            continue
        solved = re.findall(rf"{re.escape(editions.BEGIN)}\n(.*?)^[ \t]*{re.escape(editions.END)}", source,
                            re.DOTALL | re.MULTILINE)
        lines = [line.split("  #")[0].strip() for block in solved for line in block.splitlines()]
        printed = "".join("".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
                          for o in cell.get("outputs", []))
        found[mark.group(1)] = ([line for line in lines if len(line) >= 16 and not line.startswith("#")],
                                printed.strip())
    return found


def giveaways(number: str) -> dict[str, list[str]]:
    """exercise id -> what must not show before the student's try: each hint tier (and each of its
    statements), each line of the solution, and an answer the solution prints alone (a number)."""
    found = {}
    for id, (lines, printed) in solutions(number).items():
        tiers = EVERY[id].hints
        pieces = list(tiers) + [part.strip() for tier in tiers for part in re.split(r";\s|\n", tier)
                                if len(part.strip()) >= 20 and re.search(r"[(=]", part)]
        pieces += lines
        if re.fullmatch(r"-?\d+(\.\d+)?", printed):
            pieces.append(re.compile(rf"(?<![\w.]){re.escape(printed)}(?![\w.])"))
        found[id] = pieces
    return found


def leaks(number: str, texts: list[str]) -> list[str]:
    """What of lesson `number`'s hints, solutions and answers `texts` show."""
    found = []
    for id, pieces in giveaways(number).items():
        for piece in pieces:
            for text in map(plain, texts):
                if piece.search(text) if isinstance(piece, re.Pattern) else plain(piece) in text:
                    found.append(f"{id}: {getattr(piece, 'pattern', piece)!r} in:\n{text}")
    return found


@pytest.mark.parametrize("path", STUDENT, ids=lambda p: p.name.split("-")[0])
def test_the_student_editions_outputs_give_away_no_hint_and_no_answer(path):
    shown = outputs(path)
    assert shown, f"{path.name} has no stored outputs: run `make notebooks`"
    found = leaks(path.name.split("-")[0], shown)
    assert not found, f"{path.name} gives away:\n" + "\n\n".join(found)


@pytest.mark.parametrize("path", STUDENT, ids=lambda p: p.name.split("-")[0])
def test_every_stored_not_yet_names_lab_hint(path):
    reports = [t for t in outputs(path) if t.startswith("✘ ")]
    assert reports
    for text in reports:
        id = text[2:].split(":")[0]
        assert f'stuck? lab.hint("{id}")' in text and "hint:" not in text, text


def test_the_scan_finds_what_the_old_edition_showed():
    """What issue #24 named: every "not yet" stored with its hint (lesson 02's said `managers=5`), and
    lesson 06 printing its exercise's answer a few cells above it."""
    for id, exercise in EVERY.items():
        for tier in exercise.hints:
            assert leaks(id.split(".")[0], [f"✘ {id}: not yet.\n  - something\n  hint: {tier}"]), (id, tier)
    _, answer = solutions("06")["06.lost-requests"]
    assert leaks("06", [f"before node-2 was NotReady   {answer} of  510 requests failed"])
    assert not leaks("06", [f"10.244.1.{answer}", f"web-{answer}x"])


def test_python_m_labkit_lessons_lists_every_exercise_with_its_hint_tiers():
    import subprocess
    import sys
    listing = subprocess.run([sys.executable, "-m", "labkit.lessons"], capture_output=True, text=True,
                             check=True, cwd=ROOT).stdout
    for id, exercise in EVERY.items():
        block = listing.split(f"\n{id}\n" if not listing.startswith(id) else f"{id}\n", 1)[1]
        for tier, text in enumerate(exercise.hints, 1):
            assert f"  hint {tier} of 3 ({lessons.tier_name(tier, 3)}): {text.splitlines()[0]}" in block, id
    assert "def core_only(offer, pending):\n          if ('zone', 'core') in offer.attributes:" in listing
    canary = listing.split("\n04b.canary\n")[1].split("\n04b.")[0]
    assert "  task:  try web-server:broken" in canary and "  needs:" not in canary  # 04b starts on its own
    assert "help(labkit.exercises)" in listing and "labkit new lesson NAME" in listing  # how to write one's own
