"""The protocol between meshdev and the runtime inside each agent, declared in one place.

meshdev hands an agent its private channel through the environment variables below (the runtime
reads and removes them at start). The changed paths are deliberately not among them: they go
through a file, because a storm of thousands of paths in one variable fails `exec` with E2BIG.

The agent answers on the report pipe: one JSON object per line, `{"t": KIND, FIELD: value, ...}`,
with the kinds and fields of REPORTS. meshdev decodes them in one place
(`meshdev/processes/reports.py`).
"""

from __future__ import annotations

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

ALL = (
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
)

# -- reports: agent -> meshdev ---------------------------------------------------------------------
KIND = "t"
FILES = "files"  # project files the agent loaded as modules, opened for reading, or wrote
READY = "ready"  # the agent called meshdev.ready(): it is serving
RESTORED = "state"  # the state keys handed over at start
SAVED = "saved"  # a state save: why ("stop" | "checkpoint"), how many keys, bytes, seconds
STATE_WARNING = "state_warning"  # something about state the user should know
LISTENING = "listening"  # the port its code asked for (host, port), and the private one it got
KEPT = "kept"  # the agent runs below a keeper (runtime/keeper.py), the pid meshdev started: its pid

REPORTS = {
    FILES: ("loaded", "opened", "written"),  # each a list of absolute paths
    READY: (),
    RESTORED: ("restored",),  # a list of keys
    SAVED: ("reason", "keys", "bytes", "seconds"),
    STATE_WARNING: ("message",),
    LISTENING: ("host", "port", "actual"),
    KEPT: ("pid",),  # read by the spawner itself (processes/spawn.py), never reaches the loop
}
