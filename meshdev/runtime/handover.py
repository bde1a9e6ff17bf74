"""A process started while its predecessor still stops (an MCP server behind meshdev's front):
it runs its imports and module-level set-up at once, and waits for the handover only at the
moment it would see what the predecessor leaves behind.

meshdev writes one byte on the report socket once the previous process has exited (its final
state save is on disk by then: the save runs before the exit) and meshdev has read its last
reports. Until then:

- the first use of `meshdev.state` or `preserve()` waits (runtime/state.py), and only then is the
  state file read, so the new process restores exactly what the old one saved last;
- opening a file of the project that is not Python source waits too (the seed's own
  `atexit` pickle, a JSON file of counters: the old process may still be writing it);
- nothing is saved: a save before the restore would replace the predecessor's state.

End of file instead of the byte means meshdev is gone: nothing is restored, nothing saved, and
the keeper (or the lifeline) is already ending this process. A SIGTERM while waiting is the
usual normal exit.
"""

from __future__ import annotations

import os
import sys

from meshdev.runtime import protocol, threads

TYPE_CHECKING = False  # not `from typing import`: typing costs every agent start 4 ms
if TYPE_CHECKING:
    from typing import Any

_SOURCE = (".py", ".pyc", ".pyo", ".pyi", ".so")


class Handover:
    def __init__(self, fd: int, root: str) -> None:
        self._fd = fd
        self._prefix = os.path.join(root, "") if root else None
        # Not the project's to leave behind: meshdev's own files, and an interpreter's
        # (a `.venv` inside the project, whose libraries open their data files at import).
        inside = {".meshdev", sys.prefix, sys.exec_prefix, sys.base_prefix}
        self._skipped = tuple(os.path.join(root, p, "") for p in sorted(inside) if root)
        self._lock = threads.Lock()
        self.outcome: bool | None = None  # True: handed over; False: meshdev went first

    def wait(self) -> bool:
        """Until meshdev says the predecessor is gone (True) or is gone itself (False)."""
        if self.outcome is not None:
            return self.outcome
        with self._lock:  # every thread that needs it waits; one reads
            if self.outcome is None:
                self.outcome = _read_handover(self._fd)
        return self.outcome

    def guard_opens(self) -> None:
        sys.addaudithook(self._audit)

    # Runs for every audited action of the agent: after the handover, one comparison.
    def _audit(self, event: str, args: tuple[Any, ...]) -> None:
        if self.outcome is not None or event != "open" or self._prefix is None:
            return
        path = args[0] if args else None
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, str) or path.endswith(_SOURCE):
            return
        full = os.path.abspath(path)
        if full.startswith(self._prefix) and not full.startswith(self._skipped):
            self.wait()


def _read_handover(fd: int) -> bool:
    try:
        return os.read(fd, 1) == protocol.HANDED_OVER
    except OSError:
        return False
