"""The install paths agree: pyproject (pip), environment.yml (conda), binder/ (Binder)."""
from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAMES = {"docker": "docker-py", "kubernetes": "python-kubernetes"}  # conda-forge's names


def names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!\[ ;]", r, maxsplit=1)[0].lower() for r in requirements}


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def conda_names(path: Path) -> set[str]:
    """The packages under `dependencies:` (conda's and pip's)."""
    body = path.read_text().split("dependencies:", 1)[1]
    lines = [l.strip()[2:] for l in body.splitlines() if l.strip().startswith("- ")]
    return names([l for l in lines if not l.startswith("-e")]) - {"python", "pip", "pip:"}


def test_environment_yml_has_every_runtime_extra():
    extras = pyproject()["project"]["optional-dependencies"]
    wanted = {CONDA_NAMES.get(n, n) for n in names(extras["lab"] + extras["docker"] + extras["kubernetes"])}
    assert wanted <= conda_names(ROOT / "environment.yml")


def test_binder_has_the_lab_extra():
    lab = names(pyproject()["project"]["optional-dependencies"]["lab"])
    assert lab <= conda_names(ROOT / "binder" / "environment.yml")
    assert '".[lab]"' in (ROOT / "binder" / "postBuild").read_text()


def test_conda_and_binder_bring_the_docker_cli():
    """%docker runs the real docker CLI (against labkit's served engine on the simulator): conda-forge's
    docker-cli package is the client alone, no daemon."""
    for path in (ROOT / "environment.yml", ROOT / "binder" / "environment.yml"):
        assert "docker-cli" in conda_names(path), path


def test_import_loads_no_heavy_library():
    """`import labkit` stays fast because engines, widgets and plots load only when used
    (bench/import_time.py prints the figure)."""
    code = ("import sys, labkit; print(sorted(m for m in ('docker', 'kubernetes', 'matplotlib', 'ipywidgets', "
            "'anywidget', 'IPython') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
