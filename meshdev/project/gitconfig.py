"""The little of git's layout and configuration that decides what git ignores: which work tree a
folder is in, and core.excludesFile and core.ignorecase. Pure apart from reading files.

Discovery is git's: the nearest folder upward with a `.git` folder, or a `.git` file naming one
(`gitdir: ...`, as in submodules and linked worktrees), that holds a HEAD; it stops at a
filesystem boundary (unless GIT_DISCOVERY_ACROSS_FILESYSTEM) and below GIT_CEILING_DIRECTORIES.
Configuration is read in git's order, a later value winning: the system file (unless
GIT_CONFIG_NOSYSTEM; GIT_CONFIG_SYSTEM, else /etc/gitconfig), the global ones (GIT_CONFIG_GLOBAL,
else $XDG_CONFIG_HOME/git/config then ~/.gitconfig), the repository's config (and
config.worktree when extensions.worktreeConfig is on), then GIT_CONFIG_COUNT/KEY_n/VALUE_n.
`include.path` is followed; `includeIf` sections are not.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

_TRUE = {"true", "yes", "on"}
_FALSE = {"false", "no", "off", ""}


@dataclass(frozen=True)
class Repo:
    top: Path  # the top folder of the work tree
    gitdir: Path  # its git folder
    common: Path  # where config and info/exclude live (not gitdir in a linked worktree)


def repo_at(folder: Path) -> Repo | None:
    """The repository whose work tree starts at `folder`, if one does."""
    dotgit = folder / ".git"
    try:
        if dotgit.is_dir():
            gitdir = dotgit
        elif dotgit.is_file():
            text = dotgit.read_text("utf-8", "surrogateescape").strip()
            if not text.startswith("gitdir:"):
                return None
            gitdir = folder / text[len("gitdir:") :].strip()
        else:
            return None
        common = gitdir
        if (gitdir / "commondir").is_file():
            common = gitdir / (gitdir / "commondir").read_text("utf-8", "surrogateescape").strip()
        if (gitdir / "HEAD").is_file() and (common / "objects").is_dir():
            return Repo(folder, gitdir, common)
    except OSError:
        pass
    return None


def find_repo(start: Path, env: Mapping[str, str]) -> Repo | None:
    ceilings = {Path(p) for p in env.get("GIT_CEILING_DIRECTORIES", "").split(":") if p}
    across = to_bool(env.get("GIT_DISCOVERY_ACROSS_FILESYSTEM", "false"))
    try:
        device = start.stat().st_dev
        for folder in (start, *start.parents):
            if folder in ceilings or (not across and folder.stat().st_dev != device):
                return None
            found = repo_at(folder)
            if found is not None:
                return found
    except OSError:
        pass
    return None


def to_bool(value: str | None) -> bool:
    if value is None:
        return True  # `[core] ignorecase` alone means true
    lowered = value.strip().lower()
    if lowered in _TRUE or lowered in _FALSE:
        return lowered in _TRUE
    try:
        return int(lowered, 0) != 0
    except ValueError:
        return False


def ignore_settings(
    repo: Repo | None, top: Path, env: Mapping[str, str]
) -> tuple[bool, list[Path]]:
    """core.ignorecase, and the exclude files git reads in the order it consults them:
    info/exclude, then core.excludesFile (default $XDG_CONFIG_HOME/git/ignore)."""
    values = configuration(repo, env)
    files = [repo.common / "info" / "exclude"] if repo is not None else []
    given = values.get("core.excludesfile", "\0")
    if given is None or given == "\0":
        xdg = _xdg_home(env)
        files += [xdg / "git" / "ignore"] if xdg is not None else []
    elif given:
        files.append(top / _expand(given, env))
    return to_bool(values.get("core.ignorecase", "false")), files


def configuration(repo: Repo | None, env: Mapping[str, str]) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    for path in _global_files(env):
        _read(path, values, env, 0)
    if repo is not None:
        _read(repo.common / "config", values, env, 0)
        if to_bool(values.get("extensions.worktreeconfig", "false")):
            _read(repo.gitdir / "config.worktree", values, env, 0)
    try:
        for n in range(int(env.get("GIT_CONFIG_COUNT", "0"))):
            values[_key(env[f"GIT_CONFIG_KEY_{n}"])] = env.get(f"GIT_CONFIG_VALUE_{n}", "")
    except (KeyError, ValueError):
        pass  # git refuses to run then; the files read so far still say something
    return values


def _global_files(env: Mapping[str, str]) -> list[Path]:
    files = []
    if not to_bool(env.get("GIT_CONFIG_NOSYSTEM", "false")):
        files.append(Path(env.get("GIT_CONFIG_SYSTEM", "/etc/gitconfig")))
    if "GIT_CONFIG_GLOBAL" in env:
        return [*files, Path(env["GIT_CONFIG_GLOBAL"])]
    xdg = _xdg_home(env)
    files += [xdg / "git" / "config"] if xdg is not None else []
    files += [Path(env["HOME"]) / ".gitconfig"] if env.get("HOME") else []
    return files


def _xdg_home(env: Mapping[str, str]) -> Path | None:
    if env.get("XDG_CONFIG_HOME"):
        return Path(env["XDG_CONFIG_HOME"])
    return Path(env["HOME"]) / ".config" if env.get("HOME") else None


def _expand(value: str, env: Mapping[str, str]) -> str:
    if value.startswith("~/") and env.get("HOME"):
        return env["HOME"] + value[1:]
    return os.path.expanduser(value) if value.startswith("~") else value


def _key(name: str) -> str:
    """Section and variable names are case-insensitive; a subsection is not."""
    section, _, variable = name.rpartition(".")
    first, dot, sub = section.partition(".")
    return f"{first.lower()}{dot}{sub}.{variable.lower()}"


def _read(path: Path, values: dict[str, str | None], env: Mapping[str, str], depth: int) -> None:
    try:
        text = path.read_bytes().decode("utf-8", "surrogateescape")
    except OSError:
        return
    for key, value in parse(text):
        values[key] = value
        if key == "include.path" and value and depth < 10:
            _read(path.parent / _expand(value, env), values, env, depth + 1)


def parse(text: str) -> Iterator[tuple[str, str | None]]:
    """(section[.subsection].variable, value) in file order; None for a bare `variable`."""
    section, i, n = "", 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n":
            i += 1
        elif c in "#;":
            i = _line_end(text, i)
        elif c == "[":
            end = text.find("]", i)
            if end < 0:
                return
            section = _section(text[i + 1 : end])
            i = end + 1
        elif c.isascii() and c.isalpha():
            j = i
            while j < n and ((text[j].isascii() and text[j].isalnum()) or text[j] == "-"):
                j += 1
            name = f"{section}.{text[i:j].lower()}"
            while j < n and text[j] in " \t":
                j += 1
            if j < n and text[j] == "=":
                value, i = _value(text, j + 1)
                yield name, value
            else:
                i = j
                yield name, None
        else:
            return  # a line git refuses: it stops reading there too


def _section(header: str) -> str:
    name, _, sub = header.partition(" ")
    sub = sub.strip()
    if sub.startswith('"') and sub.endswith('"') and len(sub) >= 2:
        unescaped = sub[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        return f"{name.lower()}.{unescaped}"
    return header.strip().lower()


def _line_end(text: str, i: int) -> int:
    end = text.find("\n", i)
    return len(text) if end < 0 else end + 1


def _value(text: str, i: int) -> tuple[str, int]:
    out: list[str] = []
    quote = comment = False
    spaces = 0
    escapes = {"t": "\t", "b": "\b", "n": "\n", "\\": "\\", '"': '"'}
    while i < len(text):
        c = text[i]
        i += 1
        if c == "\n":
            break
        if comment:
            continue
        if c in " \t\r" and not quote:  # git's isspace()
            spaces += 1 if out else 0
            continue
        if not quote and c in ";#":
            comment = True
            continue
        out += [" "] * spaces
        spaces = 0
        if c == "\\" and i < len(text):
            following = text[i]
            i += 1
            if following != "\n":
                out.append(escapes.get(following, following))
        elif c == '"':
            quote = not quote
        else:
            out.append(c)
    return "".join(out), i
