"""What the runtimes inside the agents report, applied on the loop's thread: files they depend on,
the ports they listen on, state restored and saved, readiness, refreshes."""

from __future__ import annotations

from meshdev.decide.dependencies import Dependencies
from meshdev.decide.fingerprints import Fingerprints
from meshdev.events import Event, EventSink
from meshdev.interfaces import Front
from meshdev.sources.messages import (
    FilesReport,
    ListeningReport,
    ReadyReport,
    RefreshReport,
    Report,
    RestoredReport,
    StateReport,
)
from meshdev.supervise.fleet import Fleet
from meshdev.supervise.health import Health
from meshdev.supervise.refreshing import Refresher, Restart
from meshdev.supervise.watching import Watching


class AgentNews:
    def __init__(
        self,
        fleet: Fleet,
        deps: Dependencies,
        prints: Fingerprints,
        watching: Watching,
        parts: tuple[Front, Health, Refresher],
        emit: EventSink,
        restart: Restart,
    ) -> None:
        self.fleet = fleet
        self.deps = deps
        self.prints = prints
        self.watching = watching
        self.front, self.health, self.refresher = parts
        self.emit = emit
        self.restart = restart

    def on_report(self, message: Report) -> None:
        name, generation, report = message.agent, message.generation, message.report
        if isinstance(report, StateReport):
            # A stopping process reports its final save after its successor was started.
            if name in self.fleet.known():
                self.emit(Event(report.kind, {"agent": name, **report.fields}))
        elif not self.fleet.is_current(name, generation):
            return
        elif isinstance(report, FilesReport):
            self._files(name, report)
        elif isinstance(report, ListeningReport):
            self.front.listening(name, generation, report.host, report.port, report.actual)
        elif isinstance(report, RestoredReport):
            self.fleet.restored(name, generation, report.keys)
        elif isinstance(report, ReadyReport):
            held = {"held_calls": report.held_calls, "held": report.held_seconds}
            self.health.mark_ready(name, report.how, signalled=True, held=held)
        elif isinstance(report, RefreshReport):
            self._refresh(name, generation, report)

    def _files(self, name: str, report: FilesReport) -> None:
        new = self.deps.record(name, report.loaded, report.opened, report.written)
        self.prints.remember(new)
        if new and not self.watching.watches_all({p.parent for p in new}):
            self.watching.rearm()

    def _refresh(self, name: str, generation: int, report: RefreshReport) -> None:
        if report.pid is not None:
            self.refresher.offered(name, generation, report.pid)
            return
        self.refresher.answered(name, generation, report, self.restart)
        if report.error is None:
            self.front.refreshed(name)
