"""Effective settings: command-line flag > environment > `.meshwatch` > default.

Pure: the environment is passed in as a mapping.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from meshdev.problems import Problem, UsageError, shorten
from meshdev.project.config import FileConfig
from meshdev.project.extensions import extension_problem, normalise_extensions
from meshdev.project.keys import (
    ACCEPTED_ONLY,
    ACCEPTED_ONLY_MAX_SECONDS,
    ENV_PREFIXES,
    SETTINGS,
    STRATEGIES,
    Setting,
    Unit,
)


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
        found = _set(env, prefix + name)
        if found is not None:
            return found
    return None


def _set(env: Mapping[str, str], var: str) -> tuple[str, str] | None:
    value = env.get(var)
    if value is None or value.strip() == "":
        return None
    return var, value.strip()


def resolve(file: FileConfig, env: Mapping[str, str], flags: Flags) -> Settings:
    """Combine the four layers for every setting; raise UsageError naming each bad variable."""
    problems: list[Problem] = []
    layers = _Layers(file, env, flags, problems)
    settings = Settings(**{s.attribute: layers.pick(s) for s in SETTINGS if s.attribute})
    for foreign in ACCEPTED_ONLY:
        found = _set(env, foreign.name)
        if found is not None:
            layers.parse(foreign.unit, found, None)
    if problems:
        raise UsageError(problems)
    return settings


def reload_delay_flag(raw: str | None) -> int | None:
    """`--reload-delay MS`, read as the variable would be: meshdev's words, not the parser's."""
    if raw is None:
        return None
    setting = next(s for s in SETTINGS if s.flag == "reload_delay")
    try:
        return _number(raw.strip(), setting)
    except ValueError as exc:
        got = shorten(repr(raw))
        raise UsageError.single("command line", f"{exc} (got {got})", "--reload-delay") from None


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
        if found is not None:
            return self.parse(setting.unit, found, setting)
        for foreign in setting.foreign:
            found = _set(self.env, foreign.name)
            if found is not None:
                return self.parse(foreign.unit, found, setting)
        return None

    def parse(self, unit: Unit, found: tuple[str, str], setting: Setting | None) -> object | None:
        var, raw = found
        try:
            return _PARSERS[unit](raw, setting)
        except ValueError as exc:
            got = shorten(repr(raw))
            self.problems.append(Problem("environment", None, var, f"{exc} (got {got})"))
            return None


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _bool(raw: str, setting: Setting | None) -> bool:
    lowered = raw.lower()
    if lowered in _TRUE | _FALSE:
        return lowered in _TRUE
    raise ValueError("must be true or false")


def _number(raw: str, setting: Setting | None) -> int:
    """A whole number (of milliseconds, for such a unit) in the setting's range."""
    assert setting is not None and setting.lowest is not None and setting.highest is not None
    what = "a whole number" + (" of milliseconds" if setting.unit is Unit.MILLISECONDS else "")
    # isascii: int() also takes other scripts' digits, and a 5,000-digit number raises.
    if raw.isascii() and raw.isdigit() and len(raw) <= 12:
        value = int(raw)
        if setting.lowest <= value <= setting.highest:
            return value
    raise ValueError(f"must be {what} from {setting.lowest} to {setting.highest}")


def _seconds(raw: str, setting: Setting | None) -> int:
    """mcp-mesh's unit, seconds (`0.5`), as milliseconds; within the setting's range if any."""
    lowest = setting.lowest if setting and setting.lowest is not None else 0
    highest = setting.highest if setting and setting.highest is not None else None
    highest = highest if highest is not None else ACCEPTED_ONLY_MAX_SECONDS * 1000
    try:
        seconds = float(raw) if len(raw) <= 20 else math.nan
    except ValueError:
        seconds = math.nan
    if math.isfinite(seconds) and lowest <= seconds * 1000 <= highest:
        return round(seconds * 1000)
    raise ValueError(
        f"must be a number of seconds from {lowest / 1000:g} to {highest / 1000:g} "
        "(mcp-mesh's unit: 0.5 is half a second)"
    )


def _extensions(raw: str, setting: Setting | None) -> tuple[str, ...]:
    entries = [e for e in raw.split(",") if e.strip()]
    for entry in entries:
        problem = extension_problem(entry)
        if problem is not None:
            raise ValueError(problem)
    if not entries:
        raise ValueError("must list extensions such as .py,.yaml")
    return normalise_extensions(entries)


def _strategy(raw: str, setting: Setting | None) -> str:
    if raw.lower() not in STRATEGIES:
        raise ValueError(f"must be one of {', '.join(STRATEGIES)}")
    return raw.lower()


# How each unit is written in a variable; `.meshwatch`-only units (patterns) have no parser.
_PARSERS: dict[Unit, Callable[[str, Setting | None], object]] = {
    Unit.MILLISECONDS: _number,
    Unit.WHOLE: _number,
    Unit.BOOLEAN: _bool,
    Unit.EXTENSIONS: _extensions,
    Unit.STRATEGY: _strategy,
    Unit.SECONDS: _seconds,
}
