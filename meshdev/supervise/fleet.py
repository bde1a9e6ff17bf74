"""The running agents: one process and one dependency picture per agent, started and stopped in
groups. Runs on the supervisor's thread only; process threads reach it through the queue.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshdev.decide.imports import ImportScanner, Picture, static_closure
from meshdev.decide.plan import DependencyIndex
from meshdev.events import Event, EventSink
from meshdev.processes.spawn import (
    AgentProcess,
    Sinks,
    Spawner,
    SpawnRequest,
    StopResult,
    clean_up_group,
    stop_all,
)
from meshdev.project.discovery import AgentDef
from meshdev.project.project import Project
from meshdev.project.statestore import StateStore
from meshdev.runtime import wiring


@dataclass
class Life:
    """What meshdev knows about the current process of one agent."""

    generation: int
    started: float
    restored: list[str] = field(default_factory=list)  # state keys handed over at start
    ready: bool = False
    ready_at: float | None = None
    stopping: bool = False  # meshdev asked it to stop: its exit is no crash
    timing: Timing | None = None  # set when this process replaces one for a reload


@dataclass(frozen=True)
class Timing:
    """The moments of one reload (monotonic seconds), completed when the new process is ready."""

    seen: float  # the first change of the batch arrived (or the manual reload was asked)
    decided: float  # the quiet time was over: stopping began
    stopped: float  # the old process group was gone


class Fleet:
    def __init__(
        self, spawner: Spawner, sinks: Sinks, emit: EventSink, clock: Callable[[], float]
    ) -> None:
        self.spawner = spawner
        self.sinks = sinks
        self.emit = emit
        self.clock = clock
        self.defs: dict[str, AgentDef] = {}
        self.procs: dict[str, AgentProcess] = {}
        self.pictures: dict[str, Picture] = {}
        self.generation: dict[str, int] = {}
        self.life: dict[str, Life] = {}
        self._prepared: set[Path] = set()  # state folders made ready in this run
        self.scanner = ImportScanner()
        self._index: DependencyIndex | None = None

    # -- starting and stopping ------------------------------------------------------------------

    def start(
        self,
        agents: Iterable[AgentDef],
        project: Project,
        reason: str,
        changes: Sequence[Path] = (),
        with_state: bool = True,
    ) -> None:
        for agent in agents:
            self.defs[agent.name] = agent
            self.pictures[agent.name] = Picture(self._closure(agent, project))
            self._spawn(agent, project, reason, changes, with_state)
        self._index = None

    def _spawn(
        self,
        agent: AgentDef,
        project: Project,
        reason: str,
        changes: Sequence[Path],
        with_state: bool,
    ) -> None:
        generation = self.generation.get(agent.name, 0) + 1
        self.generation[agent.name] = generation
        wiring_env = _runtime_env(agent, project, changes, with_state, self._prepared)
        env = {**dict(agent.env), **wiring_env}
        request = SpawnRequest(agent.name, generation, agent.script, agent.args, env, project.root)
        try:
            process = self.spawner.spawn(request, self.sinks)
        except OSError as exc:
            self.emit(Event("warning", {"message": f"{agent.name}: could not start: {exc}"}))
            return
        self.procs[agent.name] = process
        self.life[agent.name] = Life(generation, process.started)
        self.emit(
            Event(
                "agent_started",
                {
                    "agent": agent.name,
                    "pid": process.pid,
                    "generation": generation,
                    "reason": reason,
                },
            )
        )

    def stop(self, names: Iterable[str], grace_seconds: float, reason: str) -> list[StopResult]:
        targets = [self.procs[n] for n in names if n in self.procs and self._still_there(n)]
        for process in targets:
            life = self.life.get(process.agent)
            if life is not None and life.generation == process.generation:
                life.stopping = True
        results = stop_all(targets, grace_seconds)
        for result in results:
            self.emit(
                Event(
                    "agent_stopped",
                    {
                        "agent": result.agent,
                        "pid": result.pid,
                        "returncode": result.returncode,
                        "killed": result.killed,
                        "seconds": round(result.seconds, 4),
                        "reason": reason,
                    },
                )
            )
        return results

    def is_running(self, name: str) -> bool:
        process = self.procs.get(name)
        return process is not None and not process.exited.is_set()

    def _still_there(self, name: str) -> bool:
        process = self.procs[name]
        return not process.exited.is_set() or process.group_alive()

    def forget(self, names: Iterable[str]) -> None:
        for name in names:
            for table in (self.defs, self.procs, self.pictures):
                table.pop(name, None)
        self._index = None

    def everything_alive(self) -> list[AgentProcess]:
        """Processes that still run or whose group still has members (for shutdown)."""
        return [self.procs[name] for name in self.procs if self._still_there(name)]

    # -- what the processes tell ----------------------------------------------------------------

    def is_current(self, agent: str, generation: int) -> bool:
        return self.generation.get(agent) == generation and agent in self.procs

    def on_report(self, agent: str, generation: int, message: dict[str, Any]) -> set[Path]:
        """Record what the process said; return newly reported files (their folders may need
        watching)."""
        kind = message.get("t")
        if kind in _STATE_EVENTS and agent in self.defs:
            # A stopping process reports its final save after its successor was started.
            fields = {k: v for k, v in message.items() if k != "t"}
            self.emit(Event(_STATE_EVENTS[kind], {"agent": agent, **fields}))
            return set()
        if not self.is_current(agent, generation):
            return set()
        if kind == "files":
            return self._record_files(agent, message)
        if kind == "state":
            self._record_restored(agent, message)
        return set()

    def _record_files(self, agent: str, message: dict[str, Any]) -> set[Path]:
        picture = self.pictures[agent]
        before = picture.files()
        picture.loaded.update(_paths(message.get("loaded")))
        picture.written.update(_paths(message.get("written")))
        picture.opened.update(_paths(message.get("opened")))
        picture.opened -= picture.written
        new = picture.files() - before
        if new or message.get("written"):
            self._index = None
        return new

    def _record_restored(self, agent: str, message: dict[str, Any]) -> None:
        keys = [str(k) for k in message.get("restored") or []]
        self.life[agent].restored = keys
        if keys:
            self.emit(Event("state_restored", {"agent": agent, "keys": keys}))

    def on_exit(self, agent: str, generation: int, returncode: int, store: StateStore) -> str:
        """An exit nobody asked for: 'ignored' (stale or expected), 'crashed', 'finished', or
        'retry_fresh' when restored state probably made the start-up crash (it is set aside)."""
        process = self.procs.get(agent)
        if process is None or not self.is_current(agent, generation) or self.life[agent].stopping:
            return "ignored"
        clean_up_group(process)
        self.emit(
            Event("agent_exited", {"agent": agent, "pid": process.pid, "returncode": returncode})
        )
        if returncode == 0:
            return "finished"
        life = self.life[agent]
        if life.restored and not life.ready:
            moved = store.set_aside(agent, "crashed")
            self.emit(
                Event(
                    "warning",
                    {
                        "message": (
                            f"{agent} crashed while starting with restored state; state set aside "
                            f"({moved}) and {agent} restarts once without it"
                        )
                    },
                )
            )
            return "retry_fresh"
        return "crashed"

    # -- dependency pictures --------------------------------------------------------------------

    def _closure(self, agent: AgentDef, project: Project) -> Any:
        roots = (agent.search_root, project.root)
        return static_closure(self.scanner, agent.script, roots, project.root)

    def refresh_closures(self, project: Project, names: Iterable[str] | None = None) -> None:
        for name in names if names is not None else list(self.defs):
            agent, picture = self.defs.get(name), self.pictures.get(name)
            if agent is not None and picture is not None:
                picture.closure = self._closure(agent, project)
        self._index = None

    def index(self) -> DependencyIndex:
        if self._index is None:
            files = {n: p.files() for n, p in self.pictures.items()}
            outputs = {path for p in self.pictures.values() for path in p.written}
            self._index = DependencyIndex(files, outputs)
        return self._index

    def picture_dirs(self) -> set[Path]:
        return {path.parent for picture in self.pictures.values() for path in picture.files()}


def _paths(value: Any) -> list[Path]:
    return [Path(p) for p in value] if isinstance(value, list) else []


_STATE_EVENTS = {"saved": "state_saved", "state_warning": "state_warning"}


def _runtime_env(
    agent: AgentDef,
    project: Project,
    changes: Sequence[Path],
    with_state: bool,
    prepared: set[Path],
) -> dict[str, str]:
    """How the runtime inside the agent finds meshdev (see runtime/wiring.py)."""
    settings = project.settings
    env = {
        wiring.AGENT: agent.name,
        wiring.ROOT: str(project.root),
        wiring.START_INFO: str(_write_start_info(project, agent.name, changes)),
        wiring.GRACE_MS: str(settings.stop_grace_ms),
    }
    if with_state and settings.preserve_state:
        store = StateStore(project.private_dir)
        if store.private_dir not in prepared:  # once per run: not I/O at every start
            store.prepare()
            prepared.add(store.private_dir)
        env[wiring.STATE_FILE] = str(store.file_for(agent.name))
        env[wiring.STATE_SECRET] = str(store.secret_path)
        env[wiring.CHECKPOINT_MS] = str(settings.checkpoint_interval_ms)
        env[wiring.STATE_WARN_BYTES] = str(settings.state_warn_mb * 1_000_000)
    return env


def _write_start_info(project: Project, agent: str, changes: Sequence[Path]) -> Path:
    """The changed paths go through a private file, never an environment variable (E2BIG)."""
    folder = project.private_dir / "run"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{agent}.json"
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"changes": [str(p) for p in changes]}, handle)
    os.replace(tmp, path)
    return path
