"""What the MCP integration tests' clients do besides calling tools: note the server's messages,
and answer `roots/list` (slowly, when the test wants to make a change meanwhile)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from mcp import types


def noting(notes: list[str] | None) -> Callable[[Any], Awaitable[None]]:
    """A message handler that keeps the method of every message the server sends."""

    async def on_message(message: Any) -> None:
        method = getattr(getattr(message, "root", message), "method", None)
        if isinstance(method, str) and notes is not None:
            notes.append(method)

    return on_message


def answering_roots(
    uris: list[str], asked: asyncio.Event | None = None
) -> Callable[[Any], Awaitable[Any]]:
    """A `roots/list` callback; with `asked`, it says it was asked and answers after 1 s."""

    async def list_roots(_: Any) -> types.ListRootsResult:
        if asked is not None:  # answer slowly, once the test made its change
            asked.set()
            await asyncio.sleep(1.0)
        return types.ListRootsResult(roots=[types.Root(uri=u) for u in uris])  # type: ignore[arg-type]

    return list_roots
