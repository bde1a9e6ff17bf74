"""`meshdev start` and the supervised run it shares with `meshdev mcp`, free of typer: the light
entry point (`launch/argv.py`) and the typer command line (`cli.py`) both call these."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from meshdev.problems import USAGE, UsageError
from meshdev.project.project import NO_AGENTS, Project, load_project
from meshdev.project.settings import Flags, reload_delay_flag
from meshdev.show.deferred import DeferredConsole

if TYPE_CHECKING:
    from meshdev.show.console import Console
    from meshdev.show.eventlog import EventLog


@dataclass(frozen=True)
class StartArgs:
    """`meshdev start`'s command line, read. cli.py's `start` is the one definition of its
    options; tests/unit/test_launch.py holds the light parser to it."""

    paths: tuple[Path, ...] = ()
    reload: bool | None = None
    config: Path | None = None
    reload_delay: str | None = None
    preserve_state: bool | None = None
    events: Path | None = None
    plain: bool = False
    verbose: bool = False


def start(args: StartArgs) -> int:
    """Run the agents, watch, reload; the exit code."""
    console = _console(args)
    try:
        delay, keep = reload_delay_flag(args.reload_delay), args.preserve_state
        flags = Flags(hot_reload=args.reload, reload_delay=delay, preserve_state=keep)
        project = load_project(list(args.paths), args.config, os.environ, flags, Path.cwd())
    except UsageError as error:
        console.usage_error(error)
        return USAGE
    if not project.discovery.agents:
        console.usage_error(UsageError.single(", ".join(map(str, project.paths)), NO_AGENTS))
        return USAGE
    return supervised(console, project, flags, args.events)


def supervised(console: Console, project: Project, flags: Flags, events: Path | None) -> int:
    """The agents of `project` run, watched, until the end; the exit code."""
    from meshdev.compose import supervise

    try:
        log = _event_log(events) if events else None
    except UsageError as error:
        console.usage_error(error)
        return USAGE
    return supervise(console, project, flags, events, log)


def _event_log(events: Path) -> EventLog:
    from meshdev.show.eventlog import EventLog

    return EventLog(events.resolve())


def _console(args: StartArgs) -> Console:
    """Plain output (what the console would choose for it) waits for its console until the first
    agent is spawned; a terminal's status view needs it now."""
    if args.plain or os.environ.get("NO_COLOR") or not _is_tty():
        return cast("Console", DeferredConsole(verbose=args.verbose))
    from meshdev.show.console import Console

    return Console(plain=args.plain, verbose=args.verbose)


def _is_tty() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False
