"""`meshdev.state` inside an agent: a dict-like namespace kept across restarts.

Values are unpickled lazily, on first access, so that classes defined in the agent's own script
(a real `__main__`) exist by the time their instances are restored. Each key is pickled on its own:
a lock or a socket in the state costs that key (named in a warning), never the rest.
"""

from __future__ import annotations

import sys
import time

from meshdev.runtime import protocol, statefile, threads

try:  # what collections.abc re-exports, already loaded by every interpreter: no import cost
    from _collections_abc import MutableMapping
except ImportError:  # pragma: no cover - other Python implementations
    from collections.abc import MutableMapping

TYPE_CHECKING = False  # not `from typing import`: typing costs every agent start 4 ms
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

    from meshdev.runtime.handover import Handover

    _Mapping = MutableMapping[str, Any]
else:
    _Mapping = MutableMapping

# pickle and hashlib are imported where they are used, off the start-up path.


def _print_warning(message: str) -> None:
    print(f"meshdev: {message}", file=sys.stderr, flush=True)


class StateNamespace(_Mapping):
    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._raw: dict[str, bytes] = {}  # restored, not unpickled yet
        self._lock = threads.RLock()
        self.warn: Callable[[str], None] = _print_warning
        self._first_use: Callable[[], None] | None = None

    def restore(self, entries: dict[str, bytes]) -> None:
        with self._lock:
            self._raw.update(entries)

    def defer(self, first_use: Callable[[], None]) -> None:
        """`first_use` runs once, before anything reads or changes the state (other threads
        wait for it): the restore that must wait for the handover."""
        self._first_use = first_use

    def _used(self) -> None:
        """Called with the lock held."""
        first_use, self._first_use = self._first_use, None
        if first_use is not None:
            first_use()

    def __getitem__(self, key: str) -> Any:
        with self._lock:
            self._used()
            if key in self._values:
                return self._values[key]
            if key not in self._raw:
                raise KeyError(key)
            raw = self._raw.pop(key)
            import pickle

            try:
                value = pickle.loads(raw)
            except Exception as exc:
                self.warn(f"state[{key!r}] could not be restored ({exc}); starting it fresh")
                raise KeyError(key) from None
            self._values[key] = value
            return value

    def __setitem__(self, key: str, value: Any) -> None:
        with self._lock:
            self._used()
            self._values[key] = value
            self._raw.pop(key, None)

    def __delitem__(self, key: str) -> None:
        with self._lock:
            self._used()
            found = self._values.pop(key, _MISSING) is not _MISSING
            found = self._raw.pop(key, None) is not None or found
            if not found:
                raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            self._used()
            keys = list(self._values) + [k for k in self._raw if k not in self._values]
        return iter(keys)

    def __len__(self) -> int:
        with self._lock:
            self._used()
            return len(self._values) + sum(1 for k in self._raw if k not in self._values)

    def __repr__(self) -> str:
        return f"<meshdev.state keys={list(self)!r}>"

    def snapshot(self) -> tuple[dict[str, bytes], dict[str, str], list[tuple[str, str, str]]]:
        """(key -> pickled bytes, key -> type name, [(key, type, error)] for what failed)."""
        import pickle

        with self._lock:
            values = dict(self._values)
            entries = dict(self._raw)
        types = {k: "(not loaded yet)" for k in entries}
        failed: list[tuple[str, str, str]] = []
        for key, value in values.items():
            kind = _type_name(value)
            try:
                entries[key] = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
                types[key] = kind
            except Exception as exc:
                failed.append((key, kind, str(exc)))
        return entries, types, failed


_MISSING = object()


def _type_name(value: Any) -> str:
    kind = type(value)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


class Keeper:
    """Restores the namespace at start-up and saves it on stop and at checkpoints."""

    def __init__(
        self,
        namespace: StateNamespace,
        path: str,
        secret: bytes,
        agent: str,
        warn_bytes: int,
        send: Callable[[dict[str, Any]], None],
    ) -> None:
        self.namespace = namespace
        self.path = path
        self.secret = secret
        self.agent = agent
        self.warn_bytes = warn_bytes
        self.send = send
        self._lock = threads.Lock()
        self._last_digest: bytes | None = None
        self._warned: set[tuple[str, str]] = set()
        self._warned_size = False
        self._held = False  # until the handover: a save would replace the predecessor's state

    def warn(self, message: str) -> None:
        _print_warning(message)
        self.send({protocol.KIND: protocol.STATE_WARNING, "message": message})

    def restore(self) -> list[str]:
        statefile.remove_leftovers(self.path)  # a predecessor killed by `kill -9` mid-save
        try:
            data = statefile.read(self.path)
            if data is None:
                return []
            loaded = statefile.decode(data, self.secret, self.agent)
        except (statefile.StateError, ValueError, EOFError, ImportError, KeyError) as exc:
            self._set_aside(exc)
            return []
        except OSError as exc:
            self.warn(f"state file could not be read ({exc}); starting fresh")
            return []
        self.namespace.restore(loaded.entries)
        self._last_digest = _digest(loaded.entries)
        return sorted(loaded.entries)

    def restore_after(self, handover: Handover, restored: Callable[[list[str]], None]) -> None:
        """Restore at the first use of the state, once meshdev handed over (runtime/handover.py);
        `restored` gets the keys. No save until then."""
        self._held = True

        def first_use() -> None:
            if not handover.wait():
                self.warn("meshdev went away before the handover: state not restored, not saved")
                return
            keys = self.restore()
            self._held = False
            restored(keys)

        self.namespace.defer(first_use)

    def _set_aside(self, exc: Exception) -> None:
        try:
            moved = statefile.set_aside(self.path, "invalid")
        except OSError as error:
            self.warn(f"state file unusable ({exc}) and not set aside ({error}); starting fresh")
            return
        self.warn(f"state file set aside ({exc}): {moved}; starting fresh")

    def save(self, reason: str) -> None:
        with self._lock:
            if self._held:
                return  # never restored: the file on disk is still the predecessor's, and right
            started = time.perf_counter()
            entries, types, failed = self.namespace.snapshot()
            self._warn_unpicklable(failed)
            digest = _digest(entries)
            if digest == self._last_digest or (not entries and self._last_digest is None):
                return  # nothing changed since the last save, or state never used
            data = statefile.encode(self.secret, self.agent, entries, types)
            statefile.write_atomically(self.path, data)
            self._last_digest = digest
            self._warn_size(len(data))
            seconds = round(time.perf_counter() - started, 4)
            self.send(
                {
                    protocol.KIND: protocol.SAVED,
                    "reason": reason,
                    "keys": len(entries),
                    "bytes": len(data),
                    "seconds": seconds,
                }
            )

    def save_quietly(self, reason: str) -> None:
        """For atexit and checkpoints: a failure is a warning, never an agent crash."""
        try:
            self.save(reason)
        except Exception as exc:
            self.warn(f"state could not be saved ({exc}); the previous save is kept")

    def checkpoint_every(self, seconds: float) -> None:
        def loop() -> None:
            while True:
                time.sleep(seconds)
                self.save_quietly("checkpoint")

        threads.start(loop)

    def _warn_unpicklable(self, failed: list[tuple[str, str, str]]) -> None:
        for key, kind, error in failed:
            if (key, kind) not in self._warned:
                self._warned.add((key, kind))
                self.warn(
                    f"state[{key!r}] (a {kind}) cannot be pickled ({error}); it is not "
                    "saved, every other key is"
                )

    def _warn_size(self, size: int) -> None:
        if size > self.warn_bytes and not self._warned_size:
            self._warned_size = True
            shown = f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.1f} KB"
            self.warn(
                f"state is {shown}, above the warning size; every save pickles all of it — "
                "consider keeping less in meshdev.state"
            )


def _digest(entries: dict[str, bytes]) -> bytes:
    import hashlib

    hasher = hashlib.sha256()
    for key in sorted(entries):
        hasher.update(key.encode() + b"\0" + entries[key] + b"\0")
    return hasher.digest()
