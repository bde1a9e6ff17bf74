"""Carrying out a reload decision: tell what it found, stop what it stops (all groups at once),
then start what it starts, with the timing of each step. Runs on the loop's thread.

An agent behind the MCP front (its ports held by meshdev, or its pipes its own) is restarted
with overlap: its next process is spawned before the old one is stopped, runs its imports while
the old one drains, and is handed over to once the old one has exited and its final save was
told (runtime/handover.py). Every other agent is stopped before its next process starts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from meshdev.decide.dependencies import Dependencies
from meshdev.decide.fingerprints import Fingerprints
from meshdev.decide.reload import Decision
from meshdev.events import Event, EventSink
from meshdev.interfaces import Front
from meshdev.project.discovery import AgentDef
from meshdev.project.project import Project
from meshdev.supervise.fleet import Fleet, Life, Timing
from meshdev.supervise.health import Health
from meshdev.supervise.starting import fronted

STORM = 20  # files in one batch: told as one summary line
_BATCH_FILES_SHOWN = 50


class Executor:
    def __init__(
        self,
        fleet: Fleet,
        deps: Dependencies,
        health: Health,
        prints: Fingerprints,
        front: Front,
        emit: EventSink,
        clock: Callable[[], float],
    ) -> None:
        self.front = front
        self.fleet = fleet
        self.deps = deps
        self.health = health
        self.prints = prints
        self.emit = emit
        self.clock = clock

    def start(
        self,
        agents: Iterable[AgentDef],
        project: Project,
        reason: str,
        changes: Sequence[Path] = (),
        timing: Timing | None = None,
        beside: bool = False,
    ) -> list[str]:
        """`beside`: each agent's process still runs; its next one starts beside it and waits
        for `_hand_over` (only then is it told to the front and to health). Returns those."""
        waiting: list[str] = []
        for agent in agents:
            self.prints.remember(self.deps.track(agent))
            self.health.new_tail(agent.name)
            life = self.fleet.start(agent, project, reason, changes, self._fronted(agent), beside)
            if life is None:
                continue
            life.timing = timing
            if self.fleet.waits_for_handover(agent.name):
                waiting.append(agent.name)
            else:
                self._started(agent, life, project)
        return waiting

    def _started(self, agent: AgentDef, life: Life, project: Project) -> None:
        handle = self.fleet.handle_of(agent.name)
        if handle is not None:
            told = self.front.started(handle)
            self.health.started(agent, life, project.settings, told)

    def _fronted(self, agent: AgentDef) -> bool:
        return fronted(agent, self.deps)

    def _overlaps(self, name: str, project: Project) -> bool:
        """Two of its processes can run at once: the front holds its ports (or each has its own
        pipes), and its current one still runs — but no longer answers a call (past the drain's
        bound), whose last moments the new one's start-up must not slow down."""
        agent = project.discovery.get(name)
        behind = agent is not None and (agent.speaks_mcp or self._fronted(agent))
        return behind and self.fleet.is_running(name) and not self.front.in_flight(name)

    def _hand_over(self, names: Iterable[str], project: Project) -> None:
        for name in names:
            life, agent = self.fleet.hand_over(name), project.discovery.get(name)
            if life is not None and agent is not None:
                self._started(agent, life, project)

    def tell(self, decision: Decision, project: Project) -> None:
        """What the decision found, before anything is done about it."""
        rel = _relative(project)
        storm = len(decision.changed) >= STORM
        if decision.identical:
            self.emit(Event("unchanged", {"files": [rel(p) for p in decision.identical]}))
        for news in decision.news:
            self.emit(news)
        for problem in decision.broken:
            where = {"file": rel(problem.path), "line": problem.line}
            self.emit(
                Event("compile_error", {**where, "message": problem.message, "code": problem.code})
            )
        for name, broken in decision.held.items():
            fields = {"files": [rel(p) for p in broken], "running": self.fleet.is_running(name)}
            self.emit(Event("reload_held", {"agent": name, **fields}))
        if decision.log_only:
            files = [rel(p) for p in decision.log_only]
            self.emit(Event("log_only", {"files": files, "storm": storm}))
        # A new agent's own script is no agent's file yet, but it is news: "new agent", below.
        scripts = {a.script for a in map(project.discovery.get, decision.start) if a is not None}
        unused = [p for p in decision.unused if p not in scripts]
        if unused:
            files = [rel(p) for p in unused]
            self.emit(Event("unused", {"files": files, "storm": storm}))
        for name in decision.start:
            agent = project.discovery.get(name)
            self.emit(Event("agent_added", {"agent": name, "how": agent.how if agent else ""}))

    def carry_out(
        self,
        decision: Decision,
        project: Project,
        seen: float,
        drain: Callable[[], None],
        reason: str | None = None,
    ) -> None:
        if not decision.acts:
            return
        decided = self.clock()
        grace = project.settings.stop_grace_ms / 1000
        going = [*decision.stop, *decision.restart]
        for name in going:
            calls = self.front.in_flight(name)
            if calls:
                self.emit(Event("draining", {"agent": name, "calls": calls}))
        self.front.draining(going, grace)
        early = [n for n in decision.restart if self._overlaps(n, project)]
        spawned = Timing(seen, decided, self.clock())
        waiting = self._restart(decision, project, spawned, reason, early, beside=True)
        self.fleet.stop(going, grace, reason="reload")
        self.front.stopped(going)
        stopped = self.clock()
        drain()  # the stopped agents' final state saves are told before anything new starts
        self._hand_over(waiting, project)  # their predecessors are gone, and saved last
        for name in decision.stop:
            self.emit(Event("agent_removed", {"agent": name}))
            self.health.forget(name)
        self.fleet.forget(decision.stop)
        self.deps.forget(decision.stop)
        later = [n for n in decision.restart if n not in early]
        self._restart(decision, project, Timing(seen, decided, stopped), reason, later)
        found = [a for a in map(project.discovery.get, decision.start) if a is not None]
        self.start(found, project, "new agent", decision.changed)
        if decision.restart:
            files = sorted({_relative(project)(p) for ps in decision.restart.values() for p in ps})
            seconds = round(self.clock() - decided, 4)
            fields = {"agents": list(decision.restart), "files": files, "seconds": seconds}
            self.emit(Event("reload", {**fields, "reason": reason or "files changed"}))

    def _restart(
        self,
        decision: Decision,
        project: Project,
        timing: Timing,
        reason: str | None,
        names: Sequence[str],
        beside: bool = False,
    ) -> list[str]:
        waiting: list[str] = []
        for name in names:
            agent, causes = project.discovery.get(name), decision.restart[name]
            if agent is not None:
                files = [_relative(project)(p) for p in causes]
                self.health.on_change(name, files)
                why = reason or f"{', '.join(files[:3]) or 'its settings'} changed"
                waiting += self.start([agent], project, why, causes, timing, beside)
        return waiting

    def summarise(self, decision: Decision, project: Project) -> None:
        files = [_relative(project)(p) for p in decision.changed]
        self.emit(
            Event(
                "batch",
                {
                    "count": len(files),
                    "storm": len(files) >= STORM,
                    "files": files[:_BATCH_FILES_SHOWN],
                    "restarted": list(decision.restart),
                    "started": list(decision.start),
                    "stopped": list(decision.stop),
                },
            )
        )


def _relative(project: Project) -> Callable[[Path], str]:
    rules = project.rules
    return lambda path: rules.relative(path) or str(path)
