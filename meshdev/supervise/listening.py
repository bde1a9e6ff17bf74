"""The control socket, claimed before any agent starts — even the first starts `compose.py`
begins before the loop exists; commands that come that early wait for the loop.

Imported before the first spawn: nothing of the loop comes with it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from meshdev.project.project import Project
from meshdev.sources.commands import (
    AlreadyRunning,
    CommandSink,
    ControlError,
    ControlServer,
    socket_path,
)

if TYPE_CHECKING:
    from meshdev.sources.messages import Reply


class Listening:
    """The control socket (None when there is none), where its commands go once the loop exists,
    and what is to be told: warnings, or why nothing may start."""

    def __init__(
        self,
        control: ControlServer | None,
        later: _Later,
        warnings: tuple[str, ...] = (),
        refused: str | None = None,
    ) -> None:
        self.control, self.later = control, later
        self.warnings, self.refused = warnings, refused

    def close(self) -> None:
        control, self.control = self.control, None
        if control is not None:
            control.close()


def listen(project: Project) -> Listening:
    """The control socket, claimed before any agent starts. `refused` when another `meshdev
    start` runs for the project; `meshdev mcp` runs anyway (each MCP client starts its own
    server), without a socket."""
    later = _Later()
    try:
        control = ControlServer(socket_path(project.root), later, not project.serves_mcp)
    except AlreadyRunning as other:
        if not project.serves_mcp:
            return Listening(None, later, refused=_refusal(project.root, other))
        warning = f"{other}; `meshdev reload` reaches that one, not this one"
        return Listening(None, later, (warning,))
    except (ControlError, OSError) as exc:
        return Listening(None, later, (f"`meshdev reload` cannot reach this meshdev: {exc}",))
    return Listening(control, later)


def _refusal(root: Path, other: AlreadyRunning) -> str:
    """Before anything starts: a second set of agents would fight the first for its ports and
    share its state files."""
    pid = f"pid {other.pid}" if other.pid else "its pid unknown"
    return (
        f"another meshdev ({pid}) already runs for {root}; nothing started. "
        "`meshdev reload [NAME]` reaches that one; stop it first to start this one"
    )


class _Later:
    """A command sink whose commands wait until the loop is there to take them."""

    def __init__(self) -> None:
        self._sink: CommandSink | None = None
        self._ready = threading.Event()

    def __call__(self, text: str, reply: Reply) -> None:
        self._ready.wait()
        assert self._sink is not None
        self._sink(text, reply)

    def connect(self, sink: CommandSink) -> None:
        self._sink = sink
        self._ready.set()
