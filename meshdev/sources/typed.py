"""Commands typed on meshdev's own stdin (`r`, `r NAME`, `rs`): whole lines from a pipe, or keys
one at a time under the live status view, edited into the line the view draws (show.terminal).
"""

from __future__ import annotations

import codecs
import os
import threading
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

from meshdev.show.terminal import TypedLine, typing_on

if TYPE_CHECKING:
    from meshdev.sources.commands import CommandSink
    from meshdev.sources.messages import Reply


def read_terminal(stream: IO[str], sink: CommandSink, say: Reply) -> None:
    """Commands typed on meshdev's own stdin, on a thread; returns at end of input. Under the
    live status view, keys one at a time, edited into the line the view draws (show.terminal),
    Enter giving the command; else whole lines, as the stream (a pipe, plain mode) gives them."""
    typed = typing_on(stream)

    def loop() -> None:
        for line in stream if typed is None else _keyed_lines(stream, typed):
            if line.strip():
                sink(line, say)

    threading.Thread(target=loop, name="meshdev-stdin", daemon=True).start()


def _keyed_lines(stream: IO[str], typed: TypedLine) -> Iterator[str]:
    fd = stream.fileno()
    encoding = getattr(stream, "encoding", None) or "utf-8"
    decoder = codecs.getincrementaldecoder(encoding)("replace")
    while True:
        try:
            keys = os.read(fd, 4096)  # what is there, as soon as one key is
        except OSError:  # the terminal hung up
            return
        if not keys:
            return
        yield from typed.feed(decoder.decode(keys))
