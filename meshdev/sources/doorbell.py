"""A doorbell for the file watch: an inotify descriptor on the same folders, that a thread can
sleep on for as long as nothing changes (Linux).

watchfiles' Rust loop finds changes by waking every `step` milliseconds; a short step costs CPU
while idle, a long one delays the first save after a pause. With the doorbell the watcher
sleeps in `select()` on it, costing nothing while idle, and asks watchfiles (whose own watch
has queued the changes meanwhile) only once it rang, with the short step. Where inotify is not
there, or the folders cannot all be watched twice (the per-user watch limit), there is no
doorbell and the step adapts as before.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import select
from collections.abc import Sequence
from pathlib import Path

# Anything that can mean a change to a folder's entries or a file's content.
_MASK = (
    0x00000002  # IN_MODIFY
    | 0x00000004  # IN_ATTRIB
    | 0x00000008  # IN_CLOSE_WRITE
    | 0x00000040  # IN_MOVED_FROM
    | 0x00000080  # IN_MOVED_TO
    | 0x00000100  # IN_CREATE
    | 0x00000200  # IN_DELETE
    | 0x00000400  # IN_DELETE_SELF
    | 0x00000800  # IN_MOVE_SELF
)
_NONBLOCK_CLOEXEC = 0o4000 | 0o2000000  # IN_NONBLOCK | IN_CLOEXEC


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """This process's own symbols, libc's among them: `find_library("c")` would run `ldconfig -p`
    (a process, tens of milliseconds) at every arming of the watch."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.inotify_init1, libc.inotify_add_watch  # noqa: B018 - present, or AttributeError
    except (OSError, AttributeError):
        return None
    return libc


class Doorbell:
    """Rings (its fd turns readable) at any change in the folders it was made for."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    @classmethod
    def for_folders(cls, folders: Sequence[Path]) -> Doorbell | None:
        """None where it cannot watch every one of them."""
        libc = _libc()
        if libc is None:
            return None
        fd = libc.inotify_init1(_NONBLOCK_CLOEXEC)
        if fd < 0:
            return None
        for folder in folders:
            if libc.inotify_add_watch(fd, os.fsencode(folder), _MASK) < 0:
                os.close(fd)  # a limit reached, or a folder gone: the step adapts instead
                return None
        return cls(fd)

    def wait(self, seconds: float, also: int) -> bool:
        """Until it rang (True), `also` turned readable or the time passed (False); what rang is
        cleared."""
        waiting = select.poll()  # not select(): descriptors past 1024 are fine
        waiting.register(self.fd, select.POLLIN)
        waiting.register(also, select.POLLIN)
        try:
            ready = {fd for fd, _ in waiting.poll(seconds * 1000)}
        except OSError:
            return True  # closed under us: let the caller look
        if self.fd not in ready:
            return False
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(self.fd, 65536):
                pass
        return True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)
