"""MCP servers on streamable HTTP under `meshdev start`: a real SDK client keeps its session (and
its port) through reloads of a real SDK server, with no configuration at all."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from helpers import Meshdev, wait_until, write
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_client import answering_roots, noting

from meshdev.processes.probe import port_open

Run = Callable[..., Meshdev]
SERVER = """
from mcp.server.mcpserver import Context, MCPServer

VERSION = 1
server = MCPServer("web")


@server.tool()
def version() -> int:
    return VERSION


@server.tool()
async def roots(ctx: Context) -> str:
    found = await ctx.session.list_roots()
    return ",".join(str(root.uri) for root in found.roots)


if __name__ == "__main__":
    server.run("streamable-http", host="127.0.0.1", port={port}{options})
"""
LIST_CHANGED = "notifications/tools/list_changed"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def project(tmp_path: Path, options: str = "") -> tuple[Path, int]:
    port = free_port()
    write(tmp_path / ".meshwatch", "reload_delay: 50\nstop_grace: 3000\n")
    script = write(tmp_path / "agents/web.py", SERVER.format(port=port, options=options))
    return script, port


@asynccontextmanager
async def session_at(
    port: int, notes: list[str] | None = None, asked: asyncio.Event | None = None
) -> AsyncIterator[ClientSession]:
    url = f"http://127.0.0.1:{port}/mcp"
    async with (
        streamable_http_client(url) as streams,
        ClientSession(
            streams[0],
            streams[1],
            message_handler=noting(notes),
            list_roots_callback=answering_roots(["file:///work/h"], asked),
        ) as session,
    ):
        await session.initialize()
        yield session


async def until_version(session: ClientSession, version: int, failures: list[str]) -> None:
    """Call every 20 ms until the new code answers; every failure on the way is kept."""
    with anyio.fail_after(30):
        while True:
            try:
                result = await session.call_tool("version", {})
                if (result.structured_content or {}).get("result") == version:
                    return
            except Exception as exc:  # every failure counts
                failures.append(repr(exc))
            await asyncio.sleep(0.02)


def bump(script: Path, version: int) -> None:
    text = script.read_text()
    script.write_text(text.replace(f"VERSION = {version - 1}", f"VERSION = {version}"))


async def poll_through_reloads(
    script: Path, port: int, reloads: int
) -> tuple[list[str], list[str]]:
    """A client calling every 20 ms while the server is edited `reloads` times."""
    notes: list[str] = []
    failures: list[str] = []
    async with session_at(port, notes) as session:
        capabilities = session.server_capabilities
        assert capabilities is not None and capabilities.tools is not None
        assert capabilities.tools.list_changed, "advertised, so that clients listen"
        for version in range(2, reloads + 2):
            bump(script, version)
            await until_version(session, version, failures)
        with anyio.fail_after(10):
            while notes.count(LIST_CHANGED) < reloads:
                await asyncio.sleep(0.02)
    return failures, notes


def test_a_stateful_session_survives_ten_reloads_without_a_failed_call(
    tmp_path: Path, meshdev_run: Run
) -> None:
    script, port = project(tmp_path)
    md = meshdev_run("agents", wait_ready=("web",))
    md.wait_event("port_held", agent="web", port=port)
    failures, notes = asyncio.run(poll_through_reloads(script, port, 10))
    assert failures == []
    assert notes.count(LIST_CHANGED) == 10, "told on its stream after every reload"
    assert [e["how"] for e in md.events("agent_ready")][1:] == ["answered initialize"] * 10
    assert any(e.get("held_calls") for e in md.events("reload_timing")), "calls were held"


def test_a_server_to_client_request_pending_when_the_change_lands_reaches_its_process(
    tmp_path: Path, meshdev_run: Run
) -> None:
    script, port = project(tmp_path)
    md = meshdev_run("agents", wait_ready=("web",))
    md.wait_event("port_held", port=port)

    async def scenario() -> None:
        asked = asyncio.Event()
        async with session_at(port, asked=asked) as session:
            call = asyncio.create_task(session.call_tool("roots", {}))
            await asked.wait()  # the server asked the client; the client answers in 1 s
            bump(script, 2)
            result = await call
            assert (result.structured_content or {}).get("result") == "file:///work/h"
            failures: list[str] = []
            await until_version(session, 2, failures)
            assert failures == []

    asyncio.run(scenario())


def test_a_stateless_server_too(tmp_path: Path, meshdev_run: Run) -> None:
    script, port = project(tmp_path, ", stateless_http=True, json_response=True")
    meshdev_run("agents", wait_ready=("web",)).wait_event("port_held", port=port)

    async def scenario() -> list[str]:
        failures: list[str] = []
        async with session_at(port) as session:
            for version in (2, 3):
                bump(script, version)
                await until_version(session, version, failures)
        return failures

    assert asyncio.run(scenario()) == []


def test_a_crash_at_start_answers_calls_with_an_error_and_a_fix_serves_the_same_session(
    tmp_path: Path, meshdev_run: Run
) -> None:
    script, port = project(tmp_path)
    md = meshdev_run("agents", wait_ready=("web",))
    md.wait_event("port_held", port=port)
    good = script.read_text()

    async def scenario() -> None:
        async with session_at(port) as session:
            script.write_text("raise RuntimeError('broken at import')\n" + good)
            with anyio.fail_after(30):
                while not md.events("agent_exited"):
                    await asyncio.sleep(0.05)
            with anyio.fail_after(10), pytest.raises(MCPError, match="not running"):
                await session.call_tool("version", {})
            script.write_text(good.replace("VERSION = 1", "VERSION = 7"))
            await until_version(session, 7, [])

    asyncio.run(scenario())


def test_front_false_leaves_the_port_to_the_agent(tmp_path: Path, meshdev_run: Run) -> None:
    port = project(tmp_path)[1]
    write(tmp_path / ".meshwatch", "reload_delay: 50\nagents:\n  web:\n    front: false\n")
    md = meshdev_run("agents", wait_ready=("web",))
    wait_until(lambda: port_open(port), f"the agent listening on {port}", context=md.context)

    async def call() -> Any:
        async with session_at(port) as session:
            return (await session.call_tool("version", {})).structured_content

    assert asyncio.run(call()) == {"result": 1}
    assert not md.events("port_held")


REFRESHED_SERVER = """
from mcp.server.mcpserver import MCPServer

import logic

server = MCPServer("web")


@server.tool()
def version() -> int:
    return logic.version()  # a thin wrapper: the logic is refreshed in place


if __name__ == "__main__":
    server.run("streamable-http", host="127.0.0.1", port={port})
"""


def test_a_refreshed_server_keeps_its_process_and_its_clients_hear_list_changed(
    tmp_path: Path, meshdev_run: Run
) -> None:
    port = free_port()
    write(tmp_path / ".meshwatch", "reload_delay: 50\nreload_strategy: refresh\n")
    write(tmp_path / "agents/web.py", REFRESHED_SERVER.format(port=port))
    logic = write(tmp_path / "agents/logic.py", "def version():\n    return 1\n")
    md = meshdev_run("agents", wait_ready=("web",))
    md.wait_event("port_held", agent="web", port=port)

    async def scenario() -> None:
        notes: list[str] = []
        failures: list[str] = []
        async with session_at(port, notes) as session:
            await until_version(session, 1, failures)
            for version in (2, 3):
                logic.write_text(f"def version():\n    return {version}\n")
                await until_version(session, version, failures)
            with anyio.fail_after(10):
                while notes.count(LIST_CHANGED) < 2:
                    await asyncio.sleep(0.02)
        assert failures == []

    asyncio.run(scenario())
    assert len(md.events("agent_refreshed", agent="web")) == 2
    assert len(md.events("agent_started", agent="web")) == 1
