"""A project as meshdev sees it: root, configuration, settings, watch rules and agents."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from meshdev.problems import UsageError
from meshdev.project import gitignore
from meshdev.project.config import CONFIG_NAME, FileConfig, find_config, load_config
from meshdev.project.discovery import Discovery, discover, scan_folder
from meshdev.project.patterns import RulesInput, WatchRules
from meshdev.project.settings import Flags, Settings, resolve

NO_AGENTS = (
    'no agents found: an agent is a .py file with an `if __name__ == "__main__":` block or an '
    "agent decorator, or a folder with __main__.py (see `meshdev debug agents`)"
)


@dataclass(frozen=True)
class Project:
    root: Path
    paths: tuple[Path, ...]
    config: FileConfig
    settings: Settings
    discovery: Discovery
    serves_mcp: bool = False  # `meshdev mcp`: one agent, the first path, an MCP server on stdio
    # Made on first use: reading every .gitignore walks the tree, and agents start without it.
    rules_cache: WatchRules | None = field(default=None, compare=False, repr=False)

    @property
    def rules(self) -> WatchRules:
        if self.rules_cache is None:
            object.__setattr__(self, "rules_cache", make_rules(self.config, self.settings))
        assert self.rules_cache is not None
        return self.rules_cache

    @property
    def private_dir(self) -> Path:
        """meshdev's own files (never watched; users git-ignore it)."""
        return self.root / ".meshdev"


def load_project(
    paths: Sequence[Path],
    config_path: Path | None,
    env: Mapping[str, str],
    flags: Flags,
    cwd: Path,
) -> Project:
    """Everything `meshdev start` and `meshdev debug` need; UsageError on any bad input."""
    targets = tuple(_existing(p, cwd) for p in (paths or [cwd]))
    config = _config(targets, config_path, cwd)
    settings = resolve(config, env, flags)
    return Project(config.root, targets, config, settings, discover(targets, config))


def load_mcp_project(
    script: Path,
    config_path: Path | None,
    env: Mapping[str, str],
    flags: Flags,
    cwd: Path,
) -> Project:
    """`meshdev mcp SCRIPT`: clients start servers from any folder (often `/`), so the project is
    found from the script: the nearest `.meshwatch` upward, else the nearest folder holding `.git`,
    else the script's folder. Only the script runs, as an MCP server on stdio."""
    target = _existing(script, cwd)
    config = cwd / config_path if config_path is not None else None
    project = load_project([target], config, env, flags, mcp_root(target))
    served = _only_the_server(replace(project, serves_mcp=True))
    if not served.discovery.agents:
        raise UsageError.single(str(script), "not a .py file or a __main__ folder")
    return served


def mcp_root(script: Path) -> Path:
    found = find_config(script)
    if found is not None:
        return found.parent
    folder = script if script.is_dir() else script.parent
    return next((f for f in (folder, *folder.parents) if (f / ".git").exists()), folder)


def _only_the_server(project: Project) -> Project:
    if not project.serves_mcp:
        return project
    wanted = project.paths[0]
    agents = [
        replace(a, speaks_mcp=True)
        for a in project.discovery.agents
        if a.script in (wanted, wanted / "__main__.py")
    ]
    return replace(project, discovery=replace(project.discovery, agents=tuple(agents)))


def project_root(path: Path | None, config_path: Path | None, cwd: Path) -> Path:
    """The root a command about an existing project works on (no agent discovery needed)."""
    target = _existing(path or cwd, cwd)
    return _config((target,), config_path, cwd).root


def agents_of(root: Path, config_path: Path | None, env: Mapping[str, str], cwd: Path) -> set[str]:
    """The agents the project at `root` has now, as far as `meshdev state` can tell without the
    PATHs given to `start`: those at the root, in its folders (`agents/`) and in `.meshwatch`.
    Empty when the project cannot be read: its problems are `meshdev start`'s to tell."""
    config = cwd / config_path if config_path is not None else None
    try:
        names = load_project([root], config, env, Flags(), root).discovery.names()
    except UsageError:
        return set()
    for folder in _folders(root):
        names |= {agent.name for agent in scan_folder(folder)[0]}
    return names


def _folders(root: Path) -> list[Path]:
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return []
    return [e for e in entries if e.is_dir() and not e.name.startswith((".", "_"))]


def check_agent(names: set[str], agent: str | None, root: Path) -> None:
    """UsageError when `agent` is given and is not an agent of the project."""
    if agent is None or not names or agent in names:
        return
    known = ", ".join(sorted(names))
    raise UsageError.single(str(root), f"no agent named {agent!r} in this project ({known})")


def load_project_of(
    file: Path,
    paths: Sequence[Path],
    config_path: Path | None,
    env: Mapping[str, str],
    flags: Flags,
    cwd: Path,
) -> Project:
    """`debug why FILE`: without PATHs or --config, the project FILE belongs to (the nearest
    .meshwatch above it: its folder is the root, where agents are looked for), as `start` finds
    it from its first PATH; without one above FILE, the project of the current folder."""
    target = _resolved(cwd / file, str(file))  # a link that loops is told here, once
    if paths or config_path is not None:
        return load_project(paths, config_path, env, flags, cwd)
    found = find_config(target)
    if found is None:
        return load_project([], None, env, flags, cwd)
    return load_project([found.parent], found, env, flags, cwd)


def reload_config(project: Project, env: Mapping[str, str], flags: Flags) -> Project:
    """The same project with its .meshwatch read again; UsageError leaves the caller's as it was.

    A .meshwatch that is gone now means the defaults again (as if meshdev started without it)."""
    path = project.config.path or project.root / CONFIG_NAME
    gone = not os.path.lexists(path)
    config = FileConfig(path=None, root=project.root) if gone else load_config(path)
    settings = resolve(config, env, flags)
    discovery = discover(project.paths, config)
    project_ = _only_the_server(
        replace(project, config=config, settings=settings, discovery=discovery, rules_cache=None)
    )
    project_.rules  # noqa: B018 - a broken pattern must fail here, while the old config still runs
    return project_


def expecting_config(project: Project, changed: Iterable[Path]) -> Project:
    """A project started without a .meshwatch, once one appears at its root, has that file as
    its configuration (to read like any edit of it); otherwise the project as it is."""
    created = project.root / CONFIG_NAME
    if project.config.path is not None or created not in set(changed):
        return project
    return replace(project, config=replace(project.config, path=created))


def rediscover(project: Project) -> Project:
    return _only_the_server(replace(project, discovery=discover(project.paths, project.config)))


def make_rules(config: FileConfig, settings: Settings) -> WatchRules:
    given = RulesInput(
        root=config.root,
        include=config.include,
        exclude=config.exclude,
        log_only=config.log_only,
        extensions=settings.watch_extensions,
        agent_watch={a.name: a.watch for a in config.agents if a.watch},
    )
    if not settings.gitignore:
        return WatchRules(given)
    gitignores = gitignore.load(config.root, WatchRules(given).prunes_dir)
    return WatchRules(replace(given, gitignores=gitignores))


def with_new_rules(project: Project) -> Project:
    """The same project after a .gitignore changed."""
    return replace(project, rules_cache=None)


def _existing(path: Path, cwd: Path) -> Path:
    full = _resolved(cwd / path, str(path))
    if not full.exists():
        raise UsageError.single(str(path), "no such file or folder; check the path")
    return full


def _resolved(path: Path, shown: str) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symbolic link loop: RuntimeError before Python 3.13
        raise UsageError.single(shown, "is a symbolic link that loops; check the path") from None


def _config(targets: tuple[Path, ...], config_path: Path | None, cwd: Path) -> FileConfig:
    if config_path is not None:
        # The folder is resolved, not the file: a link named .meshwatch is read (and its
        # problems told) under its own name, and its folder is the root.
        given = cwd / config_path
        full = _resolved(given.parent, str(config_path)) / given.name
        if not os.path.lexists(full):
            raise UsageError.single(str(config_path), "no such file", "--config")
        return load_config(full)
    found = find_config(targets[0]) or find_config(cwd)
    if found is not None:
        return load_config(found)
    return FileConfig(path=None, root=_default_root(targets[0], cwd.resolve()))


def _default_root(first: Path, cwd: Path) -> Path:
    """Without a .meshwatch: the cwd when the agents are inside it, else the agents' folder."""
    if first == cwd or cwd in first.parents:
        return cwd
    return first if first.is_dir() else first.parent
