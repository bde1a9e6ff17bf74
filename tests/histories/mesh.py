"""A project on disk run by the real loop with fake processes, clock and watch: the test says what
happens (saves, reports, crashes, time passing) and reads back the events the loop emitted."""

from __future__ import annotations

import queue
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fakes import FakeClock, FakeSpawner, FakeWatcherFactory

from meshdev.events import Event
from meshdev.interfaces import Spawner, SpawnRequest
from meshdev.processes.early import EarlyStarts
from meshdev.project.project import load_project
from meshdev.project.settings import Flags
from meshdev.sources.messages import (
    AgentReport,
    Command,
    Files,
    Message,
    ReadyReport,
    Signal,
    WatchError,
)
from meshdev.supervise.loop import Options, Supervisor
from meshdev.supervise.starting import first_requests

MAIN = 'if __name__ == "__main__":\n    serve()\n'


@dataclass(frozen=True)
class E:
    """An expected event: its kind, and the fields it must have (others may be there too)."""

    kind: str
    fields: Mapping[str, Any] = field(default_factory=dict)

    def matches(self, event: Event) -> bool:
        return event.kind == self.kind and all(event.get(k) == v for k, v in self.fields.items())

    def __repr__(self) -> str:
        return f"{self.kind}{dict(self.fields) or ''}"


def e(kind: str, **fields: Any) -> E:
    return E(kind, fields)


class Mesh:
    def __init__(
        self,
        root: Path,
        files: Mapping[str, str],
        env: Mapping[str, str] | None = None,
        flags: Flags | None = None,
        targets: tuple[str, ...] = ("agents",),
        own_files: frozenset[Path] = frozenset(),
        early: Callable[[list[SpawnRequest]], list[SpawnRequest]] | None = None,
    ) -> None:
        """`early`: the first starts are begun before the loop exists, as `compose.py` does
        (given the requests, it returns those to begin)."""
        self.root = root
        for rel, text in files.items():
            self.put(rel, text)
        self.clock = FakeClock()
        self.spawner = FakeSpawner(self.clock)
        self.watcher = FakeWatcherFactory()
        self.events: list[Event] = []
        self.lines: list[tuple[str, str, str]] = []
        self.told: list[Event | tuple[str, str, str]] = []  # events and lines, in the order told
        env, flags = dict(env or {}), flags or Flags()
        project = load_project([root / t for t in targets], None, env, flags, root)
        spawner: Spawner = self.spawner
        places = None
        if early is not None:
            requests, prepared = first_requests(project)
            spawner = self.early = EarlyStarts(self.spawner)
            self.early.begin(early(requests))
            places = {project.private_dir: prepared}
        options = Options(env, flags, own_files, places)
        self.loop = Supervisor(
            project,
            spawner,
            self.watcher,
            self._event,
            self._lines,
            options,
            self.clock,
        )

    def _event(self, event: Event) -> None:
        self.events.append(event)
        self.told.append(event)

    def _lines(self, agent: str, stream: str, lines: Sequence[str]) -> None:
        self.lines += [(agent, stream, text) for text in lines]
        self.told += [(agent, stream, text) for text in lines]

    # -- what happens -------------------------------------------------------------------------

    def start(self) -> Mesh:
        self.loop.start()
        self.settle()
        return self

    def put(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def save(self, rel: str, text: str) -> None:
        """An editor saves `rel`: the file changes, and the watch tells the loop."""
        kind = "modified" if (self.root / rel).exists() else "added"
        self.post(Files([(kind, self.put(rel, text))]))

    def add_folder(self, rel: str, files: Mapping[str, str]) -> None:
        """A folder appears with files already in it (as `git checkout` or `cp -r` make it)."""
        for name, text in files.items():
            self.put(f"{rel}/{name}", text)
        self.post(Files([("added", self.root / rel)]))

    def delete(self, rel: str) -> None:
        (self.root / rel).unlink()
        self.post(Files([("deleted", self.root / rel)]))

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.settle()

    def report(self, agent: str, report: AgentReport) -> None:
        self.spawner.report(agent, report)
        self.settle()

    def ready(self, *agents: str) -> None:
        for agent in agents:
            self.report(agent, ReadyReport())

    def crash(self, agent: str, returncode: int = 1, stderr: str = "") -> None:
        process = self.spawner.current(agent)
        for text in stderr.splitlines():
            process.sinks.line(agent, "err", text)
        process.end(returncode)
        self.settle()

    def command(self, text: str) -> str:
        replies: list[str] = []
        self.post(Command(text, replies.append))
        return replies[0]

    def signal(self, signum: int) -> int:
        self.post(Signal(signum))
        assert self.loop.exit_code is not None
        return self.loop.stop()

    def watch_error(self, message: str) -> None:
        self.post(WatchError(message))

    def post(self, message: Message) -> None:
        self.loop.inbox.put(message)
        self.settle()

    def settle(self) -> None:
        """Everything queued is handled, then whatever became due at this moment."""
        while True:
            try:
                message = self.loop.inbox.get_nowait()
            except queue.Empty:
                break
            self.loop.step(message)
        self.loop.step(None)
        if not self.loop.inbox.empty():
            self.settle()

    # -- what it did ----------------------------------------------------------------------------

    def find(self, kind: str, **fields: Any) -> list[Event]:
        return [event for event in self.events if e(kind, **fields).matches(event)]

    def starts(self, agent: str) -> int:
        return len(self.find("agent_started", agent=agent))

    def story(self) -> str:
        return "\n".join(f"{ev.kind} {ev.fields}" for ev in self.events)

    def expect(self, *expected: E) -> None:
        """The expected events happened in this order (others may come in between)."""
        position = 0
        for wanted in expected:
            while position < len(self.events) and not wanted.matches(self.events[position]):
                position += 1
            assert position < len(self.events), f"no {wanted} in order; events:\n{self.story()}"
            position += 1

    def never(self, *unwanted: E) -> None:
        for event in self.events:
            bad = [u for u in unwanted if u.matches(event)]
            assert not bad, f"unexpected {bad[0]}; events:\n{self.story()}"
