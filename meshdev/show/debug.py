"""The inspection views: `meshdev debug watches|why|agents` and `meshdev state show`.

Each function lays out, on a rich console, the data that `meshdev.decide.explain` or the state
store answered; `--json` prints that same data instead, so nothing here computes anything.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console as RichConsole
from rich.table import Table
from rich.text import Text

from meshdev.show.tables import format_size

_VERDICT_STYLE = {
    "reload": "green",
    "log only": "yellow",
    "excluded": "dim",
    "not watched": "dim",
    "config": "cyan",
}


def render_watches(out: RichConsole, data: dict[str, Any]) -> None:
    """`meshdev debug watches`: root, config, watched folders, patterns, and each file's verdict."""
    out.print(Text.assemble(("root    ", "bold"), data["root"]))
    out.print(Text.assemble(("config  ", "bold"), data["config"] or "none (defaults)"))
    out.print(
        Text(f"watched folders ({len(data['watched_dirs'])}, each non-recursively):", style="bold")
    )
    for folder in data["watched_dirs"]:
        out.print(Text(f"  {folder}"))
    out.print(Text("patterns:", style="bold"))
    for source, patterns in data["patterns"].items():
        out.print(Text(f"  {source}: ", style="bold") + Text(" ".join(patterns) or "-"))
    out.print(_files_table(data["files"]))


def _files_table(files: list[dict[str, Any]]) -> Table:
    table = Table(title="files", show_edge=False, header_style="bold")
    for column in ("file", "verdict", "decided by", "agents"):
        table.add_column(column)
    for entry in files:
        decided = entry["decided_by"] + (f" {entry['pattern']!r}" if entry["pattern"] else "")
        table.add_row(
            entry["path"],
            Text(entry["verdict"], style=_VERDICT_STYLE.get(entry["verdict"], "")),
            decided,
            ", ".join(entry["agents"]),
        )
    return table


def render_why(out: RichConsole, data: dict[str, Any]) -> None:
    """`meshdev debug why FILE`: its verdict, and the import chain to each agent it restarts."""
    exists = "" if data["exists"] else " (does not exist)"
    out.print(Text(data["path"] + exists, style="bold"))
    verdict_style = _VERDICT_STYLE.get(data["verdict"], "")
    out.print(Text.assemble("  verdict: ", (data["explanation"], verdict_style)))
    for chain in data["agents"].values():
        out.print(Text(f"  restarts {chain}"))
    if data.get("asked_running_meshdev"):
        if not data["agents"]:
            out.print(Text("  no running agent uses it: a change restarts nothing"))
        return
    if not data["agents"]:
        out.print(Text("  no agent imports it (static imports; no meshdev runs for this project)"))
    out.print(
        Text(
            "  files agents open (configuration, prompts) or import at run time are learnt at "
            "run time: with `meshdev start` running, `meshdev debug why` asks it",
            style="dim",
        )
    )


def render_state(out: RichConsole, entries: list[dict[str, Any]]) -> None:
    """`meshdev state show`: one row per saved key of each agent, or why its file is unusable.
    An entry whose agent no longer exists (`"gone": True`) says how to remove it."""
    if not entries:
        out.print(Text("no saved state"))
        return
    table = Table(show_edge=False, header_style="bold")
    for column in ("agent", "key", "type", "size", "saved"):
        table.add_column(column)
    for entry in entries:
        agent = entry["agent"] + (" (no such agent now)" if entry.get("gone") else "")
        if "problem" in entry:
            unusable = Text(f"unusable: {entry['problem']}", style="red")
            table.add_row(agent, unusable, "", format_size(entry["bytes"]), "")
            continue
        saved = _age(entry["age_seconds"])
        # An agent that saved an empty state still gets a row, so it is not mistaken for none.
        for key, meta in entry["keys"].items() or [("(empty)", {"type": "", "size": 0})]:
            table.add_row(agent, key, meta["type"], format_size(meta["size"]), saved)
    out.print(table)
    for entry in (e for e in entries if e.get("gone")):
        name = entry["agent"]
        message = f"{name} is no agent of this project now: `meshdev state clear {name}` removes it"
        out.print(Text(message, style="dim"))


def render_agents(out: RichConsole, data: dict[str, Any]) -> None:
    """`meshdev debug agents`: the rule, each agent with its script and why it counts, then
    the rejects."""
    if data.get("rule"):
        out.print(Text(data["rule"], style="dim"))
    table = Table(title="agents", show_edge=False, header_style="bold")
    for column in ("agent", "script", "why"):
        table.add_column(column)
    for agent in data["agents"]:
        table.add_row(Text(agent["name"], style="green"), agent["script"], agent["how"])
    out.print(table)
    if data["skipped"]:
        skipped = Table(title="not agents", show_edge=False, header_style="bold")
        skipped.add_column("path")
        skipped.add_column("why not")
        for entry in data["skipped"]:
            skipped.add_row(entry["path"], entry["why"])
        out.print(skipped)


def _age(seconds: float) -> str:
    for unit, scale in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= scale:
            return f"{seconds / scale:.0f} {unit} ago"
    return f"{seconds:.0f} s ago"
