"""Reaching the meshdev that runs a project, from another terminal (`meshdev reload`, `meshdev
state`, `meshdev debug why`): the project's own, else the one project below the current folder
that a meshdev runs (or that has saved state), as when `meshdev start examples/agents/` was typed
from the repository root.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from meshdev.problems import Problem, UsageError
from meshdev.project.nearby import PRIVATE, roots_below
from meshdev.project.project import agents_of, check_agent, project_root
from meshdev.project.statestore import StateStore
from meshdev.sources.commands import ControlError, send, socket_path


def ask(root: Path, text: str) -> str | None:
    """The running meshdev's answer to one command line; None when none runs for `root`."""
    try:
        return send(socket_path(root), text)
    except ControlError as exc:
        raise UsageError.single(str(root), str(exc)) from None
    except OSError:
        return None


def is_running(root: Path) -> bool:
    return ask(root, "ping") == "pong"


def command(project: Path | None, config: Path | None, text: str) -> tuple[Path, str | None]:
    """`meshdev reload`: (the project's root, the running meshdev's answer or None)."""
    cwd = Path.cwd()
    root = project_root(project, config, cwd)
    running = running_root(root, cwd, explicit=project is not None or config is not None)
    return root, ask(running, text) if running is not None else None


def running_root(root: Path, cwd: Path, explicit: bool) -> Path | None:
    """`root` when a meshdev runs for it; else, unless the project was named (`explicit`), the
    one project below `cwd` that a meshdev runs; None when there is none. UsageError when
    several run below `cwd`: which one is meant is the user's to say."""
    if is_running(root):
        return root
    if explicit:
        return None
    return one_of([r for r in roots_below(cwd) if r != root and is_running(r)], cwd)


def saved_state(
    project: Path | None, config: Path | None, env: Mapping[str, str], agent: str | None
) -> tuple[Path, list[dict[str, Any]]]:
    """`meshdev state show`: the project's root and each state file's entry, `gone` when its
    agent no longer exists; UsageError when `agent` names no agent and has no state."""
    cwd = Path.cwd()
    root, store = state_place(project, config, cwd)
    entries = store.describe(agent)
    names = agents_of(root, config, env, cwd)
    if not entries:
        check_agent(names, agent, root)
    for entry in entries:
        entry["gone"] = bool(names) and entry["agent"] not in names
    return root, entries


def clear_state(
    project: Path | None, config: Path | None, env: Mapping[str, str], agent: str | None
) -> list[Path]:
    """`meshdev state clear`: the files removed; UsageError as for `saved_state`."""
    cwd = Path.cwd()
    root, store = state_place(project, config, cwd)
    removed = store.clear(agent)
    if not removed:
        check_agent(agents_of(root, config, env, cwd), agent, root)
    return removed


def state_place(project: Path | None, config: Path | None, cwd: Path) -> tuple[Path, StateStore]:
    """The project whose saved state `meshdev state` means: the one of --project (or of the
    current folder); when it has none and was not named, the one project below the current
    folder that a meshdev runs, else the one below it that has saved state."""
    root = project_root(project, config, cwd)
    if project is not None or config is not None or _has_state(root):
        return root, _store(root)
    found = running_root(root, cwd, explicit=False)
    if found is None:
        found = one_of([r for r in roots_below(cwd) if r != root and _has_state(r)], cwd)
    return (found or root), _store(found or root)


def _store(root: Path) -> StateStore:
    return StateStore(root / PRIVATE)


def _has_state(root: Path) -> bool:
    return bool(_store(root).describe())


def one_of(roots: list[Path], cwd: Path) -> Path | None:
    if len(roots) <= 1:
        return roots[0] if roots else None
    shown = ", ".join(str(_relative(r, cwd)) for r in roots)
    message = f"several projects below this folder have a meshdev running ({shown}); say which one"
    raise UsageError([Problem(str(cwd), None, "--project", message)])


def _relative(path: Path, cwd: Path) -> Path:
    try:
        return path.relative_to(cwd)
    except ValueError:
        return path
