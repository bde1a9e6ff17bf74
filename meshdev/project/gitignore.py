"""Read the project's .gitignore files, without descending into folders they (or meshdev's
built-in rules) ignore. Pure apart from reading the tree."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from meshdev.project.patterns import GITIGNORE, GitIgnores


def load(root: Path, pruned: Callable[[str], bool]) -> GitIgnores:
    found = GitIgnores()
    stack: list[tuple[str, Path]] = [("", root)]
    while stack:
        rel, folder = stack.pop()
        found = _with_file(found, rel, folder / GITIGNORE)
        for child in _subfolders(folder):
            child_rel = f"{rel}/{child.name}" if rel else child.name
            if not pruned(child_rel) and found.deciding(child_rel + "/") is None:
                stack.append((child_rel, child))
    return found


def _with_file(found: GitIgnores, rel: str, path: Path) -> GitIgnores:
    try:
        lines = tuple(path.read_text(encoding="utf-8", errors="replace").splitlines())
    except OSError:
        return found  # none here
    try:
        return found.with_file(rel, lines)
    except Exception:  # a pattern pathspec cannot read: git would skip it too
        return found


def _subfolders(folder: Path) -> list[Path]:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return [Path(e.path) for e in entries if _is_dir(e)]


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False
