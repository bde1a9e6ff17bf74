"""One MCP server agent's held ports under `meshdev start`, and which of its processes serves.

A process serves once it answered an `initialize` of meshdev's own (its port opens earlier);
until then, and while one stops, calls wait in `wait_serving`. When none can serve, `failure`
says why.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator

from meshdev.events import Event, EventSink
from meshdev.front.downstream import Downstream, accept, listen, relabel_requests
from meshdev.front.upstream import Upstream, hang_up

HOLD_SECONDS = 60.0  # the longest a call waits for a process to serve
PROBE_EVERY = 0.02
PLAIN_AFTER = 5.0  # answering HTTP, but no MCP at the endpoint, this long: a plain HTTP server


class Door:
    def __init__(
        self,
        agent: str,
        emit: EventSink,
        ready: Callable[[str, int, int, float], None],
        serve: Callable[[Door, socket.socket], None],
    ) -> None:
        self.agent = agent
        self._emit = emit
        self._ready = ready
        self._serve = serve  # one client connection
        self._changed = threading.Condition()
        self.up = Upstream()
        self.asks: dict[str, tuple[int, object]] = {}  # our id -> (generation, the server's)
        self._asked = itertools.count(1)
        self._current: int | None = None
        self._serving: int | None = None  # the generation that answers now
        self.failure: str | None = None
        self._busy: dict[int, int] = {}  # generation -> calls in flight
        self._streams: dict[int, set[http.client.HTTPConnection]] = {}  # open GETs
        self._listeners: dict[tuple[str, int], socket.socket] = {}
        self._waiting: dict[object, float] = {}  # calls waiting for a process -> since when
        self._cancelled: set[object] = set()
        self.kinds: set[str] = {"tools"}  # what the server lists: tools, prompts, resources
        self._clients: set[Downstream] = set()  # those with an open GET stream

    def streams_to(self, client: Downstream, open_: bool) -> None:
        with self._changed:
            if open_:
                self._clients.add(client)
            else:
                self._clients.discard(client)

    def stream_clients(self) -> list[Downstream]:
        with self._changed:
            return list(self._clients)

    # -- the processes' lives ----------------------------------------------------------------

    def listening(self, generation: int, host: str, port: int, actual: int) -> None:
        with self._changed:
            self.up.ports[generation] = actual
            if self._current is None:
                self._current = generation
        self._open(host, port)
        threading.Thread(target=self._probe, args=(generation,), daemon=True).start()

    def started(self, generation: int) -> None:
        with self._changed:
            self._current, self._serving, self.failure = generation, None, None
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
                self.failure = f"the MCP server {self.agent} is not running ({code})"
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
            status = self.up.answers(generation)
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
            if self._current != generation or self.failure is not None:
                return
            self._serving = generation
            now = time.monotonic()
            held = [
                now - since for call, since in self._waiting.items() if call not in self._cancelled
            ]
            self._changed.notify_all()
        if mcp:
            self._ready(self.agent, generation, len(held), round(max(held, default=0.0), 4))

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
        serve = lambda conn: self._serve(self, conn)  # noqa: E731
        threading.Thread(target=accept, args=(listener, serve), daemon=True).start()

    @contextlib.contextmanager
    def calling(self, generation: int, counted: bool) -> Iterator[None]:
        """A call in flight on that process (a stop waits for it)."""
        with self._changed:
            self._busy[generation] = self._busy.get(generation, 0) + counted
        try:
            yield
        finally:
            with self._changed:
                self._busy[generation] -= counted
                self._changed.notify_all()

    def streaming(self, generation: int, upstream: http.client.HTTPConnection) -> None:
        """A client's stream of server messages from that process (hung up at its stop)."""
        with self._changed:
            self._streams.setdefault(generation, set()).add(upstream)

    def wait_serving(self, call: object = None) -> int | None:
        """The process to send to, once one serves; None when none can (see `failure`) or the
        client cancelled this call (`call`: its (session, id)) meanwhile."""
        deadline = time.monotonic() + HOLD_SECONDS
        token = call if call is not None else object()
        with self._changed:
            if self._serving is None and self.failure is None:
                self._waiting[token] = time.monotonic()
            while self._serving is None and self.failure is None and token not in self._cancelled:
                if not self._changed.wait(max(0.0, deadline - time.monotonic())):
                    break
            self._waiting.pop(token, None)
            if token in self._cancelled:
                self._cancelled.discard(token)
                return None
            return self._serving

    def cancel(self, call: object) -> bool:
        """The client cancelled a call: True when it was waiting here (it never reaches a
        process, and nothing is to be forwarded)."""
        with self._changed:
            if call not in self._waiting:
                return False
            self._cancelled.add(call)
            self._changed.notify_all()
            return True

    def relabel(self, generation: int) -> Callable[[bytes], bytes]:
        """Server-to-client requests get ids of meshdev's own: two processes never collide."""

        def label(theirs: object) -> str:
            ours = f"meshdev-{generation}-{next(self._asked)}"
            self.asks[ours] = (generation, theirs)
            return ours

        return lambda event: relabel_requests(event, label)
