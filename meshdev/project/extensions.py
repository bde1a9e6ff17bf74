"""File extensions as settings give them (`.py`, `yaml`): checked and normalised, for `.meshwatch`
and the environment alike. Pure, and free of PyYAML."""

from __future__ import annotations

import re
from collections.abc import Iterable

from meshdev.problems import shorten

_EXTENSION = re.compile(r"\.?[A-Za-z0-9_+-]+(\.[A-Za-z0-9_+-]+)*")


def extension_problem(item: str) -> str | None:
    if not item.strip():
        return "an empty extension matches nothing; write one such as .py, or remove it"
    if not _EXTENSION.fullmatch(item.strip()):
        return f"{shorten(repr(item))} is not a file extension (such as .py or .yaml)"
    return None


def normalise_extensions(items: Iterable[str]) -> tuple[str, ...]:
    """`py, .yaml` -> ('.py', '.yaml')."""
    cleaned = (item.strip() for item in items)
    return tuple(e if e.startswith(".") else f".{e}" for e in cleaned if e)
