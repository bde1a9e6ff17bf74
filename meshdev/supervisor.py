"""The one loop: file events, agent reports and exits, and signals arrive on one queue; decisions
are made by the pure core (debounce, plan) and carried out by the fleet.
"""

from __future__ import annotations

import queue
import signal
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from meshdev._version import __version__
from meshdev.control import (
    ControlServer,
    Reply,
    parse,
    read_terminal,
    send,
    socket_path,
)
from meshdev.debounce import Coalescer
from meshdev.discovery import AgentDef
from meshdev.events import Event, EventSink
from meshdev.fingerprints import Fingerprints
from meshdev.fleet import Fleet, Timing
from meshdev.gate import KeepLastGood
from meshdev.health import FailedStart, Health, Restart
from meshdev.patterns import GITIGNORE
from meshdev.plan import Plan, Situation, is_relevant, make_plan
from meshdev.problems import UsageError
from meshdev.process import Sinks, Spawner, install_signal_handlers, kill_now, rss_bytes
from meshdev.project import Project, rediscover, reload_config, with_new_rules
from meshdev.scan import files_in_tree, watched_dirs
from meshdev.settings import Flags
from meshdev.statestore import StateStore
from meshdev.summary import Summary
from meshdev.watcher import (
    STEP_MS,
    RawBatch,
    Watcher,
    WatchOptions,
    group_ms_for,
    polling_reason,
)

LineSink = Callable[[str, str, str], None]
_BATCH_FILES_SHOWN = 50
_RESYNC = ("resync",)
STORM = 20  # files in one batch: told as one summary line


@dataclass(frozen=True)
class _Files:
    batch: RawBatch


@dataclass(frozen=True)
class _Report:
    agent: str
    generation: int
    message: dict[str, Any]


@dataclass(frozen=True)
class _Exit:
    agent: str
    generation: int
    returncode: int


@dataclass(frozen=True)
class _Signal:
    signum: int


@dataclass(frozen=True)
class _WatchError:
    message: str


@dataclass(frozen=True)
class _Command:
    text: str
    reply: Reply


_Message = _Files | _Report | _Exit | _Signal | _WatchError | _Command


@dataclass(frozen=True)
class Options:
    env: Mapping[str, str]
    flags: Flags
    own_files: frozenset[Path] = frozenset()  # meshdev's own outputs (--events): never a trigger
    commands: IO[str] | None = None  # meshdev's stdin: `r`, `r NAME`, `rs`


class Supervisor:
    def __init__(
        self,
        project: Project,
        spawner: Spawner,
        emit: EventSink,
        on_line: LineSink,
        options: Options,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.project = project
        self.options = options
        self.summary = Summary()
        self._sink = emit
        self.clock = clock
        self.inbox: queue.SimpleQueue[_Message] = queue.SimpleQueue()  # reentrant: signal-safe
        self.on_line = on_line
        sinks = Sinks(line=self._post_line, report=self._post_report, exit=self._post_exit)
        self.fleet = Fleet(spawner, sinks, self.emit, clock)
        self.health = Health(self.fleet, self.emit, clock)
        self.gate = KeepLastGood()
        self.prints = Fingerprints()
        self.coalescer = self._coalescer()
        self.watcher: Watcher | None = None
        self.control: ControlServer | None = None
        self.watched: tuple[Path, ...] = ()
        self.unreadable: set[Path] = set()  # told once each
        self.polling = False
        self.exit_code: int | None = None
        self.shutting_down = False
        self.reloads = 0

    def status_rows(self) -> list[dict[str, Any]]:
        """For the live view; called from its refresh thread, so it only reads."""
        rows = self.summary.status(time.time())
        for row in rows:
            row["rss"] = rss_bytes(row["pid"]) if row["pid"] else None
        return rows

    def emit(self, event: Event) -> None:
        self.summary(event)
        self._sink(event)

    # -- messages from other threads (must only enqueue) ----------------------------------------

    def _post_line(self, agent: str, stream: str, text: str) -> None:
        self.health.record_line(agent, stream, text)
        self.on_line(agent, stream, text)

    def _post_report(self, agent: str, generation: int, message: dict[str, Any]) -> None:
        self.inbox.put(_Report(agent, generation, message))

    def _post_exit(self, agent: str, generation: int, returncode: int) -> None:
        self.inbox.put(_Exit(agent, generation, returncode))

    def _post_signal(self, signum: int) -> None:
        if self.shutting_down:
            kill_now(self.fleet.everything_alive())  # a second Ctrl-C: no more waiting
        self.inbox.put(_Signal(signum))

    # -- the loop -------------------------------------------------------------------------------

    def run(self) -> int:
        install_signal_handlers(self._post_signal)
        self._announce()
        self._start(self.project.discovery.agents, "first start")
        self._listen_for_commands()
        if self.project.settings.hot_reload:
            self._start_watching()
        else:
            self.emit(Event("watching", {"enabled": False, "dirs": 0, "reload_delay_ms": 0}))
        while self.exit_code is None:
            self._handle(self._next_message())
            for key in self.health.timers.pop_due(self.clock()):
                self._on_timer(key)
            if self.coalescer.due(self.clock()):
                seen = self.coalescer.first_seen() or self.clock()
                self._reload(self.coalescer.take(), seen)
        return self._shutdown()

    def _next_message(self) -> _Message | None:
        deadlines = [d for d in (self.coalescer.deadline(), self.health.timers.next_due()) if d]
        timeout = max(0.0, min(deadlines) - self.clock()) if deadlines else None
        try:
            return self.inbox.get(timeout=timeout)
        except queue.Empty:
            return None

    def _handle(self, message: _Message | None) -> None:
        if isinstance(message, _Files):
            self._on_files(message.batch)
        elif isinstance(message, _Report):
            self._on_report(message)
        elif isinstance(message, _Exit):
            self._on_exit(message)
        elif isinstance(message, _Signal):
            self.exit_code = 128 + message.signum
        elif isinstance(message, _Command):
            message.reply(self._on_command(message.text))
        elif isinstance(message, _WatchError):
            self.emit(Event("watch_error", {"message": message.message}))
            self._rearm(force=True)

    def _announce(self) -> None:
        config = self.project.config.path
        self.emit(
            Event(
                "meshdev_started",
                {
                    "version": __version__,
                    "root": str(self.project.root),
                    "config": str(config) if config else None,
                    "agents": sorted(self.project.discovery.names()),
                    "hot_reload": self.project.settings.hot_reload,
                },
            )
        )

    # -- watching -------------------------------------------------------------------------------

    def _coalescer(self) -> Coalescer:
        settings = self.project.settings
        # watchfiles already waited STEP_MS of quiet before handing over a batch
        quiet = max(0, settings.reload_delay_ms - STEP_MS) / 1000
        return Coalescer(quiet, settings.reload_max_delay_ms / 1000)

    def _start_watching(self) -> None:
        settings = self.project.settings
        reason = polling_reason(self.project.root, settings.force_polling)
        self.polling = reason is not None
        options = WatchOptions(
            polling=self.polling,
            poll_delay_ms=settings.poll_interval_ms,
            group_ms=group_ms_for(settings.reload_delay_ms),
        )
        self.watcher = Watcher(
            lambda b: self.inbox.put(_Files(b)), lambda m: self.inbox.put(_WatchError(m)), options
        )
        self._rearm(force=True)
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

    def _rearm(self, force: bool = False) -> None:
        if self.watcher is None:
            return
        shallow = {*self.fleet.picture_dirs(), *self.project.discovery.scanned_dirs}
        unreadable: set[Path] = set()
        dirs = watched_dirs(self.project.rules, shallow, unreadable)
        for folder in sorted(unreadable - self.unreadable):
            self.emit(Event("warning", {"message": f"cannot read {folder}: not watched"}))
        self.unreadable |= unreadable
        if force or dirs != self.watched:
            self.watched = dirs
            self.watcher.arm(dirs)
            # A new watch sees nothing that happened before it took hold (a poller even takes its
            # first snapshot late): compare contents once it surely has.
            settle = 2 * self.project.settings.poll_interval_ms / 1000 if self.polling else 0.1
            self.health.timers.schedule(_RESYNC, self.clock() + settle)

    def _on_files(self, batch: RawBatch) -> None:
        paths: list[Path] = []
        dirs_changed = False
        for kind, path in batch:
            if kind == "added" and path.is_dir():
                dirs_changed = True  # files written before its watch exists count too
                paths.extend(files_in_tree(self.project.rules, path))
            elif kind == "deleted" and path in self.watched:
                dirs_changed = True
            paths.append(path)
        if dirs_changed:
            self._rearm()
        rules, index = self.project.rules, self.fleet.index()
        relevant = [
            p
            for p in paths
            if p not in self.options.own_files
            and (is_relevant(p, rules, index) or self._maybe_agent(p))
        ]
        self.coalescer.add(relevant, self.clock())
        # during the quiet time, so the reload does not wait for it
        self.gate.precheck(p for p in relevant if self._gated(p))

    def _gated(self, path: Path) -> bool:
        """Only files an agent uses (or a new agent's script) can hold a reload back."""
        return path in self.fleet.index() or self._maybe_agent(path)

    def _maybe_agent(self, path: Path) -> bool:
        """A file whose coming or going can add or remove an agent."""
        scanned = self.project.discovery.scanned_dirs
        return path.parent in scanned or (
            path.name == "__main__.py" and path.parent.parent in scanned
        )

    # -- agents' own news -----------------------------------------------------------------------

    def _on_report(self, report: _Report) -> None:
        new = self.fleet.on_report(report.agent, report.generation, report.message)
        self.prints.remember(new)
        if new and not {p.parent for p in new} <= set(self.watched):
            self._rearm()
        if report.message.get("t") == "ready" and self.fleet.is_current(
            report.agent, report.generation
        ):
            self.health.mark_ready(report.agent, "meshdev.ready()")

    def _on_exit(self, exit_: _Exit) -> None:
        store = StateStore(self.project.private_dir)
        verdict = self.fleet.on_exit(exit_.agent, exit_.generation, exit_.returncode, store)
        if verdict == "retry_fresh":
            self._start_named([exit_.agent], "retry without restored state")
        elif verdict == "crashed":
            self.health.on_failure(exit_.agent, exit_.returncode, self.project.settings)
        self._exit_if_nothing_left()

    def _exit_if_nothing_left(self) -> None:
        """Without watching, nothing can bring a finished or broken agent back: exit."""
        if self.watcher is not None or self.fleet.everything_alive():
            return
        if not self.health.restart_pending():
            codes = [p.returncode or 0 for p in self.fleet.procs.values()]
            self.exit_code = 0 if not any(codes) else 1

    def _on_timer(self, key: Hashable) -> None:
        if key == _RESYNC:
            stale = self.prints.stale()
            if stale:
                self._on_files([("modified", path) for path in stale])
            return
        agents = {a.name: a for a in self.project.discovery.agents}
        action = self.health.on_timer(key, agents, self.project.settings)
        if isinstance(action, Restart):
            self._start_named([action.agent], "restart after a crash")
        elif isinstance(action, FailedStart):
            self.fleet.stop(
                [action.agent],
                self.project.settings.stop_grace_ms / 1000,
                reason="not ready in time",
            )
            self.health.on_failure(action.agent, None, self.project.settings)

    def _start(
        self,
        agents: Iterable[AgentDef],
        reason: str,
        changes: Sequence[Path] = (),
        timing: Timing | None = None,
    ) -> None:
        for agent in agents:
            self.fleet.start([agent], self.project, reason, changes)
            self.prints.remember(self.fleet.pictures[agent.name].files())
            life = self.fleet.life.get(agent.name)
            if life is not None:
                life.timing = timing
            self.health.started(agent, self.project.settings)

    def _start_named(self, names: Iterable[str], reason: str) -> None:
        found = [a for a in map(self.project.discovery.get, names) if a is not None]
        self._start(found, reason)

    # -- commands -------------------------------------------------------------------------------

    def _listen_for_commands(self) -> None:
        def post(text: str, reply: Reply) -> None:
            self.inbox.put(_Command(text, reply))

        def say(text: str) -> None:
            self.emit(Event("command", {"reply": text}))

        if self.options.commands is not None:
            read_terminal(self.options.commands, post, say)
        path = socket_path(self.project.root)
        try:
            send(path, "ping")
        except OSError:
            self.control = ControlServer(path, post)
            return
        self.emit(
            Event(
                "warning",
                {
                    "message": (
                        "another meshdev already runs for this project; `meshdev reload` "
                        "reaches that one, this one takes commands on its terminal only"
                    )
                },
            )
        )

    def _on_command(self, text: str) -> str:
        if text.strip() == "ping":
            return "pong"
        command = parse(text)
        if command is None:
            return f"unknown command {text.strip()!r}: type r (reload all), r NAME, or rs"
        known = sorted(self.project.discovery.names())
        unknown = [n for n in command.agents if n not in known]
        if unknown:
            return f"no agent named {', '.join(unknown)} (agents: {', '.join(known)})"
        names = list(command.agents) or known
        self._manual_reload(names)
        return f"reloaded {', '.join(names)}"

    def _manual_reload(self, names: list[str]) -> None:
        now = self.clock()
        plan = self._keep_last_good(Plan(restart={n: () for n in names}), [])
        self._execute(plan, [], now, reason="manual reload")
        self._summarise([], plan)

    # -- reloading ------------------------------------------------------------------------------

    def _reload(self, changed: list[Path], seen: float) -> None:
        changed, identical = self.prints.split(changed)
        if identical:
            self.emit(Event("unchanged", {"files": [self._relative(p) for p in identical]}))
        redefined = self._refresh_project(changed)
        plan = make_plan(
            changed,
            Situation(
                rules=self.project.rules,
                index=self.fleet.index(),
                running=list(self.fleet.defs),
                discovered=self.project.discovery.names(),
                redefined=redefined,
            ),
        )
        plan = self._keep_last_good(plan, changed)
        self._report_plan(plan, storm=len(changed) >= STORM)
        self._execute(plan, changed, seen)
        self.fleet.refresh_closures(self.project)
        self._rearm()
        self._summarise(changed, plan)

    def _keep_last_good(self, plan: Plan, changed: list[Path]) -> Plan:
        """Agents that would load a file that does not compile keep running their last good
        version; the error is shown with file, line and code."""
        for problem in self.gate.update(p for p in changed if self._gated(p)):
            self.emit(
                Event(
                    "compile_error",
                    {
                        "file": self._relative(problem.path),
                        "line": problem.line,
                        "message": problem.message,
                        "code": problem.code,
                    },
                )
            )
        held = {name: self._broken_files(name) for name in [*plan.restart, *plan.start]}
        held = {name: broken for name, broken in held.items() if broken}
        for name, broken in held.items():
            running = self.fleet.is_running(name)
            self.emit(Event("reload_held", {"agent": name, "files": broken, "running": running}))
        return plan.without(held) if held else plan

    def _broken_files(self, name: str) -> list[str]:
        """Files this agent would load that do not compile now."""
        picture = self.fleet.pictures.get(name)
        agent = self.project.discovery.get(name)
        uses = picture.files() if picture else {agent.script} if agent else set()
        return [self._relative(p) for p in self.gate.blocking(uses)]

    def _summarise(self, changed: list[Path], plan: Plan) -> None:
        files = [self._relative(p) for p in changed]
        self.emit(
            Event(
                "batch",
                {
                    "count": len(files),
                    "storm": len(files) >= STORM,
                    "files": files[:_BATCH_FILES_SHOWN],
                    "restarted": list(plan.restart),
                    "started": list(plan.start),
                    "stopped": list(plan.stop),
                },
            )
        )

    def _refresh_project(self, changed: list[Path]) -> set[str]:
        """Apply a changed .meshwatch or agent set; return agents whose definition changed."""
        before = {a.name: a for a in self.project.discovery.agents}
        config = self.project.config.path
        try:
            if config is not None and config in changed:
                self.project = reload_config(self.project, self.options.env, self.options.flags)
                self.coalescer = self._coalescer()
                self.emit(Event("config_reloaded", {"file": str(config)}))
            elif any(p.name == GITIGNORE for p in changed):
                self.project = rediscover(with_new_rules(self.project))
                self.emit(Event("config_reloaded", {"file": ".gitignore"}))
            elif any(self._maybe_agent(p) for p in changed):
                self.project = rediscover(self.project)
        except UsageError as error:
            kind = "config_error" if config in changed else "discovery_error"
            self.emit(
                Event(
                    kind,
                    {
                        "file": str(config),
                        "message": str(error),
                        "problems": [str(p) for p in error.problems],
                    },
                )
            )
        return _redefined(before, {a.name: a for a in self.project.discovery.agents})

    def _report_plan(self, plan: Plan, storm: bool) -> None:
        rel = self._relative
        if plan.log_only:
            files = [rel(p) for p in plan.log_only]
            self.emit(Event("log_only", {"files": files, "storm": storm}))
        if plan.unused:
            self.emit(Event("unused", {"files": [rel(p) for p in plan.unused], "storm": storm}))
        for name in plan.start:
            agent = self.project.discovery.get(name)
            self.emit(Event("agent_added", {"agent": name, "how": agent.how if agent else ""}))

    def _execute(
        self, plan: Plan, changed: list[Path], seen: float, reason: str | None = None
    ) -> None:
        if not (plan.restart or plan.stop or plan.start):
            return
        decided = self.clock()
        grace = self.project.settings.stop_grace_ms / 1000
        self.fleet.stop([*plan.stop, *plan.restart], grace, reason="reload")
        stopped = self.clock()
        self._drain()
        for name in plan.stop:
            self.emit(Event("agent_removed", {"agent": name}))
            self.health.forget(name)
        self.fleet.forget(plan.stop)
        self._start_restarted(plan, Timing(seen, decided, stopped), reason)
        self._start_new(plan, changed)
        if plan.restart:
            self.reloads += 1
            files = sorted({self._relative(p) for ps in plan.restart.values() for p in ps})
            seconds = round(self.clock() - decided, 4)
            fields = {"agents": list(plan.restart), "files": files, "seconds": seconds}
            self.emit(Event("reload", {**fields, "reason": reason or "files changed"}))

    def _start_restarted(self, plan: Plan, timing: Timing, reason: str | None) -> None:
        for name, causes in plan.restart.items():
            agent = self.project.discovery.get(name)
            if agent is not None:
                files = [self._relative(p) for p in causes]
                self.health.on_change(name, files)
                why = reason or f"{', '.join(files[:3]) or 'its settings'} changed"
                self._start([agent], why, causes, timing)

    def _start_new(self, plan: Plan, changed: list[Path]) -> None:
        agents = [a for a in map(self.project.discovery.get, plan.start) if a is not None]
        self._start(agents, "new agent", changed)

    def _relative(self, path: Path) -> str:
        return self.project.rules.relative(path) or str(path)

    # -- the end --------------------------------------------------------------------------------

    def _drain(self) -> None:
        """Handle what stopped agents said last (their final state saves) now, before anything
        new starts; every other message waits its turn, in order."""
        later: list[_Message] = []
        while True:
            try:
                message = self.inbox.get_nowait()
            except queue.Empty:
                break
            if isinstance(message, _Report):
                self._on_report(message)
            else:
                later.append(message)
        for message in later:
            self.inbox.put(message)

    def _shutdown(self) -> int:
        self.shutting_down = True
        if self.watcher is not None:
            self.watcher.close()
        if self.control is not None:
            self.control.close()
        alive = self.fleet.everything_alive()
        grace = self.project.settings.stop_grace_ms / 1000
        self.fleet.stop([p.agent for p in alive], grace, reason="shutdown")
        self._drain()
        code = self.exit_code if self.exit_code is not None else 1
        self.emit(
            Event(
                "shutdown",
                {
                    "exit_code": code,
                    "stopped": len(alive),
                    "reloads": self.reloads,
                    "signal": _signal_name(code),
                    "agents": self.summary.rows(),
                },
            )
        )
        return code


def _redefined(before: dict[str, AgentDef], after: dict[str, AgentDef]) -> set[str]:
    return {name for name, agent in after.items() if name in before and before[name] != agent}


def _signal_name(code: int) -> str | None:
    try:
        return signal.Signals(code - 128).name if code > 128 else None
    except ValueError:
        return None
