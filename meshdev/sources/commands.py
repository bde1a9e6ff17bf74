"""Commands to a running meshdev: typed on its terminal (`r`, `r NAME`, nodemon's `rs`) or sent by
`meshdev reload [NAME]` from another terminal over a Unix socket private to the user.

The socket lives in the project's `.meshdev/` (0700); when that path is too long for a Unix socket
address, in a 0700 folder of the user's under the temporary directory, named by the root's hash.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import socket
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from meshdev.sources.messages import Reply

_MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes on Linux, 104 on macOS
_TIMEOUT = 10.0


@dataclass(frozen=True)
class Command:
    verb: str  # "reload"
    agents: tuple[str, ...]  # () means all


def parse(text: str) -> Command | None:
    """`r`, `rs`, `reload` (all agents) or `r NAME ...`; None for anything else."""
    words = text.split()
    if not words or words[0] not in ("r", "rs", "reload"):
        return None
    return Command("reload", tuple(words[1:]))


def understand(text: str, known: list[str]) -> tuple[list[str], str]:
    """(agents to reload, the answer): no agents when the command is not understood."""
    if text.strip() == "ping":
        return [], "pong"
    command = parse(text)
    if command is None:
        return [], f"unknown command {text.strip()!r}: type r (reload all), r NAME, or rs"
    unknown = [n for n in command.agents if n not in known]
    if unknown:
        return [], f"no agent named {', '.join(unknown)} (agents: {', '.join(known)})"
    names = list(command.agents) or known
    return names, f"reloaded {', '.join(names)}"


def socket_path(root: Path) -> Path:
    preferred = root / ".meshdev" / "control.sock"
    if len(str(preferred)) <= _MAX_SOCKET_PATH:
        return preferred
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / f"meshdev-{os.getuid()}"
    return folder / f"{digest}.sock"


CommandSink = Callable[[str, Reply], None]


class ControlServer:
    """Accepts one-line commands; the sink answers through the reply function it is given."""

    def __init__(self, path: Path, sink: CommandSink) -> None:
        self.path = path
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # left by a meshdev that was killed
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(path))
        os.chmod(path, 0o600)
        self._server.listen(8)
        self._sink = sink
        threading.Thread(target=self._serve, name="meshdev-control", daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return  # closed
            conn.settimeout(_TIMEOUT)
            try:
                text = conn.makefile("r", encoding="utf-8").readline()
            except OSError:
                conn.close()
                continue
            self._sink(text, functools.partial(_answer, conn))

    def close(self) -> None:
        self._server.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _answer(conn: socket.socket, reply: str) -> None:
    with contextlib.suppress(OSError), conn:
        conn.sendall((reply + "\n").encode())


def send(path: Path, text: str) -> str:
    """Send one command and return the answer; OSError when no meshdev listens there."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(_TIMEOUT)
        conn.connect(str(path))
        conn.sendall((text.strip() + "\n").encode())
        return conn.makefile("r", encoding="utf-8").read().strip()


def read_terminal(stream: IO[str], sink: CommandSink, say: Reply) -> None:
    """Lines typed on meshdev's own stdin, on a thread; returns at end of input."""

    def loop() -> None:
        for line in stream:
            if line.strip():
                sink(line, say)

    threading.Thread(target=loop, name="meshdev-stdin", daemon=True).start()
