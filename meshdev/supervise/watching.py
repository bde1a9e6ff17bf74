"""What changed, and when to act on it: the watcher and the folders it watches, which changes
matter, bursts coalesced, and a content resync after every change of the watched set.

Runs on the supervisor's thread; the watcher's own thread only posts batches to the queue.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from meshdev.decide.debounce import Coalescer
from meshdev.decide.fingerprints import Fingerprints
from meshdev.decide.keep_last_good import KeepLastGood
from meshdev.decide.plan import is_relevant
from meshdev.decide.timers import Timers
from meshdev.events import Event, EventSink
from meshdev.project.project import Project
from meshdev.project.scan import files_in_tree, watched_dirs
from meshdev.sources.files import (
    STEP_MS,
    RawBatch,
    Watcher,
    WatchOptions,
    group_ms_for,
    polling_reason,
)
from meshdev.supervise.fleet import Fleet

RESYNC = ("resync",)  # the timer key of the content check after a re-arm
REARM = ("rearm",)  # the timer key of watching again after a watch error


class Watching:
    def __init__(
        self,
        project: Callable[[], Project],
        fleet: Fleet,
        gate: KeepLastGood,
        prints: Fingerprints,
        timers: Timers,
        emit: EventSink,
        clock: Callable[[], float],
        own_files: frozenset[Path],
    ) -> None:
        self.project = project
        self.fleet = fleet
        self.gate = gate
        self.prints = prints
        self.timers = timers
        self.emit = emit
        self.clock = clock
        self.own_files = own_files  # meshdev's own outputs (the --events log): never a trigger
        self.watcher: Watcher | None = None
        self.watched: tuple[Path, ...] = ()
        self.unreadable: set[Path] = set()  # told once each
        self.polling = False
        self.coalescer = self.new_coalescer()

    @property
    def active(self) -> bool:
        return self.watcher is not None

    def new_coalescer(self) -> Coalescer:
        settings = self.project().settings
        # watchfiles already waited a step of quiet before handing over a batch
        quiet = max(0, settings.reload_delay_ms - STEP_MS) / 1000
        self.coalescer = Coalescer(quiet, settings.reload_max_delay_ms / 1000)
        return self.coalescer

    def start(
        self, post_files: Callable[[RawBatch], None], post_error: Callable[[str], None]
    ) -> None:
        project = self.project()
        settings = project.settings
        reason = polling_reason(project.root, settings.force_polling)
        self.polling = reason is not None
        options = WatchOptions(
            polling=self.polling,
            poll_delay_ms=settings.poll_interval_ms,
            group_ms=group_ms_for(settings.reload_delay_ms),
        )
        self.watcher = Watcher(post_files, post_error, options)
        self.rearm(force=True)
        self.emit(
            Event(
                "watching",
                {
                    "enabled": True,
                    "dirs": len(self.watched),
                    "polling": options.polling,
                    "poll_reason": reason,
                    "poll_ms": options.poll_delay_ms,
                    "reload_delay_ms": settings.reload_delay_ms,
                },
            )
        )

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.close()

    def rearm(self, force: bool = False) -> None:
        """Watch exactly the folders the rules and the agents' pictures need now."""
        if self.watcher is None:
            return
        project = self.project()
        shallow = {*self.fleet.picture_dirs(), *project.discovery.scanned_dirs}
        unreadable: set[Path] = set()
        dirs = watched_dirs(project.rules, shallow, unreadable)
        for folder in sorted(unreadable - self.unreadable):
            self.emit(Event("warning", {"message": f"cannot read {folder}: not watched"}))
        self.unreadable |= unreadable
        if force or dirs != self.watched:
            self.watched = dirs
            self.watcher.arm(dirs)
            # A new watch sees nothing that happened before it took hold (a poller even takes its
            # first snapshot late): compare contents once it surely has.
            settle = 2 * project.settings.poll_interval_ms / 1000 if self.polling else 0.1
            self.timers.schedule(RESYNC, self.clock() + settle)

    def resync(self) -> None:
        stale = self.prints.stale()
        if stale:
            self.on_files([("modified", path) for path in stale])

    def on_files(self, batch: RawBatch) -> None:
        paths: list[Path] = []
        dirs_changed = False
        rules = self.project().rules
        for kind, path in batch:
            if kind == "added" and path.is_dir():
                dirs_changed = True  # files written before its watch exists count too
                paths.extend(files_in_tree(rules, path))
            elif kind == "deleted" and path in self.watched:
                dirs_changed = True
            paths.append(path)
        if dirs_changed:
            self.rearm()
        index = self.fleet.index()
        relevant = [
            p
            for p in paths
            if p not in self.own_files and (is_relevant(p, rules, index) or self.maybe_agent(p))
        ]
        self.coalescer.add(relevant, self.clock())
        # during the quiet time, so the reload does not wait for it
        self.gate.precheck(p for p in relevant if self.gated(p))

    def gated(self, path: Path) -> bool:
        """Only files an agent uses (or a new agent's script) can hold a reload back."""
        return path in self.fleet.index() or self.maybe_agent(path)

    def maybe_agent(self, path: Path) -> bool:
        """A file whose coming or going can add or remove an agent."""
        scanned = self.project().discovery.scanned_dirs
        return path.parent in scanned or (
            path.name == "__main__.py" and path.parent.parent in scanned
        )
