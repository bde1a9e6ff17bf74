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

# warm: a restart forked from a template that already imported the agent's third-party modules
# (processes/warm.py), fresh when in doubt; restart: always a fresh interpreter; refresh: the
# changed modules reloaded inside the running agent (runtime/refresh.py), a restart when not.
STRATEGIES = ("warm", "restart", "refresh")

# A setting's variables are these prefixes + its `env` name; the first one set wins.
ENV_PREFIXES = ("MESHDEV_", "MCP_MESH_")


class Unit(Enum):
    """How a value is written; config.py reads each unit from YAML, settings.py from a variable."""

    MILLISECONDS = "a whole number of milliseconds"
    WHOLE = "a whole number"
    BOOLEAN = "true or false"
    EXTENSIONS = "file extensions"  # `.py`, `yaml`: the leading dot is optional
    PATTERNS = "gitignore-style patterns"  # `.meshwatch` only
    STRATEGY = "a reload strategy"  # one of STRATEGIES
    SECONDS = "a number of seconds"  # `0.5`: how mcp-mesh's own variables are written


@dataclass(frozen=True)
class Foreign:
    """A variable another tool reads for the same thing, in that tool's own unit."""

    name: str
    unit: Unit


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
    # The sane range of a number, in its unit; a value outside it is refused where it is given
    # (a day in milliseconds is far past any real wait, and far below what timers overflow at).
    lowest: int | None = None
    highest: int | None = None
    foreign: tuple[Foreign, ...] = ()  # read after env_names, in their own unit

    @property
    def env_names(self) -> tuple[str, ...]:
        """The variables that set it, the winning one first."""
        return tuple(prefix + self.env for prefix in ENV_PREFIXES) if self.env else ()

    @property
    def range_text(self) -> str:
        """Lowest, an en dash, highest, as the README's tables write it ("" for no number)."""
        return f"{self.lowest}\u2013{self.highest}" if self.highest is not None else ""


# mcp-mesh's own reload runner (`meshctl start --watch`) waits this long after a stop for the
# port to be free. meshdev starts a new process only once the old group is gone, so it has no
# such wait: the variable is accepted (and checked) so that mcp-mesh setups run unchanged.
ACCEPTED_ONLY = (Foreign("MCP_MESH_RELOAD_PORT_DELAY", Unit.SECONDS),)
ACCEPTED_ONLY_MAX_SECONDS = 60
DAY_MS = 86_400_000


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
        lowest=0,
        highest=60_000,
        foreign=(Foreign("MCP_MESH_RELOAD_DEBOUNCE", Unit.SECONDS),),
    ),
    Setting(
        key="reload_max_delay",
        attribute="reload_max_delay_ms",
        unit=Unit.MILLISECONDS,
        default=5000,
        env="RELOAD_MAX_DELAY",
        lowest=0,
        highest=600_000,
    ),
    Setting(
        key="stop_grace",
        attribute="stop_grace_ms",
        unit=Unit.MILLISECONDS,
        default=5000,
        env="STOP_GRACE",
        lowest=0,
        highest=600_000,
    ),
    Setting(
        key="checkpoint_interval",
        attribute="checkpoint_interval_ms",
        unit=Unit.MILLISECONDS,
        default=5000,
        env="CHECKPOINT_INTERVAL",
        lowest=0,
        highest=3_600_000,
    ),
    Setting(
        key="state_warn_mb",
        attribute="state_warn_mb",
        unit=Unit.WHOLE,
        default=20,
        env="STATE_WARN_MB",
        lowest=0,
        highest=100_000,
    ),
    Setting(
        key="watch_extensions",
        attribute="watch_extensions",
        unit=Unit.EXTENSIONS,
        default=(".py",),
        env="WATCH_EXTENSIONS",
    ),
    Setting(
        key="reload_strategy",
        attribute="reload_strategy",
        unit=Unit.STRATEGY,
        default="warm",
        env="RELOAD_STRATEGY",
    ),
    Setting(
        key="refresh",  # modules a refresh may reload (default: every project module)
        attribute=None,
        unit=Unit.PATTERNS,
        default=None,
    ),
    Setting(
        key="restart",  # modules whose change always restarts, even under refresh
        attribute=None,
        unit=Unit.PATTERNS,
        default=(),
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
        lowest=10,
        highest=60_000,
    ),
    Setting(
        key="crash_limit",
        attribute="crash_limit",
        unit=Unit.WHOLE,
        default=3,
        env="CRASH_LIMIT",
        lowest=1,
        highest=1_000,
    ),
    Setting(
        key="crash_window",
        attribute="crash_window_ms",
        unit=Unit.MILLISECONDS,
        default=10_000,
        env="CRASH_WINDOW",
        lowest=0,
        highest=DAY_MS,
    ),
    Setting(
        key="backoff",
        attribute="backoff_ms",
        unit=Unit.MILLISECONDS,
        default=500,
        env="BACKOFF",
        lowest=0,
        highest=600_000,
    ),
    Setting(
        key="backoff_max",
        attribute="backoff_max_ms",
        unit=Unit.MILLISECONDS,
        default=10_000,
        env="BACKOFF_MAX",
        lowest=0,
        highest=3_600_000,
    ),
    Setting(
        key="healthy_after",
        attribute="healthy_after_ms",
        unit=Unit.MILLISECONDS,
        default=10_000,
        env="HEALTHY_AFTER",
        lowest=0,
        highest=DAY_MS,
    ),
    Setting(
        key="startup_period",
        attribute="startup_period_ms",
        unit=Unit.MILLISECONDS,
        default=1000,
        env="STARTUP_PERIOD",
        lowest=0,
        highest=600_000,
    ),
    Setting(
        key="ready_timeout",
        attribute="ready_timeout_ms",
        unit=Unit.MILLISECONDS,
        default=30_000,
        env="READY_TIMEOUT",
        lowest=100,
        highest=3_600_000,
    ),
)
