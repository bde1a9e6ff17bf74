"""Tell meshdev, over the private pipe, which project files this agent really depends on.

An audit hook notes project files opened for reading and that imports happened; a background
thread wakes only when there is something new, batches it briefly, and writes one JSON line.
"""

from __future__ import annotations

import os
import sys
import time

from meshdev.runtime import threads

TYPE_CHECKING = False  # not `from typing import`: typing costs every agent start 4 ms
if TYPE_CHECKING:
    from typing import Any

try:  # json's own C string encoder, without importing json (and re) at every agent start
    from _json import encode_basestring_ascii as _quote
except ImportError:  # pragma: no cover - other Python implementations
    from json import dumps as _quote

_BATCH_SECONDS = 0.02


class Reporter:
    def __init__(self, fd: int, root: str) -> None:
        self._fd = fd
        self._prefix = os.path.join(root, "")
        self._private = os.path.join(root, ".meshdev", "")
        self._lock = threads.Lock()
        self._wake = threads.Wake()
        self._opened: set[str] = set()
        self._sent_opened: set[str] = set()
        self._written: set[str] = set()
        self._sent_written: set[str] = set()
        self._sent_modules: set[str] = set()
        self._broken = False

    def start(self) -> None:
        sys.addaudithook(self._audit)
        threads.start(self._run)
        self._wake.set()

    def send(self, message: dict[str, Any]) -> None:
        data = (encode(message) + "\n").encode()
        with self._lock:
            self._write(data)

    def flush(self) -> None:
        """Send whatever is new now (at ready() and at exit)."""
        loaded = self._new_modules()
        opened = sorted(self._opened - self._sent_opened)
        written = sorted(self._written - self._sent_written)
        if loaded or opened or written:
            self._sent_opened.update(opened)
            self._sent_written.update(written)
            self.send({"t": "files", "loaded": loaded, "opened": opened, "written": written})

    def _write(self, data: bytes) -> None:
        if self._broken:
            return
        try:
            while data:
                data = data[os.write(self._fd, data) :]
        except OSError:
            self._broken = True  # meshdev is gone; the lifeline takes care of us

    def _audit(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "import":
            self._wake.set()
        elif event == "open":
            self._note_open(args)

    def _note_open(self, args: tuple[Any, ...]) -> None:
        path, _mode, flags = (*args, None, None, None)[:3]
        if not isinstance(path, str) or not isinstance(flags, int):
            return
        full = os.path.abspath(path)
        if not full.startswith(self._prefix) or self._skip(full):
            return
        if flags & os.O_ACCMODE != os.O_RDONLY:
            # The agent's own output (a log, a database): reading it back must never restart it.
            if full not in self._written:
                self._written.add(full)
                self._opened.discard(full)
                self._wake.set()
        elif full not in self._opened and full not in self._written:
            self._opened.add(full)
            self._wake.set()

    def _skip(self, full: str) -> bool:
        return full.startswith(self._private) or full.endswith((".pyc", ".pyo"))

    def _run(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(_BATCH_SECONDS)  # let a burst of imports settle
            try:
                self.flush()
            except Exception:  # reporting must never break the agent
                continue

    def _new_modules(self) -> list[str]:
        found = []
        for module in list(sys.modules.values()):
            path = getattr(module, "__file__", None)
            if isinstance(path, str) and path.endswith(".py"):
                full = os.path.abspath(path)
                if full.startswith(self._prefix) and full not in self._sent_modules:
                    self._sent_modules.add(full)
                    found.append(full)
        return sorted(found)


def encode(value: Any) -> str:
    """JSON for the small messages the runtime sends (str, int, float, bool, None, lists, dicts)."""
    if isinstance(value, str):
        return str(_quote(value))
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{encode(str(k))}:{encode(v)}" for k, v in value.items()) + "}"
    return "[" + ",".join(encode(item) for item in value) + "]"
