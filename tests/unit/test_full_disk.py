"""A full disk under meshdev's own writes, injected at the seam (`os.write`, the start file's
creation) so that it runs everywhere. The same faults are made for real in
tests/integration/test_faults.py (a tmpfs of meshdev's own mount namespace, /dev/full).
"""

from __future__ import annotations

import errno
import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "histories"))

from fakes import FakeClock, FakeSpawner

from meshdev.events import Event
from meshdev.interfaces import Sinks
from meshdev.project import statestore
from meshdev.project.project import load_project
from meshdev.project.settings import Flags
from meshdev.runtime import private, protocol
from meshdev.show.eventlog import EventLog
from meshdev.supervise import starting as starting_module
from meshdev.supervise.fleet import Fleet

FULL = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_the_events_log_on_a_full_disk_warns_once_and_resynchronises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warned: list[str] = []
    log = EventLog(tmp_path / "events.jsonl", warned.append)
    log(Event("warning", {"message": "before"}))
    real_write = os.write

    def full(fd: int, data: bytes) -> int:
        raise FULL

    monkeypatch.setattr(os, "write", full)
    for _ in range(3):
        log(Event("warning", {"message": "lost"}))  # was: OSError out of emit, meshdev dead
    monkeypatch.setattr(os, "write", real_write)
    log(Event("warning", {"message": "after"}))
    log.close()
    assert len(warned) == 1 and "No space left on device" in warned[0]
    lines = [json.loads(x) for x in (tmp_path / "events.jsonl").read_text().splitlines() if x]
    assert [x["message"] for x in lines] == ["before", "after"]
    assert (tmp_path / "events.jsonl").stat().st_mode & 0o777 == 0o600


def test_a_start_on_a_full_disk_starts_the_agent_and_warns_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statestore, "_CHOSEN", {})
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents/bot.py").write_text('if __name__ == "__main__":\n    pass\n')
    project = load_project([tmp_path / "agents"], None, {}, Flags(), tmp_path)
    clock = FakeClock()
    spawner = FakeSpawner(clock)
    events: list[Event] = []
    fleet = Fleet(spawner, Sinks(print, print, print), events.append, clock)
    [agent] = project.discovery.agents
    assert fleet.start(agent, project, "first start") is not None  # prepares the place

    def full(path: str) -> int:
        raise FULL

    monkeypatch.setattr(starting_module.private, "create_file", full)
    for _ in range(3):
        assert fleet.start(agent, project, "restart") is not None  # was: a traceback
    monkeypatch.setattr(starting_module.private, "create_file", private.create_file)
    warnings = [e["message"] for e in events if e.kind == "warning"]
    assert len(warnings) == 1 and "No space left on device" in warnings[0]
    assert len(spawner.spawned) == 4
    assert protocol.START_INFO not in spawner.spawned[-1].request.env
    assert protocol.START_INFO in spawner.spawned[0].request.env
