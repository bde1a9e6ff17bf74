"""One list of gitignore patterns (a .gitignore file, an exclude file, a `.meshwatch` list), read
as git reads it and compiled once into a matcher that names the last pattern that matches. Pure.

Reading follows dir.c: a UTF-8 BOM is skipped, lines end at '\\n' only (a CR before it is
dropped), empty lines and lines starting with '#' are skipped, unescaped trailing spaces are
trimmed, and a NUL ends the pattern. No line is ever refused: a pattern that can never match
(`x\\`, `[z-a]`, `[[:nope:]]`) simply never decides, and every other line keeps working.

Matching follows git's last_matching_pattern_from_list(): a pattern without a slash (besides a
trailing one) is matched against the basename, any other against the path relative to the
list's folder, with its leading literal part compared as plain text before wildmatch sees the
rest (which is why `foo**/bar` matches `foox/y/bar` in git); a trailing slash restricts a pattern
to folders.

Speed comes from not matching most patterns at all: a pattern with no star and few spellings
(`Makefile`, `[Dd]esktop.ini`, `/docs/_build`) is a dict key, a star then few fixed tails
(`*.log`, `*.py[cod]`) a dict keyed by tail, grouped by last character; only the rest go through
regexes, joined per first character of the text (made when first needed) with the latest pattern
first, so that one fullmatch names the last pattern that matches.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from meshdev.project.wildmatch import Shape, fold, shape, simple_length

BOM = b"\xef\xbb\xbf"


def read_lines(data: bytes) -> list[str]:
    """The patterns in a file's bytes, as byte strings (one Latin-1 character a byte)."""
    if data.startswith(BOM):
        data = data[len(BOM) :]
    lines = []
    for raw in data.split(b"\n"):
        if not raw or raw.startswith(b"#"):
            continue
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        lines.append(trim_trailing_spaces(raw.split(b"\0", 1)[0].decode("latin-1")))
    return lines


def byte_string(text: str) -> str:
    """A name or pattern as git sees it: its bytes (as the filesystem spells them), one
    character each."""
    return text if text.isascii() else os.fsencode(text).decode("latin-1")


def shown(text: str) -> str:
    """A byte string back as readable text."""
    return text if text.isascii() else os.fsdecode(text.encode("latin-1"))


def trim_trailing_spaces(line: str) -> str:
    last_space = -1
    i = 0
    while i < len(line):
        c = line[i]
        if c == " ":
            if last_space < 0:
                last_space = i
        elif c == "\\":
            i += 1
            if i == len(line):
                return line  # a trailing backslash keeps the spaces before it
            last_space = -1
        else:
            last_space = -1
        i += 1
    return line[:last_space] if last_space >= 0 else line


@dataclass(frozen=True)
class Rule:
    text: str  # the line, as a byte string
    negative: bool
    dir_only: bool
    basename: bool  # no slash but a trailing one: matched against the last path segment
    body: str  # without the leading '!' and the trailing '/'

    @classmethod
    def parse(cls, line: str) -> Rule:
        body = line[1:] if line.startswith("!") else line
        dir_only = body.endswith("/")
        body = body[:-1] if dir_only else body
        return cls(line, line.startswith("!"), dir_only, "/" not in body, body)


Match = Callable[[str], "re.Match[str] | None"]
_UNKNOWN: Any = object()


class _Regexes:
    """Patterns only a regex can match, joined into one regex for each first and last character
    of the text (made when first needed), so that a text meets only the patterns that can start
    and end as it does."""

    def __init__(self) -> None:
        self._all: list[tuple[int, str, frozenset[str] | None, frozenset[str] | None]] = []
        self._by_ends: dict[str, tuple[Match, dict[int, int]] | None] = {}
        self.top = -1  # the latest pattern here: nothing here can beat a later one

    def add(self, index: int, regex: str, shape: Shape, first: frozenset[str] | None) -> None:
        self._all.append((index, regex, first, shape.last))
        self.top = index

    def best(self, text: str) -> int:
        ends = text[:1] + text[-1:]
        joined = self._by_ends.get(ends, _UNKNOWN)
        if joined is _UNKNOWN:
            head, tail = ends[:1], ends[1:]
            joined = self._by_ends[ends] = _joined(
                [
                    (index, regex)
                    for index, regex, first, last in self._all
                    if (first is None or head in first) and (last is None or tail in last)
                ]
            )
        if joined is None:
            return -1
        found = joined[0](text)
        return -1 if found is None else joined[1][found.lastindex or 0]


def _joined(regexes: list[tuple[int, str]]) -> tuple[Match, dict[int, int]] | None:
    """One regex for all; the latest pattern is its first alternative, so it wins."""
    if not regexes:
        return None
    ordered = sorted(regexes, reverse=True)
    groups: dict[int, int] = {}
    number = 1
    for index, regex in ordered:
        groups[number] = index
        number += 1 + regex.count("(?P<")  # the atomic groups are the only groups inside
    compiled = re.compile("|".join(f"({regex})" for _, regex in ordered), re.DOTALL)
    return compiled.fullmatch, groups


# index, rule, its shape, whether the shape is matched against the name (else the path), the
# literal head of a path pattern
Compiled = tuple[int, Rule, Shape, bool, str]


def _compile(rules: Sequence[Rule], casefold: bool) -> list[Compiled]:
    groups = (f"a{n}" for n in itertools.count())  # unique across the list's regexes
    compiled = []
    for index, rule in enumerate(rules):
        raw = rule.body[1:] if rule.body.startswith("/") and not rule.basename else rule.body
        if rule.basename or (raw.startswith("**/") and "/" not in raw[3:]):
            # `**/x` (x without a slash) matches what the basename pattern `x` does.
            name = raw if rule.basename else raw[3:]
            found, on_name, literal = shape(name, False, casefold, groups), True, ""
        else:
            prefix = simple_length(raw)  # compared as plain text, as match_pathname() does
            literal = fold(raw[:prefix]) if casefold else raw[:prefix]
            found, on_name = shape(raw[prefix:], True, casefold, groups), False
        if found is not None:
            compiled.append((index, rule, found, on_name, literal))
    return compiled


class _Matcher:
    """The rules that apply to one kind of path (folders: all; files: those without '/')."""

    def __init__(self, rules: Sequence[Compiled]) -> None:
        self.names: dict[str, int] = {}
        self.paths: dict[str, int] = {}
        self.any_name = -1  # the latest `*`
        self.inner: list[tuple[str, int]] = []  # `*middle*`: (middle, index)
        suffixes: dict[int, dict[str, int]] = {}
        self.name_res, self.path_res = _Regexes(), _Regexes()
        for index, _, found, on_name, literal in rules:
            if on_name:
                if found.words is not None:
                    self.names.update(dict.fromkeys(found.words, index))
                elif found.tails == frozenset({""}):
                    self.any_name = index
                elif found.tails is not None:
                    for tail in found.tails:
                        suffixes.setdefault(len(tail), {})[tail] = index
                elif found.inner is not None:
                    self.inner += [(middle, index) for middle in found.inner]
                elif found.regex is not None:
                    self.name_res.add(index, found.regex, found, found.first)
            elif found.words is not None:
                self.paths.update(dict.fromkeys((literal + w for w in found.words), index))
            elif found.regex is not None:
                first = frozenset(literal[0]) if literal else found.first
                self.path_res.add(index, re.escape(literal) + found.regex, found, first)
        # Grouped by their last character, so that a name meets only the tails it can end with.
        by_end: dict[str, dict[int, dict[str, int]]] = {}
        for length, table in suffixes.items():
            for tail, index in table.items():
                by_end.setdefault(tail[-1], {}).setdefault(length, {})[tail] = index
        self.suffixes = {end: tuple(sorted(t.items())) for end, t in by_end.items()}

    def last(self, path: str, name: str) -> int:
        best = self.names.get(name, -1)
        other = self.paths.get(path, -1)
        best = other if other > best else best
        best = self.any_name if self.any_name > best else best
        for length, table in self.suffixes.get(name[-1:], ()):
            if length > len(name):
                break
            other = table.get(name[len(name) - length :], -1)
            best = other if other > best else best
        for middle, index in self.inner:
            if index > best and middle in name:
                best = index
        if self.name_res.top > best:
            other = self.name_res.best(name)
            best = other if other > best else best
        if self.path_res.top > best:
            other = self.path_res.best(path)
            best = other if other > best else best
        return best


class PatternList:
    """A list of patterns compiled once; which one, if any, matched last."""

    def __init__(self, lines: Iterable[str], casefold: bool = False) -> None:
        self.rules = tuple(Rule.parse(line) for line in lines)
        self.casefold = casefold
        compiled = _compile(self.rules, casefold)
        self._dirs = _Matcher(compiled)
        self._files = _Matcher([c for c in compiled if not c[1].dir_only])

    def last(self, path: str, name: str, is_dir: bool) -> int:
        """The index of the last rule matching `path` (relative to the list's folder, a byte
        string) whose last segment is `name`; -1 for none."""
        if self.casefold:
            path, name = fold(path), fold(name)
        if is_dir:
            return self._dirs.last(path, name)
        return self._files.last(path, name)
