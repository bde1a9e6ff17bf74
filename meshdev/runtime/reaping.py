"""Reaping children without waiting: the keeper's and the warm template's loops both need it."""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not `from typing import`: typing costs every agent start 4 ms
if TYPE_CHECKING:
    from collections.abc import Iterator


def exited_children() -> Iterator[tuple[int, int]]:
    """(pid, wait status) of every child that has exited by now; none is waited for."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        yield pid, status
