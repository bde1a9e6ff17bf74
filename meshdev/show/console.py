"""The Console: agents' output with a coloured `name |` prefix, and meshdev's own news as lines.

Every event becomes one sentence after a `meshdev |` prefix (see `_RENDERERS`); the few that
need more room are tables or panels from `show.tables`, and the debug views live in
`show.debug`. Agent output is never interpreted as markup.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any, TextIO

from rich.console import Console as RichConsole
from rich.console import RenderableType
from rich.live import Live
from rich.text import Text

from meshdev.events import Event
from meshdev.problems import UsageError
from meshdev.show import debug
from meshdev.show.tables import circuit_panel, format_size, status_table, summary_table

_Renderer = Callable[[Event], tuple[str, str]]  # an event -> (message, rich style)

_PALETTE = (
    "cyan",
    "magenta",
    "green",
    "yellow",
    "blue",
    "bright_red",
    "bright_cyan",
    "bright_magenta",
    "bright_green",
    "bright_yellow",
    "bright_blue",
    "red",
)
_SELF = "meshdev"
_VERBOSE_ONLY = {"unchanged"}  # event kinds shown with --verbose only


class Console:
    def __init__(
        self,
        file: TextIO | None = None,
        width: int | None = None,
        plain: bool = False,
        verbose: bool = False,
    ) -> None:
        self.verbose = verbose
        target = file or sys.stdout
        # Plain: a pipe, NO_COLOR or --plain. No escape codes at all (NO_COLOR alone keeps bold).
        self.is_plain = plain or bool(os.environ.get("NO_COLOR")) or not _is_tty(target)
        options: dict[str, Any] = {"highlight": False, "soft_wrap": True}
        if self.is_plain:
            options["color_system"] = None
        self.rich = RichConsole(file=target, width=width, **options)
        self.err = RichConsole(file=sys.stderr, **options)
        self._colors: dict[str, str] = {}
        self._width = len(_SELF)
        self._lock = threading.Lock()

    def status_view(self, rows: Callable[[], list[dict[str, Any]]]) -> AbstractContextManager[Any]:
        """A status table kept at the bottom of a terminal, redrawn once a second; the agents'
        lines scroll above it. Nothing in plain mode."""
        if self.is_plain:
            return contextlib.nullcontext()
        return Live(
            get_renderable=lambda: status_table(rows()),
            console=self.rich,
            refresh_per_second=1,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def know_agents(self, names: Iterable[str]) -> None:
        with self._lock:
            for name in sorted(names):
                if name not in self._colors:
                    self._colors[name] = _PALETTE[len(self._colors) % len(_PALETTE)]
                self._width = max(self._width, len(name))

    def _prefix(self, name: str) -> Text:
        style = self._colors.get(name, "bold" if name == _SELF else "white")
        return Text(f"{name:<{self._width}} | ", style=style)

    def agent_line(self, agent: str, stream: str, text: str) -> None:
        line = self._prefix(agent) + Text(text, style="red" if stream == "err" else "")
        self.rich.print(line)

    def say(self, message: str, style: str = "") -> None:
        self.rich.print(self._prefix(_SELF) + Text(message, style=style))

    def event(self, event: Event) -> None:
        if event.kind in _VERBOSE_ONLY and not self.verbose:
            return
        if event.get("storm") and event.kind != "batch":
            return  # a storm is told by its one `batch` line
        if event.kind == "circuit_open":
            self.rich.print(circuit_panel(event))
            return
        if event.kind == "shutdown" and event.get("agents"):
            self.rich.print(summary_table(event["agents"]))
        render = _RENDERERS.get(event.kind)
        if render is not None:
            message, style = render(event)
            if message:
                self.say(message, style)

    def usage_error(self, error: UsageError) -> None:
        for problem in error.problems:
            self.err.print(Text("error: ", style="bold red") + Text(str(problem)))

    def show(self, renderable: RenderableType) -> None:
        self.rich.print(renderable)

    def plain(self, text: str) -> None:
        self.rich.print(Text(text))

    # -- meshdev debug / meshdev state show: laid out by show.debug ---------------------------

    def render_watches(self, data: dict[str, Any]) -> None:
        debug.render_watches(self.rich, data)

    def render_why(self, data: dict[str, Any]) -> None:
        debug.render_why(self.rich, data)

    def render_state(self, entries: list[dict[str, Any]]) -> None:
        debug.render_state(self.rich, entries)

    def render_agents(self, data: dict[str, Any]) -> None:
        debug.render_agents(self.rich, data)


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _files(event: Event, key: str = "files", limit: int = 3) -> str:
    files = list(event.get(key) or [])
    shown = ", ".join(files[:limit])
    return shown + (f" and {len(files) - limit} more" if len(files) > limit else "")


# -- one renderer per event kind, in the order a session usually tells them --------------------


def _meshdev_started(e: Event) -> tuple[str, str]:
    config = e.get("config") or "no .meshwatch (defaults)"
    return (
        f"meshdev {e['version']} · root {e['root']} · {config} · {len(e['agents'])} agent(s)",
        "bold",
    )


def _watching(e: Event) -> tuple[str, str]:
    if not e.get("enabled", True):
        return "not watching (--no-reload): agents run and are supervised only", "dim"
    how = "file events"
    if e.get("polling"):
        how = f"polling every {e['poll_ms']} ms because of {e.get('poll_reason')}"
    return (
        f"watching {e['dirs']} folder(s) ({how}); reload after {e['reload_delay_ms']} ms of quiet",
        "dim",
    )


def _started(e: Event) -> tuple[str, str]:
    why = f" — {e['reason']}" if e.get("reason") else ""
    return f"▶ {e['agent']} started (pid {e['pid']}){why}", "green"


def _ready(e: Event) -> tuple[str, str]:
    how = e.get("how") or "meshdev.ready()"
    suffix = "" if how == "meshdev.ready()" else f" ({how})"
    return f"✓ {e['agent']} ready in {e['seconds']:.2f} s{suffix}", "green"


def _compile_error(e: Event) -> tuple[str, str]:
    where = f"{e['file']}:{e['line']}" if e.get("line") else e["file"]
    code = f"\n{e['code']}" if e.get("code") else ""
    return f"✗ {where}: {e['message']}{code}", "bold red"


def _held(e: Event) -> tuple[str, str]:
    files = ", ".join(e["files"])
    if e.get("running"):
        return f"keeping {e['agent']} on its last good version until {files} compiles", "yellow"
    return f"not starting {e['agent']} until {files} compiles", "yellow"


def _stopped(e: Event) -> tuple[str, str]:
    how = ", killed after the grace period" if e.get("killed") else ""
    return f"■ {e['agent']} stopped (pid {e['pid']}, {e['seconds']:.2f} s{how})", "dim"


def _exited(e: Event) -> tuple[str, str]:
    if e["returncode"] == 0:
        return f"{e['agent']} finished (exit 0); a change to its files starts it again", "dim"
    return f"✗ {e['agent']} exited with code {e['returncode']}", "bold red"


def _reload(e: Event) -> tuple[str, str]:
    agents = ", ".join(e["agents"])
    why = f"{_files(e)} changed" if e.get("files") else e.get("reason", "")
    return f"↻ restarted {agents} in {e['seconds']:.2f} s ({why})", "bold"


def _config_error(e: Event) -> tuple[str, str]:
    lines = "\n  ".join(e["problems"])
    return f"{e['file']} is not valid; keeping the previous configuration:\n  {lines}", "bold red"


def _batch(e: Event) -> tuple[str, str]:
    """One summary line for a storm; ordinary saves are already told by the other events."""
    if not e.get("storm"):
        return "", ""
    touched = ", ".join(e["restarted"]) or "no agent"
    return f"{e['count']} files changed; restarted {touched}", "bold"


def _saved(e: Event) -> tuple[str, str]:
    if e["reason"] != "stop":
        return "", ""  # checkpoints are in the --events log, not on screen
    return (
        f"{e['agent']}: state saved ({e['keys']} keys, {format_size(e['bytes'])}, "
        f"{e['seconds'] * 1000:.0f} ms)",
        "dim",
    )


def _timing(e: Event) -> tuple[str, str]:
    line = (
        f"⏱ {e['agent']} reloaded in {e['total']:.2f} s: quiet {e['quiet']:.2f} · "
        f"stop {e['stop']:.2f} · spawn {e['spawn']:.2f} · start-up {e['startup']:.2f}"
    )
    if e.get("held_calls"):
        line += f" · {e['held_calls']} call(s) held, the longest {e['held']:.2f} s"
    return line, "dim"


def _simple(template: str, style: str = "") -> _Renderer:
    """A renderer that only fills `template` with the event's fields (plus the file lists)."""

    def render(e: Event) -> tuple[str, str]:
        values: dict[str, Any] = dict(e.fields)
        values["files_text"] = _files(e)
        values["keys_text"] = _files(e, "keys", limit=5)
        return template.format(**values), style

    return render


_RENDERERS: dict[str, _Renderer] = {
    "meshdev_started": _meshdev_started,
    "watching": _watching,
    "agent_started": _started,
    "agent_ready": _ready,
    "restart_scheduled": _simple(
        "↻ restarting {agent} in {delay:g} s (failure {failures} of {limit} allowed within "
        "{window:g} s)",
        "yellow",
    ),
    "circuit_half_open": _simple("{agent}: trying once more ({files_text} changed)", "yellow"),
    "circuit_closed": _simple("✓ {agent} is healthy again: circuit closed", "green"),
    "start_timeout": _simple("✗ {agent} was not ready within {seconds:g} s", "bold red"),
    "compile_error": _compile_error,
    "reload_held": _held,
    "agent_stopped": _stopped,
    "agent_exited": _exited,
    "port_held": _simple(
        "{agent}: meshdev holds port {port} across reloads (MCP clients keep their sessions)",
        "dim",
    ),
    "draining": _simple("{agent}: {calls} call(s) in flight finish before the restart", "dim"),
    "agent_removed": _simple("{agent}: its file is gone; stopped it", "yellow"),
    "agent_added": _simple("new agent {agent} ({how})", "green"),
    "reload": _reload,
    "log_only": _simple("{files_text} changed (log only)", "dim"),
    "unused": _simple("{files_text} changed; no running agent uses it, nothing to restart", "dim"),
    "config_reloaded": _simple("{file} changed: configuration applied", "bold"),
    "config_error": _config_error,
    "discovery_error": _simple("{message}", "bold red"),
    "watch_error": _simple("{message}", "yellow"),
    "warning": _simple("{message}", "yellow"),
    "batch": _batch,
    "unchanged": _simple("{files_text} saved with identical content: nothing to restart", "dim"),
    "command": _simple("{reply}", "bold"),
    "reload_timing": _timing,
    "state_restored": _simple("{agent}: state restored ({keys_text})", "cyan"),
    "state_saved": _saved,
    "shutdown": _simple("stopped {stopped} agent(s); exit code {exit_code}", "bold"),
}
