"""The in-agent API behind `import meshdev`. Without meshdev around, everything is a plain no-op."""

from __future__ import annotations

from meshdev.runtime import protocol
from meshdev.runtime.state import StateNamespace

TYPE_CHECKING = False  # not `from typing import`: typing costs every agent start 4 ms
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    T = TypeVar("T")

state = StateNamespace()

_session: dict[str, Any] = {"reporter": None, "start_info": None, "ready": False}


def attach(reporter: Any, start_info: str | None) -> None:
    """Called once by the runtime boot when the process runs under meshdev."""
    _session["reporter"] = reporter
    _session["start_info"] = start_info


def preserve(name: str, factory: Callable[[], T]) -> T:
    """The object kept under `name` across restarts, made by `factory` the first time."""
    try:
        value: T = state[name]
    except KeyError:
        value = factory()
        state[name] = value
    return value


def ready() -> None:
    """Say "I am serving": the reload that started this process is complete."""
    reporter = _session["reporter"]
    if reporter is None or _session["ready"]:
        return
    _session["ready"] = True
    reporter.flush()
    reporter.send({protocol.KIND: protocol.READY})


def on_refresh(
    callback: Callable[[list[str]], object],
    call_in: Callable[[Callable[[], None]], object] | None = None,
) -> Callable[[list[str]], object]:
    """Under reload_strategy refresh: call `callback(changed_paths)` after the changed modules
    were reloaded inside this process (re-bind what you hold: re-register tools, swap a strategy
    object). It raising makes meshdev restart the agent instead. The refresh runs in the main
    thread, or through `call_in` (e.g. `loop.call_soon_threadsafe`) in the thread it schedules
    into. Usable as a decorator; a no-op without meshdev."""
    from meshdev.runtime import refresh

    return refresh.on_refresh(callback, call_in)


def changes() -> list[str]:
    """The files whose change caused this start; [] on a first start or without meshdev."""
    path = _session["start_info"]
    if not path:
        return []
    import json

    try:
        with open(path, encoding="utf-8") as handle:
            info = json.load(handle)
    except (OSError, ValueError):
        return []
    found = info.get("changes", [])
    return [str(p) for p in found] if isinstance(found, list) else []
