"""Which files trigger a reload, which are only logged or ignored, and which pattern said so.

Gitignore-style patterns (pathspec), relative to the project root. Pure.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pathspec

from meshdev.project.config import CONFIG_NAME

# Never worth a reload: VCS data, caches, virtualenvs, bytecode, meshdev's own files, and the
# temporary, swap, backup and lock files editors write beside the real file while saving it.
BUILTIN_IGNORES: tuple[str, ...] = (
    ".git/",
    ".hg/",
    ".svn/",
    ".bzr/",
    "_darcs/",
    "__pycache__/",
    "*.py[cod]",
    "*$py.class",
    ".mypy_cache/",
    ".pytest_cache/",
    ".ruff_cache/",
    ".tox/",
    ".nox/",
    ".hypothesis/",
    ".ipynb_checkpoints/",
    ".cache/",
    ".venv/",
    "venv/",
    "node_modules/",
    "site-packages/",
    "*.egg-info/",
    ".meshdev/",
    ".idea/",
    ".vscode/",
    "*.swp",
    "*.swx",
    "*.swo",
    "*~",
    "4913",
    ".#*",
    "\\#*#",
    "*___jb_tmp___",
    "*___jb_old___",
    "*.kate-swp",
    ".goutputstream-*",
    ".DS_Store",
    "*.tmp",
    "*.crdownload",
    ".~lock.*#",
)


class Verdict(enum.Enum):
    RELOAD = "reload"
    LOG_ONLY = "log only"
    EXCLUDED = "excluded"
    CONFIG = "config"
    UNWATCHED = "not watched"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    source: str  # which list decided: built-in, exclude, log_only, include, watch_extensions, ...
    pattern: str | None = None

    def explain(self) -> str:
        if self.pattern is None:
            return f"{self.verdict.value} ({self.source})"
        return f"{self.verdict.value} (matches {self.source} pattern {self.pattern!r})"


class _Spec:
    """One list of patterns, able to say which of them decided."""

    def __init__(self, name: str, patterns: Iterable[str]) -> None:
        self.name = name
        self.patterns = tuple(patterns)
        self.spec = pathspec.GitIgnoreSpec.from_lines(self.patterns)

    def deciding(self, rel: str) -> str | None:
        result = self.spec.check_file(rel)
        if result.include and result.index is not None:
            return self.patterns[result.index]
        return None


GITIGNORE = ".gitignore"


class GitIgnores:
    """The project's .gitignore files, each applying below its own folder, deeper ones last."""

    def __init__(self, files: Iterable[tuple[str, tuple[str, ...]]] = ()) -> None:
        self.files = sorted(files, key=lambda f: (f[0].count("/") if f[0] else -1, f[0]))
        self._specs = [(folder, _Spec(_name(folder), lines)) for folder, lines in self.files]

    def with_file(self, folder: str, lines: tuple[str, ...]) -> GitIgnores:
        return GitIgnores([*self.files, (folder, lines)])

    def deciding(self, rel: str) -> tuple[str, str] | None:
        """(pattern, .gitignore file) when git ignores `rel`; a later `!pattern` takes it back."""
        decided: tuple[str, str] | None = None
        for folder, spec in self._specs:
            if folder and not rel.startswith(folder + "/"):
                continue
            result = spec.spec.check_file(rel[len(folder) + 1 :] if folder else rel)
            if result.index is not None:
                pattern = spec.patterns[result.index]
                decided = (pattern, spec.name) if result.include else None
        return decided


def _name(folder: str) -> str:
    return f"{folder}/{GITIGNORE}" if folder else GITIGNORE


@dataclass(frozen=True)
class RulesInput:
    root: Path
    include: tuple[str, ...] | None
    exclude: tuple[str, ...]
    log_only: tuple[str, ...]
    extensions: tuple[str, ...]
    agent_watch: Mapping[str, tuple[str, ...]]
    gitignores: GitIgnores | None = None  # None: .gitignore files are not honoured


class WatchRules:
    """The verdict on any path of the project."""

    def __init__(self, given: RulesInput) -> None:
        self.root = given.root
        self.builtin = _Spec("built-in", BUILTIN_IGNORES)
        self.exclude = _Spec("exclude", given.exclude)
        self.log_only = _Spec("log_only", given.log_only)
        if given.include is None:
            self.include = _Spec("watch_extensions", (f"*{e}" for e in given.extensions))
        else:
            self.include = _Spec("include", given.include)
        self.agent_watch = {
            name: _Spec(f"agents.{name}.watch", pats) for name, pats in given.agent_watch.items()
        }
        self.gitignores = given.gitignores

    def relative(self, path: Path | str) -> str | None:
        """The path relative to the root with forward slashes, or None when it lies outside."""
        rel = os.path.relpath(os.path.abspath(path), self.root)
        if rel == os.curdir or rel.startswith(os.pardir):
            return None
        return rel.replace(os.sep, "/")

    def decide(self, path: Path | str) -> Decision:
        rel = self.relative(path)
        if rel is None:
            return Decision(Verdict.UNWATCHED, "outside the project root")
        if rel == CONFIG_NAME:
            return Decision(Verdict.CONFIG, "meshdev's own configuration, applied live")
        if self.gitignores is not None and rel.rpartition("/")[2] == GITIGNORE:
            return Decision(Verdict.CONFIG, "git's ignore rules, applied live")
        return self.decide_relative(rel)

    def decide_relative(self, rel: str) -> Decision:
        for spec, verdict in (
            (self.builtin, Verdict.EXCLUDED),
            (self.exclude, Verdict.EXCLUDED),
            (self.log_only, Verdict.LOG_ONLY),
        ):
            pattern = spec.deciding(rel)
            if pattern is not None:
                return Decision(verdict, spec.name, pattern)
        ignored = self.gitignores.deciding(rel) if self.gitignores is not None else None
        if ignored is not None:
            # Not excluded: an agent that really imports a git-ignored module still reloads.
            return Decision(Verdict.UNWATCHED, ignored[1], ignored[0])
        pattern = self.include.deciding(rel)
        if pattern is not None:
            return Decision(Verdict.RELOAD, self.include.name, pattern)
        for spec in self.agent_watch.values():
            pattern = spec.deciding(rel)
            if pattern is not None:
                return Decision(Verdict.RELOAD, spec.name, pattern)
        return Decision(Verdict.UNWATCHED, "no include pattern matches")

    def watching_agents(self, rel: str) -> set[str]:
        """Agents whose own `watch` patterns match this relative path."""
        return {name for name, spec in self.agent_watch.items() if spec.deciding(rel)}

    def prunes_dir(self, rel_dir: str) -> bool:
        """A folder not worth walking: excluded (gitignore: an excluded folder stays so), or
        git-ignored (an agent's own imports from it are still watched, folder by folder)."""
        probe = rel_dir.rstrip("/") + "/"
        if self.builtin.deciding(probe) is not None or self.exclude.deciding(probe) is not None:
            return True
        return self.gitignores is not None and self.gitignores.deciding(probe) is not None

    def base_dirs(self) -> set[str]:
        """Folders (relative, '' for the root) under which some pattern can match."""
        specs = [self.include, self.log_only, *self.agent_watch.values()]
        bases = {static_base(p) for spec in specs for p in spec.patterns}
        return {b for b in bases if b is not None}


_GLOB_CHARS = set("*?[")


def static_base(pattern: str) -> str | None:
    """The literal folder a pattern is confined to ('' if anywhere); None for `!x`."""
    text = pattern.strip()
    if not text or text.startswith(("!", "#")):
        return None
    is_dir = text.endswith("/")
    body = text.strip("/")
    if "/" not in body and not text.startswith("/"):
        return ""  # unanchored: matches at any depth
    segments = body.split("/")
    if not is_dir:
        segments = segments[:-1]
    literal = []
    for segment in segments:
        if _GLOB_CHARS & set(segment):
            break
        literal.append(segment)
    return "/".join(literal)
