"""`meshdev start`: the ports of MCP servers (streamable HTTP), held across reloads.

The runtime inside the agent moves the listening socket its code asks for to a private port
(runtime/ports.py) and says so; meshdev listens on the asked port itself and forwards each request
to the process of the moment. So a reload refuses no connection: requests that arrive while the
old process stops and the new one starts wait here, and go to the new one once it answered an
`initialize` of meshdev's own. A client's `Mcp-Session-Id` keeps working: meshdev initialises
the session again on each new process (with the client's own `initialize`) and maps the ids. The
client's stream of server messages (GET) is re-opened on the new process, after a
`notifications/tools/list_changed` event. When no process can serve, calls are answered with a
JSON-RPC error that says so.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
from collections.abc import Sequence

import h11

from meshdev.events import EventSink
from meshdev.front.door import Door
from meshdev.front.downstream import (
    Downstream,
    advertised,
    header,
    json_rpc,
    listed,
)
from meshdev.front.upstream import SESSION, Headers, forwarded
from meshdev.interfaces import AgentHandle, ReportSink
from meshdev.sources.messages import ReadyReport


class HttpFront:
    def __init__(self, emit: EventSink) -> None:
        self._emit = emit
        self._report: ReportSink | None = None
        self._doors: dict[str, Door] = {}

    def attach(self, report: ReportSink) -> None:
        self._report = report

    def _door(self, agent: str) -> Door:
        if agent not in self._doors:
            self._doors[agent] = Door(agent, self._emit, self._ready, serve)
        return self._doors[agent]

    def _ready(self, agent: str, generation: int, held: int, longest: float) -> None:
        if self._report is not None:
            self._report(agent, generation, ReadyReport("answered initialize", held, longest))

    def listening(self, agent: str, generation: int, host: str, port: int, actual: int) -> None:
        self._door(agent).listening(generation, host, port, actual)

    def started(self, handle: AgentHandle) -> bool:
        door = self._doors.get(handle.agent)
        if door is not None:
            door.started(handle.generation)
        return False  # whether it listens at all is known only once it does

    def in_flight(self, agent: str) -> int:
        door = self._doors.get(agent)
        return door.busy() if door else 0

    def draining(self, agents: Sequence[str], grace_seconds: float) -> None:
        for agent in agents:
            if agent in self._doors:
                self._doors[agent].drain(grace_seconds)

    def stopped(self, agents: Sequence[str]) -> None:
        for agent in agents:
            if agent in self._doors:
                self._doors[agent].stopped()

    def ended(self, agent: str, generation: int, returncode: int | None) -> None:
        if agent in self._doors:
            self._doors[agent].ended(generation, returncode)

    def server_line(self, agent: str, generation: int, line: bytes) -> None:
        pass

    def refreshed(self, agent: str) -> None:
        """New code in the same process: the clients' open streams hear list_changed."""
        door = self._doors.get(agent)
        if door is None:
            return
        for client in door.stream_clients():
            with contextlib.suppress(OSError, h11.LocalProtocolError):
                client.send_data(_list_changed(door.kinds))

    def close(self) -> None:
        pass  # its threads end with meshdev; the agents are stopped by then


def serve(door: Door, conn: socket.socket) -> None:
    client = Downstream(conn)
    with contextlib.suppress(OSError, h11.ProtocolError), conn:
        while True:
            request = client.read_request()
            if request is None:
                return
            _handle(door, client, *request)
            if not client.next_cycle():
                return


def _handle(door: Door, client: Downstream, request: h11.Request, body: bytes) -> None:
    method = request.method.decode()
    target = request.target.decode()
    headers = [(k.decode().lower(), v.decode()) for k, v in request.headers]
    call = json_rpc(body) if method == "POST" else None
    if call is not None and call.get("method") == "initialize":
        door.up.path = target.split("?")[0]
    origin = door.asks.pop(str(call.get("id")), None) if call and _is_answer(call) else None
    if call is not None and origin is not None:  # to the process that asked, even stopping
        _answer_back(door, client, request, headers, call, origin)
        return
    sid = header(headers, SESSION)
    if call is not None and call.get("method") == "notifications/cancelled":
        params = call.get("params")
        if isinstance(params, dict) and door.cancel((sid, str(params.get("requestId")))):
            client.accepted()  # the call it cancels never reached a process
            return
    waiting = (sid, str(call["id"])) if call is not None and "id" in call else None
    generation = door.wait_serving(waiting)
    if generation is None:
        client.refuse(call, door.failure or "the call was cancelled, or no process serves")
        return
    if method == "GET" and sid is not None:
        _stream(door, client, target, headers, sid, generation)
        return
    with door.calling(generation, counted=call is not None and "id" in call):
        _forward(door, client, method, target, headers, body, sid, generation, call)


def _answer_back(
    door: Door,
    client: Downstream,
    request: h11.Request,
    headers: Headers,
    call: dict[str, object],
    origin: tuple[int, object],
) -> None:
    generation, theirs = origin
    sid = header(headers, SESSION)
    if generation not in door.up.ports:
        client.accepted()  # its process is gone: nobody waits for the answer
        return
    body = json.dumps({**call, "id": theirs}).encode()
    target = request.target.decode()
    _forward(door, client, "POST", target, headers, body, sid, generation, None)


def _forward(
    door: Door,
    client: Downstream,
    method: str,
    target: str,
    headers: Headers,
    body: bytes,
    sid: str | None,
    generation: int,
    call: dict[str, object] | None,
) -> None:
    theirs = door.up.their_id(sid, generation) if sid else None
    upstream = door.up.connect(generation)
    try:
        upstream.request(method, target, body, forwarded(headers, theirs))
        response = upstream.getresponse()
    except (OSError, http.client.HTTPException):
        upstream.close()
        client.refuse(call, "the MCP server stopped before it answered")
        return
    given = response.getheader(SESSION)
    if call is not None and call.get("method") == "initialize" and given:
        door.up.began(given, body, generation)
    if method == "DELETE" and sid:
        door.up.ended(sid)
    shown = sid if given and sid and given == theirs else given
    try:
        if call is not None and call.get("method") == "initialize":
            client.relay_rewritten(response, shown, lambda body: _learn(door, advertised(body)))
        else:
            if call is not None and sid:
                door.up.remember(sid, call, body)
            client.relay(response, shown, door.relabel(generation))
    except (OSError, http.client.HTTPException):  # it died while answering
        client.broken_off(call, "the MCP server exited while it answered; meshdev restarts it")
    finally:
        upstream.close()


def _stream(
    door: Door, client: Downstream, target: str, headers: Headers, sid: str, generation: int
) -> None:
    """The client's stream of server messages: re-opened on each new process."""
    first = True
    while True:
        upstream = door.up.connect(generation)
        door.streaming(generation, upstream)
        try:
            theirs = door.up.their_id(sid, generation)
            upstream.request("GET", target, headers=forwarded(headers, theirs))
            response = upstream.getresponse()
            if first and response.status != 200:  # no stream on this server
                client.relay(response, sid)
                return
            if first:
                client.start_stream(response, sid)
                door.streams_to(client, True)
                first = False
            else:
                client.send_data(_list_changed(door.kinds))
            client.pump(response, door.relabel(generation))
        except (OSError, http.client.HTTPException):
            pass
        finally:
            upstream.close()
            door.streams_to(client, False)
        if client.gone:
            return
        next_generation = door.wait_serving()
        if next_generation is None or next_generation == generation:
            client.end_stream()
            return
        generation = next_generation


def _learn(door: Door, answer: bytes) -> bytes:
    """What the server lists (tools, prompts, resources), from its initialize answer."""
    door.kinds = listed(answer) or door.kinds
    return answer


def _list_changed(kinds: set[str]) -> bytes:
    """The SSE events that tell the client to list again what the server offers."""
    return b"".join(
        b'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/%s/list_changed"}\n\n'
        % kind.encode()
        for kind in sorted(kinds)
    )


def _is_answer(call: dict[str, object]) -> bool:
    """A client's answer to a server-to-client request."""
    return "method" not in call and "id" in call
