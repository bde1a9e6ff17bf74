"""Agent processes through the real spawner: no file descriptor outlives its agent."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from helpers import is_alive, wait_until, write

from meshdev.interfaces import Sinks, SpawnRequest
from meshdev.processes import stop
from meshdev.processes.spawn import SubprocessSpawner

SINKS = Sinks(lambda *a: None, lambda *a: None, lambda *a: None)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_crashing_agents_leak_no_descriptor_and_a_second_stop_is_harmless(tmp_path: Path) -> None:
    crash = write(tmp_path / "crash.py", "raise SystemExit(3)\n")
    before = open_fds()
    for generation in range(20):
        process = SubprocessSpawner().spawn(
            SpawnRequest("crash", generation, crash, (), {}, tmp_path), SINKS
        )
        assert process.exited.wait(15) and process.returncode == 3
    wait_until(lambda: open_fds() <= before, f"descriptors back to {before} (now {open_fds()})")
    sleeper = write(tmp_path / "sleeper.py", "import time\ntime.sleep(60)\n")
    spawner = SubprocessSpawner()
    process = spawner.spawn(SpawnRequest("s", 1, sleeper, (), {}, tmp_path), SINKS)
    assert not spawner.stop([process], 5)[0].killed
    assert spawner.stop([process], 5)[0].returncode is not None  # stopping twice does not fail


def test_clean_up_after_a_crash_without_a_keeper_is_term_grace_kill(tmp_path: Path) -> None:
    """The spawner's own clean-up, for when no keeper ended the group (not Linux, or a keeper
    killed by hand): a member that ignores SIGTERM gets SIGKILL after the grace period."""
    leader = write(
        tmp_path / "leader.py",
        """
        import signal, subprocess, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        member = subprocess.Popen([sys.executable, "-c", stubborn + "time.sleep(60)"])
        print(member.pid, flush=True)
        time.sleep(60)
        """,
    )
    group = subprocess.Popen(
        [sys.executable, str(leader)], stdout=subprocess.PIPE, start_new_session=True
    )
    try:
        assert group.stdout is not None
        member = int(group.stdout.readline())
        wait_until(lambda: os.getpgid(member) == group.pid, "the member in the group")
        stop.clean_up_group(group.pid, 0.3)  # was: one SIGTERM, then forgotten
        assert group.wait(5) == -signal.SIGKILL
        wait_until(lambda: not is_alive(member), f"member {member} gone")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group.pid, signal.SIGKILL)
