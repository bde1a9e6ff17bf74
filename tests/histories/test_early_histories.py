"""Scripted histories of the first starts begun before the loop exists (processes/early.py): the
loop adopts them as its own first starts, with what they did meanwhile, in order."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from fakes import TERMINATED
from mesh import MAIN, Mesh, e

from meshdev.interfaces import SpawnRequest
from meshdev.sources.messages import ReadyReport

PROJECT = {
    "lib/__init__.py": "",
    "lib/shared.py": "VALUE = 1\n",
    "agents/bot.py": "from lib import shared\n" + MAIN,
    "agents/worker.py": MAIN,
}


def every(requests: list[SpawnRequest]) -> list[SpawnRequest]:
    return requests


def test_the_first_starts_begun_early_are_the_loop_s_own(tmp_path: Path) -> None:
    mesh = Mesh(tmp_path, PROJECT, early=every)
    early = {p.agent: p for p in mesh.spawner.spawned}
    assert sorted(early) == ["bot", "worker"] and mesh.events == [], "spawned before the loop"
    mesh.start()
    assert len(mesh.spawner.spawned) == 2, "no second start"
    mesh.expect(
        e("meshdev_started"),
        e("agent_started", agent="bot", pid=early["bot"].pid, generation=1),
    )
    mesh.expect(e("agent_started", agent="worker", pid=early["worker"].pid))
    mesh.ready("bot", "worker")
    mesh.expect(e("agent_ready", agent="bot", pid=early["bot"].pid))


def test_what_an_early_start_did_before_the_loop_is_told_after_its_start_in_order(
    tmp_path: Path,
) -> None:
    mesh = Mesh(tmp_path, PROJECT, early=every)
    bot, worker = (next(p for p in mesh.spawner.spawned if p.agent == a) for a in ("bot", "worker"))
    bot.sinks.line("bot", "out", "hello")
    bot.sinks.report("bot", 1, ReadyReport("meshdev.ready()"))
    worker.sinks.line("worker", "err", "RuntimeError: boom")
    worker.end(1)
    assert mesh.lines == [] and mesh.events == [], "held until the loop asks for it"
    mesh.start()
    assert mesh.lines == [("bot", "out", "hello"), ("worker", "err", "RuntimeError: boom")]
    told = [t if isinstance(t, tuple) else t.kind for t in mesh.told]
    assert told[1:3] == ["agent_started", ("bot", "out", "hello")], "its start, then its output"
    mesh.expect(
        e("meshdev_started"),
        e("agent_started", agent="bot", pid=bot.pid),
        e("agent_ready", agent="bot", pid=bot.pid, how="meshdev.ready()"),
    )
    mesh.expect(
        e("agent_started", agent="worker", pid=worker.pid),
        e("agent_exited", agent="worker", pid=worker.pid, returncode=1),
        e("restart_scheduled", agent="worker", failures=1),
    )


def test_an_early_start_the_loop_asks_for_differently_is_stopped_and_replaced(
    tmp_path: Path,
) -> None:
    def stale(asked: list[SpawnRequest]) -> list[SpawnRequest]:
        return [replace(r, env={**r.env, "STALE": "1"}) if r.agent == "bot" else r for r in asked]

    mesh = Mesh(tmp_path, PROJECT, early=stale)
    old = next(p for p in mesh.spawner.spawned if p.agent == "bot")
    mesh.start()
    new = mesh.spawner.current("bot")
    assert new is not old and old.returncode == TERMINATED and "STALE" not in new.request.env
    assert [ev["pid"] for ev in mesh.find("agent_started", agent="bot")] == [new.pid]
    mesh.never(e("agent_exited", agent="bot", pid=old.pid), e("agent_stopped", pid=old.pid))
    assert len(mesh.spawner.spawned) == 3


def test_early_starts_the_loop_never_asked_for_are_stopped_at_close(tmp_path: Path) -> None:
    mesh = Mesh(tmp_path, PROJECT, early=every)
    mesh.early.close()
    assert all(p.returncode == TERMINATED for p in mesh.spawner.spawned)
    assert mesh.early.begun() == []


def test_the_private_place_s_warnings_are_told_once_by_the_loop(tmp_path: Path) -> None:
    (tmp_path / ".meshdev").write_text("not a folder")  # state goes to the user's own place
    mesh = Mesh(tmp_path, PROJECT, early=every)
    assert mesh.events == []
    mesh.start()
    warnings = [ev["message"] for ev in mesh.find("warning")]
    assert len([w for w in warnings if "cannot keep its files in" in w]) == 1, warnings
    assert len(mesh.spawner.spawned) == 2
