"""Restarts with overlap, with real processes: an MCP server behind meshdev's HTTP front gets its
next process while the old one still drains, and the new one restores exactly what the old one
saved at its exit; an agent not behind the front is still stopped before its successor starts.

Each agent marks what it sees in a file outside the project (opening a project file would wait
for the handover, which is the point): its pid at its first statement, whether its
predecessor's process was alive then, and what it restored.
"""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from helpers import Meshdev, is_alive, kill_group, wait_until, write
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from test_mcp_http import free_port

from meshdev.runtime import statefile

Run = Callable[..., Meshdev]
MARKS = '''
import json, os, time

MARKS = {marks!r}
NAME = {name!r}


def marks():
    try:
        with open(MARKS) as handle:
            return [json.loads(line) for line in handle if line.strip()]
    except FileNotFoundError:
        return []


def mark(kind, **fields):
    with open(MARKS, "a") as handle:
        line = {{"agent": NAME, "kind": kind, "pid": os.getpid(), **fields}}
        handle.write(json.dumps(line) + "\\n")


def alive(pid):
    try:
        with open(f"/proc/{{pid}}/stat") as handle:
            return handle.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except OSError:
        return False


def wait_for_successor(seconds):
    """At exit: until a newer process of this agent marked its first statement (bounded)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(m["kind"] == "boot" and m["pid"] != os.getpid() and m["agent"] == NAME
               and m["after"] == os.getpid() for m in marks()):
            return True
        time.sleep(0.01)
    return False


before = [m["pid"] for m in marks() if m["kind"] == "boot" and m["agent"] == NAME]
predecessor = before[-1] if before else None
mark("boot", after=predecessor, predecessor_alive=bool(predecessor and alive(predecessor)))
'''
WEB = """
import atexit, os
import meshdev
from lib import shared
from mcp.server.mcpserver import MCPServer

VERSION = 1
server = MCPServer("web")
restored = meshdev.state.get("last_words")  # waits for the handover
mark("restored", last_words=restored, calls=meshdev.state.get("calls", 0))
meshdev.state["booted_by"] = os.getpid()


def last_words():
    seen = wait_for_successor(2.0)  # the old one drains slowly: the new one must be up by then
    deadline = time.monotonic() + 4.0
    while os.path.exists(MARKS + ".hold") and time.monotonic() < deadline:
        time.sleep(0.01)  # held by the test: a drain that lasts
    meshdev.state["last_words"] = f"{{os.getpid()}} saw its successor: {{seen}}"


atexit.register(last_words)


@server.tool()
def version() -> int:
    meshdev.state["calls"] = meshdev.state.get("calls", 0) + 1
    return VERSION


@server.tool()
def calls() -> int:
    return meshdev.state.get("calls", 0)


if __name__ == "__main__":
    server.run("streamable-http", host="127.0.0.1", port={port}, stateless_http=True,
               json_response=True)
"""
PLAIN = """
import atexit, time
from lib import shared

atexit.register(wait_for_successor, 0.5)  # a successor started beside it would show up
if __name__ == "__main__":
    while True:
        time.sleep(1)
"""


def project(tmp_path: Path, grace_ms: int = 3000) -> tuple[Path, int, Path]:
    port, marks = free_port(), tmp_path / "marks.jsonl"
    root = tmp_path / "proj"
    write(root / ".meshwatch", f"reload_delay: 50\nstop_grace: {grace_ms}\n")
    write(root / "lib/__init__.py", "")
    write(root / "lib/shared.py", "VALUE = 1\n")
    head = MARKS.format(marks=str(marks), name="web")
    script = write(root / "agents/web.py", head + WEB.format(port=port))
    plain = MARKS.format(marks=str(marks), name="plain") + PLAIN
    write(root / "agents/plain.py", plain)
    return script, port, marks


def read_marks(path: Path, agent: str, kind: str) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    found = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [m for m in found if m["agent"] == agent and m["kind"] == kind]


async def call_through_reloads(script: Path, port: int, reloads: int) -> tuple[list[str], int]:
    """A real SDK client calling every 20 ms while the server file is edited; every failure is
    kept, and the answers counted."""
    failures: list[str] = []
    answered = 0
    url = f"http://127.0.0.1:{port}/mcp"
    async with (
        streamable_http_client(url) as streams,
        ClientSession(streams[0], streams[1]) as session,
    ):
        await session.initialize()
        for version in range(2, reloads + 2):
            text = script.read_text()
            script.write_text(text.replace(f"VERSION = {version - 1}", f"VERSION = {version}"))
            with anyio.fail_after(30):
                while True:
                    try:
                        result = await session.call_tool("version", {})
                        answered += 1
                        if (result.structured_content or {}).get("result") == version:
                            break
                    except Exception as exc:  # every failure counts
                        failures.append(repr(exc))
                    await asyncio.sleep(0.02)
        counted = await session.call_tool("calls", {})
        assert (counted.structured_content or {}).get("result") == answered, "no call lost"
    return failures, answered


def test_behind_the_front_the_next_process_runs_while_the_old_one_drains(
    tmp_path: Path, meshdev_run: Run
) -> None:
    script, port, marks = project(tmp_path)
    md = meshdev_run("proj/agents", wait_ready=("web",), cwd=tmp_path)
    md.wait_event("port_held", agent="web", port=port)
    failures, _ = asyncio.run(call_through_reloads(script, port, 3))
    assert failures == []
    boots = wait_until(lambda: read_marks(marks, "web", "boot")[3:], "the fourth process")
    assert all(b["predecessor_alive"] for b in read_marks(marks, "web", "boot")[1:]), boots
    restored = [m["last_words"] for m in read_marks(marks, "web", "restored")]
    olds = [b["pid"] for b in read_marks(marks, "web", "boot")[:3]]
    assert restored == [None] + [f"{pid} saw its successor: True" for pid in olds]
    for spawned in md.events("agent_spawned", agent="web"):  # and meshdev saw it so too
        stopped = md.events("agent_stopped", agent="web", pid=spawned["beside"])
        started = md.events("agent_started", agent="web", pid=spawned["pid"])
        assert spawned["ts"] <= stopped[0]["ts"] <= started[0]["ts"]
        assert started[0]["overlap"] > 0


def test_an_agent_not_behind_the_front_is_stopped_before_its_successor_starts(
    tmp_path: Path, meshdev_run: Run
) -> None:
    _, port, marks = project(tmp_path)
    md = meshdev_run("proj/agents", wait_ready=("web",), cwd=tmp_path)
    md.wait_event("port_held", agent="web", port=port)
    wait_until(lambda: read_marks(marks, "plain", "boot"), "plain's first statement")
    shared = tmp_path / "proj/lib/shared.py"
    shared.write_text("VALUE = 2\n")  # both import it: one reload, two agents
    wait_until(lambda: len(read_marks(marks, "plain", "boot")) == 2, "plain's next process")
    wait_until(lambda: len(read_marks(marks, "web", "restored")) == 2, "web's next process")
    assert not read_marks(marks, "plain", "boot")[1]["predecessor_alive"]
    assert read_marks(marks, "web", "boot")[1]["predecessor_alive"], "web was not held back"
    old = md.events("agent_started", agent="plain")[0]["pid"]
    stopped = md.events("agent_stopped", agent="plain", pid=old)[0]
    assert md.events("agent_started", agent="plain")[1]["ts"] >= stopped["ts"]
    assert not md.events("agent_spawned", agent="plain")


def test_meshdev_killed_while_a_successor_waits_leaves_no_process_and_the_old_save(
    tmp_path: Path, meshdev_run: Run
) -> None:
    script, port, marks = project(tmp_path, grace_ms=5000)
    md = meshdev_run("proj/agents", wait_ready=("web",), cwd=tmp_path)
    md.wait_event("port_held", agent="web", port=port)
    first = md.events("agent_started", agent="web")[0]["pid"]
    hold = Path(f"{marks}.hold")
    hold.touch()
    script.write_text(script.read_text().replace("VERSION = 1", "VERSION = 2"))
    spawned = md.wait_event("agent_spawned", agent="web")
    wait_until(lambda: len(read_marks(marks, "web", "boot")) == 2, "the successor's first line")
    assert md.proc is not None
    os.kill(md.proc.pid, signal.SIGKILL)  # while the old one drains, the new one waits
    try:
        wait_until(lambda: not is_alive(spawned["pid"]), "the waiting successor to go")
        hold.unlink()
        wait_until(lambda: not is_alive(first), "the old one to go")
    finally:
        for pid in (spawned["pid"], first):
            kill_group(pid)
    assert [m["last_words"] for m in read_marks(marks, "web", "restored")][1:] in ([], [None])
    state = tmp_path / "proj/.meshdev/state/web.state"
    secret = statefile.read_secret(str(tmp_path / "proj/.meshdev/secret"))
    data = statefile.read(str(state))
    assert data is not None
    entries = statefile.decode(data, secret, "web").entries
    old_pid = read_marks(marks, "web", "boot")[0]["pid"]
    assert pickle.loads(entries["booted_by"]) == old_pid, "never replaced by the new one's"
    assert "saw its successor: True" in pickle.loads(entries["last_words"]), "saved at its exit"
