"""git's wildmatch, translated once per pattern into a Python regular expression. Pure.

Why our own translation and not pathspec: git matches bytes, with its own locale-free ctype
(`[[:space:]]` is tab, LF, CR and space, nothing else), folds only ASCII letters under
core.ignorecase, and has corner cases a generic glob library does not share: `[z-a]` matches
`z` (the start of a range is taken as a character first) instead of failing, an unterminated `[`
or a trailing backslash makes only that one pattern unmatchable, neither an escaped letter nor a
class is folded, and `**` is special only when it stands between slashes. Each rule of `dowild()`
in git's wildmatch.c is mirrored below, and a test holds the result against git itself.

Texts and patterns are "byte strings": every character is one byte (decoded as Latin-1), so that
`?` matches one byte as it does in git, and names that are not UTF-8 still match.

A pattern with several stars becomes a regex that cannot backtrack catastrophically: a star whose
next star can absorb anything it skips is committed to its leftmost match with an atomic group
(written `(?=(?P<x>...))(?P=x)`, which Python has always supported), so
`**/a/**/a/**/a/**/a/**/a/**/a/**/b` runs in linear time on a path 40 folders deep.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

GLOB_SPECIAL = frozenset("*?[\\")


def _chars(test: Callable[[int], bool]) -> frozenset[str]:
    return frozenset(chr(c) for c in range(128) if test(c))


def _punct(c: int) -> bool:
    return 33 <= c <= 126 and not chr(c).isalnum()


# git's own ctype (ctype.c), which no locale changes: ASCII only.
CLASSES: dict[str, frozenset[str]] = {
    "alnum": _chars(lambda c: chr(c).isalnum()),
    "alpha": _chars(lambda c: chr(c).isalpha()),
    "blank": frozenset(" \t"),
    "cntrl": _chars(lambda c: c < 32 or c == 127),
    "digit": frozenset("0123456789"),
    "graph": _chars(lambda c: 33 <= c <= 126),
    "lower": _chars(lambda c: chr(c).islower()),
    "print": _chars(lambda c: 32 <= c <= 126),
    "punct": _chars(_punct),
    "space": frozenset("\t\n\r "),
    "upper": _chars(lambda c: chr(c).isupper()),
    "xdigit": frozenset("0123456789abcdefABCDEF"),
}
_UPPER = CLASSES["upper"]
_FOLD = {ord(c): ord(c.lower()) for c in _UPPER}
# What a folded text can hold: no ASCII capital letter.
_FOLDED_BYTES = tuple(chr(c) for c in range(1, 256) if chr(c) not in _UPPER)
_ALL_BYTES = tuple(chr(c) for c in range(1, 256))


def fold(text: str) -> str:
    """ASCII letters to lower case, every other byte as it is (git's tolower)."""
    return text.translate(_FOLD)


def simple_length(text: str) -> int:
    """How many leading characters are plain (no `*?[\\`)."""
    for i, c in enumerate(text):
        if c in GLOB_SPECIAL:
            return i
    return len(text)


class Star(enum.Enum):
    SEGMENT = "[^/]*"  # `*`, or `**` not between slashes: stays in one path segment
    FOLDERS = "(?:.*/)?"  # `**/` after a slash or at the start: zero or more whole folders
    ANYTHING = ".*"  # a trailing `**`, or `**` before an escaped slash


_LAZY = {Star.SEGMENT: "[^/]*?", Star.FOLDERS: "(?:.*?/)??", Star.ANYTHING: ".*?"}

Token = frozenset[str] | Star  # a set: the characters one position can hold
_NOT_SLASH = frozenset(_ALL_BYTES) - {"/"}  # `?`
_FEW = 64  # up to this many fixed texts, a pattern is looked up instead of matched


@dataclass(frozen=True)
class Shape:
    """A pattern compiled: its regex, and what allows faster ways of matching it."""

    regex: str | None  # for fullmatch (DOTALL) on a text folded by fold() when casefold; None:
    # not needed, the sets below say it all
    first: frozenset[str] | None  # the characters a match can start with; None: any
    last: frozenset[str] | None  # the characters a match can end with; None: any
    words: frozenset[str] | None  # every text it matches, when it has no star and few
    tails: frozenset[str] | None  # a leading `*` and then few fixed tails: those tails
    inner: frozenset[str] | None  # `*`, few fixed middles, `*`: those middles


def shape(pattern: str, pathname: bool, casefold: bool, names: Iterator[str]) -> Shape | None:
    """What wildmatch(pattern) matches, with WM_PATHNAME when `pathname`, on text folded by
    fold() when `casefold`; None when nothing can. `names` supplies unique group names."""
    plain = fold(pattern) if casefold else pattern
    if simple_length(pattern) == len(pattern):  # the usual `name`: no wildcard at all
        return Shape(None, None, None, frozenset({plain}), None, None)
    if not pathname and pattern[0] == "*" and simple_length(pattern[1:]) == len(pattern) - 1:
        return Shape(None, None, None, None, frozenset({plain[1:]}), None)  # the usual `*.ext`
    tokens = _tokens(pattern, pathname, casefold)
    if tokens is None:
        return None
    tails = inner = None
    if tokens and tokens[0] is Star.SEGMENT and not pathname:
        tails = _words(tokens[1:])
        if len(tokens) > 1 and tokens[-1] is Star.SEGMENT:
            inner = _words(tokens[1:-1])
    words = _words(tokens)
    regex = None if words or tails or inner else _assemble(tokens, names)
    return Shape(regex, _end(tokens, 0), _end(tokens, -1), words, tails, inner)


def _end(tokens: list[Token], at: int) -> frozenset[str] | None:
    if not tokens:
        return frozenset()
    token = tokens[at]
    return token if isinstance(token, frozenset) and token is not _NOT_SLASH else None


def _words(tokens: list[Token]) -> frozenset[str] | None:
    words = [""]
    for token in tokens:
        if isinstance(token, Star) or len(words) * len(token) > _FEW:
            return None
        words = [w + c for w in words for c in token]
    return frozenset(words)


def _tokens(pattern: str, pathname: bool, casefold: bool) -> list[Token] | None:
    tokens: list[Token] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            # git folds the text but not the escaped character: `\A` can never match then.
            if i + 1 == n or (casefold and pattern[i + 1] in _UPPER):
                return None
            tokens.append(frozenset(pattern[i + 1]))
            i += 2
        elif c == "?":
            tokens.append(_NOT_SLASH)
            i += 1
        elif c == "*":
            star, i = _star(pattern, i, pathname)
            tokens.append(star)
        elif c == "[":
            found = _bracket(pattern, i, casefold)
            if found is None or not found[0]:
                return None
            tokens.append(found[0])
            i = found[1]
        else:
            tokens.append(frozenset(c.lower() if casefold and c in _UPPER else c))
            i += 1
    return tokens


def _star(pattern: str, i: int, pathname: bool) -> tuple[Star, int]:
    j = i
    while j < len(pattern) and pattern[j] == "*":
        j += 1
    if pathname and j - i >= 2 and (i == 0 or pattern[i - 1] == "/"):
        if j == len(pattern) or pattern.startswith("\\/", j):
            return Star.ANYTHING, j
        if pattern[j] == "/":
            return Star.FOLDERS, j + 1  # the slash belongs to the star: `a/**/b` matches a/b
    # Without WM_PATHNAME (a basename) there is no slash to cross: one segment is everything.
    return Star.SEGMENT, j


def _assemble(tokens: list[Token], names: Iterator[str]) -> str:
    pieces: list[list[str]] = [[]]
    stars: list[Star] = []
    for token in tokens:
        if isinstance(token, Star):
            stars.append(token)
            pieces.append([])
        else:
            pieces[-1].append("[^/]" if token is _NOT_SLASH else _charset(token))
    out = ["".join(pieces[0])]
    for k, star in enumerate(stars):
        piece = "".join(pieces[k + 1])
        following = stars[k + 1] if k + 1 < len(stars) else None
        if following is None or (star is not Star.SEGMENT and following is Star.SEGMENT):
            out.append(star.value + piece)
        else:
            # The next star absorbs whatever a later match of `piece` would have skipped, so the
            # leftmost match is as good as any: commit to it (no backtracking into this star).
            name = next(names)
            out.append(f"(?=(?P<{name}>{_LAZY[star]}{piece}))(?P={name})")
    return "".join(out)


def _bracket(pattern: str, i: int, casefold: bool) -> tuple[frozenset[str], int] | None:
    """The characters (of a folded text when `casefold`) that the class at pattern[i] == '['
    matches, and the index after it; None when git aborts on it (unterminated, unknown class)."""
    parsed = _class_items(pattern, i)
    if parsed is None:
        return None
    negated, items, end = parsed
    domain = _FOLDED_BYTES if casefold else _ALL_BYTES
    chars = frozenset(
        t for t in domain if t != "/" and any(_item_has(it, t, casefold) for it in items) != negated
    )
    return chars, end


Item = tuple[str, str, str]  # ("char", c, "") | ("range", low, high) | ("class", name, "")


def _class_items(pattern: str, i: int) -> tuple[bool, list[Item], int] | None:
    at = _reader(pattern)
    p = i + 1
    ch = "!" if at(p) == "^" else at(p)
    negated = ch == "!"
    if negated:
        p += 1
        ch = at(p)
    prev = ""
    items: list[Item] = []
    while True:  # the first character is taken even when it is ']'
        if not ch:
            return None  # the pattern ends inside the class: git aborts
        if ch == "\\":
            p += 1
            ch = at(p)
            if not ch:
                return None
            items.append(("char", ch, ""))
        elif ch == "-" and prev and at(p + 1) and at(p + 1) != "]":
            p += 2 if at(p + 1) == "\\" else 1
            if not at(p):
                return None
            items.append(("range", prev, at(p)))
            ch = ""  # a range ends: the next '-' is literal
        elif ch == "[" and at(p + 1) == ":":
            found = _named_class(pattern, p)
            if found is None:
                return None
            item, p = found
            items.append(item)
            ch = "" if item[0] == "class" else "["
        else:
            items.append(("char", ch, ""))
        prev = ch
        p += 1
        ch = at(p)
        if ch == "]":
            return negated, items, p + 1


def _reader(pattern: str) -> Callable[[int], str]:
    """pattern[k], or '' past its end (where git reads the terminating NUL)."""
    return lambda k: pattern[k] if k < len(pattern) else ""


def _named_class(pattern: str, p: int) -> tuple[Item, int] | None:
    """`[:name:]` at pattern[p]: the item and the index of its last character; a `[` that opens
    no class is a literal '[' (and the scan goes on after it)."""
    start = p + 2
    q = pattern.find("]", start)
    if q < 0:
        return None
    if q - start - 1 < 0 or pattern[q - 1] != ":":
        return ("char", "[", ""), p
    name = pattern[start : q - 1]
    if name not in CLASSES:
        return None
    return ("class", name, ""), q


def _item_has(item: Item, t: str, casefold: bool) -> bool:
    kind, a, b = item
    if kind == "char":
        return t == a
    if kind == "range":
        return a <= t <= b or (casefold and t.islower() and t.isascii() and a <= t.upper() <= b)
    if a == "upper" and casefold:
        return t in _UPPER or t in CLASSES["lower"]
    return t in CLASSES[a]


def _charset(chars: frozenset[str]) -> str:
    codes = sorted(ord(c) for c in chars)
    if len(codes) == 1:
        return re.escape(chr(codes[0]))
    spans: list[str] = []
    start = prev = codes[0]
    for code in [*codes[1:], -1]:
        if code != prev + 1:
            low, high = _class_char(start), _class_char(prev)
            spans.append(low if start == prev else f"{low}-{high}")
            start = code
        prev = code
    return "[" + "".join(spans) + "]"


def _class_char(code: int) -> str:
    c = chr(code)
    return "\\" + c if c in "\\]^-[" else c
