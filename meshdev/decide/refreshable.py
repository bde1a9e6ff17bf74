"""reload_strategy refresh: which of the agents a batch restarts get their changed modules reloaded
in place instead, and why each of the others cannot. Pure.

A change can be refreshed when every file behind it is a module the agent imports (statically or at
run time) that the `refresh` patterns allow and the `restart` patterns do not name, and the agent's
current process has offered to refresh. Its own script, a file it opened, a file it watches, or
its settings changing are restarts; the reason is told.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from meshdev.project.patterns import PatternSpec
from meshdev.project.project import Project

Why = Callable[[str, Path], "str | None"]  # how agent NAME depends on PATH (Picture.why)
MODULE_USES = ("imports it", "loaded it at run time")


@dataclass(frozen=True)
class Split:
    refresh: Mapping[str, tuple[Path, ...]] = field(default_factory=dict)
    restart: Mapping[str, tuple[Path, ...]] = field(default_factory=dict)
    instead: Mapping[str, str] = field(default_factory=dict)  # agent -> why it restarts instead


def strategy_of(project: Project, name: str) -> str:
    agent = project.discovery.get(name)
    own = agent.reload_strategy if agent is not None else None
    return own or project.settings.reload_strategy


def split(
    restart: Mapping[str, tuple[Path, ...]],
    project: Project,
    why: Why,
    offering: Collection[str],
) -> Split:
    """`offering`: the agents whose running process answers the refresh signal."""
    allowed: _Allowed | None = None  # made once an agent is under refresh: most never are
    refresh: dict[str, tuple[Path, ...]] = {}
    rest: dict[str, tuple[Path, ...]] = {}
    instead: dict[str, str] = {}
    for name, causes in restart.items():
        if strategy_of(project, name) != "refresh":
            rest[name] = causes
            continue
        allowed = allowed or _Allowed(project)
        reason = _cannot(name, causes, why, allowed, offering)
        if reason is None:
            refresh[name] = causes
        else:
            rest[name], instead[name] = causes, reason
    return Split(refresh, rest, instead)


def _cannot(
    name: str, causes: tuple[Path, ...], why: Why, allowed: _Allowed, offering: Collection[str]
) -> str | None:
    if not causes:
        return "its settings changed"
    for path in causes:
        rel = allowed.relative(path)
        how = why(name, path)
        if how == "its own script":
            return f"{rel} is its own script"
        if how not in MODULE_USES:
            return f"{rel} is not a module it imports ({how or 'a file it watches'})"
        if not allowed.may_refresh(rel):
            return f"{rel} is to restart (the refresh and restart patterns)"
    if name not in offering:
        return "its process has not offered a refresh (still starting, or busy)"
    return None


class _Allowed:
    def __init__(self, project: Project) -> None:
        config = project.config
        self.rules = project.rules
        self.refresh = None if config.refresh is None else PatternSpec("refresh", config.refresh)
        self.restart = PatternSpec("restart", config.restart)

    def relative(self, path: Path) -> str:
        return self.rules.relative(path) or str(path)

    def may_refresh(self, rel: str) -> bool:
        if self.restart.patterns and self.restart.deciding(rel) is not None:
            return False
        return self.refresh is None or self.refresh.deciding(rel) is not None
