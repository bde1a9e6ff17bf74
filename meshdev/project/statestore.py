"""meshdev's side of agent state: the private folder, the per-project secret, show and clear.

The agents read and write their own state files (they hold the objects); meshdev prepares the
place, hands each agent its file and the secret's path, and lists or removes files on request.
Never unpickles anything.

The place is the project's `.meshdev/` when meshdev can own it: a real folder of the user's,
writable. Otherwise (a read-only project, someone else's project or `.meshdev/`, a `.meshdev`
that is a link) it is a per-user folder, `$XDG_STATE_HOME/meshdev/projects/NAME-HASH`, or failing
that one under the user's runtime folder; when none can be made, state is kept in memory only.
Each step is said once, in a warning.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshdev.runtime import private, statefile

SUFFIX = ".state"
# A file name holds 255 bytes; the longest name derived from a stem is the stem, `.state` and a
# set-aside mark (`.crashed-YYYYmmdd-HHMMSS`, 24 bytes) or a temporary one (`.tmp-PID`).
_MAX_STEM = 200
_HEAD = 120

_CHOSEN: dict[Path, Path | None] = {}  # private_dir -> the place `prepare` chose in this run


@dataclass(frozen=True)
class Prepared:
    place: Path | None  # where state, secret and run files live; None: nowhere (memory only)
    warnings: tuple[str, ...]


def file_stem(agent: str) -> str:
    """The agent's name, or when it cannot be a file name as it is (too long, a `/`, a leading
    dot), a readable head of it and a hash of all of it: every derived name fits 255 bytes."""
    raw = agent.encode("utf-8", "surrogateescape")
    if 0 < len(raw) <= _MAX_STEM and not ({"/", "\0"} & set(agent)) and agent[0] != ".":
        return agent
    head = raw[:_HEAD].decode("utf-8", "ignore").replace("/", "_").replace("\0", "_").lstrip(".")
    import hashlib  # rare, and its OpenSSL costs 5 ms before the first spawn

    return f"{head}~{hashlib.sha256(raw).hexdigest()[:16]}"


@dataclass(frozen=True)
class StateStore:
    private_dir: Path  # the project's .meshdev/

    @property
    def place(self) -> Path | None:
        if self.private_dir in _CHOSEN:
            return _CHOSEN[self.private_dir]
        return next((c for c in _candidates(self.private_dir) if _usable(c)), self.private_dir)

    @property
    def folder(self) -> Path:
        return (self.place or self.private_dir) / "state"

    @property
    def secret_path(self) -> Path:
        return (self.place or self.private_dir) / "secret"

    @property
    def run_folder(self) -> Path | None:
        """Where the agents' start files go; None when meshdev has no private place at all."""
        place = self.place
        return None if place is None else place / "run"

    def file_for(self, agent: str) -> Path:
        return self.folder / f"{file_stem(agent)}{SUFFIX}"

    def prepare(self) -> Prepared:
        """The first place that can be made private (folders 0700, the secret 0600, links and
        broken secrets replaced, temporary files of killed writers removed); remembered."""
        warnings: list[str] = []
        refused: list[str] = []
        for candidate in _candidates(self.private_dir):
            try:
                _make(candidate, warnings)
            except (OSError, private.PrivateError) as exc:
                refused.append(str(exc))
                continue
            _CHOSEN[self.private_dir] = candidate
            if candidate != self.private_dir:
                warnings.insert(
                    0,
                    f"meshdev cannot keep its files in {self.private_dir} ({refused[0]}); "
                    f"state and run files go to {candidate} instead",
                )
            return Prepared(candidate, tuple(warnings))
        _CHOSEN[self.private_dir] = None
        message = (
            f"meshdev has nowhere private to write ({'; '.join(refused)}): state is kept in "
            "memory only, and a restart starts each agent fresh"
        )
        return Prepared(None, (message, *warnings))

    def set_aside(self, agent: str, why: str) -> Path | None:
        path = self.file_for(agent)
        if self.place is None or private.kind_of(str(path)) is None:
            return None
        try:
            return Path(statefile.set_aside(str(path), why))
        except OSError:
            return None

    def describe(self, agent: str | None = None) -> list[dict[str, Any]]:
        """One entry per state file: its keys (type, size) and age, or why it is unusable."""
        try:
            names = sorted(os.listdir(self.folder))
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            problem = f"cannot read {self.folder}: {exc.strerror}"
            return [
                {
                    "agent": agent or "(all)",
                    "file": str(self.folder),
                    "bytes": 0,
                    "problem": problem,
                }
            ]
        files = [self.folder / n for n in names if n.endswith(SUFFIX)]
        wanted = [f for f in files if agent is None or f.stem == file_stem(agent)]
        return [self._describe_file(path) for path in wanted]

    def _describe_file(self, path: Path) -> dict[str, Any]:
        entry: dict[str, Any] = {"agent": path.stem, "file": str(path), "bytes": 0}
        try:
            entry["bytes"] = path.lstat().st_size
            data = statefile.read(str(path)) or b""
            header, _ = statefile.verify(data, self._secret())
        except (statefile.StateError, OSError, ValueError) as exc:
            entry["problem"] = str(exc)
            return entry
        entry["agent"] = str(header.get("agent") or path.stem)
        entry["age_seconds"] = round(time.time() - float(header.get("time", 0)), 1)
        entry["python"] = header.get("python")
        entry["keys"] = header.get("keys", {})
        return entry

    def clear(self, agent: str | None = None) -> list[Path]:
        """Remove the state files (and the set-aside ones) of one agent or of all."""
        pattern = f"{file_stem(agent)}{SUFFIX}*" if agent else f"*{SUFFIX}*"
        removed = []
        for path in sorted(self.folder.glob(pattern)):
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
        return removed

    def _secret(self) -> bytes:
        return statefile.read_secret(str(self.secret_path))


def _candidates(private_dir: Path) -> Iterator[Path]:
    """The project's own folder, then the user's: the others only when asked for (finding them
    imports hashlib and tempfile, before the first spawn)."""
    yield private_dir
    import hashlib

    root = private_dir.parent
    label = f"{root.name[:40] or 'root'}-{hashlib.sha256(str(root).encode()).hexdigest()[:16]}"
    home = os.path.expanduser("~")
    state_home = os.environ.get("XDG_STATE_HOME") or os.path.join(home, ".local", "state")
    yield Path(state_home) / "meshdev" / "projects" / label
    yield Path(private.user_runtime_dir()) / "projects" / label


def _usable(place: Path) -> bool:
    return (
        private.kind_of(str(place)) == "dir"
        and private.owned(str(place))
        and os.access(place, os.W_OK | os.X_OK)
    )


def _make(place: Path, warnings: list[str]) -> None:
    if place.name != ".meshdev":  # a per-user place: its parents are made as needed
        os.makedirs(place.parent.parent.parent, exist_ok=True)
        private.ensure_dir(str(place.parent.parent))
        private.ensure_dir(str(place.parent))
    private.ensure_dir(str(place))
    for sub in ("state", "run"):
        _replace_odd(place / sub, "a private folder", warnings)
        private.ensure_dir(str(place / sub))
    _ensure_secret(place / "secret", warnings)
    _remove_leftovers(place / "state")


def _replace_odd(path: Path, what: str, warnings: list[str]) -> None:
    """A link (or a file where a folder belongs) inside meshdev's own place goes: followed, it
    would put private files elsewhere and chmod someone else's folder."""
    kind = private.kind_of(str(path))
    if kind == "link":
        target = os.readlink(path)
        path.unlink()
        warnings.append(f"{path} was a symbolic link (to {target}); replaced it with {what}")
    elif kind in ("file", "other"):
        moved = statefile.set_aside(str(path), "invalid")
        warnings.append(f"{path} was not a folder: set aside as {moved}")


def _ensure_secret(path: Path, warnings: list[str]) -> None:
    problem = _secret_problem(path)
    if problem is None:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        try:
            os.fchmod(fd, 0o600)  # permissions repaired if loosened
        finally:
            os.close(fd)
        return
    if problem:
        moved = statefile.set_aside(str(path), "invalid")
        warnings.append(
            f"{path} was {problem}: set aside as {Path(moved).name} and replaced by a new secret "
            "(state signed with the old one is set aside when an agent reads it)"
        )
    with os.fdopen(private.create_file(str(path)), "wb") as handle:
        handle.write(os.urandom(statefile.SECRET_BYTES))
        handle.flush()
        os.fsync(handle.fileno())


def _secret_problem(path: Path) -> str | None:
    """None: a good secret; '': none yet; else what is wrong with it."""
    kind = private.kind_of(str(path))
    if kind is None:
        return ""
    if kind == "link":
        return "a symbolic link"
    if kind != "file":
        return "not a regular file"
    try:
        data = private.read_file(str(path)) or b""
    except private.PrivateError as exc:
        return str(exc).removeprefix(f"{path} ")
    if len(data) < statefile.SECRET_BYTES:
        return f"{'empty' if not data else 'too short'} ({len(data)} bytes)"
    return None


def _remove_leftovers(folder: Path) -> None:
    """Temporary files of writers that were killed in the middle of a save (`kill -9`)."""
    for name in os.listdir(folder):
        pid = statefile.leftover_writer(name)
        if pid is not None and not statefile.writer_alive(pid):
            with contextlib.suppress(OSError):
                (folder / name).unlink()
