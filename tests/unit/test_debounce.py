from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from meshdev.decide.debounce import Coalescer

A, B = Path("/p/a.py"), Path("/p/b.py")


def test_fires_after_quiet_time() -> None:
    c = Coalescer(quiet=0.5, max_wait=5)
    c.add([A], now=10.0)
    assert not c.due(10.4)
    c.add([B], now=10.4)
    assert not c.due(10.8)
    assert c.due(10.9)
    assert c.take() == [A, B]
    assert c.deadline() is None and len(c) == 0


def test_an_endless_stream_still_fires_at_the_cap() -> None:
    c = Coalescer(quiet=0.5, max_wait=2)
    t = 0.0
    while not c.due(t):
        c.add([A], now=t)
        t += 0.1
    assert 2.0 <= t <= 2.1


def test_duplicates_are_coalesced_in_first_seen_order() -> None:
    c = Coalescer(quiet=0.1, max_wait=1)
    c.add([B, A, B], now=0)
    c.add([A], now=0.05)
    assert c.take() == [B, A]


def test_nothing_pending_means_no_deadline() -> None:
    c = Coalescer(quiet=0.1, max_wait=1)
    c.add([], now=0)
    assert c.deadline() is None and not c.due(100)


@given(st.lists(st.floats(min_value=0, max_value=0.49), min_size=1, max_size=200))
def test_a_burst_with_gaps_below_the_quiet_time_fires_once(gaps: list[float]) -> None:
    c = Coalescer(quiet=0.5, max_wait=1000)
    now, fired = 0.0, 0
    for gap in gaps:
        now += gap
        if c.due(now):
            c.take()
            fired += 1
        c.add([A], now)
    assert fired == 0
    assert c.due(now + 0.5)


@given(st.lists(st.floats(min_value=0, max_value=3), min_size=1, max_size=100))
def test_no_change_waits_longer_than_the_cap(gaps: list[float]) -> None:
    c = Coalescer(quiet=0.5, max_wait=2)
    now = 0.0
    for gap in gaps:
        c.add([A], now)
        deadline = c.deadline()
        assert deadline is not None and deadline - now <= 2
        now += gap
        if c.due(now):
            c.take()
