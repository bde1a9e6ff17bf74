"""The HTTP front of `meshdev start`, made at its first use rather than before the agents start:
its first use is being told of the first agent's process (`started`), so its imports (h11, the
HTTP client) run while that agent starts. Until then it holds nothing: no port, no thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from meshdev.interfaces import AgentHandle, ReportSink

if TYPE_CHECKING:
    from meshdev.front.http import HttpFront


class LateFront:
    def __init__(self, make: Callable[[], HttpFront]) -> None:
        self._make = make
        self._real: HttpFront | None = None
        self._report: ReportSink | None = None
        self._lock = threading.Lock()

    def _front(self) -> HttpFront:
        with self._lock:
            if self._real is None:
                self._real = self._make()
                if self._report is not None:
                    self._real.attach(self._report)
            return self._real

    def attach(self, report: ReportSink) -> None:
        with self._lock:
            self._report = report
            real = self._real
        if real is not None:
            real.attach(report)

    def started(self, handle: AgentHandle) -> bool:
        return self._front().started(handle)

    def in_flight(self, agent: str) -> int:
        return self._front().in_flight(agent)

    def draining(self, agents: Sequence[str], grace_seconds: float) -> None:
        self._front().draining(agents, grace_seconds)

    def stopped(self, agents: Sequence[str]) -> None:
        self._front().stopped(agents)

    def ended(self, agent: str, generation: int, returncode: int | None) -> None:
        self._front().ended(agent, generation, returncode)

    def server_line(self, agent: str, generation: int, line: bytes) -> None:
        self._front().server_line(agent, generation, line)

    def listening(self, agent: str, generation: int, host: str, port: int, actual: int) -> None:
        self._front().listening(agent, generation, host, port, actual)

    def refreshed(self, agent: str) -> None:
        self._front().refreshed(agent)

    def close(self) -> None:
        with self._lock:
            real = self._real
        if real is not None:  # never made: nothing was opened
            real.close()
