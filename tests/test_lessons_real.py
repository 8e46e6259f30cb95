"""Lessons 01, 02 and 02b, solved (solutions/), on real engines: the plain Docker host and real Swarm playgrounds.

Outputs differ from the simulator's (ids, addresses, timings), so each
notebook runs under nbval's lax mode: every cell must run without an error,
and the cells tagged `nbval-check-output` (the exercises' checks) must print
exactly what they print on the simulator: "✔ ... passed". Lesson 02 builds its swarm by
hand (`docker swarm init`, then a new machine for each `docker swarm join`), lesson 02b
two swarms of five nodes. Each lesson has labs of its own, removed afterwards, so the
scenario suite's playground is never touched. 01 and 02 run at once (most of their time
is real seconds of `cluster.run(...)`), then 02b.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = {  # notebook: its lab, and the labs of the extra swarms it makes (name="...")
    "01-why-orchestration.ipynb": ("lesson-01", ()),
    "02-docker-swarm.ipynb": ("lesson-02", ("first",)),
    "02b-swarm-managers-and-quorum.ipynb": ("lesson-02b", ("ha", "ha5")),
}
WAVES = (("01-why-orchestration.ipynb", "02-docker-swarm.ipynb"), ("02b-swarm-managers-and-quorum.ipynb",))


def docker_answers() -> bool:
    try:
        from labkit.backends.docker import common
        common.connect(timeout=5).ping()
        return True
    except Exception:
        return False


@pytest.mark.swarm
@pytest.mark.slow
def test_lessons_01_and_02_run_on_real_docker_and_swarm(tmp_path):
    if not docker_answers():
        if os.environ.get("LABKIT_REQUIRE_DOCKER"):
            pytest.fail("LABKIT_REQUIRE_DOCKER is set but no Docker engine answers")
        pytest.skip("no Docker engine answers: start one (tools/start-docker.sh) to run lessons 01-02 on it")
    runs, outputs = {}, {}
    try:
        for wave in WAVES:  # two at a time: their playgrounds share the machine's two cores
            for notebook in wave:
                # LABKIT_STRICT: no quiet fallback to the simulator; the lesson must run on the real engines
                env = {**os.environ, "LABKIT_BACKEND": "swarm", "LABKIT_LAB": LESSONS[notebook][0], "LABKIT_STRICT": "1"}
                runs[notebook] = subprocess.Popen(
                    [sys.executable, "-m", "pytest", "--nbval-lax", "-q", "-p", "no:cacheprovider",
                     str(ROOT / "solutions" / notebook)],
                    cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            outputs.update({notebook: runs[notebook].communicate(timeout=1500)[0] for notebook in wave})
    finally:
        for run in runs.values():
            if run.poll() is None:
                run.kill()
        for lab, extra in LESSONS.values():
            for name in (lab,) + tuple(f"{lab}-{x}" for x in extra):
                subprocess.run([sys.executable, "-m", "labkit.cli", "reset", "--lab", name],
                               env={**os.environ, "LABKIT_QUIET": "1"}, capture_output=True, timeout=300)
    for notebook, run in runs.items():
        assert run.returncode == 0, f"{notebook}:\n{outputs[notebook][-5000:]}"
        assert " passed" in outputs[notebook]
