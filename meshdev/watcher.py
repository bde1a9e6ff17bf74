"""File events from watchfiles, on a background thread, for an exact set of folders.

Each folder is watched non-recursively (see scan.py for why). `arm()` replaces the set: the watch in
progress stops and a new one starts. The only module of meshdev that uses watchfiles.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from watchfiles._rust_notify import RustNotify

RawBatch = list[tuple[str, Path]]  # (added | modified | deleted, path)
BatchSink = Callable[[RawBatch], None]
ErrorSink = Callable[[str], None]

# watchfiles' Rust loop wakes every `step` to look for events, and hands a batch over once a step
# passes without a new one: detection takes one to two steps, and every wake-up costs CPU. So the
# step adapts: short while someone is working (for ACTIVE_SECONDS after a change, and after
# start), watchfiles' own default once idle, so idle meshdev costs what watchfiles alone costs.
STEP_MS = 2
IDLE_STEP_MS = 50
ACTIVE_SECONDS = 30.0
MAX_GROUP_MS = 200
POLL_DELAY_MS = 500


_CHANGES = {1: "added", 2: "modified", 3: "deleted"}  # watchfiles.Change values


@dataclass(frozen=True)
class WatchOptions:
    polling: bool
    poll_delay_ms: int = POLL_DELAY_MS
    # How long watchfiles may group a continuous stream before handing it over. Must stay well
    # below meshdev's quiet time, or a long storm looks quiet between two hand-overs.
    group_ms: int = MAX_GROUP_MS


def group_ms_for(reload_delay_ms: int) -> int:
    return max(STEP_MS, min(MAX_GROUP_MS, (reload_delay_ms - STEP_MS) // 2))


# Filesystems whose changes made elsewhere (another machine, the VM host) never reach inotify.
POLLED_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "9p",
        "fuse.sshfs",
        "vboxsf",
        "fuse.vmhgfs-fuse",
        "virtiofs",
        "fuse.grpcfuse",
        "fakeowner",
        "osxfs",
        "prl_fs",
        "fuse.rclone",
        "afs",
    }
)


def is_wsl() -> bool:
    try:
        return "microsoft" in os.uname().release.lower()
    except AttributeError:
        return False


def filesystem_of(path: Path, mountinfo: str | None = None) -> str | None:
    """The type of the filesystem holding `path`, from /proc/self/mountinfo (Linux)."""
    if mountinfo is None:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text()
        except OSError:
            return None
    best: tuple[int, str] | None = None
    target = str(path)
    for line in mountinfo.splitlines():
        fields = line.split()
        if "-" not in fields or len(fields) < 5:
            continue
        mount_point = fields[4].replace("\\040", " ")
        fstype = fields[fields.index("-") + 1]
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and (best is None or len(mount_point) > best[0]):
            best = (len(mount_point), fstype)
    return best[1] if best else None


def polling_reason(root: Path, force: bool | None, mountinfo: str | None = None) -> str | None:
    """Why file events cannot be trusted here (so meshdev polls), or None."""
    if force is not None:
        return "force_polling" if force else None
    if is_wsl():
        return "WSL"
    fstype = filesystem_of(root, mountinfo)
    if fstype in POLLED_FILESYSTEMS:
        return f"{fstype} filesystem"
    return None


class Watcher:
    def __init__(self, on_batch: BatchSink, on_error: ErrorSink, options: WatchOptions) -> None:
        self._on_batch = on_batch
        self._on_error = on_error
        self._options = options
        self._dirs: tuple[Path, ...] = ()
        self._rearm = threading.Event()
        self._last_change = time.monotonic()  # just started: someone is about to edit
        self._closed = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="meshdev-watcher", daemon=True)
        self._thread.start()

    def arm(self, dirs: Sequence[Path]) -> None:
        with self._changed:
            self._dirs = tuple(dirs)
            self._rearm.set()
            self._changed.notify()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._rearm.set()
            self._changed.notify()

    def _next_dirs(self) -> tuple[Path, ...] | None:
        with self._changed:
            while not self._closed and not self._rearm.is_set():
                self._changed.wait()
            if self._closed:
                return None
            self._rearm.clear()
            return self._dirs

    def _run(self) -> None:
        while True:
            dirs = self._next_dirs()
            if dirs is None:
                return
            if dirs:
                self._watch(dirs)

    def _watch(self, dirs: tuple[Path, ...]) -> None:
        try:
            # Imported here, on the watcher's thread: agents are already starting meanwhile.
            from watchfiles._rust_notify import RustNotify  # documented Rust backend

            notify = RustNotify(
                [str(d) for d in dirs],
                False,
                self._options.polling,
                self._options.poll_delay_ms,
                False,
                True,
            )
        except FileNotFoundError as exc:
            self._on_error(f"a watched folder vanished ({exc}); watching again")
            return
        except Exception as exc:  # e.g. the inotify instance limit: say so, retry calmly
            self._on_error(f"cannot watch files ({exc}); trying again in 1 s")
            with self._changed:
                self._changed.wait(1.0)
            return
        try:
            self._listen(notify)
        except Exception as exc:  # the watcher must never take meshdev down
            self._on_error(f"file watching failed: {exc}; watching again")
        finally:
            notify.close()

    def _listen(self, notify: RustNotify) -> None:
        while not self._rearm.is_set():
            idle_for = time.monotonic() - self._last_change
            active = idle_for < ACTIVE_SECONDS
            step = STEP_MS if active else IDLE_STEP_MS
            # While active, come back when the active time is over, to slow down.
            timeout = int((ACTIVE_SECONDS - idle_for) * 1000) + 1 if active else 0
            found = notify.watch(self._options.group_ms, step, timeout, self._rearm)
            if isinstance(found, set):
                self._last_change = time.monotonic()
                self._on_batch([(_CHANGES[raw], Path(path)) for raw, path in found])
