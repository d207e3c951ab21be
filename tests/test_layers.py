"""Dependencies point one way: app/CLI → schema → resolvers → {indicators, authz} → tenancy
→ core."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parent.parent
PACKAGES = ("core", "quhua", "schema", "resolvers", "indicators", "authz", "tenancy", "migrations")

# Lower number: lower layer. A module may import only from its own layer or lower ones.
LAYERS = {
    "core": 0,
    "tenancy": 1,
    "authz": 2,
    "indicators": 3,
    "resolvers": 4,
    "schema": 5,
    "quhua": 6,
    "migrations": 6,
}


def layer(module: str) -> int:
    return LAYERS[module.split(".", maxsplit=1)[0]]


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports(path: Path, *, ours: bool = True) -> list[tuple[str, bool]]:
    """Imported modules (of ours only, unless asked), and whether each sits in a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nested = {
        id(node)
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(function)
    }
    result = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        result += [
            (name, id(node) in nested)
            for name in names
            if not ours or name.split(".")[0] in PACKAGES
        ]
    return result


def test_no_module_imports_a_higher_layer() -> None:
    wrong = [
        f"{module} imports {target}"
        for module, path in modules().items()
        for target, _ in imports(path)
        if layer(target) > layer(module)
    ]
    assert wrong == []


def test_no_import_hides_inside_a_function() -> None:
    hidden = [
        f"{module} imports {target} inside a function"
        for module, path in modules().items()
        for target, inside in imports(path)
        if inside
    ]
    assert hidden == []


def test_the_domain_does_not_depend_on_graphql_or_http() -> None:
    wrong = [
        f"{module} imports {target}"
        for module, path in modules().items()
        if layer(module) <= layer("indicators")
        for target, _ in imports(path, ours=False)
        if target.split(".")[0] in {"strawberry", "graphql", "starlette", "uvicorn"}
    ]
    assert wrong == []
