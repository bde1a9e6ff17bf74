"""The names of the environment variables meshdev uses to hand an agent its private channel.

Shared by the supervisor (which sets them) and the runtime (which reads and removes them).
The changed paths are deliberately not among them: they go through a file, because a storm of
thousands of paths in one variable fails `exec` with E2BIG.
"""

from __future__ import annotations

AGENT = "MESHDEV_AGENT"
ROOT = "MESHDEV_ROOT"
FDS = "MESHDEV_FDS"  # "<report write fd>,<lifeline read fd>"
START_INFO = "MESHDEV_START_INFO"  # path of a JSON file: {"changes": [...]}
GRACE_MS = "MESHDEV_GRACE_MS"
STATE_FILE = "MESHDEV_STATE_FILE"  # absent: state is kept in memory only
STATE_SECRET = "MESHDEV_STATE_SECRET"  # path of the project's secret, never the secret itself
CHECKPOINT_MS = "MESHDEV_CHECKPOINT_MS"
STATE_WARN_BYTES = "MESHDEV_STATE_WARN_BYTES"

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
)
