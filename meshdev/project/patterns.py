"""Which files trigger a reload, which are only logged or ignored, and which pattern said so.

Every list (built-in, `exclude`, `log_only`, `include`, an agent's `watch`) is read exactly as git
reads a .gitignore at the project root (ignorelist, wildmatch), and git's own ignore sources are
judged as git judges them (ignores, gitignore). A path is judged by its own name: a symlink is
not followed, and only a real folder matches a pattern ending in '/'. Pure.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import cast

from meshdev.project.config import CONFIG_NAME
from meshdev.project.ignorelist import byte_string, static_base
from meshdev.project.ignores import GITIGNORE, GitIgnores, PatternSpec

__all__ = [
    "BUILTIN_IGNORES",
    "GITIGNORE",
    "GitIgnores",
    "PatternSpec",
    "RulesInput",
    "Verdict",
    "WatchRules",
    "static_base",
]

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


def _pick(items: list[str], todo: list[int]) -> list[str]:
    """The items still to decide (all of them, most of the time: no copy then)."""
    return items if len(todo) == len(items) else [items[i] for i in todo]


_OWN_CONFIG = Decision(Verdict.CONFIG, "meshdev's own configuration, applied live")
_GIT_CONFIG = Decision(Verdict.CONFIG, "git's ignore rules, applied live")


@lru_cache(maxsize=1)
def _builtin() -> PatternSpec:
    return PatternSpec("built-in", BUILTIN_IGNORES)


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
        self._root_slash = os.path.join(str(given.root), "")
        self.builtin = _builtin()
        self.exclude = PatternSpec("exclude", given.exclude)
        self.log_only = PatternSpec("log_only", given.log_only)
        if given.include is None:
            self.include = PatternSpec("watch_extensions", (f"*{e}" for e in given.extensions))
        else:
            self.include = PatternSpec("include", given.include)
        self.agent_watch = {
            name: PatternSpec(f"agents.{name}.watch", pats)
            for name, pats in given.agent_watch.items()
        }
        self.gitignores = given.gitignores
        first = (
            (self.builtin, Verdict.EXCLUDED),
            (self.exclude, Verdict.EXCLUDED),
            (self.log_only, Verdict.LOG_ONLY),
        )
        self._first = [(spec, verdict) for spec, verdict in first if spec.patterns]
        self._decisions: dict[Verdict, dict[tuple[str, str | None], Decision]] = {}

    def relative(self, path: Path | str) -> str | None:
        """The path relative to the root with forward slashes, or None when it lies outside."""
        text = os.fspath(path)
        if text.startswith(self._root_slash) and _normal(text):
            return text[len(self._root_slash) :]
        rel = os.path.relpath(os.path.abspath(text), self.root)
        if rel == os.curdir or rel.startswith(os.pardir):
            return None
        return rel.replace(os.sep, "/")

    def decide(self, path: Path | str) -> Decision:
        rel = self.relative(path)
        if rel is None:
            return Decision(Verdict.UNWATCHED, "outside the project root")
        if rel == CONFIG_NAME:
            return _OWN_CONFIG
        if self.gitignores is not None and rel.rpartition("/")[2] == GITIGNORE:
            return _GIT_CONFIG
        return self.decide_relative(rel)

    def decide_relative(self, rel: str) -> Decision:
        """One file's verdict (decide_files() judges a folder's files faster, together)."""
        path = byte_string(rel)
        for spec, verdict in self._first:
            pattern = spec.decided(path)
            if pattern is not None:
                return self._decision(verdict, spec.name, pattern)
        ignored = self.gitignores.decided(path) if self.gitignores is not None else None
        if ignored is not None:
            # Not excluded: an agent that really imports a git-ignored module still reloads.
            return self._decision(Verdict.UNWATCHED, ignored[1], ignored[0])
        for spec in (self.include, *self.agent_watch.values()):
            pattern = spec.decided(path)
            if pattern is not None:
                return self._decision(Verdict.RELOAD, spec.name, pattern)
        return self._decision(Verdict.UNWATCHED, "no include pattern matches", None)

    def decide_files(self, folder: str, names: Sequence[str]) -> list[Decision]:
        """decide() for each file of `names`, all directly inside `folder` (relative to the
        root, '' for the root itself): each list judges the folder's files in one call."""
        found: list[Decision | None] = [None] * len(names)
        if CONFIG_NAME in names or GITIGNORE in names:
            for i, name in enumerate(names):
                if name == CONFIG_NAME and not folder:
                    found[i] = _OWN_CONFIG
                elif name == GITIGNORE and self.gitignores is not None:
                    found[i] = _GIT_CONFIG
        key = byte_string(folder)
        keys = [name if name.isascii() else byte_string(name) for name in names]
        todo = [i for i, decision in enumerate(found) if decision is None]  # all, mostly
        for spec, verdict in self._first:
            todo = self._settle(found, todo, spec.decided_in(key, _pick(keys, todo)), verdict, spec)
        if self.gitignores is not None and todo:
            known = self._known(Verdict.UNWATCHED)
            ignored = self.gitignores.decided_in(key, _pick(keys, todo))
            for at, (pattern, source) in ignored.items():
                found[todo[at]] = self._decision(Verdict.UNWATCHED, source, pattern, known)
            todo = [i for at, i in enumerate(todo) if at not in ignored] if ignored else todo
        for spec in (self.include, *self.agent_watch.values()):
            matched = spec.decided_in(key, _pick(keys, todo))
            todo = self._settle(found, todo, matched, Verdict.RELOAD, spec)
        unmatched = self._decision(Verdict.UNWATCHED, "no include pattern matches", None)
        for i in todo:
            found[i] = unmatched
        return cast("list[Decision]", found)  # every entry is settled by now

    def _settle(
        self,
        found: list[Decision | None],
        todo: list[int],
        matched: dict[int, str],
        verdict: Verdict,
        spec: PatternSpec,
    ) -> list[int]:
        """Record the files a list decided (by position in `todo`); the others are left for the
        next list."""
        if not matched:
            return todo
        known = self._known(verdict)
        for at, pattern in matched.items():
            found[todo[at]] = self._decision(verdict, spec.name, pattern, known)
        return [i for at, i in enumerate(todo) if at not in matched]

    def _decision(
        self,
        verdict: Verdict,
        source: str,
        pattern: str | None,
        known: dict[tuple[str, str | None], Decision] | None = None,
    ) -> Decision:
        """Decisions are values: one object for each, not one for each file judged. `known`:
        those of this verdict (looked up once for a whole folder: hashing an enum is slow)."""
        known = self._known(verdict) if known is None else known
        decision = known.get((source, pattern))
        if decision is None:
            decision = known[source, pattern] = Decision(verdict, source, pattern)
        return decision

    def _known(self, verdict: Verdict) -> dict[tuple[str, str | None], Decision]:
        return self._decisions.setdefault(verdict, {})

    def watching_agents(self, rel: str) -> set[str]:
        """Agents whose own `watch` patterns match this relative path."""
        return {name for name, spec in self.agent_watch.items() if spec.deciding(rel)}

    def prunes_dir(self, rel_dir: str) -> bool:
        """A folder not worth walking: excluded (gitignore: an excluded folder stays so), or
        git-ignored (an agent's own imports from it are still watched, folder by folder)."""
        rel = rel_dir.rstrip("/")
        if self.builtin.deciding(rel, True) is not None:
            return True
        if self.exclude.deciding(rel, True) is not None:
            return True
        return self.gitignores is not None and self.gitignores.deciding(rel + "/") is not None

    def base_dirs(self) -> set[str]:
        """Folders (relative, '' for the root) under which some pattern can match."""
        specs = [self.include, self.log_only, *self.agent_watch.values()]
        bases = {static_base(p) for spec in specs for p in spec.patterns}
        return {b for b in bases if b is not None}


def _normal(path: str) -> bool:
    """Already absolute and normalised, so that slicing off the root is all relpath would do."""
    return (
        os.sep == "/"
        and "//" not in path
        and "/./" not in path
        and "/../" not in path
        and not path.endswith(("/", "/.", "/.."))
    )
