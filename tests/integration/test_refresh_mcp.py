"""The refresh example (examples/refresh/) as a real MCP client's server command: its strategy layer
and its tool catalogue are edited while the client calls, and the session, the server's pid and
its counters stay; a new tool is listed after list_changed."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import anyio
from helpers import is_alive, kill_group
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp_client import noting

EXAMPLE = Path(__file__).resolve().parents[2] / "examples/refresh"
LIST_CHANGED = "notifications/tools/list_changed"


def events(path: Path, kind: str) -> list[dict[str, Any]]:
    lines = path.read_text().splitlines() if path.exists() else []
    return [e for e in map(json.loads, lines) if e["event"] == kind]


async def until(what: str, check: Any, seconds: float = 30) -> Any:
    with anyio.fail_after(seconds):
        while not (value := check()):
            await asyncio.sleep(0.02)
    assert value, what
    return value


def text(result: Any) -> str:
    assert not result.is_error, result
    return str(result.content[0].text)


def test_the_example_server_is_refreshed_under_its_client(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "shop")
    log = tmp_path / "events.jsonl"
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "meshdev", "mcp", str(tmp_path / "shop/server.py"), "--events", str(log)],
        cwd="/",
        env={**os.environ, "NO_COLOR": "1"},
    )

    async def scenario() -> None:
        notes: list[str] = []
        async with (
            stdio_client(params) as (read, write),
            ClientSession(read, write, message_handler=noting(notes)) as session,
        ):
            await session.initialize()
            assert text(await session.call_tool("quote", {"item": "bread"})) == "1 x bread = 2.25"
            pricing = tmp_path / "shop/pricing.py"
            pricing.write_text(pricing.read_text().replace("DISCOUNT = 0.0", "DISCOUNT = 0.2"))
            await until("the refresh", lambda: events(log, "agent_refreshed"))
            assert text(await session.call_tool("quote", {"item": "bread"})) == "1 x bread = 1.80"
            catalogue = tmp_path / "shop/catalogue.py"
            added = "def phone() -> str:\n    return '555-0100'\n\n\nTOOLS = [opening_hours, phone]"
            catalogue.write_text(catalogue.read_text().replace("TOOLS = [opening_hours]", added))
            await until("the second refresh", lambda: len(events(log, "agent_refreshed")) == 2)
            await until("list_changed", lambda: LIST_CHANGED in notes)
            names = {tool.name for tool in (await session.list_tools()).tools}
            assert {"quote", "served", "opening_hours", "phone"} <= names
            assert text(await session.call_tool("phone", {})) == "555-0100"
            assert text(await session.call_tool("served", {})) == "2"  # nothing was reset
        assert len(events(log, "agent_started")) == 1  # one process served it all

    try:
        asyncio.run(scenario())
    finally:
        for event in events(log, "agent_started"):
            if is_alive(event["pid"]):
                kill_group(event["pid"])
