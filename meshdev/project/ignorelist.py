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
(`*.log`, `*.py[cod]`) a dict keyed by tail; only the rest go through regexes, joined per first
and last character of the text, latest pattern first, so that one fullmatch names the last that
matches. A folder's files are judged in one call, which sets aside once the path patterns that
cannot reach that folder.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

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
Joined = tuple[Match, dict[int, int]]  # a joined regex, and the pattern each group stands for
# index, regex, the first and last characters a match can have (None: any), its literal head
_Entry = tuple[int, str, frozenset[str] | None, frozenset[str] | None, str]
_NOTHING: dict[str, int] = {}
_PREFIXES_KEPT = 50_000


class _Regexes(dict[str, "Joined | None"]):
    """Patterns only a regex can match. Looked up by the first and last characters of a text, it
    gives one regex joined from those that can start and end as the text does (made when first
    asked for), or None: a text meets only the patterns it can match."""

    def __init__(self, entries: Sequence[_Entry] = ()) -> None:
        super().__init__()
        self._all: list[_Entry] = list(entries)
        self._subsets: dict[tuple[int, ...], _Regexes] = {}
        self.top = max(e[0] for e in self._all) if self._all else -1  # none beats a later one

    def add(self, entry: _Entry) -> None:
        self._all.append(entry)
        self.top = entry[0]

    def under(self, prefix: str) -> _Regexes:
        """Those whose literal head and first character allow a match directly inside the
        folder `prefix` ('' or ending in '/'): no other can match a name there."""
        head = prefix[:1]
        kept = [
            e
            for e in self._all
            if _reaches(e[4], prefix) and (not head or e[2] is None or head in e[2])
        ]
        if len(kept) == len(self._all):
            return self
        if not kept:
            return _NO_REGEXES
        key = tuple(e[0] for e in kept)
        known = self._subsets.get(key)
        if known is None:
            known = self._subsets[key] = _Regexes(kept)
        return known

    def __missing__(self, ends: str) -> Joined | None:
        head, tail = ends[:1], ends[1:]
        joined = self[ends] = _joined(
            [
                (index, regex)
                for index, regex, first, last, _ in self._all
                if (first is None or head in first) and (last is None or tail in last)
            ]
        )
        return joined


_NO_REGEXES = _Regexes()
_NO_PATHS = (_NOTHING, _NO_REGEXES)


def _reaches(literal: str, prefix: str) -> bool:
    """Can a path `prefix + name` (a name without '/') start with `literal`?"""
    if len(literal) <= len(prefix):
        return prefix.startswith(literal)
    return literal.startswith(prefix) and "/" not in literal[len(prefix) :]


def _joined(regexes: list[tuple[int, str]]) -> Joined | None:
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
            found, on_name, literal = _shape(name, False, casefold, groups), True, ""
        else:
            prefix = simple_length(raw)  # compared as plain text, as match_pathname() does
            literal = fold(raw[:prefix]) if casefold else raw[:prefix]
            found, on_name = _shape(raw[prefix:], True, casefold, groups), False
        if found is not None:
            compiled.append((index, rule, found, on_name, literal))
    return compiled


def _shape(pattern: str, pathname: bool, casefold: bool, groups: Iterator[str]) -> Shape | None:
    """shape(), made once for a pattern that many lists hold (`*.o` in a thousand .gitignore
    files), unless its regex names groups: those must be unique within a list."""
    found = _shared_shape(pattern, pathname, casefold)
    if found is None or found.regex is None or "(?P<" not in found.regex:
        return found
    return shape(pattern, pathname, casefold, groups)


@lru_cache(maxsize=20_000)
def _shared_shape(pattern: str, pathname: bool, casefold: bool) -> Shape | None:
    return shape(pattern, pathname, casefold, (f"s{n}" for n in itertools.count()))


class _Matcher:
    """The rules that apply to one kind of path (folders: all; files: those without '/')."""

    def __init__(self, rules: Sequence[Compiled]) -> None:
        self.names: dict[str, int] = {}
        self.paths: dict[str, int] = {}
        self.any_name = -1  # the latest `*`
        self.inner: list[tuple[str, int]] = []  # `*middle*`: (middle, index)
        suffixes: dict[int, dict[str, int]] = {}
        self.name_res, self.path_res = _Regexes(), _Regexes()
        self._prefixes: dict[str, tuple[dict[str, int], _Regexes]] = {}
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
                    self.name_res.add((index, found.regex, found.first, found.last, ""))
            elif found.words is not None:
                self.paths.update(dict.fromkeys((literal + w for w in found.words), index))
            elif found.regex is not None:
                first = frozenset(literal[:1]) or found.first
                regex = re.escape(literal) + found.regex
                self.path_res.add((index, regex, first, found.last, literal))
        # Grouped by their last character, so that a name meets only the tails it can end with.
        by_end: dict[str, dict[int, dict[str, int]]] = {}
        for length, table in suffixes.items():
            for tail, index in table.items():
                by_end.setdefault(tail[-1], {}).setdefault(length, {})[tail] = index
        self.suffixes = {end: tuple(sorted(t.items())) for end, t in by_end.items()}

    def _under(self, prefix: str) -> tuple[dict[str, int], _Regexes]:
        """What, besides the name patterns, can match a name directly inside `prefix`: the
        literal paths there, and the path regexes whose literal head allows it."""
        known = self._prefixes.get(prefix)
        if known is None:
            if len(self._prefixes) > _PREFIXES_KEPT:
                self._prefixes.clear()  # a long run meets many folders that come and go
            cut = len(prefix)
            here = {p[cut:]: i for p, i in self.paths.items() if _reaches(p, prefix)} or _NOTHING
            known = self._prefixes[prefix] = (here, self.path_res.under(prefix))
        return known

    def last_in(self, prefix: str, names: Iterable[str]) -> list[int]:
        """For each name directly inside the folder `prefix` ('' or ending in '/'), the index
        of the last pattern matching it; -1 for none. One call judges a whole folder, so that
        what depends on the folder alone is worked out once, and the loop calls no function of
        its own: this runs for every file of the tree."""
        here, path_res = self._under(prefix) if self.paths or self.path_res.top >= 0 else _NO_PATHS
        here_get, names_get, suffixes = here.get, self.names.get, self.suffixes
        any_name, inner, head, name_res = self.any_name, self.inner, prefix[:1], self.name_res
        name_top, path_top = name_res.top, path_res.top
        found = []
        for name in names:
            best = names_get(name, any_name)
            if any_name > best:
                best = any_name
            if here and here_get(name, -1) > best:
                best = here[name]
            end = name[-1:]
            for length, table in suffixes.get(end, ()):
                if length > len(name):
                    break
                other = table.get(name[len(name) - length :], -1)
                best = other if other > best else best
            for middle, index in inner:
                if index > best and middle in name:
                    best = index
            if name_top > best:
                joined = name_res[name[:1] + end]
                if joined is not None and (hit := joined[0](name)) is not None:
                    best = max(best, joined[1][hit.lastindex or 0])
            if path_top > best:
                joined = path_res[(head or name[:1]) + end]
                if joined is not None and (hit := joined[0](prefix + name)) is not None:
                    best = max(best, joined[1][hit.lastindex or 0])
            found.append(best)
        return found


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
        return self.last_in(path[: len(path) - len(name)], (name,), is_dir)[0]

    def last_in(self, prefix: str, names: Iterable[str], is_dir: bool = False) -> list[int]:
        """last() for each of `names`, all directly inside the folder `prefix` (relative to the
        list's folder: '' or ending in '/')."""
        if self.casefold:
            prefix, names = fold(prefix), [fold(name) for name in names]
        return (self._dirs if is_dir else self._files).last_in(prefix, names)
