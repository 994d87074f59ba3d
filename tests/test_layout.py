"""The package layout: stages import each other in one direction only.

Each sub-package of `amlctl` (and each top-level module) is a unit; a unit that imports another,
at the top of a module or inside a function, depends on it. A cycle between units means two
stages cannot be understood, tested or changed apart, so none is allowed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "amlctl"


def _unit(module: str) -> str:
    """`amlctl.apply.gate` -> `apply`; `amlctl.errors` -> `errors`."""
    return module.split(".")[1]


def _exists(module: str) -> bool:
    path = PACKAGE.parent.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imported(tree: ast.AST) -> Iterator[str]:
    """Every amlctl module an AST imports (`from amlctl.x import y` may name module y)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def dependencies() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if module == "amlctl.__init__" or module == "amlctl":
            continue
        unit = _unit(module)
        found = graph.setdefault(unit, set())
        for name in _imported(ast.parse(path.read_text(encoding="utf-8"))):
            if name.startswith("amlctl.") and _exists(name) and _unit(name) != unit:
                found.add(_unit(name))
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as a path that returns to its start, or None."""
    state: dict[str, str] = {}
    trail: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        trail.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*trail[trail.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        state[node] = "done"
        trail.pop()
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def test_no_import_cycle_between_units() -> None:
    graph = dependencies()
    assert {"apply", "planning", "plan", "inventory", "catalog", "azure"} <= set(graph)
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_plan_as_data_does_not_depend_on_planning_or_apply() -> None:
    graph = dependencies()
    assert not graph["plan"] & {"planning", "inventory", "apply", "render"}
    assert not graph["inventory"] & {"plan", "planning", "apply"}


def test_every_sub_package_is_shipped() -> None:
    """pyproject lists packages by hand: one left out works in an editable install (and so in
    this suite) but is missing from the wheel a user installs."""
    import tomllib

    listed = set(tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"][
        "setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(PACKAGE.parent).parts)
        for init in PACKAGE.rglob("__init__.py")
    }
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
