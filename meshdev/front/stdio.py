"""`meshdev mcp SCRIPT`: the MCP client on meshdev's own stdin and stdout, the server behind it.

stdout carries only JSON-RPC messages of the protocol; whatever else anybody says goes to stderr.
Client lines arrive on a thread of their own, server lines on the server process's reader thread:
both go through one lock into the pure `Session`, so the loop may block (stopping a generation)
while calls keep being answered and released. Nothing is written under that lock: each
destination (the client, each server process) has a queue and a writer thread, so a full pipe
one way never stops the other way (two big messages crossing would otherwise deadlock).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import BinaryIO

from meshdev.front.pipes import Writer
from meshdev.front.session import PARSE_ERROR, Message, Out, Session, error, split_batch
from meshdev.interfaces import AgentHandle, LineSink, ReportSink
from meshdev.sources.messages import ReadyReport

MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # a longer line is refused with a parse error
READY_HOW = "answered initialize"


class StdioFront:
    def __init__(self, agent: str, client: BinaryIO, say: LineSink) -> None:
        self.agent = agent
        self.session = Session(agent)
        self._client = Writer(lambda data: _write_flush(client, data), _flushed_fd(client))
        self._say = say  # to stderr: lines the server wrote on stdout that are not JSON-RPC
        self._report: ReportSink | None = None
        self._handles: dict[int, Writer] = {}  # generation -> what writes to its stdin
        self._changed = threading.Condition()
        self._holding_since: float | None = None  # when the oldest waiting call arrived
        # The message being handled and its line as read: passed on as it came when the session
        # passes it on unchanged (it never changes a message in place), saving an encode.
        self._as_read: tuple[Message, bytes] | None = None

    def attach(self, report: ReportSink) -> None:
        """Where readiness goes: the loop's inbox, as if the agent had said so."""
        self._report = report

    # -- the client ---------------------------------------------------------------------------

    def read_client(self, stream: BinaryIO, on_end: Callable[[], None]) -> None:
        """Read the client's lines on a thread; `on_end` once its end of stdin closed."""

        def loop() -> None:
            while True:
                line = stream.readline(MAX_MESSAGE_BYTES + 1)
                if not line:
                    break
                self.client_line(line)
            on_end()

        threading.Thread(target=loop, name="meshdev-mcp-client", daemon=True).start()

    def client_line(self, line: bytes) -> None:
        if not line.strip():
            return
        messages = _decode(line) if len(line) <= MAX_MESSAGE_BYTES else None
        with self._changed:
            if messages is None:
                self._to_client([error(None, PARSE_ERROR, "not a JSON-RPC message")])
                return
            self._as_read = _as_read(messages, line)
            for message in messages:
                self._apply(self.session.from_client(message))
            self._as_read = None

    # -- the server processes -----------------------------------------------------------------

    def server_line(self, agent: str, generation: int, line: bytes) -> None:
        messages = _decode(line)
        if messages is None:
            text = line.decode("utf-8", errors="replace").rstrip("\r\n")
            if text:
                self._say(agent, "out", text)
            return
        with self._changed:
            self._as_read = _as_read(messages, line)
            for message in messages:
                self._apply(self.session.from_server(generation, message))
            self._as_read = None

    def listening(self, agent: str, generation: int, host: str, port: int, actual: int) -> None:
        pass  # stdio: its ports are its own business

    def refreshed(self, agent: str) -> None:
        if agent == self.agent:
            with self._changed:
                self._apply(self.session.list_changed())

    def started(self, handle: AgentHandle) -> bool:
        """True once the client initialised: readiness is then the answer to the replay."""
        if handle.agent != self.agent:
            return False
        with self._changed:
            self._handles[handle.generation] = Writer(handle.send, handle.input_fd(), owns=True)
            self._apply(self.session.started(handle.generation))
            return self.session.initialize is not None

    def in_flight(self, agent: str) -> int:
        generation = self.session.current
        if agent != self.agent or generation is None:
            return 0
        with self._changed:
            return self.session.busy_with(generation)

    def draining(self, agents: Sequence[str], grace_seconds: float) -> None:
        """Before a stop: new calls wait; those in flight finish, within the grace period."""
        generation = self.session.current
        if self.agent not in agents or generation is None:
            return
        deadline = time.monotonic() + grace_seconds
        with self._changed:
            self.session.stopping(generation)
            while self.session.busy_with(generation) and time.monotonic() < deadline:
                self._changed.wait(deadline - time.monotonic())
            writer = self._handles.pop(generation, None)
        if writer is not None:  # so that closing its stdin is an end of file it sees
            writer.close(wait_seconds=max(0.1, deadline - time.monotonic()))

    def stopped(self, agents: Sequence[str]) -> None:
        generation = self.session.current
        if self.agent in agents and generation is not None:
            self._ended(generation, None, asked=True)

    def ended(self, agent: str, generation: int, returncode: int | None) -> None:
        """It exited (or failed to start) without being asked to."""
        if agent == self.agent:
            self._ended(generation, returncode, asked=False)

    def _ended(self, generation: int, returncode: int | None, asked: bool) -> None:
        with self._changed:
            self._apply(self.session.gone(generation, returncode, asked))
            writer = self._handles.pop(generation, None)
            if writer is not None:
                writer.close()

    def close(self) -> None:
        """At the end: the client gets everything already said to it."""
        self._client.close(wait_seconds=2.0)

    # -- sending ------------------------------------------------------------------------------

    def _apply(self, out: Out) -> None:
        """Called with the lock held: what the session decided, sent in order."""
        now = time.monotonic()
        held_for = now - self._holding_since if self._holding_since and out.released else 0.0
        self._holding_since = (self._holding_since or now) if self.session.held else None
        self._to_client(out.to_client)
        for generation, message in out.to_server:
            writer = self._handles.get(generation)
            if writer is not None:
                writer.put(self._encoded(message))
        for generation in out.ready:
            if self._report is not None:
                ready = ReadyReport(READY_HOW, out.released, round(held_for, 4))
                self._report(self.agent, generation, ready)
        self._changed.notify_all()

    def _to_client(self, messages: list[Message]) -> None:
        if messages:
            self._client.put(b"".join(self._encoded(m) for m in messages))

    def _encoded(self, message: Message) -> bytes:
        if self._as_read is not None and message is self._as_read[0]:
            return self._as_read[1]
        return _encode(message)


def _write_flush(stream: BinaryIO, data: bytes) -> None:
    try:
        stream.write(data)
        stream.flush()
    except (OSError, ValueError):
        pass  # the client went away; its end of stdin closing ends meshdev


def _flushed_fd(stream: BinaryIO) -> int | None:
    """The stream's file descriptor, with what its buffer held written first; None without one."""
    try:
        stream.flush()
        return stream.fileno()
    except (OSError, ValueError, AttributeError):
        return None


def _decode(line: bytes) -> list[Message] | None:
    try:
        parsed = json.loads(line)
    except ValueError:
        return None
    return split_batch(parsed)


def _as_read(messages: list[Message], line: bytes) -> tuple[Message, bytes] | None:
    """A line that held one message (not a batch) in UTF-8 (not UTF-16 or 32, which hold NULs,
    nor with a BOM), ending in one newline."""
    if len(messages) != 1 or line.lstrip()[:1] != b"{" or b"\x00" in line:
        return None
    return messages[0], line.rstrip(b"\r\n") + b"\n"


def _encode(message: Message) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
