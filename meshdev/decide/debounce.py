"""Coalesce a burst of changes into one batch: fire after `quiet` seconds without a new change, or
`max_wait` seconds after the first one, so an endless stream still reloads. Pure: time is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class Coalescer:
    def __init__(self, quiet: float, max_wait: float) -> None:
        self.quiet = max(0.0, quiet)
        self.max_wait = max(self.quiet, max_wait)
        self._pending: dict[Path, None] = {}  # insertion-ordered set
        self._first: float | None = None
        self._last: float | None = None

    def add(self, paths: Iterable[Path], now: float) -> None:
        added = False
        for path in paths:
            self._pending[path] = None
            added = True
        if not added:
            return
        if self._first is None:
            self._first = now
        self._last = now

    def deadline(self) -> float | None:
        """When the pending batch is due, or None when nothing is pending."""
        if self._first is None or self._last is None:
            return None
        return min(self._last + self.quiet, self._first + self.max_wait)

    def due(self, now: float) -> bool:
        deadline = self.deadline()
        return deadline is not None and now >= deadline

    def first_seen(self) -> float | None:
        """When the first change of the pending batch arrived."""
        return self._first

    def take(self) -> list[Path]:
        """The pending paths, in the order first seen; the coalescer starts empty again."""
        batch = list(self._pending)
        self._pending.clear()
        self._first = self._last = None
        return batch

    def __len__(self) -> int:
        return len(self._pending)
