"""What to do about a batch of changed files: a pure function of the files, the rules and each
agent's dependency picture.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from meshdev.project.patterns import Verdict, WatchRules


class DependencyIndex:
    """file -> agents that depend on it, inverted from each agent's set of files."""

    def __init__(
        self, files_by_agent: Mapping[str, Iterable[Path]], outputs: Iterable[Path] = ()
    ) -> None:
        self._agents: dict[Path, set[str]] = {}
        for agent, files in files_by_agent.items():
            for path in files:
                self._agents.setdefault(path, set()).add(agent)
        self.outputs = frozenset(outputs)  # files agents write: not news unless another reads them

    def is_output_only(self, path: Path) -> bool:
        return path in self.outputs and path not in self._agents

    def agents_of(self, path: Path) -> set[str]:
        return self._agents.get(path, set())

    def __contains__(self, path: object) -> bool:
        return path in self._agents


@dataclass(frozen=True)
class Plan:
    restart: Mapping[str, tuple[Path, ...]] = field(default_factory=dict)  # agent -> its causes
    start: tuple[str, ...] = ()
    stop: tuple[str, ...] = ()
    log_only: tuple[Path, ...] = ()
    unused: tuple[Path, ...] = ()  # watched, but no agent depends on them
    config_changed: bool = False

    def without(self, held: Collection[str]) -> Plan:
        """The same plan, leaving the `held` agents as they are (running their last good code)."""
        return Plan(
            restart={a: c for a, c in self.restart.items() if a not in held},
            start=tuple(a for a in self.start if a not in held),
            stop=self.stop,
            log_only=self.log_only,
            unused=self.unused,
            config_changed=self.config_changed,
        )

    def is_empty(self) -> bool:
        return not (self.restart or self.start or self.stop or self.log_only or self.unused)


@dataclass(frozen=True)
class Situation:
    """What the planner needs to know besides the changed files."""

    rules: WatchRules
    index: DependencyIndex
    running: Collection[str]  # agents known before this batch
    discovered: Collection[str]  # agents that exist after it
    redefined: Collection[str] = ()  # agents whose command or settings changed


def is_relevant(path: Path, rules: WatchRules, index: DependencyIndex) -> bool:
    """Worth waking the debouncer: not excluded, and a pattern or an agent cares about it."""
    verdict = rules.decide(path).verdict
    if verdict is Verdict.EXCLUDED or index.is_output_only(path):
        return False
    return verdict is not Verdict.UNWATCHED or path in index


def make_plan(changed: Iterable[Path], situation: Situation) -> Plan:
    restart: dict[str, list[Path]] = {}
    log_only: list[Path] = []
    unused: list[Path] = []
    config_changed = False
    for path in changed:
        verdict = situation.rules.decide(path).verdict
        if verdict is Verdict.EXCLUDED or situation.index.is_output_only(path):
            continue
        if verdict is Verdict.CONFIG:
            config_changed = True
            continue
        if verdict is Verdict.LOG_ONLY:
            log_only.append(path)
            continue
        agents = _agents_hit(path, situation)
        for agent in agents:
            restart.setdefault(agent, []).append(path)
        if not agents and verdict is Verdict.RELOAD:
            unused.append(path)
    return _finish(situation, restart, log_only, unused, config_changed)


def _agents_hit(path: Path, situation: Situation) -> set[str]:
    hit = set(situation.index.agents_of(path))
    rel = situation.rules.relative(path)
    if rel is not None:
        hit |= situation.rules.watching_agents(rel)
    return hit


def _finish(
    situation: Situation,
    restart: dict[str, list[Path]],
    log_only: list[Path],
    unused: list[Path],
    config_changed: bool,
) -> Plan:
    running, discovered = set(situation.running), set(situation.discovered)
    for agent in situation.redefined:
        restart.setdefault(agent, [])
    kept = {
        agent: tuple(paths)
        for agent, paths in sorted(restart.items())
        if agent in running and agent in discovered
    }
    return Plan(
        restart=kept,
        start=tuple(sorted(discovered - running)),
        stop=tuple(sorted(running - discovered)),
        log_only=tuple(log_only),
        unused=tuple(unused),
        config_changed=config_changed,
    )
