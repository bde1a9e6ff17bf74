"""Commands to a running meshdev: typed on its terminal (`r`, `r NAME`, nodemon's `rs`) or sent by
`meshdev reload [NAME]` from another terminal over a Unix socket private to the user.

The socket lives in the project's `.meshdev/`; when that path is too long for a Unix socket address
or `.meshdev/` is not the user's own writable folder, in the user's runtime folder
(`$XDG_RUNTIME_DIR/meshdev`, else `meshdev-UID` in the temporary folder), named by the root's hash.
Either folder is used only once it is verified to be a real 0700 folder owned by the user (see
`runtime/private.py`): one made first by someone else is refused, never chmodded or trusted. Both
ends check the other's uid (SO_PEERCRED, Linux), so a command never reaches another user's
process and another user's process never gets an answer.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from meshdev.runtime import private

if TYPE_CHECKING:  # imported before the first spawn: only what it needs
    from meshdev.sources.messages import Reply

_MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes on Linux, 104 on macOS
_PRIVATE, _NAME = ".meshdev", "control.sock"
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
    """Where this project's meshdev listens: in its `.meshdev/` when the address fits, else in
    the user's runtime folder, named by the root's hash."""
    preferred = root / _PRIVATE / _NAME
    return preferred if len(str(preferred)) <= _MAX_SOCKET_PATH else _fallback(root)


def _fallback(root: Path) -> Path:
    import hashlib  # rarely needed: its OpenSSL costs 5 ms

    digest = hashlib.sha256(str(root).encode()).hexdigest()[:16]
    return Path(private.user_runtime_dir()) / f"{digest}.sock"


def _candidates(path: Path) -> Iterator[Path]:
    """The socket_path of a project, and the runtime folder's when `.meshdev/` cannot be used
    (someone else's, a link, read-only): the server takes the first that works, a client tries
    both. The second only when asked for: finding it imports hashlib and tempfile."""
    yield path
    if path.name == _NAME and path.parent.name == _PRIVATE:
        yield _fallback(path.parent.parent)


class ControlError(OSError):
    """The control socket cannot be used safely; the message says why and what to do."""


class AlreadyRunning(Exception):
    def __init__(self, pid: int | None, path: Path) -> None:
        super().__init__(f"another meshdev (pid {pid or '?'}) already runs here ({path})")
        self.pid = pid
        self.path = path


CommandSink = Callable[[str, "Reply"], None]


class ControlServer:
    """Accepts one-line commands from the user's own processes (checked by SO_PEERCRED); the
    sink answers through the reply function it is given.

    The lock file beside the socket, held while meshdev runs (the kernel drops it even after
    `kill -9`), makes a second meshdev of the same project refuse before it starts anything.
    Not `exclusive` (`meshdev mcp`: every MCP client starts its own), the lock is let go once the
    socket is bound: a later `meshdev start` takes the socket over instead of being refused."""

    def __init__(self, path: Path, sink: CommandSink, exclusive: bool = True) -> None:
        refused: list[str] = []
        for candidate in _candidates(path):
            try:
                private.ensure_dir(str(candidate.parent))
            except private.PrivateError as exc:
                refused.append(str(exc))
                continue
            try:
                self._lock = _lock(candidate)  # AlreadyRunning when another meshdev holds it
            except OSError as exc:
                refused.append(f"{candidate.parent}: {exc.strerror}")
                continue
            try:
                self._server = _bind(candidate)
            except OSError as exc:
                os.close(self._lock)
                refused.append(f"{candidate}: {exc.strerror}")
                continue
            self.path = candidate
            self._inode = candidate.lstat().st_ino
            self._sink = sink
            if not exclusive:
                os.close(self._lock)
                self._lock = -1
            threading.Thread(target=self._serve, name="meshdev-control", daemon=True).start()
            return
        raise ControlError(f"no safe place for the control socket: {'; '.join(refused)}")

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return  # closed
            if not _same_user(conn):
                conn.close()  # someone else's process: not a word
                continue
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
            if self.path.lstat().st_ino == self._inode:  # not one a later meshdev took over
                self.path.unlink()
        if self._lock >= 0:
            os.close(self._lock)  # the lock file stays: removing it would race the next meshdev


def _lock(path: Path) -> int:
    lock_path = path.with_suffix(".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        text = os.read(fd, 32).decode("ascii", "replace").strip()
        os.close(fd)
        raise AlreadyRunning(int(text) if text.isdigit() else None, path) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _bind(path: Path) -> socket.socket:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # left by a meshdev that was killed: the lock says none runs
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(path))
        os.chmod(path, 0o600)
        server.listen(8)
    except OSError:
        server.close()
        raise
    return server


def _peer_uid(conn: socket.socket) -> int | None:
    """The uid of the process at the other end (Linux); None where the kernel does not say."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, option, 12))
    return int(uid)


def _same_user(conn: socket.socket) -> bool:
    uid = _peer_uid(conn)
    return uid is None or uid == os.geteuid()


def _answer(conn: socket.socket, reply: str) -> None:
    with contextlib.suppress(OSError), conn:
        conn.sendall((reply + "\n").encode())


def send(path: Path, text: str) -> str:
    """Send one command to the meshdev listening at `path` (or at the runtime folder's socket of
    the same project) and return the answer. OSError when no meshdev listens; ControlError when
    the socket or its folder is someone else's: nothing is sent to another user."""
    for candidate in _candidates(path):
        if private.kind_of(str(candidate)) is None:
            continue
        _check_folder(candidate.parent)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(_TIMEOUT)
            try:
                conn.connect(str(candidate))
            except (ConnectionRefusedError, FileNotFoundError):
                continue  # left by a meshdev that was killed
            if not _same_user(conn):
                raise ControlError(
                    f"{candidate} is answered by another user's process (uid "
                    f"{_peer_uid(conn)}); nothing was sent to it"
                )
            conn.sendall((text.strip() + "\n").encode())
            return conn.makefile("r", encoding="utf-8").read().strip()
    raise FileNotFoundError(f"no meshdev listens at {path}")


def _check_folder(folder: Path) -> None:
    if not private.owned(str(folder)) or private.kind_of(str(folder)) != "dir":
        raise ControlError(
            f"{folder} is not a folder of yours; refusing to talk to a socket in it "
            "(remove it, or set XDG_RUNTIME_DIR to a private folder)"
        )
