"""Scripted histories of restarts with overlap: an agent behind the MCP front gets its next
process before the old one is stopped; the loop hears of the new one only once the old is gone.
"""

from __future__ import annotations

from pathlib import Path

from mesh import MAIN, Mesh, e

from meshdev.runtime import protocol
from meshdev.sources.messages import ReadyReport, StateReport

PROJECT = {
    ".meshwatch": "reload_delay: 100\nstop_grace: 1000\nagents:\n  web:\n    front: true\n",
    "lib/__init__.py": "",
    "lib/shared.py": "VALUE = 1\n",
    "agents/web.py": "from lib import shared\n" + MAIN,
    "agents/plain.py": "from lib import shared\n" + MAIN,
}


def started(tmp_path: Path) -> Mesh:
    mesh = Mesh(tmp_path, PROJECT).start()
    mesh.ready("web", "plain")
    mesh.advance(0.1)
    return mesh


def test_behind_the_front_the_next_process_starts_before_the_old_one_stops(
    tmp_path: Path,
) -> None:
    mesh = started(tmp_path)
    old_web, old_plain = mesh.spawner.current("web"), mesh.spawner.current("plain")

    def while_stopping() -> None:
        new = mesh.spawner.current("web")
        assert new is not old_web and old_web.returncode is None, "spawned beside the old one"
        assert mesh.spawner.current("plain") is old_plain, "the plain agent waits for its stop"
        new.sinks.report("web", new.generation, ReadyReport("meshdev.ready()"))  # held back
        old_web.sinks.report("web", 1, StateReport("state_saved", {"reason": "stop", "keys": 1}))

    mesh.spawner.during_stop = while_stopping
    mesh.save("lib/shared.py", "VALUE = 2\n")
    mesh.advance(0.1)
    new_web = mesh.spawner.current("web")
    assert new_web.request.env.get(protocol.HANDOVER) == "1" and new_web.handed_over
    assert protocol.HANDOVER not in mesh.spawner.current("plain").request.env
    mesh.expect(
        e("agent_spawned", agent="web", generation=2, beside=old_web.pid),
        e("agent_stopped", agent="web", pid=old_web.pid),
        e("state_saved", agent="web", reason="stop"),
        e("agent_started", agent="web", generation=2, pid=new_web.pid),
        e("agent_ready", agent="web", pid=new_web.pid),
    )
    mesh.expect(
        e("agent_stopped", agent="plain", pid=old_plain.pid),
        e("agent_started", agent="plain", generation=2),
    )
    mesh.never(e("agent_spawned", agent="plain"))


def test_a_successor_that_crashes_before_the_handover_is_told_after_its_start(
    tmp_path: Path,
) -> None:
    mesh = started(tmp_path)

    def while_stopping() -> None:
        mesh.spawner.current("web").end(1)  # its exit waits for its announcement

    mesh.spawner.during_stop = while_stopping
    mesh.save("lib/shared.py", "VALUE = 2\n")
    mesh.advance(0.1)
    mesh.expect(
        e("agent_spawned", agent="web", generation=2),
        e("agent_started", agent="web", generation=2),
        e("agent_exited", agent="web", returncode=1),
        e("restart_scheduled", agent="web"),
    )
    mesh.advance(2.0)
    mesh.expect(e("agent_started", agent="web", generation=3, reason="restart after a crash"))
    assert protocol.HANDOVER not in mesh.spawner.current("web").request.env, "nothing beside"


def test_two_quick_reloads_each_hand_over_once(tmp_path: Path) -> None:
    mesh = started(tmp_path)
    for value in (2, 3):
        mesh.save("lib/shared.py", f"VALUE = {value}\n")
        mesh.advance(0.1)
    webs = [p for p in mesh.spawner.spawned if p.agent == "web"]
    assert [p.generation for p in webs] == [1, 2, 3]
    assert [p.handed_over for p in webs] == [False, True, True]
    assert [p.returncode is None for p in webs] == [False, False, True]
    mesh.expect(
        e("agent_spawned", agent="web", generation=3, beside=webs[1].pid),
        e("agent_stopped", agent="web", pid=webs[1].pid),
        e("agent_started", agent="web", generation=3),
    )
