"""A process started beside its predecessor (an agent behind the MCP front, during a reload),
until it is announced: what holds its news back, and what it needs to be told.

The loop must never hear of a successor before its predecessor's end (the predecessor's final
state save is told first, and a successor's readiness must not come before its start), so its
reports and its exit wait here, in order, until the fleet hands over.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

from meshdev.interfaces import AgentHandle, Sinks
from meshdev.sources.messages import AgentReport


@runtime_checkable
class HandsOver(Protocol):
    """A process that can be told its predecessor is gone (`processes/spawn.py`)."""

    def hand_over(self) -> bool: ...


class Gate:
    """Holds a process's reports and exit until `open`, then passes them on in order."""

    def __init__(self, sinks: Sinks) -> None:
        self._sinks = sinks
        self._held: list[Callable[[], None]] | None = []
        self._lock = threading.Lock()

    def sinks(self) -> Sinks:
        return replace(self._sinks, report=self._report, exit=self._exit)

    def _report(self, agent: str, generation: int, report: AgentReport) -> None:
        self._pass(lambda: self._sinks.report(agent, generation, report))

    def _exit(self, agent: str, generation: int, returncode: int) -> None:
        self._pass(lambda: self._sinks.exit(agent, generation, returncode))

    def _pass(self, call: Callable[[], None]) -> None:
        with self._lock:
            if self._held is not None:
                self._held.append(call)
                return
        call()

    def open(self) -> None:
        with self._lock:  # what arrives meanwhile waits, and so comes after
            held, self._held = self._held or [], None
            for call in held:
                call()


@dataclass
class Beside:
    """A process started beside its predecessor, not announced yet."""

    gate: Gate
    reason: str
    spawned: float
    predecessor: AgentHandle
