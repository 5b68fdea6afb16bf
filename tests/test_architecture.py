"""The package's import graph: no cycles among rclicks modules, no import from rclicks up into rclicks_leaderboard or rclicks_app,
and the shared base modules import no implementation (the registry imports the implementations, never the reverse).

Imports are read with ``ast`` from every module under ``rclicks/``, at module level and inside functions alike
(a lazy import is still an edge). ``from pkg import name`` is an edge to ``pkg.name`` when that is a module, else
to ``pkg``; importing ``pkg.sub`` is an edge to ``pkg.sub`` only (not to the package ``pkg`` that Python runs
first, whose ``__init__`` must then not import anything that imports ``pkg.sub``: checked by the import test below).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("rclicks", "rclicks_leaderboard", "rclicks_app")


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(p for name in PACKAGES for p in (ROOT / name).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imported(module: str, path: Path) -> list[str]:
    """Every module name ``module`` imports (absolute, resolved), at any depth of the file."""
    is_package = path.name == "__init__.py"
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                names.append(sub if sub in MODULES else target)
    return names


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        edges = set()
        for name in _imported(module, path):
            while name and name not in MODULES:  # ``rclicks.models.base.check_image`` -> ``rclicks.models.base``
                name = name.rpartition(".")[0]
            if name and name != module:
                edges.add(name)
        graph[module] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    if len(component) > 1:
                        out.append(sorted(component))
    return out


def _path(graph: dict[str, set[str]], component: list[str]) -> str:
    """One shortest cycle through a component's first module, for the failure message (``a -> b -> a``)."""
    members, start = set(component), component[0]
    parent: dict[str, str | None] = {start: None}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & members):
                if w == start:
                    chain = [v]
                    while parent[chain[-1]] is not None:
                        chain.append(parent[chain[-1]])
                    return " -> ".join(reversed(chain)) + f" -> {start}"
                if w not in parent:
                    parent[w] = v
                    nxt.append(w)
        frontier = nxt
    return ", ".join(component)


def test_the_graph_is_read_from_every_module():
    graph = _graph()
    assert "rclicks.registry" in graph and "rclicks.models.sam" in graph["rclicks.registry"]
    assert "rclicks.models.base" in graph["rclicks.models.sam"] or "rclicks.models._sam_common" in graph["rclicks.models.sam"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_in_the_library_the_leaderboard_or_the_app():
    """Module-level and function-level imports of rclicks, rclicks_leaderboard and rclicks_app form no cycle."""
    graph = _graph()
    assert "rclicks_leaderboard.gallery" in graph and "rclicks_leaderboard.artefacts" in graph["rclicks_leaderboard.gallery"]
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(_path(graph, c) for c in cycles)


def test_no_implementation_imports_the_registry():
    graph = _graph()
    implementations = [m for m in graph["rclicks.registry"] if m.startswith(("rclicks.models.", "rclicks.clickers.",
                                                                            "rclicks.clickmaps."))]
    assert len(implementations) >= 15
    offenders = [m for m in MODULES if "rclicks.registry" in graph[m] and m.startswith(
        ("rclicks.models.", "rclicks.clickers.", "rclicks.clickmaps."))
        and m.rpartition(".")[2] not in ("evaluation",)]  # clickmaps.evaluation scores maps; it is not one
    assert offenders == []


def _upward() -> list[str]:
    out = []
    for module, path in MODULES.items():
        if module.split(".")[0] != "rclicks":
            continue
        for name in _imported(module, path):
            if name.split(".")[0] in ("rclicks_leaderboard", "rclicks_app", "leaderboard", "ui"):
                out.append(f"{module} -> {name}")
    return sorted(set(out))


def test_rclicks_never_imports_leaderboard_or_ui():
    assert _upward() == []


def test_installed_top_level_packages_cannot_collide():
    """pip installs ``rclicks``, ``rclicks_leaderboard`` and ``rclicks_app``: no generic top-level name (``leaderboard``, ``ui``)."""
    import tomllib

    root = Path(__file__).resolve().parents[1]
    include = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    assert sorted(include) == ["rclicks*", "rclicks_app*", "rclicks_leaderboard*"]
    tops = sorted(p.name for p in root.iterdir() if (p / "__init__.py").is_file())
    assert tops == ["rclicks", "rclicks_app", "rclicks_leaderboard"]


def test_base_modules_import_no_implementation():
    """``import rclicks.{models,clickers,clickmaps}.base`` loads the shared types only, in a fresh interpreter."""
    code = ("import sys; import rclicks.models.base, rclicks.clickers.base, rclicks.clickmaps.base; "
            "print(sorted(m for m in sys.modules if m.startswith('rclicks.')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    loaded = set(eval(out))  # noqa: S307 (our own printed list)
    packages = {"rclicks.models", "rclicks.clickers", "rclicks.clickmaps"}
    implementations = {m for m in loaded if m.rpartition(".")[0] in packages and not m.endswith(".base")}
    assert implementations == set() and "rclicks.registry" not in loaded, sorted(loaded)
