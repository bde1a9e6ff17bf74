"""The MCP front's pipe writer: straight from the caller while the pipe takes it, never blocking
the caller when it is full, and always in order."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest
from helpers import wait_until

from meshdev.front.pipes import Writer


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read_end, write_end = os.pipe()
    yield read_end, write_end
    for fd in (read_end, write_end):
        os.close(fd)


def read_exactly(fd: int, size: int) -> bytes:
    got = bytearray()
    while len(got) < size:
        chunk = os.read(fd, size - len(got))
        assert chunk, "the pipe closed early"
        got += chunk
    return bytes(got)


def test_into_a_pipe_that_takes_it_the_write_happens_on_the_callers_thread(
    pipe: tuple[int, int],
) -> None:
    read_end, write_end = pipe
    writer = Writer(lambda data: None, write_end)
    writer.put(b"hello\n")
    os.set_blocking(read_end, False)  # no waiting for a thread: it is there when put returned
    assert writer.direct and os.read(read_end, 100) == b"hello\n"
    writer.close(wait_seconds=1)


def test_a_full_pipe_never_blocks_the_caller_and_everything_arrives_in_order(
    pipe: tuple[int, int],
) -> None:
    read_end, write_end = pipe
    writer = Writer(lambda data: None, write_end)
    parts = [bytes([65 + i % 26]) * 50_000 for i in range(8)]  # 400 kB: far past a pipe's 64 kB
    done = threading.Event()
    threading.Thread(target=lambda: ([writer.put(p) for p in parts], done.set())).start()
    wait_until(done.is_set, "every put returned while nobody read the pipe")
    assert read_exactly(read_end, sum(map(len, parts))) == b"".join(parts)
    writer.put(b"after\n")
    assert read_exactly(read_end, 6) == b"after\n"
    writer.close(wait_seconds=1)


def test_without_a_pipe_it_writes_from_its_own_thread() -> None:
    written: list[tuple[bytes, str]] = []
    writer = Writer(lambda data: written.append((data, threading.current_thread().name)))
    writer.put(b"one")
    writer.put(b"two")
    writer.close(wait_seconds=1)
    assert not writer.direct
    assert written == [(b"one", "meshdev-mcp-writer"), (b"two", "meshdev-mcp-writer")]


def test_a_pipe_whose_reader_went_away_swallows_what_is_put() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        writer = Writer(lambda data: None, write_end)
        writer.put(b"nobody reads this\n")  # EPIPE, not an exception in the caller
        writer.close(wait_seconds=1)
    finally:
        os.close(write_end)


def test_a_writer_that_owns_its_descriptor_closes_it_once_everything_is_written(
    pipe: tuple[int, int],
) -> None:
    read_end, write_end = pipe
    owned = os.dup(write_end)
    writer = Writer(lambda data: None, owned, owns=True)
    writer.put(b"last words\n")
    writer.close(wait_seconds=1)
    writer.put(b"too late\n")  # after close: dropped, never written into a reused number
    with pytest.raises(OSError):
        os.fstat(owned)
    os.set_blocking(read_end, False)
    assert os.read(read_end, 100) == b"last words\n"
