"""Histories of what a newcomer hit (issue 13): "ready" for a process that already ended, a
`.meshwatch` broken live in every way a file can be, one created while meshdev runs, and a new
agent file told as unused. Same project and loop as test_histories.py, no process started."""

from __future__ import annotations

from pathlib import Path

import pytest
from mesh import MAIN, Mesh, e
from test_histories import AGENTS, MESHWATCH, PROJECT, QUIET, started

from meshdev.decide.timers import ReadyIfAlive

# -- "ready" is said only of a process that runs ------------------------------------------------


def test_an_agent_that_finished_before_its_startup_period_is_never_ready(tmp_path: Path) -> None:
    mesh = Mesh(tmp_path, PROJECT).start()  # nobody reports ready: the alive timer is armed
    mesh.crash("gamma", 0)  # `print("done")`: ends at once, with 0
    mesh.advance(5)
    mesh.expect(e("agent_exited", agent="gamma", returncode=0))
    mesh.never(e("agent_ready", agent="gamma"))
    mesh.expect(e("agent_ready", agent="alpha", how="alive for 1 s"))


def test_an_exit_cancels_the_readiness_checks_of_that_process(tmp_path: Path) -> None:
    mesh = Mesh(tmp_path, PROJECT).start()
    generation = mesh.spawner.current("gamma").generation
    assert ReadyIfAlive("gamma", generation) in mesh.loop.timers
    mesh.crash("gamma", 0)
    assert ReadyIfAlive("gamma", generation) not in mesh.loop.timers


def test_a_crash_loop_never_says_ready_not_even_after_the_circuit_opened(tmp_path: Path) -> None:
    mesh = Mesh(tmp_path, PROJECT).start()
    for delay in (0.5, 1.0, 0.0):
        mesh.crash("alpha", 1)
        mesh.advance(delay)
    mesh.advance(5)
    mesh.expect(e("circuit_open", agent="alpha"))
    mesh.never(e("agent_ready", agent="alpha"))


def test_an_exit_still_queued_when_the_alive_timer_is_due_is_no_readiness(tmp_path: Path) -> None:
    mesh = Mesh(tmp_path, PROJECT).start()
    process = mesh.spawner.current("beta")
    process.returncode = 1  # it has ended; its exit message has not reached the loop yet
    mesh.advance(1.0)
    mesh.never(e("agent_ready", agent="beta"))
    process.sinks.exit("beta", process.generation, 1)
    mesh.settle()
    mesh.expect(e("agent_exited", agent="beta"), e("restart_scheduled", agent="beta"))


# -- a .meshwatch broken live keeps the previous configuration, and every agent -----------------

BOMB = (
    "a: &a ["
    + ", ".join(["x"] * 9)
    + "]\n"
    + "".join(
        f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcde", "bcdef", strict=True)
    )
)
BROKEN_LIVE = {
    "bad int tag": "reload_delay: !!int abc\n",
    "python tag": "x: !!python/name:os.system\n",
    "python apply": "x: !!python/object/apply:os.system ['touch PWNED']\n",
    "merge key": "base: &b {reload_delay: 5}\n<<: *b\n",
    "deep nesting": "x: " + "[" * 5000 + "]" * 5000 + "\n",
    "alias bomb": BOMB + "? *f\n: 1\n",
    "env name with =": "agents:\n  alpha:\n    env: {'A=B': 1}\n",
    "env value a list": "agents:\n  alpha:\n    env: {A: [1, 2]}\n",
    "agent escaping": "agents:\n  '../../escape':\n    path: agents/alpha.py\n",
    "huge number": "stop_grace: 10000000000000\n",
    "listed path missing": "agents:\n  w:\n    path: nope.py\n",
}


@pytest.mark.parametrize("extra", BROKEN_LIVE.values(), ids=BROKEN_LIVE)
def test_a_meshwatch_broken_live_keeps_everything_running(
    tmp_path: Path, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    mesh = started(Mesh(tmp_path, PROJECT))
    mesh.save(".meshwatch", MESHWATCH + extra)
    mesh.advance(QUIET)
    (error,) = mesh.find("config_error") or mesh.find("discovery_error")
    assert error["problems"] and all(".meshwatch" in p for p in error["problems"]), error
    assert all(len(p) < 400 for p in error["problems"])
    assert {p.agent for p in mesh.spawner.alive()} == set(AGENTS)
    mesh.never(e("agent_stopped"), e("config_reloaded"))
    mesh.save("lib/shared.py", "VALUE = 2\n")
    mesh.advance(QUIET)  # the old rules and quiet time still apply
    mesh.expect(e("reload", agents=["alpha", "beta"]))
    assert not (tmp_path / "PWNED").exists()


# -- a .meshwatch created while meshdev runs is read like an edit -------------------------------


def without_meshwatch() -> dict[str, str]:
    return {k: v for k, v in PROJECT.items() if k != ".meshwatch"}


def test_a_meshwatch_created_while_running_is_applied(tmp_path: Path) -> None:
    mesh = started(Mesh(tmp_path, without_meshwatch()))
    assert mesh.find("meshdev_started")[0]["config"] is None
    mesh.save(".meshwatch", "reload_delay: 100\nagents:\n  alpha:\n    env: {MODE: test}\n")
    mesh.advance(0.5)  # the default quiet time, 500 ms
    mesh.expect(
        e("config_reloaded", file=str(tmp_path / ".meshwatch")),
        e("agent_started", agent="alpha", generation=2, reason="its settings changed"),
    )
    assert dict(mesh.spawner.current("alpha").request.env)["MODE"] == "test"
    assert mesh.starts("beta") == 1
    mesh.save("lib/shared.py", "VALUE = 3\n")
    mesh.advance(QUIET)  # its own quiet time now
    mesh.expect(e("reload", agents=["alpha", "beta"]))


def test_a_broken_meshwatch_created_while_running_is_told_and_changes_nothing(
    tmp_path: Path,
) -> None:
    mesh = started(Mesh(tmp_path, without_meshwatch()))
    mesh.save(".meshwatch", "reload_delay: soon\n")
    mesh.advance(0.5)
    (error,) = mesh.find("config_error")
    assert ".meshwatch:1: reload_delay: must be a whole number" in error["problems"][0]
    mesh.save(".meshwatch", "reload_delay: 100\n")  # fixed: now it applies
    mesh.advance(0.5)
    mesh.expect(e("config_reloaded"))


def test_a_deleted_meshwatch_means_the_defaults_again(mesh: Mesh) -> None:
    mesh.delete(".meshwatch")
    mesh.advance(QUIET)
    mesh.expect(e("config_reloaded"))
    assert mesh.loop.project.settings.reload_delay_ms == 500
    assert mesh.loop.project.config.path is None


# -- a new agent's file is news, not "unused" ---------------------------------------------------


@pytest.fixture
def mesh(tmp_path: Path) -> Mesh:
    return started(Mesh(tmp_path, PROJECT))


def test_a_copied_agent_file_is_a_new_agent_never_an_unused_file(mesh: Mesh) -> None:
    mesh.save("agents/alpha2.py", "from lib import shared\n" + MAIN)
    mesh.advance(QUIET)
    mesh.expect(e("agent_added", agent="alpha2"), e("agent_started", agent="alpha2"))
    mesh.never(e("unused"))


# -- `meshdev debug why` asks the running loop what only it knows -------------------------------


def test_the_loop_answers_which_agents_use_a_file_opened_at_run_time(mesh: Mesh) -> None:
    from meshdev.sources.messages import FilesReport
    from meshdev.supervise import asked

    conf = mesh.root / "conf/gamma.yaml"
    assert asked.read_answer(mesh.command(asked.request(conf))) == []
    mesh.report("gamma", FilesReport(opened=(conf,)))
    assert asked.read_answer(mesh.command(asked.request(conf))) == ["gamma"]
    shared = mesh.root / "lib/shared.py"
    assert asked.read_answer(mesh.command(asked.request(shared))) == ["alpha", "beta"]
    assert asked.read_answer("unknown command 'explain x'") is None
