"""The terminal meshdev's live status view is drawn on: its echo, off while the view is shown."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, TextIO

try:
    import termios
except ImportError:  # Windows: no terminal modes to set
    termios = None  # type: ignore[assignment]


@contextlib.contextmanager
def quiet_echo(stream: TextIO) -> Iterator[None]:
    """Typed characters are not echoed while inside (lines are still read whole, with Enter);
    the terminal's own settings come back on the way out. Nothing when `stream` is no terminal."""
    fd, saved = _attributes(stream)
    if saved is None:
        yield
        return
    quiet = list(saved)
    quiet[3] = quiet[3] & ~termios.ECHO
    try:
        termios.tcsetattr(fd, termios.TCSANOW, quiet)
        yield
    finally:
        with contextlib.suppress(OSError):
            termios.tcsetattr(fd, termios.TCSANOW, saved)


def _attributes(stream: TextIO) -> tuple[int, list[Any] | None]:
    if termios is None:
        return -1, None
    try:
        fd = stream.fileno()
        return fd, termios.tcgetattr(fd)
    except (OSError, ValueError, AttributeError):  # a pipe, /dev/null, a closed stream
        return -1, None
