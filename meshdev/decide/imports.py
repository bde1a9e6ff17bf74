"""Each agent's dependency picture: its static import closure united with what its process reported.

Pure apart from reading source files; parsed imports are cached by (mtime, size).
"""

from __future__ import annotations

import ast
import os
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

Stamp = tuple[int, int]


@dataclass(frozen=True)
class _Import:
    """One import statement: the dotted names it may load, relative to `level` packages up."""

    names: tuple[str, ...]
    level: int


class ImportScanner:
    """Reads the imports of Python files, parsing each version of a file once."""

    def __init__(self) -> None:
        self._cache: dict[Path, tuple[Stamp, tuple[_Import, ...]]] = {}

    def imports(self, path: Path) -> tuple[_Import, ...]:
        try:
            stat = path.stat()
        except OSError:
            return ()
        stamp = (stat.st_mtime_ns, stat.st_size)
        cached = self._cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        found = _parse_imports(path)
        if found is None:  # does not compile: keep what the last good version imported
            return cached[1] if cached else ()
        self._cache[path] = (stamp, found)
        return found


def _parse_imports(path: Path) -> tuple[_Import, ...] | None:
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError, OSError):
        return None
    found: list[_Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(_Import((alias.name,), 0) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            subs = tuple(_join(base, alias.name) for alias in node.names if alias.name != "*")
            found.append(_Import((base, *subs) if base else subs, node.level))
    return tuple(found)


def _join(base: str, name: str) -> str:
    return f"{base}.{name}" if base else name


@dataclass(frozen=True)
class Closure:
    """Project files an agent's script imports, directly or not, each with the file importing it."""

    script: Path
    importer: Mapping[Path, Path | None]  # file -> the file whose import brought it in
    modules: Mapping[Path, str] = field(default_factory=dict)  # file -> dotted module name

    @property
    def files(self) -> frozenset[Path]:
        return frozenset(self.importer)

    def chain(self, path: Path) -> list[Path]:
        """The import chain from the script down to `path` (empty when not in the closure)."""
        chain: list[Path] = []
        current: Path | None = path
        while current is not None and current in self.importer:
            chain.append(current)
            current = self.importer[current]
        return list(reversed(chain))


def static_closure(
    scanner: ImportScanner, script: Path, search_roots: Iterable[Path], project_root: Path
) -> Closure:
    """Breadth-first over imports that resolve to files inside `project_root`."""
    roots = tuple(dict.fromkeys(search_roots))
    importer: dict[Path, Path | None] = {script: None}
    modules: dict[Path, str] = {script: "__main__"}
    queue = deque([script])
    while queue:
        current = queue.popleft()
        package = _package_of(current, modules[current])
        for imp in scanner.imports(current):
            for name in _absolute_names(imp, package):
                for found, module in _resolve(name, roots, project_root):
                    if found not in importer:
                        importer[found] = current
                        modules[found] = module
                        queue.append(found)
    return Closure(script, importer, modules)


def _package_of(path: Path, module: str) -> str:
    if path.name == "__init__.py":
        return module
    return module.rpartition(".")[0]


def _absolute_names(imp: _Import, package: str) -> list[str]:
    if imp.level == 0:
        return list(imp.names)
    parts = package.split(".") if package else []
    if imp.level - 1 > len(parts) or (not parts and imp.level > 0):
        return []  # a relative import outside any package: Python fails it too
    anchor = ".".join(parts[: len(parts) - (imp.level - 1)])
    return [_join(anchor, name) if name else anchor for name in imp.names]


def _resolve(name: str, roots: tuple[Path, ...], project_root: Path) -> list[tuple[Path, str]]:
    """Files executed by importing `name`: each package's __init__ on the way, then the module."""
    parts = name.split(".")
    for root in roots:
        if not (root / parts[0]).exists() and not (root / f"{parts[0]}.py").exists():
            continue
        found = _resolve_under(root, parts)
        if found:
            return [(p, m) for p, m in found if _inside(p, project_root)]
    return []


def _resolve_under(root: Path, parts: list[str]) -> list[tuple[Path, str]]:
    found: list[tuple[Path, str]] = []
    folder = root
    for i, part in enumerate(parts):
        module = ".".join(parts[: i + 1])
        package_init = folder / part / "__init__.py"
        module_file = folder / f"{part}.py"
        if package_init.is_file():
            found.append((package_init, module))
        elif module_file.is_file():
            found.append((module_file, module))
            break
        elif not (folder / part).is_dir():  # neither module nor namespace package
            break
        folder = folder / part
    return found


def _inside(path: Path, root: Path) -> bool:
    rel = os.path.relpath(path, root)
    return not rel.startswith(os.pardir)
