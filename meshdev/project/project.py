"""A project as meshdev sees it: root, configuration, settings, watch rules and agents."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from meshdev.problems import UsageError
from meshdev.project import gitignore
from meshdev.project.config import FileConfig, find_config, load_config
from meshdev.project.discovery import Discovery, discover
from meshdev.project.patterns import RulesInput, WatchRules
from meshdev.project.settings import Flags, Settings, resolve


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
    config = (cwd / config_path).resolve() if config_path is not None else None
    project = load_project([target], config, env, flags, mcp_root(target))
    return _only_the_server(replace(project, serves_mcp=True))


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


def reload_config(project: Project, env: Mapping[str, str], flags: Flags) -> Project:
    """The same project with its .meshwatch read again; UsageError leaves the caller's as it was."""
    assert project.config.path is not None
    config = load_config(project.config.path)
    settings = resolve(config, env, flags)
    discovery = discover(project.paths, config)
    project_ = _only_the_server(
        replace(project, config=config, settings=settings, discovery=discovery, rules_cache=None)
    )
    project_.rules  # noqa: B018 - a broken pattern must fail here, while the old config still runs
    return project_


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
    full = (cwd / path).resolve()
    if not full.exists():
        raise UsageError.single(str(path), "no such file or folder; check the path")
    return full


def _config(targets: tuple[Path, ...], config_path: Path | None, cwd: Path) -> FileConfig:
    if config_path is not None:
        full = (cwd / config_path).resolve()
        if not full.is_file():
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
