"""Everything meshdev shows a person: agents' output with a coloured `name |` prefix, and events.

The only module that prints. Agent output is never interpreted as markup.
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
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from meshdev.events import Event
from meshdev.problems import UsageError

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


def _files(event: Event, key: str = "files", limit: int = 3) -> str:
    files = list(event.get(key) or [])
    shown = ", ".join(files[:limit])
    return shown + (f" and {len(files) - limit} more" if len(files) > limit else "")


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
        color = {"color_system": None} if self.is_plain else {}
        self.rich = RichConsole(
            file=target,
            highlight=False,
            soft_wrap=True,
            width=width,
            **color,  # type: ignore[arg-type]
        )
        self.err = RichConsole(file=sys.stderr, highlight=False, soft_wrap=True, **color)  # type: ignore[arg-type]
        self._colors: dict[str, str] = {}
        self._width = len(_SELF)
        self._lock = threading.Lock()

    def status_view(self, rows: Callable[[], list[dict[str, Any]]]) -> AbstractContextManager[Any]:
        """A status table kept at the bottom of a terminal, redrawn once a second; the agents'
        lines scroll above it. Nothing in plain mode."""
        if self.is_plain:
            return contextlib.nullcontext()
        return Live(
            get_renderable=lambda: _status_table(rows()),
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
        if event.kind in _DEBUG and not self.verbose:
            return
        if event.get("storm") and event.kind != "batch":
            return  # a storm is told by its one `batch` line
        if event.kind == "circuit_open":
            self.rich.print(_circuit_panel(event))
            return
        if event.kind == "shutdown" and event.get("agents"):
            self.rich.print(_summary_table(event["agents"]))
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

    # -- meshdev debug ------------------------------------------------------------------------

    def render_watches(self, data: dict[str, Any]) -> None:
        self.rich.print(Text.assemble(("root    ", "bold"), data["root"]))
        self.rich.print(Text.assemble(("config  ", "bold"), data["config"] or "none (defaults)"))
        self.rich.print(
            Text(
                f"watched folders ({len(data['watched_dirs'])}, each non-recursively):",
                style="bold",
            )
        )
        for folder in data["watched_dirs"]:
            self.rich.print(Text(f"  {folder}"))
        self.rich.print(Text("patterns:", style="bold"))
        for source, patterns in data["patterns"].items():
            self.rich.print(Text(f"  {source}: ", style="bold") + Text(" ".join(patterns) or "-"))
        table = Table(title="files", show_edge=False, header_style="bold")
        for column in ("file", "verdict", "decided by", "agents"):
            table.add_column(column)
        for entry in data["files"]:
            decided = entry["decided_by"] + (f" {entry['pattern']!r}" if entry["pattern"] else "")
            table.add_row(
                entry["path"],
                Text(entry["verdict"], style=_VERDICT_STYLE.get(entry["verdict"], "")),
                decided,
                ", ".join(entry["agents"]),
            )
        self.rich.print(table)

    def render_why(self, data: dict[str, Any]) -> None:
        exists = "" if data["exists"] else " (does not exist)"
        self.rich.print(Text(data["path"] + exists, style="bold"))
        self.rich.print(
            Text.assemble(
                "  verdict: ", (data["explanation"], _VERDICT_STYLE.get(data["verdict"], ""))
            )
        )
        if not data["agents"]:
            self.rich.print(Text("  no agent depends on it: a change restarts nothing"))
        for chain in data["agents"].values():
            self.rich.print(Text(f"  restarts {chain}"))

    def render_state(self, entries: list[dict[str, Any]]) -> None:
        if not entries:
            self.rich.print(Text("no saved state"))
            return
        table = Table(show_edge=False, header_style="bold")
        for column in ("agent", "key", "type", "size", "saved"):
            table.add_column(column)
        for entry in entries:
            if "problem" in entry:
                table.add_row(
                    entry["agent"],
                    Text(f"unusable: {entry['problem']}", style="red"),
                    "",
                    _size(entry["bytes"]),
                    "",
                )
                continue
            saved = _age(entry["age_seconds"])
            for key, meta in entry["keys"].items() or [("(empty)", {"type": "", "size": 0})]:
                table.add_row(entry["agent"], key, meta["type"], _size(meta["size"]), saved)
        self.rich.print(table)

    def render_agents(self, data: dict[str, Any]) -> None:
        table = Table(title="agents", show_edge=False, header_style="bold")
        for column in ("agent", "script", "why"):
            table.add_column(column)
        for agent in data["agents"]:
            table.add_row(Text(agent["name"], style="green"), agent["script"], agent["how"])
        self.rich.print(table)
        if data["skipped"]:
            skipped = Table(title="not agents", show_edge=False, header_style="bold")
            skipped.add_column("path")
            skipped.add_column("why not")
            for entry in data["skipped"]:
                skipped.add_row(entry["path"], entry["why"])
            self.rich.print(skipped)


def _age(seconds: float) -> str:
    for unit, scale in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= scale:
            return f"{seconds / scale:.0f} {unit} ago"
    return f"{seconds:.0f} s ago"


_VERDICT_STYLE = {
    "reload": "green",
    "log only": "yellow",
    "excluded": "dim",
    "not watched": "dim",
    "config": "cyan",
}


def _started(e: Event) -> tuple[str, str]:
    why = f" — {e['reason']}" if e.get("reason") else ""
    return f"▶ {e['agent']} started (pid {e['pid']}){why}", "green"


def _stopped(e: Event) -> tuple[str, str]:
    how = ", killed after the grace period" if e.get("killed") else ""
    return f"■ {e['agent']} stopped (pid {e['pid']}, {e['seconds']:.2f} s{how})", "dim"


def _exited(e: Event) -> tuple[str, str]:
    if e["returncode"] == 0:
        return f"{e['agent']} finished (exit 0); a change to its files starts it again", "dim"
    return f"✗ {e['agent']} exited with code {e['returncode']}", "bold red"


def _restart_scheduled(e: Event) -> tuple[str, str]:
    return (
        f"↻ restarting {e['agent']} in {e['delay']:g} s (failure {e['failures']} of "
        f"{e['limit']} allowed within {e['window']:g} s)",
        "yellow",
    )


def _circuit_panel(e: Event) -> Panel:
    code = e["returncode"] if e["returncode"] is not None else "none (not ready in time)"
    body = Text(
        f"exit code {code}; {e['failures']} failures within {e['window']:g} s, "
        "so no more automatic restarts.\n",
        style="bold",
    )
    if e["stderr"]:
        body.append("last lines of its stderr:\n", style="dim")
        body.append("\n".join(e["stderr"]) + "\n", style="red")
    body.append(
        "waiting for a change to its files (or a manual reload); the other agents keep running.",
        style="yellow",
    )
    return Panel(body, title=f"{e['agent']}: circuit open", border_style="red", expand=False)


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _status_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(show_edge=False, header_style="bold", box=None, padding=(0, 1))
    for column in (
        "agent",
        "state",
        "pid",
        "uptime",
        "restarts",
        "circuit",
        "last reload",
        "memory",
    ):
        table.add_column(column)
    for row in rows:
        state_style = _STATE_STYLE.get(row["state"].split(",")[0], "")
        table.add_row(
            row["agent"],
            Text(row["state"], style=state_style),
            str(row["pid"] or "-"),
            _duration(row["uptime"]),
            str(row["restarts"]),
            Text(row["circuit"], style="red" if row["circuit"] != "closed" else ""),
            _seconds(row["last_reload"]),
            _size(row["rss"]) if row["rss"] else "-",
        )
    return table


_STATE_STYLE = {
    "running": "green",
    "starting": "yellow",
    "crashed": "red",
    "backoff": "yellow",
    "stopped": "dim",
    "finished": "dim",
    "waiting for a good save": "red",
}


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _summary_table(rows: dict[str, dict[str, Any]]) -> Table:
    table = Table(title="session summary", show_edge=False, header_style="bold")
    for column in (
        "agent",
        "restarts",
        "reloads",
        "median reload",
        "worst reload",
        "crashes",
        "circuit",
    ):
        table.add_column(column, justify="left" if column in ("agent", "circuit") else "right")
    for name, row in rows.items():
        table.add_row(
            name,
            str(row["restarts"]),
            str(row["reloads"]),
            _seconds(row["median_reload_s"]),
            _seconds(row["worst_reload_s"]),
            str(row["crashes"]),
            row["circuit"],
        )
    return table


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _compile_error(e: Event) -> tuple[str, str]:
    where = f"{e['file']}:{e['line']}" if e.get("line") else e["file"]
    code = f"\n{e['code']}" if e.get("code") else ""
    return f"✗ {where}: {e['message']}{code}", "bold red"


def _held(e: Event) -> tuple[str, str]:
    files = ", ".join(e["files"])
    if e.get("running"):
        return f"keeping {e['agent']} on its last good version until {files} compiles", "yellow"
    return f"not starting {e['agent']} until {files} compiles", "yellow"


def _ready(e: Event) -> tuple[str, str]:
    how = e.get("how") or "meshdev.ready()"
    suffix = "" if how == "meshdev.ready()" else f" ({how})"
    return f"✓ {e['agent']} ready in {e['seconds']:.2f} s{suffix}", "green"


def _reload(e: Event) -> tuple[str, str]:
    agents = ", ".join(e["agents"])
    why = f"{_files(e)} changed" if e.get("files") else e.get("reason", "")
    return f"↻ restarted {agents} in {e['seconds']:.2f} s ({why})", "bold"


def _config_error(e: Event) -> tuple[str, str]:
    lines = "\n  ".join(e["problems"])
    return f"{e['file']} is not valid; keeping the previous configuration:\n  {lines}", "bold red"


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


def _batch(e: Event) -> tuple[str, str]:
    """One summary line for a storm; ordinary saves are already told by the other events."""
    if not e.get("storm"):
        return "", ""
    touched = ", ".join(e["restarted"]) or "no agent"
    return f"{e['count']} files changed; restarted {touched}", "bold"


_DEBUG = {"unchanged"}  # shown with --verbose only


def _saved(e: Event) -> tuple[str, str]:
    if e["reason"] != "stop":
        return "", ""  # checkpoints are in the --events log, not on screen
    return (
        f"{e['agent']}: state saved ({e['keys']} keys, {_size(e['bytes'])}, "
        f"{e['seconds'] * 1000:.0f} ms)",
        "dim",
    )


def _size(count: int) -> str:
    for unit, scale in (("MB", 1e6), ("KB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"


def _timing(e: Event) -> tuple[str, str]:
    return (
        f"⏱ {e['agent']} reloaded in {e['total']:.2f} s: quiet {e['quiet']:.2f} · "
        f"stop {e['stop']:.2f} · spawn {e['spawn']:.2f} · start-up {e['startup']:.2f}",
        "dim",
    )


def _simple(template: str, style: str = "") -> Callable[[Event], tuple[str, str]]:
    def render(e: Event) -> tuple[str, str]:
        values: dict[str, Any] = dict(e.fields)
        values["files_text"] = _files(e)
        values["keys_text"] = _files(e, "keys", limit=5)
        return template.format(**values), style

    return render


_RENDERERS: dict[str, Callable[[Event], tuple[str, str]]] = {
    "meshdev_started": _meshdev_started,
    "watching": _watching,
    "agent_started": _started,
    "agent_ready": _ready,
    "restart_scheduled": _restart_scheduled,
    "circuit_half_open": _simple("{agent}: trying once more ({files_text} changed)", "yellow"),
    "circuit_closed": _simple("✓ {agent} is healthy again: circuit closed", "green"),
    "start_timeout": _simple("✗ {agent} was not ready within {seconds:g} s", "bold red"),
    "compile_error": _compile_error,
    "reload_held": _held,
    "agent_stopped": _stopped,
    "agent_exited": _exited,
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
