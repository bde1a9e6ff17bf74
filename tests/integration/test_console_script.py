"""`meshdev start` through the console script, the light way: the agents run, a save restarts
them, and nothing of typer, rich or the HTTP front is imported before the first one is spawned."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import Meshdev, agent_source, kill_group, wait_until, write

SCRIPT = Path(sys.executable).with_name("meshdev")  # the console script beside this interpreter


class ConsoleScript(Meshdev):
    """A real meshdev started by its console script, with --plain."""

    def command(self) -> list[str]:
        return [str(SCRIPT), "start", *self.args, "--plain"]

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}  # --plain alone
        return {**env, **self.env}


@pytest.mark.skipif(not SCRIPT.exists(), reason="meshdev is not installed beside this Python")
def test_the_console_script_runs_the_agents_and_a_save_restarts_them(tmp_path: Path) -> None:
    write(tmp_path / "agents/alpha.py", agent_source())
    write(tmp_path / "agents/beta.py", agent_source())
    md = ConsoleScript(tmp_path, ["agents", "--reload-delay", "100"])
    try:
        md.start(wait_ready=("alpha", "beta"))
        first = md.pids()

        def agents_heard() -> set[str]:
            return {line.split()[0] for line in md.output().splitlines() if " | up " in line}

        wait_until(lambda: {"alpha", "beta"} <= agents_heard(), "both agents' first lines")
        assert "meshdev | ▶ alpha started" in md.output()
        assert "\x1b" not in md.output()  # --plain: no escape code at all
        md.edit_and_wait_ready(tmp_path / "agents/alpha.py", "alpha")
        assert md.pid("alpha") != first["alpha"] and md.pid("beta") == first["beta"]
    finally:
        md.cleanup()


PROBE = """
import os, subprocess, sys
spawn = subprocess.Popen.__init__

def first_spawn(self, *args, **kwargs):
    loaded = sorted({"typer", "rich", "pydantic", "h11"} & set(sys.modules))
    print("loaded before the first agent:", loaded, flush=True)
    subprocess.Popen.__init__ = spawn
    os._exit(0)

subprocess.Popen.__init__ = first_spawn
sys.argv = ["meshdev", "start", "agents", "--plain"]
from meshdev.launch.argv import main
main()
"""


def test_nothing_but_what_starting_needs_is_imported_before_the_first_agent(
    tmp_path: Path,
) -> None:
    write(tmp_path / "agents/alpha.py", agent_source())
    write(tmp_path / "probe.py", textwrap.dedent(PROBE))
    proc = subprocess.Popen(
        [sys.executable, "probe.py"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=60)
    finally:
        kill_group(proc.pid)
    assert "loaded before the first agent: []" in out


def test_a_bad_meshwatch_is_told_by_the_deferred_console(tmp_path: Path) -> None:
    write(tmp_path / ".meshwatch", "reload_delay: nope\n")
    write(tmp_path / "a.py", agent_source())
    result = subprocess.run(
        [sys.executable, "-m", "meshdev", "start", "a.py", "--plain"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "error: " in result.stderr and "reload_delay" in result.stderr
