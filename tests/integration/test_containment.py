"""Nothing an agent starts outlives it: descendants that left its process group (`setsid()`, a
double-forked daemon), an agent stuck in a C call that holds the GIL, and what a crashed agent
left behind. Real meshdev, real agents, real pids; every process is ended by pid or group."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import Meshdev, agent_source, append, is_alive, wait_until, write

Run = Callable[..., Meshdev]

MESHWATCH = """
log_only: ['*.md']
reload_delay: 50
stop_grace: 500
backoff: 50
"""
GONE_WITHIN = 10.0  # seconds: the grace period (0.5 s) and polling, with room for a loaded machine

# Two descendants that leave the agent's process group and ignore SIGTERM: a child that calls
# setsid(), and a daemon double-forked with setsid() (its parent exits, so it is an orphan).
ESCAPER = agent_source(
    "import signal, subprocess",
    """
here = os.path.dirname(__file__)
stubborn = "import os, signal, time; os.setsid(); signal.signal(signal.SIGTERM, signal.SIG_IGN); "
child = subprocess.Popen([sys.executable, "-c", stubborn + "time.sleep(600)"])
r, w = os.pipe()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.write(w, str(os.getpid()).encode())
        time.sleep(600)
    os._exit(0)
daemon = int(os.read(r, 32))
with open(os.path.join(here, f"escaped-{os.getpid()}"), "w") as out:
    out.write(f"{child.pid} {daemon}")
""",
)


@pytest.fixture
def stray(tmp_path: Path) -> Iterator[list[int]]:
    """Pids a test saw; any still there at the end is killed (and the test has failed already)."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if is_alive(pid):
            os.kill(pid, signal.SIGKILL)


def escaped(md: Meshdev, folder: Path, agent_pid: int) -> list[int]:
    path = folder / f"escaped-{agent_pid}"
    text = wait_until(
        lambda: path.exists() and path.read_text(), f"{path.name}", context=md.context
    )
    pids = [int(p) for p in text.split()]
    for pid in pids:  # they really left: another session, so no group signal reaches them
        wait_until(lambda pid=pid: os.getsid(pid) != os.getsid(agent_pid), f"{pid} in a session")
    return pids


def agent_pid(md: Meshdev, name: str, after: int = 0) -> int:
    """The agent's own pid (it prints it), which is not the keeper's that meshdev shows."""
    line = wait_until(
        lambda: [ln for ln in md.output().splitlines()[after:] if f"{name}" in ln and " up " in ln],
        f"{name} says up",
        context=md.context,
    )
    return int(line[-1].split()[-1])


def all_gone(md: Meshdev, pids: list[int], what: str) -> None:
    wait_until(
        lambda: not [p for p in pids if is_alive(p)],
        f"{what}: {[p for p in pids if is_alive(p)]} gone",
        GONE_WITHIN,
        md.context,
    )


def start(tmp_path: Path, meshdev_run: Run, stray: list[int]) -> tuple[Meshdev, int, list[int]]:
    write(tmp_path / ".meshwatch", MESHWATCH)
    write(tmp_path / "agents/escaper.py", ESCAPER)
    md = meshdev_run("agents", wait_ready=("escaper",))
    agent = agent_pid(md, "escaper")
    pids = escaped(md, tmp_path / "agents", agent)
    stray += [agent, *pids]
    return md, agent, pids


@pytest.mark.parametrize(
    "sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["ctrl-c", "sigterm", "sighup"]
)
def test_descendants_that_left_the_group_end_with_meshdev(
    tmp_path: Path, meshdev_run: Run, stray: list[int], sig: int
) -> None:
    md, agent, pids = start(tmp_path, meshdev_run, stray)
    assert md.signal(sig) == 128 + sig
    all_gone(md, [agent, *pids], f"after {signal.Signals(sig).name}")


def test_descendants_that_left_the_group_end_after_kill_9_of_meshdev(
    tmp_path: Path, meshdev_run: Run, stray: list[int]
) -> None:
    md, agent, pids = start(tmp_path, meshdev_run, stray)
    keeper = md.pid("escaper")
    assert md.proc is not None
    md.proc.kill()
    md.proc.wait()
    all_gone(md, [agent, *pids, keeper], "after kill -9 of meshdev")


def test_descendants_that_left_the_group_end_with_a_restart_by_an_edit(
    tmp_path: Path, meshdev_run: Run, stray: list[int]
) -> None:
    md, agent, pids = start(tmp_path, meshdev_run, stray)
    lines = len(md.output().splitlines())
    ready = md.edit_and_wait_ready(tmp_path / "agents/escaper.py", "escaper")
    all_gone(md, [agent, *pids], "after a restart by an edit")
    new_agent = agent_pid(md, "escaper", after=lines)
    stray += [new_agent, *escaped(md, tmp_path / "agents", new_agent)]
    assert ready["pid"] != md.events("agent_started", agent="escaper")[0]["pid"]
    assert is_alive(new_agent)


GIL_HOLDER = """
import ctypes, os, signal, meshdev
here = os.path.dirname(__file__)
if {ignore_term}:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
open(os.path.join(here, "blocked.pid"), "w").write(str(os.getpid()))
meshdev.ready()
if __name__ == "__main__":
    ctypes.PyDLL(None).sleep(3600)  # a C call that keeps the GIL: no thread of this process runs
"""


@pytest.mark.parametrize("ignore_term", [False, True], ids=["plain", "ignoring-sigterm"])
def test_an_agent_holding_the_gil_in_a_c_call_ends_after_kill_9_of_meshdev(
    tmp_path: Path, meshdev_run: Run, stray: list[int], ignore_term: bool
) -> None:
    write(tmp_path / ".meshwatch", MESHWATCH)
    write(tmp_path / "agents/blocked.py", GIL_HOLDER.format(ignore_term=ignore_term))
    md = meshdev_run("agents", wait_ready=("blocked",))
    pid_file = tmp_path / "agents/blocked.pid"
    agent = int(wait_until(lambda: pid_file.exists() and pid_file.read_text(), "blocked.pid"))
    stray.append(agent)
    assert md.proc is not None
    md.proc.kill()
    md.proc.wait()
    all_gone(md, [agent, md.pid("blocked")], "the GIL holder after kill -9 of meshdev")


CRASHER = """
import os, signal, subprocess, sys, time
import meshdev
here = os.path.dirname(__file__)
marker = os.path.join(here, "crashed-once")
if not os.path.exists(marker):
    open(marker, "w").close()
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
    child = subprocess.Popen([sys.executable, "-c", stubborn])
    open(os.path.join(here, "left-behind.pid"), "w").write(str(child.pid))
    raise SystemExit(3)
meshdev.ready()
if __name__ == "__main__":
    while True:
        time.sleep(1)
"""


def test_what_a_crashed_agent_left_behind_gets_term_grace_kill(
    tmp_path: Path, meshdev_run: Run, stray: list[int]
) -> None:
    write(tmp_path / ".meshwatch", MESHWATCH)
    write(tmp_path / "agents/crasher.py", CRASHER)
    md = meshdev_run("agents")
    pid_file = tmp_path / "agents/left-behind.pid"
    child = int(wait_until(lambda: pid_file.exists() and pid_file.read_text(), "child pid"))
    stray.append(child)
    exited = md.wait_event("agent_exited", agent="crasher")
    assert exited["returncode"] == 3
    assert not is_alive(child)  # the crash is told once what the agent started is gone
    md.wait_event("agent_ready", agent="crasher")  # and the restart comes after it
    assert not md.exited()


def test_an_agent_that_calls_setsid_itself_is_still_stopped(
    tmp_path: Path, meshdev_run: Run, stray: list[int]
) -> None:
    write(tmp_path / ".meshwatch", MESHWATCH)
    script = write(tmp_path / "agents/leaver.py", agent_source("", "os.setsid()"))
    md = meshdev_run("agents", wait_ready=("leaver",))
    agent = agent_pid(md, "leaver")
    stray.append(agent)
    append(script, "# edit\n")
    md.wait_event("agent_stopped", agent="leaver")
    all_gone(md, [agent], "an agent that left its own group")
