"""The watcher itself, on real files: a re-arm never loses a change."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import pytest
from helpers import wait_until

from meshdev.interfaces import WatchOptions
from meshdev.sources.files import Watcher


def test_a_change_made_while_the_watched_set_changes_is_never_lost(tmp_path: Path) -> None:
    seen: queue.SimpleQueue[tuple[str, Path]] = queue.SimpleQueue()
    errors: list[str] = []
    watcher = Watcher(
        lambda batch: [seen.put(item) for item in batch], errors.append, WatchOptions(polling=False)
    )
    other = tmp_path / "other"
    other.mkdir()
    try:
        watcher.arm([tmp_path])
        probe = tmp_path / "probe"
        names: set[str] = set()

        def drained() -> set[str]:
            while not seen.empty():
                names.add(seen.get()[1].name)
            return names

        def probed() -> bool:
            probe.write_text("x")  # until the very first watch exists and sees it
            return "probe" in drained()

        wait_until(probed, "the first watch to take hold")
        for i in range(20):
            (tmp_path / f"f{i}.py").write_text("x")
            watcher.arm([tmp_path] if i % 2 else [tmp_path, other])  # a new watch each time
        expected = {f"f{i}.py" for i in range(20)}
        wait_until(
            lambda: expected <= drained(),
            "every file written around the re-arms",
            context=lambda: f"missing: {sorted(expected - names)}; errors: {errors}",
        )
    finally:
        watcher.close()


def _switches(thread_id: int) -> int:
    """How many times the thread went to sleep (and so was woken) so far."""
    status = Path(f"/proc/self/task/{thread_id}/status").read_text()
    return int(status.split("voluntary_ctxt_switches:")[1].split()[0])


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="Linux: /proc task status")
def test_an_idle_watch_sleeps_until_a_change_rings_and_then_sees_it(tmp_path: Path) -> None:
    seen: queue.SimpleQueue[tuple[str, Path]] = queue.SimpleQueue()
    watcher = Watcher(
        lambda batch: [seen.put(i) for i in batch], print, WatchOptions(polling=False)
    )
    try:
        watcher.arm([tmp_path])
        wait_until(lambda: watcher._bells, "the doorbell armed")
        thread_id = watcher._thread.native_id
        assert thread_id is not None
        wait_until(lambda: not watcher._waiting, "the watch handed over")
        before = _switches(thread_id)
        idle = threading.Event()
        idle.wait(1.0)  # a second of nothing: a stepping watch would wake 20 to 500 times
        assert _switches(thread_id) - before <= 2
        (tmp_path / "after_the_pause.py").write_text("x")
        wait_until(lambda: not seen.empty(), "the change after the pause")
        assert seen.get()[1].name == "after_the_pause.py"
    finally:
        watcher.close()


def test_a_change_while_a_watch_is_being_made_wakes_the_watcher(tmp_path: Path) -> None:
    """The change lands just after the watch took hold and before anything else: the watcher
    must not sleep on a doorbell that never rang for it (it would for a minute)."""
    seen: queue.SimpleQueue[tuple[str, Path]] = queue.SimpleQueue()
    watcher = Watcher(
        lambda batch: [seen.put(i) for i in batch], print, WatchOptions(polling=False)
    )
    made = watcher._create

    def create_then_write(dirs: tuple[Path, ...]) -> object:
        notify = made(dirs)
        (tmp_path / "meanwhile.py").write_text("x")
        return notify

    watcher._create = create_then_write  # type: ignore[assignment,method-assign]
    try:
        watcher.arm([tmp_path])
        wait_until(lambda: not seen.empty(), "the change made with the watch", timeout=10)
        assert seen.get()[1].name == "meanwhile.py"
    finally:
        watcher.close()
