"""How meshdev starts an agent's interpreter: `python -c BOOT SCRIPT ARGS` in a session of its own,
its stdout and stderr piped to meshdev (its stdin too, for an MCP server speaking on it).

Light: imported before the first spawn (processes/spare.py).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

# `-c` rather than `-m meshdev.runtime`: runpy is not needed, and every start pays for imports.
BOOT = "import sys; from meshdev.runtime.boot import main; sys.exit(main())"


def start_interpreter(
    script: Path,
    args: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    speaks_mcp: bool,
    pass_fds: Sequence[int],
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", BOOT, str(script), *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE if speaks_mcp else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        pass_fds=tuple(pass_fds),
        start_new_session=True,
    )
