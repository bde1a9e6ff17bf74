"""Scripted histories through the real loop: fake processes, clock and watch; no process started.

alpha imports lib.shared; beta imports lib.mid, which imports lib.shared; gamma imports a helper
beside it (and, once it reports so, reads conf/gamma.yaml). The quiet time is 100 ms.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from mesh import MAIN, Mesh, e

from meshdev.project.settings import Flags
from meshdev.sources.messages import FilesReport, RestoredReport, StateReport

MESHWATCH = """\
include: ["*.py", "lib/**/*.py", "conf/*.yaml"]
log_only: ["*.md"]
reload_delay: 100
stop_grace: 1000
"""
PROJECT = {
    ".meshwatch": MESHWATCH,
    "lib/__init__.py": "",
    "lib/shared.py": "VALUE = 1\n",
    "lib/mid.py": "from lib.shared import VALUE\n",
    "lib/unused.py": "X = 1\n",
    "conf/gamma.yaml": "colour: blue\n",
    "agents/helper_gamma.py": "def helper():\n    return 1\n",
    "agents/alpha.py": "from lib import shared\n" + MAIN,
    "agents/beta.py": "from lib import mid\n" + MAIN,
    "agents/gamma.py": "import helper_gamma\n" + MAIN,
}
QUIET = 0.1
AGENTS = ("alpha", "beta", "gamma")


@pytest.fixture
def mesh(tmp_path: Path) -> Mesh:
    return started(Mesh(tmp_path, PROJECT))


def started(mesh: Mesh) -> Mesh:
    mesh.start()
    mesh.ready(*(a for a in AGENTS if a in mesh.loop.project.discovery.names()))
    mesh.advance(0.1)  # past the content check of the first watch
    return mesh


def with_config(tmp_path: Path, extra: str) -> Mesh:
    return started(Mesh(tmp_path, {**PROJECT, ".meshwatch": MESHWATCH + extra}))


# -- starting and readiness ---------------------------------------------------------------------


def test_first_start_runs_every_agent_and_watches(mesh: Mesh) -> None:
    mesh.expect(
        e("meshdev_started", agents=list(AGENTS)),
        *(e("agent_started", agent=a, generation=1, reason="first start") for a in AGENTS),
        e("watching", enabled=True, reload_delay_ms=100),
        *(e("agent_ready", agent=a, how="meshdev.ready()") for a in AGENTS),
    )
    assert mesh.watcher.watches[0].armed, "the project's folders are watched"
    assert {p.request.cwd for p in mesh.spawner.spawned} == {mesh.root}


def test_an_agent_that_signals_nothing_is_ready_after_the_startup_period(tmp_path: Path) -> None:
    mesh = Mesh(tmp_path, PROJECT).start()
    mesh.advance(0.9)
    mesh.never(e("agent_ready"))
    mesh.advance(0.1)
    mesh.expect(*(e("agent_ready", agent=a, how="alive for 1 s") for a in AGENTS))


def test_readiness_by_port(tmp_path: Path) -> None:
    mesh = Mesh(
        tmp_path, {**PROJECT, ".meshwatch": MESHWATCH + "agents:\n  alpha:\n    ready_port: 8123\n"}
    )
    mesh.start()
    mesh.advance(0.2)
    mesh.never(e("agent_ready", agent="alpha"))
    mesh.spawner.open_ports.add(8123)
    mesh.advance(0.05)
    mesh.expect(e("agent_ready", agent="alpha", how="port 8123 open"))


def test_an_agent_once_ready_by_report_that_is_not_ready_in_time_failed_its_start(
    mesh: Mesh,
) -> None:
    mesh.save("agents/alpha.py", "from lib import shared\n# edit\n" + MAIN)
    mesh.advance(QUIET)
    mesh.advance(29.9)
    mesh.never(e("start_timeout"))
    mesh.advance(0.1)
    mesh.expect(
        e("agent_started", agent="alpha", generation=2),
        e("start_timeout", agent="alpha", seconds=30.0),
        e("agent_stopped", agent="alpha", reason="not ready in time"),
        e("restart_scheduled", agent="alpha", failures=1),
    )


def test_a_failing_spawn_is_a_warning_and_the_others_run(tmp_path: Path) -> None:
    mesh = Mesh(tmp_path, PROJECT)
    mesh.spawner.failing.add("beta")
    mesh.start()
    mesh.expect(
        e(
            "warning",
            message="beta: could not start: cannot run " + str(tmp_path / "agents/beta.py"),
        )
    )
    assert mesh.starts("alpha") == mesh.starts("gamma") == 1 and mesh.starts("beta") == 0


# -- which agents a change restarts -----------------------------------------------------------


def test_a_shared_module_restarts_exactly_its_importers_once_each(mesh: Mesh) -> None:
    mesh.save("lib/shared.py", "VALUE = 2\n")
    mesh.advance(QUIET)
    mesh.expect(
        e("agent_stopped", agent="alpha", reason="reload"),
        e("agent_started", agent="alpha", generation=2, reason="lib/shared.py changed"),
        e("agent_started", agent="beta", generation=2, reason="lib/shared.py changed"),
        e("reload", agents=["alpha", "beta"], files=["lib/shared.py"], reason="files changed"),
        e("batch", count=1, restarted=["alpha", "beta"]),
    )
    assert mesh.starts("gamma") == 1


def test_a_helper_beside_one_agent_restarts_that_agent_alone(mesh: Mesh) -> None:
    mesh.save("agents/helper_gamma.py", "def helper():\n    return 2\n")
    mesh.advance(QUIET)
    assert [mesh.starts(a) for a in AGENTS] == [1, 1, 2]


def test_a_module_no_agent_loaded_restarts_nothing(mesh: Mesh) -> None:
    mesh.save("lib/unused.py", "X = 2\n")
    mesh.advance(QUIET)
    mesh.expect(e("unused", files=["lib/unused.py"]), e("batch", restarted=[]))
    mesh.never(e("agent_stopped"))


def test_a_log_only_file_is_only_logged(mesh: Mesh) -> None:
    mesh.save("NOTES.md", "# notes\n")
    mesh.advance(QUIET)
    mesh.expect(e("log_only", files=["NOTES.md"]))
    mesh.never(e("agent_stopped"))


def test_a_file_the_agent_reported_opening_restarts_it(mesh: Mesh) -> None:
    mesh.report("gamma", FilesReport(opened=(mesh.root / "conf/gamma.yaml",)))
    mesh.save("conf/gamma.yaml", "colour: red\n")
    mesh.advance(QUIET)
    assert [mesh.starts(a) for a in AGENTS] == [1, 1, 2]


def test_a_module_only_loaded_at_run_time_restarts_its_agent(mesh: Mesh) -> None:
    mesh.put("lib/plugin.py", "P = 1\n")
    mesh.report("alpha", FilesReport(loaded=(mesh.root / "lib/plugin.py",)))
    mesh.save("lib/plugin.py", "P = 2\n")
    mesh.advance(QUIET)
    mesh.expect(e("agent_started", agent="alpha", generation=2, reason="lib/plugin.py changed"))
    assert mesh.starts("beta") == 1


def test_a_traceback_written_before_the_spawn_returned_is_in_the_crash_report(
    mesh: Mesh,
) -> None:
    mesh.spawner.first_words["alpha"] = "Traceback (most recent call last):\nValueError: early"
    mesh.save("lib/shared.py", "VALUE = 2\n")
    mesh.advance(QUIET)
    mesh.crash("alpha")
    assert "ValueError: early" in mesh.loop.health.tail("alpha")  # what circuit_open will show


def test_an_agents_own_output_never_restarts_it(mesh: Mesh) -> None:
    output = mesh.put("conf/out.yaml", "n: 1\n")
    mesh.report("gamma", FilesReport(opened=(output,), written=(output,)))
    mesh.save("conf/out.yaml", "n: 2\n")
    mesh.advance(QUIET)
    assert mesh.starts("gamma") == 1


def test_an_output_reported_after_its_first_write_is_no_news(mesh: Mesh) -> None:
    output = mesh.put("conf/out.yaml", "n: 1\n")
    mesh.save("conf/out.yaml", "n: 2\n")  # the write's event comes first ...
    mesh.advance(QUIET / 2)
    mesh.report("gamma", FilesReport(written=(output,)))  # ... the agent's report after it
    mesh.advance(QUIET)
    assert mesh.starts("gamma") == 1
    assert all("conf/out.yaml" not in b["files"] for b in mesh.find("batch"))


def test_meshdevs_own_files_never_trigger(tmp_path: Path) -> None:
    log = tmp_path / "lib/events.py"
    mesh = started(Mesh(tmp_path, PROJECT, own_files=frozenset({log})))
    mesh.save("lib/events.py", "{}\n")
    mesh.advance(QUIET)
    mesh.never(e("unused"), e("batch"))


def test_a_save_with_identical_content_restarts_nothing(mesh: Mesh) -> None:
    mesh.save("lib/shared.py", "VALUE = 1\n")
    mesh.advance(QUIET)
    mesh.expect(e("unchanged", files=["lib/shared.py"]))
    mesh.never(e("agent_stopped"))


# -- bursts and timing --------------------------------------------------------------------------


def test_a_burst_of_saves_is_one_reload(mesh: Mesh) -> None:
    for n in range(20):
        mesh.save("lib/shared.py", f"VALUE = {n + 2}\n")
        mesh.advance(0.05)
    mesh.never(e("agent_stopped"))
    mesh.advance(QUIET)
    assert [mesh.starts(a) for a in AGENTS] == [2, 2, 1]


def test_an_endless_stream_still_reloads_after_the_cap(mesh: Mesh) -> None:
    saves = 0
    while not mesh.find("agent_stopped") and saves < 200:  # never 100 ms of quiet
        mesh.save("lib/shared.py", f"VALUE = {saves + 2}\n")
        mesh.advance(0.05)
        saves += 1
    assert saves * 0.05 == pytest.approx(5.0, abs=0.06), (
        "reloaded at the 5 s cap (reload_max_delay)"
    )
    assert mesh.starts("alpha") == 2


def test_a_change_during_a_restart_is_kept_for_the_next_round(mesh: Mesh) -> None:
    def edit_while_stopping() -> None:
        mesh.put("lib/mid.py", "from lib.shared import VALUE\nMORE = 1\n")
        mesh.watcher.watches[0].post_files([("modified", mesh.root / "lib/mid.py")])

    mesh.spawner.during_stop = edit_while_stopping
    mesh.save("lib/shared.py", "VALUE = 2\n")
    mesh.advance(QUIET)
    mesh.spawner.during_stop = None
    mesh.advance(QUIET)
    mesh.expect(
        e("reload", agents=["alpha", "beta"], files=["lib/shared.py"]),
        e("reload", agents=["beta"], files=["lib/mid.py"]),
    )


def test_the_timing_of_a_reload_is_split_into_its_steps(mesh: Mesh) -> None:
    mesh.save("agents/alpha.py", "from lib import shared\n# edit\n" + MAIN)
    mesh.advance(QUIET)
    mesh.advance(0.3)
    mesh.ready("alpha")
    (timing,) = mesh.find("reload_timing", agent="alpha")
    assert timing["quiet"] == pytest.approx(QUIET)  # the fake clock moved in one step
    assert timing["stop"] == pytest.approx(0.01) and timing["startup"] == pytest.approx(0.3)


# -- crashes, backoff, circuit ------------------------------------------------------------------


def test_a_crash_is_restarted_after_a_growing_backoff(mesh: Mesh) -> None:
    mesh.crash("alpha", 1)
    mesh.expect(e("agent_exited", agent="alpha", returncode=1), e("restart_scheduled", delay=0.5))
    mesh.advance(0.5)
    mesh.expect(e("agent_started", agent="alpha", generation=2, reason="restart after a crash"))
    mesh.crash("alpha", 1)
    mesh.expect(e("restart_scheduled", agent="alpha", delay=1.0, failures=2))


def test_a_crash_loop_opens_the_circuit_and_a_fix_closes_it(mesh: Mesh) -> None:
    for delay in (0.5, 1.0):
        mesh.crash("alpha", 1)
        mesh.advance(delay)
    mesh.crash("alpha", 1, stderr="Traceback (most recent call last):\nZeroDivisionError")
    mesh.expect(
        e(
            "circuit_open",
            agent="alpha",
            failures=3,
            stderr=["Traceback (most recent call last):", "ZeroDivisionError"],
        )
    )
    mesh.advance(60)
    assert mesh.starts("alpha") == 3, "no restart while the circuit is open"
    mesh.save("agents/alpha.py", "from lib import shared\n# fixed\n" + MAIN)
    mesh.advance(QUIET)
    mesh.ready("alpha")
    mesh.expect(
        e("circuit_half_open", agent="alpha", files=["agents/alpha.py"]),
        e("agent_started", agent="alpha", generation=4),
        e("circuit_closed", agent="alpha"),
    )
    assert [mesh.starts(a) for a in ("beta", "gamma")] == [1, 1]


def test_a_file_named_in_the_traceback_is_watched_for_the_fix(mesh: Mesh) -> None:
    conf = mesh.put("lib/settings.py", "X = 1\n")
    mesh.crash("alpha", 1, stderr=f'  File "{conf}", line 1, in <module>\nKeyError')
    mesh.save("lib/settings.py", "X = 2\n")
    mesh.advance(QUIET)
    mesh.expect(e("agent_started", agent="alpha", reason="lib/settings.py changed"))


def test_a_manual_reload_gives_an_open_circuit_its_one_trial(mesh: Mesh) -> None:
    for delay in (0.5, 1.0, 0):
        mesh.crash("alpha", 1)
        mesh.advance(delay)
    assert mesh.command("r alpha") == "reloaded alpha"
    mesh.crash("alpha", 1)
    mesh.expect(
        e("circuit_open"), e("circuit_half_open", agent="alpha"), e("circuit_open", failures=4)
    )


def test_exit_0_has_finished_and_only_a_change_starts_it_again(mesh: Mesh) -> None:
    mesh.crash("beta", 0)
    mesh.advance(30)
    mesh.expect(e("agent_exited", agent="beta", returncode=0))
    mesh.never(e("restart_scheduled"))
    mesh.save("agents/beta.py", "from lib import mid\n# again\n" + MAIN)
    mesh.advance(QUIET)
    assert mesh.starts("beta") == 2


def test_a_crash_while_starting_with_restored_state_retries_once_without_it(mesh: Mesh) -> None:
    mesh.save("agents/alpha.py", "from lib import shared\n# edit\n" + MAIN)
    mesh.advance(QUIET)
    mesh.report("alpha", RestoredReport(("cache",)))
    mesh.crash("alpha", 1)
    mesh.expect(
        e("state_restored", agent="alpha", keys=["cache"]),
        e("agent_started", agent="alpha", generation=3, reason="retry without restored state"),
    )
    assert mesh.spawner.current("alpha").request.env.get("MESHDEV_STATE_FILE")


# -- keep the last good version ----------------------------------------------------------------


def test_a_broken_save_keeps_the_running_version_until_a_good_one(mesh: Mesh) -> None:
    mesh.save("lib/shared.py", "VALUE = (\n")
    mesh.advance(QUIET)
    mesh.expect(
        e("compile_error", file="lib/shared.py", line=1),
        e("reload_held", agent="alpha", files=["lib/shared.py"], running=True),
        e("reload_held", agent="beta", files=["lib/shared.py"], running=True),
    )
    mesh.never(e("agent_stopped"))
    assert mesh.command("r beta") == "reloaded beta"  # still held: the file is still broken
    assert mesh.starts("beta") == 1
    mesh.save("lib/shared.py", "VALUE = 3\n")
    mesh.advance(QUIET)
    assert [mesh.starts(a) for a in AGENTS] == [2, 2, 1]


# -- agents coming and going --------------------------------------------------------------------


def test_a_new_agent_file_starts_and_a_deleted_one_stops(mesh: Mesh) -> None:
    mesh.save("agents/delta.py", MAIN)
    mesh.save("agents/helper_two.py", "X = 1\n")  # a plain module is not an agent
    mesh.advance(QUIET)
    mesh.delete("agents/beta.py")
    mesh.advance(QUIET)
    mesh.expect(
        e("agent_added", agent="delta"),
        e("agent_started", agent="delta", reason="new agent"),
        e("agent_stopped", agent="beta", reason="reload"),
        e("agent_removed", agent="beta"),
        e("batch", stopped=["beta"]),
    )
    assert not [p for p in mesh.spawner.alive() if p.agent == "beta"]
    assert "helper_two" not in {p.agent for p in mesh.spawner.spawned}


def test_a_new_agent_that_does_not_compile_waits_for_a_good_save(mesh: Mesh) -> None:
    mesh.save("agents/delta.py", "def broken(:\n" + MAIN)
    mesh.advance(QUIET)
    mesh.expect(e("reload_held", agent="delta", running=False))
    mesh.save("agents/delta.py", MAIN)
    mesh.advance(QUIET)
    mesh.expect(e("agent_started", agent="delta"))


# -- .meshwatch edited live ---------------------------------------------------------------------


def test_a_good_meshwatch_edit_applies_live(mesh: Mesh) -> None:
    edited = MESHWATCH.replace("reload_delay: 100", "reload_delay: 1000")
    mesh.save(".meshwatch", edited.replace('log_only: ["*.md"]', 'log_only: ["*.md", "conf/*"]'))
    mesh.advance(QUIET)
    mesh.expect(e("config_reloaded", file=str(mesh.root / ".meshwatch")))
    mesh.report("gamma", FilesReport(opened=(mesh.root / "conf/gamma.yaml",)))
    mesh.save("conf/gamma.yaml", "colour: green\n")
    mesh.save("lib/shared.py", "VALUE = 2\n")
    mesh.advance(0.5)
    mesh.never(e("agent_stopped"))  # the new quiet time: 1 s
    mesh.advance(0.5)
    mesh.expect(e("log_only", files=["conf/gamma.yaml"]), e("reload", agents=["alpha", "beta"]))


def test_a_broken_meshwatch_edit_keeps_the_previous_configuration(mesh: Mesh) -> None:
    mesh.save(".meshwatch", MESHWATCH.replace("reload_delay: 100", "reload_delay: soon"))
    mesh.advance(QUIET)
    (error,) = mesh.find("config_error")
    assert any(".meshwatch:3: reload_delay:" in p for p in error["problems"]), error
    mesh.save(".meshwatch", MESHWATCH + "inclde: ['*.txt']\n")
    mesh.advance(QUIET)
    assert "inclde: unknown key; did you mean 'include'?" in mesh.find("config_error")[1]["message"]
    mesh.save("NOTES.md", "still log only\n")
    mesh.save("lib/shared.py", "VALUE = 2\n")
    mesh.advance(QUIET)  # the old quiet time, the old rules
    mesh.expect(e("log_only", files=["NOTES.md"]), e("reload", agents=["alpha", "beta"]))


def test_an_agents_changed_settings_restart_it(mesh: Mesh) -> None:
    mesh.save(".meshwatch", MESHWATCH + "agents:\n  gamma:\n    args: ['--fast']\n")
    mesh.advance(QUIET)
    mesh.expect(e("agent_started", agent="gamma", generation=2, reason="its settings changed"))
    assert mesh.spawner.current("gamma").request.args == ("--fast",)
    assert mesh.starts("alpha") == 1


# -- commands -----------------------------------------------------------------------------------


def test_manual_reload_of_all_and_of_one(mesh: Mesh) -> None:
    assert mesh.command("r") == "reloaded alpha, beta, gamma"
    assert mesh.command("rs gamma") == "reloaded gamma"
    mesh.expect(
        e("reload", agents=list(AGENTS), reason="manual reload"), e("reload", agents=["gamma"])
    )
    assert [mesh.starts(a) for a in AGENTS] == [2, 2, 3]


def test_commands_that_are_not_understood_change_nothing(mesh: Mesh) -> None:
    assert mesh.command("r zeta") == "no agent named zeta (agents: alpha, beta, gamma)"
    assert mesh.command("hello").startswith("unknown command 'hello'")
    assert mesh.command("ping") == "pong"
    assert [mesh.starts(a) for a in AGENTS] == [1, 1, 1]


# -- watching -------------------------------------------------------------------------------------


def test_a_watch_error_watches_again_half_a_second_later(mesh: Mesh) -> None:
    armed = len(mesh.watcher.watches[0].armed)
    mesh.watch_error("cannot watch files (inotify limit); trying again")
    mesh.advance(0.4)
    assert len(mesh.watcher.watches[0].armed) == armed
    mesh.advance(0.1)
    assert len(mesh.watcher.watches[0].armed) == armed + 1


def test_a_change_the_watch_missed_is_found_by_the_resync(tmp_path: Path) -> None:
    mesh = Mesh(tmp_path, PROJECT)
    mesh.start()
    mesh.put("lib/shared.py", "VALUE = 5\n")  # before the new watch took hold: no event
    mesh.advance(0.1)
    mesh.advance(QUIET)
    assert mesh.starts("alpha") == 2


def test_a_file_written_in_a_new_folder_while_its_watch_is_made_is_found(mesh: Mesh) -> None:
    watch = mesh.watcher.watches[0]
    arm = watch.arm

    def late_write(dirs: Sequence[Path]) -> None:  # after the folder was seen, before its watch
        mesh.put("lib/newpkg/late.py", "X = 1\n")
        arm(dirs)

    watch.arm = late_write  # type: ignore[method-assign]
    mesh.add_folder("lib/newpkg", {"__init__.py": ""})
    mesh.advance(QUIET)
    mesh.expect(e("unused", files=["lib/newpkg/__init__.py", "lib/newpkg/late.py"]))


def test_a_new_folder_with_an_agent_inside_is_walked(mesh: Mesh) -> None:
    mesh.add_folder("agents/epsilon", {"__main__.py": MAIN})
    mesh.advance(QUIET)
    mesh.expect(e("agent_added", agent="epsilon"), e("agent_started", agent="epsilon"))


# -- the end --------------------------------------------------------------------------------------


def test_a_signal_stops_every_agent_and_a_slow_one_is_killed(mesh: Mesh) -> None:
    mesh.spawner.slow.add("beta")
    mesh.command("r beta")  # its new process ignores SIGTERM
    assert mesh.signal(15) == 143
    mesh.expect(
        e("agent_stopped", agent="beta", killed=True, reason="shutdown"),
        e("shutdown", exit_code=143, stopped=3, reloads=1, signal="SIGTERM"),
    )
    assert not mesh.spawner.alive() and mesh.watcher.watches[0].closed


def test_final_state_saves_are_told_before_the_successor_starts(mesh: Mesh) -> None:
    def save_on_stop() -> None:
        mesh.spawner.report("alpha", StateReport("state_saved", {"reason": "stop", "keys": 2}))

    mesh.spawner.during_stop = save_on_stop
    mesh.command("r alpha")
    mesh.expect(
        e("agent_stopped", agent="alpha"),
        e("state_saved", agent="alpha", reason="stop"),
        e("agent_started", agent="alpha", generation=2),
    )


def test_without_watching_meshdev_exits_once_every_agent_finished(tmp_path: Path) -> None:
    mesh = Mesh(tmp_path, PROJECT, flags=Flags(hot_reload=False)).start()
    mesh.expect(e("watching", enabled=False))
    for agent in AGENTS:
        mesh.crash(agent, 0)
    assert mesh.loop.exit_code == 0


def test_without_watching_a_crash_loop_ends_meshdev_with_1(tmp_path: Path) -> None:
    mesh = Mesh(tmp_path, PROJECT, flags=Flags(hot_reload=False)).start()
    for agent in ("beta", "gamma"):
        mesh.crash(agent, 0)
    for delay in (0.5, 1.0, 0):
        mesh.crash("alpha", 2)
        mesh.advance(delay)
    assert mesh.loop.exit_code == 1
