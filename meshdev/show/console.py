"""The Console: agents' output with a coloured `name |` prefix, and meshdev's own news as lines.

Every event becomes one sentence after a `meshdev |` prefix (see `_RENDERERS`); the few that
need more room are tables or panels from `show.tables`, and the debug views live in
`show.debug`. Agent output is never interpreted as markup.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, TextIO

from rich.console import Console as RichConsole
from rich.console import Group, RenderableType
from rich.live import Live
from rich.text import Text

from meshdev.events import Event
from meshdev.problems import UsageError
from meshdev.show import debug
from meshdev.show.sentences import RENDERERS
from meshdev.show.tables import (
    circuit_lines,
    circuit_panel,
    status_table,
    summary_lines,
    summary_table,
)
from meshdev.show.terminal import TypedLine, typing_keys

_PALETTE = (
    "cyan",
    "magenta",
    "green",
    "yellow",
    "blue",
    "bright_red",
    "bright_cyan",
    "bright_magenta",
    "bright_green",
    "bright_yellow",
    "bright_blue",
    "red",
)
_SELF = "meshdev"
_VERBOSE_ONLY = {"unchanged"}  # event kinds shown with --verbose only


class Console:
    def __init__(
        self,
        file: TextIO | None = None,
        width: int | None = None,
        plain: bool = False,
        verbose: bool = False,
    ) -> None:
        self.verbose = verbose
        target = file or sys.stdout
        # Plain: a pipe, NO_COLOR or --plain. No escape codes, boxes or tables at all: every
        # line is `name | text`, for logs and grep.
        self.is_plain = plain or bool(os.environ.get("NO_COLOR")) or not _is_tty(target)
        options: dict[str, Any] = {"highlight": False, "soft_wrap": True}
        if self.is_plain:
            options["color_system"] = None
        # Off a terminal nothing has a width to fit: a table is as wide as its widest cell,
        # never cut with an ellipsis at rich's default 80 columns.
        wide = width or (None if _is_tty(target) else _UNBOUNDED)
        self.rich = RichConsole(file=target, width=wide, **options)
        self.err = RichConsole(file=sys.stderr, **options)
        self._colors: dict[str, str] = {}
        self._width = len(_SELF)
        self._lock = threading.Lock()

    def status_view(self, rows: Callable[[], list[dict[str, Any]]]) -> AbstractContextManager[Any]:
        """A status table kept at the bottom of a terminal, redrawn once a second and at each
        key typed; the agents' lines scroll above it, the command being typed is drawn below it.
        Nothing in plain mode."""
        return contextlib.nullcontext() if self.is_plain else self._live(rows)

    @contextlib.contextmanager
    def _live(self, rows: Callable[[], list[dict[str, Any]]]) -> Iterator[None]:
        typed = TypedLine()
        # Keys one by one, unechoed (see show.terminal): what is typed is drawn in the hint line.
        with typing_keys(sys.stdin, typed) as recheck:

            def render() -> Group:
                recheck()
                return Group(status_table(rows()), _hint(typed.text))

            live = Live(
                get_renderable=render,
                console=self.rich,
                refresh_per_second=1,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            typed.changed = live.refresh
            with live:
                yield

    def know_agents(self, names: Iterable[str]) -> None:
        with self._lock:
            for name in sorted(names):
                if name not in self._colors:
                    self._colors[name] = _PALETTE[len(self._colors) % len(_PALETTE)]
                self._width = max(self._width, len(name))

    def _prefix(self, name: str) -> Text:
        style = self._colors.get(name, "bold" if name == _SELF else "white")
        return Text(f"{name:<{self._width}} | ", style=style)

    def agent_lines(self, agent: str, stream: str, lines: Sequence[str]) -> None:
        """A batch of an agent's lines. Plain: one write of `name | line` lines, no rendering
        (an agent printing as fast as it can must not be held to rich's pace); else each line."""
        if not self.is_plain:
            for text in lines:
                self.agent_line(agent, stream, text)
            return
        prefix = f"{agent:<{self._width}} | "
        self._write(prefix + f"\n{prefix}".join(lines) + "\n")

    def _write(self, text: str) -> None:
        """Plain output, whole lines in one write: no thread's line is ever cut by another's."""
        with self._lock, contextlib.suppress(OSError, ValueError):
            self.rich.file.write(text)
            self.rich.file.flush()

    def agent_line(self, agent: str, stream: str, text: str) -> None:
        if self.is_plain:
            self.agent_lines(agent, stream, (text,))
            return
        line = self._prefix(agent) + Text(text, style="red" if stream == "err" else "")
        self.rich.print(line)

    def say(self, message: str, style: str = "") -> None:
        if self.is_plain:
            self._write(f"{_SELF:<{self._width}} | {message}\n")
            return
        self.rich.print(self._prefix(_SELF) + Text(message, style=style))

    def event(self, event: Event) -> None:
        if event.kind in _VERBOSE_ONLY and not self.verbose:
            return
        if event.get("storm") and event.kind != "batch":
            return  # a storm is told by its one `batch` line
        if event.kind == "circuit_open":
            self._circuit(event)
            return
        if event.kind == "shutdown" and event.get("agents"):
            self._summary(event["agents"])
        render = RENDERERS.get(event.kind)
        if render is not None:
            message, style = render(event)
            if message:
                self.say(message, style)

    def _circuit(self, event: Event) -> None:
        if not self.is_plain:
            self.rich.print(circuit_panel(event), soft_wrap=False)  # wrapped, never cut
            return
        self.say(f"✗ {event['agent']}: circuit open", "bold red")
        for line, style in circuit_lines(event):
            self.say(f"  {line}", style)

    def _summary(self, rows: dict[str, dict[str, Any]]) -> None:
        if not self.is_plain:
            self.rich.print(summary_table(rows))
            return
        self.say("session summary:", "bold")
        for line in summary_lines(rows):
            self.say(f"  {line}")

    def usage_error(self, error: UsageError) -> None:
        for problem in error.problems:
            self.err.print(Text("error: ", style="bold red") + Text(str(problem)))

    def show(self, renderable: RenderableType) -> None:
        self.rich.print(renderable)

    def plain(self, text: str) -> None:
        self.rich.print(Text(text))

    # -- meshdev debug / meshdev state show: laid out by show.debug ---------------------------

    def render_watches(self, data: dict[str, Any]) -> None:
        debug.render_watches(self.rich, data)

    def render_why(self, data: dict[str, Any]) -> None:
        debug.render_why(self.rich, data)

    def render_state(self, entries: list[dict[str, Any]]) -> None:
        debug.render_state(self.rich, entries)

    def render_agents(self, data: dict[str, Any]) -> None:
        debug.render_agents(self.rich, data)


_UNBOUNDED = 10_000
# Below the table while nothing is typed.
_HINT = Text("type r + Enter to reload every agent, r NAME for one", style="dim")


def _hint(typed: str) -> Text:
    """The command being typed, as a prompt with a cursor; the hint while there is none."""
    if not typed:
        return _HINT
    return Text.assemble(
        ("> ", "bold"), typed, ("_", "blink"), ("   Enter runs it, Ctrl-U clears", "dim")
    )


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
