"""Stopping agents' process groups: SIGTERM, a grace period, SIGKILL, and a bounded wait."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable
from typing import Protocol

from meshdev.interfaces import StopResult

_POLL_SECONDS = 0.005


class Stoppable(Protocol):
    agent: str
    returncode: int | None

    @property
    def pid(self) -> int: ...

    def has_exited(self) -> bool: ...

    def wait_exit(self, timeout: float) -> bool: ...

    def still_there(self) -> bool: ...

    def close_input(self) -> bool: ...


def stop_all(processes: Iterable[Stoppable], grace_seconds: float) -> list[StopResult]:
    """Stop every group at once; return when each is gone. Never waits longer than grace + 2 s.

    A process with a stdin of ours (an MCP server on stdio) is first told by closing it, as the
    MCP specification asks: its SDK then returns from `run()` cleanly, where a SIGTERM lands in
    the middle of its event loop. SIGTERM follows after half the grace period."""
    started = time.monotonic()
    targets = list(processes)
    told = [p for p in targets if p.close_input()]
    _wait_gone(told, started + grace_seconds / 2)
    for process in targets:
        if process.still_there():
            signal_group(process.pid, signal.SIGTERM)
    _wait_gone(targets, started + grace_seconds)
    killed = {p.agent for p in targets if p.still_there()}
    for process in targets:
        if process.agent in killed:
            signal_group(process.pid, signal.SIGKILL)
    _wait_gone([p for p in targets if p.agent in killed], time.monotonic() + 2.0)
    now = time.monotonic()
    return [
        StopResult(p.agent, p.pid, p.returncode, p.agent in killed, now - started) for p in targets
    ]


def kill_now(processes: Iterable[Stoppable]) -> None:
    """No more waiting (a second Ctrl-C): SIGKILL every group."""
    for process in processes:
        signal_group(process.pid, signal.SIGKILL)


def signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def group_alive(pid: int) -> bool:
    """Any process left in the group led by `pid` (the agent, or a grandchild)?"""
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_up_group(pid: int) -> None:
    """After an agent exited on its own: nothing it spawned may outlive it."""
    if group_alive(pid):
        signal_group(pid, signal.SIGTERM)


def _wait_gone(processes: list[Stoppable], deadline: float) -> None:
    """Until every process exited and its group is empty: the exit is waited for (no polling
    delay); only grandchildren that outlive their agent are polled for."""
    for process in processes:
        process.wait_exit(max(0.0, deadline - time.monotonic()))
    while any(p.still_there() for p in processes) and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)
