"""A warm template: an interpreter that imported an agent's third-party modules once, then forks
an agent per start, in a few milliseconds instead of the hundreds its imports take.

meshdev starts it as `python -c "…template.main()" FD` with one end of a socketpair (datagrams:
one message, one JSON object, with file descriptors beside it). Its life:

1. `{"preload": [names]}` → it imports them in the order the agent first imported them (the order
   matters: asyncio after `_asyncio` fell back to Python would break every child), checks that
   importing left no thread and no socket behind (a child would not have the thread, and every
   child would share the socket), freezes the heap (`gc.freeze()`: the children's collector
   would otherwise write to every inherited object and copy the pages) and answers
   `{"ready": {...}}`, or `{"unsafe": reason}` and exits.
2. `{"start": spec}` with five descriptors (stdin, stdout, stderr, the report pipe, the lifeline)
   → it forks: the child becomes the agent (`_become`); the template answers `{"started": pid}`.
3. A child's exit → `{"exited": pid, "code": returncode}` (as `subprocess` reports it: -N for a
   signal), because the agent is the template's child, not meshdev's.
4. The socket closed (meshdev gone or done with it) → it exits; its agents keep their lifelines.

Never imports a project module: the list comes from meshdev, which leaves them out.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import sys
import threading
import time

from meshdev.runtime import protocol
from meshdev.runtime.reaping import exited_children

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_MESSAGE = 1 << 20
FD_COUNT = 5  # stdin, stdout, stderr, report, lifeline


def main() -> None:
    channel = socket.socket(fileno=int(sys.argv[1]))
    sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]  # nothing of the project
    request = json.loads(channel.recv(MAX_MESSAGE) or b"{}")
    started = time.perf_counter()
    loaded, skipped = _preload(request.get("preload", []))
    unsafe = _unsafe_after_preload(channel)
    if unsafe:
        _send(channel, {"unsafe": unsafe})
        return
    gc.collect()
    gc.freeze()
    seconds = round(time.perf_counter() - started, 4)
    paths = [p for p in sys.path if os.path.isdir(p)]  # meshdev rebuilds it when one changes
    ready = {"loaded": loaded, "skipped": skipped, "seconds": seconds, "paths": paths}
    ready["modules"] = list(sys.modules)  # what a child has without importing it
    _send(channel, {"ready": ready})
    _serve(channel)


def _preload(names: list[str]) -> tuple[int, list[str]]:
    """Import each, in order; a name that is not importable by itself (an alias a package put in
    sys.modules, a module that needs the project) is skipped, and said."""
    import importlib

    skipped = []
    for name in names:
        if name in sys.modules:
            continue
        try:
            importlib.import_module(name)
        except Exception:
            skipped.append(name)
    return sum(1 for n in names if n in sys.modules), skipped


def _unsafe_after_preload(channel: socket.socket) -> str | None:
    others = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    if others:
        return f"importing started threads ({', '.join(others[:3])}), which a fork would not have"
    sockets = [fd for fd in _open_fds() if fd != channel.fileno() and _is_socket(fd)]
    if sockets:
        return f"importing opened {len(sockets)} socket(s), which every agent would share"
    return None


def _open_fds() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return []


def _is_socket(fd: int) -> bool:
    import stat

    try:
        return stat.S_ISSOCK(os.fstat(fd).st_mode)
    except OSError:
        return False


def _serve(channel: socket.socket) -> None:
    """Answer starts and report exits until meshdev closes the channel."""
    import selectors

    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)  # only to wake the select
    children: set[int] = set()
    selector = selectors.DefaultSelector()
    selector.register(channel, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    own = [channel.fileno(), wake_r, wake_w, selector.fileno()]  # none of them the agent's
    while True:
        for key, _ in selector.select():
            if key.fileobj is wake_r:
                os.read(wake_r, 4096)
            elif not _take_request(channel, children, own):
                return
        _report_exits(channel, children)


def _take_request(channel: socket.socket, children: set[int], own: list[int]) -> bool:
    try:
        data, fds, _, _ = socket.recv_fds(channel, MAX_MESSAGE, FD_COUNT)
    except OSError:
        return False
    if not data:
        return False
    request = json.loads(data)
    if "start" not in request or len(fds) != FD_COUNT:
        for fd in fds:
            os.close(fd)
        _send(channel, {"refused": "a start needs its spec and five file descriptors"})
        return True
    # The start is told only once the child is in its own session: a signal meshdev sends to
    # its process group right after must reach it, and must not reach the template's.
    in_session, told = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(in_session)
        os.setsid()
        os.close(told)
        _become(request["start"], fds, own)
    os.close(told)
    os.read(in_session, 1)  # EOF once the child closed its end, after setsid()
    os.close(in_session)
    children.add(pid)
    for fd in fds:
        os.close(fd)
    _send(channel, {"started": pid})
    return True


def _report_exits(channel: socket.socket, children: set[int]) -> None:
    for pid, status in exited_children():
        children.discard(pid)
        _send(channel, {"exited": pid, "code": os.waitstatus_to_exitcode(status)})


def _send(channel: socket.socket, message: dict[str, Any]) -> None:
    try:
        channel.send(json.dumps(message).encode())
    except OSError:
        pass  # meshdev is gone: the next receive says so


def _become(spec: dict[str, Any], fds: list[int], template_fds: list[int]) -> None:
    """In the child: the agent, as a fresh `python -c boot SCRIPT ARGS` would have been. Never
    returns."""
    code = 1
    try:
        _leave_the_template(template_fds)
        _take_io(fds)
        _take_identity(spec, fds)
        from meshdev.runtime.boot import main as boot

        code = boot()
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        os._exit(_shut_down(code))


def _leave_the_template(template_fds: list[int]) -> None:
    signal.set_wakeup_fd(-1)
    for number in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(number, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for fd in template_fds:
        os.close(fd)
    import atexit

    atexit._clear()  # the template's handlers are not the agent's


def _take_io(fds: list[int]) -> None:
    """Its three standard streams on the agent's pipes, buffered as the interpreter would have
    buffered them (the template's were /dev/null, with the same environment)."""
    import io

    for target, fd in enumerate(fds[:3]):
        os.dup2(fd, target)
        os.close(fd)
    unbuffered = bool(os.environ.get("PYTHONUNBUFFERED"))
    stdin = io.BufferedReader(io.FileIO(0, "r", closefd=False))
    sys.stdin = _text(stdin, sys.__stdin__, line_buffering=False, through=False)
    setattr(sys, "__stdin__", sys.stdin)  # noqa: B010 - a final name to typing, not to Python
    for number, name in ((1, "stdout"), (2, "stderr")):
        raw = io.FileIO(number, "w", closefd=False)
        binary = raw if unbuffered else io.BufferedWriter(raw)
        line_buffered = name == "stderr" or raw.isatty()
        stream = _text(binary, getattr(sys, f"__{name}__"), line_buffered, unbuffered)
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


def _text(binary: Any, like: Any, line_buffering: bool, through: bool) -> Any:
    import io

    return io.TextIOWrapper(
        binary,
        encoding=like.encoding,
        errors=like.errors,
        line_buffering=line_buffering,
        write_through=through,
    )


def _take_identity(spec: dict[str, Any], fds: list[int]) -> None:
    os.chdir(spec["cwd"])
    os.environ.clear()
    os.environ.update(spec["env"])
    os.environ[protocol.FDS] = f"{fds[3]},{fds[4]}"
    sys.argv = ["-c", spec["script"], *spec["args"]]
    sys.path[:0] = [""]  # as `python -c` has it; the boot puts the script's folder there
    import random

    random.seed()  # CPython reseeds at fork too; other generators made at import are shared


def _exit_code(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    print(value, file=sys.stderr)
    return 1


def _shut_down(code: int) -> int:
    """What the interpreter does at exit: join threads, run atexit, flush."""
    import atexit

    try:
        threading._shutdown()  # type: ignore[attr-defined]
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
    except BaseException:
        pass
    return code
