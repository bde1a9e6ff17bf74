"""`.meshwatch` files: found, and what one says, as frozen values (`configread` reads them).

Pure: reads files, imports no subprocess, signal, watchfiles, rich or typer — nor PyYAML.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_NAME = ".meshwatch"


@dataclass(frozen=True)
class AgentSpec:
    """Per-agent settings from the `agents:` section; `path` adds an agent discovery would miss."""

    name: str
    path: str | None = None
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    watch: tuple[str, ...] = ()
    ready_port: int | None = None
    front: bool | None = None  # None: an MCP server listening on a port is fronted
    reload_strategy: str | None = None  # None: the project's
    line: int | None = field(default=None, compare=False)  # of `path`, for discovery's messages


@dataclass(frozen=True)
class FileConfig:
    """What one `.meshwatch` says; None means the key was not given.

    The pattern lists and `agents` shape the watch rules and discovery, so they are fields; every
    other key of keys.SETTINGS is in `values`, as written, for settings.resolve().
    """

    path: Path | None
    root: Path
    include: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    log_only: tuple[str, ...] = ()
    refresh: tuple[str, ...] | None = None  # None: every project module may be refreshed
    restart: tuple[str, ...] = ()
    agents: tuple[AgentSpec, ...] = field(default_factory=tuple)
    values: Mapping[str, Any] = field(default_factory=dict)

    def given(self, key: str) -> Any:
        """What the file says for `key` (a field or one of `values`), or None."""
        return getattr(self, key) if key in _FIELDS else self.values.get(key)

    def agent(self, name: str) -> AgentSpec | None:
        return next((a for a in self.agents if a.name == name), None)


def find_config(start: Path) -> Path | None:
    """The nearest `.meshwatch` in `start` (a folder, or a file's folder) or any folder above it.

    Whatever the entry is: a folder, a FIFO or a dangling link named `.meshwatch` is found too,
    so that load_config() says what is wrong with it instead of meshdev silently ignoring it."""
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        path = candidate / CONFIG_NAME
        if os.path.lexists(path):
            return path
    return None


def load_config(path: Path) -> FileConfig:
    """Parse and validate `path`; raise UsageError listing every problem found. A text read
    before comes from the cache (`configcache`); the reading is in `configread`, imported only
    when needed: PyYAML costs 20 ms, paid before the first agent is spawned."""
    from meshdev.project import configcache
    from meshdev.project.configtext import read_text

    text = read_text(path)
    known = configcache.recall(path, text)
    if known is not None:
        return known
    from meshdev.project.configread import read_config

    config = read_config(text, path)
    configcache.remember(path, text, config)
    return config


_FIELDS = ("include", "exclude", "log_only", "refresh", "restart", "agents")
