"""Did a file really change? Content digests of the files agents depend on.

An auto-save of an unchanged buffer, or a format-on-save with nothing to format, rewrites a file
with the very bytes the agents loaded: an event, but no change. Pure apart from reading files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path


def digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def digest_of(path: Path) -> bytes | None:
    try:
        return digest(path.read_bytes())
    except OSError:
        return None  # gone or unreadable: a real change


class Fingerprints:
    def __init__(self) -> None:
        self._known: dict[Path, bytes | None] = {}

    def remember(self, paths: Iterable[Path]) -> None:
        """Note the content of files an agent now depends on (unless already known)."""
        for path in paths:
            if path not in self._known:
                self._known[path] = digest_of(path)

    def stale(self) -> list[Path]:
        """Remembered files whose content is no longer what was remembered (not updated here)."""
        return [path for path, known in list(self._known.items()) if digest_of(path) != known]

    def split(self, paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
        """(changed, identical): identical files have the content last remembered for them.

        Files never remembered count as changed. Each changed file's new content is remembered.
        """
        changed: list[Path] = []
        identical: list[Path] = []
        for path in paths:
            if path not in self._known:
                changed.append(path)
                continue
            now = digest_of(path)
            if now is not None and now == self._known[path]:
                identical.append(path)
            else:
                self._known[path] = now
                changed.append(path)
        return changed, identical
