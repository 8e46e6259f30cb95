"""The package's layout holds: imports point down only, and the simulator has one door.

Layers, lowest first (a module may import from its own layer and the ones below):

    0  errors, model, validate, catalog,     what everything shares
       private
    1  backends                              one engine each; backends/base.py the contract
    2  views, traffic, traffic_live          renderers and requests, from snapshots
    3  cluster                               the facade
    4  console, lessons, notebook, cli, labkit/__init__

Outside labkit/backends/sim/ nothing imports the simulator's insides: only the package
(SimBackend), its read-only door `info` and its front door for kubectl, the served
Kubernetes API `kube` (a package of its own: its server, resources and `labkit serve`).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "labkit"
LAYERS = [("labkit.errors", "labkit.model", "labkit.validate", "labkit.catalog", "labkit.private"),
          ("labkit.backends",),
          ("labkit.views", "labkit.traffic", "labkit.traffic_live"),
          ("labkit.cluster",),
          ("labkit.console", "labkit.lessons", "labkit.notebook", "labkit.cli", "labkit")]
SIM = "labkit.backends.sim"
SIM_DOORS = (SIM, SIM + ".info")
SERVED_API = SIM + ".kube"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Every labkit module `path` imports, at the top or inside a function ("from a import b"
    counts as a.b when b is a module, else as a)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "labkit"}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            if target.split(".")[0] != "labkit":
                continue
            for alias in node.names:
                full = f"{target}.{alias.name}"
                is_module = (PACKAGE.parent / full.replace(".", "/")).with_suffix(".py").exists() or \
                    (PACKAGE.parent / full.replace(".", "/") / "__init__.py").exists()
                found.add(full if is_module else target)
    return found


def layer(module: str) -> int:
    best = max((len(prefix), rank) for rank, prefixes in enumerate(LAYERS) for prefix in prefixes
               if module == prefix or module.startswith(prefix + "."))
    return best[1]


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer():
    assert all(layer(module_name(p)) >= 0 for p in MODULES)
    assert {module_name(p) for p in MODULES} >= {"labkit.backends.docker.engine", "labkit.backends.kubernetes.backend",
                                                  "labkit.backends.sim.flavors.swarm", "labkit.console.tools.docker"}


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_imports_point_down(path):
    here = layer(module_name(path))
    upward = sorted(m for m in imported(path) if layer(m) > here)
    assert not upward, f"{module_name(path)} (layer {here}) imports from above: {upward}"


@pytest.mark.parametrize("path", [p for p in MODULES if not module_name(p).startswith(SIM)], ids=module_name)
def test_only_the_simulators_doors_are_used_from_outside(path):
    inside = sorted(m for m in imported(path) if m.startswith(SIM + ".") and m not in SIM_DOORS
                    and not (m == SERVED_API or m.startswith(SERVED_API + ".")))
    assert not inside, f"{module_name(path)} reaches into the simulator: {inside} (use {', '.join(SIM_DOORS)})"


def test_the_checks_see_an_upward_import_and_a_reach_inside(tmp_path):
    """The checks can fail: a backend importing the facade, a lesson importing the scheduler."""
    globals()["PACKAGE"] = tmp_path / "labkit"
    try:
        backend = tmp_path / "labkit" / "backends" / "fake.py"
        backend.parent.mkdir(parents=True)
        backend.write_text("def f():\n    from ..cluster import Cluster\n")
        assert imported(backend) == {"labkit.cluster"} and layer("labkit.cluster") > layer("labkit.backends.fake")
        lesson = tmp_path / "labkit" / "lessons" / "fake.py"
        lesson.parent.mkdir(parents=True)
        lesson.write_text("from ..backends.sim.scheduler import Scheduler\n")
        assert imported(lesson) == {"labkit.backends.sim.scheduler"}
    finally:
        globals()["PACKAGE"] = Path(__file__).resolve().parent.parent / "labkit"
