"""Every seam between the supervisor's loop and the outside world, in one place.

The loop (`meshdev/supervise/`) knows processes and file watches only through these protocols;
`meshdev/processes/` and `meshdev/sources/` implement them for real, and `tests/histories/`
implements them with fakes, so the loop runs scripted histories without starting a process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # imported before the first spawn (processes/early.py): only what it needs
    from meshdev.sources.messages import AgentReport, RawBatch

Clock = Callable[[], float]  # monotonic seconds
LineSink = Callable[[str, str, str], None]  # agent, stream ("out" | "err"), text
LinesSink = Callable[[str, str, Sequence[str]], None]  # agent, stream, lines in order
ReportSink = Callable[[str, int, "AgentReport"], None]  # agent, generation, report
ExitSink = Callable[[str, int, int], None]  # agent, generation, return code
ProtocolSink = Callable[[str, int, bytes], None]  # agent, generation, one line of its stdout
BatchSink = Callable[["RawBatch"], None]
ErrorSink = Callable[[str], None]


@dataclass(frozen=True)
class SpawnRequest:
    agent: str
    generation: int
    script: Path
    args: tuple[str, ...]
    env: Mapping[str, str]  # the agent's own variables and the runtime's channel
    cwd: Path
    speaks_mcp: bool = False  # stdin and stdout carry MCP's JSON-RPC (to and from the front)
    warm: bool = False  # may be forked from a warm template (reload_strategy: warm)


@dataclass(frozen=True)
class Sinks:
    """Where a process's output lines, reports and exit go (called from its reader threads)."""

    line: LineSink
    report: ReportSink
    exit: ExitSink
    protocol: ProtocolSink | None = None  # for an agent that speaks MCP on its stdout
    lines: LinesSink | None = None  # batches of lines, where `line` would be called for each

    def batches(self) -> LinesSink:
        """Where batches of output lines go: `lines`, or `line` once per line."""
        if self.lines is not None:
            return self.lines
        line = self.line

        def each(agent: str, stream: str, lines: Sequence[str]) -> None:
            for text in lines:
                line(agent, stream, text)

        return each


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

    def send(self, data: bytes) -> bool:
        """Write to its stdin (an MCP server's); False when it cannot take it."""
        ...

    def close_input(self) -> bool:
        """Close its stdin (the polite stop of an MCP server); False when it has none."""
        ...

    def input_fd(self) -> int | None:
        """A duplicate of its stdin's descriptor, the caller's to close; None without one."""
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

    def ask_refresh(self, pid: int) -> bool:
        """Send the refresh signal to an agent's own process (the pid its runtime reported);
        False when it is gone."""
        ...


@runtime_checkable
class TellsAfterStart(Protocol):
    """A spawner that keeps what a process did before the loop asked for it (processes/early.py)
    until its start has been told, so that nothing it printed comes before its start."""

    def start_told(self, handle: AgentHandle) -> None: ...


class Front(Protocol):
    """What stands between MCP clients and an MCP server agent, told of each process's life."""

    def attach(self, report: ReportSink) -> None:
        """Where to say a process is ready (it answered `initialize`)."""
        ...

    def started(self, handle: AgentHandle) -> bool:
        """A new process: True when the front will tell when it is ready."""
        ...

    def in_flight(self, agent: str) -> int:
        """Calls its current process is answering."""
        ...

    def draining(self, agents: Sequence[str], grace_seconds: float) -> None:
        """These agents are about to stop: let their calls in flight finish (bounded)."""
        ...

    def stopped(self, agents: Sequence[str]) -> None: ...

    def ended(self, agent: str, generation: int, returncode: int | None) -> None:
        """A process exited without being asked to (None: it was not ready in time)."""
        ...

    def server_line(self, agent: str, generation: int, line: bytes) -> None: ...

    def listening(self, agent: str, generation: int, host: str, port: int, actual: int) -> None:
        """A process listens on `actual` for what its code asked to be `host:port`."""
        ...

    def refreshed(self, agent: str) -> None:
        """Its process now runs new code (reload_strategy refresh): clients list again."""
        ...


class NoFront:
    """For agents nobody stands in front of."""

    def attach(self, report: ReportSink) -> None:
        pass

    def started(self, handle: AgentHandle) -> bool:
        return False

    def in_flight(self, agent: str) -> int:
        return 0

    def draining(self, agents: Sequence[str], grace_seconds: float) -> None:
        pass

    def stopped(self, agents: Sequence[str]) -> None:
        pass

    def ended(self, agent: str, generation: int, returncode: int | None) -> None:
        pass

    def server_line(self, agent: str, generation: int, line: bytes) -> None:
        pass

    def listening(self, agent: str, generation: int, host: str, port: int, actual: int) -> None:
        pass

    def refreshed(self, agent: str) -> None:
        pass


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
