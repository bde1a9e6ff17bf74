"""`meshdev start` with real agent processes, real file writes and real process ids."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import Meshdev, agent_source, append, cli, is_alive, wait_until, write

Run = Callable[..., Meshdev]

MESHWATCH = """
include:
  - "*.py"
  - "lib/**/*.py"
  - "conf/*.yaml"
log_only:
  - "*.md"
reload_delay: 150
stop_grace: 1000
"""


@pytest.fixture
def mesh(tmp_path: Path) -> Path:
    """alpha imports lib.shared; beta imports lib.mid which imports lib.shared; gamma imports a
    helper beside it and opens conf/gamma.yaml."""
    write(tmp_path / ".meshwatch", MESHWATCH)
    write(tmp_path / "lib/__init__.py", "")
    write(tmp_path / "lib/shared.py", "VALUE = 1\n")
    write(tmp_path / "lib/mid.py", "from lib.shared import VALUE\n")
    write(tmp_path / "lib/unused.py", "X = 1\n")
    write(tmp_path / "conf/gamma.yaml", "colour: blue\n")
    write(tmp_path / "agents/helper_gamma.py", "def helper():\n    return 1\n")
    write(tmp_path / "agents/alpha.py", agent_source("from lib import shared"))
    write(tmp_path / "agents/beta.py", agent_source("from lib import mid"))
    write(
        tmp_path / "agents/gamma.py",
        agent_source(
            "import helper_gamma",
            "here = os.path.dirname(__file__)\n"
            "colour = open(os.path.join(here, '..', 'conf', 'gamma.yaml')).read()",
        ),
    )
    return tmp_path


def start_mesh(run: Run, *extra: str, env: dict[str, str] | None = None) -> Meshdev:
    return run("agents", *extra, env=env, wait_ready=("alpha", "beta", "gamma"))


def starts(md: Meshdev, agent: str) -> int:
    return len(md.events("agent_started", agent=agent))


def test_a_module_used_by_one_agent_restarts_that_agent_alone(mesh: Path, meshdev_run: Run) -> None:
    md = start_mesh(meshdev_run)
    before = md.pids()
    append(mesh / "agents/helper_gamma.py", "# edited\n")
    reload = md.wait_event("reload")
    assert reload["agents"] == ["gamma"]
    assert reload["files"] == ["agents/helper_gamma.py"]
    md.barrier()
    after = md.pids()
    assert after["alpha"] == before["alpha"] and after["beta"] == before["beta"]
    assert after["gamma"] != before["gamma"]
    assert is_alive(after["alpha"]) and is_alive(after["beta"]) and is_alive(after["gamma"])
    assert not is_alive(before["gamma"])


def test_a_yaml_file_an_agent_opened_restarts_that_agent_alone(
    mesh: Path, meshdev_run: Run
) -> None:
    md = start_mesh(meshdev_run)
    write(mesh / "conf/gamma.yaml", "colour: red\n")
    reload = md.wait_event("reload")
    assert reload["agents"] == ["gamma"]
    md.barrier()
    assert (starts(md, "alpha"), starts(md, "beta"), starts(md, "gamma")) == (1, 1, 2)


def test_an_atomic_rename_save_gives_one_restart(mesh: Path, meshdev_run: Run) -> None:
    md = start_mesh(meshdev_run)
    script = mesh / "agents/alpha.py"
    temp = mesh / "agents/.alpha.py.tmp"
    temp.write_text(script.read_text() + "# saved atomically\n")
    os.replace(temp, script)
    assert md.wait_event("reload")["agents"] == ["alpha"]
    md.barrier()
    assert starts(md, "alpha") == 2 and len(md.events("reload")) == 1


STUBBORN = agent_source(
    "import signal, subprocess",
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "child = subprocess.Popen([sys.executable, '-c', 'import signal, time; "
    "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)'])\n"
    "open(os.path.join(os.path.dirname(__file__), 'grandchild.pid'), 'w').write(str(child.pid))",
)


def test_each_agent_is_spawned_once_before_the_loop_and_its_first_words_are_shown(
    mesh: Path, meshdev_run: Run
) -> None:
    """The first starts are begun before the loop is built (processes/early.py), and adopted."""
    record = "open(os.environ['STARTS'], 'a').write(f'{os.getpid()}\\n')"
    for name in ("alpha", "beta"):
        write(mesh / f"agents/{name}.py", agent_source(f"# {name}", record))
    started = mesh / "starts.txt"
    md = start_mesh(meshdev_run, env={"STARTS": str(started)})
    assert len(started.read_text().split()) == 2, "alpha and beta, each started once"
    for name in ("alpha", "beta", "gamma"):
        assert starts(md, name) == 1
    own = started.read_text().split()
    wait_until(lambda: all(f"up {pid}" in md.output() for pid in own), "their first lines")
    assert "Traceback" not in md.output(), md.context()


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_every_agent_and_its_group(
    mesh: Path, meshdev_run: Run, sig: int, code: int
) -> None:
    write(mesh / "agents/stubborn.py", STUBBORN)
    md = meshdev_run("agents", wait_ready=("alpha", "beta", "gamma", "stubborn"))
    grandchild = int(wait_until(lambda: _read(mesh / "agents/grandchild.pid"), "grandchild pid"))
    pids = md.pids()
    assert md.signal(sig) == code
    for pid in [*pids.values(), grandchild]:
        wait_until(lambda pid=pid: not is_alive(pid), f"pid {pid} gone", context=md.context)
    stopped = {e["agent"]: e for e in md.events("agent_stopped")}
    assert stopped["stubborn"]["killed"] is True  # ignored SIGTERM: SIGKILL after the grace
    assert stopped["alpha"]["killed"] is False
    assert md.events("shutdown")[-1]["exit_code"] == code


def test_kill_9_of_meshdev_leaves_no_agent_and_no_grandchild(mesh: Path, meshdev_run: Run) -> None:
    write(mesh / "agents/stubborn.py", STUBBORN)
    md = meshdev_run("agents", wait_ready=("alpha", "beta", "gamma", "stubborn"))
    grandchild = int(wait_until(lambda: _read(mesh / "agents/grandchild.pid"), "grandchild pid"))
    pids = md.pids()
    assert md.proc is not None
    md.proc.kill()
    md.proc.wait()
    for pid in [*pids.values(), grandchild]:
        wait_until(lambda pid=pid: not is_alive(pid), f"orphan {pid} gone", context=md.context)


def test_a_stop_runs_the_agents_atexit_and_finally(mesh: Path, meshdev_run: Run) -> None:
    write(
        mesh / "agents/tidy.py",
        """
        import atexit, os, time
        import meshdev
        here = os.path.dirname(__file__)
        atexit.register(lambda: open(os.path.join(here, "atexit.ran"), "w").close())
        meshdev.ready()
        try:
            while True:
                time.sleep(1)
        finally:
            open(os.path.join(here, "finally.ran"), "w").close()
        """,
    )
    md = meshdev_run("agents/tidy.py", wait_ready=("tidy",))
    assert md.signal(signal.SIGTERM) == 143
    assert (mesh / "agents/atexit.ran").exists() and (mesh / "agents/finally.ran").exists()
    assert md.events("agent_stopped", agent="tidy")[0]["killed"] is False


def test_no_reload_runs_and_supervises_without_watching(mesh: Path, meshdev_run: Run) -> None:
    write(
        mesh / "agents/ticker.py",
        agent_source(body="", imports="").replace(
            "time.sleep(1)", "print('tick', flush=True); time.sleep(0.05)"
        ),
    )
    md = meshdev_run("agents/ticker.py", "--no-reload", wait_ready=("ticker",))
    assert md.events("watching")[0]["enabled"] is False
    append(mesh / "agents/ticker.py", "# edited\n")
    ticks = md.output().count("tick")
    # the agent's own ticks are the clock: 20 of them (1 s) is far past reload_delay
    wait_until(lambda: md.output().count("tick") > ticks + 20, "20 more ticks", context=md.context)
    assert starts(md, "ticker") == 1


def test_environment_variables_and_their_aliases(mesh: Path, meshdev_run: Run) -> None:
    md = start_mesh(meshdev_run, env={"MCP_MESH_RELOAD_DELAY": "234"})
    assert md.events("watching")[0]["reload_delay_ms"] == 234
    assert md.signal(signal.SIGTERM) == 143  # one meshdev per project at a time
    md2 = meshdev_run(
        "agents/alpha.py",
        env={"MESHDEV_RELOAD_DELAY": "345", "MCP_MESH_RELOAD_DELAY": "1"},
        wait_ready=("alpha",),
        root=mesh / "agents",
        cwd=mesh,
    )
    assert md2.events("watching")[0]["reload_delay_ms"] == 345


def test_flags_beat_the_environment(mesh: Path, meshdev_run: Run) -> None:
    md = start_mesh(meshdev_run, "--reload-delay", "77", env={"MESHDEV_RELOAD_DELAY": "999"})
    assert md.events("watching")[0]["reload_delay_ms"] == 77
    assert md.signal(signal.SIGTERM) == 143  # one meshdev per project at a time
    md2 = meshdev_run(
        "agents/alpha.py",
        env={"MCP_MESH_ENABLE_HOT_RELOAD": "false"},
        wait_ready=("alpha",),
        root=mesh / "agents",
        cwd=mesh,
    )
    assert md2.events("watching")[0]["enabled"] is False


def test_config_flag_chooses_the_meshwatch_and_the_root(tmp_path: Path, meshdev_run: Run) -> None:
    write(tmp_path / "elsewhere/.meshwatch", "reload_delay: 123\n")
    write(tmp_path / "elsewhere/lib/__init__.py", "")
    write(tmp_path / "elsewhere/lib/thing.py", "X = 1\n")
    write(tmp_path / "agents/solo.py", agent_source("from lib import thing"))
    md = meshdev_run("agents", "--config", "elsewhere/.meshwatch", wait_ready=("solo",))
    started = md.events("meshdev_started")[0]
    assert started["root"] == str((tmp_path / "elsewhere").resolve())
    assert md.events("watching")[0]["reload_delay_ms"] == 123


def _read(path: Path) -> str | None:
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    return text or None


def test_a_bad_meshwatch_is_one_clear_message_and_exit_2(tmp_path: Path) -> None:
    write(tmp_path / ".meshwatch", "include:\n  - '*.py'\ninclde: x\nreload_delay: -1\n")
    write(tmp_path / "a.py", agent_source())
    result = cli("start", "a.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert ".meshwatch:3: inclde: unknown key; did you mean 'include'?" in result.stderr
    assert ".meshwatch:4: reload_delay:" in result.stderr


def test_a_missing_path_and_a_folder_without_agents_exit_2(tmp_path: Path) -> None:
    missing = cli("start", "nowhere/", cwd=tmp_path)
    assert missing.returncode == 2 and "nowhere" in missing.stderr
    write(tmp_path / "empty/helper.py", "X = 1\n")
    empty = cli("start", "empty", cwd=tmp_path)
    assert empty.returncode == 2 and "no agents found" in empty.stderr
    assert "Traceback" not in missing.stderr + empty.stderr


def test_an_unknown_reload_strategy_is_refused_clearly(tmp_path: Path) -> None:
    write(tmp_path / "a.py", agent_source())
    result = cli("start", "a.py", cwd=tmp_path, env={"MESHDEV_RELOAD_STRATEGY": "swap"})
    assert result.returncode == 2
    assert "MESHDEV_RELOAD_STRATEGY: must be one of warm, restart, refresh" in result.stderr


def test_version_and_module_entry_point(tmp_path: Path) -> None:
    result = cli("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("meshdev ")


# -- every bad input is exit 2 with one located message (each class: tests/unit/test_cli_inputs.py)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("x: !!python/object/apply:os.system ['touch PWNED']\n", ".meshwatch:1: x: YAML tag"),
        ("x: " + "[" * 5000 + "]" * 5000 + "\n", ".meshwatch:1: nested deeper than 32"),
    ],
)
def test_a_real_start_with_a_bad_meshwatch_is_exit_2_never_a_traceback(
    tmp_path: Path, text: str, says: str
) -> None:
    write(tmp_path / "a.py", agent_source())
    (tmp_path / ".meshwatch").write_text(text)
    result = cli("start", "a.py", cwd=tmp_path)
    assert result.returncode == 2 and says in result.stderr, result.stderr
    assert "Traceback" not in result.stderr + result.stdout and not (tmp_path / "PWNED").exists()


def test_a_real_start_with_a_fifo_for_a_meshwatch_is_told_never_read(tmp_path: Path) -> None:
    write(tmp_path / "a.py", agent_source())
    os.mkfifo(tmp_path / ".meshwatch")
    result = cli("start", "a.py", cwd=tmp_path)  # cli() times out at 60 s: a read would hang
    assert result.returncode == 2 and ".meshwatch: is a named pipe (FIFO)" in result.stderr


def test_mcp_mesh_s_own_variables_are_read_in_seconds(mesh: Path, meshdev_run: Run) -> None:
    env = {"MCP_MESH_RELOAD_DEBOUNCE": "0.25", "MCP_MESH_RELOAD_PORT_DELAY": "0.5"}
    md = start_mesh(meshdev_run, env=env)
    assert md.events("watching")[0]["reload_delay_ms"] == 250


# -- "ready" is never said of a process that ended -------------------------------------------------


def test_an_agent_that_ends_at_once_is_finished_never_ready(
    tmp_path: Path, meshdev_run: Run
) -> None:
    write(tmp_path / ".meshwatch", "log_only: ['*.md']\n")
    write(tmp_path / "agents/plain.py", 'print("done")\nif __name__ == "__main__":\n    pass\n')
    crash = "x" * 150 + " OSError: [Errno 98] address already in use"
    write(
        tmp_path / "agents/crashy.py",
        f"import sys\nif __name__ == '__main__':\n    sys.exit({crash!r})\n",
    )
    write(
        tmp_path / "agents/quiet.py",
        "import time\nif __name__ == '__main__':\n    time.sleep(600)\n",
    )
    md = meshdev_run("agents", env={"MESHDEV_CRASH_LIMIT": "2", "MESHDEV_BACKOFF": "0"})
    md.wait_event("agent_exited", agent="plain", returncode=0)  # `print("done")`
    opened = md.wait_event("circuit_open", agent="crashy")
    assert opened["stderr"] == [crash]  # whole, in the events log and on screen
    assert f"meshdev |   {crash}\n" in md.output()
    md.wait_event("agent_ready", agent="quiet", how="alive for 1 s")  # past every alive timer
    md.barrier()
    assert not md.events("agent_ready", agent="plain")
    assert not md.events("agent_ready", agent="crashy")
    assert "plain ready" not in md.output() and "crashy ready" not in md.output()
