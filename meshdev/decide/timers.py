"""Deadlines of the one loop, each keyed by what it is for. Pure.

A key is a small frozen value whose type says what to do when it is due; the loop dispatches on
that type. Scheduling a key again replaces its deadline, so nothing fires twice for one purpose.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RestartAfterBackoff:
    agent: str


@dataclass(frozen=True)
class ReadyIfAlive:
    """An agent that signals nothing is ready once it stayed alive `startup_period`."""

    agent: str
    generation: int


@dataclass(frozen=True)
class ProbePort:
    agent: str
    generation: int


@dataclass(frozen=True)
class ReadyDeadline:
    """Not ready by then: a failed start."""

    agent: str
    generation: int


@dataclass(frozen=True)
class Resync:
    """Compare contents once a new watch surely took hold (it saw nothing before)."""


@dataclass(frozen=True)
class Rearm:
    """Watch again after a watch error."""


@dataclass(frozen=True)
class RefreshDeadline:
    """No answer to the refresh signal by then: restart it instead."""

    agent: str
    generation: int


AgentTimer = RestartAfterBackoff | ReadyIfAlive | ProbePort | ReadyDeadline | RefreshDeadline
TimerKey = AgentTimer | Resync | Rearm


class Timers:
    def __init__(self) -> None:
        self._due: dict[TimerKey, float] = {}

    def schedule(self, key: TimerKey, due: float) -> None:
        self._due[key] = due

    def cancel(self, key: TimerKey) -> None:
        self._due.pop(key, None)

    def cancel_agent(self, agent: str, generation: int | None = None) -> None:
        """Every timer about `agent` (about that process of it, when `generation` is given)."""
        for key in [k for k in self._due if _about(k, agent, generation)]:
            del self._due[key]

    def next_due(self) -> float | None:
        return min(self._due.values(), default=None)

    def pop_due(self, now: float) -> list[TimerKey]:
        """Keys whose time has come, earliest first; they are removed."""
        due = sorted((t, i, k) for i, (k, t) in enumerate(self._due.items()) if t <= now)
        for _, _, key in due:
            del self._due[key]
        return [key for _, _, key in due]

    def any_restart(self) -> bool:
        return any(isinstance(k, RestartAfterBackoff) for k in self._due)

    def __contains__(self, key: object) -> bool:
        return key in self._due


def _about(key: TimerKey, agent: str, generation: int | None) -> bool:
    if isinstance(key, (Resync, Rearm)) or key.agent != agent:
        return False
    if generation is None:
        return True
    return not isinstance(key, RestartAfterBackoff) and key.generation == generation
