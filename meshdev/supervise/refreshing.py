"""Refreshes under way (reload_strategy refresh). meshdev sends the refresh signal to the agent's
own process; the runtime reloads the stale modules in place and answers on the report pipe. The
answer decides what is told: refreshed; kept (the new code raised: the old code runs on, the next
good save refreshes); or a restart after all (a callback raised, a module refused, no answer).

Runs on the loop's thread. The loop asks `restart(name, reason)` for the restarts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from meshdev.decide.reload import Decision
from meshdev.decide.timers import RefreshDeadline, Timers
from meshdev.events import Event, EventSink
from meshdev.interfaces import Spawner
from meshdev.project.project import Project
from meshdev.sources.messages import RefreshReport
from meshdev.supervise.fleet import Fleet

ANSWER_SECONDS = 5.0  # a refresh takes milliseconds; a main thread stuck in C never answers
Restart = Callable[[str, str], None]


@dataclass
class Asked:
    generation: int
    files: list[str]
    seen: float  # when the change was first seen
    again: bool = False  # more changes came while it refreshed: ask once more


class Refresher:
    def __init__(
        self,
        fleet: Fleet,
        spawner: Spawner,
        timers: Timers,
        emit: EventSink,
        clock: Callable[[], float],
    ) -> None:
        self.fleet = fleet
        self.spawner = spawner
        self.timers = timers
        self.emit = emit
        self.clock = clock
        self.offers: dict[str, tuple[int, int]] = {}  # agent -> (generation, pid that answers)
        self.asked: dict[str, Asked] = {}

    def offered(self, name: str, generation: int, pid: int) -> None:
        self.offers[name] = (generation, pid)

    def offering(self) -> set[str]:
        """Agents whose current process can be asked to refresh."""
        return {
            name
            for name, (generation, _) in self.offers.items()
            if self.fleet.is_current(name, generation) and self.fleet.is_running(name)
        }

    def tell(self, decision: Decision) -> None:
        for name, reason in decision.instead.items():
            self.emit(Event("refresh_instead", {"agent": name, "reason": reason}))

    def ask(self, decision: Decision, project: Project, seen: float, restart: Restart) -> None:
        for name, causes in decision.refresh.items():
            files = [project.rules.relative(p) or str(p) for p in causes]
            self._ask(name, files, seen, restart)

    def _ask(self, name: str, files: list[str], seen: float, restart: Restart) -> None:
        generation, pid = self.offers[name]
        pending = self.asked.get(name)
        if pending is not None and pending.generation == generation:
            pending.again = True  # its answer comes first; then it refreshes what is new
            pending.files += [f for f in files if f not in pending.files]
            return
        if not self.spawner.ask_refresh(pid):
            restart(name, "its process did not take the refresh signal")
            return
        self.asked[name] = Asked(generation, files, seen)
        self.timers.schedule(RefreshDeadline(name, generation), self.clock() + ANSWER_SECONDS)

    def answered(self, name: str, generation: int, report: RefreshReport, restart: Restart) -> None:
        pending = self.asked.get(name)
        if pending is None or pending.generation != generation:
            return  # a stray answer: nothing asked this process
        del self.asked[name]
        self.timers.cancel(RefreshDeadline(name, generation))
        if report.error is None:
            self._refreshed(name, pending, report)
        else:
            self._failed(name, pending, report, restart)
            if report.restart:
                return
        if pending.again:
            self._ask(name, pending.files, self.clock(), restart)

    def timed_out(self, key: RefreshDeadline, restart: Restart) -> None:
        pending = self.asked.pop(key.agent, None)
        if pending is not None and pending.generation == key.generation:
            seconds = f"{ANSWER_SECONDS:g} s"
            restart(key.agent, f"its refresh got no answer within {seconds} (main thread busy?)")

    def forget(self, name: str) -> None:
        self.offers.pop(name, None)
        self.asked.pop(name, None)

    def _refreshed(self, name: str, pending: Asked, report: RefreshReport) -> None:
        fields = {"agent": name, "pid": self.offers[name][1], "files": pending.files}
        total = round(self.clock() - pending.seen, 4)
        fields |= {"modules": list(report.modules), "seconds": report.seconds, "total": total}
        self.emit(Event("agent_refreshed", fields))

    def _failed(self, name: str, pending: Asked, report: RefreshReport, restart: Restart) -> None:
        where = {"module": report.module, "file": str(report.file) if report.file else None}
        fields = {"agent": name, **where, "line": report.line, "error": report.error}
        self.emit(Event("refresh_failed", {**fields, "kept": not report.restart}))
        if report.restart:
            restart(name, f"its refresh failed ({report.error})")
