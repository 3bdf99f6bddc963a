"""Every import in `src/jwm` runs downhill, along the floors written in docs/design.md.

Imports are read with `ast` from the source (those inside functions too), so an
uphill import cannot hide behind a function-level import.
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
DESIGN = ROOT / "docs" / "design.md"

# Top-level modules that stand above the ground floor (the rest of `jwm/*.py` is
# ground); docs/design.md names each with its floor.
TOP_LEVEL_FLOORS = {"baselines": "agents", "runs": "recipes", "cli": "cli"}


def floors_from_design() -> list[tuple[str, ...]]:
    """The floor line of docs/design.md (``ground ← envs, models ← planners ← ...``),
    lowest first; rooms on one floor are separated by commas."""
    lines = [line.strip() for line in DESIGN.read_text().splitlines()
             if line.strip().startswith("ground ←")]
    assert len(lines) == 1, "docs/design.md must write the floors once, as 'ground ← ...'"
    return [tuple(room.strip() for room in floor.split(","))
            for floor in lines[0].split("←")]


FLOORS = floors_from_design()
FLOOR_OF = {room: level for level, rooms in enumerate(FLOORS) for room in rooms}


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted((SRC / "jwm").rglob("*.py"))}


def room(module: str) -> str:
    """The package a module belongs to, or ``ground`` for jwm's own top-level modules."""
    parts = module.split(".")
    if len(parts) == 1:
        return "ground"
    if (SRC / "jwm" / parts[1]).is_dir():
        return parts[1]
    return TOP_LEVEL_FLOORS.get(parts[1], "ground")


def floor(module: str) -> int:
    here = room(module)
    return FLOOR_OF[TOP_LEVEL_FLOORS.get(here, here)]


def resolve(name: str) -> str:
    """The jwm module ``name`` refers to: itself, or its package when it is an
    attribute (``jwm.agents.pets`` the module, ``jwm.agents.Agent`` the face)."""
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def imports_in(source: str, module: str, *, is_package: bool = False):
    """``(imported module, line)`` for every jwm import in ``source``, the text of
    ``module``, at any depth (inside functions and classes too)."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source, module)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            if target == "jwm" or target.startswith("jwm."):
                yield resolve(target), node.lineno


EDGES = {module: sorted(set(imports_in(path.read_text(), module,
                                        is_package=path.name == "__init__.py")))
         for module, path in MODULES.items()}


def uphill(edges) -> list[str]:
    """The imports of ``edges`` (``{module: [(target, line)]}``) that leave their room
    for a room on the same floor or above."""
    return [f"{module}:{line} imports {target} ({room(module)} -> {room(target)})"
            for module, targets in edges.items() for target, line in targets
            if room(target) != room(module) and floor(target) >= floor(module)]


def test_the_design_names_every_room_of_the_package_once():
    packages = {p.name for p in (SRC / "jwm").iterdir()
                if p.is_dir() and (p / "__init__.py").exists()}
    named = [r for rooms in FLOORS for r in rooms]
    assert len(named) == len(set(named))
    assert packages | {"ground"} | set(TOP_LEVEL_FLOORS.values()) == set(named)
    text = DESIGN.read_text()
    for module, where in TOP_LEVEL_FLOORS.items():
        if module != where:
            assert f"`jwm.{module}` ({where})" in text, module


def test_every_import_runs_downhill_or_stays_in_its_room():
    assert uphill(EDGES) == []


def test_no_library_module_imports_the_command_line():
    assert [m for m, targets in EDGES.items() for t, _ in targets
            if t == "jwm.cli" and m != "jwm.cli"] == []


def test_the_modules_import_no_circle():
    graph = {m: {t for t, _ in targets if t != m} for m, targets in EDGES.items()}
    # A module's package face is imported with it; it is not a dependency of the module.
    graph = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in graph.items()}
    state, circles = {}, []

    def visit(module, path):
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                circles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert circles == []


@pytest.mark.parametrize("source, expected", [
    ("from jwm.agents import contract", "jwm.agents.contract"),
    ("from jwm.agents import Agent", "jwm.agents"),
    ("import jwm.models.rssm", "jwm.models.rssm"),
    ("from . import fit", "jwm.models.fit"),
    ("from .layers import NormMLP", "jwm.models.layers"),
])
def test_imports_resolve_to_the_module_they_load(source, expected):
    assert [t for t, _ in imports_in(source, "jwm.models.ensemble")] == [expected]


def test_an_uphill_import_inside_a_function_is_found():
    source = "import jax\n\ndef f():\n    from jwm.agents.episode import evaluate\n"
    edges = {"jwm.models.ensemble": list(imports_in(source, "jwm.models.ensemble"))}
    assert edges["jwm.models.ensemble"] == [("jwm.agents.episode", 4)]
    assert len(uphill(edges)) == 1


def test_an_import_between_rooms_of_one_floor_is_uphill():
    edges = {"jwm.models.true_model": [("jwm.envs.base", 1)]}
    assert len(uphill(edges)) == 1
    assert uphill({"jwm.models.true_model": [("jwm.spaces", 1)]}) == []
