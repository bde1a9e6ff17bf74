"""The stdio front's own input handling, with an in-memory client and a fake server process."""

from __future__ import annotations

import io
import json
import threading
from dataclasses import dataclass, field

import pytest
from helpers import wait_until

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

    def input_fd(self) -> int | None:
        return None


def front() -> tuple[StdioFront, io.BytesIO, FakeServer, list[str]]:
    client, server, said = io.BytesIO(), FakeServer(), []
    f = StdioFront("server", client, lambda agent, stream, text: said.append(text))
    f.started(server)
    return f, client, server, said


def answers(f: StdioFront, client: io.BytesIO) -> list[dict[str, object]]:
    f.close()  # everything said to the client is written
    return [json.loads(line) for line in client.getvalue().splitlines()]


def test_a_line_that_is_not_json_gets_a_parse_error_and_reaches_no_server() -> None:
    f, client, server, _ = front()
    f.client_line(b"hello there\n")
    assert answers(f, client) == [
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
    assert answers(f, client)[0]["error"] == {"code": -32700, "message": "not a JSON-RPC message"}
    assert server.received == []


def test_a_request_reaches_the_server_and_its_answer_the_client() -> None:
    f, client, server, _ = front()
    f.client_line(b'{"jsonrpc":"2.0","id":7,"method":"tools/list"}\n')
    wait_until(lambda: server.received, "the request written to the server")
    assert json.loads(server.received[0]) == {"jsonrpc": "2.0", "id": 7, "method": "tools/list"}
    f.server_line("server", 1, b'{"jsonrpc":"2.0","id":7,"result":{"tools":[]}}\n')
    assert answers(f, client) == [{"jsonrpc": "2.0", "id": 7, "result": {"tools": []}}]


def test_what_the_server_prints_that_is_not_json_rpc_goes_to_stderr_not_to_the_client() -> None:
    f, client, _, said = front()
    f.server_line("server", 1, b"debug: starting up\n")
    assert said == ["debug: starting up"] and answers(f, client) == []


def test_a_server_that_does_not_read_never_stops_its_answers_from_reaching_the_client() -> None:
    f, client, server, _ = front()
    unblock = threading.Event()
    server.send = lambda data: unblock.wait(10)  # type: ignore[method-assign, assignment, return-value]
    f.client_line(b'{"jsonrpc":"2.0","id":1,"method":"tools/list"}\n')  # its stdin is full
    done = threading.Event()
    note = b'{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"hi"}}\n'
    threading.Thread(target=lambda: (f.server_line("server", 1, note), done.set())).start()
    try:
        assert done.wait(5), "the server's output waited for its full stdin"
    finally:
        unblock.set()
    assert answers(f, client)[0]["method"] == "notifications/message"


def test_a_message_passed_on_unchanged_goes_as_it_came_byte_for_byte() -> None:
    f, client, server, _ = front()
    odd = b'{ "id": 7,  "jsonrpc": "2.0", "method": "tools/list", "params": {"x": 1.50} }\r\n'
    f.client_line(odd)
    wait_until(lambda: server.received, "the request written to the server")
    assert server.received[0] == odd.rstrip(b"\r\n") + b"\n"
    answer = b'{"result": {"tools": []}, "id": 7, "jsonrpc": "2.0"}\n'
    f.server_line("server", 1, answer)
    f.close()
    assert client.getvalue() == answer


def test_a_batch_or_a_line_with_a_bom_is_re_encoded_message_by_message() -> None:
    f, _, server, _ = front()
    f.client_line(b'[{"jsonrpc":"2.0","id":1,"method":"a"}, {"jsonrpc":"2.0","id":2,"method":"b"}]')
    f.client_line(b'\xef\xbb\xbf{"jsonrpc":"2.0","id":3,"method":"c"}\n')
    wait_until(lambda: len(server.received) == 3, "three requests written to the server")
    assert [json.loads(data)["id"] for data in server.received] == [1, 2, 3]
    assert not any(data.startswith((b"[", b"\xef")) for data in server.received)
