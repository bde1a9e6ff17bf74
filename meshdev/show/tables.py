"""The tables and panels of a run: the live status table, the session summary, the circuit panel.

Also the number formatters every view shares (durations, seconds, byte sizes), so a figure reads
the same in the status table, the summary, an event line and `meshdev state show`.
"""

from __future__ import annotations

from typing import Any

from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from meshdev.events import Event

_STATUS_COLUMNS = (
    "agent",
    "state",
    "pid",
    "uptime",
    "restarts",
    "circuit",
    "last reload",
    "memory",
)
_SUMMARY_COLUMNS = (
    "agent",
    "restarts",
    "reloads",
    "median reload",
    "worst reload",
    "crashes",
    "circuit",
)
_STATE_STYLE = {
    "running": "green",
    "starting": "yellow",
    "crashed": "red",
    "backoff": "yellow",
    "stopped": "dim",
    "finished": "dim",
    "waiting for a good save": "red",
}


def status_table(rows: list[dict[str, Any]]) -> Table:
    """The live view: one row per agent, as `Summary.status()` gives them (`rss` in bytes)."""
    table = Table(show_edge=False, header_style="bold", box=None, padding=(0, 1))
    for column in _STATUS_COLUMNS:
        table.add_column(column)
    for row in rows:
        # "running, reload held" is styled as running.
        state_style = _STATE_STYLE.get(row["state"].split(",")[0], "")
        table.add_row(
            row["agent"],
            Text(row["state"], style=state_style),
            str(row["pid"] or "-"),
            format_duration(row["uptime"]),
            str(row["restarts"]),
            Text(row["circuit"], style="red" if row["circuit"] != "closed" else ""),
            format_seconds(row["last_reload"]),
            format_size(row["rss"]) if row["rss"] else "-",
        )
    return table


def summary_table(rows: dict[str, dict[str, Any]]) -> Table:
    """The exit summary: per agent name, the figures of `Summary.rows()`."""
    table = Table(title="session summary", show_edge=False, header_style="bold")
    for column in _SUMMARY_COLUMNS:
        table.add_column(column, justify="left" if column in ("agent", "circuit") else "right")
    for name, row in rows.items():
        table.add_row(
            name,
            str(row["restarts"]),
            str(row["reloads"]),
            format_seconds(row["median_reload_s"]),
            format_seconds(row["worst_reload_s"]),
            str(row["crashes"]),
            row["circuit"],
        )
    return table


def circuit_lines(event: Event) -> list[tuple[str, str]]:
    """A `circuit_open` event as (line, style) pairs: the panel's body, or plain lines."""
    code = event["returncode"] if event["returncode"] is not None else "none (not ready in time)"
    lines = [
        (
            f"exit code {code}; {event['failures']} failures within {event['window']:g} s, "
            "so no more automatic restarts.",
            "bold",
        )
    ]
    if event["stderr"]:
        lines.append(("last lines of its stderr:", "dim"))
        lines += [(line, "red") for line in event["stderr"]]
    lines.append(
        (
            "waiting for a change to its files (or a manual reload); the other agents keep "
            "running.",
            "yellow",
        )
    )
    return lines


def circuit_panel(event: Event) -> Panel:
    """A `circuit_open` event: boxed, because the agent now stays down until someone acts.

    Its lines wrap at the panel's edge (never cut): the end of a crash's last line, "address
    already in use", is often the whole story."""
    body = Text()
    for i, (line, style) in enumerate(circuit_lines(event)):
        body.append(("\n" if i else "") + line, style=style)
    return Panel(body, title=f"{event['agent']}: circuit open", border_style="red", expand=False)


def summary_lines(rows: dict[str, dict[str, Any]]) -> list[str]:
    """The exit summary without a table, for plain output: one sentence per agent."""
    lines = []
    for name, row in rows.items():
        reloads = f"{plural(row['reloads'], 'reload')}"
        if row["reloads"]:
            median, worst = row["median_reload_s"], row["worst_reload_s"]
            reloads += f" (median {format_seconds(median)}, worst {format_seconds(worst)})"
        lines.append(
            f"{name}: {plural(row['restarts'], 'restart')}, {reloads}, "
            f"{plural(row['crashes'], 'crash', 'crashes')}, circuit {row['circuit']}"
        )
    return lines


def plural(n: int, one: str, many: str | None = None) -> str:
    """`1 key`, `2 keys`."""
    return f"{n} {one if n == 1 else many or one + 's'}"


def format_duration(seconds: float | None) -> str:
    """`1:05` or `1:06:40`; `-` when unknown."""
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_seconds(value: float | None) -> str:
    """`0.25 s`; `-` when unknown."""
    return "-" if value is None else f"{value:.2f} s"


def format_size(count: int) -> str:
    """A byte count in decimal units: `12 B`, `2.5 KB`, `20.0 MB`."""
    for unit, scale in (("MB", 1e6), ("KB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"
