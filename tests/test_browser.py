"""The live views in a real browser: JupyterLab + headless Chromium, driven by Playwright.

Opens tests/notebooks/browser_demo.ipynb (a copy, in a temporary directory),
runs its cells one by one and reads the rendered widgets from the DOM: the
node boxes and replica chips, and how they change after a scale and a
rolling update that the view itself drives (it ticks the simulator while it
is on screen). Saves screenshots under artifacts/.

Skipped only when /usr/bin/chromium is missing and LABKIT_REQUIRE_BROWSER is
not set.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "tests" / "notebooks" / "browser_demo.ipynb"
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def require_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        reason = f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`"
        if os.environ.get("LABKIT_REQUIRE_BROWSER"):
            pytest.fail(reason + " (LABKIT_REQUIRE_BROWSER is set)")
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLab:
    """A token-less JupyterLab on a free local port, in its own directories; stopped on exit."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        home = workdir / ".home"
        home.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
                   IPYTHONDIR=str(home / "ipython"), PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                   JUPYTER_PLATFORM_DIRS="1")
        env.pop("LABKIT_BACKEND", None)  # the demo notebook asks for the simulator itself
        env["LABKIT_CLOCK"] = "wall"  # a person's JupyterLab: the views tick (labkit/timekeeping.py)
        self.log = open(workdir / "jupyter.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={self.port}", "--ip=127.0.0.1",
             "--allow-root", "--IdentityProvider.token=", "--ServerApp.password=",
             "--ServerApp.disable_check_xsrf=True", "--LabApp.extension_manager=readonly",
             f"--ServerApp.root_dir={workdir}", f"--LabApp.workspaces_dir={home / 'workspaces'}",
             "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
            cwd=workdir, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.url + "/api/status", timeout=2).read()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("JupyterLab did not start:\n" + (workdir / "jupyter.log").read_text()[-3000:])
                time.sleep(0.3)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()


def kernel_state(lab: JupyterLab, name: str) -> str:
    """The execution state of the kernel JupyterLab started for notebook `name` ('' before it has one)."""
    with urllib.request.urlopen(lab.url + "/api/sessions", timeout=5) as reply:
        sessions = json.load(reply)
    return next((s["kernel"].get("execution_state", "") for s in sessions
                 if s.get("path", "").endswith(name) and s.get("kernel")), "")


def open_notebook(page, lab: JupyterLab, name: str, timeout: float = 180.0, attempts: int = 3) -> None:
    """Open notebook `name` and wait until its kernel is idle and the page says so.

    A kernel can take a minute to start while the rest of the suite loads the machine, so the
    server is asked first (with a generous timeout). A page can also load broken on a loaded
    machine (once: "Error Loading Theme: Stylesheet failed to load", no status bar): it is
    loaded again, up to `attempts` times. On failure the error carries the server's log and
    a screenshot is saved.
    """
    state = ""
    for attempt in range(1, attempts + 1):
        page.goto(f"{lab.url}/lab/tree/{name}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        deadline = time.monotonic() + timeout
        while (state := kernel_state(lab, name)) != "idle" and time.monotonic() < deadline:
            time.sleep(0.5)
        try:
            # The page knows too once the status bar says so.
            page.wait_for_function("() => /\\| Idle/.test(document.querySelector('.jp-StatusBar-Widget')"
                                   "?.parentElement?.textContent || '')", timeout=60_000)
            page.wait_for_timeout(500)
            return
        except Exception as exc:
            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / f"browser-0-no-kernel-{attempt}.png"
            page.screenshot(path=str(shot), full_page=True)
            if attempt == attempts:
                log = (lab.workdir / "jupyter.log").read_text(errors="replace")[-3000:]
                raise AssertionError(f"the notebook's kernel is not idle in the page after {attempts} loads "
                                     f"(server says {state!r}); screenshots in artifacts/; JupyterLab's log:\n{log}"
                                     ) from exc


def dismiss_notifications(page) -> None:
    """Close JupyterLab's "get notified about news?" toast, which would cover the views."""
    no = page.locator(".jp-toast-button:has-text('No')")
    if no.count():
        no.first.click()


def run_cell(page, index: int) -> None:
    """Select cell `index` (0-based) and run it with Shift+Enter."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.locator(".jp-InputArea-prompt").click()
    page.keyboard.press("Escape")
    page.keyboard.press("Shift+Enter")


def chips(page) -> list[dict]:
    """Every replica chip of the cluster view: its node, image index and state."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.lk-cluster .lk-node .lk-chip[data-w]')].map(c => ({
               node: c.closest('.lk-node').dataset.node, image: +c.dataset.i, state: +c.dataset.s}))""")


def wait_until(page, predicate, timeout: float = 60.0, every: float = 0.1, seen: list | None = None):
    """Poll the chips until `predicate(chips)` holds; every observation goes into `seen`."""
    deadline = time.monotonic() + timeout
    while True:
        current = chips(page)
        if seen is not None:
            seen.append(current)
        if predicate(current):
            return current
        if time.monotonic() > deadline:
            raise AssertionError(f"the view did not get there in {timeout:g} s; last chips: {current}")
        page.wait_for_timeout(every * 1000)


RUNNING, TERMINATING = 2, 3


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    require_chromium()
    workdir = tmp_path_factory.mktemp("lab")
    shutil.copy(NOTEBOOK, workdir / NOTEBOOK.name)
    server = JupyterLab(workdir)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_cluster_view_live_in_jupyterlab(lab, browser):
    import labkit
    nodes = len(labkit.connect("sim", nodes=3, seed=0).state().nodes)  # what the notebook's cluster has
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    open_notebook(page, lab, NOTEBOOK.name)
    dismiss_notifications(page)

    run_cell(page, 1)  # connect, deploy 3, wait, show the view
    page.wait_for_selector(".lk-cluster[data-live] .lk-node", timeout=60_000)
    assert page.locator(".lk-cluster .lk-node").count() == nodes
    first = wait_until(page, lambda c: len(c) == 3 and all(x["state"] == RUNNING for x in c), timeout=20)
    assert {x["image"] for x in first} == {0}
    assert page.locator(".lk-cluster .lk-workload[data-workload='web']").get_attribute("data-ready") == "3"
    # The widget, not the static fallback, is what JupyterLab shows.
    assert page.locator(".labkit-cluster").count() == 0
    page.screenshot(path=str(ARTIFACTS / "browser-1-deployed.png"), full_page=True)

    run_cell(page, 2)  # scale to 6, no wait(): the view's ticks move the simulator
    scaled = wait_until(page, lambda c: sum(x["state"] == RUNNING for x in c) == 6 and len(c) == 6, timeout=60)
    assert {x["image"] for x in scaled} == {0}
    assert len({x["node"] for x in scaled}) > 1, "replicas should spread over the worker nodes"
    page.screenshot(path=str(ARTIFACTS / "browser-2-scaled.png"), full_page=True)

    run_cell(page, 3)  # rolling update to web-server:2, watched as it happens
    seen: list = []
    done = wait_until(page, lambda c: len(c) == 6 and all(x["image"] == 1 and x["state"] == RUNNING for x in c),
                      timeout=90, every=0.05, seen=seen)
    mixed = [c for c in seen if {x["image"] for x in c} == {0, 1}]
    assert mixed, "the view should show old and new replicas side by side during the rolling update"
    # Kubernetes counts terminating pods in neither bound.
    assert max(sum(x["state"] != TERMINATING for x in c) for c in seen) <= 7, "max_surge=1: at most 7 replicas"
    assert min(sum(x["state"] == RUNNING for x in c) for c in seen) >= 6, "max_unavailable=0: 6 stay ready"
    assert len(done) == 6
    assert page.locator(".lk-cluster .lk-workload[data-workload='web']").get_attribute("data-updated") == "6"
    page.screenshot(path=str(ARTIFACTS / "browser-3-updated.png"), full_page=True)

    run_cell(page, 4)  # the rollout over time
    page.wait_for_selector(".lk-rollout[data-live] svg polygon", timeout=30_000)
    run_cell(page, 5)  # the control plane, then a request traced through it
    page.wait_for_selector(".lk-arch[data-live] .lk-comp", timeout=30_000)
    assert page.locator(".lk-arch .lk-comp").count() == 5 + 2 * (nodes - 1)  # control plane + kubelet/runtime per worker
    run_cell(page, 6)
    page.wait_for_function("() => /request accepted by the API server/.test("
                           "document.querySelector('.lk-arch li')?.textContent || '')", timeout=30_000)
    page.wait_for_function("() => +(document.querySelector('.lk-arch')?.dataset.steps || 0) > 5", timeout=30_000)
    wait_until(page, lambda c: sum(x["state"] == RUNNING for x in c) == 8, timeout=60)
    page.wait_for_selector(".lk-arch .lk-comp.lk-active", timeout=10_000)  # the trace animates
    run_cell(page, 7)  # the event log
    page.wait_for_function("() => +(document.querySelector('.lk-events')?.dataset.rows || 0) > 10", timeout=30_000)
    page.wait_for_timeout(1500)  # let the trace animate a little for the screenshots
    for name in ("cluster", "rollout", "arch", "events"):
        view = page.locator(f".lk-{name}[data-live]").first
        view.scroll_into_view_if_needed()
        view.screenshot(path=str(ARTIFACTS / f"browser-view-{name}.png"))
    # The same views in JupyterLab's dark theme (they take its colours).
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel", has_text="Theme").first.hover()
    page.locator(".lm-Menu-itemLabel", has_text="JupyterLab Dark").first.click()
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=20_000)
    page.wait_for_timeout(500)
    for name in ("cluster", "arch"):
        view = page.locator(f".lk-{name}[data-live]").first
        view.scroll_into_view_if_needed()
        view.screenshot(path=str(ARTIFACTS / f"browser-dark-{name}.png"))
    run_cell(page, 8)  # traffic to the workload, drawn live as the view moves the simulator on
    page.wait_for_selector(".lk-traffic[data-live] svg path", timeout=30_000)
    page.wait_for_function("() => /^(\\d+) of 600 requests/.test(document.querySelector('.lk-traffic .lk-muted')"
                           "?.textContent || '') && +document.querySelector('.lk-traffic .lk-muted').textContent"
                           ".split(' ')[0] >= 60", timeout=60_000)
    assert "failed requests: 0" in page.locator(".lk-traffic .lk-clock").text_content()
    view = page.locator(".lk-traffic[data-live]").first
    view.scroll_into_view_if_needed()
    view.screenshot(path=str(ARTIFACTS / "browser-dark-traffic.png"))
    assert not errors, f"JavaScript errors in the page: {errors}"
    page.close()
