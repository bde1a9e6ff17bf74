"""Effective settings: command-line flag > environment > `.meshwatch` > default.

Pure: the environment is passed in as a mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from meshdev.problems import Problem, UsageError
from meshdev.project.config import FileConfig, normalise_extensions

T = TypeVar("T")

DEFAULT_RELOAD_DELAY_MS = 500
DEFAULT_RELOAD_MAX_DELAY_MS = 5000
DEFAULT_STOP_GRACE_MS = 5000
DEFAULT_CHECKPOINT_MS = 5000
DEFAULT_STATE_WARN_MB = 20
DEFAULT_EXTENSIONS = (".py",)
STRATEGIES = ("restart", "refresh")


@dataclass(frozen=True)
class Flags:
    """What the command line said; None means the flag was not given."""

    hot_reload: bool | None = None
    reload_delay: int | None = None
    preserve_state: bool | None = None


@dataclass(frozen=True)
class Settings:
    hot_reload: bool = True
    reload_delay_ms: int = DEFAULT_RELOAD_DELAY_MS
    reload_max_delay_ms: int = DEFAULT_RELOAD_MAX_DELAY_MS
    stop_grace_ms: int = DEFAULT_STOP_GRACE_MS
    checkpoint_interval_ms: int = DEFAULT_CHECKPOINT_MS
    state_warn_mb: int = DEFAULT_STATE_WARN_MB
    crash_limit: int = 3
    crash_window_ms: int = 10_000
    backoff_ms: int = 500
    backoff_max_ms: int = 10_000
    healthy_after_ms: int = 10_000
    startup_period_ms: int = 1000
    ready_timeout_ms: int = 30_000
    watch_extensions: tuple[str, ...] = DEFAULT_EXTENSIONS
    reload_strategy: str = "restart"
    preserve_state: bool = True
    force_polling: bool | None = None  # None: decided by the watcher (auto on WSL)
    gitignore: bool = True
    poll_interval_ms: int = 500


def env_value(env: Mapping[str, str], name: str) -> tuple[str, str] | None:
    """(variable actually set, its value) for MESHDEV_<name>, else its MCP_MESH_<name> alias."""
    for var in (f"MESHDEV_{name}", f"MCP_MESH_{name}"):
        value = env.get(var)
        if value is not None and value.strip() != "":
            return var, value.strip()
    return None


def resolve(file: FileConfig, env: Mapping[str, str], flags: Flags) -> Settings:
    """Combine the four layers; raise UsageError naming each bad variable."""
    problems: list[Problem] = []
    layer = _Layers(env, problems)
    settings = Settings(
        hot_reload=layer.pick(flags.hot_reload, "ENABLE_HOT_RELOAD", _bool, None, True),
        reload_delay_ms=layer.pick(
            flags.reload_delay, "RELOAD_DELAY", _ms, file.reload_delay, DEFAULT_RELOAD_DELAY_MS
        ),
        reload_max_delay_ms=layer.pick(
            None, "RELOAD_MAX_DELAY", _ms, file.reload_max_delay, DEFAULT_RELOAD_MAX_DELAY_MS
        ),
        stop_grace_ms=layer.pick(None, "STOP_GRACE", _ms, file.stop_grace, DEFAULT_STOP_GRACE_MS),
        checkpoint_interval_ms=layer.pick(
            None, "CHECKPOINT_INTERVAL", _ms, file.checkpoint_interval, DEFAULT_CHECKPOINT_MS
        ),
        state_warn_mb=layer.pick(
            None, "STATE_WARN_MB", _whole, file.state_warn_mb, DEFAULT_STATE_WARN_MB
        ),
        watch_extensions=layer.pick(
            None, "WATCH_EXTENSIONS", _extensions, file.watch_extensions, DEFAULT_EXTENSIONS
        ),
        reload_strategy=layer.pick(None, "RELOAD_STRATEGY", _strategy, None, "restart"),
        preserve_state=layer.pick(
            flags.preserve_state, "PRESERVE_STATE", _bool, file.preserve_state, True
        ),
        force_polling=layer.pick(None, "FORCE_POLLING", _bool, file.force_polling, None),
        gitignore=layer.pick(None, "GITIGNORE", _bool, file.gitignore, True),
        poll_interval_ms=layer.pick(None, "POLL_INTERVAL", _ms, file.poll_interval, 500),
        crash_limit=layer.pick(None, "CRASH_LIMIT", _whole, file.crash_limit, 3),
        crash_window_ms=layer.pick(None, "CRASH_WINDOW", _ms, file.crash_window, 10_000),
        backoff_ms=layer.pick(None, "BACKOFF", _ms, file.backoff, 500),
        backoff_max_ms=layer.pick(None, "BACKOFF_MAX", _ms, file.backoff_max, 10_000),
        healthy_after_ms=layer.pick(None, "HEALTHY_AFTER", _ms, file.healthy_after, 10_000),
        startup_period_ms=layer.pick(None, "STARTUP_PERIOD", _ms, file.startup_period, 1000),
        ready_timeout_ms=layer.pick(None, "READY_TIMEOUT", _ms, file.ready_timeout, 30_000),
    )
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
    def __init__(self, env: Mapping[str, str], problems: list[Problem]) -> None:
        self.env = env
        self.problems = problems

    def pick(
        self,
        flag: T | None,
        name: str,
        parse: Callable[[str], T],
        from_file: T | None,
        default: Any,
    ) -> Any:
        if flag is not None:
            return flag
        found = env_value(self.env, name)
        if found is not None:
            var, raw = found
            try:
                return parse(raw)
            except ValueError as exc:
                self.problems.append(Problem("environment", None, var, f"{exc} (got {raw!r})"))
        return from_file if from_file is not None else default


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
