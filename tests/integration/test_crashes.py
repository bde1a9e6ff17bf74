"""Broken saves and crash loops, with real agents: keep-last-good, backoff, circuit breaker."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

from helpers import Meshdev, agent_source, append, cli, is_alive, wait_until, write

Run = Callable[..., Meshdev]

MESHWATCH = """
log_only: ['*.md']
reload_delay: 50
stop_grace: 1000
backoff: 100
crash_limit: 3
crash_window: 10000
startup_period: 300
"""


def mesh(tmp_path: Path) -> None:
    write(tmp_path / ".meshwatch", MESHWATCH)
    write(tmp_path / "lib/__init__.py", "")
    write(tmp_path / "lib/shared.py", "VALUE = 1\n")
    write(tmp_path / "agents/alpha.py", agent_source("from lib import shared"))
    write(tmp_path / "agents/bystander.py", agent_source())


def test_a_save_that_does_not_compile_keeps_the_running_version(
    tmp_path: Path, meshdev_run: Run
) -> None:
    mesh(tmp_path)
    md = meshdev_run("agents", wait_ready=("alpha", "bystander"))
    alpha = md.pid("alpha")
    write(tmp_path / "lib/shared.py", "VALUE = (1,\n")
    error = md.wait_event("compile_error")
    assert (error["file"], error["line"], error["message"]) == (
        "lib/shared.py",
        1,
        "'(' was never closed",
    )
    assert error["code"] == "    VALUE = (1,\n            ^"
    held = md.wait_event("reload_held", agent="alpha")
    assert held["files"] == ["lib/shared.py"] and held["running"] is True
    md.barrier()
    assert md.pid("alpha") == alpha and is_alive(alpha)  # the last good version runs on
    assert "lib/shared.py:1: '(' was never closed" in md.output()
    write(tmp_path / "lib/shared.py", "VALUE = 2\n")  # the next good save reloads
    assert md.wait_event("reload")["agents"] == ["alpha"]
    assert md.pid("alpha") != alpha


def test_a_module_level_exception_stops_after_n_attempts_and_recovers_on_the_fix(
    tmp_path: Path, meshdev_run: Run
) -> None:
    mesh(tmp_path)
    md = meshdev_run("agents", wait_ready=("alpha", "bystander"))
    bystander = md.pid("bystander")
    write(tmp_path / "lib/shared.py", "raise RuntimeError('broken at import')\n")
    opened = md.wait_event("circuit_open", agent="alpha")
    assert opened["failures"] == 3 and opened["returncode"] == 1
    assert any("RuntimeError: broken at import" in line for line in opened["stderr"])
    starts = len(md.events("agent_started", agent="alpha"))
    assert starts == 4  # the first start, the restart for the change, and two backoff retries
    assert [e["delay"] for e in md.events("restart_scheduled", agent="alpha")] == [0.1, 0.2]
    assert "alpha: circuit open" in md.output()
    md.barrier()
    assert len(md.events("agent_started", agent="alpha")) == starts  # no loop
    write(tmp_path / "lib/shared.py", "VALUE = 3\n")
    md.wait_event("circuit_half_open", agent="alpha")
    md.wait_event("circuit_closed", agent="alpha")
    assert md.pid("bystander") == bystander and is_alive(bystander)


def test_a_crash_after_running_is_restarted_after_a_backoff(
    tmp_path: Path, meshdev_run: Run
) -> None:
    mesh(tmp_path)
    write(
        tmp_path / "agents/flaky.py",
        agent_source(
            "import pathlib",
            "marker = pathlib.Path(__file__).with_name('crashed-once')\n"
            "if not marker.exists():\n"
            "    marker.touch()\n"
            "    meshdev.ready()\n"
            "    raise SystemExit(3)",
        ),
    )
    md = meshdev_run("agents/flaky.py", wait_ready=("flaky",))
    assert md.wait_event("agent_exited", agent="flaky")["returncode"] == 3
    assert md.wait_event("restart_scheduled", agent="flaky")["delay"] == 0.1
    wait_until(
        lambda: len(md.events("agent_ready", agent="flaky")) == 2,
        "flaky ready again",
        context=md.context,
    )


def test_an_agent_that_exits_0_has_finished_and_is_not_restarted(
    tmp_path: Path, meshdev_run: Run
) -> None:
    mesh(tmp_path)
    write(tmp_path / "agents/job.py", "print('done', flush=True)\n")
    md = meshdev_run("agents/job.py", "agents/bystander.py", wait_ready=("bystander",))
    assert md.wait_event("agent_exited", agent="job")["returncode"] == 0
    md.barrier()
    assert len(md.events("agent_started", agent="job")) == 1
    assert not md.events("restart_scheduled")
    append(tmp_path / "agents/job.py", "# a change starts it again\n")
    wait_until(lambda: len(md.events("agent_started", agent="job")) == 2, "job again")


def test_a_slow_starting_agent_is_not_mistaken_for_a_crash(
    tmp_path: Path, meshdev_run: Run
) -> None:
    mesh(tmp_path)
    slow = write(
        tmp_path / "agents/slow.py",
        agent_source(
            "",
            "time.sleep(1.5)  # a heavy import or a model load\n"
            "meshdev.ready()\n"
            "print('slow is ready', flush=True)",
        ),
    )
    md = meshdev_run("agents/slow.py", wait_ready=("slow",))
    first = md.events("agent_ready", agent="slow")[0]
    assert first["how"] == "alive for 0.3 s"  # it said nothing yet: alive counts
    wait_until(lambda: "slow is ready" in md.output(), "slow's ready()", context=md.context)
    ready = md.edit_and_wait_ready(slow, "slow")
    assert ready["how"] == "meshdev.ready()" and ready["seconds"] >= 1.4  # waited for it
    assert not md.events("restart_scheduled") and not md.events("start_timeout")


def test_a_ready_port_probe(tmp_path: Path, meshdev_run: Run) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    write(tmp_path / ".meshwatch", MESHWATCH + f"agents:\n  server:\n    ready_port: {port}\n")
    write(
        tmp_path / "agents/server.py",
        f"""
        import socket, time
        time.sleep(0.5)
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", {port}))
        server.listen()
        while True:
            conn, _ = server.accept()
            conn.close()
        """,
    )
    md = meshdev_run("agents/server.py")
    ready = md.wait_event("agent_ready", agent="server")
    assert ready["how"] == f"port {port} open" and ready["seconds"] >= 0.4


def test_not_ready_in_time_is_a_failed_start(tmp_path: Path, meshdev_run: Run) -> None:
    write(tmp_path / ".meshwatch", MESHWATCH + "ready_timeout: 700\n")
    hang = write(tmp_path / "agents/hang.py", agent_source())
    md = meshdev_run("agents/hang.py", wait_ready=("hang",))
    mark = md.mark()
    write(hang, agent_source().replace("meshdev.ready()", "time.sleep(600)"))
    timeout = md.wait_event("start_timeout", agent="hang", after=mark)
    assert timeout["seconds"] == 0.7
    md.wait_event("restart_scheduled", agent="hang", after=mark)


def test_a_manual_reload_gives_an_open_circuit_its_one_trial(
    tmp_path: Path, meshdev_run: Run
) -> None:
    mesh(tmp_path)
    write(
        tmp_path / "agents/moody.py",
        agent_source(
            "import pathlib",
            "pathlib.Path(__file__).with_name('mood').read_text() == 'good' or sys.exit(4)",
        ),
    )
    write(tmp_path / "agents/mood", "bad")
    md = meshdev_run("agents/moody.py", "agents/bystander.py", wait_ready=("bystander",))
    assert md.wait_event("circuit_open", agent="moody")["returncode"] == 4
    write(tmp_path / "agents/mood", "good")  # not a file meshdev watches: only a reload helps
    result = cli("reload", "moody", cwd=tmp_path)
    assert result.stdout.strip() == "reloaded moody"
    md.wait_event("circuit_half_open", agent="moody")
    md.wait_event("circuit_closed", agent="moody")
