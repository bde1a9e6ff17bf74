"""What a user sees: debug commands, manual reloads, the summary and the live view."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from helpers import Meshdev, agent_source, append, cli, is_alive, kill_group, wait_until, write

Run = Callable[..., Meshdev]


def mesh(tmp_path: Path) -> None:
    write(tmp_path / ".meshwatch", "log_only: ['*.md']\nreload_delay: 50\nstop_grace: 1000\n")
    write(tmp_path / "lib/__init__.py", "")
    write(tmp_path / "lib/shared.py", "from lib import util\n")
    write(tmp_path / "lib/util.py", "X = 1\n")
    write(tmp_path / "agents/alpha.py", agent_source("from lib import shared"))
    write(tmp_path / "agents/beta.py", agent_source())


def test_debug_commands(tmp_path: Path) -> None:
    mesh(tmp_path)
    watches = json.loads(cli("debug", "watches", "agents", "--json", cwd=tmp_path).stdout)
    util = next(f for f in watches["files"] if f["path"] == "lib/util.py")
    assert util["verdict"] == "reload" and util["agents"] == ["alpha"]
    why = cli("debug", "why", "lib/util.py", "agents", cwd=tmp_path).stdout
    assert "restarts alpha -> lib.shared -> lib.util" in why
    agents = cli("debug", "agents", "agents", cwd=tmp_path).stdout
    assert "alpha" in agents and "beta" in agents
    table = cli("debug", "watches", "agents", cwd=tmp_path).stdout
    assert "lib/util.py" in table and "alpha" in table


def test_meshdev_reload_name_from_another_terminal(tmp_path: Path, meshdev_run: Run) -> None:
    mesh(tmp_path)
    md = meshdev_run("agents", wait_ready=("alpha", "beta"))
    before = md.pids()
    result = cli("reload", "alpha", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == "reloaded alpha"
    reload = md.wait_event("reload", reason="manual reload")
    assert reload["agents"] == ["alpha"]
    timing = md.wait_event("reload_timing", agent="alpha")
    assert set(timing) >= {"quiet", "stop", "spawn", "startup", "total"}
    assert md.pids()["beta"] == before["beta"] and md.pids()["alpha"] != before["alpha"]
    wrong = cli("reload", "gamma", cwd=tmp_path)
    assert wrong.returncode == 1 and "no agent named gamma" in wrong.stdout


def test_typing_r_on_the_terminal_reloads(tmp_path: Path, meshdev_run: Run) -> None:
    mesh(tmp_path)
    md = meshdev_run("agents", wait_ready=("alpha", "beta"), stdin_pipe=True)
    md.type("rs")
    reload = md.wait_event("reload", reason="manual reload")
    assert reload["agents"] == ["alpha", "beta"]
    md.type("r beta")
    wait_until(lambda: len(md.events("reload")) == 2, "the second reload", context=md.context)
    assert md.events("reload")[1]["agents"] == ["beta"]
    # The answer to `r beta` may be logged after the reload itself: wait for it before marking.
    wait_until(lambda: len(md.events("command")) >= 2, "the answer to r beta", context=md.context)
    mark = md.mark()
    md.type("hello")
    assert "unknown command 'hello'" in md.wait_event("command", after=mark)["reply"]


def test_the_summary_on_exit(tmp_path: Path, meshdev_run: Run) -> None:
    mesh(tmp_path)
    md = meshdev_run("agents", wait_ready=("alpha", "beta"))
    append(tmp_path / "lib/util.py", "# edit\n")
    md.wait_event("reload_timing", agent="alpha")
    assert md.signal(signal.SIGINT) == 130
    summary = md.events("shutdown")[0]["agents"]
    assert summary["alpha"]["reloads"] == 1 and summary["beta"]["reloads"] == 0
    assert summary["alpha"]["median_reload_s"] > 0
    # In a pipe: plain `name | line` output, no table.
    assert "meshdev | session summary:" in md.output()
    assert re.search(r"meshdev \|   alpha: 1 restart, 1 reload \(median \d", md.output())
    assert not re.search("[╭╮╰╯│┃━┏┓┗┛]", md.output())


def test_the_live_view_in_a_terminal(tmp_path: Path) -> None:
    """Under a pseudo-terminal, a person sees the status table below the agents' lines."""
    mesh(tmp_path)
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "LINES": "40", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "meshdev", "start", "agents"],
        cwd=tmp_path,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    screen = bytearray()

    def read_some() -> str:
        while select.select([master], [], [], 0.05)[0]:
            try:
                screen.extend(os.read(master, 65536))
            except OSError:
                break
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.decode("utf-8", "replace"))

    try:
        text = wait_until(
            lambda: (t := read_some()) and re.search(r"alpha\s+running\s+\d+", t) and t,
            "the status table",
            context=lambda: read_some()[-3000:],
        )
        assert re.search(r"agent\s+state\s+pid\s+uptime\s+restarts\s+circuit", text)
        assert re.search(r"beta\s+running\s+\d+\s+\d+:\d\d\s+0\s+closed", text)
        assert "alpha   | up" in text  # the agents' own lines, prefixed, above the table
        pid = int(re.search(r"alpha\s+running\s+(\d+)", text).group(1))  # type: ignore[union-attr]
        assert is_alive(pid)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        finally:
            kill_group(proc.pid)
            for agent_pid in re.findall(r"started \(pid (\d+)\)", read_some()):
                kill_group(int(agent_pid))
            os.close(master)


def demo(tmp_path: Path) -> Path:
    """The README's demo layout: a project folder with .meshwatch and agents side by side, one
    of which opens a YAML file at run time; the user stays in the folder above it."""
    project = tmp_path / "examples/agents"
    write(project / ".meshwatch", "log_only: ['*.md']\nreload_delay: 50\nstop_grace: 1000\n")
    write(project / "lib/__init__.py", "")
    write(project / "lib/shared.py", "X = 1\n")
    write(project / "config/weather.yaml", "sky: clear\n")
    write(project / "counter.py", agent_source("from lib import shared", "meshdev.state['n'] = 1"))
    opener = "open(os.path.join(os.path.dirname(__file__), 'config', 'weather.yaml')).read()"
    write(project / "weather.py", agent_source(body=opener))
    return project


def test_from_the_folder_above_the_project_debug_reload_and_state_find_it(
    tmp_path: Path, meshdev_run: Run
) -> None:
    project = demo(tmp_path)
    static = cli("debug", "why", "examples/agents/config/weather.yaml", cwd=tmp_path).stdout
    assert "no agent imports it" in static and "learnt at run time" in static
    why = cli("debug", "why", "examples/agents/lib/shared.py", cwd=tmp_path).stdout
    assert "restarts counter -> lib.shared" in why
    md = meshdev_run(
        "examples/agents/", wait_ready=("counter", "weather"), root=project, cwd=tmp_path
    )
    opened = cli("debug", "why", "examples/agents/config/weather.yaml", cwd=tmp_path)
    assert "restarts weather (opened or imported it at run time)" in opened.stdout, opened
    before = md.pids()
    result = cli("reload", "weather", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == "reloaded weather", result
    md.wait_event("reload", reason="manual reload")
    assert md.pids()["counter"] == before["counter"]
    assert md.signal(signal.SIGTERM) == 143
    shown = cli("state", "show", cwd=tmp_path)
    assert f"project {project}" in shown.stdout and "counter" in shown.stdout, shown
    assert json.loads(cli("state", "show", "--json", cwd=tmp_path).stdout)[0]["agent"] == "counter"


def test_state_of_no_such_agent_is_said_so(tmp_path: Path) -> None:
    mesh(tmp_path)
    for verb in ("show", "clear"):
        result = cli("state", verb, "nosuch", cwd=tmp_path, env={"PYTHONPATH": ""})
        assert result.returncode == 2, result
        assert "no agent named 'nosuch' in this project (alpha, beta)" in result.stderr
    known = cli("state", "show", "alpha", cwd=tmp_path)
    assert known.returncode == 0 and known.stdout.strip() == "no saved state for alpha"


def test_debug_tables_in_a_pipe_use_the_full_width(tmp_path: Path) -> None:
    deep = "agents/" + "a_rather_long_folder_name/" * 5
    write(tmp_path / ".meshwatch", "log_only: ['*.md']\n")
    write(tmp_path / deep / "alpha.py", agent_source())
    result = cli("debug", "agents", deep, cwd=tmp_path, env={"COLUMNS": ""})
    assert f"{deep}alpha.py" in result.stdout and "…" not in result.stdout, result.stdout
