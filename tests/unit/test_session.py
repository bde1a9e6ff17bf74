from __future__ import annotations

from typing import Any

import pytest

from meshdev.front.session import SERVER_FAILED, Message, Out, Session, State, split_batch

CLIENT_PARAMS: dict[str, Any] = {
    "protocolVersion": "2025-06-18",
    "capabilities": {"roots": {}},
    "clientInfo": {"name": "client", "version": "1"},
}
TOOLS_ONLY: dict[str, Any] = {"tools": {}}
EVERYTHING: dict[str, Any] = {"tools": {}, "prompts": {}, "resources": {"subscribe": True}}


def req(id: object, method: str, **params: Any) -> Message:
    message: Message = {"jsonrpc": "2.0", "id": id, "method": method}
    return {**message, "params": params} if params else message


def note(method: str, **params: Any) -> Message:
    message: Message = {"jsonrpc": "2.0", "method": method}
    return {**message, "params": params} if params else message


def resp(id: object, result: Any) -> Message:
    return {"jsonrpc": "2.0", "id": id, "result": result}


def init_result(capabilities: dict[str, Any]) -> dict[str, Any]:
    return {
        "protocolVersion": "2025-06-18",
        "capabilities": capabilities,
        "serverInfo": {"name": "server", "version": "1"},
    }


def client_init() -> Message:
    return req(0, "initialize", **CLIENT_PARAMS)


def sent(out: Out, generation: int) -> list[Message]:
    return [m for g, m in out.to_server if g == generation]


def methods(messages: list[Message]) -> list[str]:
    return [m.get("method", "") for m in messages]


def list_changed(out: Out) -> list[str]:
    return [m["method"] for m in out.to_client if m.get("method", "").endswith("/list_changed")]


def error_of(message: Message) -> tuple[object, int, str]:
    return message["id"], message["error"]["code"], message["error"]["message"]


def serving(capabilities: dict[str, Any] = TOOLS_ONLY, initialized: bool = True) -> Session:
    session = Session("echo")
    session.started(1)
    session.from_client(client_init())
    session.from_server(1, resp(0, init_result(capabilities)))
    if initialized:
        session.from_client(note("notifications/initialized"))
    return session


def replay_of(out: Out, generation: int) -> Message:
    (replay,) = [m for m in sent(out, generation) if m.get("method") == "initialize"]
    return replay


def reload_answered(session: Session, new: int, capabilities: dict[str, Any] = TOOLS_ONLY) -> Out:
    replay = replay_of(session.started(new), new)
    return session.from_server(new, resp(replay["id"], init_result(capabilities)))


def reload(session: Session, old: int, new: int, capabilities: dict[str, Any] = TOOLS_ONLY) -> Out:
    session.stopping(old)
    session.gone(old)
    return reload_answered(session, new, capabilities)


def answer_initializes(session: Session, generation: int, out: Out) -> tuple[list[Message], Out]:
    received: list[Message] = []
    seen = Out()
    while sent(out, generation):
        seen.extend(out)
        received += sent(out, generation)
        initializes = [m for m in sent(out, generation) if m.get("method") == "initialize"]
        out = Out()
        for m in initializes:
            out.extend(session.from_server(generation, resp(m["id"], init_result(TOOLS_ONLY))))
    return received, seen.extend(out)


# -- the first generation -------------------------------------------------------------------


def test_the_first_generation_is_open_and_the_client_initialize_goes_straight_through() -> None:
    session = Session("echo")
    assert session.started(1) == Out()
    assert session.state is State.OPEN
    assert session.from_client(client_init()).to_server == [(1, client_init())]


def test_the_initialize_answer_advertises_list_changed_and_reports_the_generation_ready() -> None:
    session = Session("echo")
    session.started(1)
    session.from_client(client_init())
    out = session.from_server(1, resp(0, init_result({"tools": {}, "logging": {}})))
    (answer,) = out.to_client
    assert answer["id"] == 0
    assert answer["result"]["capabilities"] == {"tools": {"listChanged": True}, "logging": {}}
    assert out.ready == [1]
    assert session.state is State.READY
    assert list_changed(out) == []


def test_list_changed_is_advertised_for_prompts_and_resources_when_present() -> None:
    session = Session("echo")
    session.started(1)
    session.from_client(client_init())
    (answer,) = session.from_server(1, resp(0, init_result(EVERYTHING))).to_client
    assert answer["result"]["capabilities"] == {
        "tools": {"listChanged": True},
        "prompts": {"listChanged": True},
        "resources": {"subscribe": True, "listChanged": True},
    }


def test_requests_before_the_first_start_are_held_then_released_on_start() -> None:
    session = Session("echo")
    assert session.from_client(req(1, "ping")) == Out()
    assert session.from_client(req(2, "tools/list")) == Out()
    out = session.started(1)
    assert out.to_server == [(1, req(1, "ping")), (1, req(2, "tools/list"))]


def test_an_initialize_before_the_first_start_reaches_the_server_once() -> None:
    session = Session("echo")
    session.from_client(client_init())
    received, seen = answer_initializes(session, 1, session.started(1))
    assert methods(received) == ["initialize"]
    assert seen.ready == [1]
    assert list_changed(seen) == []
    assert [m["id"] for m in seen.to_client] == [0]


# -- a reload ---------------------------------------------------------------------------------


def test_new_calls_are_held_while_the_generation_stops() -> None:
    session = serving()
    session.stopping(1)
    assert session.state is State.DRAINING
    assert session.from_client(req(5, "tools/call", name="a")) == Out()


def test_busy_while_a_call_is_in_flight_and_not_once_it_is_answered() -> None:
    session = serving()
    session.from_client(req(5, "tools/call", name="a"))
    session.stopping(1)
    assert session.busy_with(1) == 1
    assert session.from_server(1, resp(5, {"content": []})).to_client == [resp(5, {"content": []})]
    assert session.busy_with(1) == 0


def test_the_next_generation_is_sent_the_client_initialize_with_an_id_of_its_own() -> None:
    session = serving()
    session.stopping(1)
    session.gone(1)
    out = session.started(2)
    assert session.state is State.STARTING
    assert out.to_client == [] and out.ready == []
    (replay,) = sent(out, 2)
    assert replay["method"] == "initialize"
    assert replay["params"] == CLIENT_PARAMS
    assert isinstance(replay["id"], str)


def test_the_replayed_initialize_answer_is_not_sent_to_the_client() -> None:
    session = serving()
    session.stopping(1)
    session.gone(1)
    replay = replay_of(session.started(2), 2)
    out = session.from_server(2, resp(replay["id"], init_result(TOOLS_ONLY)))
    assert all("id" not in m for m in out.to_client)
    assert out.ready == [2]
    assert session.state is State.READY


def test_after_the_replay_initialized_subscriptions_and_level_go_to_the_new_generation() -> None:
    session = serving(EVERYTHING)
    session.from_client(req(3, "resources/subscribe", uri="file:///a"))
    session.from_client(req(4, "logging/setLevel", level="debug"))
    out = reload(session, 1, 2, EVERYTHING)
    to_g2 = sent(out, 2)
    assert methods(to_g2) == [
        "notifications/initialized",
        "resources/subscribe",
        "logging/setLevel",
    ]
    assert to_g2[1]["params"] == {"uri": "file:///a"}
    assert to_g2[2]["params"] == {"level": "debug"}
    assert all(isinstance(m["id"], str) for m in to_g2[1:])


def test_answers_to_the_replayed_subscriptions_are_not_sent_to_the_client() -> None:
    session = serving(EVERYTHING)
    session.from_client(req(3, "resources/subscribe", uri="file:///a"))
    (_, subscribe) = sent(reload(session, 1, 2, EVERYTHING), 2)
    assert session.from_server(2, resp(subscribe["id"], {})) == Out()


def test_an_unsubscribed_resource_is_not_replayed() -> None:
    session = serving(EVERYTHING)
    session.from_client(req(3, "resources/subscribe", uri="file:///a"))
    session.from_client(req(4, "resources/unsubscribe", uri="file:///a"))
    assert methods(sent(reload(session, 1, 2, EVERYTHING), 2)) == ["notifications/initialized"]


def test_a_subscription_held_during_a_reload_reaches_the_new_generation_once() -> None:
    session = serving(EVERYTHING)
    session.stopping(1)
    session.from_client(req(3, "resources/subscribe", uri="file:///a"))
    session.from_client(req(4, "logging/setLevel", level="debug"))
    session.gone(1)
    to_g2 = sent(reload_answered(session, 2, EVERYTHING), 2)
    assert methods(to_g2).count("resources/subscribe") == 1
    assert methods(to_g2).count("logging/setLevel") == 1
    assert req(3, "resources/subscribe", uri="file:///a") in to_g2


def test_held_calls_go_to_the_new_generation_in_order_with_the_client_ids() -> None:
    session = serving()
    session.stopping(1)
    session.from_client(req(7, "tools/call", name="a"))
    session.from_client(req("x", "tools/call", name="b"))
    session.gone(1)
    replay = replay_of(session.started(2), 2)
    out = session.from_server(2, resp(replay["id"], init_result(TOOLS_ONLY)))
    assert sent(out, 2)[1:] == [req(7, "tools/call", name="a"), req("x", "tools/call", name="b")]
    assert session.from_server(2, resp("x", {})).to_client == [resp("x", {})]


def test_list_changed_is_sent_once_after_the_replay_is_answered_not_at_start() -> None:
    session = serving()
    session.stopping(1)
    session.gone(1)
    started = session.started(2)
    assert list_changed(started) == []
    replay = replay_of(started, 2)
    out = session.from_server(2, resp(replay["id"], init_result(TOOLS_ONLY)))
    assert list_changed(out) == ["notifications/tools/list_changed"]
    assert session.from_server(2, resp(replay["id"], init_result(TOOLS_ONLY))) == Out()


def test_prompts_and_resources_list_changed_only_when_the_server_declares_them() -> None:
    assert list_changed(reload(serving(), 1, 2, EVERYTHING)) == [
        "notifications/tools/list_changed",
        "notifications/prompts/list_changed",
        "notifications/resources/list_changed",
    ]
    assert list_changed(reload(serving(EVERYTHING), 1, 2, TOOLS_ONLY)) == [
        "notifications/tools/list_changed"
    ]


def test_a_second_reload_tells_the_client_again() -> None:
    session = serving()
    reload(session, 1, 2)
    assert list_changed(reload(session, 2, 3)) == ["notifications/tools/list_changed"]


def test_an_initialized_notification_during_a_reload_is_sent_once() -> None:
    session = serving(initialized=False)
    session.stopping(1)
    assert session.from_client(note("notifications/initialized")) == Out()
    session.gone(1)
    out = reload_answered(session, 2)
    assert methods(sent(out, 2)) == ["notifications/initialized"]


def test_without_the_client_initialized_notification_none_is_replayed() -> None:
    session = serving(initialized=False)
    assert methods(sent(reload(session, 1, 2), 2)) == []


def test_calls_stay_held_when_a_stopping_generation_answers_the_replay() -> None:
    session = serving()
    session.stopping(1)
    session.gone(1)
    replay = replay_of(session.started(2), 2)
    session.stopping(2)
    session.from_client(req(7, "tools/call", name="a"))
    out = session.from_server(2, resp(replay["id"], init_result(TOOLS_ONLY)))
    assert req(7, "tools/call", name="a") not in sent(out, 2)
    assert session.from_client(req(8, "tools/call", name="b")) == Out()
    assert session.state is State.DRAINING


# -- a stop with calls in flight ----------------------------------------------------------------


def test_a_call_in_flight_on_a_stopped_generation_gets_an_error() -> None:
    session = serving()
    session.from_client(req(5, "tools/call", name="slow"))
    session.stopping(1)
    out = session.gone(1)
    ((id, code, message),) = [error_of(m) for m in out.to_client]
    assert (id, code) == (5, SERVER_FAILED)
    assert "stopped before it answered" in message
    assert session.busy_with(1) == 0


def test_an_answer_from_a_gone_generation_is_dropped() -> None:
    session = serving()
    session.from_client(req(5, "tools/call", name="slow"))
    session.stopping(1)
    session.gone(1)
    assert session.from_server(1, resp(5, {"content": []})) == Out()


def test_a_stopped_generation_does_not_fail_the_session() -> None:
    session = serving()
    session.stopping(1)
    session.gone(1)
    assert session.state is State.DRAINING
    assert session.from_client(req(5, "ping")) == Out()


# -- crashes ------------------------------------------------------------------------------------


def crashed_at_start(returncode: int | None = 1) -> tuple[Session, Out]:
    session = serving()
    session.stopping(1)
    session.from_client(req(7, "tools/call", name="a"))
    session.from_client(req(8, "tools/list"))
    session.gone(1)
    session.started(2)
    return session, session.gone(2, returncode=returncode, asked=False)


def test_a_crash_at_start_answers_every_held_call_with_an_error() -> None:
    session, out = crashed_at_start()
    errors = [error_of(m) for m in out.to_client]
    assert [(id, code) for id, code, _ in errors] == [(7, SERVER_FAILED), (8, SERVER_FAILED)]
    for _, _, message in errors:
        assert "failed to start" in message and "exit code 1" in message and "stderr" in message
    assert session.state is State.FAILED


def test_a_start_that_timed_out_says_not_ready_in_time() -> None:
    _, out = crashed_at_start(returncode=None)
    assert all("not ready in time" in error_of(m)[2] for m in out.to_client)


def test_after_a_crash_at_start_new_calls_are_answered_at_once_with_an_error() -> None:
    session, _ = crashed_at_start()
    out = session.from_client(req(9, "tools/call", name="a"))
    ((id, code, message),) = [error_of(m) for m in out.to_client]
    assert (id, code) == (9, SERVER_FAILED)
    assert "failed to start" in message
    assert out.to_server == []
    assert session.from_client(note("notifications/progress")) == Out()


def test_a_new_generation_after_a_crash_at_start_serves_the_same_session() -> None:
    session, _ = crashed_at_start()
    out = session.started(3)
    assert replay_of(out, 3)["params"] == CLIENT_PARAMS
    session.from_client(req(9, "tools/list"))
    answered = session.from_server(3, resp(replay_of(out, 3)["id"], init_result(TOOLS_ONLY)))
    assert answered.ready == [3]
    assert sent(answered, 3)[-1] == req(9, "tools/list")
    assert list_changed(answered) == ["notifications/tools/list_changed"]
    assert session.from_client(req(10, "ping")).to_server == [(3, req(10, "ping"))]


def test_a_crash_of_a_ready_generation_fails_its_call_saying_it_restarts() -> None:
    session = serving()
    session.from_client(req(5, "tools/call", name="a"))
    out = session.gone(1, returncode=-9, asked=False)
    ((id, code, message),) = [error_of(m) for m in out.to_client]
    assert (id, code) == (5, SERVER_FAILED)
    assert "exited (exit code -9)" in message and "restarts" in message
    assert "stderr" in message


def test_a_refused_replay_fails_the_session() -> None:
    session = serving()
    session.stopping(1)
    session.gone(1)
    replay = replay_of(session.started(2), 2)
    session.from_client(req(7, "ping"))
    refused = {"jsonrpc": "2.0", "id": replay["id"], "error": {"code": -1, "message": "no"}}
    out = session.from_server(2, refused)
    ((id, code, message),) = [error_of(m) for m in out.to_client]
    assert (id, code) == (7, SERVER_FAILED)
    assert "refused initialize" in message
    assert session.state is State.FAILED


# -- requests from the server -------------------------------------------------------------------


def test_server_requests_of_two_generations_with_the_same_id_get_distinct_ids() -> None:
    session = serving()
    (from_g1,) = session.from_server(1, req(0, "roots/list")).to_client
    (from_g2,) = session.from_server(2, req(0, "sampling/createMessage")).to_client
    assert from_g1["method"] == "roots/list" and from_g2["method"] == "sampling/createMessage"
    assert len({from_g1["id"], from_g2["id"], 0}) == 3


def test_the_client_answer_goes_back_to_the_right_generation_with_the_server_id() -> None:
    session = serving()
    (from_g1,) = session.from_server(1, req(0, "roots/list")).to_client
    (from_g2,) = session.from_server(2, req(0, "sampling/createMessage")).to_client
    assert session.from_client(resp(from_g2["id"], {"m": 2})).to_server == [(2, resp(0, {"m": 2}))]
    assert session.from_client(resp(from_g1["id"], {"roots": []})).to_server == [
        (1, resp(0, {"roots": []}))
    ]


def test_an_answer_to_a_gone_generation_is_dropped() -> None:
    session = serving()
    (from_g1,) = session.from_server(1, req("r", "roots/list")).to_client
    session.stopping(1)
    session.gone(1)
    assert session.from_client(resp(from_g1["id"], {"roots": []})) == Out()


def test_a_client_answer_is_routed_even_while_calls_are_held() -> None:
    session = serving()
    (ask,) = session.from_server(1, req(3, "roots/list")).to_client
    session.stopping(1)
    assert session.from_client(resp(ask["id"], {"roots": []})).to_server == [
        (1, resp(3, {"roots": []}))
    ]


# -- cancellation ---------------------------------------------------------------------------


def cancel(request_id: object) -> Message:
    return note("notifications/cancelled", requestId=request_id, reason="user")


def test_cancelling_a_held_request_removes_it() -> None:
    session = serving()
    session.stopping(1)
    session.from_client(req(7, "tools/call", name="a"))
    session.from_client(req(8, "tools/call", name="b"))
    assert session.from_client(cancel(7)) == Out()
    session.gone(1)
    out = reload_answered(session, 2)
    assert req(8, "tools/call", name="b") in sent(out, 2)
    assert all(m.get("id") != 7 for _, m in out.to_server)
    assert methods(sent(out, 2)).count("notifications/cancelled") == 0


def test_cancelling_an_in_flight_request_is_forwarded_to_its_generation() -> None:
    session = serving()
    session.from_client(req(5, "tools/call", name="slow"))
    session.stopping(1)
    assert session.from_client(cancel(5)).to_server == [(1, cancel(5))]


def test_cancelling_an_unknown_request_sends_nothing() -> None:
    assert serving().from_client(cancel(99)) == Out()


def test_a_cancelled_in_flight_request_no_longer_keeps_the_generation_busy() -> None:
    session = serving()
    session.from_client(req(5, "tools/call", name="slow"))
    session.from_client(cancel(5))
    session.stopping(1)
    assert session.busy_with(1) == 0


# -- notifications from the server ----------------------------------------------------------


def test_server_notifications_pass_through_to_the_client() -> None:
    session = serving()
    progress = note("notifications/progress", progressToken="t", progress=1)
    logged = note("notifications/message", level="info", data="hi")
    assert session.from_server(1, progress).to_client == [progress]
    assert session.from_server(1, logged).to_client == [logged]


def test_server_notifications_pass_through_while_the_generation_drains() -> None:
    session = serving()
    session.from_client(req(5, "tools/call", name="slow", _meta={"progressToken": "t"}))
    session.stopping(1)
    progress = note("notifications/progress", progressToken="t", progress=1)
    assert session.from_server(1, progress).to_client == [progress]


# -- ids ------------------------------------------------------------------------------------------


def test_the_number_1_and_the_string_1_are_different_requests() -> None:
    session = serving()
    session.from_client(req(1, "tools/call", name="a"))
    session.from_client(req("1", "tools/call", name="b"))
    assert session.from_server(1, resp("1", "b")).to_client == [resp("1", "b")]
    assert session.busy_with(1) == 1
    assert session.from_server(1, resp("1", "b")) == Out()
    assert session.from_server(1, resp(1, "a")).to_client == [resp(1, "a")]
    assert session.busy_with(1) == 0


def test_errors_for_calls_in_flight_keep_the_type_of_their_ids() -> None:
    session = serving()
    session.from_client(req(1, "tools/call", name="a"))
    session.from_client(req("1", "tools/call", name="b"))
    session.stopping(1)
    out = session.gone(1)
    assert sorted(repr(error_of(m)[0]) for m in out.to_client) == ["'1'", "1"]


def test_an_answer_from_another_generation_is_not_taken_for_the_call() -> None:
    session = serving()
    session.from_client(req(5, "tools/call", name="a"))
    assert session.from_server(2, resp(5, {})) == Out()
    assert session.busy_with(1) == 1


# -- batches ----------------------------------------------------------------------------------


def test_split_batch_takes_a_message_or_a_batch_of_messages() -> None:
    assert split_batch({"id": 1}) == [{"id": 1}]
    assert split_batch([{"id": 1}, {"id": 2}]) == [{"id": 1}, {"id": 2}]


@pytest.mark.parametrize("parsed", [[], [1], [{"id": 1}, 2], "x", 3, None])
def test_split_batch_refuses_what_is_not_messages(parsed: object) -> None:
    assert split_batch(parsed) is None
