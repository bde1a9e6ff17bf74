from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from meshdev.decide.breaker import Breaker, Circuit, Opened, Policy, Retry

POLICY = Policy(max_failures=3, window=10, backoff=0.5, backoff_max=4, healthy_after=10)


def test_backoff_grows_then_the_circuit_opens_at_the_third_failure_in_the_window() -> None:
    b = Breaker(POLICY)
    assert b.on_failure(now=0.0, ran_for=None) == Retry(0.5, 1)
    assert b.on_failure(now=1.0, ran_for=None) == Retry(1.0, 2)
    assert b.on_failure(now=3.0, ran_for=None) == Opened(3)
    assert b.is_open


def test_failures_outside_the_window_do_not_count_but_the_backoff_keeps_growing() -> None:
    b = Breaker(POLICY)
    times = [0.0, 8.0, 16.0, 24.0, 32.0]
    decisions = [b.on_failure(now=t, ran_for=0.5) for t in times]
    assert all(isinstance(d, Retry) for d in decisions)
    assert [d.delay for d in decisions if isinstance(d, Retry)] == [0.5, 1.0, 2.0, 4.0, 4.0]


def test_running_well_resets_the_streak() -> None:
    b = Breaker(POLICY)
    b.on_failure(now=0.0, ran_for=None)
    b.on_failure(now=1.0, ran_for=None)
    assert b.on_failure(now=30.0, ran_for=25.0) == Retry(0.5, 1)


def test_an_open_circuit_waits_for_a_change_then_one_trial() -> None:
    b = Breaker(POLICY)
    for t in (0.0, 1.0, 2.0):
        b.on_failure(now=t, ran_for=None)
    assert b.on_change() is True and b.circuit is Circuit.HALF_OPEN
    assert b.on_failure(now=3.0, ran_for=None) == Opened(4)  # the trial failed: open again
    assert b.on_change() is True
    assert b.on_ready() is True and b.circuit is Circuit.CLOSED
    assert b.on_failure(now=4.0, ran_for=None) == Retry(0.5, 1)  # a clean slate


def test_changes_and_readiness_do_nothing_to_a_closed_circuit() -> None:
    b = Breaker(POLICY)
    assert b.on_change() is False and b.on_ready() is False and b.circuit is Circuit.CLOSED


@given(st.lists(st.floats(min_value=0, max_value=5), min_size=1, max_size=50))
def test_backoff_never_exceeds_the_cap_and_never_three_failures_within_the_window_pass(
    gaps: list[float],
) -> None:
    b = Breaker(POLICY)
    now = 0.0
    recent: list[float] = []
    for gap in gaps:
        now += gap
        if b.is_open:
            return
        decision = b.on_failure(now, ran_for=None)
        recent = [t for t in recent if now - t < POLICY.window] + [now]
        if isinstance(decision, Retry):
            assert decision.delay <= POLICY.backoff_max
            assert len(recent) < POLICY.max_failures
        else:
            assert len(recent) >= POLICY.max_failures


def test_a_crash_loop_without_backoff_never_overflows() -> None:
    """1,025 failures with backoff 0 made `2 ** streak` overflow a float and kill meshdev."""
    b = Breaker(Policy(max_failures=10**9, window=0.0, backoff=0.0, backoff_max=0.0))
    delays = {b.on_failure(now=float(t), ran_for=None).delay for t in range(3000)}  # type: ignore[union-attr]
    assert delays == {0.0}
    huge = Breaker(Policy(max_failures=10**9, window=0.0, backoff=1e13, backoff_max=1e300))
    for t in range(3000):
        decision = huge.on_failure(now=float(t), ran_for=None)
    assert isinstance(decision, Retry) and decision.delay == 1e13 * 2.0**64
