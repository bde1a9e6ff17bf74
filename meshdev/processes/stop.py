"""Stopping agents: SIGTERM, a grace period, SIGKILL, and a bounded wait.

An agent with a keeper (Linux, `meshdev/runtime/keeper.py`) is stopped through it: SIGTERM to the
keeper, which passes it to its group and to every descendant outside the group, and SIGUSR1 at the
end of the grace period, for which it SIGKILLs everything below it. It exits once nothing is left,
so its exit means the whole tree is gone. Without a keeper, the signals go to the process group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable
from typing import Protocol

from meshdev.interfaces import StopResult

_POLL_SECONDS = 0.005
KILL_NOW = signal.SIGUSR1  # to a keeper: SIGKILL everything below you now
_LAST_RESORT_SECONDS = 2.0


class Stoppable(Protocol):
    agent: str
    returncode: int | None
    kept_pid: int | None

    @property
    def pid(self) -> int: ...

    @property
    def kept(self) -> bool: ...

    def has_exited(self) -> bool: ...

    def wait_exit(self, timeout: float) -> bool: ...

    def still_there(self) -> bool: ...

    def close_input(self) -> bool: ...


def stop_all(processes: Iterable[Stoppable], grace_seconds: float) -> list[StopResult]:
    """Stop every agent at once; return when each is gone. Never waits longer than grace + 4 s.

    A process with a stdin of ours (an MCP server on stdio) is first told by closing it, as the
    MCP specification asks: its SDK then returns from `run()` cleanly, where a SIGTERM lands in
    the middle of its event loop. SIGTERM follows after half the grace period."""
    started = time.monotonic()
    targets = list(processes)
    told = [p for p in targets if p.close_input()]
    _wait_gone(told, started + grace_seconds / 2)
    for process in targets:
        if process.still_there():
            terminate(process)
    _wait_gone(targets, started + grace_seconds)
    killed = {p.agent for p in targets if p.still_there()}
    stubborn = [p for p in targets if p.agent in killed]
    for process in stubborn:
        kill(process)
    _wait_gone(stubborn, time.monotonic() + _LAST_RESORT_SECONDS)
    for process in stubborn:
        if process.still_there():  # a keeper that does not answer: the group, at least
            _kill_group(process)
    _wait_gone(stubborn, time.monotonic() + _LAST_RESORT_SECONDS)
    now = time.monotonic()
    return [
        StopResult(p.agent, p.pid, p.returncode, p.agent in killed, now - started) for p in targets
    ]


def terminate(process: Stoppable) -> None:
    if process.kept:
        _signal_pid(process.pid, signal.SIGTERM)
    else:
        signal_group(process.pid, signal.SIGTERM)


def kill(process: Stoppable) -> None:
    if process.kept:
        _signal_pid(process.pid, KILL_NOW)
    else:
        _kill_group(process)


def kill_now(processes: Iterable[Stoppable]) -> None:
    """No more waiting (a second Ctrl-C): SIGKILL everything, through the keepers."""
    for process in processes:
        kill(process)


def _kill_group(process: Stoppable) -> None:
    signal_group(process.pid, signal.SIGKILL)
    if process.kept_pid is not None:
        signal_group(process.kept_pid, signal.SIGKILL)  # an agent that left the keeper's group
        _signal_pid(process.kept_pid, signal.SIGKILL)


def signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _signal_pid(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def group_alive(pid: int) -> bool:
    """Any process left in the group led by `pid` (the agent, or a grandchild)?"""
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_up_group(pid: int, grace_seconds: float) -> None:
    """After an agent exited on its own, when something of its group is left (no keeper, or a
    killed one): the same TERM, grace, KILL as a stop — never a SIGTERM and forget."""
    signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while group_alive(pid) and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS * 10)
    if group_alive(pid):
        signal_group(pid, signal.SIGKILL)


def _wait_gone(processes: list[Stoppable], deadline: float) -> None:
    """Until every process exited and its group is empty: the exit is waited for (no polling
    delay); only grandchildren that outlive their agent are polled for."""
    for process in processes:
        process.wait_exit(max(0.0, deadline - time.monotonic()))
    while any(p.still_there() for p in processes) and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)
