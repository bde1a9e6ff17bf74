"""Keep the last good version: a changed `.py` file that does not compile must not restart the
agents that use it. Only the changed files are compiled (about a millisecond each). Pure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CompileProblem:
    path: Path
    line: int | None
    message: str
    code: str  # the offending line, with a caret under the column when known

    def describe(self, relative: str) -> str:
        where = f"{relative}:{self.line}" if self.line else relative
        return f"{where}: {self.message}" + (f"\n{self.code}" if self.code else "")


def compile_problems(paths: Iterable[Path]) -> dict[Path, CompileProblem]:
    """The changed Python files that exist and do not compile, with what is wrong."""
    found: dict[Path, CompileProblem] = {}
    for path in paths:
        if path.suffix != ".py":
            continue
        try:
            source = path.read_bytes()
        except OSError:
            continue  # deleted or unreadable: the import will say so
        problem = check_source(source, path)
        if problem is not None:
            found[path] = problem
    return found


def check_source(source: bytes, path: Path) -> CompileProblem | None:
    try:
        compile(source, str(path), "exec", dont_inherit=True)
    except SyntaxError as exc:
        return CompileProblem(path, exc.lineno, exc.msg, _pointer(exc))
    except ValueError as exc:  # e.g. source containing null bytes
        return CompileProblem(path, None, str(exc), "")
    return None


def _pointer(exc: SyntaxError) -> str:
    text = (exc.text or "").rstrip("\n")
    if not text:
        return ""
    stripped = text.lstrip()
    indent = len(text) - len(stripped)
    column = max(1, (exc.offset or 1) - indent)
    return f"    {stripped}\n    {' ' * (column - 1)}^"


class KeepLastGood:
    """The project's `.py` files that do not compile right now, updated batch by batch.

    `precheck` compiles files as their events arrive, during the quiet time before a reload; the
    result is kept by content digest (mtime moves in coarse steps), so the reload itself only
    pays for reading the files again.
    """

    def __init__(self) -> None:
        self.broken: dict[Path, CompileProblem] = {}
        self._checked: dict[Path, tuple[bytes, CompileProblem | None]] = {}

    def precheck(self, paths: Iterable[Path]) -> None:
        for path in paths:
            if path.suffix == ".py":
                self._check(path)

    def update(self, changed: Iterable[Path]) -> list[CompileProblem]:
        """Recheck the changed files; return the problems found in them."""
        found: list[CompileProblem] = []
        for path in (p for p in changed if p.suffix == ".py"):
            problem = self._check(path)
            self.broken.pop(path, None)
            if problem is not None:
                self.broken[path] = problem
                found.append(problem)
        return found

    def blocking(self, files: Iterable[Path]) -> list[Path]:
        """Which of `files` do not compile (an agent using one keeps its running version)."""
        return sorted(p for p in files if p in self.broken)

    def _check(self, path: Path) -> CompileProblem | None:
        try:
            source = path.read_bytes()
        except OSError:
            self._checked.pop(path, None)
            return None  # deleted or unreadable: the import will say so
        digest = hashlib.blake2b(source, digest_size=16).digest()
        cached = self._checked.get(path)
        if cached is not None and cached[0] == digest:
            return cached[1]
        problem = check_source(source, path)
        self._checked[path] = (digest, problem)
        return problem
