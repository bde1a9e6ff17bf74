"""What a session did, per agent: reloads with their median and worst time, crashes, circuits.

Built only from the events the supervisor emits, so the exit summary, the status view and the
--events log can never disagree. Pure.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from meshdev.events import Event


@dataclass
class AgentFigures:
    starts: int = 0
    reload_seconds: list[float] = field(default_factory=list)  # change seen -> ready
    crashes: int = 0
    circuit: str = "closed"
    last_reload: float | None = None
    pid: int | None = None
    state: str = "starting"
    started_at: float | None = None  # wall clock

    def as_row(self) -> dict[str, Any]:
        times = self.reload_seconds
        return {
            "restarts": max(0, self.starts - 1),
            "reloads": len(times),
            "median_reload_s": round(statistics.median(times), 4) if times else None,
            "worst_reload_s": round(max(times), 4) if times else None,
            "crashes": self.crashes,
            "circuit": self.circuit,
        }


class Summary:
    def __init__(self) -> None:
        self.agents: dict[str, AgentFigures] = {}

    def __call__(self, event: Event) -> None:
        name = event.get("agent")
        if not isinstance(name, str):
            return
        if event.kind == "agent_removed":
            self.agents.pop(name, None)
            return
        figures = self.agents.setdefault(name, AgentFigures())
        handler = _HANDLERS.get(event.kind)
        if handler is not None:
            handler(figures, event)

    def rows(self) -> dict[str, dict[str, Any]]:
        return {name: f.as_row() for name, f in sorted(self.agents.items())}

    def status(
        self, now: float, memory: Callable[[int], int | None] = lambda pid: None
    ) -> list[dict[str, Any]]:
        """One row per agent for the live view (`now`: wall clock; `memory`: resident bytes of a
        process). Called from the live view's refresh thread, so it only reads."""
        rows = []
        for name, f in sorted(list(self.agents.items())):
            alive = f.state not in _GONE
            rows.append(
                {
                    "agent": name,
                    "state": f.state,
                    "pid": f.pid if alive else None,
                    "uptime": now - f.started_at if alive and f.started_at else None,
                    "restarts": max(0, f.starts - 1),
                    "circuit": f.circuit,
                    "last_reload": f.last_reload,
                    "rss": memory(f.pid) if alive and f.pid else None,
                }
            )
        return rows


# No process runs in these states: the status view shows no pid, uptime or memory.
_GONE = ("crashed", "finished", "stopped", "backoff", "waiting for a good save")


def _started(f: AgentFigures, e: Event) -> None:
    f.starts += 1
    f.pid = e["pid"]
    f.state = "starting"
    f.started_at = e.ts


def _timing(f: AgentFigures, e: Event) -> None:
    f.reload_seconds.append(e["total"])
    f.last_reload = e["total"]


def _ready(f: AgentFigures, e: Event) -> None:
    # Only the process of the moment: a late word from one that already ended changes nothing.
    if f.state not in _GONE and e.get("pid", f.pid) == f.pid:
        f.state = "running"


def _exited(f: AgentFigures, e: Event) -> None:
    f.state = "finished" if e["returncode"] == 0 else "crashed"
    if e["returncode"] != 0:
        f.crashes += 1


def _set(attribute: str, value: str) -> Any:
    def handler(f: AgentFigures, e: Event) -> None:
        setattr(f, attribute, value)

    return handler


_HANDLERS = {
    "agent_started": _started,
    "agent_ready": _ready,
    "agent_stopped": _set("state", "stopped"),
    "agent_exited": _exited,
    "reload_timing": _timing,
    "circuit_open": _set("circuit", "open"),
    "circuit_half_open": _set("circuit", "half-open"),
    "circuit_closed": _set("circuit", "closed"),
    "restart_scheduled": _set("state", "backoff"),
    "reload_held": lambda f, e: setattr(
        f, "state", "running, reload held" if e["running"] else "waiting for a good save"
    ),
}
