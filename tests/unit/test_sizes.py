"""Every piece of meshdev stays short enough to read at a glance."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "meshdev"
LIMITS = {"module": 320, "class": 220, "function": 45}


def too_long() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text("utf-8")
        name = path.relative_to(PACKAGE.parent)
        if len(source.splitlines()) > LIMITS["module"]:
            found.append(f"{name}: {len(source.splitlines())} lines")
        for node in ast.walk(ast.parse(source)):
            kind = "class" if isinstance(node, ast.ClassDef) else "function"
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > LIMITS[kind]:
                    found.append(f"{name}: {kind} {node.name} has {lines} lines")
    return found


def test_no_module_class_or_function_is_too_long_to_read() -> None:
    assert too_long() == [], f"limits {LIMITS}"
