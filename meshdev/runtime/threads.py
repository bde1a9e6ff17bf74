"""The few thread primitives the runtime needs, straight from the C modules `_thread` and
`_signal`: `threading` (with functools and collections) and `signal` (with enum) would cost every
agent start about 10 ms. Runs inside agents only.
"""

from __future__ import annotations

import _thread

TYPE_CHECKING = False  # not `from typing import`: typing costs every agent start 4 ms
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

Lock = _thread.allocate_lock
RLock = _thread.RLock


def start(target: Callable[..., Any], *args: Any) -> None:
    """A background thread that never keeps the agent from exiting."""
    _thread.start_new_thread(target, args)


class Wake:
    """A wake-up call between threads: `set()` from anywhere, `wait()` in one waiting thread.
    Several calls before a wait make one wake-up."""

    def __init__(self) -> None:
        self._lock = _thread.allocate_lock()
        self._lock.acquire()

    def set(self) -> None:
        try:
            self._lock.release()
        except RuntimeError:
            pass  # already set

    def wait(self) -> None:
        self._lock.acquire()
