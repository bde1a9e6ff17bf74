"""A plain console made only once there is more to show than the opening line: rich (which
`show.console` needs whatever the output) is then imported while the first agent starts, not
before it is spawned.

The opening line (`meshdev_started`) and the agents' names wait here, in order, and are shown
first by the real console, made at the next thing to show — the first agent started, a warning,
anything — and everything after goes straight to it. Only for plain output (a pipe, NO_COLOR,
--plain): a terminal's status view needs the console from the start.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from meshdev.events import Event

if TYPE_CHECKING:
    from meshdev.show.console import Console


_OPENING = "meshdev_started"  # supervise/loop.py's first event, before any agent is spawned


class DeferredConsole:
    def __init__(self, verbose: bool = False) -> None:
        self.verbose = verbose
        self.is_plain = True
        self._real: Console | None = None
        self._waiting: list[Callable[[Console], None]] = []
        self._lock = threading.Lock()

    def real(self) -> Console:
        """The console itself, made now if it was not yet, with what waited shown first."""
        with self._lock:
            if self._real is None:
                from meshdev.show.console import Console

                self._real = Console(plain=True, verbose=self.verbose)
                for call in self._waiting:
                    call(self._real)
                self._waiting.clear()
            return self._real

    def _wait(self, call: Callable[[Console], None]) -> bool:
        """Keep `call` for the console to come; False when the console is there already."""
        with self._lock:
            if self._real is None:
                self._waiting.append(call)
            return self._real is None

    def know_agents(self, names: Iterable[str]) -> None:
        listed = list(names)
        if not self._wait(lambda console: console.know_agents(listed)):
            self.real().know_agents(listed)

    def event(self, event: Event) -> None:
        if event.kind == _OPENING and self._wait(lambda console: console.event(event)):
            return
        self.real().event(event)

    def agent_lines(self, agent: str, stream: str, lines: Sequence[str]) -> None:
        """Handed to the loop before any agent runs: the console is made at the first line."""
        self.real().agent_lines(agent, stream, lines)

    def status_view(self, rows: Callable[[], list[dict[str, Any]]]) -> AbstractContextManager[Any]:
        return contextlib.nullcontext()  # as the plain console's: none

    def __getattr__(self, name: str) -> Any:
        """Anything else needs the console now."""
        return getattr(self.real(), name)
