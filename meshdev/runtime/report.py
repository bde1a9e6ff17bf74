"""Tell meshdev, over the private pipe, which project files this agent really depends on.

An audit hook notes project files opened for reading and that imports happened; a background
thread wakes only when there is something new, batches it briefly, and writes one JSON line.
"""

from __future__ import annotations

import os
import sys
import time

from meshdev.runtime import protocol, threads

TYPE_CHECKING = False  # not `from typing import`: typing costs every agent start 4 ms
if TYPE_CHECKING:
    from typing import Any

try:  # json's own C string encoder, without importing json (and re) at every agent start
    from _json import encode_basestring_ascii as _quote
except ImportError:  # pragma: no cover - other Python implementations
    from json import dumps as _quote

_BATCH_SECONDS = 0.25  # reports are not urgent: ready() flushes before it tells


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
        self._seen_modules: set[str] = set()
        self._pending = False  # a wake-up is on its way: imports need not ask again
        self._urgent = False  # a new output: meshdev must know it before the write's event
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
            self.send(
                {
                    protocol.KIND: protocol.FILES,
                    "loaded": loaded,
                    "opened": opened,
                    "written": written,
                }
            )

    def _write(self, data: bytes) -> None:
        if self._broken:
            return
        try:
            while data:
                data = data[os.write(self._fd, data) :]
        except OSError:
            self._broken = True  # meshdev is gone; the lifeline takes care of us

    # The hook runs for every audited action of the agent (thousands while numpy imports), so
    # it returns after a comparison or two for anything that cannot concern the project.
    def _audit(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            self._note_open(args)
        elif event == "import" and not self._pending:
            self._wake_reporter()

    def _wake_reporter(self) -> None:
        self._pending = True
        self._wake.set()

    def _note_open(self, args: tuple[Any, ...]) -> None:
        path = args[0] if args else None
        if not isinstance(path, str) or (path[:1] == "/" and not path.startswith(self._prefix)):
            return
        flags = args[2] if len(args) > 2 else None
        if not isinstance(flags, int):
            return
        full = os.path.abspath(path)
        if not full.startswith(self._prefix) or self._skip(full):
            return
        if flags & os.O_ACCMODE != os.O_RDONLY:
            # The agent's own output (a log, a database): reading it back must never restart it.
            if full not in self._written:
                self._written.add(full)
                self._opened.discard(full)
                self._urgent = True  # its first write is on its way to meshdev's watcher
                self._wake_reporter()
        elif full not in self._opened and full not in self._written:
            self._opened.add(full)
            self._wake_reporter()

    def _skip(self, full: str) -> bool:
        return full.startswith(self._private) or full.endswith((".pyc", ".pyo"))

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if not self._urgent:
                time.sleep(_BATCH_SECONDS)  # let a burst of imports settle
            self._pending = self._urgent = False
            try:
                self.flush()
            except Exception:  # reporting must never break the agent
                continue

    def _new_modules(self) -> list[str]:
        """Project files of modules loaded since the last look (each module looked at once)."""
        found = []
        for name, module in list(sys.modules.items()):
            if name in self._seen_modules:
                continue
            self._seen_modules.add(name)
            path = getattr(module, "__file__", None)
            if isinstance(path, str) and path.endswith(".py"):
                full = os.path.abspath(path)
                if full.startswith(self._prefix):
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
