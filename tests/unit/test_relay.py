"""The output relay: lines in order and in batches, whatever the chunks, with a bound on a line."""

from __future__ import annotations

import os
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from meshdev.processes import relay
from meshdev.processes.relay import CUT, MAX_LINE_BYTES, lines_of


def relayed(chunks: list[bytes]) -> list[str]:
    read_end, write_end = os.pipe()

    def feed() -> None:
        for chunk in chunks:
            os.write(write_end, chunk)
        os.close(write_end)

    writer = threading.Thread(target=feed)
    writer.start()
    found = [line for batch in lines_of(read_end) for line in batch]
    writer.join()
    os.close(read_end)
    return found


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="ab\r\n é", max_size=40), max_size=12))
def test_the_lines_are_those_a_line_by_line_reader_would_give(parts: list[str]) -> None:
    data = "".join(parts).encode()
    lines = data.split(b"\n")
    expected = [line.decode().removesuffix("\r") for line in lines[:-1]]
    if lines[-1]:
        expected.append(lines[-1].decode().rstrip("\r"))
    assert relayed([p.encode() for p in parts]) == expected


def test_a_huge_line_without_a_newline_is_handed_on_in_bounded_pieces_saying_so() -> None:
    line = b"x" * (MAX_LINE_BYTES * 3 + 10)
    found = relayed([line[i : i + 10_000] for i in range(0, len(line), 10_000)] + [b"\nafter\n"])
    assert all(len(piece) <= MAX_LINE_BYTES + len(CUT) for piece in found)
    assert sum(piece.endswith(CUT) for piece in found) == 3  # wherever the reads fell
    assert "".join(piece.removesuffix(CUT) for piece in found[:-1]) == line.decode()
    assert found[-1] == "after"


def test_many_lines_in_one_chunk_arrive_as_one_batch() -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, b"".join(b"line %d\n" % i for i in range(500)))
    os.close(write_end)
    batches: list[list[str]] = []
    relay.relay("a", "out", read_end, lambda agent, stream, lines: batches.append(list(lines)))
    os.close(read_end)
    assert len(batches) == 1 and batches[0] == [f"line {i}" for i in range(500)]
