"""Signals to meshdev: SIGINT, SIGTERM and SIGHUP only enqueue; the loop decides what to do."""

from __future__ import annotations

import signal
from collections.abc import Callable


def install_signal_handlers(sink: Callable[[int], None]) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, _frame: sink(signum))


def signal_name(code: int) -> str | None:
    """SIGINT for exit code 130, and so on; None for an exit code not caused by a signal."""
    try:
        return signal.Signals(code - 128).name if code > 128 else None
    except ValueError:
        return None
