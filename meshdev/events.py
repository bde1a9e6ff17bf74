"""What happened, as plain data: the supervisor emits events, the console and the --events log
render them. Pure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    kind: str
    fields: dict[str, Any] = field(default_factory=dict)
    ts: float = field(default_factory=time.time)

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)

    def adding(self, **fields: Any) -> Event:
        """The same event (same time) with more fields."""
        return Event(self.kind, {**self.fields, **fields}, self.ts)

    def as_json(self) -> dict[str, Any]:
        return {"ts": round(self.ts, 6), "event": self.kind, **self.fields}


EventSink = Callable[[Event], None]
