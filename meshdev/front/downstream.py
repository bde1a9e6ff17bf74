"""The client's side of the HTTP front: one connection, request by request (h11)."""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
from collections.abc import Callable

import h11

from meshdev.front.session import SERVER_FAILED, error, with_list_changed
from meshdev.front.upstream import DROPPED, Headers

_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")


class Downstream:
    """The client's side of one connection (h11), request by request."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.h11 = h11.Connection(h11.SERVER)
        self.gone = False
        self._sending = threading.Lock()  # a refresh's list_changed comes from another thread

    def read_request(self) -> tuple[h11.Request, bytes] | None:
        request: h11.Request | None = None
        body = bytearray()
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA:
                data = self.conn.recv(65536)
                self.h11.receive_data(data)
                if not data and request is None:
                    return None
            elif isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage) and request is not None:
                return request, bytes(body)
            elif isinstance(event, h11.ConnectionClosed):
                return None

    def next_cycle(self) -> bool:
        if self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE:
            self.h11.start_next_cycle()
            return True
        return False

    def refuse(self, call: dict[str, object] | None, why: str) -> None:
        if call is not None and "id" in call:
            answer = error(call["id"], SERVER_FAILED, f"{why}; see meshdev's output")
            body = json.dumps(answer).encode()
            self._send_whole(200, [("content-type", "application/json")], body)
        else:
            self._send_whole(503, [("content-type", "text/plain")], why.encode())

    def relay_rewritten(
        self,
        response: http.client.HTTPResponse,
        sid: str | None,
        rewrite: Callable[[bytes], bytes],
    ) -> None:
        """A short answer (an initialize result), changed on its way."""
        body = rewrite(response.read())
        self.start_stream(response, sid)
        self.send_data(body)
        self.end_stream()

    def relay(
        self,
        response: http.client.HTTPResponse,
        sid: str | None,
        relabel: Callable[[bytes], bytes] | None = None,
    ) -> None:
        self.start_stream(response, sid)
        streamed = "text/event-stream" in (response.getheader("content-type") or "")
        self.pump(response, relabel if streamed else None)
        self.end_stream()

    def broken_off(self, call: dict[str, object] | None, why: str) -> None:
        """The answer stopped half-way: end it with an error for the call (a last SSE event),
        or close the connection when the client's side is what failed."""
        if self.gone:
            return
        if self.h11.our_state is h11.SEND_RESPONSE:  # nothing sent yet: a whole answer
            self.refuse(call, why)
            return
        if call is not None and "id" in call:
            answer = error(call["id"], SERVER_FAILED, f"{why}; see meshdev's output")
            self.send_data(b"event: message\ndata: " + json.dumps(answer).encode() + b"\n\n")
        self.end_stream()

    def accepted(self) -> None:
        self._send_whole(202, [], b"")

    def start_stream(self, response: http.client.HTTPResponse, sid: str | None) -> None:
        headers = [(k, v) for k, v in response.getheaders() if k.lower() not in DROPPED]
        if sid:
            headers.append(("mcp-session-id", sid))
        self._send(h11.Response(status_code=response.status, headers=headers))

    def pump(
        self, response: http.client.HTTPResponse, relabel: Callable[[bytes], bytes] | None = None
    ) -> None:
        """The response's body as it comes; with `relabel`, event by event (an SSE stream)."""
        pending = b""
        while chunk := response.read1(65536):
            if relabel is None:
                self.send_data(chunk)
                continue
            pending += chunk
            events = []
            while found := _EVENT_END.search(pending):
                events.append(relabel(pending[: found.end()]))
                pending = pending[found.end() :]
            if events:
                self.send_data(b"".join(events))
        if pending:
            self.send_data(pending)

    def send_data(self, data: bytes) -> None:
        self._send(h11.Data(data=data))

    def end_stream(self) -> None:
        if not self.gone:
            self._send(h11.EndOfMessage())

    def _send_whole(self, status: int, headers: Headers, body: bytes) -> None:
        self._send(h11.Response(status_code=status, headers=headers))
        self._send(h11.Data(data=body))
        self._send(h11.EndOfMessage())

    def _send(self, event: h11.Event) -> None:
        with self._sending:
            data = self.h11.send(event)
            try:
                if data:
                    self.conn.sendall(data)
            except OSError:
                self.gone = True
                raise


def json_rpc(body: bytes) -> dict[str, object] | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def advertised(body: bytes) -> bytes:
    """An initialize answer (JSON, or one SSE event) with `listChanged` advertised."""
    if body.lstrip().startswith(b"{"):
        return _rewritten_json(body)
    lines = [
        b"data: " + _rewritten_json(line[6:]) if line.startswith(b"data: ") else line
        for line in body.split(b"\n")
    ]
    return b"\n".join(lines)


def listed(answer: bytes) -> set[str]:
    """Which of tools, prompts and resources an initialize answer (JSON or SSE) offers."""
    payloads = (
        [answer]
        if answer.lstrip().startswith(b"{")
        else [line[6:] for line in answer.split(b"\n") if line.startswith(b"data: ")]
    )
    for payload in payloads:
        message = json_rpc(payload.strip())
        result = message.get("result") if message else None
        capabilities = result.get("capabilities") if isinstance(result, dict) else None
        if isinstance(capabilities, dict):
            return {k for k in ("tools", "prompts", "resources") if k in capabilities}
    return set()


def _rewritten_json(text: bytes) -> bytes:
    try:
        message = json.loads(text)
    except ValueError:
        return text
    result = message.get("result") if isinstance(message, dict) else None
    if not isinstance(result, dict):
        return text
    return json.dumps({**message, "result": with_list_changed(result)}).encode()


def relabel_requests(event: bytes, label: Callable[[object], str]) -> bytes:
    """One SSE event whose JSON-RPC request (server to client) gets the id `label` gives."""
    lines = event.split(b"\n")
    for number, line in enumerate(lines):
        if not line.startswith(b"data:"):
            continue
        end = b"\r" if line.endswith(b"\r") else b""
        message = json_rpc(line[5:].strip())
        if message is not None and "method" in message and "id" in message:
            relabelled = {**message, "id": label(message["id"])}
            lines[number] = b"data: " + json.dumps(relabelled).encode() + end
    return b"\n".join(lines)


def header(headers: Headers, name: str) -> str | None:
    return next((v for k, v in headers if k == name), None)


def listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
        listener.listen(128)
    except OSError:
        listener.close()
        raise
    return listener


def accept(listener: socket.socket, serve: Callable[[socket.socket], None]) -> None:
    """Each client connection on a thread of its own, until the listener closes."""
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=serve, args=(conn,), daemon=True).start()
