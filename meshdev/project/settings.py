"""Effective settings: command-line flag > environment > `.meshwatch` > default.

Pure: the environment is passed in as a mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from meshdev.problems import Problem, UsageError
from meshdev.project.config import FileConfig, normalise_extensions
from meshdev.project.keys import ENV_PREFIXES, SETTINGS, Setting, Unit

STRATEGIES = ("restart", "refresh")


@dataclass(frozen=True)
class Flags:
    """What the command line said; None means the flag was not given."""

    hot_reload: bool | None = None
    reload_delay: int | None = None
    preserve_state: bool | None = None


@dataclass(frozen=True)
class Settings:
    """One field per row of keys.SETTINGS that has an attribute; its default is in the table.

    Declared here (not generated) so that `settings.reload_delay_ms` type-checks for callers;
    tests/unit/test_settings_table.py keeps the two in step.
    """

    hot_reload: bool
    reload_delay_ms: int
    reload_max_delay_ms: int
    stop_grace_ms: int
    checkpoint_interval_ms: int
    state_warn_mb: int
    crash_limit: int
    crash_window_ms: int
    backoff_ms: int
    backoff_max_ms: int
    healthy_after_ms: int
    startup_period_ms: int
    ready_timeout_ms: int
    watch_extensions: tuple[str, ...]
    reload_strategy: str
    preserve_state: bool
    force_polling: bool | None  # None: decided by the watcher (auto on WSL)
    gitignore: bool
    poll_interval_ms: int


def env_value(env: Mapping[str, str], name: str) -> tuple[str, str] | None:
    """(variable actually set, its value) for MESHDEV_<name>, else its MCP_MESH_<name> alias."""
    for prefix in ENV_PREFIXES:
        var = prefix + name
        value = env.get(var)
        if value is not None and value.strip() != "":
            return var, value.strip()
    return None


def resolve(file: FileConfig, env: Mapping[str, str], flags: Flags) -> Settings:
    """Combine the four layers for every setting; raise UsageError naming each bad variable."""
    problems: list[Problem] = []
    layers = _Layers(file, env, flags, problems)
    settings = Settings(**{s.attribute: layers.pick(s) for s in SETTINGS if s.attribute})
    if settings.reload_strategy == "refresh":
        problems.append(
            Problem(
                "environment",
                None,
                "MESHDEV_RELOAD_STRATEGY",
                "'refresh' (in-process module swap) is not available yet; use 'restart'",
            )
        )
    if problems:
        raise UsageError(problems)
    return settings


class _Layers:
    """One setting's value: command-line flag > environment > `.meshwatch` > default."""

    def __init__(
        self, file: FileConfig, env: Mapping[str, str], flags: Flags, problems: list[Problem]
    ) -> None:
        self.file = file
        self.env = env
        self.flags = flags
        self.problems = problems

    def pick(self, setting: Setting) -> Any:
        flag = getattr(self.flags, setting.flag) if setting.flag else None
        if flag is not None:
            return flag
        from_env = self._from_env(setting)
        if from_env is not None:
            return from_env
        from_file = self.file.given(setting.key) if setting.key else None
        return from_file if from_file is not None else setting.default

    def _from_env(self, setting: Setting) -> object | None:
        """The parsed variable; None if unset or bad (a bad one is a problem, then ignored)."""
        found = env_value(self.env, setting.env) if setting.env else None
        if found is None:
            return None
        var, raw = found
        try:
            return _PARSERS[setting.unit](raw)
        except ValueError as exc:
            self.problems.append(Problem("environment", None, var, f"{exc} (got {raw!r})"))
            return None


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in _TRUE | _FALSE:
        return lowered in _TRUE
    raise ValueError("must be true or false")


def _ms(raw: str) -> int:
    if not raw.isdigit():
        raise ValueError("must be a whole number of milliseconds")
    return int(raw)


def _whole(raw: str) -> int:
    if not raw.isdigit():
        raise ValueError("must be a whole number")
    return int(raw)


def _extensions(raw: str) -> tuple[str, ...]:
    extensions = normalise_extensions(raw.split(","))
    if not extensions:
        raise ValueError("must list extensions such as .py,.yaml")
    return extensions


def _strategy(raw: str) -> str:
    if raw.lower() not in STRATEGIES:
        raise ValueError(f"must be one of {', '.join(STRATEGIES)}")
    return raw.lower()


# How each unit is written in a variable; `.meshwatch`-only units (patterns) have no parser.
_PARSERS: dict[Unit, Callable[[str], object]] = {
    Unit.MILLISECONDS: _ms,
    Unit.WHOLE: _whole,
    Unit.BOOLEAN: _bool,
    Unit.EXTENSIONS: _extensions,
    Unit.STRATEGY: _strategy,
}
