"""The real driver of the loop: signals and commands wired to the inbox, messages fed to `step`
as they arrive (or when the next deadline passes), and the end."""

from __future__ import annotations

import queue
from typing import IO

from meshdev.events import Event
from meshdev.problems import FAILURE
from meshdev.sources.commands import (
    AlreadyRunning,
    ControlError,
    ControlServer,
    read_terminal,
    socket_path,
)
from meshdev.sources.messages import Command, Message, Reply
from meshdev.sources.signals import install_signal_handlers
from meshdev.supervise.loop import Supervisor


def run(supervisor: Supervisor, commands: IO[str] | None) -> int:
    """`commands`: meshdev's stdin, where `r`, `r NAME` and `rs` are typed (None: not read)."""
    try:
        control = _listen_for_commands(supervisor, commands)
    except AlreadyRunning as other:
        # Before anything starts: a second set of agents would fight the first for its ports
        # and share its state files.
        supervisor.emit(Event("warning", {"message": _refusal(supervisor, other)}))
        return FAILURE
    install_signal_handlers(supervisor.post_signal)
    supervisor.start()
    while supervisor.exit_code is None:
        supervisor.step(_next_message(supervisor))
    if control is not None:
        control.close()
    return supervisor.stop()


def _refusal(supervisor: Supervisor, other: AlreadyRunning) -> str:
    pid = f"pid {other.pid}" if other.pid else "its pid unknown"
    return (
        f"another meshdev ({pid}) already runs for {supervisor.project.root}; nothing started. "
        "`meshdev reload [NAME]` reaches that one; stop it first to start this one"
    )


def _next_message(supervisor: Supervisor) -> Message | None:
    deadline = supervisor.next_deadline()
    timeout = None if deadline is None else max(0.0, deadline - supervisor.clock())
    try:
        return supervisor.inbox.get(timeout=timeout)
    except queue.Empty:
        return None


def _listen_for_commands(supervisor: Supervisor, commands: IO[str] | None) -> ControlServer | None:
    """The control socket, claimed before any agent starts. AlreadyRunning for `meshdev start`;
    `meshdev mcp` runs anyway (each MCP client starts its own server), without a socket."""

    def post(text: str, reply: Reply) -> None:
        supervisor.inbox.put(Command(text, reply))

    def say(text: str) -> None:
        supervisor.emit(Event("command", {"reply": text}))

    path = socket_path(supervisor.project.root)
    try:
        control = ControlServer(path, post, exclusive=not supervisor.project.serves_mcp)
    except AlreadyRunning as other:
        if not supervisor.project.serves_mcp:
            raise
        control = None
        message = f"{other}; `meshdev reload` reaches that one, not this one"
        supervisor.emit(Event("warning", {"message": message}))
    except (ControlError, OSError) as exc:
        control = None
        message = f"`meshdev reload` cannot reach this meshdev: {exc}"
        supervisor.emit(Event("warning", {"message": message}))
    if commands is not None:
        read_terminal(commands, post, say)
    return control
