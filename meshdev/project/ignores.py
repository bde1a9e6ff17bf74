"""git's verdict on a path from stacked pattern lists: the .gitignore of every folder above it
(deeper ones first), then the repository's exclude files. Pure.

As in dir.c (prep_exclude): each folder on the way down is judged first, with the lists of the
folders above it; once a folder is excluded, everything below it is excluded by the same pattern
and no later `!pattern` can take it back ("it is not possible to re-include a file if a parent
directory of that file is excluded"), and that folder's own .gitignore is not read. Inside a
nested repository only that repository's lists apply; the folder that holds it is judged by the
repository around it. Verdicts on folders are cached, so a tree is judged in one pass.

Paths are byte strings (see ignorelist.byte_string) relative to the top of the outermost work
tree, with '/' between segments.
"""

from __future__ import annotations

from collections.abc import Iterable
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

    def _own(self, path: str, name: str, is_dir: bool, parent: str) -> Hit | None:
        chain = self._chains.get(parent)
        for start, source in self._chain(parent) if chain is None else chain:
            index = source.patterns.last(path[start:], name, is_dir)
            if index >= 0:
                return None if source.patterns.rules[index].negative else (source, index)
        return None

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
