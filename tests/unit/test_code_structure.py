"""SPEC §17 kept by a test: small classes and functions in chalicelib, and layers that only depend inward."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHALICELIB = ROOT / "chalicelib"
MAX_CLASS_LINES = 250
MAX_FUNCTION_LINES = 60
# What each layer may import from chalicelib (besides the cross-cutting top-level modules).
ALLOWED_LAYERS = {
    "domain": {"domain"},
    "stores": {"domain", "stores", "integrations"},
    "integrations": {"domain", "integrations", "web"},
    "web": {"domain", "web"},
    "usecases": {"domain", "usecases", "integrations", "web"},
}


def _modules() -> list[Path]:
    return sorted(CHALICELIB.rglob("*.py"))


def _spans(tree: ast.AST, kinds: tuple[type[ast.AST], ...]) -> list[tuple[str, int]]:
    return [
        (node.name, (node.end_lineno or node.lineno) - node.lineno + 1)  # type: ignore[attr-defined]
        for node in ast.walk(tree)
        if isinstance(node, kinds)
    ]


def test_no_class_in_chalicelib_is_over_250_lines() -> None:
    too_long = [
        (path.relative_to(ROOT).as_posix(), name, lines)
        for path in _modules()
        for name, lines in _spans(ast.parse(path.read_text()), (ast.ClassDef,))
        if lines > MAX_CLASS_LINES
    ]
    assert too_long == []


def test_no_function_in_chalicelib_or_app_is_over_60_lines() -> None:
    too_long = [
        (path.relative_to(ROOT).as_posix(), name, lines)
        for path in [*_modules(), ROOT / "app.py"]
        for name, lines in _spans(ast.parse(path.read_text()), (ast.FunctionDef, ast.AsyncFunctionDef))
        if lines > MAX_FUNCTION_LINES
    ]
    assert too_long == []


@pytest.mark.parametrize("layer", sorted(ALLOWED_LAYERS))
def test_each_layer_imports_only_the_layers_it_may(layer: str) -> None:
    found: set[tuple[str, str]] = set()
    for path in sorted((CHALICELIB / layer).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("chalicelib."):
                imported = node.module.split(".")[1]
                if imported in ALLOWED_LAYERS and imported not in ALLOWED_LAYERS[layer]:
                    found.add((path.relative_to(ROOT).as_posix(), node.module))
    assert found == set()


def test_chalicelib_never_imports_chalice_or_the_local_runtime() -> None:
    offending = [
        (path.relative_to(ROOT).as_posix(), name)
        for path in _modules()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in ([node.module or ""] if isinstance(node, ast.ImportFrom) else [alias.name for alias in node.names])
        if name.split(".")[0] in {"chalice", "local_runtime", "deploy", "bench", "tests"}
    ]
    assert offending == []
