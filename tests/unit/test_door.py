"""Which process of an MCP server serves, and what waiting calls get: no network involved."""

from __future__ import annotations

import threading
from typing import Any

from helpers import wait_until

from meshdev.events import Event
from meshdev.front.door import Door


def door() -> tuple[Door, list[tuple[Any, ...]]]:
    ready: list[tuple[Any, ...]] = []
    events: list[Event] = []
    made = Door("web", events.append, lambda *args: ready.append(args), lambda d, c: None)
    made.started(1)
    return made, ready


def waiting(d: Door, call: object = None) -> tuple[threading.Thread, list[int | None]]:
    got: list[int | None] = []
    thread = threading.Thread(target=lambda: got.append(d.wait_serving(call)), daemon=True)
    thread.start()
    wait_until(lambda: d._waiting, "the call waiting")
    return thread, got


def finished(thread: threading.Thread) -> bool:
    thread.join(5)
    return not thread.is_alive()


def test_calls_wait_until_a_process_answered_initialize_and_its_timing_counts_them() -> None:
    d, ready = door()
    thread, got = waiting(d, ("s", "1"))
    d._now_serving(1, mcp=True)
    assert finished(thread) and got == [1]
    assert ready[0][:3] == ("web", 1, 1) and ready[0][3] >= 0


def test_a_call_cancelled_while_it_waits_reaches_no_process() -> None:
    d, _ = door()
    thread, got = waiting(d, ("s", "7"))
    assert d.cancel(("s", "7"))
    assert finished(thread) and got == [None]
    assert not d.cancel(("s", "8")), "not waiting: the process gets the cancellation"


def test_a_process_that_fails_answers_every_waiting_call_with_why() -> None:
    d, _ = door()
    thread, got = waiting(d)
    d.ended(1, 3)
    assert finished(thread) and got == [None]
    assert d.failure == "the MCP server web is not running (exit code 3)"


def test_a_new_process_makes_calls_wait_again() -> None:
    d, _ = door()
    d._now_serving(1, mcp=False)
    assert d.wait_serving() == 1
    d.started(2)
    thread, got = waiting(d)
    d._now_serving(2, mcp=False)
    assert finished(thread) and got == [2]
