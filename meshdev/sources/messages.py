"""What reaches the supervisor's one loop from other threads, and the options it runs with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from meshdev.project.settings import Flags
from meshdev.sources.commands import Reply
from meshdev.sources.files import RawBatch


@dataclass(frozen=True)
class Files:
    batch: RawBatch


@dataclass(frozen=True)
class Report:
    agent: str
    generation: int
    message: dict[str, Any]


@dataclass(frozen=True)
class Exit:
    agent: str
    generation: int
    returncode: int


@dataclass(frozen=True)
class Signal:
    signum: int


@dataclass(frozen=True)
class WatchError:
    message: str


@dataclass(frozen=True)
class Command:
    text: str
    reply: Reply


Message = Files | Report | Exit | Signal | WatchError | Command


@dataclass(frozen=True)
class Options:
    env: Mapping[str, str]
    flags: Flags
    own_files: frozenset[Path] = frozenset()  # meshdev's own outputs (--events): never a trigger
    commands: IO[str] | None = None  # meshdev's stdin: `r`, `r NAME`, `rs`
