"""No orphans, on Linux: the process meshdev starts for an agent forks, before any of the agent's
code runs, into the agent and its keeper.

The keeper is the agent's parent and a child subreaper (`PR_SET_CHILD_SUBREAPER`): everything the
agent starts stays below it, even a daemon that double-forks and calls `setsid()`, because an
orphan re-parents to the nearest subreaper, not to init. It runs none of the agent's code, so it
acts when the agent cannot (blocked in a C call that holds the GIL), and it outlives `kill -9` of
meshdev. It ends the whole tree below it, never only a process group:

- meshdev asks (SIGTERM to the keeper): the signal goes to the keeper's group, the agent's, and
  to every descendant outside it; SIGKILL to all of them at the end of the grace period, or at
  once when meshdev sends SIGUSR1 (its own grace period is over);
- meshdev is gone (its end of the lifeline pipe closed, whatever killed it): the same;
- the agent exited on its own (a crash, or done): what it left behind gets the same.

The keeper exits when nothing is left below it, with the agent's exit status, so meshdev sees
the agent's exit once its whole tree is gone. The agent gets `PR_SET_PDEATHSIG(SIGKILL)`: if the
keeper is killed (`kill -9` of the pid meshdev shows), the agent goes with it.
"""

from __future__ import annotations

import os
import time

from meshdev.runtime import lifeline, protocol
from meshdev.runtime.reaping import exited_children

TYPE_CHECKING = False  # not `from typing import`: typing costs every agent start 4 ms
if TYPE_CHECKING:
    import signal as _signal  # the same API, typed
    from collections.abc import Callable
    from typing import NoReturn
else:
    import _signal  # signal without enum: 3 ms less at every agent start

PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
PR_SET_CHILD_SUBREAPER = 36
NAME = b"meshdev-keeper"  # what `ps` shows, and how `processes/probe.py` recognises a keeper
KILL_NOW = _signal.SIGUSR1
_STOPS = (_signal.SIGTERM, _signal.SIGINT, _signal.SIGHUP)
_POLL_SECONDS = 0.02  # only while waiting for descendants to go: grandchildren raise no SIGCHLD


def start(lifeline_fd: int, report_fd: int, grace_seconds: float) -> None:
    """Returns in the agent; the keeper never returns. Where prctl is missing (not Linux), the
    lifeline thread inside the agent guards instead."""
    prctl = _prctl()
    if prctl is None or prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        lifeline.guard(lifeline_fd, grace_seconds)
        return
    keeper = os.getpid()
    # Blocked across the fork: a stop request arriving now must reach the keeper's handlers,
    # not the agent's SIGTERM-to-SystemExit one that the keeper inherited.
    previous = _signal.pthread_sigmask(_signal.SIG_BLOCK, {_signal.SIGCHLD, KILL_NOW, *_STOPS})
    agent = os.fork()
    if agent == 0:
        prctl(PR_SET_PDEATHSIG, _signal.SIGKILL, 0, 0, 0)
        if os.getppid() != keeper:
            os._exit(128 + _signal.SIGKILL)  # the keeper died before the guard was set
        os.close(lifeline_fd)
        line = f'{{"{protocol.KIND}":"{protocol.KEPT}","pid":{os.getpid()}}}\n'
        os.write(report_fd, line.encode())  # one short write: never interleaved with another
        _signal.pthread_sigmask(_signal.SIG_SETMASK, previous)
        return
    try:
        prctl(PR_SET_NAME, NAME, 0, 0, 0)
        os.close(report_fd)
        Keeper(agent, lifeline_fd, grace_seconds).run(previous)
    finally:
        os._exit(1)  # never back into the agent's start-up, whatever happened


def prepare() -> None:
    """Load what `start` needs (_ctypes, libffi) now, while there is time: a spare interpreter
    waiting for its start (processes/spare.py)."""
    _prctl()


def _prctl() -> Callable[..., int] | None:
    if not _PRCTL:
        _PRCTL.append(_resolve_prctl())
    return _PRCTL[0]


_PRCTL: list[Callable[..., int] | None] = []  # resolved once


def _resolve_prctl() -> Callable[..., int] | None:
    """prctl(2) through _ctypes alone: the ctypes package costs every agent start 4-7 ms."""
    if not hasattr(os, "fork") or not os.path.exists("/proc/self/task"):
        return None
    try:
        import _ctypes
    except ImportError:
        return None

    simple = _ctypes._SimpleCData[int] if TYPE_CHECKING else _ctypes._SimpleCData

    class _Int(simple):  # type: ignore[valid-type, misc]
        _type_ = "i"

    class _Function(_ctypes.CFuncPtr):
        _flags_ = _ctypes.FUNCFLAG_CDECL
        _restype_ = _Int

    class _Libc:  # what CFuncPtr reads from a library: its handle (None: this process's symbols)
        _handle = _ctypes.dlopen(None, getattr(os, "RTLD_NOW", 2))  # type: ignore[arg-type]

    try:
        return _Function(("prctl", _Libc()))  # type: ignore[arg-type]
    except (AttributeError, OSError):
        return None


class Keeper:
    def __init__(self, agent: int, lifeline_fd: int, grace_seconds: float) -> None:
        self.agent = agent
        self.lifeline = lifeline_fd
        self.grace = grace_seconds
        self.group = os.getpgrp()
        self.status: int | None = None  # the agent's wait status once it exited
        self.stopping = False
        self.deadline: float | None = None  # when whatever is left gets SIGKILL

    def run(self, mask: set[int]) -> NoReturn:
        import select

        wake_r, wake_w = os.pipe()
        for fd in (wake_r, wake_w):
            os.set_blocking(fd, False)
        _signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        for signum in (_signal.SIGCHLD, KILL_NOW, *_STOPS):
            _signal.signal(signum, _noted)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)  # an MCP server's stdin is the agent's to read, and to see closed
        os.close(null)
        _signal.pthread_sigmask(_signal.SIG_SETMASK, mask)
        watched = [wake_r, self.lifeline]
        while True:
            timeout = self._step()
            ready = select.select(watched, [], [], timeout)[0]
            if self.lifeline in ready and not _drained(self.lifeline):
                watched.remove(self.lifeline)
                self._stop(_signal.SIGTERM)  # meshdev is gone
            if wake_r in ready:
                for number in os.read(wake_r, 256):
                    if number in _STOPS:
                        self._stop(number)
                    elif number == KILL_NOW:
                        self._kill_by(time.monotonic())

    def _step(self) -> float | None:
        """Reap, look at what is left, exit when nothing is, kill what outlived the deadline;
        how long the loop may then sleep (None: until a signal or the lifeline)."""
        self._reap()
        me = os.getpid()
        left = descendants(me)
        if self.status is not None and not left:
            _exit_like(self.status)
        if self.status is not None and not self.stopping:
            self._stop(_signal.SIGTERM)  # the agent ended: what it started goes too
        if self.deadline is None:
            return None
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            for pid, _, _ in left:
                _send(pid, _signal.SIGKILL)
            return _POLL_SECONDS
        # The keeper's own children raise SIGCHLD as they go; only grandchildren are polled for.
        return remaining if all(parent == me for _, _, parent in left) else _POLL_SECONDS

    def _stop(self, signum: int) -> None:
        if self.stopping:
            return  # one stop: the keeper's own signal to its group comes back to it
        self.stopping = True
        self._kill_by(time.monotonic() + self.grace)
        try:
            os.killpg(self.group, signum)
        except OSError:
            pass
        for pid, group, _ in descendants(os.getpid()):
            if group != self.group:  # setsid() or setpgid(): out of reach of the group signal
                _send(pid, signum)

    def _kill_by(self, deadline: float) -> None:
        if self.deadline is None or deadline < self.deadline:
            self.deadline = deadline

    def _reap(self) -> None:
        for pid, status in exited_children():
            if pid == self.agent:
                self.status = status


def descendants(root: int) -> list[tuple[int, int, int]]:
    """(pid, process group, parent) of every living process below `root`; zombies count as
    gone."""
    found: list[tuple[int, int, int]] = []
    seen = {root}
    todo = [root]
    while todo:
        parent = todo.pop()
        for pid in _children(parent):
            if pid in seen:
                continue
            seen.add(pid)
            todo.append(pid)
            stat = _stat(pid)
            if stat is not None and stat[0] not in ("Z", "X"):
                found.append((pid, stat[1], parent))
    return found


def _children(pid: int) -> list[int]:
    """From /proc/PID/task/TID/children: a child belongs to the thread that started it."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    kids: list[int] = []
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as handle:
                kids += [int(k) for k in handle.read().split()]
        except (OSError, ValueError):
            pass
    return kids


def _stat(pid: int) -> tuple[str, int] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rpartition(b")")[2].split()
        return fields[0].decode(), int(fields[3])
    except (OSError, ValueError, IndexError):
        return None


def _drained(fd: int) -> bool:
    """False at end of file: meshdev closed its end (it never writes)."""
    try:
        return bool(os.read(fd, 4096))
    except BlockingIOError:
        return True
    except OSError:
        return False


def _send(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except OSError:
        pass  # gone already


def _noted(signum: int, frame: object) -> None:
    """The wakeup fd carries the signal to the loop; nothing to do in the handler itself."""


def _exit_like(status: int) -> NoReturn:
    """The agent's exit status as the keeper's own, so meshdev reads it from the pid it knows."""
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        try:
            import resource

            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # the agent's core, not ours
        except (ImportError, OSError, ValueError):
            pass
        _signal.signal(signum, _signal.SIG_DFL)
        _signal.pthread_sigmask(_signal.SIG_UNBLOCK, {signum})
        os.kill(os.getpid(), signum)
        os._exit(128 + signum)  # a signal whose default is not to end the process
    os._exit(os.waitstatus_to_exitcode(status))
