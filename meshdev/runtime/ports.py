"""Under meshdev's HTTP front, the agent's listening sockets move to private ports.

The agent binds the port its own code names (FastMCP's 8000, a `port=` argument, `$PORT`);
meshdev holds that port across reloads and forwards to the process of the moment. So each TCP
bind to a named port is made on the loopback with a port the kernel picks, and reported.
"""

from __future__ import annotations

import socket

from meshdev.runtime import protocol

TYPE_CHECKING = False  # not `from typing import`: typing costs every agent start 4 ms
if TYPE_CHECKING:
    from typing import Any

    from meshdev.runtime.report import Reporter

_LOOPBACK = {socket.AF_INET: "127.0.0.1", socket.AF_INET6: "::1"}


def move_listeners(reporter: Reporter) -> None:
    original = socket.socket.bind

    def bind(self: socket.socket, address: Any) -> None:
        if not _moves(self, address):
            original(self, address)
            return
        original(self, (_LOOPBACK[self.family], 0))
        actual = self.getsockname()[1]
        reporter.send(
            {
                protocol.KIND: protocol.LISTENING,
                "host": str(address[0]),
                "port": int(address[1]),
                "actual": int(actual),
            }
        )

    socket.socket.bind = bind  # type: ignore[method-assign,assignment]


def _moves(sock: socket.socket, address: Any) -> bool:
    """A TCP socket bound to a named port: a server's listening socket."""
    return (
        sock.family in _LOOPBACK
        and sock.type == socket.SOCK_STREAM
        and isinstance(address, tuple)
        and len(address) >= 2
        and isinstance(address[1], int)
        and address[1] > 0
    )
