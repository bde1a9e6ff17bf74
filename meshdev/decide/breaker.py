"""Crash handling for one agent: growing backoff, and a circuit that opens after too many failures.

closed    -> a failure schedules a restart after a backoff (0.5 s, doubling, capped); N failures
             within the window open the circuit
open      -> no automatic restart; waits for a change to the agent's files or a manual reload
half-open -> that change gives one trial: ready closes the circuit, a failure opens it again

The streak (and so the backoff) starts over once the agent has run well for `healthy_after`.
Pure: the time is passed in.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

_MAX_DOUBLINGS = 64  # 0.001 s doubled 64 times is beyond any sane cap already


class Circuit(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass(frozen=True)
class Policy:
    max_failures: int = 3
    window: float = 10.0
    backoff: float = 0.5
    backoff_max: float = 10.0
    healthy_after: float = 10.0


@dataclass(frozen=True)
class Retry:
    delay: float
    failures: int  # within the window, this one included


@dataclass(frozen=True)
class Opened:
    failures: int


Decision = Retry | Opened


@dataclass
class Breaker:
    policy: Policy = field(default_factory=Policy)
    circuit: Circuit = Circuit.CLOSED
    failures: list[float] = field(default_factory=list)  # times of recent failures
    streak: int = 0  # consecutive failures, for the backoff

    def on_failure(self, now: float, ran_for: float | None) -> Decision:
        """A crash or a failed start. `ran_for`: how long it had been ready, if it ever was."""
        if ran_for is not None and ran_for >= self.policy.healthy_after:
            self.failures.clear()
            self.streak = 0
        self.failures = [t for t in self.failures if now - t < self.policy.window]
        self.failures.append(now)
        self.streak += 1
        if self.circuit is Circuit.HALF_OPEN or len(self.failures) >= self.policy.max_failures:
            self.circuit = Circuit.OPEN
            return Opened(len(self.failures))
        return Retry(self.backoff(), len(self.failures))

    def backoff(self) -> float:
        # The exponent is capped: the streak of a crash loop with no backoff never stops growing,
        # and an integer power of two past 1,023 no longer converts to a float.
        doublings = min(max(0, self.streak - 1), _MAX_DOUBLINGS)
        delay = self.policy.backoff * 2.0**doublings
        return float(min(delay, self.policy.backoff_max))

    def on_change(self) -> bool:
        """A change or a manual reload: True when it is the open circuit's one trial."""
        if self.circuit is Circuit.OPEN:
            self.circuit = Circuit.HALF_OPEN
            return True
        return False

    def on_ready(self) -> bool:
        """The process is serving: True when this closed a half-open circuit."""
        if self.circuit is Circuit.HALF_OPEN:
            self.circuit = Circuit.CLOSED
            self.failures.clear()
            self.streak = 0
            return True
        return False

    @property
    def is_open(self) -> bool:
        return self.circuit is Circuit.OPEN
