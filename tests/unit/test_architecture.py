"""The one-way rule, checked on every import (module level and inside functions), so it cannot rot.

Layers, top first: the rooms in ``[tool.novel-events] rooms`` of pyproject.toml (in that order), then
``novel_events``. A module may import its own layer and the layers below it, never one above.
See ARCHITECTURE.md.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.env import ROOT

ROOMS: list[str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["novel-events"]["rooms"]
LAYERS = [*ROOMS, "novel_events"]
NOT_SHIPPED = {"tests", "benchmarks"}  # top-level Python folders that are not part of the product
PREFECT_DISTRIBUTIONS = {"prefect", "prefect_sqlalchemy"}


def python_files(*tops: str) -> Iterator[Path]:
    for top in tops:
        yield from sorted((ROOT / top).rglob("*.py"))


def absolute_imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of every absolute import in ``path``, wherever it sits in the file."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def layer_of(module: str) -> int | None:
    top = module.split(".")[0]
    return LAYERS.index(top) if top in LAYERS else None


def test_every_top_level_package_is_a_known_layer() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    unknown = packages - set(LAYERS) - NOT_SHIPPED
    assert not unknown, f"add {sorted(unknown)} to [tool.novel-events] rooms in pyproject.toml (in import order)"
    assert set(LAYERS) <= packages


@pytest.mark.parametrize("layer", LAYERS)
def test_imports_point_downward_only(layer: str) -> None:
    here = LAYERS.index(layer)
    upward = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in python_files(layer)
        for line, module in absolute_imports(path)
        if (there := layer_of(module)) is not None and there < here
    ]
    assert not upward, f"{layer} may import only {LAYERS[here:]}:\n" + "\n".join(upward)


def test_domain_imports_no_prefect() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in python_files("novel_events")
        for line, module in absolute_imports(path)
        if module.split(".")[0] in PREFECT_DISTRIBUTIONS
    ]
    assert not found, "novel_events/ is the domain: no Prefect\n" + "\n".join(found)


def test_tests_import_helpers_not_conftest() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in python_files("tests", "benchmarks")
        for line, module in absolute_imports(path)
        if module.split(".")[-1] == "conftest"
    ]
    assert not found, "import shared helpers from tests.support, fixtures arrive by name\n" + "\n".join(found)


def test_the_rule_sees_lazy_imports(tmp_path: Path) -> None:
    """The checker itself: an upward import hidden in a function body is found."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from cli.app import main\n    return main\n")
    assert list(absolute_imports(module)) == [(2, "cli.app")]
    assert layer_of("cli.app") == 0 and layer_of("novel_events.jobs") == len(LAYERS) - 1
    assert layer_of("prefect") is None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> Iterator[str]:
    """Like :func:`absolute_imports`, plus ``pkg.name`` for ``from pkg import name`` (name may be a module)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def test_no_import_cycles_between_our_modules() -> None:
    """Not even through lazy imports (flows.maintenance and flows.schemas used to import each other)."""
    modules = {module_name(p): p for p in python_files(*LAYERS)}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for imported in imported_modules(path):
            target = next((m for m in (imported, imported.rpartition(".")[0]) if m in modules), None)
            if target and target != name and not name.startswith(target + "."):  # a package's own __init__
                graph[name].add(target)
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], node, nxt] if nxt in stack else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*stack, node])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)
