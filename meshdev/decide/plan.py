"""Which agents restart, start and stop for a batch of classified changes. Pure."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from meshdev.decide.changes import Change
from meshdev.project.patterns import Verdict


@dataclass(frozen=True)
class Plan:
    restart: Mapping[str, tuple[Path, ...]] = field(default_factory=dict)  # agent -> its causes
    start: tuple[str, ...] = ()
    stop: tuple[str, ...] = ()
    log_only: tuple[Path, ...] = ()
    unused: tuple[Path, ...] = ()  # watched, but no agent depends on them


def make_plan(
    changes: Iterable[Change],
    running: Collection[str],
    discovered: Collection[str],
    redefined: Collection[str] = (),
) -> Plan:
    """`running`: agents known before the batch; `discovered`: those that exist after it;
    `redefined`: those whose command or settings changed (they restart without a file)."""
    restart: dict[str, list[Path]] = {name: [] for name in redefined}
    log_only: list[Path] = []
    unused: list[Path] = []
    for change in changes:
        if change.ignored or change.verdict is Verdict.CONFIG:
            continue
        if change.verdict is Verdict.LOG_ONLY:
            log_only.append(change.path)
            continue
        for agent in change.agents:
            restart.setdefault(agent, []).append(change.path)
        if not change.agents and change.verdict is Verdict.RELOAD:
            unused.append(change.path)
    known, exist = set(running), set(discovered)
    return Plan(
        restart={a: tuple(p) for a, p in sorted(restart.items()) if a in known and a in exist},
        start=tuple(sorted(exist - known)),
        stop=tuple(sorted(known - exist)),
        log_only=tuple(log_only),
        unused=tuple(unused),
    )
