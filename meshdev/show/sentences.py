"""Every event the console tells as one sentence after `meshdev |`: its renderer, by kind.

A renderer gives (message, rich style); an empty message says nothing (a checkpoint, an ordinary
batch). Kept apart from the Console, which decides where and how a line is printed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from meshdev.events import Event
from meshdev.show.tables import format_size, plural

Renderer = Callable[[Event], tuple[str, str]]  # an event -> (message, rich style)


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


def _refreshed(e: Event) -> tuple[str, str]:
    modules = ", ".join(e["modules"]) or "no loaded module had changed"
    why = f" ({_files(e)} changed)" if e.get("files") else ""
    return (
        f"↻ {e['agent']} refreshed in place in {e['total'] * 1000:.0f} ms{why}: {modules} "
        f"(swap {e['seconds'] * 1000:.1f} ms, pid {e['pid']} kept)",
        "green",
    )


def _refresh_failed(e: Event) -> tuple[str, str]:
    where = e.get("file") or e.get("module") or "its refresh"
    if e.get("line"):
        where = f"{where}:{e['line']}"
    then = (
        "it keeps running its previous code, untouched; the next good save refreshes it"
        if e.get("kept")
        else "restarting it instead"
    )
    return f"✗ {e['agent']}: refresh failed in {where}: {e['error']} — {then}", "bold red"


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
        f"{e['agent']}: state saved ({plural(e['keys'], 'key')}, {format_size(e['bytes'])}, "
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


def _simple(template: str, style: str = "") -> Renderer:
    """A renderer that only fills `template` with the event's fields (plus the file lists)."""

    def render(e: Event) -> tuple[str, str]:
        values: dict[str, Any] = dict(e.fields)
        values["files_text"] = _files(e)
        values["keys_text"] = _files(e, "keys", limit=5)
        return template.format(**values), style

    return render


RENDERERS: dict[str, Renderer] = {
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
    "agent_refreshed": _refreshed,
    "refresh_failed": _refresh_failed,
    "refresh_instead": _simple("{agent}: a restart, not a refresh: {reason}", "yellow"),
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
