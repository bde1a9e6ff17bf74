"""Typing a command under the live status view, on a real pseudo-terminal that is meshdev's
controlling terminal (as in a shell): the keys are drawn in the hint line, Enter runs the line,
Ctrl-C stops meshdev, and the terminal's modes are what they were before."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import termios
from collections.abc import Callable
from pathlib import Path

from helpers import agent_source, kill_group, wait_until, write

# Makes the pseudo-terminal (stdin) the controlling terminal of the new session, then is meshdev.
TAKE_TERMINAL = (
    "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.executable, [sys.executable, '-m', 'meshdev', *sys.argv[1:]])"
)
CSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """The user's side of a pseudo-terminal: keys in, the screen's bytes out."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        self.screen = bytearray()

    def text(self) -> str:
        """Everything drawn so far, without the escape codes."""
        while select.select([self.master], [], [], 0.02)[0]:
            try:
                self.screen.extend(os.read(self.master, 65536))
            except OSError:  # no one has the other end open any more
                break
        return CSI.sub("", self.screen.decode("utf-8", "replace"))

    def press(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def until(self, condition: Callable[[], object], what: str) -> None:
        """Poll `condition`, reading the screen meanwhile (a full terminal would block meshdev)."""
        wait_until(lambda: [self.text(), condition()][1], what, context=self.end)

    def drawn(self, what: str) -> None:
        self.until(lambda: what in self.text(), repr(what))

    def end(self) -> str:
        return self.text()[-3000:]

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


def events(path: Path, kind: str) -> list[dict[str, object]]:
    lines = path.read_text("utf-8").splitlines() if path.exists() else []
    return [e for e in map(json.loads, lines) if e["event"] == kind]


def test_typed_keys_are_drawn_enter_runs_them_and_the_terminal_comes_back(tmp_path: Path) -> None:
    write(tmp_path / ".meshwatch", "log_only: ['*.md']\nreload_delay: 20\nstop_grace: 500\n")
    write(tmp_path / "agents/tiny.py", agent_source())
    log = tmp_path / "events.jsonl"
    term = Terminal()
    before = termios.tcgetattr(term.slave)
    env = {**os.environ, "COLUMNS": "120", "LINES": "40", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", TAKE_TERMINAL, "start", "agents", "--events", str(log)],
        cwd=tmp_path,
        stdin=term.slave,
        stdout=term.slave,
        stderr=term.slave,
        env=env,
        start_new_session=True,
    )
    try:
        term.until(lambda: events(log, "agent_ready"), "tiny ready")
        lflag = termios.tcgetattr(term.slave)[3]
        assert not lflag & (termios.ECHO | termios.ICANON) and lflag & termios.ISIG
        first = events(log, "agent_started")[0]["pid"]
        term.press("r tin")
        term.drawn("> r tin_")
        assert term.text().count("r tin") == term.text().count("> r tin")  # never echoed
        term.press("\x17zz\x7f")  # Ctrl-W takes the word back, Backspace one key
        term.drawn("> r z_")
        term.press("\x15r\x1b[A")  # Ctrl-U clears the line; an arrow key is no text
        term.drawn("> r_")
        term.press("\r")
        # the reload is told once its starts are begun, so wait for the event, not the start
        term.until(lambda: events(log, "reload") and events(log, "agent_started")[1:], "the reload")
        assert events(log, "reload")[0]["reason"] == "manual reload"
        assert events(log, "agent_started")[1]["pid"] != first
        term.drawn("reloaded tiny")
        assert "r_" not in term.text().rpartition("reloaded tiny")[2]  # the prompt was emptied
        term.press("\x03")  # Ctrl-C: the terminal still turns it into SIGINT
        assert proc.wait(timeout=15) == 130, term.end()
        assert termios.tcgetattr(term.slave) == before
    finally:
        kill_group(proc.pid)
        for started in events(log, "agent_started"):
            kill_group(int(str(started["pid"])))
        term.close()
