"""The composition root of `meshdev start` and `meshdev mcp`: the real spawner, watch, console,
events log and MCP front put together around the loop, and the session summary built from the
events they all see. The loop itself knows none of them but through `interfaces.py`."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from meshdev.events import Event
from meshdev.project.project import Project
from meshdev.project.settings import Flags

if TYPE_CHECKING:  # a plain console is made once the first agent is spawned (show/deferred.py)
    from meshdev.front.http import HttpFront
    from meshdev.front.late import LateFront
    from meshdev.front.stdio import StdioFront
    from meshdev.show.console import Console
    from meshdev.show.eventlog import EventLog
    from meshdev.show.summary import Summary


def supervise(
    console: Console, project: Project, flags: Flags, events: Path | None, log: EventLog | None
) -> int:
    """The composition root: real processes, a real watch, the console and the events log, the
    session summary built from the events, and the MCP front (stdio or HTTP)."""
    from meshdev.front.stdio import StdioFront
    from meshdev.processes.warm import WarmSpawner
    from meshdev.show.summary import Summary
    from meshdev.sources.files import Watcher
    from meshdev.sources.messages import Quit
    from meshdev.supervise.loop import Options, Supervisor
    from meshdev.supervise.run import run

    console.know_agents(project.discovery.names())
    summary = Summary()
    emit = _fan_out(console, summary, log)
    spawner = WarmSpawner(_noting(console))
    options = Options(os.environ, flags, frozenset({events.resolve()} if events else ()))
    front = _front(project, console, emit)
    supervisor = Supervisor(
        project,
        spawner,
        Watcher,
        emit,
        console.agent_lines,
        options,
        front=front,
    )
    if isinstance(front, StdioFront):
        front.read_client(sys.stdin.buffer, lambda: supervisor.inbox.put(Quit(0)))
    try:
        with console.status_view(lambda: summary.status(time.time(), spawner.memory)):
            return run(supervisor, None if project.serves_mcp else sys.stdin)
    finally:
        spawner.close()
        front.close()
        if log is not None:
            log.close()


def _noting(console: Console) -> Callable[[str, str], None]:
    def note(agent: str, text: str) -> None:
        if console.verbose:
            console.say(f"{agent}: {text}")

    return note


def _fan_out(console: Console, summary: Summary, log: EventLog | None) -> Callable[[Event], None]:
    """Every event to the summary, the console and the events log; the summary rides along on
    the shutdown event."""

    def emit(event: Event) -> None:
        summary(event)
        if event.kind == "shutdown":
            event = event.adding(agents=summary.rows())
        if event.kind in ("agent_added", "agent_started"):
            console.know_agents([event["agent"]])
        console.event(event)
        if log is not None:
            log(event)

    return emit


def _front(
    project: Project, console: Console, emit: Callable[[Event], None]
) -> StdioFront | LateFront:
    from meshdev.front.late import LateFront
    from meshdev.front.stdio import StdioFront

    if project.serves_mcp:
        agent = project.discovery.agents[0].name
        return StdioFront(agent, sys.stdout.buffer, console.agent_line)
    return LateFront(lambda: _http_front(emit))


def _http_front(emit: Callable[[Event], None]) -> HttpFront:
    from meshdev.front.http import HttpFront

    return HttpFront(emit)
