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

The compiled list is matched by matcher.Matcher, fast.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from meshdev.project.matcher import Matcher
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


forget_shapes = _shared_shape.cache_clear


class PatternList:
    """A list of patterns compiled once; which one, if any, matched last."""

    def __init__(self, lines: Iterable[str], casefold: bool = False) -> None:
        self.rules = tuple(Rule.parse(line) for line in lines)
        self.casefold = casefold
        self._compiled = _compile(self.rules, casefold)
        self._matchers: dict[bool, Matcher] = {}  # for folders, for files: made when first needed

    def _matcher(self, is_dir: bool) -> Matcher:
        known = self._matchers.get(is_dir)
        if known is None:
            known = self._matchers[is_dir] = Matcher(
                (i, s, n, lit) for i, r, s, n, lit in self._compiled if is_dir or not r.dir_only
            )
        return known

    def last(self, path: str, name: str, is_dir: bool) -> int:
        """The index of the last rule matching `path` (relative to the list's folder, a byte
        string) whose last segment is `name`; -1 for none."""
        if self.casefold:
            path, name = fold(path), fold(name)
        return self._matcher(is_dir).last(path, name)

    def last_in(self, prefix: str, names: Iterable[str], is_dir: bool = False) -> dict[int, int]:
        """last() for `names`, all directly inside the folder `prefix` (relative to the list's
        folder: '' or ending in '/'): position in `names` -> index, for those a rule matches."""
        if self.casefold:
            prefix, names = fold(prefix), [fold(name) for name in names]
        return self._matcher(is_dir).last_in(prefix, names)


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
