"""The protocol between meshdev and the runtime inside each agent, declared in one place.

meshdev hands an agent its private channel through the environment variables below (the runtime
reads and removes them at start). The changed paths are deliberately not among them: they go
through a file, because a storm of thousands of paths in one variable fails `exec` with E2BIG.

The agent answers on the report pipe: one JSON object per line, `{"t": KIND, FIELD: value, ...}`,
with the kinds and fields of REPORTS. meshdev decodes them in one place
(`meshdev/processes/reports.py`).
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `from typing import`: typing costs every agent start 4 ms

# -- environment: meshdev -> agent -----------------------------------------------------------------
AGENT = "MESHDEV_AGENT"
ROOT = "MESHDEV_ROOT"
FDS = "MESHDEV_FDS"  # "<report write fd>,<lifeline read fd>"
START_INFO = "MESHDEV_START_INFO"  # path of a JSON file: {"changes": [...]}
GRACE_MS = "MESHDEV_GRACE_MS"
STATE_FILE = "MESHDEV_STATE_FILE"  # absent: state is kept in memory only
STATE_SECRET = "MESHDEV_STATE_SECRET"  # path of the project's secret, never the secret itself
CHECKPOINT_MS = "MESHDEV_CHECKPOINT_MS"
STATE_WARN_BYTES = "MESHDEV_STATE_WARN_BYTES"
FRONT = "MESHDEV_FRONT"  # "http": move listening sockets to private ports (runtime/ports.py)
MODULES = "MESHDEV_MODULES"  # where to write, at exit, the names of the modules it imported
REFRESH = "MESHDEV_REFRESH"  # "1": reload_strategy refresh; the runtime answers REFRESH_SIGNAL
# A spare interpreter (processes/spare.py) waits on this descriptor, before anything else, for
# the rest of its environment (variables of ALL, NAME=VALUE, NUL between); EOF alone: not wanted.
GO = "MESHDEV_GO"

ALL: tuple[str, ...] = (
    AGENT,
    ROOT,
    FDS,
    START_INFO,
    GRACE_MS,
    STATE_FILE,
    STATE_SECRET,
    CHECKPOINT_MS,
    STATE_WARN_BYTES,
    FRONT,
    MODULES,
    REFRESH,
)

# -- reports: agent -> meshdev ---------------------------------------------------------------------
KIND = "t"
FILES = "files"  # project files the agent loaded as modules, opened for reading, or wrote
READY = "ready"  # the agent called meshdev.ready(): it is serving
RESTORED = "state"  # the state keys handed over at start
SAVED = "saved"  # a state save: why ("stop" | "checkpoint"), how many keys, bytes, seconds
STATE_WARNING = "state_warning"  # something about state the user should know
LISTENING = "listening"  # the port its code asked for (host, port), and the private one it got
REFRESHABLE = "refreshable"  # the runtime refreshes on REFRESH_SIGNAL sent to this pid
REFRESHED = "refreshed"  # the stale project modules were reloaded in place
REFRESH_FAILED = "refresh_failed"  # nothing changed (`restart`: false) or restart it (true)
KEPT = "kept"  # the agent runs below a keeper (runtime/keeper.py), the pid meshdev started: its pid

REPORTS = {
    FILES: ("loaded", "opened", "written"),  # each a list of absolute paths
    READY: (),
    RESTORED: ("restored",),  # a list of keys
    SAVED: ("reason", "keys", "bytes", "seconds"),
    STATE_WARNING: ("message",),
    LISTENING: ("host", "port", "actual"),
    REFRESHABLE: ("pid",),
    REFRESHED: ("modules", "files", "seconds"),  # module names and their files, in reload order
    REFRESH_FAILED: ("module", "file", "line", "error", "restart"),
    KEPT: ("pid",),  # read by the spawner itself (processes/spawn.py), never reaches the loop
}


def refresh_signal() -> int:
    """The signal that asks an agent to refresh: a real-time one where there are (no agent's own
    handler is likely to want it), else SIGUSR2."""
    if TYPE_CHECKING:
        import signal as _signal  # the same API, typed
    else:
        import _signal  # signal without enum: it costs every agent start 3 ms

    first = getattr(_signal, "SIGRTMIN", None)
    return first + 5 if isinstance(first, int) else int(_signal.SIGUSR2)


# -- the handover of a generation that starts while its predecessor stops (behind the MCP front) --
# Set: the report pipe is a two-way socket, and meshdev writes one byte on it once the previous
# process has exited and its last save is on disk; until then the runtime holds back whatever
# could see the predecessor's leftovers (runtime/handover.py). Its value is unused ("1").
HANDOVER = "MESHDEV_HANDOVER"
HANDED_OVER = b"\n"  # what meshdev writes; end of file instead means meshdev is gone
ALL = (*ALL, HANDOVER)
