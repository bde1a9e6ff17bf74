"""Agent processes: start each in its own session and process group, relay its output line by line,
and stop its whole group (SIGTERM, grace period, SIGKILL) with a bounded wait.

The only module of meshdev that uses subprocess and signals.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from meshdev.runtime import wiring

LineSink = Callable[[str, str, str], None]  # agent, stream ("out" | "err"), text
ReportSink = Callable[[str, int, dict[str, Any]], None]  # agent, generation, message
ExitSink = Callable[[str, int, int], None]  # agent, generation, return code

_POLL_SECONDS = 0.005
# `-c` rather than `-m meshdev.runtime`: runpy is not needed, and every start pays for imports.
_BOOT = "import sys; from meshdev.runtime.boot import main; sys.exit(main())"


@dataclass(frozen=True)
class SpawnRequest:
    agent: str
    generation: int
    script: Path
    args: tuple[str, ...]
    env: Mapping[str, str]  # the agent's own variables and the runtime's wiring
    cwd: Path


@dataclass(frozen=True)
class Sinks:
    line: LineSink
    report: ReportSink
    exit: ExitSink


@dataclass
class AgentProcess:
    agent: str
    generation: int
    popen: subprocess.Popen[bytes]
    lifeline_fd: int  # meshdev's end of the lifeline; closed when the agent exits
    started: float
    exited: threading.Event = field(default_factory=threading.Event)
    returncode: int | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def group_alive(self) -> bool:
        """Any process left in the agent's group (the agent, or a grandchild)?"""
        try:
            os.killpg(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


class Spawner(Protocol):
    """The one seam through which agents are started (a forking spawner is planned)."""

    def spawn(self, request: SpawnRequest, sinks: Sinks) -> AgentProcess: ...


class SubprocessSpawner:
    """A fresh interpreter per start, running SCRIPT ARGS through meshdev's runtime boot."""

    def spawn(self, request: SpawnRequest, sinks: Sinks) -> AgentProcess:
        report_r, report_w = os.pipe()
        lifeline_r, lifeline_w = os.pipe()
        try:
            popen = subprocess.Popen(
                [sys.executable, "-c", _BOOT, str(request.script), *request.args],
                cwd=request.cwd,
                env=_child_env(request, report_w, lifeline_r),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(report_w, lifeline_r),
                start_new_session=True,
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
            request.agent, request.generation, popen, lifeline_w, time.monotonic()
        )
        _start_threads(process, report_r, sinks)
        return process


def _child_env(request: SpawnRequest, report_w: int, lifeline_r: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(request.env)
    env[wiring.FDS] = f"{report_w},{lifeline_r}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _start_threads(process: AgentProcess, report_fd: int, sinks: Sinks) -> None:
    assert process.popen.stdout is not None and process.popen.stderr is not None
    readers = [
        _thread(_relay_lines, process.agent, "out", process.popen.stdout, sinks.line),
        _thread(_relay_lines, process.agent, "err", process.popen.stderr, sinks.line),
        _thread(_relay_reports, process, report_fd, sinks.report),
    ]
    _thread(_wait_for_exit, process, readers, sinks.exit)


def _thread(target: Callable[..., None], *args: Any) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def _relay_lines(agent: str, stream: str, pipe: IO[bytes], sink: LineSink) -> None:
    with pipe:
        for raw in pipe:
            sink(agent, stream, raw.decode("utf-8", errors="replace").rstrip("\r\n"))


def _relay_reports(process: AgentProcess, fd: int, sink: ReportSink) -> None:
    with os.fdopen(fd, "rb") as pipe:
        for raw in pipe:
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            if isinstance(message, dict):
                sink(process.agent, process.generation, message)


def _wait_for_exit(
    process: AgentProcess, readers: Sequence[threading.Thread], sink: ExitSink
) -> None:
    returncode = process.popen.wait()
    os.close(process.lifeline_fd)  # nobody reads it any more: the agent itself is gone
    for reader in readers:
        reader.join(timeout=1.0)  # the last lines and reports arrive before the exit is told
    process.returncode = returncode
    process.exited.set()
    sink(process.agent, process.generation, returncode)


@dataclass(frozen=True)
class StopResult:
    agent: str
    pid: int
    returncode: int | None
    killed: bool  # SIGKILL was needed
    seconds: float


def stop_all(processes: Iterable[AgentProcess], grace_seconds: float) -> list[StopResult]:
    """Stop every group at once; return when each is gone. Never waits longer than grace + 2 s."""
    started = time.monotonic()
    targets = list(processes)
    for process in targets:
        _signal_group(process, signal.SIGTERM)
    deadline = started + grace_seconds
    _wait_gone(targets, deadline)
    killed = {p.agent for p in targets if _still_there(p)}
    for process in targets:
        if process.agent in killed:
            _signal_group(process, signal.SIGKILL)
    _wait_gone([p for p in targets if p.agent in killed], time.monotonic() + 2.0)
    now = time.monotonic()
    return [
        StopResult(p.agent, p.pid, p.returncode, p.agent in killed, now - started) for p in targets
    ]


def kill_now(processes: Iterable[AgentProcess]) -> None:
    """No more waiting (a second Ctrl-C): SIGKILL every group."""
    for process in processes:
        _signal_group(process, signal.SIGKILL)


def _signal_group(process: AgentProcess, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def _still_there(process: AgentProcess) -> bool:
    return not process.exited.is_set() or process.group_alive()


def _wait_gone(processes: list[AgentProcess], deadline: float) -> None:
    """Until every process exited and its group is empty: the exit is waited for (no polling
    delay); only grandchildren that outlive their agent are polled for."""
    for process in processes:
        process.exited.wait(max(0.0, deadline - time.monotonic()))
    while any(_still_there(p) for p in processes) and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)


def clean_up_group(process: AgentProcess) -> None:
    """After an agent exited on its own: nothing it spawned may outlive it."""
    if process.group_alive():
        _signal_group(process, signal.SIGTERM)


def rss_bytes(pid: int) -> int | None:
    """Resident memory of one process (Linux /proc), or None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


SignalSink = Callable[[int], None]


def install_signal_handlers(sink: SignalSink) -> None:
    """SIGINT, SIGTERM and SIGHUP only enqueue: the loop decides what to do."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, _frame: sink(signum))
