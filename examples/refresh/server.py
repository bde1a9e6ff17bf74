"""An MCP server (stdio) made for reload_strategy refresh: run it as a client's server command,
`meshdev mcp examples/refresh/server.py`, and edit pricing.py or catalogue.py meanwhile."""

try:
    from mcp.server.mcpserver import MCPServer as Server  # mcp 2.x
except ImportError:  # mcp 1.x
    from mcp.server.fastmcp import FastMCP as Server

import catalogue
import pricing

import meshdev

server = Server("shop")
calls = meshdev.preserve("calls", lambda: {"n": 0})  # a refresh keeps it as it is, unpickled
listed: set[str] = set()


@server.tool()
def quote(item: str, quantity: int = 1) -> str:
    """The price of QUANTITY of ITEM."""
    calls["n"] += 1
    # A thin wrapper: `pricing.quote` is looked up at each call, so it is always the new code.
    return pricing.quote(item, quantity)


@server.tool()
def served() -> int:
    """How many quotes this server has given (kept across refreshes and restarts)."""
    return calls["n"]


@meshdev.on_refresh
def rebind(paths: list[str]) -> None:
    """catalogue.py's functions are new objects after a refresh: register them again."""
    for name in listed:
        server.remove_tool(name)
    listed.clear()
    for function in catalogue.TOOLS:
        server.add_tool(function)
        listed.add(function.__name__)


if __name__ == "__main__":
    rebind([])
    server.run()
