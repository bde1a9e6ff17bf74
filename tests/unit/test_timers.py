from __future__ import annotations

from meshdev.decide.timers import Timers


def test_named_deadlines_fire_once_in_order_and_can_be_replaced_or_cancelled() -> None:
    t = Timers()
    t.schedule(("restart", "a"), 5.0)
    t.schedule(("alive", "b", 1), 2.0)
    t.schedule(("restart", "a"), 3.0)  # replaces 5.0
    t.schedule(("probe", "c", 1), 9.0)
    assert t.next_due() == 2.0
    assert t.pop_due(3.0) == [("alive", "b", 1), ("restart", "a")]
    assert t.pop_due(3.0) == []
    t.cancel_where(lambda k: isinstance(k, tuple) and k[1] == "c")
    assert t.next_due() is None and t.pending() == []
