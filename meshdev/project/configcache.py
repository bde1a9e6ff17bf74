"""A `.meshwatch` read before, kept as JSON in the project's private folder (`.meshdev/`), so that
a start whose file has not changed imports no PyYAML (20 ms, paid before the first spawn).

Exact or nothing: the one entry is keyed by the file's path and whole text and by meshdev's
reading code (its version, and the size and time of each module that reads), and holds what the
reading returned; it is written only when reading it back gives an equal value. Written only where
meshdev already keeps its private files (the user's own folder, 0700, never through a link);
anything unreadable, foreign or stale is a miss, never an error.

Pure: reads and writes one private file, imports no subprocess, signal, watchfiles, rich or typer.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from meshdev._version import __version__
from meshdev.project.config import AgentSpec, FileConfig
from meshdev.project.nearby import PRIVATE
from meshdev.runtime import private

CACHE_NAME = "meshwatch.json"
FORMAT = 1  # of the entry itself
# Every module whose change could change what a .meshwatch reads as.
_READERS = ("config", "configread", "configtext", "readers", "agentkeys", "keys", "yamlsafe")
_HERE = Path(__file__).parent


def recall(path: Path, text: str) -> FileConfig | None:
    """What `path` with this `text` was read as, or None."""
    key, place = _key(path, text), path.parent / PRIVATE
    if key is None:
        return None
    try:
        private.ensure_dir(str(place), create=False)
        data = private.read_file(str(place / CACHE_NAME))
        entry = json.loads(data) if data is not None else None
        if not isinstance(entry, dict) or entry.get("key") != key:
            return None
        return _decoded(entry["config"], path)
    except (private.PrivateError, OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def remember(path: Path, text: str, config: FileConfig) -> None:
    """Keep `config` for the next start, where meshdev already keeps its files."""
    key, place = _key(path, text), path.parent / PRIVATE
    if key is None or private.kind_of(str(place)) != "dir":
        return
    try:
        encoded = json.dumps({"key": key, "config": _encoded(config)})
        again = _decoded(json.loads(encoded)["config"], path)
    except (TypeError, ValueError):
        return  # a value JSON does not hold as it is
    if again != config or _lines(again) != _lines(config):
        return
    with contextlib.suppress(OSError, private.PrivateError):
        private.ensure_dir(str(place), create=False)
        _replace(place / CACHE_NAME, encoded.encode())


def _key(path: Path, text: str) -> str | None:
    stamps = []
    for name in _READERS:
        try:
            info = os.stat(_HERE / f"{name}.py")
        except OSError:
            return None  # meshdev's own files cannot be told apart: read the file each time
        stamps.append(f"{name}:{info.st_size}:{info.st_mtime_ns}")
    # The key is all of it, not a digest: hashlib's OpenSSL costs 5 ms before the first spawn.
    return "\0".join((str(FORMAT), __version__, *stamps, str(path), text))


def _encoded(config: FileConfig) -> dict[str, Any]:
    fields = {k: v for k, v in vars(config).items() if k not in ("path", "root")}
    fields["agents"] = [vars(agent) for agent in config.agents]
    fields["values"] = dict(config.values)
    return fields


def _decoded(fields: dict[str, Any], path: Path) -> FileConfig:
    """Every list read back as the tuple it was: a FileConfig holds no lists."""
    agents = tuple(AgentSpec(**_tuples(agent)) for agent in fields["agents"])
    values = _tuples(fields["values"])
    rest = {k: _tuples(v) for k, v in fields.items() if k not in ("agents", "values")}
    return FileConfig(path=path, root=path.parent, agents=agents, values=values, **rest)


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(item) for item in value)
    if isinstance(value, dict):
        return {key: _tuples(item) for key, item in value.items()}
    return value


def _lines(config: FileConfig) -> list[int | None]:
    """Not part of an AgentSpec's equality, but of what discovery tells."""
    return [agent.line for agent in config.agents]


def _replace(target: Path, data: bytes) -> None:
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temp.unlink()  # left by a killed meshdev
    try:
        with os.fdopen(private.create_file(str(temp)), "wb") as handle:
            handle.write(data)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
