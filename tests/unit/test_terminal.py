"""The line typed under the live status view: its editing, the terminal's modes, the reading."""

from __future__ import annotations

import io
import os
import pty
import queue
import subprocess
import sys
import termios
from collections.abc import Iterator
from typing import Any

import pytest

from meshdev.show.console import _hint
from meshdev.show.terminal import TypedLine, typing_keys, typing_on
from meshdev.sources.typed import read_terminal


@pytest.fixture
def terminal() -> Iterator[tuple[int, int]]:
    master, slave = pty.openpty()
    yield master, slave
    os.close(master)
    os.close(slave)


def test_keys_edit_the_line_and_enter_hands_it_over() -> None:
    typed = TypedLine()
    redrawn: list[str] = []
    typed.changed = lambda: redrawn.append(typed.text)
    assert typed.feed("r weax\x7f") == [] and typed.text == "r wea"
    assert redrawn == ["r wea"]  # one redraw per batch of keys
    assert typed.feed("\x17") == [] and typed.text == "r "  # Ctrl-W: the last word
    assert typed.feed("\x15") == [] and typed.text == ""  # Ctrl-U: the whole line
    assert typed.feed("\x7f") == [] and typed.text == ""  # nothing to take back
    assert typed.feed("r a\nr b\r\n") == ["r a", "r b", ""]  # CRLF: an empty line, ignored
    assert typed.text == ""


def test_escape_sequences_and_control_keys_are_no_text() -> None:
    typed = TypedLine()
    typed.feed("r\x1b[A\x1b[1;5C\x1bOP\x1bx\x04\t\x00 é")  # arrows, F1, Alt+x, Ctrl-D, Tab
    assert typed.text == "r é"
    typed.feed("x" * 5000)
    assert len(typed.text) == 1000  # a paste is not a command


def test_under_the_view_keys_come_one_by_one_unechoed_and_the_modes_come_back(
    terminal: tuple[int, int],
) -> None:
    _master, slave = terminal
    before = termios.tcgetattr(slave)
    with os.fdopen(slave, "r", closefd=False) as stream:
        typed = TypedLine()
        with pytest.raises(RuntimeError), typing_keys(stream, typed):
            lflag = termios.tcgetattr(slave)[3]
            assert not lflag & (termios.ECHO | termios.ICANON)
            assert lflag & termios.ISIG  # Ctrl-C still stops meshdev
            assert typing_on(stream) is typed
            raise RuntimeError("a crash inside the view")
        assert termios.tcgetattr(slave) == before
        assert typing_on(stream) is None


# In a new session whose controlling terminal is the pseudo-terminal (stdin), as under a shell.
FOREGROUND = """
import fcntl, sys, termios
from meshdev.show.terminal import TypedLine, typing_keys
fcntl.ioctl(0, termios.TIOCSCTTY, 0)
with typing_keys(sys.stdin, TypedLine()) as check:
    mode = termios.tcgetattr(0)
    mode[3] |= termios.ICANON | termios.ECHO
    termios.tcsetattr(0, termios.TCSANOW, mode)  # as a shell leaves it for `fg` after Ctrl-Z
    check()
    print(termios.tcgetattr(0)[3] & (termios.ICANON | termios.ECHO))
"""


def test_the_keys_mode_is_put_back_after_a_shell_changed_it(terminal: tuple[int, int]) -> None:
    _master, slave = terminal
    result = subprocess.run(
        [sys.executable, "-c", FOREGROUND],
        stdin=slave,
        capture_output=True,
        text=True,
        timeout=30,
        start_new_session=True,
    )
    assert result.stdout.strip() == "0", result
    with os.fdopen(slave, "r", closefd=False) as stream, typing_keys(stream, TypedLine()) as check:
        termios.tcsetattr(slave, termios.TCSANOW, _canonical(slave))
        check()  # not this process's terminal (not in the foreground): never set from here
        assert termios.tcgetattr(slave)[3] & termios.ICANON


def _canonical(fd: int) -> list[Any]:
    mode = termios.tcgetattr(fd)
    mode[3] |= termios.ICANON | termios.ECHO
    return mode


def test_no_terminal_no_change_and_lines_are_read_whole() -> None:
    read, write = os.pipe()
    with os.fdopen(read, "r") as pipe, os.fdopen(write, "w") as writer, open(os.devnull) as null:
        for stream in (io.StringIO(), pipe, null):  # `meshdev start < /dev/null` in a terminal
            with typing_keys(stream, TypedLine()) as check:  # type: ignore[arg-type]
                check()
                assert typing_on(stream) is None
        got: queue.Queue[str] = queue.Queue()
        read_terminal(pipe, lambda line, _reply: got.put(line), lambda _text: None)
        writer.write("r a\n\nr b\n")
        writer.flush()
        assert [got.get(timeout=5), got.get(timeout=5)] == ["r a\n", "r b\n"]


def test_read_terminal_under_the_view_gives_each_line_once_enter_is_pressed(
    terminal: tuple[int, int],
) -> None:
    master, slave = terminal
    got: queue.Queue[str] = queue.Queue()
    with os.fdopen(slave, "r", closefd=False) as stream:
        typed = TypedLine()
        with typing_keys(stream, typed):
            read_terminal(stream, lambda line, _reply: got.put(line), lambda _text: None)
            os.write(master, "r wé".encode()[:-1])  # half a character: nothing yet
            os.write(master, "é".encode()[-1:] + b"x\x7f\r\r")
            assert got.get(timeout=5) == "r wé" and typed.text == ""
            os.write(master, b"r\r")
            assert got.get(timeout=5) == "r" and got.empty()  # the empty line was not sent


def test_the_hint_line_shows_what_is_typed_never_as_markup() -> None:
    assert _hint("").plain.startswith("type r + Enter")
    assert _hint("r [bold]x").plain.startswith("> r [bold]x_")
