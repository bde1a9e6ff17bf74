"""Is each agent up? Readiness, crash backoff and circuit breakers, on the loop's thread.

A start is complete when the process called `meshdev.ready()`, when its `ready_port` accepts a
TCP connection, or — for an agent that signals nothing — when it stayed alive `startup_period`.
An agent seen calling `meshdev.ready()` once is waited for up to `ready_timeout` afterwards; not
ready in time is a failed start. Failures go to the agent's breaker (see decide/breaker.py).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence

from meshdev.decide.breaker import Breaker, Opened, Policy, Retry
from meshdev.decide.timers import (
    ProbePort,
    ReadyDeadline,
    ReadyIfAlive,
    RestartAfterBackoff,
    Timers,
)
from meshdev.events import Event, EventSink
from meshdev.project.discovery import AgentDef
from meshdev.project.settings import Settings
from meshdev.supervise.fleet import Fleet, Life, Timing

_TAIL_LINES = 15
_PROBE_EVERY = 0.05
ReadinessTimer = ReadyIfAlive | ProbePort | ReadyDeadline


class Health:
    def __init__(
        self,
        fleet: Fleet,
        timers: Timers,
        port_open: Callable[[int], bool],
        emit: EventSink,
        clock: Callable[[], float],
    ) -> None:
        self.fleet = fleet
        self.timers = timers  # the loop's: health schedules, the loop dispatches
        self.port_open = port_open
        self.emit = emit
        self.clock = clock
        self.breakers: dict[str, Breaker] = {}
        self.signals_ready: set[str] = set()
        self._tails: dict[str, deque[str]] = {}
        self._tails_lock = threading.Lock()  # lines arrive on the processes' reader threads

    def record_lines(self, agent: str, stream: str, lines: Sequence[str]) -> None:
        if stream == "err":
            with self._tails_lock:
                self._tails.setdefault(agent, deque(maxlen=_TAIL_LINES)).extend(lines)

    def tail(self, agent: str) -> list[str]:
        with self._tails_lock:
            return list(self._tails.get(agent, ()))

    def new_tail(self, agent: str) -> None:
        """Before a process of `agent` is spawned: a forked one can crash, and its traceback be
        read, before the spawn has even returned."""
        with self._tails_lock:
            self._tails.pop(agent, None)

    def started(self, agent: AgentDef, life: Life, settings: Settings, told: bool = False) -> None:
        """A new process of `agent` was spawned: arm the checks that will call it ready.
        `told`: its readiness will be reported (by the MCP front), not guessed."""
        now, name, generation = self.clock(), agent.name, life.generation
        if told:
            self.signals_ready.add(name)
        if agent.ready_port is not None or name in self.signals_ready:
            self.timers.schedule(
                ReadyDeadline(name, generation), now + settings.ready_timeout_ms / 1000
            )
        if agent.ready_port is not None:
            self.timers.schedule(ProbePort(name, generation), now)
        elif name not in self.signals_ready:
            self.timers.schedule(
                ReadyIfAlive(name, generation), now + settings.startup_period_ms / 1000
            )

    def on_timer(self, key: ReadinessTimer, agent: AgentDef | None, settings: Settings) -> bool:
        """A readiness check is due; True when it says the start failed."""
        life = self.fleet.life_of(key.agent, key.generation)
        if life is None or life.ready:
            return False
        if isinstance(key, ReadyIfAlive):
            self.mark_ready(key.agent, f"alive for {settings.startup_period_ms / 1000:g} s")
        elif isinstance(key, ProbePort):
            self._probe(agent, key)
        else:
            seconds = settings.ready_timeout_ms / 1000
            self.emit(Event("start_timeout", {"agent": key.agent, "seconds": seconds}))
            return True
        return False

    def _probe(self, agent: AgentDef | None, key: ProbePort) -> None:
        if agent is None or agent.ready_port is None:
            return
        if self.port_open(agent.ready_port):
            self.mark_ready(agent.name, f"port {agent.ready_port} open")
        else:
            self.timers.schedule(key, self.clock() + _PROBE_EVERY)

    def mark_ready(
        self, name: str, how: str, signalled: bool = False, held: Mapping[str, float] | None = None
    ) -> None:
        """`signalled`: the agent said so itself (from now on, wait for it up to ready_timeout)."""
        if signalled:
            self.signals_ready.add(name)
        life, handle = self.fleet.life_of(name), self.fleet.handle_of(name)
        # An exit not handled yet (its message still queued) is no readiness either.
        if life is None or life.ready or (handle is not None and handle.has_exited()):
            return
        life.ready, life.ready_at = True, self.clock()
        self.timers.cancel_agent(name, life.generation)
        seconds = round(life.ready_at - life.started, 4)
        self.emit(
            Event("agent_ready", {"agent": name, "pid": life.pid, "seconds": seconds, "how": how})
        )
        if life.timing is not None:
            split = _split(name, life.timing, life.started, life.ready_at)
            self.emit(Event("reload_timing", {**split, **(held or {})}))
        if self._breaker(name).on_ready():
            self.emit(Event("circuit_closed", {"agent": name}))

    def on_failure(self, name: str, returncode: int | None, settings: Settings) -> None:
        """A crash or a failed start: restart after a backoff, or open the circuit."""
        life = self.fleet.life_of(name)
        now = self.clock()
        ran_for = now - life.ready_at if life and life.ready_at is not None else None
        decision = self._breaker(name, settings).on_failure(now, ran_for)
        window = settings.crash_window_ms / 1000
        if isinstance(decision, Retry):
            self.timers.schedule(RestartAfterBackoff(name), now + decision.delay)
            retry = {"delay": decision.delay, "failures": decision.failures}
            limits = {"limit": settings.crash_limit, "window": window}
            self.emit(Event("restart_scheduled", {"agent": name, **retry, **limits}))
        elif isinstance(decision, Opened):
            opened = {"returncode": returncode, "failures": decision.failures, "window": window}
            self.emit(Event("circuit_open", {"agent": name, **opened, "stderr": self.tail(name)}))

    def on_change(self, name: str, files: list[str]) -> None:
        """The agent is about to restart for a change: it is also an open circuit's one trial."""
        self.timers.cancel(RestartAfterBackoff(name))
        if self._breaker(name).on_change():
            self.emit(Event("circuit_half_open", {"agent": name, "files": files}))

    def forget(self, name: str) -> None:
        self.timers.cancel_agent(name)
        self.breakers.pop(name, None)

    def _breaker(self, name: str, settings: Settings | None = None) -> Breaker:
        breaker = self.breakers.get(name)
        if breaker is None:
            breaker = Breaker(policy_of(settings) if settings else Policy())
            self.breakers[name] = breaker
        elif settings is not None:
            breaker.policy = policy_of(settings)
        return breaker


def policy_of(settings: Settings) -> Policy:
    return Policy(
        max_failures=max(1, settings.crash_limit),
        window=settings.crash_window_ms / 1000,
        backoff=settings.backoff_ms / 1000,
        backoff_max=settings.backoff_max_ms / 1000,
        healthy_after=settings.healthy_after_ms / 1000,
    )


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
