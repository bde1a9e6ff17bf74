"""Each agent's first start, begun before the loop exists: `meshdev start` spawns its agents as
soon as it knows them, and imports and builds the loop while they start.

The loop later asks for those very starts; the spawner hands over the processes already running,
with what they printed, reported or how they exited meanwhile, in order. A start the loop asks
for differently (a file changed in between) replaces the early one, which is stopped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from meshdev.interfaces import AgentHandle, Sinks, Spawner, SpawnRequest, StopResult

if TYPE_CHECKING:
    from meshdev.sources.messages import AgentReport

DISCARD_GRACE = 2.0  # seconds an early start the loop did not want gets to stop


class EarlyStarts:
    """The `Spawner` seam around another, holding the first starts until they are asked for."""

    def __init__(self, spawner: Spawner) -> None:
        self._spawner = spawner
        self._begun: dict[str, tuple[SpawnRequest, AgentHandle, Held]] = {}
        self._adopted: dict[str, tuple[Held, Sinks]] = {}  # handed over, start not yet told

    def begin(self, requests: Iterable[SpawnRequest]) -> None:
        """Start these now. One that fails is left to the loop, whose own start says why."""
        for request in requests:
            held = Held()
            try:
                handle = self._spawner.spawn(request, held.sinks())
            except OSError:
                continue
            self._begun[request.agent] = (request, handle, held)

    def begun(self) -> list[AgentHandle]:
        return [handle for _, handle, _ in self._begun.values()]

    def spawn(self, request: SpawnRequest, sinks: Sinks) -> AgentHandle:
        begun = self._begun.pop(request.agent, None)
        if begun is not None:
            early, handle, held = begun
            if early == request:
                self._adopted[request.agent] = (held, sinks)
                return handle
            self._spawner.stop([handle], DISCARD_GRACE)
        return self._spawner.spawn(request, sinks)

    def start_told(self, handle: AgentHandle) -> None:
        """The loop has told this start: what the process did meanwhile goes on, in order."""
        adopted = self._adopted.pop(handle.agent, None)
        if adopted is not None:
            adopted[0].connect(adopted[1])

    def close(self) -> None:
        """Stop the early starts nobody asked for (meshdev ended before its loop began)."""
        left, self._begun = self.begun(), {}
        if left:
            self._spawner.stop(left, DISCARD_GRACE)

    def stop(self, handles: Sequence[AgentHandle], grace_seconds: float) -> list[StopResult]:
        return self._spawner.stop(handles, grace_seconds)

    def kill_now(self, handles: Sequence[AgentHandle]) -> None:
        self._spawner.kill_now(handles)

    def clean_up(self, handle: AgentHandle) -> None:
        self._spawner.clean_up(handle)

    def port_open(self, port: int) -> bool:
        return self._spawner.port_open(port)

    def memory(self, pid: int) -> int | None:
        return self._spawner.memory(pid)

    def ask_refresh(self, pid: int) -> bool:
        return self._spawner.ask_refresh(pid)


class Held:
    """A process's sinks that keep everything until `connect`, then pass it on in order (what
    arrives meanwhile waits, and so comes after)."""

    def __init__(self) -> None:
        self._target: Sinks | None = None
        self._held: list[Callable[[Sinks], None]] = []
        self._lock = threading.Lock()

    def sinks(self) -> Sinks:
        return Sinks(self._line, self._report, self._exit, self._protocol, self._lines)

    def connect(self, sinks: Sinks) -> None:
        with self._lock:
            for call in self._held:
                call(sinks)
            self._held, self._target = [], sinks

    def _line(self, agent: str, stream: str, text: str) -> None:
        self._pass(lambda sinks: sinks.line(agent, stream, text))

    def _lines(self, agent: str, stream: str, lines: Sequence[str]) -> None:
        self._pass(lambda sinks: sinks.batches()(agent, stream, lines))

    def _report(self, agent: str, generation: int, report: AgentReport) -> None:
        self._pass(lambda sinks: sinks.report(agent, generation, report))

    def _exit(self, agent: str, generation: int, returncode: int) -> None:
        self._pass(lambda sinks: sinks.exit(agent, generation, returncode))

    def _protocol(self, agent: str, generation: int, raw: bytes) -> None:
        self._pass(lambda sinks: _protocol_line(sinks, agent, generation, raw))

    def _pass(self, call: Callable[[Sinks], None]) -> None:
        with self._lock:
            target = self._target
            if target is None:
                self._held.append(call)
                return
        call(target)


def _protocol_line(sinks: Sinks, agent: str, generation: int, raw: bytes) -> None:
    if sinks.protocol is not None:
        sinks.protocol(agent, generation, raw)
    else:
        sinks.line(agent, "out", raw.decode("utf-8", "replace").rstrip("\n"))
