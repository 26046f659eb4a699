"""The package's layers: every import points down, and no import cycle exists.

Every import counts: at module top, inside functions and under TYPE_CHECKING. A small AST walk,
no dependency. The README's Development section draws the same layers; change both together.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import qwenlab

PACKAGE = Path(qwenlab.__file__).parent

# Bottom to top. A module may import from its own layer and from the layers below it.
LAYERS: list[tuple[str, ...]] = [
    ("qwenlab.errors", "qwenlab.problems", "qwenlab.secrets", "qwenlab.paths", "qwenlab.version", "qwenlab.progress", "qwenlab.wal", "qwenlab.money",
     "qwenlab.caller"),  # foundations
    ("qwenlab.core",),          # model descriptions, requests, validation, values, intervals
    ("qwenlab.emulator",),      # the offline API
    ("qwenlab.api",),           # the client, connect(), sending: exchange, task runs, downloads, uploads, image store
    ("qwenlab.store",),         # the log, experiments as read from it, thumbnails
    ("qwenlab.sweeps",),        # axes, cells, sweeps, sweep files, budget, the runner
    ("qwenlab.costs",),         # cost frames: their view, SQL, grouped queries, prices; cost plots
    ("qwenlab.typography",),    # OCR, text scores
    ("qwenlab.analysis",),      # pairs, judging statistics
    ("qwenlab.figures",),       # matplotlib
    ("qwenlab.html",),          # the HTML report
    ("qwenlab.widgets",),       # ipywidgets
    ("qwenlab.lab",),           # the notebook facade: Lab, Experiment
    ("qwenlab.demo",),
    ("qwenlab.cli", "qwenlab.bench", "qwenlab.__main__"),
    ("qwenlab",),               # the package itself: the public API
]


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    in_function: bool = False


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The module an imported name lives in: `qwenlab.a.b.thing` -> `qwenlab.a.b`."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports() -> list[Import]:
    found = []
    for module, path in MODULES.items():
        found += _imports_of(module, path.read_text(encoding="utf-8"), is_package=path.name == "__init__.py")
    return found


def _imports_of(module: str, source: str, *, is_package: bool = False) -> list[Import]:
    found = []
    package = module if is_package else module.rpartition(".")[0]
    tree = ast.parse(source)
    in_function = {id(inner) for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
                   for inner in ast.walk(fn)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                stem = ".".join(base) + (f".{node.module}" if node.module else "")
            else:
                stem = node.module or ""
            # `from . import x` imports a module x; `from .m import f` imports from m
            names = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in MODULES else stem for a in node.names]
        else:
            continue
        for name in names:
            target = _resolve(name) if name == "qwenlab" or name.startswith("qwenlab.") else None
            if target and target != module:
                found.append(Import(module, target, node.lineno, id(node) in in_function))
    return found


def _rank(module: str) -> int:
    best = None
    for rank, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or (prefix != "qwenlab" and module.startswith(prefix + ".")):
                if best is None or len(prefix) > best[1]:
                    best = (rank, len(prefix))
    assert best is not None, f"{module} is in no layer: add it to LAYERS (and to the README's Development section)"
    return best[0]


def test_every_module_belongs_to_a_layer() -> None:
    for module in MODULES:
        _rank(module)


def test_no_import_points_up_a_layer() -> None:
    upward = [f"{i.source} (line {i.line}) imports {i.target}" for i in _imports() if _rank(i.target) > _rank(i.source)]
    assert upward == [], "imports that point up a layer:\n" + "\n".join(upward)


# The imports kept inside a function, the package's own names loaded on first use: `qwenlab.Lab`
# (the views: matplotlib, ipywidgets), `qwenlab.Sweep`, `RunwareClient` and `connect` (httpx, Pillow,
# the emulator), so that `import qwenlab` and the CLI (`qwenlab logs`, `costs`) start without them.
LAZY_IMPORTS = {("qwenlab", "qwenlab.lab"), ("qwenlab", "qwenlab.api.client"), ("qwenlab", "qwenlab.sweeps.sweep"),
                ("qwenlab", "qwenlab.api.connect")}


def test_no_import_hides_inside_a_function() -> None:
    """Imports inside functions were how cycles hid; with the layers they have no reason left."""
    hidden = [f"{i.source} (line {i.line}) imports {i.target}" for i in _imports()
              if i.in_function and (i.source, i.target) not in LAZY_IMPORTS]
    assert hidden == [], "imports inside functions:\n" + "\n".join(hidden)


def test_no_import_cycles() -> None:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for i in _imports():
        graph[i.source].add(i.target)
    # Tarjan's strongly connected components; any component of more than one module is a cycle
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert cycles == [], f"import cycles: {cycles}"


def test_the_checker_sees_hidden_upward_imports() -> None:
    """Imports inside functions and under TYPE_CHECKING count, or the tests above prove nothing."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "from .model import get_model\n"
        "if TYPE_CHECKING:\n"
        "    from ..store.log import Log\n"
        "def late():\n"
        "    from ..figures.grid import build_grid\n"
        "    import qwenlab.widgets.explorer\n"
    )
    found = _imports_of("qwenlab.core.values", source)
    assert {i.target for i in found} == {"qwenlab.core.model", "qwenlab.store.log", "qwenlab.figures.grid",
                                         "qwenlab.widgets.explorer"}
    assert {i.target for i in found if i.in_function} == {"qwenlab.figures.grid", "qwenlab.widgets.explorer"}
    upward = {i.target for i in found if _rank(i.target) > _rank(i.source)}
    assert upward == {"qwenlab.store.log", "qwenlab.figures.grid", "qwenlab.widgets.explorer"}
