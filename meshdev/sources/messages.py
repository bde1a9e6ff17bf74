"""What reaches the supervisor's one loop from other threads: plain data, a leaf of the package.

Agents' reports arrive decoded (see `meshdev/processes/reports.py`), one class per report kind of
`meshdev/runtime/protocol.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RawBatch = list[tuple[str, Path]]  # (added | modified | deleted, path)
Reply = Callable[[str], None]  # how a command is answered


@dataclass(frozen=True)
class FilesReport:
    """Project files the agent loaded as modules, opened for reading, or wrote."""

    loaded: tuple[Path, ...] = ()
    opened: tuple[Path, ...] = ()
    written: tuple[Path, ...] = ()


@dataclass(frozen=True)
class ReadyReport:
    """The agent is serving: it called `meshdev.ready()`, or (an MCP server) answered
    `initialize`."""

    how: str = "meshdev.ready()"
    held_calls: int = 0  # calls an MCP front held while this process started ...
    held_seconds: float = 0.0  # ... and the longest of those waits


@dataclass(frozen=True)
class RestoredReport:
    """The state keys handed over to the agent at start."""

    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class ListeningReport:
    """The agent listens where its code asked (host, port), really on the private `actual` port
    (meshdev holds the asked one: see runtime/ports.py)."""

    host: str
    port: int
    actual: int


@dataclass(frozen=True)
class StateReport:
    """A state save or a state warning, told as the event `kind` with the agent's own fields."""

    kind: str  # "state_saved" | "state_warning"
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RefreshReport:
    """reload_strategy refresh: the runtime can refresh (`pid` answers the refresh signal), did
    (`modules`, in reload order), or did not (`error`; `restart`: the process must be replaced,
    else it still runs its previous code untouched)."""

    pid: int | None = None
    modules: tuple[str, ...] = ()
    seconds: float = 0.0
    error: str | None = None
    module: str | None = None
    file: Path | None = None
    line: int | None = None
    restart: bool = False

    @property
    def offered(self) -> bool:
        return self.pid is not None


AgentReport = (
    FilesReport | ReadyReport | RestoredReport | ListeningReport | StateReport | RefreshReport
)


@dataclass(frozen=True)
class Files:
    batch: RawBatch


@dataclass(frozen=True)
class Report:
    agent: str
    generation: int
    report: AgentReport


@dataclass(frozen=True)
class Exit:
    agent: str
    generation: int
    returncode: int


@dataclass(frozen=True)
class Signal:
    signum: int


@dataclass(frozen=True)
class Quit:
    """Nothing left to serve (the MCP client closed meshdev's stdin): stop with this code."""

    code: int


@dataclass(frozen=True)
class WatchError:
    message: str


@dataclass(frozen=True)
class Command:
    text: str
    reply: Reply


Message = Files | Report | Exit | Signal | Quit | WatchError | Command
