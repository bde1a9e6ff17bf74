"""Agent processes through the real spawner: no file descriptor outlives its agent."""

from __future__ import annotations

import os
from pathlib import Path

from helpers import wait_until, write

from meshdev.interfaces import Sinks, SpawnRequest
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
