"""meshdev's private files: folders 0700 and files 0600 that belong to the user, never reached
through a symbolic link, and the per-user folder for what cannot live in the project.

Every check is made on an open descriptor (`O_NOFOLLOW`, then `fstat`), not on a path that could
be swapped between the check and the use. Runs inside agents too: standard library only.
"""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False  # not `from typing import`: typing costs every agent start 4 ms
if TYPE_CHECKING:
    from typing import Any

_MAX_SOCKET_DIR = 80  # a socket address holds 108 bytes on Linux, 104 on macOS: room for a name
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


class PrivateError(Exception):
    """A place meshdev will not use; the message says which and why, in a few words."""


def ensure_dir(path: str, create: bool = True) -> None:
    """`path` is a real folder of the user's, writable, 0700 (repaired if looser); created so
    when `create`. PrivateError when it is a link, not a folder, someone else's or read-only."""
    if create:
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            raise PrivateError(f"cannot create {path}: {exc.strerror}") from None
    try:
        fd = os.open(path, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC)
    except OSError as exc:
        raise PrivateError(_why_not(path, exc)) from None
    try:
        info = os.fstat(fd)
        _check_owner(path, info)
        if not stat.S_ISDIR(info.st_mode):
            raise PrivateError(f"{path} is not a folder")
        if stat.S_IMODE(info.st_mode) & 0o077:
            os.fchmod(fd, 0o700)
    finally:
        os.close(fd)
    if not os.access(path, os.W_OK | os.X_OK):
        raise PrivateError(f"{path} is not writable (a read-only file system?)")


def read_file(path: str) -> bytes | None:
    """The content of a private file, None when there is none. PrivateError when it is a link,
    not a regular file (a FIFO would block the reader), or someone else's."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PrivateError(_why_not(path, exc)) from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        _check_owner(path, info)
        if not stat.S_ISREG(info.st_mode):
            raise PrivateError(f"{path} is not a regular file")
        return handle.read()


def create_file(path: str) -> int:
    """A new file, 0600, open for writing; FileExistsError when anything (a link too) is there."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600)


def kind_of(path: str) -> str | None:
    """What is at `path` without following it: 'dir', 'file', 'link', 'other', or None."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(mode):
        return "link"
    return "dir" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode) else "other"


def owned(path: str) -> bool:
    """`path` itself (not what a link points to) belongs to the user."""
    try:
        return os.lstat(path).st_uid == os.geteuid()
    except OSError:
        return False


def user_runtime_dir() -> str:
    """The user's folder for sockets and short-lived files: `$XDG_RUNTIME_DIR/meshdev` when that
    exists as the user's own 0700 folder (the login manager made it), else `meshdev-UID` in the
    temporary folder. Not created here: `ensure_dir` before use, which refuses a folder someone
    else made first."""
    xdg = os.environ.get("XDG_RUNTIME_DIR", "")
    if os.path.isabs(xdg) and len(xdg) < _MAX_SOCKET_DIR and _is_own_private_dir(xdg):
        return os.path.join(xdg, "meshdev")
    import tempfile

    temp = tempfile.gettempdir()
    if len(temp) >= _MAX_SOCKET_DIR:
        temp = "/tmp"
    return os.path.join(temp, f"meshdev-{os.geteuid()}")


def _is_own_private_dir(path: str) -> bool:
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.geteuid()
        and not stat.S_IMODE(info.st_mode) & 0o077
    )


def _check_owner(path: str, info: Any) -> None:
    if info.st_uid != os.geteuid():
        raise PrivateError(f"{path} belongs to another user (uid {info.st_uid})")


def _why_not(path: str, exc: OSError) -> str:
    if kind_of(path) == "link":
        return f"{path} is a symbolic link (meshdev does not follow links in its own files)"
    return f"cannot open {path}: {exc.strerror}"
