"""Histories never start a process: process creation is forbidden for the whole folder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

sys.path.insert(0, str(Path(__file__).parent))

_SPAWNERS = ("fork", "forkpty", "posix_spawn", "posix_spawnp", "system", "execv", "execve")


def _forbidden(*args: Any, **kwargs: Any) -> NoReturn:
    raise AssertionError("a history tried to start a process")


@pytest.fixture(autouse=True)
def no_processes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in _SPAWNERS:
        if hasattr(os, name):
            monkeypatch.setattr(os, name, _forbidden)
    monkeypatch.setattr(subprocess.Popen, "__init__", _forbidden)
    yield
