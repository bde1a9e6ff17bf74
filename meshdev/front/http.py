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
import socket
import threading
import time
from collections.abc import Callable, Sequence

import h11

from meshdev.events import Event, EventSink
from meshdev.front.downstream import Downstream, accept, advertised, header, json_rpc, listen
from meshdev.front.upstream import SESSION, Headers, Upstream, forwarded, hang_up
from meshdev.interfaces import AgentHandle, ReportSink
from meshdev.sources.messages import ReadyReport

HOLD_SECONDS = 60.0  # the longest a call waits for a process to serve
PROBE_EVERY = 0.02
PLAIN_AFTER = 5.0  # answering HTTP, but no MCP at the endpoint, this long: a plain HTTP server
_LIST_CHANGED = (
    b'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/tools/list_changed"}\n\n'
)


class HttpFront:
    def __init__(self, emit: EventSink) -> None:
        self._emit = emit
        self._report: ReportSink | None = None
        self._doors: dict[str, _Door] = {}

    def attach(self, report: ReportSink) -> None:
        self._report = report

    def _door(self, agent: str) -> _Door:
        if agent not in self._doors:
            self._doors[agent] = _Door(agent, self._emit, self._ready)
        return self._doors[agent]

    def _ready(self, agent: str, generation: int) -> None:
        if self._report is not None:
            self._report(agent, generation, ReadyReport("answered initialize"))

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

    def close(self) -> None:
        pass  # its threads end with meshdev; the agents are stopped by then


class _Door:
    """One agent's public ports, and the process behind them."""

    def __init__(self, agent: str, emit: EventSink, ready: Callable[[str, int], None]) -> None:
        self.agent = agent
        self._emit = emit
        self._ready = ready
        self._changed = threading.Condition()
        self._up = Upstream()
        self._current: int | None = None
        self._serving: int | None = None  # the generation that answers now
        self._failure: str | None = None
        self._busy: dict[int, int] = {}  # generation -> calls in flight
        self._streams: dict[int, set[http.client.HTTPConnection]] = {}  # open GETs
        self._listeners: dict[tuple[str, int], socket.socket] = {}

    # -- the processes' lives ----------------------------------------------------------------

    def listening(self, generation: int, host: str, port: int, actual: int) -> None:
        with self._changed:
            self._up.ports[generation] = actual
            if self._current is None:
                self._current = generation
        self._open(host, port)
        threading.Thread(target=self._probe, args=(generation,), daemon=True).start()

    def started(self, generation: int) -> None:
        with self._changed:
            self._current, self._serving, self._failure = generation, None, None
            self._changed.notify_all()

    def busy(self) -> int:
        with self._changed:
            return self._busy.get(self._serving or -1, 0)

    def drain(self, grace_seconds: float) -> None:
        deadline = time.monotonic() + grace_seconds
        with self._changed:
            generation, self._serving = self._serving, None  # new calls wait from now on
            while generation is not None and self._busy.get(generation, 0):
                if not self._changed.wait(max(0.0, deadline - time.monotonic())):
                    break
            streams = self._streams.pop(generation, set()) if generation is not None else set()
        for upstream in streams:  # an open GET would keep the old server from stopping
            hang_up(upstream)

    def stopped(self) -> None:
        with self._changed:
            self._serving = None
            self._changed.notify_all()

    def ended(self, generation: int, returncode: int | None) -> None:
        code = "not ready in time" if returncode is None else f"exit code {returncode}"
        with self._changed:
            if generation == self._current:
                self._serving = None
                self._failure = f"the MCP server {self.agent} is not running ({code})"
            self._changed.notify_all()

    def _probe(self, generation: int) -> None:
        """Ready = it answered an `initialize` of meshdev's own (its port opens earlier). A
        server that answers HTTP but not MCP there for a while is served as plain HTTP."""
        started = time.monotonic()
        plain_since: float | None = None
        while time.monotonic() < started + HOLD_SECONDS:
            with self._changed:
                if self._current != generation:
                    return
            status = self._up.answers(generation)
            if status is not None and status < 300:
                self._now_serving(generation, mcp=True)
                return
            now = time.monotonic()
            plain_since = plain_since or (now if status is not None else None)
            if plain_since is not None and now - plain_since >= PLAIN_AFTER:
                self._now_serving(generation, mcp=False)
                return
            time.sleep(PROBE_EVERY)

    def _now_serving(self, generation: int, mcp: bool) -> None:
        with self._changed:
            if self._current != generation or self._failure is not None:
                return
            self._serving = generation
            self._changed.notify_all()
        if mcp:
            self._ready(self.agent, generation)

    # -- the public port ---------------------------------------------------------------------

    def _open(self, host: str, port: int) -> None:
        if (host, port) in self._listeners:
            return
        try:
            listener = listen(host, port)
        except OSError as exc:
            message = f"{self.agent}: cannot hold port {port} across reloads ({exc})"
            self._emit(Event("warning", {"message": message}))
            return
        self._listeners[(host, port)] = listener
        self._emit(Event("port_held", {"agent": self.agent, "host": host, "port": port}))
        threading.Thread(target=accept, args=(listener, self._serve), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        client = Downstream(conn)
        with contextlib.suppress(OSError, h11.ProtocolError), conn:
            while True:
                request = client.read_request()
                if request is None:
                    return
                self._handle(client, *request)
                if not client.next_cycle():
                    return

    # -- one request -------------------------------------------------------------------------

    def _handle(self, client: Downstream, request: h11.Request, body: bytes) -> None:
        method = request.method.decode()
        target = request.target.decode()
        headers = [(k.decode().lower(), v.decode()) for k, v in request.headers]
        call = json_rpc(body) if method == "POST" else None
        if call is not None and call.get("method") == "initialize":
            self._up.path = target.split("?")[0]
        generation = self._wait_serving()
        if generation is None:
            client.refuse(call, self._failure or "the MCP server is not running")
            return
        sid = header(headers, SESSION)
        if method == "GET" and sid is not None:
            self._stream(client, target, headers, sid, generation)
            return
        counted = call is not None and "id" in call
        with self._changed:
            self._busy[generation] = self._busy.get(generation, 0) + counted
        try:
            self._forward(client, method, target, headers, body, sid, generation, call)
        finally:
            with self._changed:
                self._busy[generation] -= counted
                self._changed.notify_all()

    def _wait_serving(self) -> int | None:
        deadline = time.monotonic() + HOLD_SECONDS
        with self._changed:
            while self._serving is None and self._failure is None:
                if not self._changed.wait(max(0.0, deadline - time.monotonic())):
                    return None
            return self._serving

    def _forward(
        self,
        client: Downstream,
        method: str,
        target: str,
        headers: Headers,
        body: bytes,
        sid: str | None,
        generation: int,
        call: dict[str, object] | None,
    ) -> None:
        theirs = self._up.their_id(sid, generation) if sid else None
        upstream = self._up.connect(generation)
        try:
            upstream.request(method, target, body, forwarded(headers, theirs))
            response = upstream.getresponse()
        except OSError:
            upstream.close()
            client.refuse(call, "the MCP server stopped before it answered")
            return
        given = response.getheader(SESSION)
        if call is not None and call.get("method") == "initialize" and given:
            self._up.began(given, body, generation)
        if method == "DELETE" and sid:
            self._up.ended(sid)
        shown = sid if given and sid and given == theirs else given
        if call is not None and call.get("method") == "initialize":
            client.relay_rewritten(response, shown, advertised)
        else:
            if call is not None and sid:
                self._up.remember(sid, call, body)
            client.relay(response, shown)
        upstream.close()

    def _stream(
        self, client: Downstream, target: str, headers: Headers, sid: str, generation: int
    ) -> None:
        """The client's stream of server messages: re-opened on each new process."""
        first = True
        while True:
            upstream = self._up.connect(generation)
            with self._changed:
                self._streams.setdefault(generation, set()).add(upstream)
            try:
                theirs = self._up.their_id(sid, generation)
                upstream.request("GET", target, headers=forwarded(headers, theirs))
                response = upstream.getresponse()
                if first and response.status != 200:  # no stream on this server
                    client.relay(response, sid)
                    return
                if first:
                    client.start_stream(response, sid)
                    first = False
                else:
                    client.send_data(_LIST_CHANGED)
                client.pump(response)
            except (OSError, http.client.HTTPException):
                pass
            finally:
                upstream.close()
            if client.gone:
                return
            next_generation = self._wait_serving()
            if next_generation is None or next_generation == generation:
                client.end_stream()
                return
            generation = next_generation
