"""The package's layout holds: imports point down only, no module imports itself round a
circle, and the simulator has one door.

Layers, lowest first (a module may import from its own layer and the ones below):

    0  errors, model, validate, catalog,     what everything shares
       private, timekeeping
    1  backends                              one engine each; backends/base.py the contract
    2  views, traffic, traffic_live          renderers and requests, from snapshots
    3  cluster                               the facade
    4  console, lessons, notebook, cli, labkit/__init__

No circles: every import counts, at the top or inside a function (an import inside a
function only delays a circle, it does not break it); one under `if TYPE_CHECKING:` does
not, as it never runs.

Outside labkit/backends/sim/ nothing imports the simulator's insides: only the package
(SimBackend), its read-only door `info` and its front doors for the real CLIs: the served
Kubernetes API `kube` (a package of its own: its server, resources and `labkit serve`) and the
served Docker Engine API `engine`.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "labkit"
LAYERS = [("labkit.errors", "labkit.model", "labkit.validate", "labkit.catalog", "labkit.private",
           "labkit.timekeeping"),
          ("labkit.backends",),
          ("labkit.views", "labkit.traffic", "labkit.traffic_live"),
          ("labkit.cluster",),
          ("labkit.console", "labkit.lessons", "labkit.notebook", "labkit.cli", "labkit")]
SIM = "labkit.backends.sim"
SIM_DOORS = (SIM, SIM + ".info")
SERVED_APIS = (SIM + ".kube", SIM + ".engine")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, type_checking: bool = True) -> set[str]:
    """Every labkit module `path` imports, at the top or inside a function ("from a import b"
    counts as a.b when b is a module, else as a); `type_checking=False` leaves out the imports
    under `if TYPE_CHECKING:`."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text())
    skipped = set() if type_checking else {id(n) for block in _type_checking_blocks(tree) for n in ast.walk(block)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
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


def _type_checking_blocks(tree: ast.AST) -> list[ast.stmt]:
    """The statements under `if TYPE_CHECKING:` (or `typing.TYPE_CHECKING`)."""
    def guarded(test: ast.expr) -> bool:
        return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING" or \
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    return [stmt for node in ast.walk(tree) if isinstance(node, ast.If) and guarded(node.test) for stmt in node.body]


def import_graph(paths: list[Path]) -> dict[str, set[str]]:
    """Module -> the labkit modules it imports when it runs (a module naming itself left out)."""
    graph = {module_name(p): imported(p, type_checking=False) for p in paths}
    return {module: targets - {module} for module, targets in graph.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle of imports for each group of modules that import each other, round and back
    to its first module, e.g. ["labkit.a", "labkit.b", "labkit.a"] (Tarjan's strongly connected
    components, then the shortest way round from the group's first module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = set()
            while not group or module not in group:
                group.add(stack.pop())
            if len(group) > 1:
                groups.append(group)

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(_shortest_circle(graph, group) for group in groups)


def _shortest_circle(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    start = min(group)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:  # breadth first, inside the group, until the way leads back to start
        following = []
        for module in frontier:
            for target in sorted(graph[module] & group):
                if target == start:
                    path = [module]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return path[::-1] + [start]
                if target not in came_from:
                    came_from[target] = module
                    following.append(target)
        frontier = following
    raise AssertionError(f"{sorted(group)} is no circle")


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


def test_no_import_circles():
    found = cycles(import_graph(MODULES))
    assert not found, "imports go round in circles: " + "; ".join(" -> ".join(c) for c in found)


@pytest.mark.parametrize("path", [p for p in MODULES if not module_name(p).startswith(SIM)], ids=module_name)
def test_only_the_simulators_doors_are_used_from_outside(path):
    inside = sorted(m for m in imported(path) if m.startswith(SIM + ".") and m not in SIM_DOORS
                    and not any(m == api or m.startswith(api + ".") for api in SERVED_APIS))
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


def test_the_circle_check_sees_a_circle(tmp_path, monkeypatch):
    """A circle is found, however it is closed: here an import inside a function closes it; one
    under `if TYPE_CHECKING:` does not make one."""
    assert cycles({"labkit.a": {"labkit.b"}, "labkit.b": {"labkit.c", "labkit.d"}, "labkit.c": {"labkit.a"},
                   "labkit.d": set(), "labkit.e": {"labkit.a"}}) == [["labkit.a", "labkit.b", "labkit.c", "labkit.a"]]
    assert cycles({"labkit.a": {"labkit.b"}, "labkit.b": set()}) == []
    monkeypatch.setitem(globals(), "PACKAGE", tmp_path / "labkit")
    (tmp_path / "labkit" / "views").mkdir(parents=True)
    files = {"__init__.py": "", "views/__init__.py": "",
             "traffic.py": "from .views.chart import draw\n",
             "views/chart.py": "def draw():\n    from ..traffic_live import LiveTraffic\n",
             "traffic_live.py": "from . import traffic\n",
             "model.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .backend import Backend\n",
             "backend.py": "from .model import Node\n"}
    for name, text in files.items():
        (tmp_path / "labkit" / name).write_text(text)
    graph = import_graph(sorted((tmp_path / "labkit").rglob("*.py")))
    assert graph["labkit.model"] == set() and graph["labkit.views.chart"] == {"labkit.traffic_live"}
    assert cycles(graph) == [["labkit.traffic", "labkit.views.chart", "labkit.traffic_live", "labkit.traffic"]]
