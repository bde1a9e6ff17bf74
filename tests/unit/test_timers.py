from __future__ import annotations

from meshdev.decide.timers import (
    ProbePort,
    ReadyDeadline,
    ReadyIfAlive,
    RestartAfterBackoff,
    Resync,
    Timers,
)


def test_deadlines_fire_once_in_order_and_can_be_replaced_or_cancelled() -> None:
    t = Timers()
    t.schedule(RestartAfterBackoff("a"), 5.0)
    t.schedule(ReadyIfAlive("b", 1), 2.0)
    t.schedule(RestartAfterBackoff("a"), 3.0)  # replaces 5.0
    t.schedule(ProbePort("c", 1), 9.0)
    assert t.next_due() == 2.0
    assert t.pop_due(3.0) == [ReadyIfAlive("b", 1), RestartAfterBackoff("a")]
    assert t.pop_due(3.0) == []
    t.cancel_agent("c")
    assert t.next_due() is None


def test_cancelling_one_process_of_an_agent_keeps_its_other_timers() -> None:
    t = Timers()
    t.schedule(ReadyDeadline("a", 1), 1.0)
    t.schedule(ReadyDeadline("a", 2), 1.0)
    t.schedule(RestartAfterBackoff("a"), 1.0)
    t.schedule(Resync(), 1.0)
    t.cancel_agent("a", generation=1)
    assert ReadyDeadline("a", 1) not in t and ReadyDeadline("a", 2) in t
    assert t.any_restart() and Resync() in t
