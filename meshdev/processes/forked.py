"""meshdev's side of a warm template (`meshdev/runtime/template.py`): the template process and its
channel, and each agent forked from it, which looks to the rest of meshdev like a `Popen`.

An agent forked by a template is the template's child, not meshdev's: its exit code comes back
over the channel. So a template that is replaced (stale, or its record grew) is only retired — it
takes no more starts, and goes once the last of its agents has exited.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from typing import IO, Any

from meshdev.interfaces import SpawnRequest
from meshdev.processes.spawn import report_channel

_BOOT = "import sys; from meshdev.runtime.template import main; main()"
ANSWER_SECONDS = 5.0  # a start the template has not answered by then is a fresh start


class Template:
    def __init__(self, env: dict[str, str], names: list[str]) -> None:
        self.preload = list(dict.fromkeys(names))  # in the order it imports them
        self.names = frozenset(names)  # and, once ready, every module it has
        self.failure: str | None = None  # why it cannot serve (set once)
        self.unsafe = False  # its imports leave what a fork cannot share: never worth a rebuild
        self.ready = threading.Event()
        self._paths: dict[str, float] = {}  # its sys.path folders and their mtimes at build
        self._channel, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._answers: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self._children: dict[int, ForkedProcess] = {}
        self._early_exits: dict[int, int] = {}  # exits told before the start was answered
        self._start_lock = threading.Lock()
        self._lock = threading.Lock()
        self._retired = False
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _BOOT, str(theirs.fileno())],
                env=env,
                cwd="/",
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
            )
        finally:
            theirs.close()
        self._channel.send(json.dumps({"preload": names}).encode())
        threading.Thread(target=self._read, name="meshdev-template", daemon=True).start()

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def building(self) -> bool:
        return not self.ready.is_set() and self.failure is None

    def lacks(self, names: list[str]) -> bool:
        return not self.names.issuperset(names)

    def why_not(self) -> str | None:
        """Why it cannot fork a start now, or None."""
        if self.failure is not None:
            return self.failure
        if not self.ready.is_set():
            return "the warm template is still importing"
        changed = [p for p, mtime in self._paths.items() if _mtime(p) != mtime]
        if changed:
            return f"{changed[0]} changed since the warm template imported it"
        return None

    def start(self, spec: dict[str, Any], fds: list[int]) -> int:
        """Fork an agent; its pid. OSError when the template cannot."""
        with self._start_lock:
            why = self.why_not()
            if why is not None:
                raise OSError(why)
            message = json.dumps({"start": spec}).encode()
            socket.send_fds(self._channel, [message], fds)
            try:
                pid = self._answers.get(timeout=ANSWER_SECONDS)
            except queue.Empty:
                self._fail("the warm template did not answer a start")
                raise OSError("the warm template did not answer") from None
            if pid is None:
                raise OSError(self.failure or "the warm template refused the start")
            return pid

    def track(self, child: ForkedProcess) -> None:
        with self._lock:
            code = self._early_exits.pop(child.pid, None)
            if code is None:
                self._children[child.pid] = child
        if code is not None:
            child.exited(code)

    def close(self) -> None:
        """Take no more starts; end the template once its last agent exited."""
        with self._lock:
            self._retired = True
            idle = not self._children
        if idle:
            self._end()

    def _read(self) -> None:
        while True:
            try:
                data = self._channel.recv(1 << 20)
            except OSError:
                data = b""
            if not data:
                return self._gone()
            self._take(json.loads(data))

    def _take(self, message: dict[str, Any]) -> None:
        if "ready" in message:
            found = message["ready"]
            self.names = self.names | frozenset(found.get("modules", []))
            self._paths = {p: _mtime(p) for p in found.get("paths", [])}
            self.ready.set()
        elif "unsafe" in message:
            self.unsafe = True
            self._fail(f"the warm template cannot be used: {message['unsafe']}")
        elif "started" in message:
            self._answers.put(int(message["started"]))
        elif "refused" in message:
            self._answers.put(None)
        elif "exited" in message:
            self._exited(int(message["exited"]), int(message["code"]))

    def _exited(self, pid: int, code: int) -> None:
        with self._lock:
            child = self._children.pop(pid, None)
            if child is None:
                self._early_exits[pid] = code
            last = self._retired and not self._children
        if child is not None:
            child.exited(code)
        if last:
            self._end()

    def _gone(self) -> None:
        """The template exited: its agents' exits can no longer be told; watch them instead."""
        self._fail("the warm template exited")
        self._answers.put(None)
        with self._lock:
            orphans, self._children = list(self._children.values()), {}
        for child in orphans:
            threading.Thread(target=child.watch_orphan, daemon=True).start()
        with contextlib.suppress(OSError):
            self._process.wait(timeout=5)

    def _fail(self, why: str) -> None:
        if self.failure is None:
            self.failure = why

    def _end(self) -> None:
        with contextlib.suppress(OSError):
            self._channel.shutdown(socket.SHUT_RDWR)


class ForkedProcess:
    """An agent forked from a template: the part of `subprocess.Popen` meshdev uses."""

    def __init__(self, pid: int, pipes: dict[str, int]) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.started = time.monotonic()
        self.stdin: IO[bytes] | None = _open(pipes.get("stdin"), "wb")
        self.stdout: IO[bytes] | None = _open(pipes["stdout"], "rb")
        self.stderr: IO[bytes] | None = _open(pipes["stderr"], "rb")
        self.report_fd = pipes["report"]
        self.lifeline_fd = pipes["lifeline"]
        self._done = threading.Event()

    @classmethod
    def start(cls, template: Template, request: SpawnRequest, env: dict[str, str]) -> ForkedProcess:
        ours, theirs = _pipes(request)
        spec = {
            "cwd": str(request.cwd),
            "env": env,
            "script": str(request.script),
            "args": list(request.args),
        }
        try:
            pid = template.start(spec, theirs)
        except BaseException:
            for fd in ours.values():
                os.close(fd)
            raise
        finally:
            for fd in theirs:
                os.close(fd)
        child = cls(pid, ours)
        template.track(child)
        return child

    def wait(self, timeout: float | None = None) -> int:
        if not self._done.wait(timeout):
            raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def poll(self) -> int | None:
        return self.returncode

    def exited(self, code: int) -> None:
        self.returncode = code
        self._done.set()

    def watch_orphan(self) -> None:
        """Its template is gone, and its code with it: wait for the pid to go."""
        while _exists(self.pid):
            time.sleep(0.05)
        self.exited(-9)


def _pipes(request: SpawnRequest) -> tuple[dict[str, int], list[int]]:
    """Our ends by name, and theirs in the template's order: stdin, stdout, stderr, report,
    lifeline."""
    ours: dict[str, int] = {}
    stdin_r = os.open(os.devnull, os.O_RDONLY)
    if request.speaks_mcp:
        os.close(stdin_r)
        stdin_r, ours["stdin"] = os.pipe()
    stdout_r, stdout_w = os.pipe()
    stderr_r, stderr_w = os.pipe()
    report_r, report_w = report_channel(request)
    lifeline_r, lifeline_w = os.pipe()
    ours.update(stdout=stdout_r, stderr=stderr_r, report=report_r, lifeline=lifeline_w)
    return ours, [stdin_r, stdout_w, stderr_w, report_w, lifeline_r]


def _open(fd: int | None, mode: str) -> IO[bytes] | None:
    return None if fd is None else os.fdopen(fd, mode)


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return -1.0


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
