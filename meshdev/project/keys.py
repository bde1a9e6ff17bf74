"""Every setting meshdev reads, declared once: its `.meshwatch` key, how its value is written, its
default, its environment variable and the command-line flag that overrides it.

config.py builds its top-level key readers (and FileConfig's raw-value fields) from this table,
settings.resolve() walks it, and tests/unit/test_settings_table.py holds `Settings`, `Flags`,
the README's configuration reference and `.meshwatch.example` to it.

Pure: data only, standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

# A setting's variables are these prefixes + its `env` name; the first one set wins.
ENV_PREFIXES = ("MESHDEV_", "MCP_MESH_")


class Unit(Enum):
    """How a value is written; config.py reads each unit from YAML, settings.py from a variable."""

    MILLISECONDS = "a whole number of milliseconds"
    WHOLE = "a whole number"
    BOOLEAN = "true or false"
    EXTENSIONS = "file extensions"  # `.py`, `yaml`: the leading dot is optional
    PATTERNS = "gitignore-style patterns"  # `.meshwatch` only
    STRATEGY = "a reload strategy"  # restart or refresh; environment only


@dataclass(frozen=True)
class Setting:
    """One row: where a value can be given, how it is read, and what it is when nobody says."""

    key: str | None  # in `.meshwatch` (and a FileConfig field); None: not settable there
    attribute: str | None  # in Settings; None: read from FileConfig by the watch rules
    unit: Unit
    default: object  # None: worked out when used (include, polling on WSL), see the README
    env: str | None = None  # the variables are MESHDEV_<env> and its alias MCP_MESH_<env>
    flag: str | None = None  # the Flags field that carries its command-line option ...
    option: str | None = None  # ... spelt so on `meshdev start` (declared for typer in cli.py)

    @property
    def env_names(self) -> tuple[str, ...]:
        """The variables that set it, the winning one first."""
        return tuple(prefix + self.env for prefix in ENV_PREFIXES) if self.env else ()


# Flag > environment > .meshwatch > default. Rows are resolved, and bad variables reported, in
# this order.
SETTINGS: tuple[Setting, ...] = (
    Setting(
        key="include",
        attribute=None,
        unit=Unit.PATTERNS,
        default=None,  # None: `*` + each of watch_extensions
    ),
    Setting(
        key="exclude",
        attribute=None,
        unit=Unit.PATTERNS,
        default=(),
    ),
    Setting(
        key="log_only",
        attribute=None,
        unit=Unit.PATTERNS,
        default=(),
    ),
    Setting(
        key=None,
        attribute="hot_reload",
        unit=Unit.BOOLEAN,
        default=True,
        env="ENABLE_HOT_RELOAD",
        flag="hot_reload",
        option="--reload/--no-reload",
    ),
    Setting(
        key="reload_delay",
        attribute="reload_delay_ms",
        unit=Unit.MILLISECONDS,
        default=500,
        env="RELOAD_DELAY",
        flag="reload_delay",
        option="--reload-delay",
    ),
    Setting(
        key="reload_max_delay",
        attribute="reload_max_delay_ms",
        unit=Unit.MILLISECONDS,
        default=5000,
        env="RELOAD_MAX_DELAY",
    ),
    Setting(
        key="stop_grace",
        attribute="stop_grace_ms",
        unit=Unit.MILLISECONDS,
        default=5000,
        env="STOP_GRACE",
    ),
    Setting(
        key="checkpoint_interval",
        attribute="checkpoint_interval_ms",
        unit=Unit.MILLISECONDS,
        default=5000,
        env="CHECKPOINT_INTERVAL",
    ),
    Setting(
        key="state_warn_mb",
        attribute="state_warn_mb",
        unit=Unit.WHOLE,
        default=20,
        env="STATE_WARN_MB",
    ),
    Setting(
        key="watch_extensions",
        attribute="watch_extensions",
        unit=Unit.EXTENSIONS,
        default=(".py",),
        env="WATCH_EXTENSIONS",
    ),
    Setting(
        key=None,
        attribute="reload_strategy",
        unit=Unit.STRATEGY,
        default="restart",
        env="RELOAD_STRATEGY",
    ),
    Setting(
        key="preserve_state",
        attribute="preserve_state",
        unit=Unit.BOOLEAN,
        default=True,
        env="PRESERVE_STATE",
        flag="preserve_state",
        option="--preserve-state/--no-preserve-state",
    ),
    Setting(
        key="force_polling",
        attribute="force_polling",
        unit=Unit.BOOLEAN,
        default=None,  # None: the watcher decides (polls on WSL, network and VM filesystems)
        env="FORCE_POLLING",
    ),
    Setting(
        key="gitignore",
        attribute="gitignore",
        unit=Unit.BOOLEAN,
        default=True,
        env="GITIGNORE",
    ),
    Setting(
        key="poll_interval",
        attribute="poll_interval_ms",
        unit=Unit.MILLISECONDS,
        default=500,
        env="POLL_INTERVAL",
    ),
    Setting(
        key="crash_limit",
        attribute="crash_limit",
        unit=Unit.WHOLE,
        default=3,
        env="CRASH_LIMIT",
    ),
    Setting(
        key="crash_window",
        attribute="crash_window_ms",
        unit=Unit.MILLISECONDS,
        default=10_000,
        env="CRASH_WINDOW",
    ),
    Setting(
        key="backoff",
        attribute="backoff_ms",
        unit=Unit.MILLISECONDS,
        default=500,
        env="BACKOFF",
    ),
    Setting(
        key="backoff_max",
        attribute="backoff_max_ms",
        unit=Unit.MILLISECONDS,
        default=10_000,
        env="BACKOFF_MAX",
    ),
    Setting(
        key="healthy_after",
        attribute="healthy_after_ms",
        unit=Unit.MILLISECONDS,
        default=10_000,
        env="HEALTHY_AFTER",
    ),
    Setting(
        key="startup_period",
        attribute="startup_period_ms",
        unit=Unit.MILLISECONDS,
        default=1000,
        env="STARTUP_PERIOD",
    ),
    Setting(
        key="ready_timeout",
        attribute="ready_timeout_ms",
        unit=Unit.MILLISECONDS,
        default=30_000,
        env="READY_TIMEOUT",
    ),
)
