"""The terminal meshdev's live status view is drawn on, and the command line typed on it.

While the view is shown the terminal gives keys one at a time and echoes none (cbreak): an echoed
Enter would move the cursor under rich's redraw and leave a stale table header in the scrollback,
and echoed keys would be drawn over the table. So the line being typed is kept in a `TypedLine`,
edited here, and drawn by the view in its hint line. `sources.commands.read_terminal` finds it
with `typing_on` and feeds it the keys it reads; without a view it reads whole lines.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any, TextIO

try:
    import termios
except ImportError:  # Windows: no terminal modes to set
    termios = None  # type: ignore[assignment]

_LONGEST = 1000  # a paste of a whole file is not a command: the rest is dropped
_ENTER, _ERASE, _KILL, _WORD, _ESCAPE = "\r\n", "\x7f\b", "\x15", "\x17", "\x1b"


class TypedLine:
    """The command being typed: printable keys are added, Backspace takes one back, Ctrl-W a
    word, Ctrl-U the line; Enter hands the line over and starts a new one. Escape sequences
    (arrows, function keys, Alt+key) and other control keys mean nothing here and are dropped.
    `text` is read by the view's refresh thread while the reading thread writes it: it is only
    ever replaced whole."""

    def __init__(self) -> None:
        self.text = ""
        self.changed: Callable[[], None] = lambda: None  # the view redraws at once
        self._escape = 0  # 1: after ESC; 2: inside a CSI or SS3 sequence, until its final byte

    def feed(self, keys: str) -> list[str]:
        """Apply `keys`; the lines Enter finished, in order."""
        finished = [line for line in map(self._key, keys) if line is not None]
        self.changed()
        return finished

    def _key(self, key: str) -> str | None:
        if self._escape:
            self._escape = _after_escape(self._escape, key)
            return None
        text = self.text
        if key in _ENTER:
            self.text = ""
            return text
        if key in _ERASE:
            text = text[:-1]
        elif key == _KILL:
            text = ""
        elif key == _WORD:
            text = text.rstrip()
            text = text[: text.rfind(" ") + 1]
        elif key == _ESCAPE:
            self._escape = 1
        elif key.isprintable() and len(text) < _LONGEST:
            text += key
        self.text = text
        return None


def _after_escape(state: int, key: str) -> int:
    if state == 1:
        return 2 if key in "[O" else 0  # CSI, SS3; else Alt+key, dropped with its key
    return 0 if "@" <= key <= "~" else 2  # a CSI's final byte ends it


_typing: dict[int, TypedLine] = {}  # a terminal's descriptor -> the line the view shows for it


def typing_on(stream: Any) -> TypedLine | None:
    """The line a live view shows for `stream`'s terminal, fed key by key; None when no view
    reads `stream` that way (a pipe, plain mode): then it is read line by line."""
    try:
        return _typing.get(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return None


@contextlib.contextmanager
def typing_keys(stream: TextIO, typed: TypedLine) -> Iterator[Callable[[], None]]:
    """While inside, `stream`'s terminal gives keys one at a time, unechoed, for `typed`; its
    own settings come back on the way out, whatever the way (a crash, a signal meshdev stops
    on: SIGINT, SIGTERM and SIGHUP end the loop, not the process). Ctrl-C still stops meshdev.
    Yields a check to call now and then: a shell that brought meshdev back to the foreground
    (`fg` after Ctrl-Z) gave the terminal its own settings, and the check puts the keys back.
    Nothing is changed when `stream` is no terminal."""
    fd, saved = _attributes(stream)
    if saved is None:
        yield lambda: None
        return
    keys = _cbreak(saved)

    def recheck() -> None:
        with contextlib.suppress(OSError, termios.error):
            foreground = os.tcgetpgrp(fd) == os.getpgrp()  # else SIGTTOU would stop meshdev
            if foreground and termios.tcgetattr(fd)[3] & (termios.ICANON | termios.ECHO):
                termios.tcsetattr(fd, termios.TCSANOW, keys)

    _typing[fd] = typed
    try:
        termios.tcsetattr(fd, termios.TCSANOW, keys)
        yield recheck
    finally:
        _typing.pop(fd, None)
        with contextlib.suppress(OSError, termios.error):
            termios.tcsetattr(fd, termios.TCSANOW, saved)


def _cbreak(saved: list[Any]) -> list[Any]:
    """No line discipline and no echo; signals (ISIG) and Enter as newline (ICRNL) kept."""
    keys = [*saved[:6], list(saved[6])]
    keys[3] = saved[3] & ~(termios.ECHO | termios.ICANON)
    keys[6][termios.VMIN] = 1  # a read returns as soon as one key is there
    keys[6][termios.VTIME] = 0
    return keys


def _attributes(stream: TextIO) -> tuple[int, list[Any] | None]:
    if termios is None:
        return -1, None
    try:
        fd = stream.fileno()
        return (fd, termios.tcgetattr(fd)) if os.isatty(fd) else (-1, None)
    except (OSError, ValueError, AttributeError, termios.error):  # a closed or unreal stream
        return -1, None
