"""The state file: a signed container of pickled values, one per key.

Layout (all lengths big-endian):

    MAGIC (8 bytes) | header length (4) | header (JSON) | payload length (8) | payload | HMAC (32)

The header says the format version, the Python version, the agent, the time, and each key's type
and size. The payload is a pickled dict of key -> pickled value (bytes), so one value that cannot be
unpickled any more costs that key only. The HMAC-SHA256, keyed by a per-project secret, covers
everything before it and is checked before a single byte is unpickled: a tampered, truncated or
foreign file is never loaded. Files are written atomically: temporary file in the same folder,
fsync, rename, fsync of the folder; never through a symbolic link (see `private.py`).

Runs inside agents: standard library only.
"""

from __future__ import annotations

import os
import sys
import time

from meshdev.runtime import private

TYPE_CHECKING = False  # not `from typing import`: typing costs every agent start 4 ms
if TYPE_CHECKING:
    from typing import Any

# hashlib, hmac, json, pickle and struct are imported where they are used: every agent start pays
# for what this module imports, and most starts have no state file to read.

MAGIC = b"MESHDEV1"
FORMAT = 1
DIGEST_SIZE = 32  # SHA-256
SECRET_BYTES = 32
TEMP_MARK = ".tmp-"  # NAME.state.tmp-PID: a save in progress, or left by a killed writer


class StateError(Exception):
    """The file cannot be used; the message says why in a few words."""


class Loaded:
    __slots__ = ("entries", "header")

    def __init__(self, header: dict[str, Any], entries: dict[str, bytes]) -> None:
        self.header = header
        self.entries = entries  # key -> pickled value


def python_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def encode(secret: bytes, agent: str, entries: dict[str, bytes], types: dict[str, str]) -> bytes:
    import hashlib
    import hmac
    import json
    import pickle
    import struct

    header = {
        "format": FORMAT,
        "python": python_version(),
        "agent": agent,
        "time": time.time(),
        "keys": {k: {"type": types.get(k, "?"), "size": len(v)} for k, v in entries.items()},
    }
    head = json.dumps(header, separators=(",", ":")).encode()
    payload = pickle.dumps(entries, protocol=pickle.HIGHEST_PROTOCOL)
    body = MAGIC + struct.pack(">I", len(head)) + head + struct.pack(">Q", len(payload)) + payload
    return body + hmac.new(secret, body, hashlib.sha256).digest()


def decode(data: bytes, secret: bytes, agent: str | None) -> Loaded:
    """Verify, then read. `agent=None` skips the agent check (for `meshdev state show`)."""
    import pickle

    header, payload = verify(data, secret)
    _check_compatible(header, agent)
    entries = pickle.loads(payload)  # signed by us: the only pickle meshdev itself loads
    if not isinstance(entries, dict):
        raise StateError("unexpected payload")
    return Loaded(header, entries)


def verify(data: bytes, secret: bytes) -> tuple[dict[str, Any], bytes]:
    """The header and the raw payload, once the signature and the framing are checked."""
    import hashlib
    import hmac
    import json
    import struct

    if len(data) < len(MAGIC) + 4 + 8 + DIGEST_SIZE or not data.startswith(MAGIC):
        raise StateError("not a meshdev state file, or truncated")
    body, signature = data[:-DIGEST_SIZE], data[-DIGEST_SIZE:]
    if not hmac.compare_digest(hmac.new(secret, body, hashlib.sha256).digest(), signature):
        raise StateError("signature does not match (tampered, truncated or from another project)")
    start = len(MAGIC)
    (head_len,) = struct.unpack(">I", body[start : start + 4])
    head = body[start + 4 : start + 4 + head_len]
    rest = body[start + 4 + head_len :]
    (payload_len,) = struct.unpack(">Q", rest[:8])
    if len(rest) != 8 + payload_len:
        raise StateError("framing is wrong")
    return json.loads(head), rest[8:]


def _check_compatible(header: dict[str, Any], agent: str | None) -> None:
    if header.get("format") != FORMAT:
        raise StateError(f"format {header.get('format')} is not {FORMAT}")
    if header.get("python") != python_version():
        raise StateError(f"made by Python {header.get('python')}, this is {python_version()}")
    if agent is not None and header.get("agent") != agent:
        raise StateError(f"belongs to agent {header.get('agent')!r}")


def write_atomically(path: str, data: bytes) -> None:
    folder = os.path.dirname(path)
    temp = f"{path}{TEMP_MARK}{os.getpid()}"
    try:
        fd = private.create_file(temp)
    except FileExistsError:  # left by a killed process that had our pid
        os.remove(temp)
        fd = private.create_file(temp)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)  # replaces a link at `path` itself, never writes through it
    except BaseException:
        _remove_quietly(temp)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read(path: str) -> bytes | None:
    try:
        return private.read_file(path)
    except private.PrivateError as exc:
        raise StateError(str(exc)) from None


def leftover_writer(name: str) -> int | None:
    """The pid in a temporary file's name (`NAME.state.tmp-PID`), None for any other name."""
    head, mark, pid = name.rpartition(TEMP_MARK)
    return int(pid) if head and mark and pid.isdigit() else None


def remove_leftovers(path: str) -> None:
    """`path`'s temporary files whose writer is dead (killed in the middle of a save)."""
    folder, name = os.path.split(path)
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for other in names:
        pid = leftover_writer(other) if other.startswith(name + TEMP_MARK) else None
        if pid is not None and pid != os.getpid() and not writer_alive(pid):
            _remove_quietly(os.path.join(folder, other))


def writer_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def set_aside(path: str, why: str) -> str:
    """Move a file that cannot be used out of the way; return its new name."""
    target = f"{path}.{why}-{time.strftime('%Y%m%d-%H%M%S')}"
    os.replace(path, target)
    return target


def read_secret(path: str) -> bytes:
    secret = read(path)
    if secret is None:
        raise StateError("the project's state secret is missing")
    if len(secret) < SECRET_BYTES:
        raise StateError("the project's state secret is too short")
    return secret


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
