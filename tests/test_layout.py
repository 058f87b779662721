"""The package layout holds: a sub-package's parts never import back from its face, and its parts
form no import circle (STYLE.md, "Splitting a big module without making circles")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import bulletin_bot

PACKAGE = Path(bulletin_bot.__file__).parent
SUBPACKAGES = sorted(p.parent for p in PACKAGE.glob("*/__init__.py"))


def sibling_imports(part: Path, parts: set[str]) -> tuple[set[str], list[str]]:
    """The sibling modules `part` imports, and what it imports from the package face instead."""
    siblings: set[str] = set()
    from_face: list[str] = []
    for node in ast.walk(ast.parse(part.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ImportFrom) or node.level != 1:
            continue
        if node.module:
            siblings.add(node.module.split(".")[0])
            continue
        for alias in node.names:  # `from . import x`: fine for a module x, not for a re-exported name
            (siblings.add(alias.name) if alias.name in parts else from_face.append(alias.name))
    return siblings, from_face


@pytest.mark.parametrize("package", SUBPACKAGES, ids=lambda p: p.name)
def test_parts_import_no_face_and_make_no_circle(package: Path):
    modules = {p.stem for p in package.glob("*.py")} | {p.name for p in package.glob("*/__init__.py")}
    parts = modules - {"__init__"}
    graph: dict[str, set[str]] = {}
    for name in sorted(parts):
        path = package / f"{name}.py"
        if not path.exists():
            continue
        siblings, from_face = sibling_imports(path, parts)
        assert from_face == [], f"{package.name}/{name}.py imports {from_face} from the package face"
        assert "__init__" not in siblings, f"{package.name}/{name}.py imports the package face"
        graph[name] = siblings & parts

    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        assert name not in visiting, f"import circle in {package.name}/: {' -> '.join(visiting + [name])}"
        visiting.append(name)
        for child in sorted(graph.get(name, ())):
            visit(child)
        visiting.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)
