"""The one reload decision: for a batch of changed paths (or a manual reload), which agents
restart, start, stop or are held back, and what became of every path. The loop applies it.

Built only from pure modules; reads files (contents, .meshwatch, sources), starts nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from meshdev.decide.changes import Surroundings, can_be_agent, classify
from meshdev.decide.dependencies import Dependencies
from meshdev.decide.fingerprints import Fingerprints
from meshdev.decide.keep_last_good import CompileProblem, KeepLastGood
from meshdev.decide.plan import Plan, make_plan
from meshdev.decide.refreshable import split
from meshdev.events import Event
from meshdev.problems import UsageError
from meshdev.project.discovery import AgentDef
from meshdev.project.patterns import GITIGNORE
from meshdev.project.project import Project, rediscover, reload_config, with_new_rules
from meshdev.project.settings import Flags


@dataclass(frozen=True)
class Decision:
    restart: Mapping[str, tuple[Path, ...]] = field(default_factory=dict)  # agent -> causes
    refresh: Mapping[str, tuple[Path, ...]] = field(default_factory=dict)  # ... reloaded in place
    instead: Mapping[str, str] = field(default_factory=dict)  # why a refresh agent restarts
    start: tuple[str, ...] = ()
    stop: tuple[str, ...] = ()
    held: Mapping[str, tuple[Path, ...]] = field(default_factory=dict)  # agent -> broken files
    changed: tuple[Path, ...] = ()  # identical saves left out
    identical: tuple[Path, ...] = ()
    broken: tuple[CompileProblem, ...] = ()  # changed files that do not compile
    log_only: tuple[Path, ...] = ()
    unused: tuple[Path, ...] = ()
    project: Project | None = None  # the project after the batch, when it changed
    news: tuple[Event, ...] = ()  # what became of a changed .meshwatch or .gitignore

    @property
    def acts(self) -> bool:
        return bool(self.restart or self.start or self.stop)


class Decider:
    """Remembers what a decision needs from one batch to the next: file contents (identical
    saves) and which files do not compile (the last good version is kept)."""

    def __init__(self, env: Mapping[str, str], flags: Flags) -> None:
        self.env = env
        self.flags = flags
        self.prints = Fingerprints()
        self.gate = KeepLastGood()

    def arrived(self, paths: Iterable[Path], where: Surroundings) -> list[Path]:
        """The paths that count; those that could hold a reload back are compiled now, during
        the quiet time, so the reload does not wait for it."""
        changes = [classify(path, where) for path in paths]
        self.gate.precheck(c.path for c in changes if c.gated)
        return [c.path for c in changes if c.counts]

    def decide(
        self,
        paths: Iterable[Path],
        project: Project,
        deps: Dependencies,
        known: Collection[str],
        offering: Collection[str] = (),
    ) -> Decision:
        """`offering`: the agents whose process can refresh (reload_strategy refresh)."""
        changed, identical = self.prints.split(paths)
        after, news = self._project_after(project, changed)
        where = Surroundings(after.rules, deps.index(), after.discovery.scanned_dirs)
        # An output an agent reported during the quiet time is no news, though it woke us.
        changes = [c for c in (classify(path, where) for path in changed) if not c.output_only]
        changed = [c.path for c in changes]
        broken = self.gate.update(c.path for c in changes if c.gated)
        plan = make_plan(changes, known, after.discovery.names(), _redefined(project, after))
        held = self._hold(plan, after, deps)
        ways = split(held.restart, after, deps.why, offering)
        return replace(
            held,
            restart=ways.restart,
            refresh=ways.refresh,
            instead=ways.instead,
            changed=tuple(changed),
            identical=tuple(identical),
            broken=tuple(broken),
            log_only=plan.log_only,
            unused=plan.unused,
            project=after if after is not project else None,
            news=news,
        )

    def manual(self, names: Iterable[str], project: Project, deps: Dependencies) -> Decision:
        """`r`, `r NAME`, `meshdev reload`: restart without a cause, unless a file is broken."""
        return self._hold(Plan(restart={n: () for n in names}), project, deps)

    def _hold(self, plan: Plan, project: Project, deps: Dependencies) -> Decision:
        """Agents that would load a file that does not compile keep their last good version."""

        def uses(name: str) -> Iterable[Path]:
            files = deps.files_of(name)
            if files is not None:
                return files
            agent = project.discovery.get(name)
            return {agent.script} if agent else set()

        held = self.gate.holding([*plan.restart, *plan.start], uses)
        return Decision(
            restart={a: c for a, c in plan.restart.items() if a not in held},
            start=tuple(a for a in plan.start if a not in held),
            stop=plan.stop,
            held=held,
        )

    def _project_after(
        self, project: Project, changed: list[Path]
    ) -> tuple[Project, tuple[Event, ...]]:
        config = project.config.path
        try:
            if config is not None and config in changed:
                after = reload_config(project, self.env, self.flags)
                return after, (Event("config_reloaded", {"file": str(config)}),)
            if any(p.name == GITIGNORE for p in changed):
                after = rediscover(with_new_rules(project))
                return after, (Event("config_reloaded", {"file": ".gitignore"}),)
            scanned = project.discovery.scanned_dirs
            if any(can_be_agent(p, scanned) for p in changed):
                return rediscover(project), ()
        except UsageError as error:
            kind = "config_error" if config in changed else "discovery_error"
            return project, (_refused(kind, config, error),)
        return project, ()


def _refused(kind: str, config: Path | None, error: UsageError) -> Event:
    """The previous configuration keeps running; the event says why."""
    problems = [str(p) for p in error.problems]
    return Event(kind, {"file": str(config), "message": str(error), "problems": problems})


def _redefined(before: Project, after: Project) -> set[str]:
    old: dict[str, AgentDef] = {a.name: a for a in before.discovery.agents}
    return {a.name for a in after.discovery.agents if a.name in old and old[a.name] != a}
