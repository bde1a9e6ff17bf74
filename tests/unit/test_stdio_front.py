"""The stdio front's own input handling, with an in-memory client and a fake server process."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import pytest

from meshdev.front import stdio
from meshdev.front.stdio import StdioFront


@dataclass
class FakeServer:
    agent: str = "server"
    generation: int = 1
    started: float = 0.0
    returncode: int | None = None
    pid: int = 4242
    received: list[bytes] = field(default_factory=list)

    def has_exited(self) -> bool:
        return False

    def still_there(self) -> bool:
        return True

    def send(self, data: bytes) -> bool:
        self.received.append(data)
        return True

    def close_input(self) -> bool:
        return True


def front() -> tuple[StdioFront, io.BytesIO, FakeServer, list[str]]:
    client, server, said = io.BytesIO(), FakeServer(), []
    f = StdioFront("server", client, lambda agent, stream, text: said.append(text))
    f.started(server)
    return f, client, server, said


def answers(client: io.BytesIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in client.getvalue().splitlines()]


def test_a_line_that_is_not_json_gets_a_parse_error_and_reaches_no_server() -> None:
    f, client, server, _ = front()
    f.client_line(b"hello there\n")
    assert answers(client) == [
        {
            "jsonrpc": "2.0",
            "id": None,
            "error": {"code": -32700, "message": "not a JSON-RPC message"},
        }
    ]
    assert server.received == []


def test_a_message_too_large_is_refused_without_being_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stdio, "MAX_MESSAGE_BYTES", 100)
    f, client, server, _ = front()
    f.client_line(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "x" * 200}).encode())
    assert answers(client)[0]["error"] == {"code": -32700, "message": "not a JSON-RPC message"}
    assert server.received == []


def test_a_request_reaches_the_server_and_its_answer_the_client() -> None:
    f, client, server, _ = front()
    f.client_line(b'{"jsonrpc":"2.0","id":7,"method":"tools/list"}\n')
    assert json.loads(server.received[0]) == {"jsonrpc": "2.0", "id": 7, "method": "tools/list"}
    f.server_line("server", 1, b'{"jsonrpc":"2.0","id":7,"result":{"tools":[]}}\n')
    assert answers(client) == [{"jsonrpc": "2.0", "id": 7, "result": {"tools": []}}]


def test_what_the_server_prints_that_is_not_json_rpc_goes_to_stderr_not_to_the_client() -> None:
    f, client, _, said = front()
    f.server_line("server", 1, b"debug: starting up\n")
    assert said == ["debug: starting up"] and client.getvalue() == b""
