"""The real driver of the loop: signals and commands wired to the inbox, messages fed to `step`
as they arrive (or when the next deadline passes), and the end."""

from __future__ import annotations

import queue
from typing import IO

from meshdev.events import Event
from meshdev.sources.commands import ControlServer, read_terminal, send, socket_path
from meshdev.sources.messages import Command, Message, Reply
from meshdev.sources.signals import install_signal_handlers
from meshdev.supervise.loop import Supervisor


def run(supervisor: Supervisor, commands: IO[str] | None) -> int:
    """`commands`: meshdev's stdin, where `r`, `r NAME` and `rs` are typed (None: not read)."""
    install_signal_handlers(supervisor.post_signal)
    supervisor.start()
    control = _listen_for_commands(supervisor, commands)
    while supervisor.exit_code is None:
        supervisor.step(_next_message(supervisor))
    if control is not None:
        control.close()
    return supervisor.stop()


def _next_message(supervisor: Supervisor) -> Message | None:
    deadline = supervisor.next_deadline()
    timeout = None if deadline is None else max(0.0, deadline - supervisor.clock())
    try:
        return supervisor.inbox.get(timeout=timeout)
    except queue.Empty:
        return None


def _listen_for_commands(supervisor: Supervisor, commands: IO[str] | None) -> ControlServer | None:
    def post(text: str, reply: Reply) -> None:
        supervisor.inbox.put(Command(text, reply))

    def say(text: str) -> None:
        supervisor.emit(Event("command", {"reply": text}))

    if commands is not None:
        read_terminal(commands, post, say)
    path = socket_path(supervisor.project.root)
    try:
        send(path, "ping")
    except OSError:
        return ControlServer(path, post)
    message = (
        "another meshdev already runs for this project; `meshdev reload` reaches that one, "
        "this one takes commands on its terminal only"
    )
    supervisor.emit(Event("warning", {"message": message}))
    return None
