"""reload_strategy refresh: the project's stale modules are reloaded inside the running agent, which
keeps its pid, its connections and every object outside those modules.

meshdev sends `protocol.refresh_signal()`; Python runs the handler in the main thread, between two
bytecodes, so the agent is paused there for the swap (or in the thread the agent chose with
`meshdev.on_refresh(..., call_in=...)`). Stale means the source's hash differs from the one the
module was built from (`bytecode.built_from`): the content on disk, whatever its mtime says.

All or nothing: every refreshed module's namespace and its `sys.modules` entry are saved first; if
any module's new code raises, all of them are put back as they were, the agent keeps running the
old code, and meshdev is told which module failed. Runs inside agents: standard library only.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
import types

from meshdev.runtime import bytecode, protocol, threads

TYPE_CHECKING = False  # not `from typing import`: typing costs every agent start 4 ms
if TYPE_CHECKING:
    import signal as _signal  # the same API, typed
    from collections.abc import Callable
    from typing import Any

    Callback = Callable[[list[str]], object]
    Scheduler = Callable[[Callable[[], None]], object]
else:
    import _signal

_callbacks: list[Callback] = []
_session: dict[str, Any] = {"send": None, "root": "", "call_in": None, "busy": False}
_SWAP_SWITCH_SECONDS = 1.0  # while swapping, other threads wait unless this one blocks


def on_refresh(callback: Callback, call_in: Scheduler | None = None) -> Callback:
    """Call `callback(changed_paths)` after each refresh; `call_in` (e.g. an asyncio loop's
    `call_soon_threadsafe`) runs the whole refresh in the thread it schedules into."""
    _callbacks.append(callback)
    if call_in is not None:
        _session["call_in"] = call_in
    return callback


def install(send: Callable[[dict[str, Any]], None], root: str) -> None:
    """At boot, in the main thread, before the agent's script runs."""
    _session["send"], _session["root"] = send, os.path.join(os.path.abspath(root), "")
    _signal.signal(protocol.refresh_signal(), _on_signal)
    send({protocol.KIND: protocol.REFRESHABLE, "pid": os.getpid()})


def _on_signal(signum: int, frame: types.FrameType | None) -> None:
    call_in = _session["call_in"]
    if call_in is None:
        refresh()
        return
    try:
        call_in(refresh)
    except BaseException as exc:  # the agent's scheduler is gone: a restart will do
        _tell_failure(None, None, exc, restart=True)


def refresh() -> None:
    if _session["busy"]:
        return  # a second signal during a refresh: this one reloads whatever is stale now
    _session["busy"] = True
    try:
        _refresh(time.perf_counter())
    finally:
        _session["busy"] = False


def _refresh(started: float) -> None:
    modules = _project_modules()
    stale = _stale_modules(modules)
    refused = [m for m in stale if getattr(m, "__meshdev_refresh__", True) is False]
    if refused:
        reason = ValueError("it declares __meshdev_refresh__ = False")
        _tell_failure(refused[0], None, reason, restart=True)
        return
    order = _reload_order(stale, modules)
    failed = _swap(order)
    if failed is not None:
        module, exc = failed
        _tell_failure(module, exc, exc, restart=False)
        return
    changed = [m.__file__ for m in stale if isinstance(m.__file__, str)]
    for callback in list(_callbacks):
        try:
            callback(changed)
        except BaseException as exc:
            _tell_failure(None, exc, exc, restart=True)
            return
    names = [m.__name__ for m in order]
    files = [str(m.__file__) for m in order]
    seconds = round(time.perf_counter() - started, 6)
    _send({protocol.KIND: protocol.REFRESHED, "modules": names, "files": files, "seconds": seconds})


def _project_modules() -> list[types.ModuleType]:
    root = _session["root"]
    return [
        m
        for name, m in list(sys.modules.items())
        if name != "__main__"
        and isinstance(m, types.ModuleType)
        and isinstance(getattr(m, "__file__", None), str)
        and m.__file__ in bytecode.built_from
        and os.path.abspath(m.__file__).startswith(root)
    ]


def _stale_modules(modules: list[types.ModuleType]) -> list[types.ModuleType]:
    found = []
    for module in modules:
        path = module.__file__
        assert isinstance(path, str)
        digest = bytecode.source_digest(path)
        if digest is not None and digest != bytecode.built_from.get(path):
            found.append(module)
    return found


def _reload_order(
    stale: list[types.ModuleType], modules: list[types.ModuleType]
) -> list[types.ModuleType]:
    """The stale modules and every project module that holds what they define (`import x`,
    `from x import f`), each after the modules it takes from: inner first."""
    by_name = {m.__name__: m for m in modules}
    sources = {name: _sources_of(module) for name, module in by_name.items()}
    chosen = {m.__name__ for m in stale}
    grew = True
    while grew:
        holders = {name for name, taken in sources.items() if taken & chosen} - chosen
        chosen |= holders
        grew = bool(holders)
    ordered: list[types.ModuleType] = []

    def visit(name: str, seen: set[str]) -> None:
        if name in seen or name not in by_name:
            return
        seen.add(name)
        for inner in sorted(chosen & sources[name]):
            visit(inner, seen)
        ordered.append(by_name[name])

    seen: set[str] = set()
    for name in sorted(chosen):
        visit(name, seen)
    return ordered


def _sources_of(module: types.ModuleType) -> set[str]:
    """The modules whose objects `module`'s namespace holds (its own sub-modules aside)."""
    own = module.__name__ + "."
    found = set()
    for value in list(vars(module).values()):
        if isinstance(value, types.ModuleType):
            name = value.__name__
        elif isinstance(value, (types.FunctionType, type)):
            name = value.__module__
        else:
            continue
        if isinstance(name, str) and name != module.__name__ and not name.startswith(own):
            found.add(name)
    return found


def _swap(order: list[types.ModuleType]) -> tuple[types.ModuleType, BaseException] | None:
    """Reload `order`, in order; on the first failure put everything back and say which."""
    saved = [(m, dict(vars(m)), sys.modules.get(m.__name__)) for m in order]
    digests = dict(bytecode.built_from)
    before = set(sys.modules)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(_SWAP_SWITCH_SECONDS)
    try:
        for module in order:
            try:
                importlib.reload(module)
            except BaseException as exc:
                _put_back(saved, before, digests)
                return module, exc
    finally:
        sys.setswitchinterval(interval)
    return None


def _put_back(
    saved: list[tuple[types.ModuleType, dict[str, Any], Any]],
    before: set[str],
    digests: dict[str, bytes],
) -> None:
    root = _session["root"]
    for name in set(sys.modules) - before:  # project modules the new code imported
        path = getattr(sys.modules[name], "__file__", None)
        if isinstance(path, str) and os.path.abspath(path).startswith(root):
            del sys.modules[name]
    for module, namespace, entry in saved:
        vars(module).clear()
        vars(module).update(namespace)
        if entry is not None:
            sys.modules[module.__name__] = entry
    bytecode.built_from.clear()
    bytecode.built_from.update(digests)  # still stale: the next refresh tries them again


def _tell_failure(
    module: types.ModuleType | None, exc: BaseException | None, error: BaseException, restart: bool
) -> None:
    path = getattr(module, "__file__", None) if module is not None else None
    line = _line_in(path, exc) if exc is not None else None
    _send(
        {
            protocol.KIND: protocol.REFRESH_FAILED,
            "module": module.__name__ if module is not None else None,
            "file": path if isinstance(path, str) else None,
            "line": line,
            "error": f"{type(error).__name__}: {error}",
            "restart": restart,
        }
    )


def _line_in(path: object, exc: BaseException) -> int | None:
    if isinstance(exc, SyntaxError):
        return exc.lineno
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _send(message: dict[str, Any]) -> None:
    # Not from this thread: a signal handler may run while this very thread holds the
    # reporter's lock, in the middle of another report.
    send = _session["send"]
    if send is not None:
        threads.start(send, message)
