"""An agent never runs bytecode that does not match its source: the project's modules are checked
by content, not by modification time and size.

Python trusts a cached `.pyc` whose recorded mtime (whole seconds) and size match the source. Two
saves of the same size within one second (`VALUE = 21`, then `VALUE = 22`) leave the second with
the first one's mtime and size, and the restarted agent would import the first one's bytecode,
written by the process meshdev had just started. So, for folders inside the project (not
`site-packages`), imports go through a loader that compares the source's hash with the one the
`.pyc` records (PEP 552) and recompiles on any difference. It writes checked hash-based `.pyc`
files, which a plain `python` validates by hash as well. Costs one read and one SipHash of each
project module's source at import; third-party packages keep the usual loader.

Runs inside agents: standard library only.
"""

from __future__ import annotations

import _imp
import marshal
import os
import sys
from importlib import machinery
from importlib._bootstrap_external import MAGIC_NUMBER, cache_from_source

TYPE_CHECKING = False  # not `from typing import`: typing costs every agent start 4 ms
if TYPE_CHECKING:
    from types import CodeType

_KEY = int.from_bytes(MAGIC_NUMBER, "little")
_CHECKED_HASH = (0b11).to_bytes(4, "little")  # PEP 552 flags: hash-based, check the source
_THIRD_PARTY = {"site-packages", "dist-packages"}
# path -> the hash of the source its module was last built from: what a refresh compares
# (runtime/refresh.py) to know which modules are stale, by content as well.
built_from: dict[str, bytes] = {}


class CheckedLoader(machinery.SourceFileLoader):
    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        source = self.get_data(path)
        digest = _imp.source_hash(_KEY, source)
        try:
            cached: str | None = cache_from_source(path)
        except NotImplementedError:  # sys.implementation.cache_tag is None: no bytecode cache
            cached = None
        if cached:
            code = _valid(self, cached, digest)
            if code is not None:
                built_from[path] = digest
                return code
        code = self.source_to_code(source, path)
        built_from[path] = digest
        if cached and not sys.dont_write_bytecode:
            # set_data writes atomically and quietly gives up where it cannot (read-only).
            data = MAGIC_NUMBER + _CHECKED_HASH + digest + marshal.dumps(code)
            self.set_data(cached, data, _mode=_mode_of(path))
        return code


def _valid(loader: CheckedLoader, cached: str, digest: bytes) -> CodeType | None:
    try:
        data = loader.get_data(cached)
    except OSError:
        return None
    flags = int.from_bytes(data[4:8], "little")
    if data[:4] != MAGIC_NUMBER or not flags & 1 or data[8:16] != digest:
        return None  # another interpreter's, by timestamp, or from other content
    try:
        code = marshal.loads(memoryview(data)[16:])
    except (EOFError, ValueError, TypeError):
        return None
    return code  # type: ignore[no-any-return]


def write_checked(path: str, source: bytes, code: CodeType) -> None:
    """The cache entry CheckedLoader would write for `source` (meshdev, which compiled it to check
    it, writes it first, so the agent's import only loads it). Quietly nothing where Python
    itself would not write one."""
    if sys.dont_write_bytecode or sys.flags.optimize or os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return
    try:
        cached = cache_from_source(path)
    except NotImplementedError:
        return
    data = MAGIC_NUMBER + _CHECKED_HASH + _imp.source_hash(_KEY, source) + marshal.dumps(code)
    machinery.SourceFileLoader("", path).set_data(cached, data, _mode=_mode_of(path))


def _mode_of(source: str) -> int:
    """The bytecode cache is as private as its source, as Python's own loader makes it."""
    try:
        return (os.stat(source).st_mode & 0o777) | 0o200
    except OSError:
        return 0o600


def source_digest(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return _imp.source_hash(_KEY, handle.read())
    except OSError:
        return None


def check_by_content(root: str) -> None:
    """Every folder under `root` (but third-party packages) imports through CheckedLoader."""
    prefix = os.path.join(os.path.abspath(root), "")
    details = (
        (machinery.ExtensionFileLoader, machinery.EXTENSION_SUFFIXES),
        (CheckedLoader, machinery.SOURCE_SUFFIXES),
        (machinery.SourcelessFileLoader, machinery.BYTECODE_SUFFIXES),
    )

    def _ours(path: str) -> bool:
        full = os.path.join(os.path.abspath(path or "."), "")
        parts = full[len(prefix) :].split(os.sep)
        return full.startswith(prefix) and not _THIRD_PARTY & set(parts)

    def hook(path: str) -> machinery.FileFinder:
        if not _ours(path) or not os.path.isdir(path or "."):
            raise ImportError("not a folder of the project")  # the next hook takes it
        return machinery.FileFinder(path, *details)

    sys.path_hooks.insert(0, hook)
    for entry in [e for e in sys.path_importer_cache if _ours(e)]:
        del sys.path_importer_cache[entry]
