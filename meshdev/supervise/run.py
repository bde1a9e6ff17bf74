"""The real driver of the loop: signals and commands wired to the inbox, messages fed to `step`
as they arrive (or when the next deadline passes), and the end.

The control socket is claimed before (supervise/listening.py).
"""

from __future__ import annotations

import queue
from typing import IO, TYPE_CHECKING

from meshdev.events import Event
from meshdev.sources.messages import Command, Message, Reply
from meshdev.sources.signals import install_signal_handlers
from meshdev.sources.typed import read_terminal

if TYPE_CHECKING:
    from meshdev.supervise.listening import Listening
    from meshdev.supervise.loop import Supervisor


def run(supervisor: Supervisor, commands: IO[str] | None, listening: Listening) -> int:
    """`commands`: meshdev's stdin, where `r`, `r NAME` and `rs` are typed (None: not read)."""

    def post(text: str, reply: Reply) -> None:
        supervisor.inbox.put(Command(text, reply))

    def say(text: str) -> None:
        supervisor.emit(Event("command", {"reply": text}))

    listening.later.connect(post)
    if commands is not None:
        read_terminal(commands, post, say)
    install_signal_handlers(supervisor.post_signal)
    supervisor.start()
    while supervisor.exit_code is None:
        supervisor.step(_next_message(supervisor))
    listening.close()
    return supervisor.stop()


def _next_message(supervisor: Supervisor) -> Message | None:
    deadline = supervisor.next_deadline()
    timeout = None if deadline is None else max(0.0, deadline - supervisor.clock())
    try:
        return supervisor.inbox.get(timeout=timeout)
    except queue.Empty:
        return None
