"""The agents' running processes: one handle, generation and life per agent, started through the
spawner and stopped in groups. Runs on the loop's thread; process threads reach it by the inbox.

A process may be started beside its predecessor (an agent behind the MCP front, during a
reload): it waits for `hand_over`, and until then the loop hears nothing of it — its reports
and exit are held, and it is announced only once the predecessor is gone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from meshdev.events import Event, EventSink
from meshdev.interfaces import AgentHandle, Sinks, Spawner, StopResult, TellsAfterStart
from meshdev.project.discovery import AgentDef
from meshdev.project.project import Project
from meshdev.project.statestore import Prepared, StateStore
from meshdev.supervise.beside import Beside, Gate, HandsOver
from meshdev.supervise.starting import spawn_request


@dataclass(frozen=True)
class Timing:
    """The moments of one reload (monotonic seconds), completed when the new process is ready."""

    seen: float  # the first change of the batch arrived (or the manual reload was asked)
    decided: float  # the quiet time was over: stopping began
    stopped: float  # the old process group was gone (started beside it: the new one spawned)


@dataclass
class Life:
    """What meshdev knows about the current process of one agent."""

    generation: int
    started: float
    pid: int
    restored: list[str] = field(default_factory=list)  # state keys handed over at start
    ready: bool = False
    ready_at: float | None = None
    stopping: bool = False  # meshdev asked it to stop: its exit is no crash
    timing: Timing | None = None  # set when this process replaces one for a reload


class Fleet:
    def __init__(
        self,
        spawner: Spawner,
        sinks: Sinks,
        emit: EventSink,
        clock: Callable[[], float],
        places: Mapping[Path, Prepared] | None = None,
    ) -> None:
        """`places`: private places already made ready (for the first starts), their warnings
        still to be told."""
        self.spawner = spawner
        self.sinks = sinks
        self.emit = emit
        self.clock = clock
        self._known: set[str] = set()  # agents meshdev started (or tried to)
        self._handles: dict[str, AgentHandle] = {}
        self._generation: dict[str, int] = {}
        self._life: dict[str, Life] = {}
        self._beside: dict[str, Beside] = {}  # started beside a predecessor still stopping
        self._places: dict[Path, Prepared] = dict(places or {})  # made ready in this run
        self._untold = set(self._places)
        self._warned: set[str] = set()  # what a lasting failure (a full disk) has already said

    def start(
        self,
        agent: AgentDef,
        project: Project,
        reason: str,
        changes: Sequence[Path] = (),
        fronted: bool = False,
        beside: bool = False,
    ) -> Life | None:
        """`beside`: start the next process now, before the current one is stopped; the new one
        waits for `hand_over` (runtime/handover.py)."""
        self._known.add(agent.name)
        old = self._handles.get(agent.name)
        gate = Gate(self.sinks) if beside and old is not None else None
        generation = self._generation.get(agent.name, 0) + 1
        self._generation[agent.name] = generation
        prepared, held = self._prepared(project), gate is not None
        request = spawn_request(
            agent, project, generation, prepared, self._warn_once, changes, fronted, held
        )
        try:
            handle = self.spawner.spawn(request, gate.sinks() if gate else self.sinks)
        except OSError as exc:
            self.emit(Event("warning", {"message": f"{agent.name}: could not start: {exc}"}))
            return None
        self._handles[agent.name] = handle
        life = self._life[agent.name] = Life(generation, handle.started, handle.pid)
        self._spawned(handle, reason, gate, old)
        if isinstance(self.spawner, TellsAfterStart):
            self.spawner.start_told(handle)
        return life

    def _spawned(
        self, handle: AgentHandle, reason: str, gate: Gate | None, old: AgentHandle | None
    ) -> None:
        fields = {"agent": handle.agent, "pid": handle.pid, "generation": handle.generation}
        if gate is None or old is None:
            self.emit(Event("agent_started", {**fields, "reason": reason}))
            return
        self._beside[handle.agent] = Beside(gate, reason, self.clock(), old)
        self.emit(Event("agent_spawned", {**fields, "beside": old.pid}))

    def waits_for_handover(self, name: str) -> bool:
        return name in self._beside

    def hand_over(self, name: str) -> Life | None:
        """Its predecessor is gone: the process started beside it is told so, announced, and
        its held reports (and exit) go on to the loop."""
        beside = self._beside.pop(name, None)
        handle, life = self._handles.get(name), self._life.get(name)
        if beside is None or handle is None or life is None:
            return None
        if isinstance(handle, HandsOver):
            handle.hand_over()
        fields = {"agent": name, "pid": handle.pid, "generation": life.generation}
        overlap = round(self.clock() - beside.spawned, 4)  # how long it ran beside the old one
        self.emit(Event("agent_started", {**fields, "reason": beside.reason, "overlap": overlap}))
        beside.gate.open()
        return life

    def _prepared(self, project: Project) -> Prepared:
        """Once per run, not at every start: the place is made ready and its warnings told."""
        prepared = self._places.get(project.private_dir)
        if prepared is None:
            prepared = self._places[project.private_dir] = StateStore(project.private_dir).prepare()
            self._untold.add(project.private_dir)
        if project.private_dir in self._untold:
            self._untold.discard(project.private_dir)
            for message in prepared.warnings:
                self.emit(Event("warning", {"message": message}))
        return prepared

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self.emit(Event("warning", {"message": message}))

    def stop(self, names: Iterable[str], grace_seconds: float, reason: str) -> list[StopResult]:
        """Their processes (for one started beside its predecessor: that one), all at once."""
        found = [self._leaving(n) or self._handles.get(n) for n in names]
        targets = [h for h in found if h is not None and h.still_there()]
        for handle in targets:
            life = self._life.get(handle.agent)
            if life is not None and life.generation == handle.generation:
                life.stopping = True
        results = self.spawner.stop(targets, grace_seconds) if targets else []
        for result in results:
            fields = {"agent": result.agent, "pid": result.pid, "returncode": result.returncode}
            seconds = round(result.seconds, 4)
            self.emit(
                Event(
                    "agent_stopped",
                    {**fields, "killed": result.killed, "seconds": seconds, "reason": reason},
                )
            )
        return results

    def kill_now(self) -> None:
        self.spawner.kill_now(self.everything_alive())

    def known(self) -> list[str]:
        return sorted(self._known)

    def is_running(self, name: str) -> bool:
        handle = self._handles.get(name)
        return handle is not None and not handle.has_exited()

    def is_current(self, name: str, generation: int) -> bool:
        return self._generation.get(name) == generation and name in self._handles

    def handle_of(self, name: str) -> AgentHandle | None:
        return self._handles.get(name)

    def life_of(self, name: str, generation: int | None = None) -> Life | None:
        """The current process's life (only if it is that generation, when one is given)."""
        life = self._life.get(name)
        if life is None or name not in self._handles:
            return None
        return life if generation is None or life.generation == generation else None

    def forget(self, names: Iterable[str]) -> None:
        for name in names:
            self._known.discard(name)
            self._handles.pop(name, None)

    def everything_alive(self) -> list[AgentHandle]:
        """Processes that still run or whose group still has members (for shutdown)."""
        leaving = [b.predecessor for b in self._beside.values()]
        return [h for h in [*self._handles.values(), *leaving] if h.still_there()]

    def _leaving(self, name: str) -> AgentHandle | None:
        beside = self._beside.get(name)
        return beside.predecessor if beside is not None else None

    def returncodes(self) -> list[int]:
        return [h.returncode or 0 for h in self._handles.values()]

    def restored(self, name: str, generation: int, keys: Sequence[str]) -> None:
        life = self.life_of(name, generation)
        if life is not None:
            life.restored = list(keys)
            if keys:
                self.emit(Event("state_restored", {"agent": name, "keys": list(keys)}))

    def on_exit(self, name: str, generation: int, returncode: int, store: StateStore) -> str:
        """An exit nobody asked for: 'ignored' (stale or expected), 'crashed', 'finished', or
        'retry_fresh' when restored state probably made the start-up crash (it is set aside)."""
        life, handle = self.life_of(name, generation), self._handles.get(name)
        if life is None or handle is None or life.stopping:
            return "ignored"
        self.spawner.clean_up(handle)
        self.emit(
            Event("agent_exited", {"agent": name, "pid": handle.pid, "returncode": returncode})
        )
        if returncode == 0:
            return "finished"
        if life.restored and not life.ready:
            moved = store.set_aside(name, "crashed")
            message = (
                f"{name} crashed while starting with restored state; state set aside "
                f"({moved}) and {name} restarts once without it"
            )
            self.emit(Event("warning", {"message": message}))
            return "retry_fresh"
        return "crashed"
