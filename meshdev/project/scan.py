"""The folders to watch: only those a pattern or an agent's files can reach, each non-recursively.

Watching folder by folder (instead of the root recursively) is what keeps a large node_modules or
.venv beside the code from costing a single inotify watch. Pure apart from reading the tree.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from meshdev.project.patterns import WatchRules


def is_virtualenv(folder: Path | str) -> bool:
    return os.path.isfile(os.path.join(folder, "pyvenv.cfg"))


def walk_dirs(
    rules: WatchRules,
    top: Path,
    unreadable: set[Path] | None = None,
    files: dict[Path, list[str]] | None = None,
) -> Iterator[Path]:
    """`top` and every folder below it that is not pruned (ignored, excluded, a virtualenv).

    Symbolic links are not followed (no loops); folders that cannot be read are added to
    `unreadable`; folders that vanish on the way are skipped. `files`, when given, gets the
    names of the regular files of each folder walked (as file_names() lists them), so that
    nobody has to read the folder again."""
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        except OSError:
            if unreadable is not None:
                unreadable.add(folder)
            continue
        names: list[str] = []
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                if _is_walkable(rules, entry):
                    stack.append(Path(entry.path))
            elif files is not None and _is_file(entry):
                names.append(entry.name)
        if files is not None:
            files[folder] = names
        yield folder


def _is_walkable(rules: WatchRules, entry: os.DirEntry[str]) -> bool:
    """A folder (not a link to one) to walk."""
    rel = rules.relative(entry.path)
    if rel is None or rules.prunes_dir(rel):
        return False
    return not is_virtualenv(entry.path)


def watched_dirs(
    rules: WatchRules,
    shallow: Iterable[Path] = (),
    unreadable: set[Path] | None = None,
    files: dict[Path, list[str]] | None = None,
) -> tuple[Path, ...]:
    """Folders to watch: the trees under every pattern's base, plus the `shallow` folders alone.

    The folders on the way from the root down to a base are watched too, so that a base that does
    not exist yet is noticed the moment it is created. `files`: as for walk_dirs(), for the
    folders walked (not necessarily all of those returned).
    """
    found: set[Path] = set()
    for base in sorted(rules.base_dirs()):
        target = rules.root / base if base else rules.root
        found.update(_existing_chain(rules.root, target))
        if target.is_dir() and _chain_is_allowed(rules, base):
            found.update(walk_dirs(rules, target, unreadable, files))
    for folder in shallow:
        if folder.is_dir() and rules.relative(folder / "x") is not None:
            found.update(_existing_chain(rules.root, folder))
    return tuple(sorted(found, key=_parts))  # as Paths sort, without their __lt__ for each pair


def _parts(path: Path) -> tuple[str, ...]:
    return path.parts


def _existing_chain(root: Path, target: Path) -> list[Path]:
    """The root, then each existing folder on the way down to `target` (included if it exists)."""
    chain = [root]
    current = root
    for part in target.relative_to(root).parts:
        current = current / part
        if not current.is_dir():
            break
        chain.append(current)
    return chain


def _chain_is_allowed(rules: WatchRules, base: str) -> bool:
    parts = base.split("/") if base else []
    return not any(rules.prunes_dir("/".join(parts[: i + 1])) for i in range(len(parts)))


def files_in_tree(rules: WatchRules, top: Path) -> list[Path]:
    """Every file below a (new) folder, walked as the watcher would walk it."""
    return files_under(rules, walk_dirs(rules, top))


def files_under(rules: WatchRules, dirs: Iterable[Path]) -> list[Path]:
    """The regular files directly inside each folder (for `debug watches`)."""
    files: list[tuple[str, Callable[[str], Path], str]] = []
    for folder in dirs:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        child = _child_maker(folder)
        files.extend((e.path.replace(os.sep, "\0"), child, e.name) for e in entries if _is_file(e))
    files.sort()  # as Paths sort, segment by segment: NUL sorts before any other character
    return [child(name) for _, child, name in files]


def file_names(folder: Path) -> list[str]:
    """The names of the regular files directly inside `folder`, unsorted (none when it cannot
    be read): for judging a whole folder at once without a Path for each file."""
    try:
        with os.scandir(folder) as entries:
            return [entry.name for entry in entries if _is_file(entry)]
    except OSError:
        return []


def _child_maker(folder: Path) -> Callable[[str], Path]:
    """folder / name, without parsing the folder again for each name: this runs once for every
    file of the tree (60,000 of them take 0.1 s instead of 0.5 s)."""
    make: Callable[[str], Path] | None = getattr(folder, "_make_child_relpath", None)
    return make if make is not None else folder.joinpath


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False
