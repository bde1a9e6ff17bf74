"""Every seam between the supervisor's loop and the outside world, in one place.

The loop (`meshdev/supervise/`) knows processes and file watches only through these protocols;
`meshdev/processes/` and `meshdev/sources/` implement them for real, and `tests/histories/`
implements them with fakes, so the loop runs scripted histories without starting a process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from meshdev.sources.messages import AgentReport, RawBatch

Clock = Callable[[], float]  # monotonic seconds
LineSink = Callable[[str, str, str], None]  # agent, stream ("out" | "err"), text
ReportSink = Callable[[str, int, AgentReport], None]  # agent, generation, report
ExitSink = Callable[[str, int, int], None]  # agent, generation, return code
BatchSink = Callable[[RawBatch], None]
ErrorSink = Callable[[str], None]


@dataclass(frozen=True)
class SpawnRequest:
    agent: str
    generation: int
    script: Path
    args: tuple[str, ...]
    env: Mapping[str, str]  # the agent's own variables and the runtime's channel
    cwd: Path


@dataclass(frozen=True)
class Sinks:
    """Where a process's output lines, reports and exit go (called from its reader threads)."""

    line: LineSink
    report: ReportSink
    exit: ExitSink


@dataclass(frozen=True)
class StopResult:
    agent: str
    pid: int
    returncode: int | None
    killed: bool  # SIGKILL was needed
    seconds: float


class AgentHandle(Protocol):
    """One started process of an agent."""

    agent: str
    generation: int
    started: float  # monotonic
    returncode: int | None  # set once it exited

    @property
    def pid(self) -> int: ...

    def has_exited(self) -> bool: ...

    def still_there(self) -> bool:
        """Still running, or its group still has members (a grandchild)."""
        ...


class Spawner(Protocol):
    """Starts agents, and is the only one that signals or probes them."""

    def spawn(self, request: SpawnRequest, sinks: Sinks) -> AgentHandle: ...

    def stop(self, handles: Sequence[AgentHandle], grace_seconds: float) -> list[StopResult]:
        """Stop every group at once (SIGTERM, grace, SIGKILL); return when each is gone."""
        ...

    def kill_now(self, handles: Sequence[AgentHandle]) -> None:
        """No more waiting (a second Ctrl-C)."""
        ...

    def clean_up(self, handle: AgentHandle) -> None:
        """After an agent exited on its own: nothing it spawned may outlive it."""
        ...

    def port_open(self, port: int) -> bool: ...

    def memory(self, pid: int) -> int | None:
        """Resident bytes of one process, or None when unknown."""
        ...


@dataclass(frozen=True)
class WatchOptions:
    polling: bool
    poll_delay_ms: int = 500
    # How long the watcher may group a continuous stream before handing it over. Must stay well
    # below meshdev's quiet time, or a long storm looks quiet between two hand-overs.
    group_ms: int = 200


class FileWatch(Protocol):
    """Watches an exact set of folders, each non-recursively; `arm` replaces the set."""

    def arm(self, dirs: Sequence[Path]) -> None: ...

    def close(self) -> None: ...


WatcherFactory = Callable[[BatchSink, ErrorSink, WatchOptions], FileWatch]
