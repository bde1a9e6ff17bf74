"""Keep the last good version: a changed `.py` file that does not compile must not restart the
agents that would load it; they keep running the version they run, and the error is shown with
file, line and code. Only the changed files are compiled (about a millisecond each). Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import CodeType

from meshdev.decide.fingerprints import digest


@dataclass(frozen=True)
class CompileProblem:
    path: Path
    line: int | None
    message: str
    code: str  # the offending line, with a caret under the column when known


def check_source(source: bytes, path: Path) -> CompileProblem | None:
    return compiled(source, path)[1]


def compiled(source: bytes, path: Path) -> tuple[CodeType | None, CompileProblem | None]:
    """What Python's import would compile (`SourceFileLoader.source_to_code`), or the problem."""
    try:
        return compile(source, str(path), "exec", dont_inherit=True), None
    except SyntaxError as exc:
        return None, CompileProblem(path, exc.lineno, exc.msg, _pointer(exc))
    except ValueError as exc:  # e.g. source containing null bytes
        return None, CompileProblem(path, None, str(exc), "")


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
        # Code compiled since the last look, with its source: the agents' loaders need not
        # compile it again (supervise/watching.py writes it to the bytecode cache).
        self.fresh: dict[Path, tuple[bytes, CodeType]] = {}

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

    def holding(
        self, names: Iterable[str], uses: Callable[[str], Iterable[Path]]
    ) -> dict[str, tuple[Path, ...]]:
        """The agents of `names` that would load a broken file, with those files."""
        held = {name: tuple(self.blocking(uses(name))) for name in names}
        return {name: broken for name, broken in held.items() if broken}

    def _check(self, path: Path) -> CompileProblem | None:
        try:
            source = path.read_bytes()
        except OSError:
            self._checked.pop(path, None)
            return None  # deleted or unreadable: the import will say so
        content = digest(source)
        cached = self._checked.get(path)
        if cached is not None and cached[0] == content:
            return cached[1]
        code, problem = compiled(source, path)
        self._checked[path] = (content, problem)
        if code is not None:
            self.fresh[path] = (source, code)
        return problem
