"""One MCP client kept across a succession of server processes (generations). Pure: every call
returns what to send where (`Out`); the I/O around it (`front/stdio.py`) sends it.

What the client sees is one server that never went away:
- its `initialize` is replayed by meshdev to every new generation (the answer is swallowed), then
  `notifications/initialized`, its resource subscriptions and its logging level;
- calls that arrive while a generation stops or starts are held, and sent to the new one once it
  answered `initialize`; calls in flight on the old one finish there (the loop drains them);
- after a reload, `notifications/*/list_changed` tell the client to list tools (and prompts and
  resources, when offered) again; `listChanged` is advertised so that clients listen for them;
- server-to-client requests get ids of meshdev's own, so two generations never collide;
- when no generation can serve (a crash at start, an open circuit), every call is answered at once
  with an error that says so: never a hang.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

Message = dict[str, Any]
SERVER_FAILED = -32000  # JSON-RPC "server error" range
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
_OWN = "meshdev"  # prefix of the ids of meshdev's own requests
_LIST_CHANGED = ("tools", "prompts", "resources")


class State(enum.Enum):
    OPEN = "open"  # the client has not initialised yet: everything goes to the current process
    STARTING = "starting"  # meshdev replays `initialize` to a new process: calls wait
    READY = "ready"
    DRAINING = "draining"  # the process is about to stop: new calls wait for the next one
    FAILED = "failed"  # no process can serve: calls are answered with an error


@dataclass
class Out:
    """What one event makes the session send."""

    to_client: list[Message] = field(default_factory=list)
    to_server: list[tuple[int, Message]] = field(default_factory=list)  # (generation, message)
    ready: list[int] = field(default_factory=list)  # generations that answered `initialize`
    released: int = 0  # calls that had been held, sent now

    def extend(self, other: Out) -> Out:
        self.to_client += other.to_client
        self.to_server += other.to_server
        self.ready += other.ready
        self.released += other.released
        return self


def _key(value: object) -> tuple[str, str]:
    """JSON-RPC ids are strings or numbers: 1 and "1" are different requests."""
    return (type(value).__name__, str(value))


def error(request_id: object, code: int, message: str) -> Message:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


def is_request(message: Message) -> bool:
    return "method" in message and "id" in message


def is_response(message: Message) -> bool:
    return "method" not in message and "id" in message


@dataclass
class _Own:
    """A request meshdev sent itself (its answer is not the client's business)."""

    generation: int
    purpose: str  # "initialize" | "replay"


class Session:
    def __init__(self, name: str) -> None:
        self.name = name
        self.state = State.STARTING  # until the first process starts, calls wait for it
        self.failure = f"the MCP server {name} is not running"
        self.current: int | None = None
        self.initialize: Message | None = None  # the client's initialize, once a server took it
        self._asked: Message | None = None  # the client's initialize, not answered yet
        self.initialized = False  # the client sent notifications/initialized
        self.capabilities: dict[str, Any] = {}  # of the server, from the last initialize answer
        self.served_before = False  # a generation was ready: the next one is a reload
        self.held: list[Message] = []
        self.in_flight: dict[tuple[str, str], int] = {}  # client request id -> generation
        self.from_servers: dict[str, tuple[int, object]] = {}  # our id -> (generation, theirs)
        self.own: dict[str, _Own] = {}
        self.replayed: dict[str, Message] = {}  # resources/subscribe by uri, logging/setLevel
        self._count = 0

    # -- the processes' lives (from the loop) ---------------------------------------------------

    def started(self, generation: int) -> Out:
        self.current = generation
        if self.initialize is None:
            self.state = State.OPEN
            return self._release()
        self.state = State.STARTING
        replay = {**self.initialize, "id": self._own_id(generation, "initialize")}
        return Out(to_server=[(generation, replay)])

    def stopping(self, generation: int) -> None:
        if generation == self.current and self.state is not State.FAILED:
            self.state = State.DRAINING

    def busy_with(self, generation: int) -> int:
        """How many calls of the client that generation is still answering."""
        return sum(1 for g in self.in_flight.values() if g == generation)

    def gone(self, generation: int, returncode: int | None = None, asked: bool = True) -> Out:
        """The process ended: asked to stop (a reload, a shutdown), or on its own."""
        failure = None if asked else self._why_gone(generation, returncode)
        out = Out()
        for key in [k for k, g in self.in_flight.items() if g == generation]:
            del self.in_flight[key]
            reason = failure or "the MCP server was stopped before it answered"
            out.to_client.append(error(_unkey(key), SERVER_FAILED, f"{reason}; see stderr"))
        self.from_servers = {k: v for k, v in self.from_servers.items() if v[0] != generation}
        self.own = {k: v for k, v in self.own.items() if v.generation != generation}
        if failure is not None and generation == self.current:
            out.extend(self.fail(failure))
        return out

    def _why_gone(self, generation: int, returncode: int | None) -> str:
        code = "not ready in time" if returncode is None else f"exit code {returncode}"
        if generation == self.current and self.state is State.STARTING:
            return f"the MCP server {self.name} failed to start ({code})"
        return f"the MCP server {self.name} exited ({code}); meshdev restarts it"

    def fail(self, failure: str) -> Out:
        """No process can serve now: say so to every waiting call, and to every new one."""
        self.state, self.failure = State.FAILED, failure
        waiting, self.held = self.held, []
        return Out(to_client=[self._refusal(m) for m in waiting if is_request(m)])

    # -- messages -------------------------------------------------------------------------------

    def from_client(self, message: Message) -> Out:
        if is_response(message):
            return self._answer_to_server(message)
        method = message.get("method")
        if method == "notifications/cancelled":
            return self._cancel(message)
        if self.state is State.FAILED:
            return Out(to_client=[self._refusal(message)] if is_request(message) else [])
        if method == "initialize" and is_request(message):
            self._asked = _request_part(message)
        elif method == "notifications/initialized":
            self.initialized = True
            if self.state not in (State.READY, State.OPEN):
                return Out()  # the next process gets it with the replayed initialize
        if self.state in (State.READY, State.OPEN):
            return self._send(message)
        self.held.append(message)
        return Out()

    def from_server(self, generation: int, message: Message) -> Out:
        if is_response(message):
            own = self.own.pop(str(message.get("id")), None)
            if own is not None:
                return self._own_answered(own, message)
            return self._answer_to_client(generation, message)
        if is_request(message):
            ours = self._next_id(generation, "server")
            self.from_servers[ours] = (generation, message["id"])
            return Out(to_client=[{**message, "id": ours}])
        return Out(to_client=[message])  # a notification: progress, logging, list_changed

    # -- inside ---------------------------------------------------------------------------------

    def _send(self, message: Message) -> Out:
        assert self.current is not None
        self._remember_replayed(message)
        if is_request(message):
            self.in_flight[_key(message["id"])] = self.current
        return Out(to_server=[(self.current, message)])

    def _release(self) -> Out:
        out = Out()
        waiting, self.held = self.held, []
        for message in waiting:
            out.extend(self._send(message))
        out.released = sum(1 for m in waiting if is_request(m))
        return out

    def _refusal(self, message: Message) -> Message:
        return error(message.get("id"), SERVER_FAILED, f"{self.failure}; see stderr")

    def _answer_to_client(self, generation: int, message: Message) -> Out:
        key = _key(message.get("id"))
        if self.in_flight.get(key) != generation:
            return Out()  # an answer to nothing the client is waiting for
        del self.in_flight[key]
        result = message.get("result")
        if isinstance(result, dict) and "protocolVersion" in result:  # the client's initialize
            self.initialize = self._asked
            message = {**message, "result": self._advertise(result)}
            return Out(to_client=[message], ready=[generation]).extend(self._serving(generation))
        return Out(to_client=[message])

    def _own_answered(self, own: _Own, message: Message) -> Out:
        if own.purpose != "initialize" or own.generation != self.current:
            return Out()
        result = message.get("result")
        if not isinstance(result, dict):
            return self.fail("the MCP server refused initialize after the reload")
        self._advertise(result)
        out = Out(ready=[own.generation])
        if self.initialized:
            note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
            out.to_server.append((own.generation, note))
        for replay in self.replayed.values():
            request = {**replay, "id": self._own_id(own.generation, "replay")}
            out.to_server.append((own.generation, request))
        return out.extend(self._serving(own.generation))

    def _serving(self, generation: int) -> Out:
        """The generation answered initialize: release what waited, tell the client what moved
        (unless it is already being stopped: then the next one does)."""
        if self.state is State.DRAINING:
            self.served_before = True
            return Out()
        self.state = State.READY
        out = self._release()
        if self.served_before:
            out.to_client += self.list_changed().to_client
        self.served_before = True
        return out

    def list_changed(self) -> Out:
        """What tells the client to list again what the server offers (after new code)."""
        if not self.initialized:
            return Out()
        return Out(
            to_client=[
                {"jsonrpc": "2.0", "method": f"notifications/{kind}/list_changed"}
                for kind in _LIST_CHANGED
                if kind in self.capabilities
            ]
        )

    def _advertise(self, result: dict[str, Any]) -> dict[str, Any]:
        advertised = with_list_changed(result)
        self.capabilities = advertised["capabilities"]
        return advertised

    def _answer_to_server(self, message: Message) -> Out:
        origin = self.from_servers.pop(str(message.get("id")), None)
        if origin is None:
            return Out()  # its process is gone: nobody waits for it any more
        generation, theirs = origin
        return Out(to_server=[(generation, {**message, "id": theirs})])

    def _cancel(self, message: Message) -> Out:
        params = message.get("params")
        target = params.get("requestId") if isinstance(params, dict) else None
        before = len(self.held)
        self.held = [m for m in self.held if not (is_request(m) and m.get("id") == target)]
        if len(self.held) < before:
            return Out()  # it never reached a server
        generation = self.in_flight.pop(_key(target), None)  # a cancelled call is never answered
        return Out(to_server=[(generation, message)]) if generation is not None else Out()

    def _remember_replayed(self, message: Message) -> None:
        method, params = message.get("method"), message.get("params")
        uri = params.get("uri") if isinstance(params, dict) else None
        if method == "resources/subscribe" and isinstance(uri, str):
            self.replayed[f"subscribe:{uri}"] = _request_part(message)
        elif method == "resources/unsubscribe" and isinstance(uri, str):
            self.replayed.pop(f"subscribe:{uri}", None)
        elif method == "logging/setLevel":
            self.replayed["level"] = _request_part(message)

    def _own_id(self, generation: int, purpose: str) -> str:
        ours = self._next_id(generation, purpose)
        self.own[ours] = _Own(generation, purpose)
        return ours

    def _next_id(self, generation: int, what: str) -> str:
        self._count += 1
        return f"{_OWN}-{generation}-{what}-{self._count}"


def with_list_changed(result: dict[str, Any]) -> dict[str, Any]:
    """An initialize result whose tools, prompts and resources say `listChanged`, so that clients
    listen for the notifications meshdev sends after a reload."""
    capabilities = dict(result.get("capabilities") or {})
    for kind in _LIST_CHANGED:
        if isinstance(capabilities.get(kind), dict):
            capabilities[kind] = {**capabilities[kind], "listChanged": True}
    return {**result, "capabilities": capabilities}


def _request_part(message: Message) -> Message:
    return {k: v for k, v in message.items() if k != "id"}


def _unkey(key: tuple[str, str]) -> object:
    kind, text = key
    return int(text) if kind == "int" else float(text) if kind == "float" else text


def split_batch(parsed: object) -> list[Message] | None:
    """A message, or each message of a batch (older protocol versions); None when malformed."""
    items: list[object] = parsed if isinstance(parsed, list) else [parsed]
    messages = [m for m in items if isinstance(m, dict)]
    return messages if messages and len(messages) == len(items) else None
