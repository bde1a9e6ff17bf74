"""The composition root of `meshdev start` and `meshdev mcp`: the real spawner, watch, console,
events log and MCP front put together around the loop, and the session summary built from the
events they all see. The loop itself knows none of them but through `interfaces.py`."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from meshdev.events import Event
from meshdev.problems import FAILURE
from meshdev.project.project import Project
from meshdev.project.settings import Flags

if TYPE_CHECKING:  # a plain console is made once the first agent is spawned (show/deferred.py)
    from meshdev.front.http import HttpFront
    from meshdev.front.late import LateFront
    from meshdev.front.stdio import StdioFront
    from meshdev.interfaces import Spawner
    from meshdev.processes.spare import Spares
    from meshdev.project.statestore import Prepared
    from meshdev.show.console import Console
    from meshdev.show.eventlog import EventLog
    from meshdev.show.summary import Summary
    from meshdev.supervise.listening import Listening


def supervise(
    console: Console, project: Project, flags: Flags, events: Path | None, log: EventLog | None
) -> int:
    """The composition root: real processes, a real watch, the console and the events log, the
    session summary built from the events, and the MCP front (stdio or HTTP).

    The agents are spawned as soon as the control socket is claimed, and the loop is imported
    and built while they start (processes/early.py)."""
    from meshdev.processes.spare import Spares
    from meshdev.supervise.listening import listen

    console.know_agents(project.discovery.names())
    listening, spares = listen(project), Spares()
    try:
        if listening.refused is not None:  # another meshdev runs these agents: nothing starts
            _told(console, log)[1](Event("warning", {"message": listening.refused}))
            return FAILURE
        spares.begin(project.discovery.agents, project.root)  # they boot while meshdev imports
        return _supervised(console, project, flags, events, log, listening, spares)
    finally:
        spares.close()
        listening.close()
        if log is not None:
            log.close()


def _supervised(
    console: Console,
    project: Project,
    flags: Flags,
    events: Path | None,
    log: EventLog | None,
    listening: Listening,
    spares: Spares,
) -> int:
    from meshdev.processes.early import EarlyStarts
    from meshdev.processes.spawn import SubprocessSpawner
    from meshdev.processes.warm import WarmSpawner
    from meshdev.supervise.starting import first_requests

    spawner = WarmSpawner(_noting(console), SubprocessSpawner(spares))
    early = EarlyStarts(spawner)
    try:
        requests, prepared = first_requests(project)
        early.begin(requests)
        summary, emit = _told(console, log)
        for message in listening.warnings:
            emit(Event("warning", {"message": message}))
        loop = _Loop(console, summary, emit, early, spawner.memory)
        return loop.run(project, flags, events, {project.private_dir: prepared}, listening)
    finally:
        early.close()
        spawner.close()


def _told(console: Console, log: EventLog | None) -> tuple[Summary, Callable[[Event], None]]:
    """The session summary, and where every event goes (made once the agents are spawned)."""
    from meshdev.show.summary import Summary

    summary = Summary()
    return summary, _fan_out(console, summary, log)


class _Loop:
    """The loop and its front, built once the first starts are under way."""

    def __init__(
        self,
        console: Console,
        summary: Summary,
        emit: Callable[[Event], None],
        spawner: Spawner,
        memory: Callable[[int], int | None],
    ) -> None:
        self.console, self.summary, self.emit = console, summary, emit
        self.spawner, self.memory = spawner, memory

    def run(
        self,
        project: Project,
        flags: Flags,
        events: Path | None,
        places: Mapping[Path, Prepared],
        listening: Listening,
    ) -> int:
        from meshdev.front.stdio import StdioFront
        from meshdev.sources.files import Watcher
        from meshdev.sources.messages import Quit
        from meshdev.supervise.loop import Options, Supervisor
        from meshdev.supervise.run import run

        options = Options(os.environ, flags, _own(events), places)
        console, summary = self.console, self.summary
        front = _front(project, console, self.emit)
        parts = (self.emit, console.agent_lines, options)
        supervisor = Supervisor(project, self.spawner, Watcher, *parts, front=front)
        if isinstance(front, StdioFront):
            front.read_client(sys.stdin.buffer, lambda: supervisor.inbox.put(Quit(0)))
        commands = None if project.serves_mcp else sys.stdin
        try:
            with console.status_view(lambda: summary.status(time.time(), self.memory)):
                return run(supervisor, commands, listening)
        finally:
            front.close()


def _own(events: Path | None) -> frozenset[Path]:
    return frozenset({events.resolve()} if events else ())


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
