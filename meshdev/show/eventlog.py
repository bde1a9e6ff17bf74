"""`--events FILE`: every event appended as one JSON object per line, flushed as it happens.

The file is created 0600: it holds file names and the agents' output, like everything else meshdev
writes. A write that fails (a full disk) is said once on stderr and never stops meshdev; the next
write that succeeds starts on a new line, so a line cut short cannot swallow the next one.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from meshdev.events import Event
from meshdev.problems import UsageError


def _to_stderr(message: str) -> None:
    print(f"meshdev: {message}", file=sys.stderr, flush=True)


class EventLog:
    def __init__(self, path: Path, warn: Callable[[str], None] = _to_stderr) -> None:
        self.path = path
        self._warn = warn
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd: int | None = os.open(path, flags, 0o600)
        except OSError as exc:
            raise UsageError.single(
                str(path), f"cannot write the events log: {exc}", "--events"
            ) from None
        self._lock = threading.Lock()
        self._failing = False  # the last write failed: say it once, resynchronise on success

    def __call__(self, event: Event) -> None:
        line = json.dumps(event.as_json(), default=str, separators=(",", ":")) + "\n"
        with self._lock:
            if self._fd is None:
                return
            data = ("\n" + line if self._failing else line).encode("utf-8")
            try:
                while data:
                    data = data[os.write(self._fd, data) :]
            except OSError as exc:
                if not self._failing:
                    self._warn(
                        f"cannot write the events log {self.path} ({exc}); events are not "
                        "logged until it can be written again"
                    )
                self._failing = True
                return
            self._failing = False

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
