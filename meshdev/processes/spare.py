"""Spare interpreters: each agent's first interpreter, started as soon as meshdev knows the agent,
while meshdev itself still imports what it needs to ask for that start.

A spare is the fresh start it stands in for — the same command line, working folder, pipes and
environment at the interpreter's start (the agent's `env:` included) — booted up to the first
line of meshdev's runtime, where it waits on a pipe for meshdev's per-start variables (the
`protocol.ALL` ones, which nothing reads before the runtime does). The start that fits it
(`take`) sends them and has the process; a start that does not fit, or a spare nobody asked for,
ends it before it ran a line of the agent's code.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from meshdev.processes.interpreter import start_interpreter
from meshdev.runtime import protocol

if TYPE_CHECKING:
    from meshdev.interfaces import SpawnRequest
    from meshdev.project.discovery import AgentDef


class Spare:
    def __init__(self, agent: AgentDef, cwd: Path) -> None:
        self.agent = agent.name
        self._shape = _shape(agent.script, agent.args, cwd, agent.speaks_mcp, dict(agent.env))
        self.report_fd, report_w = os.pipe()
        lifeline_r, self.lifeline_fd = os.pipe()
        go_r, self._go = os.pipe()
        env = {**os.environ, **dict(agent.env), "PYTHONUNBUFFERED": "1"}
        env |= {protocol.FDS: f"{report_w},{lifeline_r}", protocol.GO: str(go_r)}
        ours = (self.report_fd, self.lifeline_fd, self._go)
        try:
            self.popen = start_interpreter(
                agent.script, agent.args, cwd, env, agent.speaks_mcp, (report_w, lifeline_r, go_r)
            )
        except BaseException:
            for fd in ours:
                os.close(fd)
            raise
        finally:
            for fd in (report_w, lifeline_r, go_r):
                os.close(fd)

    def fits(self, request: SpawnRequest) -> bool:
        own = {k: v for k, v in request.env.items() if k not in protocol.ALL}
        shape = _shape(request.script, request.args, request.cwd, request.speaks_mcp, own)
        return shape == self._shape and protocol.HANDOVER not in request.env

    def go(self, request: SpawnRequest) -> bool:
        """Send it the rest of its environment; False when it is gone."""
        channel = [(k, v) for k, v in request.env.items() if k in protocol.ALL]
        data = b"\0".join(os.fsencode(k) + b"=" + os.fsencode(v) for k, v in channel)
        fd, self._go = self._go, -1
        try:
            view = memoryview(data or b"\0")
            while view:
                view = view[os.write(fd, view) :]
        except OSError:
            return False
        finally:
            os.close(fd)
        return self.popen.poll() is None

    def discard(self) -> None:
        """It never ran the agent's code: its group is ended at once, and reaped."""
        if self._go >= 0:
            os.close(self._go)
            self._go = -1
        with contextlib.suppress(OSError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        for fd in (self.report_fd, self.lifeline_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        threading.Thread(target=_reap, args=(self.popen,), daemon=True).start()


class Spares:
    """The spares of one run, one per agent at most, each taken once."""

    def __init__(self) -> None:
        self._spares: dict[str, Spare] = {}
        self._lock = threading.Lock()

    def begin(self, agents: Iterable[AgentDef], cwd: Path) -> None:
        for agent in agents:
            with contextlib.suppress(OSError):  # the start itself will say what is wrong
                self._spares[agent.name] = Spare(agent, cwd)

    def take(self, request: SpawnRequest) -> Spare | None:
        """The spare for this start, told to go; None when there is none that fits."""
        with self._lock:
            spare = self._spares.pop(request.agent, None)
        if spare is None:
            return None
        if spare.fits(request) and spare.go(request):
            return spare
        spare.discard()
        return None

    def close(self) -> None:
        with self._lock:
            left, self._spares = list(self._spares.values()), {}
        for spare in left:
            spare.discard()


def _shape(script: Path, args: Iterable[str], cwd: Path, mcp: bool, env: dict[str, str]) -> Any:
    return (str(script), tuple(args), str(cwd), mcp, sorted(env.items()))


def _reap(popen: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        popen.wait(timeout=10)
    for stream in (popen.stdin, popen.stdout, popen.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
