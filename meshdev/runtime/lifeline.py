"""No orphans: when meshdev dies, even by `kill -9`, the agent and everything it spawned go too.

meshdev holds the write end of a pipe; the agent blocks on the read end. End of file means meshdev
is gone. The agent then SIGTERMs its own process group (itself included: a normal exit, so atexit
and finally run) and leaves a tiny reaper outside the group that SIGKILLs whatever is left of the
group after the grace period — grandchildren that ignore SIGTERM included.
"""

from __future__ import annotations

import os
import time

from meshdev.runtime import threads

TYPE_CHECKING = False  # not `from typing import`: typing costs every agent start 4 ms
if TYPE_CHECKING:
    import signal as _signal  # the same API, typed
else:
    import _signal  # signal without enum: 3 ms less at every agent start


def guard(fd: int, grace_seconds: float) -> None:
    threads.start(_wait_for_parent, fd, grace_seconds)


def _wait_for_parent(fd: int, grace_seconds: float) -> None:
    try:
        while os.read(fd, 4096):
            pass  # meshdev never writes; tolerate it anyway
    except OSError:
        pass
    _stop_group(grace_seconds)


def _stop_group(grace_seconds: float) -> None:
    group = os.getpgrp()
    # The reaper must not receive the SIGTERM that comes next: fork it with SIGTERM blocked.
    previous = _signal.pthread_sigmask(_signal.SIG_BLOCK, {_signal.SIGTERM})
    pid = os.fork()
    if pid == 0:
        _reap(group, grace_seconds)
    _signal.pthread_sigmask(_signal.SIG_SETMASK, previous)
    os.killpg(group, _signal.SIGTERM)


def _reap(group: int, grace_seconds: float) -> None:
    try:
        os.setsid()
        deadline = time.monotonic() + grace_seconds
        while time.monotonic() < deadline and _group_alive(group):
            time.sleep(0.05)
        if _group_alive(group):
            os.killpg(group, _signal.SIGKILL)
    finally:
        os._exit(0)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
