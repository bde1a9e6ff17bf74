"""The watcher itself, on real files: a re-arm never loses a change."""

from __future__ import annotations

import queue
from pathlib import Path

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
