"""The one loop. File batches, agents' reports and exits, commands and signals arrive as messages;
the pure core decides (`decide/`), and the fleet carries the decision out.

`start()`, then `step(message)` for each message (None when only time passed), then `stop()`:
the real driver (`supervise/run.py`) feeds it from the inbox, `tests/histories/` from a script.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from meshdev._version import __version__
from meshdev.decide.dependencies import MCP_SDKS, Dependencies
from meshdev.decide.reload import Decider, Decision
from meshdev.decide.timers import (
    Rearm,
    RefreshDeadline,
    RestartAfterBackoff,
    Resync,
    TimerKey,
    Timers,
)
from meshdev.events import Event, EventSink
from meshdev.interfaces import Clock, Front, LinesSink, NoFront, Sinks, Spawner, WatcherFactory
from meshdev.project.project import Project, expecting_config
from meshdev.project.settings import Flags
from meshdev.project.statestore import Prepared, StateStore
from meshdev.sources.commands import understand
from meshdev.sources.messages import (
    AgentReport,
    Command,
    Exit,
    Files,
    Message,
    Quit,
    Report,
    Signal,
    WatchError,
)
from meshdev.sources.signals import signal_name
from meshdev.supervise import asked
from meshdev.supervise.execute import Executor
from meshdev.supervise.fleet import Fleet
from meshdev.supervise.health import Health
from meshdev.supervise.news import AgentNews
from meshdev.supervise.refreshing import Refresher
from meshdev.supervise.watching import Watching


@dataclass(frozen=True)
class Options:
    env: Mapping[str, str]
    flags: Flags
    own_files: frozenset[Path] = frozenset()  # meshdev's own outputs (--events): never a trigger
    places: Mapping[Path, Prepared] | None = None  # made ready for the first starts (compose.py)


class Supervisor:
    def __init__(
        self,
        project: Project,
        spawner: Spawner,
        make_watcher: WatcherFactory,
        emit: EventSink,
        on_lines: LinesSink,
        options: Options,
        clock: Clock = time.monotonic,
        front: Front | None = None,
    ) -> None:
        self.project = project
        self.make_watcher = make_watcher
        self.emit = emit
        self.on_lines = on_lines
        self.clock = clock
        self.inbox: queue.SimpleQueue[Message] = queue.SimpleQueue()  # reentrant: signal-safe
        self.timers = Timers()
        self.front = front or NoFront()
        self.front.attach(self._post_report)
        mcp = self.front.server_line
        sinks = Sinks(self._post_line, self._post_report, self._post_exit, mcp, self._post_lines)
        self.fleet = Fleet(spawner, sinks, emit, clock, options.places)
        self.deps = Dependencies(project.root)
        self.decider = Decider(options.env, options.flags)
        self.health = Health(self.fleet, self.timers, spawner.port_open, emit, clock)
        deps, decider, timers, prints = self.deps, self.decider, self.timers, self.decider.prints
        project_now, own = (lambda: self.project), options.own_files
        self.watching = Watching(project_now, deps, decider, timers, emit, clock, own)
        self.executor = Executor(self.fleet, deps, self.health, prints, self.front, emit, clock)
        self.refresher = Refresher(self.fleet, spawner, timers, emit, clock)
        parts = (self.front, self.health, self.refresher)
        self.news = AgentNews(self.fleet, deps, prints, self.watching, parts, emit, self._restart)
        self.exit_code: int | None = None
        self.shutting_down = False
        self.reloads = 0

    # -- from other threads: only enqueue ------------------------------------------------------

    def _post_lines(self, agent: str, stream: str, lines: Sequence[str]) -> None:
        self.health.record_lines(agent, stream, lines)
        self.on_lines(agent, stream, lines)

    def _post_line(self, agent: str, stream: str, text: str) -> None:
        self._post_lines(agent, stream, (text,))

    def _post_report(self, agent: str, generation: int, report: AgentReport) -> None:
        self.inbox.put(Report(agent, generation, report))

    def _post_exit(self, agent: str, generation: int, returncode: int) -> None:
        self.inbox.put(Exit(agent, generation, returncode))

    def post_signal(self, signum: int) -> None:
        if self.shutting_down:
            self.fleet.kill_now()  # a second Ctrl-C: no more waiting
        self.inbox.put(Signal(signum))

    # -- the loop ---------------------------------------------------------------------------------

    def start(self) -> None:
        self.emit(_started(self.project))
        self.executor.start(self.project.discovery.agents, self.project, "first start")
        if self.project.settings.hot_reload:
            self.watching.start(
                self.make_watcher,
                lambda batch: self.inbox.put(Files(batch)),
                lambda message: self.inbox.put(WatchError(message)),
            )
        else:
            self.emit(Event("watching", {"enabled": False, "dirs": 0, "reload_delay_ms": 0}))

    def step(self, message: Message | None) -> None:
        """Handle one message, then whatever has become due."""
        if message is not None:
            self._handle(message)
        for key in self.timers.pop_due(self.clock()):
            self._on_timer(key)
        coalescer = self.watching.coalescer
        if coalescer.due(self.clock()):
            seen = coalescer.first_seen() or self.clock()
            self._reload(coalescer.take(), seen)

    def next_deadline(self) -> float | None:
        due = (self.watching.coalescer.deadline(), self.timers.next_due())
        return min((d for d in due if d is not None), default=None)

    def stop(self) -> int:
        self.shutting_down = True
        self.watching.close()
        alive = self.fleet.everything_alive()
        grace = self.project.settings.stop_grace_ms / 1000
        self.fleet.stop([h.agent for h in alive], grace, reason="shutdown")
        self.front.stopped(self.fleet.known())
        self._drain()
        code = self.exit_code if self.exit_code is not None else 1
        fields = {"exit_code": code, "stopped": len(alive), "reloads": self.reloads}
        self.emit(Event("shutdown", {**fields, "signal": signal_name(code)}))
        return code

    def _handle(self, message: Message) -> None:
        if isinstance(message, Files):
            self.watching.on_files(message.batch)
        elif isinstance(message, Report):
            self.news.on_report(message)
        elif isinstance(message, Exit):
            self._on_exit(message)
        elif isinstance(message, Signal):
            self.exit_code = 128 + message.signum
        elif isinstance(message, Quit):
            self.exit_code = message.code
        elif isinstance(message, Command):
            message.reply(self._on_command(message.text))
        elif isinstance(message, WatchError):
            self.emit(Event("watch_error", {"message": message.message}))
            self.timers.schedule(Rearm(), self.clock() + 0.5)  # soon: a lasting fault must not spin

    # -- agents' own news ---------------------------------------------------------------------

    def _on_exit(self, exit_: Exit) -> None:
        store = StateStore(self.project.private_dir)
        verdict = self.fleet.on_exit(exit_.agent, exit_.generation, exit_.returncode, store)
        if verdict != "ignored":
            # A process that ended is never "ready": its readiness checks end with it.
            self.timers.cancel_agent(exit_.agent, exit_.generation)
            self.front.ended(exit_.agent, exit_.generation, exit_.returncode)
        if verdict == "finished":
            hint = _stdio_server_hint(self.project, self.deps, exit_.agent)
            if hint is not None:
                self.emit(Event("warning", {"message": hint}))
        elif verdict == "retry_fresh":
            self._start_named([exit_.agent], "retry without restored state")
        elif verdict == "crashed":
            self._failed(exit_.agent, exit_.returncode)
        self._exit_if_nothing_left()

    def _failed(self, name: str, returncode: int | None) -> None:
        self.deps.note_traceback(name, self.health.tail(name))
        self.health.on_failure(name, returncode, self.project.settings)

    def _exit_if_nothing_left(self) -> None:
        """Without watching, nothing can bring a finished or broken agent back: exit."""
        if self.watching.active or self.fleet.everything_alive() or self.timers.any_restart():
            return
        self.exit_code = 0 if not any(self.fleet.returncodes()) else 1

    def _on_timer(self, key: TimerKey) -> None:
        settings = self.project.settings
        if isinstance(key, Resync):
            self.watching.resync()
        elif isinstance(key, Rearm):
            self.watching.rearm(force=True)
        elif isinstance(key, RestartAfterBackoff):
            self._start_named([key.agent], "restart after a crash")
        elif isinstance(key, RefreshDeadline):
            self.refresher.timed_out(key, self._restart)
        elif self.health.on_timer(key, self.project.discovery.get(key.agent), settings):
            self.fleet.stop([key.agent], settings.stop_grace_ms / 1000, reason="not ready in time")
            self.front.ended(key.agent, key.generation, None)
            self._failed(key.agent, None)

    def _start_named(self, names: Iterable[str], reason: str) -> None:
        found = [a for a in map(self.project.discovery.get, names) if a is not None]
        self.executor.start(found, self.project, reason)

    # -- commands and reloads -----------------------------------------------------------------

    def _on_command(self, text: str) -> str:
        if asked.is_request(text):
            return asked.answer(text, self.deps)
        names, answer = understand(text, sorted(self.project.discovery.names()))
        if names:
            decision = self.decider.manual(names, self.project, self.deps)
            self._apply(decision, self.clock(), reason="manual reload")
        return answer

    def _reload(self, paths: list[Path], seen: float) -> None:
        project = expecting_config(self.project, paths)  # a .meshwatch created meanwhile
        self.deps.rescan()  # imports as the files are now, before a new process reports them
        self._drain()  # an agent's report of a new output may trail the output's own event
        known, offering = self.fleet.known(), self.refresher.offering()
        decision = self.decider.decide(paths, project, self.deps, known, offering)
        if decision.project is not None:
            self.project = decision.project
            self.watching.new_coalescer()  # empty now: its batch was just taken
        self._apply(decision, seen)
        self.watching.rearm()

    def _apply(self, decision: Decision, seen: float, reason: str | None = None) -> None:
        self.executor.tell(decision, self.project)
        self.refresher.tell(decision)
        self.executor.carry_out(decision, self.project, seen, self._drain, reason)
        self.refresher.ask(decision, self.project, seen, self._restart)
        if decision.restart:
            self.reloads += 1
        self.executor.summarise(decision, self.project)

    def _restart(self, name: str, reason: str) -> None:
        """A refresh that could not be: the usual restart, the last good code kept as ever."""
        decision = self.decider.manual([name], self.project, self.deps)
        self._apply(decision, self.clock(), reason=f"{reason}: restarted")

    def _drain(self) -> None:
        _handle_reports_now(self.inbox, self.news.on_report)


def _handle_reports_now(
    inbox: queue.SimpleQueue[Message], on_report: Callable[[Report], None]
) -> None:
    """Handle what stopped agents said last (their final state saves) now, before anything
    new starts; every other message waits its turn, in order."""
    later: list[Message] = []
    while True:
        try:
            message = inbox.get_nowait()
        except queue.Empty:
            break
        if isinstance(message, Report):
            on_report(message)
        else:
            later.append(message)
    for message in later:
        inbox.put(message)


def _started(project: Project) -> Event:
    config = project.config.path
    fields: dict[str, object] = {"version": __version__, "root": str(project.root)}
    fields["config"] = str(config) if config else None
    agents, hot_reload = sorted(project.discovery.names()), project.settings.hot_reload
    return Event("meshdev_started", {**fields, "agents": agents, "hot_reload": hot_reload})


def _stdio_server_hint(project: Project, deps: Dependencies, name: str) -> str | None:
    """An MCP server on stdio reads EOF at once under `meshdev start` and ends: say why."""
    agent = project.discovery.get(name)
    if agent is None or agent.speaks_mcp or not deps.imports_any(name, MCP_SDKS):
        return None
    script = project.rules.relative(agent.script) or str(agent.script)
    return (
        f"{name} finished at once: it looks like an MCP server on stdio, which ends when its "
        f"stdin closes; connect an MCP client to it with `meshdev mcp {script}` as the "
        "client's server command"
    )
