"""The processes' side of the HTTP front: each generation's private port, the requests meshdev
makes itself (its readiness `initialize`, a session's `initialize` again on a new process), and
the client sessions with their id on each process."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
from dataclasses import dataclass, field

SESSION = "mcp-session-id"
DEFAULT_PATH = "/mcp"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}
DROPPED = HOP_BY_HOP | {SESSION, "content-length"}
_INITIALIZED = b'{"jsonrpc":"2.0","method":"notifications/initialized"}'
_PROBE = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": "meshdev-ready",
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "meshdev", "version": "readiness"},
        },
    }
).encode()
_FAILED = (OSError, http.client.HTTPException, KeyError)

Headers = list[tuple[str, str]]


@dataclass
class _Session:
    """One client session: its initialize, and its id on each process."""

    initialize: bytes
    ids: dict[int, str] = field(default_factory=dict)  # generation -> the server's session id
    replayed: dict[str, bytes] = field(default_factory=dict)  # subscriptions, logging level
    lock: threading.Lock = field(default_factory=threading.Lock)


class Upstream:
    def __init__(self) -> None:
        self.ports: dict[int, int] = {}  # generation -> its private port
        self.path = DEFAULT_PATH  # where the MCP endpoint is (learnt from the client)
        self._sessions: dict[str, _Session] = {}

    def connect(self, generation: int) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.ports[generation], timeout=None)

    def answers(self, generation: int) -> int | None:
        """The HTTP status of its answer to an `initialize` of meshdev's own (the session it
        opened is ended), or None while it does not answer at all."""
        answer = self._request(generation, "POST", _PROBE, None)
        if answer is not None and answer[0] < 300 and answer[1]:
            self._request(generation, "DELETE", b"", answer[1])
        return answer[0] if answer is not None else None

    def began(self, sid: str, initialize: bytes, generation: int) -> None:
        self._sessions[sid] = _Session(initialize, {generation: sid})

    def remember(self, sid: str, call: dict[str, object], body: bytes) -> None:
        """What a new process must be told again after `initialize`, for this session."""
        session = self._sessions.get(sid)
        method, params = call.get("method"), call.get("params")
        uri = params.get("uri") if isinstance(params, dict) else None
        if session is None:
            return
        if method == "resources/subscribe" and isinstance(uri, str):
            session.replayed[f"subscribe:{uri}"] = body
        elif method == "resources/unsubscribe" and isinstance(uri, str):
            session.replayed.pop(f"subscribe:{uri}", None)
        elif method == "logging/setLevel":
            session.replayed["level"] = body

    def ended(self, sid: str) -> None:
        self._sessions.pop(sid, None)

    def their_id(self, sid: str, generation: int) -> str:
        """The id this process knows the client's session by (initialised here if need be)."""
        session = self._sessions.get(sid)
        if session is None:
            return sid  # not one meshdev saw begin: the process decides
        with session.lock:
            if generation not in session.ids:
                answer = self._post(generation, "POST", session.initialize, None)
                if answer is not None and answer[1]:
                    session.ids[generation] = answer[1]
                    for body in (_INITIALIZED, *session.replayed.values()):
                        self._post(generation, "POST", body, answer[1])
            return session.ids.get(generation, sid)

    def _post(
        self, generation: int, method: str, body: bytes, sid: str | None
    ) -> tuple[int, str | None] | None:
        """(status, the session id it gave) of a request of meshdev's own that succeeded."""
        answer = self._request(generation, method, body, sid)
        return answer if answer is not None and answer[0] < 300 else None

    def _request(
        self, generation: int, method: str, body: bytes, sid: str | None
    ) -> tuple[int, str | None] | None:
        """(status, the session id it gave); None when it does not answer."""
        try:
            upstream = self.connect(generation)
            upstream.request(method, self.path, body, mcp_headers(sid))
            response = upstream.getresponse()
            response.read()
            upstream.close()
        except _FAILED:
            return None
        return response.status, response.getheader(SESSION)


def hang_up(upstream: http.client.HTTPConnection) -> None:
    """End a connection another thread reads from: a shutdown wakes its read (a close would
    wait for it)."""
    sock = upstream.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def forwarded(headers: Headers, sid: str | None) -> dict[str, str]:
    kept = {k: v for k, v in headers if k not in DROPPED}
    if sid:
        kept[SESSION] = sid
    return kept


def mcp_headers(sid: str | None) -> dict[str, str]:
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    if sid:
        headers[SESSION] = sid
    return headers
