"""The import rules of docs/architecture.md: layers import downwards only, and no module imports
itself through others (every import counts, those inside functions too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "brightroom"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every brightroom module a file imports, resolved to a module (not a name inside it)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(target for target in targets if target.startswith("brightroom") and target in MODULES)
    found.discard(name)
    return found


MODULES = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
GRAPH = {name: _imports(path) for name, path in MODULES.items()}


def _reaches(start: str, goal_prefixes: tuple[str, ...]) -> list[str]:
    return sorted(target for target in GRAPH[start] if target.startswith(goal_prefixes))


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("brightroom.camera")))
def test_camera_is_pure_algorithms(module):
    assert _reaches(module, ("brightroom.pipeline", "brightroom.tasks", "brightroom.nn", "brightroom.serve",
                             "brightroom.batch", "brightroom.cli")) == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("brightroom.train")))
def test_training_does_not_import_the_benchmark(module):
    assert _reaches(module, ("brightroom.bench",)) == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith(("brightroom.io", "brightroom.nn"))))
def test_lower_layers_do_not_import_the_recipe_layer_or_the_shells(module):
    assert _reaches(module, ("brightroom.pipeline", "brightroom.serve", "brightroom.batch", "brightroom.cli")) == []


def test_no_import_cycles():
    """Package __init__ files re-export their modules and are left out, as Python resolves them first."""
    graph = {name: {t for t in targets if MODULES[t].name != "__init__.py"}
             for name, targets in GRAPH.items() if MODULES[name].name != "__init__.py"}
    cycles, state = [], {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                cycles.append(trail[trail.index(target):] + [target])
            elif target not in state:
                visit(target, trail + [target])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_only_the_zoo_names_weights_files():
    """A model's weights file is named in one place: nn/zoo.py (and the training configs that write them)."""
    naming = [path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*.py")
              if ".safetensors" in path.read_text() and path.name not in ("zoo.py", "registry.py")]
    assert naming == []
