"""No orphans: when meshdev dies, even by `kill -9`, the agent and everything it spawned go too.

meshdev holds the write end of a pipe; the agent blocks on the read end. End of file means meshdev
is gone. The agent then SIGTERMs its own process group (itself included: a normal exit, so atexit
and finally run) and leaves a tiny reaper outside the group that SIGKILLs whatever is left of the
group after the grace period — grandchildren that ignore SIGTERM included.
"""

from __future__ import annotations

import os
import signal
import threading
import time


def guard(fd: int, grace_seconds: float) -> None:
    thread = threading.Thread(
        target=_wait_for_parent, args=(fd, grace_seconds), name="meshdev-lifeline", daemon=True
    )
    thread.start()


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
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    pid = os.fork()
    if pid == 0:
        _reap(group, grace_seconds)
    signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    os.killpg(group, signal.SIGTERM)


def _reap(group: int, grace_seconds: float) -> None:
    try:
        os.setsid()
        deadline = time.monotonic() + grace_seconds
        while time.monotonic() < deadline and _group_alive(group):
            time.sleep(0.05)
        if _group_alive(group):
            os.killpg(group, signal.SIGKILL)
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
