"""Which files trigger a reload, which are only logged or ignored, and which pattern said so.

Every list (built-in, `exclude`, `log_only`, `include`, an agent's `watch`) is read exactly as git
reads a .gitignore at the project root (ignorelist, wildmatch), and git's own ignore sources are
judged as git judges them (ignores, gitignore). A path is judged by its own name: a symlink is
not followed, and only a real folder matches a pattern ending in '/'. Pure.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from meshdev.project.config import CONFIG_NAME
from meshdev.project.ignorelist import PatternList, Rule, byte_string, read_lines, shown
from meshdev.project.ignores import GITIGNORE, GitIgnores

__all__ = ["BUILTIN_IGNORES", "GITIGNORE", "GitIgnores", "RulesInput", "Verdict", "WatchRules"]

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


class PatternSpec:
    """One list of patterns, read as a .gitignore at the project root would be (same syntax, same
    matching, and a path inside a matched folder is matched by that folder's pattern, which no
    later `!pattern` takes back); `deciding` names the list entry that matched."""

    def __init__(self, name: str, patterns: Iterable[str]) -> None:
        self.name = name
        self.patterns = tuple(patterns)
        lines: list[str] = []
        self._owners: list[int] = []  # a list entry holding a newline makes two patterns, as in git
        for number, item in enumerate(self.patterns):
            for line in read_lines(os.fsencode(item)):
                lines.append(line)
                self._owners.append(number)
        self._list = PatternList(lines)
        self._folders: dict[str, int] = {}  # folder -> index of the pattern excluding it, or -1

    def deciding(self, rel: str, is_dir: bool = False) -> str | None:
        return self.decided(byte_string(rel), is_dir) if self._owners else None

    def decided(self, path: str, is_dir: bool = False) -> str | None:
        """deciding(), for a path already made a byte string (ignorelist.byte_string)."""
        if not self._owners:
            return None
        parent, slash, name = path.rpartition("/")
        index = self._folder(parent) if slash else -1
        if index < 0:
            index = self._own(path, name, is_dir)
        return self.patterns[self._owners[index]] if index >= 0 else None

    def _folder(self, folder: str) -> int:
        """The pattern excluding `folder`, or one of the folders above it; -1 for none."""
        known = self._folders.get(folder)
        if known is not None:
            return known
        if len(self._folders) > _FOLDERS_KEPT:
            self._folders.clear()  # a long run meets many folders that come and go
        todo = [folder]
        while "/" in todo[-1] and todo[-1].rpartition("/")[0] not in self._folders:
            todo.append(todo[-1].rpartition("/")[0])
        for current in reversed(todo):
            parent, slash, name = current.rpartition("/")
            above = self._folders[parent] if slash else -1
            self._folders[current] = above if above >= 0 else self._own(current, name, True)
        return self._folders[folder]

    def _own(self, path: str, name: str, is_dir: bool) -> int:
        index = self._list.last(path, name, is_dir)
        return -1 if index < 0 or self._list.rules[index].negative else index


_FOLDERS_KEPT = 200_000


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
        self._decisions: dict[tuple[Verdict, str, str | None], Decision] = {}

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
            return Decision(Verdict.CONFIG, "meshdev's own configuration, applied live")
        if self.gitignores is not None and rel.rpartition("/")[2] == GITIGNORE:
            return Decision(Verdict.CONFIG, "git's ignore rules, applied live")
        return self.decide_relative(rel)

    def decide_relative(self, rel: str) -> Decision:
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

    def _decision(self, verdict: Verdict, source: str, pattern: str | None) -> Decision:
        """Decisions are values: one object for each, not one for each file judged."""
        key = (verdict, source, pattern)
        known = self._decisions.get(key)
        if known is None:
            known = self._decisions[key] = Decision(verdict, source, pattern)
        return known

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


def static_base(pattern: str) -> str | None:
    """The literal folder a pattern is confined to ('' if anywhere); None for `!x` and for what
    git reads as no pattern at all (empty, a comment)."""
    lines = read_lines(os.fsencode(pattern))
    if not lines:
        return None
    rule = Rule.parse(lines[0])
    if rule.negative:
        return None
    if rule.basename:
        return ""  # unanchored: matches at any depth
    body = rule.body[1:] if rule.body.startswith("/") else rule.body
    segments = body.split("/")  # an escaped slash ends a segment too: `\/` matches '/'
    if not rule.dir_only:
        segments = segments[:-1]
    literal = []
    for segment in segments:
        plain = _unescaped(segment)
        if plain is None:
            break
        literal.append(plain)
    return shown("/".join(literal))


def _unescaped(segment: str) -> str | None:
    """The segment's characters without git's escapes; None when it holds a wildcard."""
    out, i = [], 0
    while i < len(segment):
        c = segment[i]
        if c in "*?[":
            return None
        if c == "\\":
            i += 1
            c = segment[i] if i < len(segment) else ""
        out.append(c)
        i += 1
    return "".join(out)
