"""File events from watchfiles, on a background thread, for an exact set of folders.

Each folder is watched non-recursively (see scan.py for why). `arm()` replaces the set: the watch in
progress stops and a new one starts. The only module of meshdev that uses watchfiles.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from meshdev.interfaces import BatchSink, ErrorSink, WatchOptions
from meshdev.sources.doorbell import Doorbell

if TYPE_CHECKING:
    from watchfiles._rust_notify import RustNotify

# watchfiles' Rust loop wakes every `step` to look for events, and hands a batch over once a step
# passes without a new one: detection takes one to two steps, and every wake-up costs CPU. With a
# doorbell (sources/doorbell.py) the thread sleeps until a change and then watches with the short
# step. Without one (polling, or no inotify), the step adapts: short while someone is working
# (for ACTIVE_SECONDS after a change, and after start), watchfiles' own default once idle.
STEP_MS = 2
IDLE_STEP_MS = 50
ACTIVE_SECONDS = 30.0
MAX_GROUP_MS = 200
HANDOVER_MS = 100  # a watch returns by itself this often, so a new one can take over
BELL_WAIT_SECONDS = 60.0  # re-arming and closing ring the watcher's own bell: this is a backstop

_CHANGES = {1: "added", 2: "modified", 3: "deleted"}  # watchfiles.Change values


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
    """One background thread reading the current watch.

    `arm()` creates the new watch at once, in the caller's thread, so it buffers changes from
    that moment; the thread hands over at its next return (at most HANDOVER_MS later), draining
    the older watches first. watchfiles drops a watch's pending changes when its wait is
    interrupted, so the wait is never interrupted: it returns by itself every HANDOVER_MS.
    """

    def __init__(self, on_batch: BatchSink, on_error: ErrorSink, options: WatchOptions) -> None:
        self._on_batch = on_batch
        self._on_error = on_error
        self._options = options
        self._last_change = time.monotonic()  # just started: someone is about to edit
        self._lock = threading.Lock()
        self._waiting: list[RustNotify] = []  # armed, not yet handed over, oldest first
        self._bells: dict[int, Doorbell] = {}  # by id() of the watch it rings for
        self._wake_r, self._wake_w = os.pipe()  # interrupts a doorbell's wait: re-armed, closed
        for fd in (self._wake_r, self._wake_w):
            os.set_blocking(fd, False)
        self._armed = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="meshdev-watcher", daemon=True)
        self._thread.start()

    def arm(self, dirs: Sequence[Path]) -> None:
        if not dirs:
            return
        # The bell first: a change that comes while the watch is being made is queued by the
        # watch and rings the bell. The other way round, the watcher would sleep on a bell that
        # never rang for it.
        bell = None if self._options.polling else Doorbell.for_folders(dirs)
        fresh = self._create(tuple(dirs))
        if fresh is None:
            if bell is not None:
                bell.close()
            return
        with self._lock:
            self._waiting.append(fresh)
            if bell is not None:
                self._bells[id(fresh)] = bell
            self._armed.set()
        self._ring_own()

    def close(self) -> None:
        self._closed = True
        self._armed.set()
        self._ring_own()

    def _ring_own(self) -> None:
        with self._lock, contextlib.suppress(OSError):
            if self._wake_w >= 0:  # closed with the thread: its number may be another file's now
                os.write(self._wake_w, b"x")

    def _create(self, dirs: tuple[Path, ...]) -> RustNotify | None:
        try:
            # Imported on first use: agents are already starting by then.
            from watchfiles._rust_notify import RustNotify  # documented Rust backend

            return RustNotify(
                [str(d) for d in dirs],
                False,
                self._options.polling,
                self._options.poll_delay_ms,
                False,
                True,
            )
        except FileNotFoundError as exc:
            self._on_error(f"a watched folder vanished ({exc}); watching again")
        except Exception as exc:  # e.g. the inotify instance limit
            self._on_error(f"cannot watch files ({exc}); trying again")
        return None

    def _run(self) -> None:
        current: RustNotify | None = None
        while not self._closed:
            if current is None:
                self._armed.wait()
            current = self._hand_over(current)
            if current is not None:
                self._listen_once(current)
        for notify in [current, *self._take_waiting()]:
            if notify is not None:
                self._close(notify)
        with self._lock:
            os.close(self._wake_r)
            os.close(self._wake_w)
            self._wake_w = -1

    def _take_waiting(self) -> list[RustNotify]:
        with self._lock:
            self._armed.clear()
            waiting, self._waiting = self._waiting, []
        return waiting

    def _hand_over(self, current: RustNotify | None) -> RustNotify | None:
        waiting = self._take_waiting()
        if not waiting:
            return current
        for old in [current, *waiting[:-1]]:
            if old is not None:
                self._drain(old)
        return waiting[-1]

    def _listen_once(self, notify: RustNotify) -> None:
        bell = self._bells.get(id(notify))
        if bell is not None and not self._rang(bell):
            return  # nothing changed: back to the loop, which hands over if it was re-armed
        idle_for = time.monotonic() - self._last_change
        step = STEP_MS if bell is not None or idle_for < ACTIVE_SECONDS else IDLE_STEP_MS
        try:
            self._deliver(notify.watch(self._options.group_ms, step, HANDOVER_MS, None))
        except Exception as exc:  # the watcher must never take meshdev down
            self._on_error(f"file watching failed: {exc}; watching again")
            time.sleep(0.1)

    def _rang(self, bell: Doorbell) -> bool:
        rang = bell.wait(BELL_WAIT_SECONDS, self._wake_r)
        if not rang:
            with contextlib.suppress(BlockingIOError, OSError):
                os.read(self._wake_r, 4096)
        return rang

    def _drain(self, notify: RustNotify) -> None:
        """Hand over what an old watch saw but had not handed over yet, then close it."""
        try:
            self._deliver(notify.watch(1, 1, 1, None))
        except Exception:
            pass  # it is going anyway; the resync after a re-arm covers the agents' files
        finally:
            self._close(notify)

    def _close(self, notify: RustNotify) -> None:
        notify.close()
        bell = self._bells.pop(id(notify), None)
        if bell is not None:
            bell.close()

    def _deliver(self, found: set[tuple[int, str]] | str) -> None:
        if isinstance(found, set) and found:
            self._last_change = time.monotonic()
            self._on_batch([(_CHANGES[raw], Path(path)) for raw, path in found])
