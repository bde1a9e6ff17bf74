"""Read every ignore source git would read for a project, walking the tree once without descending
into folders git (or meshdev's built-in rules) excludes. Pure apart from reading the tree.

The sources, as `git status` reads them for the work tree the project is in:
- the .gitignore of every folder from the top of the work tree down to the project root and of
  every folder below it that is not excluded (a symlinked .gitignore is not read: git refuses
  it); a nested repository brings its own .gitignore files and exclude files;
- `$GIT_DIR/info/exclude`, then core.excludesFile (default `$XDG_CONFIG_HOME/git/ignore`);
- core.ignorecase: patterns and names compared without regard to ASCII case.
Outside a work tree the project root stands for the top of one, with the global excludes file.

Each file is compiled once per content: a reload after one .gitignore changed reads the others
again but compiles only the changed one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from meshdev.project.gitconfig import Repo, find_repo, ignore_settings, repo_at
from meshdev.project.ignorelist import PatternList, byte_string, forget_shapes, shown
from meshdev.project.ignores import GITIGNORE, GitIgnores, Source, Stack, compile_list

_compiled: dict[tuple[str, bool], tuple[bytes, PatternList]] = {}
_CACHE_LIMIT = 20_000


def forget() -> None:
    """Forget every file compiled, as a process that just started knows none (benchmarks measure
    that)."""
    _compiled.clear()
    forget_shapes()


def load(
    root: Path, pruned: Callable[[str], bool], env: Mapping[str, str] | None = None
) -> GitIgnores:
    env = os.environ if env is None else env
    repo = find_repo(root, env)
    top = repo.top if repo is not None else root
    stack = Stack()
    casefold = _add_repo(stack, "", repo, top, env)
    prefix = byte_string(root.relative_to(top).as_posix()) if top != root else ""
    if _read_above(stack, top, prefix, casefold):
        _walk(stack, root, prefix, casefold, pruned, env)
    return GitIgnores(stack=stack, prefix=prefix)


def _add_repo(stack: Stack, key: str, repo: Repo | None, top: Path, env: Mapping[str, str]) -> bool:
    casefold, files = ignore_settings(repo, top, env)
    sources = []
    for path in files:
        patterns = _compile(path, casefold, follow=True)
        if patterns is not None:
            sources.append(Source(str(path), patterns))
    stack.add_repo(key, sources)
    return casefold


def _read_above(stack: Stack, top: Path, prefix: str, casefold: bool) -> bool:
    """The .gitignore files from the top down to the project root's parent; False when one of
    those folders, hence the whole project, is excluded."""
    if not prefix:
        return True
    parts = prefix.split("/")
    folder = top
    for depth in range(len(parts)):
        key = "/".join(parts[:depth])
        if key and stack.folder_hit(key) is not None:
            return False
        _add_gitignore(stack, key, folder, casefold, "../" * (len(parts) - depth), False)
        folder = folder / shown(parts[depth])
    return stack.folder_hit(prefix) is None


def _walk(
    stack: Stack,
    root: Path,
    prefix: str,
    casefold: bool,
    pruned: Callable[[str], bool],
    env: Mapping[str, str],
) -> None:
    todo: list[tuple[str, str, bool]] = [("", str(root), casefold)]  # no Path per folder
    while todo:
        rel, folder, fold = todo.pop()
        key = f"{prefix}/{byte_string(rel)}".strip("/") if prefix else byte_string(rel)
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        has_git, has_ignore, subfolders = _kinds(entries)
        if rel and has_git:
            nested = repo_at(Path(folder))
            if nested is not None:
                fold = _add_repo(stack, key, nested, Path(folder), env)
        if has_ignore:
            _add_gitignore(stack, key, folder, fold, f"{rel}/" if rel else "", True)
        for entry in subfolders:
            child = f"{rel}/{entry.name}" if rel else entry.name
            child_key = f"{key}/{byte_string(entry.name)}" if key else byte_string(entry.name)
            if not pruned(child) and stack.folder_hit(child_key) is None:
                todo.append((child, entry.path, fold))


def _kinds(entries: list[os.DirEntry[str]]) -> tuple[bool, bool, list[os.DirEntry[str]]]:
    """(a `.git` is there, a regular `.gitignore` is there, the sub-folders but `.git`), in one
    pass: this looks at every file of the tree."""
    has_git = has_ignore = False
    subfolders = []
    for entry in entries:
        name = entry.name
        if name == ".git":
            has_git = True
        elif name == GITIGNORE and _is_file(entry):
            has_ignore = True
        elif _is_dir(entry):
            subfolders.append(entry)
    return has_git, has_ignore, subfolders


def _add_gitignore(
    stack: Stack, key: str, folder: Path | str, casefold: bool, shown_as: str, regular: bool
) -> None:
    """`regular`: the walk already saw a regular file (no symlink) there."""
    patterns = _compile(os.path.join(folder, GITIGNORE), casefold, follow=regular)
    if patterns is not None:
        stack.add_folder(key, Source(shown_as + GITIGNORE, patterns))


def _compile(path: Path | str, casefold: bool, follow: bool) -> PatternList | None:
    try:
        if not follow and os.path.islink(path):
            return None  # git opens .gitignore files with O_NOFOLLOW
        with open(path, "rb") as file:
            data = file.read()
    except OSError:
        return None  # none here, or unreadable: git warns and goes on without it
    key = (os.fspath(path), casefold)
    known = _compiled.get(key)
    if known is not None and known[0] == data:
        return known[1]
    if len(_compiled) > _CACHE_LIMIT:
        _compiled.clear()
    patterns = compile_list(data, casefold)
    _compiled[key] = (data, patterns)
    return patterns


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file(follow_symlinks=False)
    except OSError:
        return False


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False
