from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from helpers import Meshdev


@pytest.fixture
def meshdev_run(tmp_path: Path) -> Iterator[Callable[..., Meshdev]]:
    """Start real meshdev processes in the test's folder; every one is killed afterwards."""
    started: list[Meshdev] = []

    def run(
        *args: str,
        env: dict[str, str] | None = None,
        wait_ready: tuple[str, ...] = (),
        root: Path | None = None,
        cwd: Path | None = None,
        stdin_pipe: bool = False,
    ) -> Meshdev:
        instance = Meshdev(root or tmp_path, list(args), env or {}, cwd)
        started.append(instance)
        return instance.start(wait_ready, stdin_pipe)

    yield run
    for instance in started:
        instance.cleanup()
