"""What meshdev watches and how it follows an agent's real dependencies, with real processes."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from helpers import Meshdev, agent_source, append, is_alive, wait_until, write

Run = Callable[..., Meshdev]


def inotify_watches(pid: int) -> list[int]:
    """The inode of every inotify watch the process holds, from /proc/PID/fdinfo (the watcher's
    and the doorbell's: each watches the same folders)."""
    inodes = []
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            text = (Path(f"/proc/{pid}/fdinfo") / fd).read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("inotify wd:"):
                fields = dict(part.split(":", 1) for part in line.split()[2:] if ":" in part)
                inodes.append(int(fields["ino"], 16))
    return inodes


def test_a_huge_node_modules_and_venv_cost_no_inotify_watch(
    tmp_path: Path, meshdev_run: Run
) -> None:
    write(tmp_path / ".meshwatch", "log_only: ['*.md']\nreload_delay: 100\n")
    write(tmp_path / "agents/alpha.py", agent_source())
    for i in range(150):
        (tmp_path / f"node_modules/pkg{i}/lib").mkdir(parents=True)
        (tmp_path / f".venv/lib/site-packages/p{i}").mkdir(parents=True)
    md = meshdev_run("agents", wait_ready=("alpha",))
    watching = md.events("watching")[0]
    assert watching["dirs"] == 2  # the root and agents/
    assert md.proc is not None
    watched = {(tmp_path / d).stat().st_ino for d in (".", "agents")}
    assert set(inotify_watches(md.proc.pid)) == watched


def test_an_import_only_seen_at_run_time_still_restarts_its_agent(
    tmp_path: Path, meshdev_run: Run
) -> None:
    write(tmp_path / ".meshwatch", "log_only: ['*.md']\nreload_delay: 100\n")
    write(tmp_path / "plugins/__init__.py", "")
    write(tmp_path / "plugins/dyn.py", "X = 1\n")
    write(
        tmp_path / "agents/alpha.py",
        agent_source("import importlib", "importlib.import_module('plugins.' + 'dyn')"),
    )
    write(tmp_path / "agents/beta.py", agent_source())
    md = meshdev_run("agents", wait_ready=("alpha", "beta"))
    append(tmp_path / "plugins/dyn.py", "# edited\n")
    assert md.wait_event("reload")["agents"] == ["alpha"]


def test_a_crashed_agent_waits_for_a_fix_and_the_fix_restarts_it(
    tmp_path: Path, meshdev_run: Run
) -> None:
    write(tmp_path / ".meshwatch", "log_only: ['*.md']\nreload_delay: 50\n")
    write(tmp_path / "agents/ok.py", agent_source())
    write(tmp_path / "agents/bad.py", agent_source(body="raise RuntimeError('boom')"))
    md = meshdev_run("agents", wait_ready=("ok",))
    crashed = md.wait_event("agent_exited", agent="bad")
    assert crashed["returncode"] == 1
    assert "RuntimeError: boom" in md.output()
    assert "meshdev/runtime" not in md.output()  # the traceback starts in the agent's own file
    write(tmp_path / "agents/bad.py", agent_source())
    md.wait_event("agent_ready", agent="bad")
    assert is_alive(md.pid("bad")) and len(md.events("agent_started", agent="ok")) == 1


def test_the_events_log_inside_the_project_never_triggers(tmp_path: Path, meshdev_run: Run) -> None:
    write(tmp_path / ".meshwatch", "include: ['**/*']\nlog_only: ['*.md']\nreload_delay: 50\n")
    write(tmp_path / "agents/alpha.py", agent_source())
    md = meshdev_run("agents", wait_ready=("alpha",))
    md.barrier()
    md.barrier()
    assert not [e for e in md.events("batch") if "events.jsonl" in e["files"]]


def test_a_new_folder_inside_a_watched_tree_is_followed(tmp_path: Path, meshdev_run: Run) -> None:
    write(tmp_path / ".meshwatch", "log_only: ['*.md']\nreload_delay: 50\n")
    write(tmp_path / "agents/alpha.py", agent_source("from lib import shared"))
    write(tmp_path / "lib/__init__.py", "")
    write(tmp_path / "lib/shared.py", "X = 1\n")
    md = meshdev_run("agents", wait_ready=("alpha",))
    write(tmp_path / "lib/newpkg/__init__.py", "")  # written before the new folder is watched
    md.wait_event("unused", files=["lib/newpkg/__init__.py"])
    write(tmp_path / "lib/newpkg/mod.py", "X = 1\n")  # and once it is
    md.wait_event("unused", files=["lib/newpkg/mod.py"])


def test_a_meshwatch_written_while_running_is_picked_up(tmp_path: Path, meshdev_run: Run) -> None:
    """Started without one, then a readiness port for an agent is written: applied like an edit."""
    write(tmp_path / "agents/alpha.py", agent_source())
    write(tmp_path / "agents/beta.py", agent_source())
    md = meshdev_run("agents", wait_ready=("alpha", "beta"))
    assert md.events("meshdev_started")[0]["config"] is None
    write(tmp_path / ".meshwatch", "reload_delay: 50\nagents:\n  alpha:\n    env: {MODE: x}\n")
    md.wait_event("config_reloaded", file=str(tmp_path / ".meshwatch"))
    md.wait_event("agent_started", agent="alpha", generation=2)
    assert len(md.events("agent_started", agent="beta")) == 1


def test_a_meshwatch_broken_live_keeps_every_agent_running(
    tmp_path: Path, meshdev_run: Run
) -> None:
    good = "log_only: ['*.md']\nreload_delay: 50\n"
    write(tmp_path / ".meshwatch", good)
    write(tmp_path / "agents/alpha.py", agent_source())
    md = meshdev_run("agents", wait_ready=("alpha",))
    pid = md.pid("alpha")
    broken = [
        "x: !!python/name:os.system\n",
        "reload_delay: !!int abc\n",
        "b: &b {reload_delay: 5}\n<<: *b\n",
        "x: " + "[" * 5000 + "]" * 5000 + "\n",
        "agents:\n  alpha:\n    env: {'A=B': 1}\n",
    ]
    for number, extra in enumerate(broken, start=1):
        write(tmp_path / ".meshwatch", good + extra)
        wait_until(
            lambda n=number: len(md.events("config_error")) == n,
            f"config error {number}",
            context=md.context,
        )
    assert not md.exited() and is_alive(pid) and md.pid("alpha") == pid
    assert "Traceback" not in md.output()
