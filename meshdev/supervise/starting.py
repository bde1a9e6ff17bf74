"""What one start of an agent is told: the request the spawner gets, built the same way for the
fleet's starts and for the first starts `compose.py` begins before the loop exists (the two
must be equal for a first start to be adopted: `processes/early.py`).

Light on purpose: imported before the first spawn, so nothing of the loop comes with it.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from meshdev.decide.dependencies import MCP_SDKS, Dependencies
from meshdev.decide.refreshable import strategy_of
from meshdev.interfaces import SpawnRequest
from meshdev.project.discovery import AgentDef
from meshdev.project.project import Project
from meshdev.project.statestore import Prepared, StateStore, file_stem
from meshdev.runtime import private, protocol

Warn = Callable[[str, str], None]  # a key (said once per run), the message


def fronted(agent: AgentDef, deps: Dependencies) -> bool:
    """Behind the HTTP front: its listening sockets move to private ports."""
    if agent.front is not None:
        return agent.front
    return not agent.speaks_mcp and deps.imports_any(agent.name, MCP_SDKS)


def spawn_request(
    agent: AgentDef,
    project: Project,
    generation: int,
    prepared: Prepared,
    warn: Warn,
    changes: Sequence[Path] = (),
    fronted: bool = False,
    beside: bool = False,
) -> SpawnRequest:
    """`beside`: the process waits for the handover (runtime/handover.py)."""
    channel = _runtime_env(agent, project, changes, prepared, warn)
    if fronted:
        channel[protocol.FRONT] = "http"
    if beside:
        channel[protocol.HANDOVER] = "1"
    strategy = strategy_of(project, agent.name)
    if strategy == "refresh":
        channel[protocol.REFRESH] = "1"
    return SpawnRequest(
        agent.name,
        generation,
        agent.script,
        agent.args,
        {**dict(agent.env), **channel},
        project.root,
        agent.speaks_mcp,
        warm=strategy != "restart",  # a refresh that cannot be is a warm restart
    )


def first_requests(project: Project) -> tuple[list[SpawnRequest], Prepared]:
    """Each agent's first start, as the fleet will ask for it, and the private place they were
    given (its warnings not told yet: the fleet tells them)."""
    prepared = StateStore(project.private_dir).prepare()
    deps = Dependencies(project.root)
    requests = []
    for agent in project.discovery.agents:
        deps.track(agent)
        requests.append(
            spawn_request(agent, project, 1, prepared, _silent, fronted=fronted(agent, deps))
        )
    return requests, prepared


def _silent(key: str, message: str) -> None:
    """A start file that cannot be written is told by the fleet's own request, which fails the
    same way."""


def _runtime_env(
    agent: AgentDef, project: Project, changes: Sequence[Path], prepared: Prepared, warn: Warn
) -> dict[str, str]:
    """How the runtime inside the agent finds meshdev (see runtime/protocol.py)."""
    settings = project.settings
    env = {
        protocol.AGENT: agent.name,
        protocol.ROOT: str(project.root),
        protocol.GRACE_MS: str(settings.stop_grace_ms),
    }
    if prepared.place is not None:
        try:
            env[protocol.START_INFO] = str(_write_start_info(prepared.place, agent.name, changes))
        except OSError as exc:  # a full disk, a folder gone read-only: the agent starts anyway
            warn(
                "start_info",
                f"cannot write {agent.name}'s start file in {prepared.place / 'run'} ({exc}); "
                "agents start, but meshdev.changes() is empty until it can",
            )
    if settings.preserve_state and prepared.place is not None:
        store = StateStore(project.private_dir)
        env[protocol.STATE_FILE] = str(store.file_for(agent.name))
        env[protocol.STATE_SECRET] = str(store.secret_path)
        env[protocol.CHECKPOINT_MS] = str(settings.checkpoint_interval_ms)
        env[protocol.STATE_WARN_BYTES] = str(settings.state_warn_mb * 1_000_000)
    return env


def _write_start_info(place: Path, agent: str, changes: Sequence[Path]) -> Path:
    """The changed paths go through a private file, never an environment variable (E2BIG)."""
    folder = place / "run"
    path = folder / f"{file_stem(agent)}.json"
    tmp = folder / f"{file_stem(agent)}.tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()  # left by a killed meshdev; never written through, should it be a link
    try:
        with os.fdopen(private.create_file(str(tmp)), "w", encoding="utf-8") as handle:
            json.dump({"changes": [str(p) for p in changes]}, handle)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path
