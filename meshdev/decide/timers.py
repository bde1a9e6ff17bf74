"""Named deadlines for the one loop (restart after a backoff, readiness checks). Pure.

Scheduling a key again replaces its deadline, so nothing fires twice for one purpose.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable


class Timers:
    def __init__(self) -> None:
        self._due: dict[Hashable, float] = {}

    def schedule(self, key: Hashable, due: float) -> None:
        self._due[key] = due

    def cancel(self, key: Hashable) -> None:
        self._due.pop(key, None)

    def cancel_where(self, predicate: Callable[[Hashable], bool]) -> None:
        """Cancel every key for which `predicate(key)` is true."""
        for key in [k for k in self._due if predicate(k)]:
            del self._due[key]

    def next_due(self) -> float | None:
        return min(self._due.values(), default=None)

    def pop_due(self, now: float) -> list[Hashable]:
        """Keys whose time has come, earliest first; they are removed."""
        due = sorted((t, i, k) for i, (k, t) in enumerate(self._due.items()) if t <= now)
        for _, _, key in due:
            del self._due[key]
        return [key for _, _, key in due]

    def pending(self) -> list[Hashable]:
        return list(self._due)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._due
