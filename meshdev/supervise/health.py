"""Is each agent up? Readiness, crash backoff and circuit breakers, on the supervisor's thread.

A start is complete when the process called `meshdev.ready()`, when its `ready_port` accepts a
TCP connection, or — for an agent that signals nothing — when it stayed alive `startup_period`.
An agent seen calling `meshdev.ready()` once is waited for up to `ready_timeout` afterwards; not
ready in time is a failed start. Failures go to the agent's breaker (see breaker.py).
"""

from __future__ import annotations

import re
import socket
import threading
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path

from meshdev.decide.breaker import Breaker, Opened, Policy, Retry
from meshdev.decide.timers import Timers
from meshdev.events import Event, EventSink
from meshdev.project.discovery import AgentDef
from meshdev.project.settings import Settings
from meshdev.supervise.fleet import Fleet, Timing

_TAIL_LINES = 15
_PROBE_EVERY = 0.05
_TRACEBACK_FILE = re.compile(r'File "([^"]+)", line (\d+)')


@dataclass(frozen=True)
class Restart:
    agent: str


@dataclass(frozen=True)
class FailedStart:
    agent: str


Action = Restart | FailedStart | None


def policy_of(settings: Settings) -> Policy:
    return Policy(
        max_failures=max(1, settings.crash_limit),
        window=settings.crash_window_ms / 1000,
        backoff=settings.backoff_ms / 1000,
        backoff_max=settings.backoff_max_ms / 1000,
        healthy_after=settings.healthy_after_ms / 1000,
    )


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.05):
            return True
    except OSError:
        return False


class Health:
    def __init__(self, fleet: Fleet, emit: EventSink, clock: Callable[[], float]) -> None:
        self.fleet = fleet
        self.emit = emit
        self.clock = clock
        self.timers = Timers()
        self.breakers: dict[str, Breaker] = {}
        self.signals_ready: set[str] = set()
        self._tails: dict[str, deque[str]] = {}
        self._tails_lock = threading.Lock()

    # -- output (called from reader threads) ----------------------------------------------------

    def record_line(self, agent: str, stream: str, text: str) -> None:
        if stream == "err":
            with self._tails_lock:
                self._tails.setdefault(agent, deque(maxlen=_TAIL_LINES)).append(text)

    def tail(self, agent: str) -> list[str]:
        with self._tails_lock:
            return list(self._tails.get(agent, ()))

    # -- readiness ------------------------------------------------------------------------------

    def started(self, agent: AgentDef, settings: Settings) -> None:
        """A new process of `agent` was spawned: arm the checks that will call it ready."""
        life = self.fleet.life.get(agent.name)
        if life is None:
            return
        now, key = self.clock(), (agent.name, life.generation)
        with self._tails_lock:
            self._tails.pop(agent.name, None)
        if agent.ready_port is not None or agent.name in self.signals_ready:
            self.timers.schedule(("timeout", *key), now + settings.ready_timeout_ms / 1000)
        if agent.ready_port is not None:
            self.timers.schedule(("probe", *key), now)
        elif agent.name not in self.signals_ready:
            self.timers.schedule(("alive", *key), now + settings.startup_period_ms / 1000)

    def on_timer(self, key: Hashable, agents: dict[str, AgentDef], settings: Settings) -> Action:
        assert isinstance(key, tuple)
        kind, name = key[0], key[1]
        if kind == "restart":
            return Restart(name)
        generation = key[2]
        life = self.fleet.life.get(name)
        if life is None or life.ready or not self.fleet.is_current(name, generation):
            return None
        if kind == "alive":
            self.mark_ready(name, f"alive for {settings.startup_period_ms / 1000:g} s")
        elif kind == "probe":
            self._probe(agents.get(name), key)
        elif kind == "timeout":
            self.emit(
                Event("start_timeout", {"agent": name, "seconds": settings.ready_timeout_ms / 1000})
            )
            return FailedStart(name)
        return None

    def _probe(self, agent: AgentDef | None, key: tuple[Hashable, ...]) -> None:
        if agent is None or agent.ready_port is None:
            return
        if port_open(agent.ready_port):
            self.mark_ready(agent.name, f"port {agent.ready_port} open")
        else:
            self.timers.schedule(key, self.clock() + _PROBE_EVERY)

    def mark_ready(self, name: str, how: str) -> None:
        if how == "meshdev.ready()":
            self.signals_ready.add(name)  # from now on, wait for it (up to ready_timeout)
        life, process = self.fleet.life.get(name), self.fleet.procs.get(name)
        if life is None or process is None or life.ready:
            return
        life.ready = True
        life.ready_at = self.clock()
        self.timers.cancel_where(lambda k: _about(k, name, life.generation))
        seconds = round(life.ready_at - process.started, 4)
        self.emit(
            Event(
                "agent_ready", {"agent": name, "pid": process.pid, "seconds": seconds, "how": how}
            )
        )
        if life.timing is not None:
            self.emit(
                Event("reload_timing", _split(name, life.timing, process.started, life.ready_at))
            )
        if self._breaker(name).on_ready():
            self.emit(Event("circuit_closed", {"agent": name}))

    # -- failures -------------------------------------------------------------------------------

    def on_failure(self, name: str, returncode: int | None, settings: Settings) -> None:
        """A crash or a failed start: restart after a backoff, or open the circuit."""
        life = self.fleet.life.get(name)
        now = self.clock()
        ran_for = now - life.ready_at if life and life.ready_at is not None else None
        self._note_traceback_files(name)
        decision = self._breaker(name, settings).on_failure(now, ran_for)
        if isinstance(decision, Retry):
            self.timers.schedule(("restart", name), now + decision.delay)
            self.emit(
                Event(
                    "restart_scheduled",
                    {
                        "agent": name,
                        "delay": decision.delay,
                        "failures": decision.failures,
                        "limit": settings.crash_limit,
                        "window": settings.crash_window_ms / 1000,
                    },
                )
            )
        elif isinstance(decision, Opened):
            self.emit(
                Event(
                    "circuit_open",
                    {
                        "agent": name,
                        "returncode": returncode,
                        "failures": decision.failures,
                        "window": settings.crash_window_ms / 1000,
                        "stderr": self.tail(name),
                    },
                )
            )

    def _note_traceback_files(self, name: str) -> None:
        """Files named in the crash's traceback join the agent's picture: fixing them retries."""
        picture = self.fleet.pictures.get(name)
        if picture is None:
            return
        for line in self.tail(name):
            for found, _ in _TRACEBACK_FILE.findall(line):
                path = Path(found)
                if path.is_file():
                    picture.loaded.add(path)

    def on_change(self, name: str, files: list[str]) -> None:
        """The agent is about to restart for a change: it is also an open circuit's one trial."""
        self.timers.cancel(("restart", name))
        if self._breaker(name).on_change():
            self.emit(Event("circuit_half_open", {"agent": name, "files": files}))

    def restart_pending(self) -> bool:
        return any(isinstance(k, tuple) and k[0] == "restart" for k in self.timers.pending())

    def forget(self, name: str) -> None:
        self.timers.cancel_where(lambda k: _about(k, name))
        self.breakers.pop(name, None)

    def _breaker(self, name: str, settings: Settings | None = None) -> Breaker:
        breaker = self.breakers.get(name)
        if breaker is None:
            breaker = Breaker(policy_of(settings) if settings else Policy())
            self.breakers[name] = breaker
        elif settings is not None:
            breaker.policy = policy_of(settings)
        return breaker


def _split(name: str, timing: Timing, started: float, ready: float) -> dict[str, object]:
    """change seen -> (quiet) -> stopping began -> (stop) -> old gone -> (spawn) -> started ->
    (start-up) -> ready."""
    return {
        "agent": name,
        "quiet": round(timing.decided - timing.seen, 4),
        "stop": round(timing.stopped - timing.decided, 4),
        "spawn": round(started - timing.stopped, 4),
        "startup": round(ready - started, 4),
        "total": round(ready - timing.seen, 4),
    }


def _about(key: Hashable, name: str, generation: int | None = None) -> bool:
    """Is this timer about that agent (and that process of it)?"""
    if not isinstance(key, tuple) or len(key) < 2 or key[1] != name:
        return False
    return generation is None or key[2:] == (generation,)
