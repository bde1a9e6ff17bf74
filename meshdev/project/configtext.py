"""A `.meshwatch`'s text, read so that no file can hang meshdev: its kind and size checked on the
open descriptor before it is read (a FIFO or /dev/zero would never end). Without PyYAML: a start
whose `.meshwatch` is in the cache (`configcache`) never imports it.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from meshdev.problems import Problem, UsageError

MAX_BYTES = 1_000_000


def read_text(path: Path) -> str:
    """The file's text; UsageError when it is no regular file, too big, unreadable or not UTF-8.

    Opened without blocking and checked on the open descriptor, so a FIFO swapped in after a
    check is still never read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise UsageError.single(str(path), _open_error(exc)) from None
    try:
        kind = _kind(os.fstat(fd))
        if kind is not None:
            raise UsageError.single(str(path), f"is {kind}, not a file; remove it or replace it")
        data = _read_at_most(fd, MAX_BYTES + 1)
    except OSError as exc:
        raise UsageError.single(str(path), f"cannot read it ({exc.strerror})") from None
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise UsageError.single(str(path), f"is over {MAX_BYTES:,} bytes: not a .meshwatch")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problem = Problem(str(path), line, "", "not UTF-8 text; save it as UTF-8")
        raise UsageError([problem]) from None


def _open_error(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "is a symbolic link that loops; remove it or point it at a file"
    if exc.errno == errno.ENOENT:
        return "is a symbolic link to nothing; remove it or point it at a file"
    return f"cannot read it ({exc.strerror}); fix or remove it"


def _kind(info: os.stat_result) -> str | None:
    """What the entry is when it is not a regular file."""
    mode = info.st_mode
    if stat.S_ISREG(mode):
        return None
    kinds = {stat.S_ISDIR: "a folder", stat.S_ISFIFO: "a named pipe (FIFO)"}
    kinds |= {stat.S_ISCHR: "a character device", stat.S_ISBLK: "a block device"}
    return next((name for test, name in kinds.items() if test(mode)), "a socket")


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(fd, min(65536, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
