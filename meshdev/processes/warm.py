"""The warm spawner: agents forked from a template that already imported their third-party
modules (`meshdev/runtime/template.py`), and a fresh interpreter whenever that is in doubt.

What an agent imports is recorded by its runtime when it exits (names in import order, none from
the project); the next start of that agent asks a template built for exactly its interpreter and
environment — so whatever a library reads from the environment at import is what a fresh start
would read. A template is built in the background the first time it is wanted (that start is
fresh), and again when it is stale: a folder of `sys.path` changed (`pip install`), or it died.
Any doubt — no record yet, a template still importing, one that found its imports unsafe (a
thread or a socket left behind), a start it did not answer — is a fresh start and one note.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from meshdev.interfaces import AgentHandle, Sinks, SpawnRequest, StopResult
from meshdev.processes.forked import ForkedProcess, Template
from meshdev.processes.spawn import (
    AgentProcess,
    SubprocessSpawner,
    grace_of,
    handover_end,
    start_relays,
)
from meshdev.project.statestore import file_stem
from meshdev.runtime import protocol

Note = Callable[[str, str], None]  # agent, what happened (a verbose line)
# meshdev's channel to each start: read (and removed) by the runtime in the agent, never at import
_PER_START = frozenset(protocol.ALL)


def template_key(env: Mapping[str, str]) -> str:
    """Agents whose environments differ only in meshdev's per-start variables share one."""
    stable = sorted((k, v) for k, v in env.items() if k not in _PER_START)
    return repr((sys.executable, stable))  # a dict key, never a file name: no digest needed


class WarmSpawner:
    """The `Spawner` seam: starts from a template where one is ready, fresh ones otherwise."""

    def __init__(self, note: Note, fresh: SubprocessSpawner | None = None) -> None:
        self._fresh = fresh or SubprocessSpawner()
        self._note = note
        self._records = Path(tempfile.mkdtemp(prefix="meshdev-warm-"))  # 0700
        self._templates: dict[str, Template] = {}
        self._next: dict[str, Template] = {}  # a successor being built: it imports more
        self._lock = threading.Lock()

    def spawn(self, request: SpawnRequest, sinks: Sinks) -> AgentHandle:
        record = self._record_of(request.agent)
        request = replace(request, env={**request.env, protocol.MODULES: str(record)})
        names = _read_names(record) if request.warm else []
        template = self._template_for(request, names) if names else None
        if template is not None:
            try:
                return self._forked(template, request, sinks)
            except OSError as exc:
                self._note(request.agent, f"fresh start: the warm template failed ({exc})")
        return self._fresh.spawn(request, sinks)

    def stop(self, handles: Sequence[AgentHandle], grace_seconds: float) -> list[StopResult]:
        return self._fresh.stop(handles, grace_seconds)

    def kill_now(self, handles: Sequence[AgentHandle]) -> None:
        self._fresh.kill_now(handles)

    def clean_up(self, handle: AgentHandle) -> None:
        self._fresh.clean_up(handle)

    def port_open(self, port: int) -> bool:
        return self._fresh.port_open(port)

    def memory(self, pid: int) -> int | None:
        return self._fresh.memory(pid)

    def ask_refresh(self, pid: int) -> bool:
        return self._fresh.ask_refresh(pid)

    def templates(self, successors: bool = False) -> list[Template]:
        """The templates serving, one per environment (and those being built to replace them)."""
        with self._lock:
            return [*self._templates.values(), *(self._next.values() if successors else ())]

    def close(self) -> None:
        with self._lock:
            templates = [*self._templates.values(), *self._next.values()]
            self._templates, self._next = {}, {}
        for template in templates:
            template.close()
        import shutil  # not before the first spawn: it imports the compression modules

        shutil.rmtree(self._records, ignore_errors=True)

    def _record_of(self, agent: str) -> Path:
        return self._records / f"{file_stem(agent)}.modules"

    def _template_for(self, request: SpawnRequest, names: list[str]) -> Template | None:
        """The ready template for this request, or None (building one when there is none).

        A template that lacks some of the agent's modules still serves (the agent imports them
        itself); one that has them all is built meanwhile and takes over once ready."""
        env = _template_env(request.env)
        key = template_key(env)
        with self._lock:
            current = self._promoted(key)
            why = "no warm template for its environment yet" if current is None else None
            why = why or current.why_not()  # type: ignore[union-attr]
            if why is None and current is not None:
                if current.lacks(names) and key not in self._next:
                    self._next[key] = Template(env, current.preload + names)
                return current
            hopeless = current is not None and current.unsafe and not current.lacks(names)
            if current is None or not (current.building or hopeless):
                self._templates[key] = Template(env, names)
        self._note(request.agent, f"fresh start: {why}")
        if current is not None and self._templates.get(key) is not current:
            current.close()
        return None

    def _promoted(self, key: str) -> Template | None:
        """The template for `key`, replaced by its successor once that one is ready."""
        successor = self._next.get(key)
        if successor is not None and not successor.building:
            del self._next[key]
            if successor.why_not() is None:
                previous, self._templates[key] = self._templates.get(key), successor
                if previous is not None:
                    previous.close()
            else:
                successor.close()
        return self._templates.get(key)

    def _forked(self, template: Template, request: SpawnRequest, sinks: Sinks) -> AgentProcess:
        env = {**os.environ, **request.env, "PYTHONUNBUFFERED": "1"}
        forked = ForkedProcess.start(template, request, env)
        grace = grace_of(request)
        process = AgentProcess(
            request.agent, request.generation, forked, forked.lifeline_fd, forked.started, grace
        )
        process.handover_fd = handover_end(request, forked.report_fd)
        start_relays(process, forked.report_fd, sinks, request.speaks_mcp)
        return process


def _template_env(env: Mapping[str, str]) -> dict[str, str]:
    """The template's environment: the agent's, without what changes at every start."""
    merged = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
    return {k: v for k, v in merged.items() if k not in _PER_START}


def _read_names(record: Path) -> list[str]:
    with contextlib.suppress(OSError, UnicodeDecodeError):
        return [line for line in record.read_text().splitlines() if line]
    return []
