"""git's verdict on a path from stacked pattern lists: the .gitignore of every folder above it
(deeper ones first), then the repository's exclude files. Pure.

As in dir.c (prep_exclude): each folder on the way down is judged first, with the lists of the
folders above it; once a folder is excluded, everything below it is excluded by the same pattern
and no later `!pattern` can take it back ("it is not possible to re-include a file if a parent
directory of that file is excluded"), and that folder's own .gitignore is not read. Inside a
nested repository only that repository's lists apply; the folder that holds it is judged by the
repository around it. Verdicts on folders are cached, so a tree is judged in one pass, and the
files of one folder can be judged together (`*_in`), so that what depends on the folder alone is
worked out once for all of them. A `.meshwatch` list (PatternSpec) is a stack of one list.

Paths are byte strings (see ignorelist.byte_string) relative to the top of the outermost work
tree, with '/' between segments.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from meshdev.project.ignorelist import PatternList, byte_string, read_lines, shown


@dataclass(frozen=True)
class Source:
    name: str  # shown as the origin of a verdict: ".gitignore", "svc/.gitignore", a full path
    patterns: PatternList


Hit = tuple[Source, int]  # the list and the index of the pattern that excluded a path
Chain = tuple[tuple[int, Source], ...]  # (where the list's folder ends in a path, list)
_UNKNOWN: Any = object()
_FOLDERS_KEPT = 200_000


class Stack:
    def __init__(self) -> None:
        self._folders: dict[str, Source] = {}  # folder ('' for the top) -> its .gitignore
        self._repos: dict[str, tuple[Source, ...]] = {"": ()}  # repository top -> excludes
        self._dirs: dict[str, Hit | None] = {}
        self._chains: dict[str, Chain] = {}

    def add_folder(self, folder: str, source: Source) -> None:
        """A folder's .gitignore; add it before judging anything below that folder."""
        self._folders[folder] = source
        self._chains.pop(folder, None)

    def add_repo(self, top: str, excludes: Iterable[Source]) -> None:
        """A (nested) repository at `top`, with its exclude files, strongest first."""
        self._repos[top] = tuple(excludes)
        self._chains.pop(top, None)

    def folders(self) -> dict[str, Source]:
        return dict(self._folders)

    def repos(self) -> dict[str, tuple[Source, ...]]:
        return dict(self._repos)

    def hit(self, path: str, is_dir: bool) -> Hit | None:
        """What excludes `path` (the pattern that did, through a parent folder or itself)."""
        parent, slash, name = path.rpartition("/")
        if slash:
            above: Hit | None = self._dirs.get(parent, _UNKNOWN)
            if above is _UNKNOWN:
                above = self.folder_hit(parent)
            if above is not None:
                return above
        return self._own(path, name, is_dir, parent)

    def folder_hit(self, folder: str) -> Hit | None:
        known: Hit | None = self._dirs.get(folder, _UNKNOWN)
        if known is not _UNKNOWN:
            return known
        if len(self._dirs) > _FOLDERS_KEPT:
            self._dirs.clear()  # a long run meets many folders that come and go
        todo = [folder]
        while "/" in todo[-1]:
            up = todo[-1].rpartition("/")[0]
            if up in self._dirs:
                break
            todo.append(up)
        for current in reversed(todo):
            parent, slash, name = current.rpartition("/")
            above = self._dirs[parent] if slash else None
            if above is None:
                above = self._own(current, name, True, parent)
            self._dirs[current] = above
        return self._dirs[folder]

    def hits_in(self, folder: str, names: Sequence[str], is_dir: bool = False) -> dict[int, Hit]:
        """hit() for `names`, all directly inside `folder` ('' for the top): position in `names`
        -> hit, for those excluded."""
        if folder:
            above: Hit | None = self._dirs.get(folder, _UNKNOWN)
            if above is _UNKNOWN:
                above = self.folder_hit(folder)
            if above is not None:
                return dict.fromkeys(range(len(names)), above)
        return self._own_in(folder, names, is_dir)

    def _own(self, path: str, name: str, is_dir: bool, parent: str) -> Hit | None:
        chain = self._chains.get(parent)
        for start, source in self._chain(parent) if chain is None else chain:
            index = source.patterns.last(path[start:], name, is_dir)
            if index >= 0:
                return None if source.patterns.rules[index].negative else (source, index)
        return None

    def _own_in(self, parent: str, names: Sequence[str], is_dir: bool) -> dict[int, Hit]:
        found: dict[int, Hit] = {}
        todo: Sequence[int] = range(len(names))  # positions in `names` no list has matched yet
        prefix = f"{parent}/" if parent else ""
        chain = self._chains.get(parent)
        for start, source in self._chain(parent) if chain is None else chain:
            patterns = source.patterns
            todo_names = names if len(todo) == len(names) else [names[i] for i in todo]
            matched = patterns.last_in(prefix[start:], todo_names, is_dir)
            if not matched:
                continue
            for at, index in matched.items():
                if not patterns.rules[index].negative:
                    found[todo[at]] = (source, index)
            todo = [i for at, i in enumerate(todo) if at not in matched]
            if not todo:
                break
        return found

    def _chain(self, folder: str) -> Chain:
        """The lists that judge what lies directly in `folder`, strongest first."""
        known = self._chains.get(folder)
        if known is not None:
            return known
        todo = [folder]
        while todo[-1] not in self._repos and todo[-1] not in self._chains:
            todo.append(todo[-1].rpartition("/")[0])
        for current in reversed(todo):
            if current in self._chains:
                continue
            start = len(current) + 1 if current else 0
            own = self._folders.get(current)
            head: Chain = ((start, own),) if own is not None else ()
            if current in self._repos:
                tail: Chain = tuple((start, source) for source in self._repos[current])
            else:
                tail = self._chains[current.rpartition("/")[0]]
            self._chains[current] = head + tail
        return self._chains[folder]


GITIGNORE = ".gitignore"


class GitIgnores:
    """What git ignores in a project: its .gitignore files, those above it up to the top of its
    work tree, and the exclude files; asked with paths relative to the project root."""

    def __init__(
        self,
        files: Iterable[tuple[str, tuple[str, ...]]] = (),
        stack: Stack | None = None,
        prefix: str = "",
    ) -> None:
        if stack is None:
            stack = Stack()
            for folder, lines in files:
                data = "\n".join(lines).encode("utf-8", "surrogateescape")
                stack.add_folder(byte_string(folder), Source(_name(folder), compile_list(data)))
        self.stack = stack
        self.prefix = prefix  # the project root, relative to the top of its work tree

    @property
    def files(self) -> list[tuple[str, tuple[str, ...]]]:
        """The .gitignore files inside the project: (folder, patterns)."""
        found = []
        for folder, source in self.stack.folders().items():
            inside = self._inside(folder)
            if inside is not None:
                found.append((shown(inside), tuple(shown(r.text) for r in source.patterns.rules)))
        return sorted(found)

    def _inside(self, folder: str) -> str | None:
        if not self.prefix:
            return folder
        if folder == self.prefix:
            return ""
        return folder[len(self.prefix) + 1 :] if folder.startswith(self.prefix + "/") else None

    def deciding(self, rel: str) -> tuple[str, str] | None:
        """(pattern, source) when git ignores `rel` (a folder when it ends with '/')."""
        return self.decided(byte_string(rel.rstrip("/")), rel.endswith("/"))

    def decided(self, path: str, is_dir: bool = False) -> tuple[str, str] | None:
        """deciding(), for a path already made a byte string (ignorelist.byte_string)."""
        hit = self.stack.hit(f"{self.prefix}/{path}" if self.prefix else path, is_dir)
        if hit is None:
            return None
        source, index = hit
        return shown(source.patterns.rules[index].text), source.name

    def decided_in(self, folder: str, names: Sequence[str]) -> dict[int, tuple[str, str]]:
        """decided() for files `names` (byte strings), all directly inside `folder`: position in
        `names` -> (pattern, source), for those git ignores."""
        if self.prefix:
            folder = f"{self.prefix}/{folder}" if folder else self.prefix
        return {
            at: (shown(source.patterns.rules[index].text), source.name)
            for at, (source, index) in self.stack.hits_in(folder, names).items()
        }

    def with_file(self, folder: str, lines: tuple[str, ...]) -> GitIgnores:
        """The same, with the .gitignore of `folder` (relative to the project root) replaced;
        every other list stays compiled."""
        stack = Stack()
        for top, excludes in self.stack.repos().items():
            stack.add_repo(top, excludes)
        key = byte_string(folder)
        key = f"{self.prefix}/{key}".rstrip("/") if self.prefix else key
        for other, source in self.stack.folders().items():
            if other != key:
                stack.add_folder(other, source)
        old = self.stack.folders().get(key)
        data = "\n".join(lines).encode("utf-8", "surrogateescape")
        casefold = old is not None and old.patterns.casefold
        stack.add_folder(key, Source(_name(folder), compile_list(data, casefold)))
        return GitIgnores(stack=stack, prefix=self.prefix)


def compile_list(data: bytes, casefold: bool = False) -> PatternList:
    return PatternList(read_lines(data), casefold)


def _name(folder: str) -> str:
    return f"{folder}/{GITIGNORE}" if folder else GITIGNORE


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

    def decided_in(self, folder: str, names: Sequence[str]) -> dict[int, str]:
        """decided() for files `names`, all directly inside `folder` ('' for the top): position
        in `names` -> the entry that decided, for those a pattern decides."""
        if not self._owners:
            return {}
        index = self._folder(folder) if folder else -1
        if index >= 0:
            return dict.fromkeys(range(len(names)), self.patterns[self._owners[index]])
        rules, owners, patterns = self._list.rules, self._owners, self.patterns
        found = self._list.last_in(f"{folder}/" if folder else "", names)
        return {at: patterns[owners[i]] for at, i in found.items() if not rules[i].negative}
