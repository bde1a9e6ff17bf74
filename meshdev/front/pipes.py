"""Writing into a pipe without ever blocking the writer: the MCP front's way to its client and
to each server process, from threads that must stay free to read."""

from __future__ import annotations

import os
import select
import stat
import threading
from collections import deque
from collections.abc import Callable

Data = bytes | memoryview


class Writer:
    """Writes what it is given, in order, never blocking the caller.

    Into a pipe or a socket: straight away from the caller's thread while the pipe takes it all
    (no hand-off to another thread — the common case, and most of what relaying a call used to
    cost); what the pipe does not take is queued for the writer's own thread, which waits for the
    pipe to drain, so a full pipe one way never stops the other way. Into anything else (a file, a
    terminal, a process's stdin without a file descriptor), always from that thread.
    """

    def __init__(
        self, write: Callable[[bytes], object], fd: int | None = None, owns: bool = False
    ) -> None:
        self._write = write
        self._fd = fd if fd is not None and _made_nonblocking(fd) else None
        self._owned = fd if owns else None  # closed once everything queued is written
        self._backlog: deque[bytes] = deque()
        self._busy = False  # the thread is writing what it took from the backlog
        self._closed = False
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="meshdev-mcp-writer", daemon=True)
        self._thread.start()

    @property
    def direct(self) -> bool:
        """Whether writes can happen on the caller's thread."""
        return self._fd is not None

    def put(self, data: bytes) -> None:
        with self._wake:
            if self._closed:
                return  # too late: the other end is being closed
            if self._fd is not None and not self._backlog and not self._busy:
                data = data[_write_some(self._fd, data) :]
                if not data:
                    return
            self._backlog.append(data)
            self._wake.notify()

    def close(self, wait_seconds: float = 0.0) -> None:
        """No more to write; with `wait_seconds`, until what was queued is written."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        if wait_seconds:
            self._thread.join(wait_seconds)

    def _run(self) -> None:
        while (data := self._next()) is not None:
            if self._fd is None:
                self._write(data)
            else:
                _write_all(self._fd, data)
            with self._wake:
                self._busy = False
        if self._owned is not None:
            os.close(self._owned)  # no put can write any more: `closed` is checked under the lock

    def _next(self) -> bytes | None:
        with self._wake:
            while not self._backlog and not self._closed:
                self._wake.wait()
            if not self._backlog:
                return None
            self._busy = True
            return self._backlog.popleft()


def _made_nonblocking(fd: int) -> bool:
    """Only pipes and sockets: nobody but meshdev writes into its end of them."""
    try:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
            return False
        os.set_blocking(fd, False)
    except OSError:
        return False
    return True


def _write_some(fd: int, data: Data) -> int:
    """How much the pipe took; all of it when its reader went away (nobody left to tell)."""
    try:
        return os.write(fd, data)
    except BlockingIOError:
        return 0
    except OSError:
        return len(data)


def _write_all(fd: int, data: bytes) -> None:
    waiting = select.poll()
    waiting.register(fd, select.POLLOUT)
    view = memoryview(data)
    while view:
        waiting.poll()  # writable, or its reader gone (POLLERR): the write then says so
        view = view[_write_some(fd, view) :]
