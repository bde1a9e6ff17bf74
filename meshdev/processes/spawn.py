"""Agent processes: each in its own session and process group, its output relayed line by line and
its reports decoded, stopped as a whole tree with a bounded wait.

On Linux the pid meshdev starts becomes the agent's keeper (`meshdev/runtime/keeper.py`), which
says so on the report pipe; it is asked, not the group, to stop everything below it.

With `processes/stop.py` and `processes/probe.py`, the only place that spawns, signals and probes.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import IO, TYPE_CHECKING, Any, Protocol

from meshdev.interfaces import (
    AgentHandle,
    ExitSink,
    LinesSink,
    ProtocolSink,
    ReportSink,
    Sinks,
    SpawnRequest,
    StopResult,
)
from meshdev.processes import probe, relay, stop
from meshdev.processes.interpreter import start_interpreter
from meshdev.runtime import protocol

if TYPE_CHECKING:
    from meshdev.processes.spare import Spares


class Popen(Protocol):
    """What meshdev uses of a started process."""

    pid: int
    stdin: IO[bytes] | None
    stdout: IO[bytes] | None
    stderr: IO[bytes] | None

    def wait(self, timeout: float | None = None) -> int: ...


@dataclass
class AgentProcess:
    agent: str
    generation: int
    popen: Popen  # a subprocess.Popen, or a processes.forked.ForkedProcess
    lifeline_fd: int  # meshdev's end of the lifeline; closed when the agent exits
    started: float
    grace: float = 5.0  # the agent's stop grace: clean-up after a crash waits as long
    exited: threading.Event = field(default_factory=threading.Event)
    returncode: int | None = None
    kept_pid: int | None = None  # the agent's own pid, once its keeper announced it
    handover_fd: int | None = None  # ours to write the handover on (runtime/handover.py)
    _handover_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def kept(self) -> bool:
        """A keeper runs at `pid` and still answers: signal it, not the group."""
        return self.kept_pid is not None and not self.exited.is_set()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def has_exited(self) -> bool:
        return self.exited.is_set()

    def wait_exit(self, timeout: float) -> bool:
        return self.exited.wait(timeout)

    def still_there(self) -> bool:
        return not self.exited.is_set() or stop.group_alive(self.pid)

    def close_input(self) -> bool:
        """Close its stdin (an MCP server's); False when it has none of ours."""
        stdin = self.popen.stdin
        if stdin is None or stdin.closed:
            return False
        with contextlib.suppress(OSError):
            stdin.close()
        return True

    def input_fd(self) -> int | None:
        stdin = self.popen.stdin
        if stdin is None or stdin.closed:
            return None
        try:
            stdin.flush()
            return os.dup(stdin.fileno())
        except (OSError, ValueError):
            return None

    def hand_over(self) -> bool:
        """Tell a process started beside its predecessor that the predecessor is gone; False
        when it waits for no handover, or can no longer hear it."""
        fd = self.drop_handover(close=False)
        if fd is None:
            return False
        try:
            os.write(fd, protocol.HANDED_OVER)
        except OSError:
            return False  # it exited meanwhile: its exit is told
        finally:
            os.close(fd)
        return True

    def drop_handover(self, close: bool = True) -> int | None:
        """Take the handover descriptor (once: the exit and the handover may race)."""
        with self._handover_lock:
            fd, self.handover_fd = self.handover_fd, None
        if fd is not None and close:
            os.close(fd)
        return fd

    def send(self, data: bytes) -> bool:
        stdin = self.popen.stdin
        if stdin is None:
            return False
        try:
            stdin.write(data)
            stdin.flush()
        except (OSError, ValueError):
            return False  # it is exiting: its exit will be told
        return True


class SubprocessSpawner:
    """A fresh interpreter per start, running SCRIPT ARGS through meshdev's runtime boot."""

    def __init__(self, spares: Spares | None = None) -> None:
        self._spares = spares

    def spawn(self, request: SpawnRequest, sinks: Sinks) -> AgentProcess:
        spare = self._spares.take(request) if self._spares is not None else None
        if spare is not None:
            process = AgentProcess(
                request.agent, request.generation, spare.popen, spare.lifeline_fd, *_times(request)
            )
            start_relays(process, spare.report_fd, sinks, request.speaks_mcp)
            return process
        report_r, report_w = report_channel(request)
        lifeline_r, lifeline_w = os.pipe()
        try:
            popen = start_interpreter(
                request.script,
                request.args,
                request.cwd,
                _child_env(request, report_w, lifeline_r),
                request.speaks_mcp,
                (report_w, lifeline_r),
            )
        except BaseException:
            for fd in (report_r, lifeline_w):
                os.close(fd)
            raise
        finally:
            os.close(report_w)
            os.close(lifeline_r)
        os.set_inheritable(lifeline_w, False)
        process = AgentProcess(
            request.agent, request.generation, popen, lifeline_w, *_times(request)
        )
        process.handover_fd = handover_end(request, report_r)
        start_relays(process, report_r, sinks, request.speaks_mcp)
        return process

    def stop(self, handles: Sequence[AgentHandle], grace_seconds: float) -> list[StopResult]:
        return stop.stop_all(_own(handles), grace_seconds)

    def kill_now(self, handles: Sequence[AgentHandle]) -> None:
        stop.kill_now(_own(handles))

    def clean_up(self, handle: AgentHandle) -> None:
        """The keeper already ended what the agent left; without one (or if it was killed), the
        group gets TERM, grace, KILL on a thread of its own: the loop does not wait."""
        if stop.group_alive(handle.pid):
            grace = handle.grace if isinstance(handle, AgentProcess) else 5.0
            _thread(stop.clean_up_group, handle.pid, grace)

    def port_open(self, port: int) -> bool:
        return probe.port_open(port)

    def memory(self, pid: int) -> int | None:
        return probe.rss_bytes(pid)

    def ask_refresh(self, pid: int) -> bool:
        return probe.ask_refresh(pid)


def _times(request: SpawnRequest) -> tuple[float, float]:
    """(started, the grace its clean-up after a crash waits)."""
    return time.monotonic(), grace_of(request)


def grace_of(request: SpawnRequest) -> float:
    """Seconds the agent's stop grace lasts: clean-up after a crash waits as long."""
    return int(request.env.get(protocol.GRACE_MS) or "5000") / 1000


def _own(handles: Sequence[AgentHandle]) -> list[AgentProcess]:
    return [h for h in handles if isinstance(h, AgentProcess)]


def report_channel(request: SpawnRequest) -> tuple[int, int]:
    """(meshdev's end, the agent's end) of its report channel: a pipe; a socket pair when the
    agent waits for a handover, which meshdev writes on the same channel (one descriptor less to
    hand through a warm template)."""
    if not request.env.get(protocol.HANDOVER):
        return os.pipe()
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    return ours.detach(), theirs.detach()


def handover_end(request: SpawnRequest, report_fd: int) -> int | None:
    """A descriptor of our own for the handover: the report relay closes its own at the exit,
    and a number written to after that could be another file's."""
    return os.dup(report_fd) if request.env.get(protocol.HANDOVER) else None


def _child_env(request: SpawnRequest, report_w: int, lifeline_r: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(request.env)
    env[protocol.FDS] = f"{report_w},{lifeline_r}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_relays(process: AgentProcess, report_fd: int, sinks: Sinks, mcp: bool) -> None:
    assert process.popen.stdout is not None and process.popen.stderr is not None
    stdout = process.popen.stdout
    readers = [
        _thread(_relay_protocol, process, stdout, sinks.protocol)
        if mcp and sinks.protocol is not None
        else _thread(_relay_lines, process.agent, "out", stdout, sinks.batches()),
        _thread(_relay_lines, process.agent, "err", process.popen.stderr, sinks.batches()),
        _thread(_relay_reports, process, report_fd, sinks.report),
    ]
    _thread(_wait_for_exit, process, readers, sinks.exit)


def _thread(target: Callable[..., None], *args: Any) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def _relay_lines(agent: str, stream: str, pipe: IO[bytes], sink: LinesSink) -> None:
    with pipe:
        relay.relay(agent, stream, pipe.fileno(), sink)


def _relay_protocol(process: AgentProcess, pipe: IO[bytes], sink: ProtocolSink) -> None:
    with pipe:
        for raw in pipe:
            sink(process.agent, process.generation, raw)


def _relay_reports(process: AgentProcess, fd: int, sink: ReportSink) -> None:
    # A socket (with a handover) whose agent exited without reading the handover byte ends
    # with a reset instead of an end of file, after every line it wrote.
    with os.fdopen(fd, "rb") as pipe, contextlib.suppress(ConnectionResetError):
        for raw in pipe:
            reports = _reports()
            if process.kept_pid is None and (pid := reports.kept_pid(raw)) is not None:
                process.kept_pid = pid
                continue
            report = reports.decode(raw)
            if report is not None:
                sink(process.agent, process.generation, report)


def _reports() -> ModuleType:
    """Imported at the first report: `meshdev start` spawns its agents before it imports the
    loop (processes/early.py), and the typed messages are not needed before."""
    from meshdev.processes import reports

    return reports


def _wait_for_exit(
    process: AgentProcess, readers: Sequence[threading.Thread], sink: ExitSink
) -> None:
    returncode = process.popen.wait()
    process.close_input()
    process.drop_handover()
    os.close(process.lifeline_fd)  # nobody reads it any more: the agent itself is gone
    for reader in readers:
        reader.join(timeout=1.0)  # the last lines and reports arrive before the exit is told
    process.returncode = returncode
    process.exited.set()
    sink(process.agent, process.generation, returncode)
