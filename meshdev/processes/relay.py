"""An agent's output, relayed in chunks: read as the pipe has it (not line by line), split into
lines, and handed on as a batch per read, so a chatty agent costs meshdev one call per 64 KiB,
not one per line. A line longer than MAX_LINE_BYTES is handed on in pieces of that size, each
saying so: meshdev's memory never grows with an agent's line."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence

from meshdev.interfaces import LinesSink

MAX_LINE_BYTES = 64 * 1024
READ_BYTES = 64 * 1024
CUT = " [meshdev: a line over 64 KiB, split here]"


def relay(agent: str, stream: str, fd: int, sink: LinesSink) -> None:
    """Until the pipe's end: every line, in order, in batches."""
    for lines in lines_of(fd):
        sink(agent, stream, lines)


def lines_of(fd: int) -> Iterator[Sequence[str]]:
    pending = b""
    while chunk := _read(fd):
        head, newline, pending = (pending + chunk).rpartition(b"\n")  # no newline: all waits
        lines = _split(head) if newline else []
        while len(pending) >= MAX_LINE_BYTES:
            lines.append(_decode(pending[:MAX_LINE_BYTES]) + CUT)
            pending = pending[MAX_LINE_BYTES:]
        if lines:
            yield lines
    if pending:
        yield [_decode(pending).rstrip("\r")]


def _read(fd: int) -> bytes:
    with contextlib.suppress(OSError):
        return os.read(fd, READ_BYTES)
    return b""


def _split(data: bytes) -> list[str]:
    lines = _decode(data).split("\n")
    if any(line.endswith("\r") for line in lines):
        lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    if len(data) > MAX_LINE_BYTES and max(map(len, lines)) > MAX_LINE_BYTES:
        lines = [piece for line in lines for piece in _pieces(line)]
    return lines


def _pieces(line: str) -> list[str]:
    """A line that ended in the same read as its long start: the same bound."""
    cut = range(0, len(line) - MAX_LINE_BYTES, MAX_LINE_BYTES) if len(line) > MAX_LINE_BYTES else ()
    pieces = [line[i : i + MAX_LINE_BYTES] + CUT for i in cut]
    return [*pieces, line[len(pieces) * MAX_LINE_BYTES :]]


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")
