"""reload_strategy refresh, as scripted histories through the real loop: who is asked to refresh,
who restarts instead (and why), and what each answer of the runtime leads to."""

from __future__ import annotations

from pathlib import Path

from mesh import Mesh, e
from test_histories import AGENTS, PROJECT, QUIET, started

from meshdev.sources.messages import FilesReport, RefreshReport
from meshdev.supervise.refreshing import ANSWER_SECONDS

REFRESH = {**PROJECT, ".meshwatch": PROJECT[".meshwatch"] + "reload_strategy: refresh\n"}


def refreshing(tmp_path: Path, files: dict[str, str] = REFRESH) -> Mesh:
    mesh = started(Mesh(tmp_path, files))
    for agent in AGENTS:
        mesh.report(agent, RefreshReport(pid=mesh.spawner.current(agent).pid))
    return mesh


def pids(mesh: Mesh, *agents: str) -> list[int]:
    return [mesh.spawner.current(agent).pid for agent in agents]


def test_a_change_to_imported_modules_asks_their_agents_to_refresh(tmp_path: Path) -> None:
    mesh = refreshing(tmp_path)
    mesh.save("lib/shared.py", "VALUE = 2\n")
    mesh.advance(QUIET)
    assert mesh.spawner.refresh_asked == pids(mesh, "alpha", "beta")  # nobody restarted
    mesh.report("alpha", RefreshReport(modules=("lib.shared",), seconds=0.002))
    mesh.expect(
        e("agent_refreshed", agent="alpha", modules=["lib.shared"], files=["lib/shared.py"])
    )
    assert [mesh.starts(a) for a in AGENTS] == [1, 1, 1]
    mesh.never(e("agent_refreshed", agent="beta"))  # its answer has not come yet


def test_a_script_or_an_opened_file_restarts_and_says_why(tmp_path: Path) -> None:
    mesh = refreshing(tmp_path)
    mesh.report("gamma", FilesReport(opened=(mesh.root / "conf/gamma.yaml",)))
    mesh.save("conf/gamma.yaml", "colour: red\n")
    mesh.save("agents/alpha.py", PROJECT["agents/alpha.py"] + "# edit\n")
    mesh.advance(QUIET)
    mesh.expect(
        e("refresh_instead", agent="alpha", reason="agents/alpha.py is its own script"),
        e("refresh_instead", agent="gamma"),
    )
    assert "opened it at run time" in mesh.find("refresh_instead", agent="gamma")[0]["reason"]
    assert (mesh.starts("alpha"), mesh.starts("gamma")) == (2, 2)
    assert mesh.spawner.refresh_asked == []


def test_a_process_that_never_offered_is_restarted(tmp_path: Path) -> None:
    mesh = started(Mesh(tmp_path, REFRESH))  # no RefreshReport(pid=...): an old runtime, say
    mesh.save("lib/shared.py", "VALUE = 2\n")
    mesh.advance(QUIET)
    assert (mesh.starts("alpha"), mesh.starts("beta")) == (2, 2)
    assert "not offered" in mesh.find("refresh_instead", agent="alpha")[0]["reason"]


def test_new_code_that_raises_keeps_the_process_and_tells(tmp_path: Path) -> None:
    mesh = refreshing(tmp_path)
    mesh.save("lib/shared.py", "VALUE = (\n")  # does not compile: held, nobody is asked
    mesh.advance(QUIET)
    assert mesh.spawner.refresh_asked == []
    mesh.expect(e("compile_error", file="lib/shared.py"), e("reload_held", agent="alpha"))
    mesh.save("lib/shared.py", "raise ValueError('boom')\n")
    mesh.advance(QUIET)
    failure = RefreshReport(error="ValueError: boom", module="lib.shared", line=1)
    mesh.report("alpha", failure)
    mesh.expect(e("refresh_failed", agent="alpha", kept=True, error="ValueError: boom"))
    assert mesh.starts("alpha") == 1


def test_a_failed_callback_or_no_answer_means_a_restart(tmp_path: Path) -> None:
    mesh = refreshing(tmp_path)
    mesh.save("lib/shared.py", "VALUE = 2\n")
    mesh.advance(QUIET)
    mesh.report("alpha", RefreshReport(error="RuntimeError: no", restart=True))
    mesh.expect(e("refresh_failed", agent="alpha", kept=False), e("agent_started", agent="alpha"))
    mesh.advance(ANSWER_SECONDS)  # beta never answered
    assert (mesh.starts("alpha"), mesh.starts("beta")) == (2, 2)
    started_beta = mesh.find("agent_started", agent="beta")[-1]
    assert "no answer" in started_beta["reason"]
    mesh.report("beta", RefreshReport(modules=("lib.shared",)))  # too late: ignored
    mesh.never(e("agent_refreshed", agent="beta"))


def test_changes_during_a_refresh_are_refreshed_right_after_it(tmp_path: Path) -> None:
    mesh = refreshing(tmp_path)
    mesh.save("agents/helper_gamma.py", "def helper():\n    return 2\n")
    mesh.advance(QUIET)
    mesh.save("agents/helper_gamma.py", "def helper():\n    return 3\n")
    mesh.advance(QUIET)
    assert mesh.spawner.refresh_asked == pids(mesh, "gamma")  # one signal at a time
    mesh.report("gamma", RefreshReport(modules=("helper_gamma",)))
    assert mesh.spawner.refresh_asked == pids(mesh, "gamma", "gamma")
    mesh.report("gamma", RefreshReport(modules=("helper_gamma",)))
    assert len(mesh.find("agent_refreshed", agent="gamma")) == 2
    assert mesh.starts("gamma") == 1


def test_restart_patterns_and_per_agent_strategies(tmp_path: Path) -> None:
    meshwatch = PROJECT[".meshwatch"] + "restart: ['lib/shared.py']\nagents:\n"
    meshwatch += "  gamma:\n    reload_strategy: refresh\n"
    mesh = refreshing(tmp_path, {**PROJECT, ".meshwatch": meshwatch})
    mesh.save("lib/shared.py", "VALUE = 2\n")
    mesh.save("agents/helper_gamma.py", "def helper():\n    return 2\n")
    mesh.advance(QUIET)
    assert mesh.spawner.refresh_asked == pids(mesh, "gamma")  # gamma alone chose refresh
    assert (mesh.starts("alpha"), mesh.starts("beta"), mesh.starts("gamma")) == (2, 2, 1)
    mesh.never(e("refresh_instead"))  # alpha and beta never chose refresh: nothing to explain
