"""Time as a person sees it (labkit/timekeeping.py): the rule with a fake wall clock, the facade, the
console and the views following it, and a real kernel where two `%kubectl get pods` a few wall seconds
apart differ unless the clock is still."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import labkit as lk
from labkit import console, timekeeping
from labkit.lessons import grading
from labkit.timekeeping import CAP, MIN_STEP, Timekeeper


class Wall:
    """A wall clock the test moves by hand: nothing sleeps, nothing drifts on a loaded machine."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cluster_on(wall: Wall, mode: str | None = "wall", **options) -> lk.Cluster:
    cluster = lk.connect("sim", **options)
    cluster.timekeeper = Timekeeper(wall=wall, mode=mode)
    return cluster


@pytest.fixture(autouse=True)
def fresh_console():
    console.forget()
    yield
    console.forget()


# -- the rule ------------------------------------------------------------------------------------------
def test_the_clock_catches_up_by_the_wall_time_since_it_was_last_up_to_date():
    wall = Wall()
    keeper = Timekeeper(wall=wall, mode="wall")
    wall.now += 5
    assert keeper.due() == 5.0
    assert keeper.due() == 0.0, "already caught up: nothing twice"
    wall.now += 2.5
    assert keeper.due() == 2.5


def test_a_catch_up_is_capped_so_a_laptop_that_slept_does_not_replay_the_hour():
    wall = Wall()
    keeper = Timekeeper(wall=wall, mode="wall")
    wall.now += 3600
    assert keeper.due() == CAP == 600.0
    assert keeper.due() == 0.0, "the rest of the hour is dropped, not owed"


def test_less_than_a_step_adds_up_instead_of_nudging_the_clock():
    wall = Wall()
    keeper = Timekeeper(wall=wall, mode="wall")
    wall.now += MIN_STEP * 0.6
    assert keeper.due() == 0.0
    wall.now += MIN_STEP * 0.6
    assert keeper.due() == pytest.approx(MIN_STEP * 1.2)


def test_speed_multiplies_the_wall_time_and_synced_counts_from_now():
    wall = Wall()
    keeper = Timekeeper(wall=wall, mode="wall")
    wall.now += 2
    assert keeper.due(speed=10) == 20.0
    wall.now += 7
    keeper.synced()  # a run() or a waiting command just moved the clock itself
    assert keeper.due() == 0.0


def test_still_mode_and_a_hold_pass_nothing_and_replay_nothing_afterwards():
    wall = Wall()
    keeper = Timekeeper(wall=wall, mode="still")
    wall.now += 100
    assert keeper.due() == 0.0
    keeper.fixed_mode = "wall"  # the switch flipped: the still time is not owed
    assert keeper.due() == 0.0
    keeper.hold()
    keeper.hold()
    wall.now += 100
    assert keeper.due() == 0.0 and not keeper.follows_wall
    keeper.release()
    wall.now += 100
    assert keeper.due() == 0.0, "holds nest: one release of two holds nothing"
    keeper.release()
    assert keeper.due() == 0.0, "the time spent held is not replayed"
    wall.now += 3
    assert keeper.due() == 3.0
    keeper.release()  # one too many: harmless
    assert keeper.holds == 0


def test_the_switch_is_the_environment_and_the_default_is_wall_only_in_an_ipython_shell(monkeypatch, capsys):
    monkeypatch.setenv("LABKIT_CLOCK", "wall")
    assert timekeeping.mode() == "wall"
    monkeypatch.setenv("LABKIT_CLOCK", " Still ")
    assert timekeeping.mode() == "still"
    monkeypatch.delenv("LABKIT_CLOCK")
    monkeypatch.setattr(timekeeping, "interactive", lambda: True)
    assert timekeeping.mode() == "wall"
    monkeypatch.setattr(timekeeping, "interactive", lambda: False)
    assert timekeeping.mode() == "still"
    monkeypatch.setenv("LABKIT_CLOCK", "realtime")
    assert timekeeping.mode() == "still" and timekeeping.mode() == "still"
    said = capsys.readouterr().err
    assert said.count("LABKIT_CLOCK='realtime' is neither") == 1 and "LABKIT_CLOCK=still" in said
    with pytest.raises(ValueError, match="'still' or 'wall'"):
        Timekeeper(mode="fast")


def test_a_plain_python_process_is_not_interactive():
    env = {k: v for k, v in os.environ.items() if k != "LABKIT_CLOCK"}
    out = subprocess.run([sys.executable, "-c", "import IPython, labkit.timekeeping as t; print(t.mode())"],
                         env=env, capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.strip() == "still"


# -- the facade ----------------------------------------------------------------------------------------
def test_a_facade_call_first_catches_up_with_the_wall_clock():
    wall = Wall()
    cluster = cluster_on(wall)
    start = cluster.now()
    cluster.deploy("web", image="web-server:1", replicas=3)
    assert cluster.state().workload("web").ready == 0
    wall.now += 30  # a student reading
    assert cluster.state().workload("web").ready == 3
    assert cluster.now() == pytest.approx(start + 30)
    assert cluster.timeline[-1][1][0].ready == 3, "the catch-up went through the facade: the timeline saw it"


def test_in_still_mode_nothing_moves_between_calls():
    wall = Wall()
    cluster = cluster_on(wall, mode=None)  # the mode from the environment: tests/conftest.py says still
    assert timekeeping.mode() == "still"
    cluster.deploy("web", image="web-server:1", replicas=3)
    start, before = cluster.now(), cluster.state()
    for _ in range(5):
        wall.now += 120
        assert cluster.now() == start
        assert cluster.state().workload("web") == before.workload("web")
        assert cluster.events() == cluster.events()
        assert str(cluster.ps()) == str(cluster.ps())
    cluster.run(10)
    assert cluster.now() == start + 10, "a cell still moves it"


def test_a_catch_up_is_capped_on_the_cluster_too():
    wall = Wall()
    cluster = cluster_on(wall)
    start = cluster.now()
    wall.now += 3 * 3600
    assert cluster.catch_up() == CAP
    assert cluster.now() == pytest.approx(start + CAP)


def test_run_and_wait_bring_the_clock_up_to_date_the_wall_time_they_took_is_not_counted_again():
    wall = Wall()
    cluster = cluster_on(wall)
    cluster.deploy("web", image="web-server:1", replicas=2)
    cluster.on_change(lambda state: setattr(wall, "now", wall.now + 0.2))  # each step of the move takes wall time
    wall.now += 4
    start = cluster.now()  # caught up: 4 s passed
    cluster.run(30)
    assert cluster.now() == pytest.approx(start + 30)
    cluster.workload("web").scale(4)
    cluster.wait()
    after = cluster.backend.now()
    assert cluster.now() == after, "the wall time run() and wait() took is theirs, not owed again"


def test_a_held_clock_moves_only_when_a_cell_moves_it():
    wall = Wall()
    cluster = cluster_on(wall)
    cluster.deploy("web", image="web-server:1", replicas=2)
    cluster.hold_time()
    assert not cluster.follows_wall_clock
    start = cluster.now()
    wall.now += 500
    assert cluster.now() == start and cluster.state().workload("web").ready == 0
    cluster.run(10)
    assert cluster.now() == start + 10
    cluster.release_time()
    assert cluster.follows_wall_clock
    assert cluster.now() == start + 10, "the 500 s held are not replayed"
    wall.now += 3
    assert cluster.now() == pytest.approx(start + 13)
    with cluster.held() as same:
        assert same is cluster and not cluster.follows_wall_clock
        wall.now += 60
        assert cluster.now() == pytest.approx(start + 13)
    wall.now += 1
    assert cluster.now() == pytest.approx(start + 14)


def test_a_real_cluster_and_another_thread_never_move_the_clock():
    wall = Wall()
    cluster = cluster_on(wall)
    wall.now += 10
    moved = []
    thread = threading.Thread(target=lambda: moved.append(cluster.catch_up()))  # e.g. a view's timer
    thread.start()
    thread.join()
    assert moved == [0.0]
    # a view's tick is a message the kernel handles one at a time, on whichever thread it handles them
    # (ipykernel 7: off the main thread when idle): it moves the clock
    thread = threading.Thread(target=lambda: moved.append(cluster.catch_up(tick=True)))
    thread.start()
    thread.join()
    assert moved == [0.0, 10.0]
    cluster.backend.simulated = False  # a real engine: its time is real, nothing to catch up
    assert cluster.catch_up() == 0.0 and not cluster.follows_wall_clock
    cluster.hold_time()
    cluster.release_time()  # a lesson's hold on a real cluster: harmless


# -- the console ---------------------------------------------------------------------------------------
def test_a_kubectl_command_first_catches_up(tmp_path):
    wall = Wall()
    cluster = cluster_on(wall, flavor="kubernetes")
    console.run("kubectl run web --image=nginx", cluster)
    first = console.run("kubectl get pods", cluster)
    assert "ContainerCreating" in first
    wall.now += 20
    second = console.run("kubectl get pods", cluster)
    assert "Running" in second and "20s" in second, second


def test_a_kubectl_that_waits_brings_the_clock_up_to_date():
    wall = Wall()
    cluster = cluster_on(wall, flavor="kubernetes")
    console.run("kubectl create deployment web --image=web-server:1 --replicas=3", cluster)
    cluster.on_change(lambda state: setattr(wall, "now", wall.now + 1.0))  # the wait takes wall time
    out = console.run("kubectl rollout status deployment/web", cluster)
    assert "successfully rolled out" in out
    assert wall.now > 1000.0 + 1, "the command's steps took (fake) wall time"
    assert cluster.catch_up() == 0.0, "the time the command waited is not owed again"


def test_a_held_instant_reads_the_same_however_long_the_student_pauses():
    """Lesson 05's "Stop the scheduler": two pods Pending for 30 s, read ten minutes later."""
    wall = Wall()
    cluster = cluster_on(wall, flavor="kubernetes")
    cluster.deploy("web", image="web-server:1", replicas=3)
    cluster.wait()
    cluster.hold_time()
    cluster.stop_component("scheduler")
    cluster.workload("web").scale(5)
    cluster.run(30)
    shown = console.run("kubectl get pods", cluster)
    wall.now += 600
    assert console.run("kubectl get pods", cluster) == shown
    assert shown.count("Pending") == 2 and "30s" in shown
    cluster.start_component("scheduler")
    cluster.wait()
    cluster.release_time()
    before = cluster.now()
    wall.now += 60
    assert cluster.now() == pytest.approx(before + 60), "released: the clock follows the wall clock again"


# -- the views -----------------------------------------------------------------------------------------
def test_a_view_tick_is_the_same_catch_up_times_its_speed():
    wall = Wall()
    cluster = cluster_on(wall)
    cluster.deploy("web", image="web-server:1", replicas=3)
    view = cluster.view(linger=60)
    try:
        assert view.moving
        start = cluster.backend.now()
        wall.now += 0.1
        assert view.tick() and cluster.backend.now() == pytest.approx(start + 0.1)
        assert not view.tick(), "another view (or a cell) caught up just now"
        view.speed = 10
        wall.now += 0.1
        assert view.tick() and cluster.backend.now() == pytest.approx(start + 1.1)
        wall.now += 0.5
        assert cluster.now() == pytest.approx(start + 1.6), "a cell catches up at 1x, from the last tick"
    finally:
        view.close()


def test_a_view_in_still_mode_or_paused_does_not_tick_and_its_pause_holds_the_cells_too():
    wall = Wall()
    still = cluster_on(wall, mode="still")
    still.deploy("web", image="web-server:1", replicas=3)
    view = still.view()
    assert not view.moving and not view.tick()
    view.close()

    cluster = cluster_on(wall)
    cluster.deploy("web", image="web-server:1", replicas=3)
    view = cluster.view()
    try:
        view._on_message(view, {"type": "speed", "value": 0}, [])  # the pause button
        assert not cluster.follows_wall_clock and not view.moving
        start = cluster.now()
        wall.now += 100
        assert cluster.now() == start, "paused in the view: the cells see the same still clock"
        view._on_message(view, {"type": "speed", "value": 1}, [])
        assert cluster.follows_wall_clock and view.moving
        wall.now += 2
        assert cluster.now() == pytest.approx(start + 2)
        view._on_message(view, {"type": "speed", "value": 0}, [])
    finally:
        view.close()
    assert cluster.follows_wall_clock, "a closed view holds nothing"


def test_grading_kernels_keep_the_clock_still(tmp_path):
    assert grading.sandbox_env(tmp_path / "r.jsonl")["LABKIT_CLOCK"] == "still"


# -- a kernel, as a person runs it -----------------------------------------------------------------------
CELLS = ("%load_ext labkit\nimport labkit, labkit.timekeeping\nfrom labkit import console\n"
         "k8s = labkit.connect('sim')\nconsole.use(k8s)\nprint(labkit.timekeeping.mode())",
         "%kubectl run web --image=nginx",
         "%kubectl get pods",
         "import time\ntime.sleep(2.5)",
         "%kubectl get pods")


def run_in_kernel(clock: str | None) -> list[str]:
    """The CELLS in a fresh kernel; `clock` None: LABKIT_CLOCK unset, as in a person's Jupyter."""
    import nbclient
    import nbformat
    env = {k: v for k, v in os.environ.items() if k != "LABKIT_CLOCK"}
    env["LABKIT_BACKEND"] = "sim"
    if clock is not None:
        env["LABKIT_CLOCK"] = clock
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute(env=env, cwd=str(Path.cwd()))
    return ["".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream") for cell in notebook.cells]


@pytest.mark.slow
def test_in_a_persons_kernel_two_kubectl_get_pods_seconds_apart_differ():
    said = run_in_kernel(None)
    assert said[0].strip() == "wall", "a kernel with LABKIT_CLOCK unset follows the wall clock"
    first, second = said[2], said[4]
    assert "ContainerCreating" in first and " 0s" in first, first
    assert "Running" in second and " 0s" not in second, second


@pytest.mark.slow
def test_in_a_still_kernel_they_are_the_same():
    said = run_in_kernel("still")
    assert said[0].strip() == "still"
    assert said[2] == said[4] and "ContainerCreating" in said[2], said
