"""A student in a real browser: the students' edition of lesson 00 in JupyterLab (headless Chromium,
Playwright), run from the top; then the student types a wrong attempt into exercise 00.hello, sees
the check say "not yet" and what it sees, asks for a hint with the button under the check, types the
right attempt into the same cell and runs it again, and sees the check pass (issue 24, item 8).

Screenshots of each step go to artifacts/ (browser-student-*.png).
"""
from __future__ import annotations

import json
import shutil

import pytest

from tests.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, ROOT, JupyterLab, dismiss_notifications, \
    open_notebook, require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(420)]

LESSON = "00-start-here.ipynb"
WRONG = 'cluster.deploy("hello-minikube", image="hello-minikube", replicas=1)\ncluster.wait()'
RIGHT = 'cluster.deploy("hello-minikube", image="hello-minikube", replicas=2)\ncluster.wait()'


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    require_chromium()
    workdir = tmp_path_factory.mktemp("student")
    shutil.copy(ROOT / "notebooks" / LESSON, workdir / LESSON)
    # Every cell in the page, not only those on screen (JupyterLab 4 draws a long notebook's cells lazily).
    settings = workdir / ".home" / "config" / "lab" / "user-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    server = JupyterLab(workdir)
    yield server
    server.stop()


def cell_index(page, starts: str) -> int:
    """The index of the first cell whose source starts with `starts`."""
    sources = page.evaluate("() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')].map("
                            "c => c.querySelector('.cm-content')?.innerText || '')")
    return next(i for i, text in enumerate(sources) if text.startswith(starts))


def output_of(page, index: int) -> str:
    return page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea").inner_text()


def run(page, index: int, waiting_for: str, timeout: float = 120.0) -> str:
    """Run cell `index` and wait until its output holds `waiting_for`; its output."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.scroll_into_view_if_needed()
    cell.locator(".jp-InputArea-prompt").click()
    page.keyboard.press("Escape")
    page.keyboard.press("Control+Enter")
    page.wait_for_function(
        "([i, text]) => (document.querySelectorAll('.jp-Notebook .jp-Cell')[i]"
        "?.querySelector('.jp-OutputArea')?.innerText || '').includes(text)", arg=[index, waiting_for],
        timeout=timeout * 1000)
    return output_of(page, index)


def type_into(page, index: int, text: str) -> None:
    """Append `text` as new lines at the end of cell `index`, as a student types them."""
    editor = page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".cm-content")
    editor.scroll_into_view_if_needed()
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.keyboard.insert_text(text)  # (no auto-closed brackets: the text as written)


def replace_line(page, index: int, old: str, new: str) -> None:
    """Change the student's own line `old` to `new` in cell `index`, by selecting it and typing."""
    editor = page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".cm-content")
    line = editor.locator(".cm-line", has_text=old).first
    line.click()
    page.keyboard.press("Home")
    page.keyboard.press("Shift+End")
    page.keyboard.insert_text(new)


def test_a_student_goes_from_not_yet_to_passed(lab):
    from playwright.sync_api import sync_playwright
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        open_notebook(page, lab, LESSON)
        dismiss_notifications(page)

        exercise = cell_index(page, "# Exercise 00.hello")
        check = exercise + 1
        # The lesson from the top, a cell at a time, as far as the exercise (the student's Shift-Enter).
        for index in range(exercise):
            kind = page.locator(".jp-Notebook .jp-Cell").nth(index).get_attribute("class") or ""
            if "jp-CodeCell" in kind:
                run(page, index, "", timeout=180)
        page.wait_for_function("() => !document.querySelector('.jp-Notebook .jp-Cell .jp-InputPrompt')"
                               "?.innerText.includes('*')", timeout=180_000)

        type_into(page, exercise, WRONG)
        run(page, exercise, "00.hello: back at its start")
        said = run(page, check, "00.hello")
        page.screenshot(path=str(ARTIFACTS / "browser-student-1-not-yet.png"), full_page=False)
        assert "✘ 00.hello: not yet" in said
        assert "1" in said and "2" in said, f"the check says what it sees (1 replica, 2 asked): {said}"
        assert "cluster.deploy(" not in said, "a failed check never shows the solution"

        button = page.locator(".jp-Notebook .jp-Cell").nth(check).locator("button", has_text="hint")
        assert button.count() == 1, "a failed check offers a hint button"
        button.first.click()
        page.wait_for_function("(i) => /hint 1 of 3/.test(document.querySelectorAll('.jp-Notebook .jp-Cell')[i]"
                               ".querySelector('.jp-OutputArea')?.innerText || '')", arg=check, timeout=30_000)
        assert "replicas=2" not in output_of(page, check), "the first tier is a nudge, not the command"

        replace_line(page, exercise, "replicas=1", RIGHT.splitlines()[0])
        run(page, exercise, "00.hello: back at its start")  # the exercise's reset undoes the wrong attempt
        said = run(page, check, "00.hello")
        page.screenshot(path=str(ARTIFACTS / "browser-student-2-passed.png"), full_page=False)
        assert "✔ 00.hello: passed" in said, said

        # Time as a person sees it: between two cells a few seconds apart the cluster's clock follows the
        # wall clock (labkit/timekeeping.py), so the same `get pods` shows older pods the second time.
        heal = cell_index(page, "# Exercise 00.heal")
        type_into(page, heal, "%kubectl get pods -l app=hello-minikube --no-headers")
        first = run(page, heal, "hello-minikube-")
        page.wait_for_timeout(4000)
        second = run(page, heal, "hello-minikube-")
        ages = [[line.split()[-1] for line in text.splitlines() if line.startswith("hello-minikube-")]
                for text in (first, second)]
        assert ages[0] != ages[1], f"the pods' AGE should grow between two runs of the cell: {ages}"
        assert not errors, f"JavaScript errors in the page: {errors}"
        browser.close()


def test_an_instructor_reads_the_grade_report(tmp_path):
    """`labkit grade` of two handed-in notebooks of a lesson made with `labkit new lesson`, and its
    report as a browser shows it: one row per notebook and exercise, passed in green, not yet in red."""
    import subprocess
    import sys
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    from tests.test_instructor import hand_in
    require_chromium()
    tools = Path(sys.executable).parent
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("LABKIT_")}
    env["PATH"] = f"{tools}:{env.get('PATH', '')}"
    for command in ("labkit new lesson intro", "cd intro && labkit student solutions notebooks"):
        subprocess.run(command, shell=True, cwd=tmp_path, env=env, check=True, capture_output=True, timeout=120)
    lesson = tmp_path / "intro"
    edition = lesson / "notebooks" / "intro.ipynb"
    hand_in(edition, lesson / "handed-in", "ada", 'cluster.deploy("hello", image="web-server:1", replicas=2)\n'
                                                  "cluster.wait()")
    hand_in(edition, lesson / "handed-in", "bob", None)
    subprocess.run("labkit grade handed-in/*.ipynb --out results", shell=True, cwd=lesson, env=env, check=True,
                   capture_output=True, timeout=300)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 600})
        page.goto((lesson / "results" / "results.html").as_uri())
        rows = page.evaluate("() => [...document.querySelectorAll('table tr')].slice(1).map(r => "
                             "[...r.cells].map(c => [c.innerText, getComputedStyle(c).color]))")
        page.screenshot(path=str(ARTIFACTS / "browser-grade-report.png"))
        browser.close()
    seen = {Path(row[0][0]).stem: (row[2][0], row[3][0], row[3][1]) for row in rows}
    assert seen == {"ada": ("intro.hello", "passed", "rgb(23, 99, 28)"),
                    "bob": ("intro.hello", "not yet", "rgb(163, 21, 21)")}, rows
