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

ALL = (AGENT, ROOT, FDS, START_INFO, GRACE_MS)
