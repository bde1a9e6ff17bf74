"""Looking at agents from outside: is a port open, how much memory does a process hold; and the
one nudge that is not a stop: the refresh signal."""

from __future__ import annotations

import os
import socket

from meshdev.runtime.protocol import refresh_signal


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.05):
            return True
    except OSError:
        return False


def rss_bytes(pid: int) -> int | None:
    """Resident memory of one agent (Linux /proc), or None when it cannot be read. For a keeper
    (runtime/keeper.py), its agent's: the first child it started."""
    return _rss(_agent_of(pid))


def _agent_of(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/comm", "rb") as handle:
            if handle.read().strip() != b"meshdev-keeper":
                return pid
        with open(f"/proc/{pid}/task/{pid}/children", "rb") as handle:
            children = handle.read().split()
    except OSError:
        return pid
    return int(children[0]) if children else pid


def _rss(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def ask_refresh(pid: int) -> bool:
    try:
        os.kill(pid, refresh_signal())
    except OSError:  # gone, or no longer ours
        return False
    return True
