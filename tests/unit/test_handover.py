"""The runtime's side of a handover (runtime/handover.py, state.py): a process started beside its
predecessor restores the state file only at its first use, once meshdev says the predecessor is
gone, and saves nothing before."""

from __future__ import annotations

import os
import pickle
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from meshdev.runtime import protocol, statefile
from meshdev.runtime.handover import Handover
from meshdev.runtime.state import Keeper, StateNamespace

SECRET = b"k" * 32


@pytest.fixture
def channel() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    yield ours, theirs
    ours.close()
    theirs.close()


def saved_by_predecessor(path: Path, **values: Any) -> None:
    entries = {k: pickle.dumps(v) for k, v in values.items()}
    statefile.write_atomically(str(path), statefile.encode(SECRET, "web", entries, {}))


def test_the_first_use_waits_for_the_handover_and_reads_the_last_save(
    tmp_path: Path, channel: tuple[socket.socket, socket.socket]
) -> None:
    ours, theirs = channel
    path = tmp_path / "web.state"
    saved_by_predecessor(path, count=1)  # an older checkpoint
    sent: list[dict[str, Any]] = []
    namespace = StateNamespace()
    keeper = Keeper(namespace, str(path), SECRET, "web", 10**9, sent.append)
    restored: list[list[str]] = []
    keeper.restore_after(Handover(theirs.fileno(), str(tmp_path)), restored.append)
    keeper.save("stop")  # before the handover: never over the predecessor's file
    assert (
        not sent
        and pickle.loads(
            statefile.decode(statefile.read(str(path)) or b"", SECRET, "web").entries["count"]
        )
        == 1
    )
    seen: list[object] = []
    reader = threading.Thread(target=lambda: seen.append(namespace.get("count")))
    reader.start()
    reader.join(timeout=0.2)
    assert reader.is_alive() and not seen, "the first use waits"
    saved_by_predecessor(path, count=7)  # the predecessor's save at its exit
    ours.send(protocol.HANDED_OVER)
    reader.join(timeout=10)
    assert seen == [7] and restored == [["count"]]
    namespace["count"] = 8
    keeper.save("stop")
    assert [m["reason"] for m in sent] == ["stop"]


def test_meshdev_gone_before_the_handover_restores_and_saves_nothing(
    tmp_path: Path, channel: tuple[socket.socket, socket.socket]
) -> None:
    ours, theirs = channel
    path = tmp_path / "web.state"
    saved_by_predecessor(path, count=3)
    sent: list[dict[str, Any]] = []
    namespace = StateNamespace()
    keeper = Keeper(namespace, str(path), SECRET, "web", 10**9, sent.append)
    keeper.restore_after(Handover(theirs.fileno(), str(tmp_path)), lambda keys: None)
    ours.close()
    assert namespace.get("count") is None
    namespace["count"] = 0
    keeper.save("stop")
    assert [m["t"] for m in sent] == [protocol.STATE_WARNING]
    data = statefile.read(str(path))
    assert data is not None
    assert pickle.loads(statefile.decode(data, SECRET, "web").entries["count"]) == 3


def test_opening_a_project_file_waits_for_the_handover_but_source_does_not(
    tmp_path: Path, channel: tuple[socket.socket, socket.socket]
) -> None:
    ours, theirs = channel
    (tmp_path / "counts.json").write_text("{}")
    (tmp_path / "module.py").write_text("X = 1\n")
    handover = Handover(theirs.fileno(), str(tmp_path))
    handover.guard_opens()  # an audit hook stays for good: it does nothing once handed over
    try:
        with open(tmp_path / "module.py") as source:
            assert source.read() == "X = 1\n"
        opened = threading.Event()

        def read_counts() -> None:
            with open(os.path.join(tmp_path, "counts.json")):
                opened.set()

        reader = threading.Thread(target=read_counts)
        reader.start()
        assert not opened.wait(0.2), "waits while the predecessor may still write it"
    finally:
        ours.send(protocol.HANDED_OVER)
    assert opened.wait(10) and handover.outcome is True
    reader.join(timeout=10)
