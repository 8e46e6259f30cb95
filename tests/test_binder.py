"""Binder: build the environment from `binder/`'s files alone, then run every lesson with no Docker.

repo2docker installs the conda packages of binder/environment.yml, then runs
binder/postBuild from the repository's root. Here the same happens in a fresh
virtual environment: the conda packages' pip equivalents (same names), then
postBuild itself. The lessons then run top to bottom with Docker unreachable
(DOCKER_HOST points at a socket nobody listens on) and LABKIT_BACKEND unset,
as on Binder, where they must fall back to the simulator.

The build needs the package registry and takes about a minute.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
CONDA_ONLY = {"python", "pip", "docker-cli"}  # the interpreter itself (venv provides both); conda-forge's docker
# CLI, a Go binary (the package of that name on pip's index is another project: the machine's CLI serves here)
SKIP_DIRS = {".git", ".venv", "build", "dist", "tests", "bench", "__pycache__", ".pytest_cache",
             ".ipynb_checkpoints"}

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def conda_dependencies(path: Path) -> list[str]:
    """The `dependencies:` of an environment.yml, as written (`name>=1.0`, `python=3.11`)."""
    deps, inside = [], False
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if not raw.startswith((" ", "-")):
            inside = line.strip() == "dependencies:"
            continue
        if inside and line.strip().startswith("- ") and not line.strip().endswith(":"):
            deps.append(line.strip()[2:].strip())
    return deps


def pip_equivalent(spec: str) -> str | None:
    """`jupyterlab>=4` -> `jupyterlab>=4`; conda's `pkg=1.2` pin -> `pkg==1.2.*`; python/pip -> None."""
    name = re.split(r"[<>=!\s]", spec, 1)[0]
    if name in CONDA_ONLY:
        return None
    pin = re.fullmatch(r"([A-Za-z0-9_.\-]+)=([0-9][0-9.]*)", spec)
    return f"{pin.group(1)}=={pin.group(2)}.*" if pin else spec


def test_environment_yml_is_read_as_repo2docker_would():
    deps = conda_dependencies(BINDER / "environment.yml")
    assert "pip" in deps and any(d.startswith("python") for d in deps)
    assert [pip_equivalent(d) for d in ("python=3.11", "pip", "jupyterlab>=4", "nodejs=20")] == \
        [None, None, "jupyterlab>=4", "nodejs==20.*"]
    assert pip_equivalent("docker-cli") is None  # conda-forge's Go binary; pip's "docker-cli" is another project


def copy_checkout(dest: Path) -> Path:
    """What Binder clones: the repository's files (without local venvs, caches or build output)."""
    def ignore(folder, names):
        return [n for n in names if n in SKIP_DIRS or n.endswith(".egg-info")]
    shutil.copytree(ROOT, dest, ignore=ignore)
    return dest


def run(cmd: list[str], cwd: Path, env: dict, timeout: float) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def test_binder_environment_runs_every_lesson_without_docker(tmp_path):
    checkout = copy_checkout(tmp_path / "repo")
    env_dir = tmp_path / "env"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    bin_dir = env_dir / "bin"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JUPYTER", "IPYTHON", "LABKIT_", "PYTHON", "VIRTUAL_ENV", "DOCKER_"))}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(env_dir),
               HOME=str(tmp_path / "home"), IPYTHONDIR=str(tmp_path / "ipython"),
               JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
               DOCKER_HOST=f"unix://{tmp_path}/no-docker-here.sock", PIP_DISABLE_PIP_VERSION_CHECK="1")
    (tmp_path / "home").mkdir()
    python = str(bin_dir / "python")

    # 1. the conda packages, by their pip names; 2. postBuild, from the repository's root
    packages = [p for p in map(pip_equivalent, conda_dependencies(checkout / "binder" / "environment.yml")) if p]
    run([python, "-m", "pip", "install", "-q", *packages], checkout, env, timeout=150)
    run(["bash", str(checkout / "binder" / "postBuild")], checkout, env, timeout=120)

    # labkit comes from the installed package, not from the checkout's folder
    found = run([python, "-c", "import labkit, sys; print(labkit.__file__)"], tmp_path, env, timeout=30)
    assert str(env_dir) in found.stdout

    notebooks = sorted((checkout / "notebooks").glob("*.ipynb"))
    assert any(n.name.startswith("00-") for n in notebooks)
    out = tmp_path / "executed"
    command = [str(bin_dir / "jupyter"), "nbconvert", "--to", "notebook", "--execute", "--output-dir", str(out),
               "--ExecutePreprocessor.timeout=120"]
    halves = [notebooks[0::2], notebooks[1::2]]  # two kernels at a time: the machines have two cores
    jobs = [subprocess.Popen(command + [str(n) for n in half], cwd=checkout / "notebooks", env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for half in halves]
    for job in jobs:
        log, _ = job.communicate(timeout=240)
        assert job.returncode == 0, f"running the lessons failed:\n{log[-4000:]}"

    for notebook in notebooks:
        cells = json.loads((out / notebook.name).read_text())["cells"]
        errors = [o for c in cells for o in c.get("outputs", []) if o["output_type"] == "error"]
        assert not errors, f"{notebook.name}: {errors[0]['ename']}: {errors[0]['evalue']}"
    def printed(notebook: str, command: str) -> str:
        cells = json.loads((out / notebook).read_text())["cells"]
        return "".join("".join(o.get("text", "")) for c in cells for o in c.get("outputs", [])
                       if command in "".join(c["source"]))
    scaled = printed("03-kubernetes-first-steps.ipynb", "%kubectl scale")
    assert "deployment.apps/my-web-server scaled" in scaled  # the real kubectl ran, against the served simulator
    pulled = printed("01-why-orchestration.ipynb", "%docker run")  # the real docker CLI, against the served engine
    assert "Status: Downloaded newer image for my-web-server:latest" in pulled
    start = json.loads((out / "00-start-here.ipynb").read_text())["cells"]
    doctor = "".join("".join(o.get("text", "")) for c in start for o in c.get("outputs", [])
                     if "doctor" in "".join(c["source"]))
    assert "docker: not usable" in doctor and "lessons will use: sim" in doctor
