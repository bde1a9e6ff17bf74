"""Fakes for the loop's seams (meshdev/interfaces.py): a clock the test advances, a spawner whose
processes live only in memory, and a watch that records what it was asked to watch.

A fake process exits when the test says so (`crash`, `finish`) or when it is stopped; its reports
and exits reach the loop exactly as real ones do, through the sinks into the inbox.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from meshdev.interfaces import (
    AgentHandle,
    BatchSink,
    ErrorSink,
    Sinks,
    SpawnRequest,
    StopResult,
    WatchOptions,
)
from meshdev.sources.messages import AgentReport

TERMINATED = 143  # what meshdev's runtime turns SIGTERM into


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


_pids = itertools.count(4000)


@dataclass
class FakeProcess:
    agent: str
    generation: int
    started: float
    sinks: Sinks
    request: SpawnRequest
    returncode: int | None = None
    ignores_sigterm: bool = False  # a slow agent: only SIGKILL ends it
    pid: int = field(default_factory=lambda: next(_pids))
    sent: list[bytes] = field(default_factory=list)  # what reached its stdin
    handed_over: bool = False  # told its predecessor is gone (a start beside it)

    def has_exited(self) -> bool:
        return self.returncode is not None

    def still_there(self) -> bool:
        return self.returncode is None

    def input_fd(self) -> int | None:
        return None

    def close_input(self) -> bool:
        return False

    def hand_over(self) -> bool:
        self.handed_over = True
        return self.returncode is None

    def send(self, data: bytes) -> bool:
        self.sent.append(data)
        return self.returncode is None

    def end(self, returncode: int) -> None:
        if self.returncode is None:
            self.returncode = returncode
            self.sinks.exit(self.agent, self.generation, returncode)


class FakeSpawner:
    def __init__(self, clock: FakeClock, stop_seconds: float = 0.01) -> None:
        self.clock = clock
        self.stop_seconds = stop_seconds  # how long a polite stop takes
        self.spawned: list[FakeProcess] = []
        self.open_ports: set[int] = set()
        self.cleaned: list[int] = []
        self.killed_now: list[int] = []
        self.refresh_asked: list[int] = []  # pids sent the refresh signal
        self.slow: set[str] = set()  # agents whose next processes ignore SIGTERM
        self.failing: set[str] = set()  # agents whose spawn fails (OSError)
        self.during_stop: Callable[[], None] | None = None  # what happens while agents stop
        self.first_words: dict[str, str] = {}  # agent -> stderr its processes write at once

    def spawn(self, request: SpawnRequest, sinks: Sinks) -> FakeProcess:
        if request.agent in self.failing:
            raise OSError(f"cannot run {request.script}")
        process = FakeProcess(request.agent, request.generation, self.clock(), sinks, request)
        process.ignores_sigterm = request.agent in self.slow
        self.spawned.append(process)
        for text in self.first_words.get(request.agent, "").splitlines():
            sinks.line(request.agent, "err", text)  # a forked process: before spawn returns
        return process

    def stop(self, handles: Sequence[AgentHandle], grace_seconds: float) -> list[StopResult]:
        began = self.clock()
        mine = [h for h in handles if isinstance(h, FakeProcess)]
        killed = {p.agent for p in mine if p.ignores_sigterm}
        self.clock.advance(grace_seconds if killed else self.stop_seconds)
        if self.during_stop is not None:
            self.during_stop()
        for process in mine:
            process.end(-9 if process.agent in killed else TERMINATED)
        seconds = self.clock() - began
        return [StopResult(p.agent, p.pid, p.returncode, p.agent in killed, seconds) for p in mine]

    def kill_now(self, handles: Sequence[AgentHandle]) -> None:
        self.killed_now += [h.pid for h in handles]

    def clean_up(self, handle: AgentHandle) -> None:
        self.cleaned.append(handle.pid)

    def port_open(self, port: int) -> bool:
        return port in self.open_ports

    def memory(self, pid: int) -> int | None:
        return None

    def ask_refresh(self, pid: int) -> bool:
        self.refresh_asked.append(pid)
        return any(p.pid == pid and p.returncode is None for p in self.spawned)

    # -- what the test makes the processes do ------------------------------------------------

    def current(self, agent: str) -> FakeProcess:
        return [p for p in self.spawned if p.agent == agent][-1]

    def report(self, agent: str, report: AgentReport) -> None:
        process = self.current(agent)
        process.sinks.report(agent, process.generation, report)

    def alive(self) -> list[FakeProcess]:
        return [p for p in self.spawned if p.returncode is None]


@dataclass
class FakeWatch:
    post_files: BatchSink
    post_error: ErrorSink
    options: WatchOptions
    armed: list[tuple[Path, ...]] = field(default_factory=list)
    closed: bool = False

    def arm(self, dirs: Sequence[Path]) -> None:
        self.armed.append(tuple(dirs))

    def close(self) -> None:
        self.closed = True


class FakeWatcherFactory:
    def __init__(self) -> None:
        self.watches: list[FakeWatch] = []

    def __call__(
        self, post_files: BatchSink, post_error: ErrorSink, options: WatchOptions
    ) -> FakeWatch:
        watch = FakeWatch(post_files, post_error, options)
        self.watches.append(watch)
        return watch
