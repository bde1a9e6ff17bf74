"""The command line (typer). No logic here: parse, call, report, exit."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from typer.core import TyperCommand, TyperGroup
from typer.models import CommandFunctionType

from meshdev._version import __version__
from meshdev.problems import FAILURE, USAGE, UsageError
from meshdev.project.project import (
    Project,
    load_mcp_project,
    load_project,
    load_project_of,
)
from meshdev.project.settings import Flags, reload_delay_flag
from meshdev.show.console import Console
from meshdev.show.usage import QuietFlags, ReadableUsage
from meshdev.supervise import reach

# Each command imports what only it needs, inside it: `meshdev --version` or `meshdev reload`
# should not pay for the supervisor, and `start` gets its agents going sooner.

T = TypeVar("T")


class _Group(QuietFlags, TyperGroup):
    pass


class _Command(ReadableUsage, TyperCommand):
    pass


class _Typer(typer.Typer):
    def command(
        self, *args: Any, **options: Any
    ) -> Callable[[CommandFunctionType], CommandFunctionType]:
        return super().command(*args, cls=_Command, **options)


def _typer(help: str, **options: Any) -> _Typer:
    return _Typer(cls=_Group, help=help, no_args_is_help=True, **options)


app = _typer(
    "Run every agent of a project, watch it, and restart only the agents whose code changed.",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
state_app = _typer("Agents' saved state: show it, clear it.")
debug_app = _typer("Explain what meshdev sees: watches, why a file triggers, agents.")
app.add_typer(debug_app, name="debug")
app.add_typer(state_app, name="state")


PathsArg = Annotated[
    list[Path] | None,
    typer.Argument(help="Agent files or folders (default: .)", metavar="PATH", show_default=False),
]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", metavar="FILE", help=".meshwatch to use")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output")]
ReloadOpt = Annotated[
    bool | None,
    typer.Option(
        "--reload/--no-reload", help="Watch and reload (default), or only run and supervise"
    ),
]
# A string, read by meshdev itself: its range and its words, not the option parser's.
ReloadDelayOpt = Annotated[
    str | None,
    typer.Option("--reload-delay", metavar="MS", help="Quiet time before a reload (0-60000)"),
]
PreserveStateOpt = Annotated[
    bool | None,
    typer.Option(
        "--preserve-state/--no-preserve-state", help="Hand agents their state across restarts"
    ),
]
EventsOpt = Annotated[
    Path | None, typer.Option("--events", metavar="FILE", help="Append every event as a JSON line")
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Also show debug-level news")]


def _version(value: bool) -> None:
    if value:
        Console().plain(f"meshdev {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Show the version and exit", callback=_version, is_eager=True
        ),
    ] = False,
) -> None:
    """meshdev: hot reload for multi-agent Python projects."""


def _guarded(console: Console, action: Callable[[], T]) -> T:
    """Bad input becomes one readable message per problem and exit code 2, never a traceback."""
    try:
        return action()
    except UsageError as error:
        console.usage_error(error)
        raise typer.Exit(USAGE) from None


def _flags(reload: bool | None, reload_delay: str | None, preserve_state: bool | None) -> Flags:
    delay = reload_delay_flag(reload_delay)
    return Flags(hot_reload=reload, reload_delay=delay, preserve_state=preserve_state)


def _project(paths: list[Path] | None, config: Path | None, flags: Flags) -> Project:
    return load_project(paths or [], config, os.environ, flags, Path.cwd())


@app.command()
def start(
    paths: PathsArg = None,
    reload: ReloadOpt = None,
    config: ConfigOpt = None,
    reload_delay: ReloadDelayOpt = None,
    preserve_state: PreserveStateOpt = None,
    events: EventsOpt = None,
    plain: Annotated[
        bool, typer.Option("--plain", help="Plain prefixed lines: no colours, no status view")
    ] = (False),
    verbose: VerboseOpt = False,
) -> None:
    """Run agents (files or folders), watch the project, restart only what changed."""
    from meshdev.launch.start import StartArgs
    from meshdev.launch.start import start as run_start

    options = (reload, config, reload_delay, preserve_state, events, plain, verbose)
    raise typer.Exit(run_start(StartArgs(tuple(paths or ()), *options)))


@app.command()
def mcp(
    script: Annotated[
        Path,
        typer.Argument(help="The MCP server: a .py file or a __main__ folder", metavar="SCRIPT"),
    ],
    reload: ReloadOpt = None,
    config: ConfigOpt = None,
    reload_delay: ReloadDelayOpt = None,
    preserve_state: PreserveStateOpt = None,
    events: EventsOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Run one stdio MCP server behind a session-keeping front (an MCP client's server command).

    stdout carries only JSON-RPC; meshdev talks on stderr."""
    console = Console(file=sys.stderr, plain=True, verbose=verbose)
    flags = _guarded(console, lambda: _flags(reload, reload_delay, preserve_state))
    project = _guarded(
        console, lambda: load_mcp_project(script, config, os.environ, flags, Path.cwd())
    )
    raise typer.Exit(_run(console, project, flags, events))


def _run(console: Console, project: Project, flags: Flags, events: Path | None) -> int:
    from meshdev.launch.start import supervised

    return supervised(console, project, flags, events)


@debug_app.command("watches")
def debug_watches(
    paths: PathsArg = None, config: ConfigOpt = None, as_json: JsonOpt = False
) -> None:
    """What is watched: root, folders, patterns, and each file's verdict and agents."""
    console = Console()
    project = _guarded(console, lambda: _project(paths, config, Flags()))
    from meshdev.decide import explain

    _output(console, explain.watches(project), as_json, console.render_watches)


@debug_app.command("why")
def debug_why(
    file: Annotated[Path, typer.Argument(help="The file to explain", metavar="FILE")],
    paths: PathsArg = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Why FILE does or does not trigger a reload, and which agents it restarts (asking the
    running meshdev of its project, when one runs, about files opened at run time)."""
    console = Console()
    cwd = Path.cwd()
    project = _guarded(
        console, lambda: load_project_of(file, paths or [], config, os.environ, Flags(), cwd)
    )
    from meshdev.decide import explain
    from meshdev.supervise import asked

    question = asked.request(Path(os.path.abspath(cwd / file)))
    running = asked.read_answer(_guarded(console, lambda: reach.ask(project.root, question)))
    _output(console, explain.why(project, cwd / file, running), as_json, console.render_why)


@debug_app.command("agents")
def debug_agents(
    paths: PathsArg = None, config: ConfigOpt = None, as_json: JsonOpt = False
) -> None:
    """Discovered agents and why each file or folder was (not) taken as an agent."""
    console = Console()
    project = _guarded(console, lambda: _project(paths, config, Flags()))
    from meshdev.decide import explain

    _output(console, explain.agents(project), as_json, console.render_agents)


def _output(
    console: Console, data: dict[str, Any], as_json: bool, render: Callable[[dict[str, Any]], None]
) -> None:
    if not as_json:
        render(data)
        return
    from meshdev.show.jsontext import json_text  # straight to stdout, one list entry a line

    sys.stdout.write(json_text(data))
    sys.stdout.flush()


AgentArg = Annotated[
    str | None, typer.Argument(help="One agent (default: all)", metavar="AGENT", show_default=False)
]
ProjectOpt = Annotated[
    Path | None,
    typer.Option(
        "--project", "-p", metavar="PATH", help="A folder or file of the project (default: .)"
    ),
]


@state_app.command("show")
def state_show(
    agent: AgentArg = None,
    project: ProjectOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What is saved for each agent: keys, types, sizes and age (signatures checked)."""
    console = Console()
    root, entries = _guarded(console, lambda: reach.saved_state(project, config, os.environ, agent))
    if not as_json and Path.cwd() in root.parents:  # found below: say which project it is
        console.plain(f"project {root}")
    if as_json:
        console.plain(json.dumps(entries, indent=2))
    elif agent and not entries:
        console.plain(f"no saved state for {agent}")
    else:
        console.render_state(entries)


@state_app.command("clear")
def state_clear(
    agent: AgentArg = None, project: ProjectOpt = None, config: ConfigOpt = None
) -> None:
    """Remove the saved state of one agent, or of all: they start fresh next time."""
    console = Console()
    removed = _guarded(console, lambda: reach.clear_state(project, config, os.environ, agent))
    for path in removed:
        console.plain(f"removed {path}")
    if not removed:
        console.plain("no saved state" + (f" for {agent}" if agent else ""))


@app.command()
def reload(
    agents: Annotated[
        list[str] | None,
        typer.Argument(help="Agents to reload (default: all)", metavar="NAME", show_default=False),
    ] = None,
    project: ProjectOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Reload agents of the meshdev running for this project (from another terminal)."""
    console = Console()
    command = " ".join(["r", *(agents or [])])
    root, answer = _guarded(console, lambda: reach.command(project, config, command))
    if answer is None:
        console.usage_error(UsageError.single(str(root), "no meshdev is running for this project"))
        raise typer.Exit(FAILURE)
    console.plain(answer)
    if not answer.startswith("reloaded"):
        raise typer.Exit(FAILURE)


def main() -> None:
    app(prog_name="meshdev")
