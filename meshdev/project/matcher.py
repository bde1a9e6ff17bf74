"""How a compiled list of patterns finds the last one matching a path, without trying most of
them. Pure.

Speed comes from not matching most patterns at all: a pattern with no star and few spellings
(`Makefile`, `[Dd]esktop.ini`, `/docs/_build`) is a dict key, a star then few fixed tails
(`*.log`, `*.py[cod]`) a dict keyed by tail; only the rest go through regexes, joined per first
and last character of the text, latest pattern first, so that one fullmatch names the last that
matches. A folder's files are judged in one call, which sets aside once the path patterns that
cannot reach that folder.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from meshdev.project.wildmatch import Shape

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


class Matcher:
    """The rules that apply to one kind of path (folders: all; files: those without '/')."""

    def __init__(self, rules: Iterable[tuple[int, Shape, bool, str]]) -> None:
        """`rules`: (index, shape, whether it is matched against the name (else the path), the
        literal head of a path pattern)."""
        self.names: dict[str, int] = {}
        self.paths: dict[str, int] = {}
        self.any_name = -1  # the latest `*`
        self.inner: list[tuple[str, int]] = []  # `*middle*`: (middle, index)
        suffixes: dict[int, dict[str, int]] = {}
        self.name_res, self.path_res = _Regexes(), _Regexes()
        self._prefixes: dict[str, tuple[dict[str, int], _Regexes]] = {}
        for index, found, on_name, literal in rules:
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

    def last(self, path: str, name: str) -> int:
        """The index of the last pattern matching `path`, whose last segment is `name`; -1 for
        none. As last_in() for one name, without the setting up a whole folder shares."""
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
        for regexes, text in ((self.name_res, name), (self.path_res, path)):
            if regexes.top > best:
                joined = regexes[text[:1] + text[-1:]]
                if joined is not None and (hit := joined[0](text)) is not None:
                    best = max(best, joined[1][hit.lastindex or 0])
        return best

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

    def last_in(self, prefix: str, names: Iterable[str]) -> dict[int, int]:
        """For the names directly inside the folder `prefix` ('' or ending in '/') that a pattern
        matches: their position in `names` -> the index of the last pattern matching them. One
        call judges a whole folder, so that what depends on the folder alone is worked out once,
        and the loop calls no function of its own: this runs for every file of the tree."""
        here, path_res = self._under(prefix) if self.paths or self.path_res.top >= 0 else _NO_PATHS
        here_get, names_get, suffixes = here.get, self.names.get, self.suffixes
        any_name, inner, head, name_res = self.any_name, self.inner, prefix[:1], self.name_res
        name_top, path_top = name_res.top, path_res.top
        found = {}
        for at, name in enumerate(names):
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
            if best >= 0:
                found[at] = best
        return found
