"""State across restarts, with real agents, real files and real kills."""

from __future__ import annotations

import json
import os
import pickle
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from helpers import Meshdev, append, cli, is_alive, wait_until, write

from meshdev.runtime import statefile

Run = Callable[..., Meshdev]

MESHWATCH = "log_only: ['*.md']\nreload_delay: 50\nstop_grace: 2000\ncheckpoint_interval: 100\n"

# Every start appends its pid to `runs` and bumps `count`: a lost save shows as a gap.
RUNS = """
import os, time
import meshdev

runs = meshdev.preserve("runs", list)
runs.append(os.getpid())
meshdev.state["count"] = meshdev.state.get("count", 0) + 1
print(f"runs={len(runs)} count={meshdev.state['count']} changes={meshdev.changes()}", flush=True)
meshdev.ready()
if __name__ == "__main__":
    while True:
        time.sleep(1)
"""


def line_count(md: Meshdev, text: str) -> int:
    return md.output().count(text)


def test_values_survive_twenty_consecutive_restarts_with_none_lost(
    tmp_path: Path, meshdev_run: Run
) -> None:
    write(tmp_path / ".meshwatch", MESHWATCH)
    script = write(tmp_path / "agents/keeper.py", RUNS)
    md = meshdev_run("agents", wait_ready=("keeper",))
    for i in range(20):
        md.edit_and_wait_ready(script, "keeper", f"# restart {i}\n")
    wait_until(lambda: "runs=21 count=21" in md.output(), "runs=21", context=md.context)
    assert f"changes=['{script}']" in md.output()  # meshdev.changes() names the cause


def test_the_next_meshdev_start_restores_and_no_preserve_state_starts_fresh(
    tmp_path: Path, meshdev_run: Run
) -> None:
    write(tmp_path / ".meshwatch", MESHWATCH)
    write(tmp_path / "agents/keeper.py", RUNS)
    first = meshdev_run("agents", wait_ready=("keeper",))
    assert first.signal(signal.SIGINT) == 130
    second = meshdev_run("agents", wait_ready=("keeper",), root=tmp_path / "agents", cwd=tmp_path)
    wait_until(lambda: "runs=2 count=2" in second.output(), "restored", context=second.context)
    assert second.events("state_restored", agent="keeper")[0]["keys"] == ["count", "runs"]
    assert second.signal(signal.SIGTERM) == 143
    third = meshdev_run(
        "agents",
        "--no-preserve-state",
        wait_ready=("keeper",),
        root=tmp_path / "agents/..",
        cwd=tmp_path,
    )
    wait_until(lambda: "runs=1 count=1" in third.output(), "fresh", context=third.context)


def test_the_seeds_atexit_pickle_pattern_works_under_meshdev(
    tmp_path: Path, meshdev_run: Run
) -> None:
    write(tmp_path / ".meshwatch", MESHWATCH)
    script = write(
        tmp_path / "agents/seed.py",
        """
        import atexit, os, pickle, time
        import meshdev
        STATE_FILE = os.path.join(os.path.dirname(__file__), ".agent_state.pkl")
        try:
            with open(STATE_FILE, "rb") as f:
                counters = pickle.load(f)
        except FileNotFoundError:
            counters = {"starts": 0}
        counters["starts"] += 1
        def save_state():
            with open(STATE_FILE, "wb") as f:
                pickle.dump(counters, f)
        atexit.register(save_state)
        print("starts", counters["starts"], flush=True)
        meshdev.ready()
        while True:
            time.sleep(1)
        """,
    )
    md = meshdev_run("agents/seed.py", wait_ready=("seed",))
    for _ in range(2):
        md.edit_and_wait_ready(script, "seed", "# edit\n")
    wait_until(lambda: "starts 3" in md.output(), "starts 3", context=md.context)


def test_classes_from_the_agent_file_and_unpicklable_values(
    tmp_path: Path, meshdev_run: Run
) -> None:
    write(tmp_path / ".meshwatch", MESHWATCH)
    script = write(
        tmp_path / "agents/shapes.py",
        """
        import threading, time
        import meshdev

        class Point:
            def __init__(self, x):
                self.x = x

        point = meshdev.preserve("point", lambda: Point(0))
        point.x += 1
        meshdev.state["lock"] = threading.Lock()
        print("point", point.x, type(point).__module__, flush=True)
        meshdev.ready()
        while True:
            time.sleep(1)
        """,
    )
    md = meshdev_run("agents/shapes.py", wait_ready=("shapes",))
    warning = md.wait_event("state_warning", agent="shapes")
    assert "state['lock'] (a _thread.lock) cannot be pickled" in warning["message"]
    md.edit_and_wait_ready(script, "shapes", "# edit\n")
    wait_until(lambda: "point 2 __main__" in md.output(), "point 2", context=md.context)
    assert is_alive(md.pid("shapes"))


def test_kill_9_of_an_agent_loses_nothing_older_than_the_last_checkpoint(
    tmp_path: Path, meshdev_run: Run
) -> None:
    write(tmp_path / ".meshwatch", MESHWATCH)
    script = write(
        tmp_path / "agents/ticker.py",
        """
        import time
        import meshdev
        state = meshdev.state
        print("restored", state.get("ticks", 0), flush=True)
        meshdev.ready()
        while True:
            state["ticks"] = state.get("ticks", 0) + 1
            state["blob"] = b"x" * 2_000_000  # checkpoints take a while: kills land in them
            time.sleep(0.01)
        """,
    )
    md = meshdev_run("agents/ticker.py", wait_ready=("ticker",))
    saved = [md.wait_event("state_saved", agent="ticker", reason="checkpoint")]
    wait_until(lambda: len(md.events("state_saved", agent="ticker")) >= 3, "three checkpoints")
    os.kill(md.pid("ticker"), signal.SIGKILL)
    md.wait_event("agent_exited", agent="ticker")
    state_file = tmp_path / ".meshdev/state/ticker.state"
    secret = (tmp_path / ".meshdev/secret").read_bytes()
    loaded = statefile.decode(state_file.read_bytes(), secret, "ticker")  # never broken
    on_disk = pickle.loads(loaded.entries["ticks"])
    assert on_disk > 0 and saved
    # What a kill in the middle of a save leaves: a temporary file of a writer that is gone.
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    leftover = state_file.with_name(f"ticker.state.tmp-{int(dead.stdout)}")
    leftover.write_bytes(b"x" * 100_000)
    md.edit_and_wait_ready(script, "ticker", "# restart after the crash\n")
    assert not leftover.exists()  # removed by the next start; it used to stay forever
    restored = wait_until(
        lambda: re.findall(r"ticker\s+\| restored ([1-9]\d*)", md.output()),
        "a restore with ticks",
        context=md.context,
    )
    assert int(restored[-1]) == on_disk  # exactly the last checkpoint


def test_a_crash_with_restored_state_gets_one_fresh_retry(tmp_path: Path, meshdev_run: Run) -> None:
    write(tmp_path / ".meshwatch", MESHWATCH)
    script = write(
        tmp_path / "agents/fragile.py",
        """
        import time
        import meshdev
        if meshdev.state.get("poison"):
            raise RuntimeError("cannot start with this state")
        meshdev.state["poison"] = True
        meshdev.ready()
        while True:
            time.sleep(1)
        """,
    )
    md = meshdev_run("agents/fragile.py", wait_ready=("fragile",))
    mark = md.mark()
    append(script, "# edit\n")
    warning = md.wait_event("warning", after=mark)
    assert "restarts once without it" in warning["message"]
    md.wait_event("agent_ready", agent="fragile", after=mark)
    assert list((tmp_path / ".meshdev/state").glob("fragile.state.crashed-*"))


def test_state_show_and_clear(tmp_path: Path, meshdev_run: Run) -> None:
    write(tmp_path / ".meshwatch", MESHWATCH)
    write(tmp_path / "agents/keeper.py", RUNS)
    md = meshdev_run("agents", wait_ready=("keeper",))
    assert md.signal(signal.SIGTERM) == 143

    def meshdev(*args: str) -> subprocess.CompletedProcess[str]:
        return cli("state", *args, cwd=tmp_path)

    shown = json.loads(meshdev("show", "--json").stdout)
    assert shown[0]["agent"] == "keeper" and set(shown[0]["keys"]) == {"count", "runs"}
    table = meshdev("show", "keeper").stdout
    assert "keeper" in table and "count" in table and "int" in table
    assert "removed" in meshdev("clear", "keeper").stdout
    assert meshdev("show").stdout.strip() == "no saved state"
