"""The command line (typer). No logic here: parse, call, report, exit."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from meshdev._version import __version__
from meshdev.problems import FAILURE, USAGE, UsageError
from meshdev.project.project import Project, load_mcp_project, load_project, project_root
from meshdev.project.settings import Flags
from meshdev.show.console import Console

if TYPE_CHECKING:
    from meshdev.project.statestore import StateStore

# Each command imports what only it needs, inside it: `meshdev --version` or `meshdev reload`
# should not pay for the supervisor, and `start` gets its agents going sooner.

T = TypeVar("T")

app = typer.Typer(
    help="Run every agent of a project, watch it, and restart only the agents whose code changed.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
state_app = typer.Typer(help="Agents' saved state: show it, clear it.", no_args_is_help=True)
debug_app = typer.Typer(
    help="Explain what meshdev sees: watches, why a file triggers, agents.", no_args_is_help=True
)
app.add_typer(debug_app, name="debug")
app.add_typer(state_app, name="state")

PathsArg = Annotated[list[Path] | None, typer.Argument(help="Agent files or folders (default: .)")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help=".meshwatch to use")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output")]
ReloadOpt = Annotated[
    bool | None,
    typer.Option(
        "--reload/--no-reload", help="Watch and reload (default), or only run and supervise"
    ),
]
ReloadDelayOpt = Annotated[
    int | None,
    typer.Option("--reload-delay", min=0, metavar="MS", help="Quiet time before a reload"),
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
            "--version", callback=_version, is_eager=True, help="Show the version and exit"
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
    ] = False,
    verbose: VerboseOpt = False,
) -> None:
    """Run agents (files or folders), watch the project, restart only what changed."""
    console = Console(plain=plain, verbose=verbose)
    flags = Flags(hot_reload=reload, reload_delay=reload_delay, preserve_state=preserve_state)
    project = _guarded(console, lambda: _project(paths, config, flags))
    if not project.discovery.agents:
        console.usage_error(
            UsageError.single(
                ", ".join(map(str, project.paths)),
                "no agents found: an agent is a .py file with an "
                '`if __name__ == "__main__":` block or an agent decorator, or a folder with '
                "__main__.py (see `meshdev debug agents`)",
            )
        )
        raise typer.Exit(USAGE)
    raise typer.Exit(_run(console, project, flags, events))


@app.command()
def mcp(
    script: Annotated[Path, typer.Argument(help="The MCP server: a .py file or a __main__ folder")],
    reload: ReloadOpt = None,
    config: ConfigOpt = None,
    reload_delay: ReloadDelayOpt = None,
    preserve_state: PreserveStateOpt = None,
    events: EventsOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Run one stdio MCP server behind a session-keeping front: make `meshdev mcp SCRIPT` the
    server command of an MCP client. stdout carries only JSON-RPC; meshdev talks on stderr."""
    console = Console(file=sys.stderr, plain=True, verbose=verbose)
    flags = Flags(hot_reload=reload, reload_delay=reload_delay, preserve_state=preserve_state)
    project = _guarded(
        console, lambda: load_mcp_project(script, config, os.environ, flags, Path.cwd())
    )
    if not project.discovery.agents:
        console.usage_error(UsageError.single(str(script), "not a .py file or a __main__ folder"))
        raise typer.Exit(USAGE)
    raise typer.Exit(_run(console, project, flags, events))


def _run(console: Console, project: Project, flags: Flags, events: Path | None) -> int:
    from meshdev.compose import supervise
    from meshdev.show.eventlog import EventLog

    log = _guarded(console, lambda: EventLog(events.resolve())) if events else None
    return supervise(console, project, flags, events, log)


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
    file: Path, paths: PathsArg = None, config: ConfigOpt = None, as_json: JsonOpt = False
) -> None:
    """Why FILE does or does not trigger a reload, and which agents it restarts."""
    console = Console()
    project = _guarded(console, lambda: _project(paths, config, Flags()))
    from meshdev.decide import explain

    _output(console, explain.why(project, file), as_json, console.render_why)


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
    if as_json:
        console.plain(json.dumps(data, indent=2))
    else:
        render(data)


AgentArg = Annotated[str | None, typer.Argument(help="One agent (default: all)")]
ProjectOpt = Annotated[
    Path | None,
    typer.Option("--project", "-p", help="A folder or file of the project (default: .)"),
]


def _store(project: Path | None, config: Path | None) -> StateStore:
    from meshdev.project.statestore import StateStore

    root = project_root(project, config, Path.cwd())
    return StateStore(root / ".meshdev")


@state_app.command("show")
def state_show(
    agent: AgentArg = None,
    project: ProjectOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What is saved for each agent: keys, types, sizes and age (signatures checked)."""
    console = Console()
    store = _guarded(console, lambda: _store(project, config))
    entries = store.describe(agent)
    if as_json:
        console.plain(json.dumps(entries, indent=2))
    else:
        console.render_state(entries)


@state_app.command("clear")
def state_clear(
    agent: AgentArg = None, project: ProjectOpt = None, config: ConfigOpt = None
) -> None:
    """Remove the saved state of one agent, or of all: they start fresh next time."""
    console = Console()
    store = _guarded(console, lambda: _store(project, config))
    removed = store.clear(agent)
    for path in removed:
        console.plain(f"removed {path}")
    if not removed:
        console.plain("no saved state" + (f" for {agent}" if agent else ""))


@app.command()
def reload(
    agents: Annotated[
        list[str] | None, typer.Argument(help="Agents to reload (default: all)")
    ] = None,
    project: ProjectOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Reload agents of the meshdev running for this project (from another terminal)."""
    console = Console()
    from meshdev.sources import commands as control

    root = _guarded(console, lambda: project_root(project, config, Path.cwd()))
    try:
        answer = control.send(control.socket_path(root), " ".join(["r", *(agents or [])]))
    except OSError:
        console.usage_error(UsageError.single(str(root), "no meshdev is running for this project"))
        raise typer.Exit(FAILURE) from None
    console.plain(answer)
    if not answer.startswith("reloaded"):
        raise typer.Exit(FAILURE)


def main() -> None:
    app(prog_name="meshdev")
