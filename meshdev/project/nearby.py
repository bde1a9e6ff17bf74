"""Projects below a folder that meshdev has run in: those holding a `.meshdev/` folder.

`meshdev reload` and `meshdev state` from the folder where `meshdev start examples/agents/` was
typed must reach that project (its root is below the current folder, not above it). Bounded:
a few levels, a few thousand folders, hidden and ignored folders never entered. Pure apart
from reading the tree.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE = ".meshdev"
_DEPTH = 4
_MAX_FOLDERS = 5000
_NEVER = {"node_modules", "__pycache__", "site-packages", "dist", "build"}


def roots_below(folder: Path) -> list[Path]:
    """Project roots at or below `folder`, nearest first."""
    found: list[Path] = []
    level = [folder]
    visited = 0
    for _ in range(_DEPTH + 1):
        below: list[Path] = []
        for current in level:
            visited += 1
            if visited > _MAX_FOLDERS:
                return found
            entries = _entries(current)
            if PRIVATE in entries:
                found.append(current)
            below += [current / name for name in sorted(entries) if _walkable(current, name)]
        level = below
    return found


def _entries(folder: Path) -> set[str]:
    try:
        with os.scandir(folder) as scan:
            return {e.name for e in scan if e.is_dir(follow_symlinks=False)}
    except OSError:
        return set()


def _walkable(parent: Path, name: str) -> bool:
    if name.startswith(".") or name in _NEVER:
        return False
    return not (parent / name / "pyvenv.cfg").exists()
