"""`meshdev mcp SERVER` as the server command of a real MCP client (the official SDK), started
from `/` as clients do, through reloads of a real MCP server (the SDK's own server class)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from helpers import is_alive, kill_group, wait_until, write
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError
from mcp_client import answering_roots, noting

SERVER = '''
import time
from mcp.server.mcpserver import Context, MCPServer

VERSION = 1
server = MCPServer("demo")


@server.tool()
def version() -> int:
    """The version of this code."""
    return VERSION


@server.tool()
def slow(seconds: float) -> int:
    time.sleep(seconds)
    return VERSION


@server.tool()
async def roots(ctx: Context) -> str:
    found = await ctx.session.list_roots()
    return ",".join(str(root.uri) for root in found.roots)


if __name__ == "__main__":
    server.run()
'''
# The SDK's server takes 2 s or more to end once its stdin closes, so every stop of it goes on to
# SIGTERM, at half the grace: a short grace takes that step sooner. Where a call in flight must
# finish on the old process, the grace is its time to do so: DRAINING gives it 3 s.
MESHWATCH = "reload_delay: 50\nstop_grace: 1000\n"
DRAINING = "reload_delay: 50\nstop_grace: 3000\n"
DEADLINE = 30.0
LIST_CHANGED = "notifications/tools/list_changed"


@dataclass
class Client:
    session: ClientSession
    events_path: Path
    notes: list[str] = field(default_factory=list)

    def events(self, kind: str) -> list[dict[str, Any]]:
        try:
            lines = self.events_path.read_text().splitlines()
        except FileNotFoundError:
            return []
        return [e for e in map(json.loads, lines) if e["event"] == kind]

    async def call(self, tool: str, **arguments: Any) -> Any:
        result = await self.session.call_tool(tool, arguments)
        assert not result.is_error, result
        return (result.structured_content or {}).get("result")

    async def until(self, what: str, check: Callable[[], Any]) -> Any:
        with anyio.fail_after(DEADLINE):
            while not (value := check()):
                await asyncio.sleep(0.02)
        assert value, what
        return value


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    write(tmp_path / ".meshwatch", MESHWATCH)
    write(tmp_path / "agents/server.py", SERVER)
    yield tmp_path
    events = tmp_path / "events.jsonl"
    for line in events.read_text().splitlines() if events.exists() else []:
        event = json.loads(line)
        if event["event"] == "agent_started" and is_alive(event["pid"]):
            kill_group(event["pid"])


@asynccontextmanager
async def client(
    project: Path, roots: list[str] | None = None, asked: asyncio.Event | None = None
) -> AsyncIterator[Client]:
    events = project / "events.jsonl"
    script = str(project / "agents/server.py")
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "meshdev", "mcp", script, "--events", str(events)],
        cwd="/",
        env={**os.environ, "NO_COLOR": "1"},
    )
    notes: list[str] = []

    async with (
        stdio_client(params) as (read, write_),
        ClientSession(
            read,
            write_,
            message_handler=noting(notes),
            list_roots_callback=answering_roots(roots or [], asked),
        ) as session,
    ):
        await session.initialize()
        yield Client(session, events, notes)


def save_version(project: Path, version: int) -> None:
    path = project / "agents/server.py"
    path.write_text(path.read_text().replace(f"VERSION = {version - 1}", f"VERSION = {version}"))


def test_a_client_calling_every_20_ms_sees_no_failure_through_ten_reloads(project: Path) -> None:
    async def scenario() -> None:
        async with client(project) as c:
            failures: list[str] = []
            for version in range(2, 12):
                save_version(project, version)
                with anyio.fail_after(DEADLINE):
                    while True:
                        try:
                            if await c.call("version") == version:
                                break
                        except Exception as exc:  # every failure counts
                            failures.append(repr(exc))
                        await asyncio.sleep(0.02)
            assert failures == []
            assert len(c.events("reload")) == 10
            ready = [e["how"] for e in c.events("agent_ready")]
            assert ready[1:] == ["answered initialize"] * 10
            await c.until(
                "a list_changed per reload",
                lambda: c.notes.count("notifications/tools/list_changed") >= 10,
            )
            root = c.events("meshdev_started")[0]["root"]
            assert root == str(project), "found from the script, though the client runs in /"

    asyncio.run(scenario())


def test_an_added_tool_is_listed_and_works(project: Path) -> None:
    async def scenario() -> None:
        async with client(project) as c:
            path = project / "agents/server.py"
            added = "@server.tool()\ndef added() -> str:\n    return 'new'\n\n\nif __name__"
            path.write_text(path.read_text().replace("if __name__", added, 1))
            await c.until("the reload", lambda: c.events("agent_ready")[1:])
            await c.until("list_changed", lambda: LIST_CHANGED in c.notes)
            tools = await c.session.list_tools()
            assert "added" in {t.name for t in tools.tools}
            assert await c.call("added") == "new"

    asyncio.run(scenario())


def test_a_call_in_flight_when_the_change_lands_finishes_on_the_old_process(project: Path) -> None:
    write(project / ".meshwatch", DRAINING)

    async def scenario() -> None:
        async with client(project) as c:
            in_flight = asyncio.create_task(c.call("slow", seconds=2.0))
            await c.until("the call in flight", lambda: c.events("agent_ready"))
            save_version(project, 2)
            await c.until("the drain", lambda: c.events("draining"))
            held = asyncio.create_task(c.call("version"))
            assert await in_flight == 1  # answered by the process that had it
            assert await held == 2  # held during the restart, answered by the new process
            timing = (await c.until("the timing", lambda: c.events("reload_timing")))[0]
            assert timing["held_calls"] >= 1 and 0 < timing["held"] < 10

    asyncio.run(scenario())


def test_broken_code_is_an_error_never_a_hang_and_the_next_good_save_serves(
    project: Path,
) -> None:
    async def scenario() -> None:
        async with client(project) as c:
            path = project / "agents/server.py"
            good = path.read_text()
            path.write_text(good.replace("VERSION = 1", "VERSION = (1"))  # does not compile
            await c.until("the compile error", lambda: c.events("compile_error"))
            assert await c.call("version") == 1  # the last good version keeps serving
            path.write_text("raise RuntimeError('broken at import')\n" + good)
            await c.until("a crash at start", lambda: c.events("agent_exited"))
            with anyio.fail_after(10):  # an answer, not a hang
                with pytest.raises(MCPError, match=r"failed to start .*; see stderr"):
                    await c.session.call_tool("version", {})
            path.write_text(good.replace("VERSION = 1", "VERSION = 5"))
            with anyio.fail_after(DEADLINE):
                while True:
                    try:
                        if await c.call("version") == 5:
                            break
                    except Exception:
                        await asyncio.sleep(0.05)

    asyncio.run(scenario())


def test_a_server_to_client_request_passes_through(project: Path) -> None:
    async def scenario() -> None:
        async with client(project, roots=["file:///work/a"]) as c:
            assert await c.call("roots") == "file:///work/a"
            save_version(project, 2)
            await c.until("the reload", lambda: c.events("reload"))
            assert await c.call("roots") == "file:///work/a"

    asyncio.run(scenario())


def test_a_server_to_client_request_pending_when_the_change_lands_is_answered_to_its_process(
    project: Path,
) -> None:
    write(project / ".meshwatch", DRAINING)

    async def scenario() -> None:
        asked = asyncio.Event()
        async with client(project, roots=["file:///work/b"], asked=asked) as c:
            call = asyncio.create_task(c.call("roots"))
            await asked.wait()  # the server asked the client; the client answers in 1 s
            save_version(project, 2)
            await c.until("the drain", lambda: c.events("draining"))
            assert await call == "file:///work/b"  # the answer reached the process that asked
            await c.until("the new process", lambda: c.events("reload_timing"))
            assert await c.call("version") == 2

    asyncio.run(scenario())


def test_a_client_that_disconnects_mid_reload_ends_meshdev_cleanly(project: Path) -> None:
    async def scenario() -> Client:
        async with client(project) as c:
            save_version(project, 2)
            await c.until("the reload under way", lambda: c.events("agent_stopped"))
        return c  # the client went away in the middle of the restart

    c = asyncio.run(scenario())
    log = c.events_path
    wait_until(lambda: c.events("shutdown"), "meshdev's end", context=lambda: log.read_text())
    assert c.events("shutdown")[0]["exit_code"] == 0
    pids = [e["pid"] for e in c.events("agent_started")]
    wait_until(lambda: not any(is_alive(pid) for pid in pids), "every server process gone")


def test_stdout_carries_only_json_rpc_and_bad_input_gets_a_parse_error(project: Path) -> None:
    script = str(project / "agents/server.py")
    proc = subprocess.Popen(
        [sys.executable, "-m", "meshdev", "mcp", script, "--events", str(project / "events.jsonl")],
        cwd="/",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(b"this is not json\n")
        proc.stdin.flush()
        answer = json.loads(proc.stdout.readline())
        assert answer["error"]["code"] == -32700 and answer["id"] is None
        init = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "0"},
            },
        }
        proc.stdin.write(json.dumps(init).encode() + b"\n")
        proc.stdin.flush()
        result = json.loads(proc.stdout.readline())
        assert result["id"] == 1 and result["result"]["capabilities"]["tools"]["listChanged"]
        proc.stdin.close()  # the client goes away: meshdev stops its server and ends
        assert proc.wait(timeout=20) == 0
        rest = proc.stdout.read().splitlines()
        assert all(json.loads(line) for line in rest if line.strip())
        assert b"server started" in proc.stderr.read() if proc.stderr else True
    finally:
        kill_group(proc.pid)
        proc.wait(timeout=5)


def test_under_start_a_stdio_server_says_how_to_connect_a_client(project: Path) -> None:
    events = project / "events.jsonl"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "meshdev",
            "start",
            "agents/server.py",
            "--no-reload",
            "--plain",
            "--events",
            str(events),
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert "meshdev mcp agents/server.py" in result.stdout, result.stdout + result.stderr
