"""Broken saves and crash loops, with real agents: keep-last-good, backoff, circuit breaker."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

from helpers import Meshdev, agent_source, is_alive, wait_until, write

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


def test_a_slow_starting_agent_is_not_mistaken_for_a_crash(
    tmp_path: Path, meshdev_run: Run
) -> None:
    mesh(tmp_path)
    slow = write(
        tmp_path / "agents/slow.py",
        agent_source(
            "",
            "time.sleep(0.8)  # a heavy import or a model load\n"
            "meshdev.ready()\n"
            "print('slow is ready', flush=True)",
        ),
    )
    md = meshdev_run("agents/slow.py", wait_ready=("slow",))
    first = md.events("agent_ready", agent="slow")[0]
    assert first["how"] == "alive for 0.3 s"  # it said nothing yet: alive counts
    wait_until(lambda: "slow is ready" in md.output(), "slow's ready()", context=md.context)
    ready = md.edit_and_wait_ready(slow, "slow")
    assert ready["how"] == "meshdev.ready()" and ready["seconds"] >= 0.75  # waited for it
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
