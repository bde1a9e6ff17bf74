"""What changed, and when to act on it: the watch and the folders it covers, changes that count
coalesced into bursts, and a content resync after every change of the watched set.

Runs on the loop's thread; the watcher's own thread only posts batches to the inbox.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from meshdev.decide.changes import Surroundings
from meshdev.decide.debounce import Coalescer
from meshdev.decide.dependencies import Dependencies
from meshdev.decide.reload import Decider
from meshdev.decide.timers import Resync, Timers
from meshdev.events import Event, EventSink
from meshdev.interfaces import BatchSink, ErrorSink, FileWatch, WatcherFactory, WatchOptions
from meshdev.project.project import Project
from meshdev.project.scan import files_in_tree, watched_dirs
from meshdev.runtime.bytecode import write_checked
from meshdev.sources.files import STEP_MS, group_ms_for, polling_reason
from meshdev.sources.messages import RawBatch


class Watching:
    def __init__(
        self,
        project: Callable[[], Project],
        deps: Dependencies,
        decider: Decider,
        timers: Timers,
        emit: EventSink,
        clock: Callable[[], float],
        own_files: frozenset[Path],
    ) -> None:
        self.project = project
        self.deps = deps
        self.decider = decider
        self.timers = timers
        self.emit = emit
        self.clock = clock
        self.own_files = own_files  # meshdev's own outputs (the --events log): never a trigger
        self.watch: FileWatch | None = None
        self.watched: tuple[Path, ...] = ()
        self.unreadable: set[Path] = set()  # told once each
        self.polling = False
        self.coalescer = self.new_coalescer()

    @property
    def active(self) -> bool:
        return self.watch is not None

    def new_coalescer(self) -> Coalescer:
        settings = self.project().settings
        # the watcher already waited a step of quiet before handing over a batch
        quiet = max(0, settings.reload_delay_ms - STEP_MS) / 1000
        self.coalescer = Coalescer(quiet, settings.reload_max_delay_ms / 1000)
        return self.coalescer

    def start(self, make: WatcherFactory, post_files: BatchSink, post_error: ErrorSink) -> None:
        project = self.project()
        settings = project.settings
        reason = polling_reason(project.root, settings.force_polling)
        self.polling = reason is not None
        options = WatchOptions(
            polling=self.polling,
            poll_delay_ms=settings.poll_interval_ms,
            group_ms=group_ms_for(settings.reload_delay_ms),
        )
        self.watch = make(post_files, post_error, options)
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
        if self.watch is not None:
            self.watch.close()

    def rearm(self, force: bool = False) -> None:
        """Watch exactly the folders the rules and the agents' pictures need now."""
        if self.watch is None:
            return
        project = self.project()
        shallow = {*self.deps.folders(), *project.discovery.scanned_dirs}
        unreadable: set[Path] = set()
        dirs = watched_dirs(project.rules, shallow, unreadable)
        for folder in sorted(unreadable - self.unreadable):
            self.emit(Event("warning", {"message": f"cannot read {folder}: not watched"}))
        self.unreadable |= unreadable
        if force or dirs != self.watched:
            self.watched = dirs
            self.watch.arm(dirs)
            # A new watch sees nothing that happened before it took hold (a poller even takes its
            # first snapshot late): compare contents once it surely has.
            settle = 2 * project.settings.poll_interval_ms / 1000 if self.polling else 0.1
            self.timers.schedule(Resync(), self.clock() + settle)

    def watches_all(self, folders: set[Path]) -> bool:
        return folders <= set(self.watched)

    def resync(self) -> None:
        stale = self.decider.prints.stale()
        if stale:
            self.on_files([("modified", path) for path in stale])

    def on_files(self, batch: RawBatch) -> None:
        project = self.project()
        added = [path for kind, path in batch if kind == "added" and path.is_dir()]
        if added or any(kind == "deleted" and path in self.watched for kind, path in batch):
            self.rearm()
        paths = [path for _, path in batch]
        for folder in added:  # read once its watch exists: what comes after, the watch sees
            paths.extend(files_in_tree(project.rules, folder))
        where = Surroundings(project.rules, self.deps.index(), project.discovery.scanned_dirs)
        theirs = [p for p in paths if p not in self.own_files]
        counted = self.decider.arrived(theirs, where)
        self.coalescer.add(counted, self.clock())
        self._prepare(counted)

    def _prepare(self, counted: list[Path]) -> None:
        """During the quiet time, what the reload would otherwise wait for: the changed modules'
        imports read, and their bytecode (compiled by the gate) in the cache for the agents."""
        self.deps.prime(counted)
        fresh, self.decider.gate.fresh = self.decider.gate.fresh, {}
        for path, (source, code) in fresh.items():
            write_checked(str(path), source, code)
