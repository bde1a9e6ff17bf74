"""The one loop: file events, agent reports and exits, and signals arrive on one queue; decisions
are made by the pure core (debounce, plan) and carried out by the fleet.
"""

from __future__ import annotations

import queue
import signal
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any

from meshdev._version import __version__
from meshdev.decide.fingerprints import Fingerprints
from meshdev.decide.keep_last_good import KeepLastGood
from meshdev.decide.plan import Plan, Situation, make_plan
from meshdev.events import Event, EventSink
from meshdev.problems import UsageError
from meshdev.processes.spawn import Sinks, Spawner, install_signal_handlers, kill_now, rss_bytes
from meshdev.project.discovery import AgentDef
from meshdev.project.patterns import GITIGNORE
from meshdev.project.project import Project, rediscover, reload_config, with_new_rules
from meshdev.project.statestore import StateStore
from meshdev.show.summary import Summary
from meshdev.sources.commands import (
    ControlServer,
    Reply,
    parse,
    read_terminal,
    send,
    socket_path,
)
from meshdev.sources.messages import (
    Command,
    Exit,
    Files,
    Message,
    Options,
    Report,
    Signal,
    WatchError,
)
from meshdev.supervise.fleet import Fleet, Timing
from meshdev.supervise.health import FailedStart, Health, Restart
from meshdev.supervise.watching import REARM, RESYNC, Watching

LineSink = Callable[[str, str, str], None]
_BATCH_FILES_SHOWN = 50
STORM = 20  # files in one batch: told as one summary line


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
        self.inbox: queue.SimpleQueue[Message] = queue.SimpleQueue()  # reentrant: signal-safe
        self.on_line = on_line
        sinks = Sinks(line=self._post_line, report=self._post_report, exit=self._post_exit)
        self.fleet = Fleet(spawner, sinks, self.emit, clock)
        self.health = Health(self.fleet, self.emit, clock)
        self.gate = KeepLastGood()
        self.prints = Fingerprints()
        self.watching = Watching(
            lambda: self.project,
            self.fleet,
            self.gate,
            self.prints,
            self.health.timers,
            self.emit,
            clock,
            options.own_files,
        )
        self.control: ControlServer | None = None
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
        self.inbox.put(Report(agent, generation, message))

    def _post_exit(self, agent: str, generation: int, returncode: int) -> None:
        self.inbox.put(Exit(agent, generation, returncode))

    def _post_signal(self, signum: int) -> None:
        if self.shutting_down:
            kill_now(self.fleet.everything_alive())  # a second Ctrl-C: no more waiting
        self.inbox.put(Signal(signum))

    # -- the loop -------------------------------------------------------------------------------

    def run(self) -> int:
        install_signal_handlers(self._post_signal)
        self._announce()
        self._start(self.project.discovery.agents, "first start")
        self._listen_for_commands()
        if self.project.settings.hot_reload:
            self.watching.start(
                lambda b: self.inbox.put(Files(b)), lambda m: self.inbox.put(WatchError(m))
            )
        else:
            self.emit(Event("watching", {"enabled": False, "dirs": 0, "reload_delay_ms": 0}))
        while self.exit_code is None:
            self._handle(self._next_message())
            for key in self.health.timers.pop_due(self.clock()):
                self._on_timer(key)
            coalescer = self.watching.coalescer
            if coalescer.due(self.clock()):
                seen = coalescer.first_seen() or self.clock()
                self._reload(coalescer.take(), seen)
        return self._shutdown()

    def _next_message(self) -> Message | None:
        due = (self.watching.coalescer.deadline(), self.health.timers.next_due())
        deadlines = [d for d in due if d]
        timeout = max(0.0, min(deadlines) - self.clock()) if deadlines else None
        try:
            return self.inbox.get(timeout=timeout)
        except queue.Empty:
            return None

    def _handle(self, message: Message | None) -> None:
        if isinstance(message, Files):
            self.watching.on_files(message.batch)
        elif isinstance(message, Report):
            self._on_report(message)
        elif isinstance(message, Exit):
            self._on_exit(message)
        elif isinstance(message, Signal):
            self.exit_code = 128 + message.signum
        elif isinstance(message, Command):
            message.reply(self._on_command(message.text))
        elif isinstance(message, WatchError):
            self.emit(Event("watch_error", {"message": message.message}))
            # Watch again soon, not at once: a lasting failure must not spin.
            self.health.timers.schedule(REARM, self.clock() + 0.5)

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

    # -- agents' own news -----------------------------------------------------------------------

    def _on_report(self, report: Report) -> None:
        new = self.fleet.on_report(report.agent, report.generation, report.message)
        self.prints.remember(new)
        if new and not {p.parent for p in new} <= set(self.watching.watched):
            self.watching.rearm()
        if report.message.get("t") == "ready" and self.fleet.is_current(
            report.agent, report.generation
        ):
            self.health.mark_ready(report.agent, "meshdev.ready()")

    def _on_exit(self, exit_: Exit) -> None:
        store = StateStore(self.project.private_dir)
        verdict = self.fleet.on_exit(exit_.agent, exit_.generation, exit_.returncode, store)
        if verdict == "retry_fresh":
            self._start_named([exit_.agent], "retry without restored state")
        elif verdict == "crashed":
            self.health.on_failure(exit_.agent, exit_.returncode, self.project.settings)
        self._exit_if_nothing_left()

    def _exit_if_nothing_left(self) -> None:
        """Without watching, nothing can bring a finished or broken agent back: exit."""
        if self.watching.active or self.fleet.everything_alive():
            return
        if not self.health.restart_pending():
            codes = [p.returncode or 0 for p in self.fleet.procs.values()]
            self.exit_code = 0 if not any(codes) else 1

    def _on_timer(self, key: Hashable) -> None:
        if key == RESYNC:
            self.watching.resync()
            return
        if key == REARM:
            self.watching.rearm(force=True)
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
            self.inbox.put(Command(text, reply))

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
        self.watching.rearm()
        self._summarise(changed, plan)

    def _keep_last_good(self, plan: Plan, changed: list[Path]) -> Plan:
        """Agents that would load a file that does not compile keep running their last good
        version; the error is shown with file, line and code."""
        for problem in self.gate.update(p for p in changed if self.watching.gated(p)):
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
                self.watching.new_coalescer()
                self.emit(Event("config_reloaded", {"file": str(config)}))
            elif any(p.name == GITIGNORE for p in changed):
                self.project = rediscover(with_new_rules(self.project))
                self.emit(Event("config_reloaded", {"file": ".gitignore"}))
            elif any(self.watching.maybe_agent(p) for p in changed):
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
        later: list[Message] = []
        while True:
            try:
                message = self.inbox.get_nowait()
            except queue.Empty:
                break
            if isinstance(message, Report):
                self._on_report(message)
            else:
                later.append(message)
        for message in later:
            self.inbox.put(message)

    def _shutdown(self) -> int:
        self.shutting_down = True
        self.watching.close()
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
