"""Does a changed path count, and to whom? One answer, asked on arrival (so that what nobody
cares about never wakes the debouncer) and again when the batch is decided, with the rules and
pictures of that moment (a .meshwatch edit or a restart may have changed them meanwhile). Pure.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from meshdev.decide.dependencies import DependencyIndex
from meshdev.project.patterns import Verdict, WatchRules


@dataclass(frozen=True)
class Surroundings:
    """What decides whether a change counts."""

    rules: WatchRules
    index: DependencyIndex
    scanned_dirs: Collection[Path]  # folders where a file's coming or going adds or removes agents


@dataclass(frozen=True)
class Change:
    path: Path
    verdict: Verdict
    users: frozenset[str]  # agents whose picture holds the file
    watchers: frozenset[str]  # agents whose `watch` patterns match it
    output_only: bool  # written by an agent, read by none
    maybe_agent: bool  # its coming or going can add or remove an agent

    @property
    def ignored(self) -> bool:
        return self.verdict is Verdict.EXCLUDED or self.output_only

    @property
    def counts(self) -> bool:
        """Worth waking the debouncer."""
        if self.maybe_agent:
            return True
        return not self.ignored and (self.verdict is not Verdict.UNWATCHED or bool(self.users))

    @property
    def gated(self) -> bool:
        """Only files an agent uses (or a new agent's script) can hold a reload back."""
        return bool(self.users) or self.maybe_agent

    @property
    def agents(self) -> frozenset[str]:
        return self.users | self.watchers


def classify(path: Path, where: Surroundings) -> Change:
    rel = where.rules.relative(path)
    return Change(
        path=path,
        verdict=where.rules.decide(path).verdict,
        users=frozenset(where.index.agents_of(path)),
        watchers=frozenset(where.rules.watching_agents(rel)) if rel is not None else frozenset(),
        output_only=where.index.is_output_only(path),
        maybe_agent=can_be_agent(path, where.scanned_dirs),
    )


def can_be_agent(path: Path, scanned_dirs: Collection[Path]) -> bool:
    """A file whose coming or going can add or remove an agent."""
    return path.parent in scanned_dirs or (
        path.name == "__main__.py" and path.parent.parent in scanned_dirs
    )
