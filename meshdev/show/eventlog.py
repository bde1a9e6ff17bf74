"""`--events FILE`: every event appended as one JSON object per line, flushed as it happens."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import TextIO

from meshdev.events import Event
from meshdev.problems import UsageError


class EventLog:
    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file: TextIO = path.open("a", encoding="utf-8")
        except OSError as exc:
            raise UsageError.single(
                str(path), f"cannot write the events log: {exc}", "--events"
            ) from None
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        line = json.dumps(event.as_json(), default=str, separators=(",", ":"))
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()
