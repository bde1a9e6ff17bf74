"""The one place where an agent's report line becomes a typed message (kinds and fields are
declared in `meshdev/runtime/protocol.py`). Anything malformed is dropped: an agent can never
make meshdev fail by what it writes on its report pipe."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from meshdev.runtime import protocol
from meshdev.sources.messages import (
    AgentReport,
    FilesReport,
    ListeningReport,
    ReadyReport,
    RefreshReport,
    RestoredReport,
    StateReport,
)

_STATE_EVENTS = {protocol.SAVED: "state_saved", protocol.STATE_WARNING: "state_warning"}


def decode(line: bytes) -> AgentReport | None:
    try:
        message = json.loads(line)
    except ValueError:
        return None
    if not isinstance(message, dict):
        return None
    return _typed(message.get(protocol.KIND), message)


def kept_pid(line: bytes) -> int | None:
    """The agent's pid when `line` is its keeper's announcement (the first line, if any)."""
    if protocol.KEPT.encode() not in line:
        return None  # most lines: no JSON parsed twice
    try:
        message = json.loads(line)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get(protocol.KIND) != protocol.KEPT:
        return None
    pid = message.get("pid")
    return pid if isinstance(pid, int) and not isinstance(pid, bool) and pid > 0 else None


def _typed(kind: object, message: dict[str, Any]) -> AgentReport | None:
    if kind == protocol.FILES:
        return FilesReport(*(_paths(message.get(name)) for name in protocol.REPORTS[kind]))
    if kind == protocol.READY:
        return ReadyReport()
    if kind == protocol.RESTORED:
        return RestoredReport(tuple(str(k) for k in _list(message.get("restored"))))
    if kind == protocol.LISTENING:
        return _listening(message)
    if kind in (protocol.REFRESHABLE, protocol.REFRESHED, protocol.REFRESH_FAILED):
        return _refresh(kind, message)
    if isinstance(kind, str) and kind in _STATE_EVENTS:
        fields = {name: message.get(name) for name in protocol.REPORTS[kind]}
        return StateReport(_STATE_EVENTS[kind], fields)
    return None


def _listening(message: dict[str, Any]) -> ListeningReport | None:
    host, port, actual = (message.get(name) for name in protocol.REPORTS[protocol.LISTENING])
    if not isinstance(host, str) or not all(_port(p) for p in (port, actual)):
        return None
    assert isinstance(port, int) and isinstance(actual, int)
    return ListeningReport(host, port, actual)


def _refresh(kind: str, message: dict[str, Any]) -> RefreshReport | None:
    if kind == protocol.REFRESHABLE:
        pid = message.get("pid")
        return RefreshReport(pid=pid) if isinstance(pid, int) and _whole(pid) and pid > 0 else None
    if kind == protocol.REFRESHED:
        seconds = message.get("seconds")
        modules = tuple(str(m) for m in _list(message.get("modules")))
        return RefreshReport(modules=modules, seconds=_seconds(seconds))
    error, module, path, line = (message.get(k) for k in ("error", "module", "file", "line"))
    return RefreshReport(
        error=str(error)[:2000] if error is not None else "unknown error",
        module=module if isinstance(module, str) else None,
        file=Path(path) if isinstance(path, str) else None,
        line=line if _whole(line) else None,
        restart=message.get("restart") is True,
    )


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _seconds(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) and value >= 0 else 0.0


def _port(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _paths(value: object) -> tuple[Path, ...]:
    return tuple(Path(p) for p in _list(value) if isinstance(p, str))
