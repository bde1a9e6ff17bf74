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
    assert "session summary" in md.output()
    assert re.search(r"alpha\s+│\s+1\s+│\s+1\s+│", md.output())


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
