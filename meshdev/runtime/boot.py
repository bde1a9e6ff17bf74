"""Start an agent under meshdev. meshdev runs `python -c "<import main; main()>" SCRIPT ARGS`
(no runpy: every start pays for what it imports); by hand, `python -m meshdev.runtime SCRIPT`.

Runs SCRIPT as a real `__main__` module (so classes defined in it pickle, and `atexit` handlers see
it), turns SIGTERM into a normal exit, reports dependencies, guards against orphans (a keeper,
`keeper.py`), and has the project's modules' bytecode checked by content (`bytecode.py`).
"""

from __future__ import annotations

import atexit
import os
import sys
import types

from meshdev.runtime import api, bytecode, keeper, modules, protocol, statefile
from meshdev.runtime.report import Reporter
from meshdev.runtime.state import Keeper

TYPE_CHECKING = False  # not `from typing import`: typing costs every agent start 4 ms
if TYPE_CHECKING:
    import signal as _signal  # the same API, typed
    from typing import NoReturn

    from meshdev.runtime.handover import Handover
else:
    import _signal  # signal without enum: 3 ms less at every agent start

TERMINATED = 128 + _signal.SIGTERM


def main() -> int:
    if len(sys.argv) < 2:
        print("usage: python -m meshdev.runtime SCRIPT [ARGS...]", file=sys.stderr)
        return 2
    if protocol.GO in os.environ and not _wait_for_go(os.environ.pop(protocol.GO)):
        return 0  # a spare meshdev did not need
    script = os.path.abspath(sys.argv[1])
    channel = {name: os.environ.pop(name, "") for name in protocol.ALL}
    if channel[protocol.MODULES]:  # first registered, so it runs after every other handler
        atexit.register(modules.at_exit, channel[protocol.MODULES], channel[protocol.ROOT], script)
    _signal.signal(_signal.SIGTERM, _exit_normally)
    _connect(channel)
    sys.argv = [script, *sys.argv[2:]]
    _set_path(script, channel[protocol.ROOT])
    if channel[protocol.ROOT]:
        bytecode.check_by_content(channel[protocol.ROOT])
    return _run(script)


def _wait_for_go(fd_text: str) -> bool:
    """Started ahead of its start (processes/spare.py): the rest of the environment arrives on
    the descriptor (NAME=VALUE, NUL between two; no json: it imports `re`), then its end; False
    when it ends with nothing."""
    keeper.prepare()
    fd = int(fd_text)
    chunks = []
    try:
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    if not chunks:
        return False
    for item in b"".join(chunks).split(b"\0"):
        name, _, value = item.partition(b"=")
        if name:
            os.environ[os.fsdecode(name)] = os.fsdecode(value)
    return True


def _exit_normally(signum: int, frame: types.FrameType | None) -> NoReturn:
    _signal.signal(_signal.SIGTERM, _signal.SIG_DFL)  # a second SIGTERM is not negotiable
    raise SystemExit(TERMINATED)


def _connect(values: dict[str, str]) -> None:
    fds = values[protocol.FDS]
    if not fds:
        return  # started by hand: run the script, nothing to report to
    report_fd, lifeline_fd = (int(x) for x in fds.split(","))
    for fd in (report_fd, lifeline_fd):
        os.set_inheritable(fd, False)  # the agent's own children must not hold the pipes
    grace = int(values[protocol.GRACE_MS] or "5000") / 1000
    keeper.start(lifeline_fd, report_fd, grace)  # from here on, this is the agent's process
    reporter = Reporter(report_fd, values[protocol.ROOT] or os.getcwd())
    reporter.start()
    api.attach(reporter, values[protocol.START_INFO] or None)
    atexit.register(reporter.flush)
    handover = None
    if values[protocol.HANDOVER]:  # its predecessor still stops: see runtime/handover.py
        from meshdev.runtime.handover import Handover

        handover = Handover(report_fd, values[protocol.ROOT])
        handover.guard_opens()
    if values[protocol.STATE_FILE]:
        _keep_state(values, reporter, handover)
    if values[protocol.REFRESH]:
        from meshdev.runtime import refresh

        refresh.install(reporter.send, values[protocol.ROOT] or os.getcwd())
    if values[protocol.FRONT] == "http":
        from meshdev.runtime.ports import move_listeners

        move_listeners(reporter)


def _keep_state(values: dict[str, str], reporter: Reporter, handover: Handover | None) -> None:
    """Restore meshdev.state now (with a handover: at its first use, once handed over); save it
    at exit (after the agent's own atexit handlers, which were registered later and so run
    first) and at checkpoints."""
    try:
        secret = statefile.read_secret(values[protocol.STATE_SECRET])
    except (OSError, statefile.StateError) as exc:
        print(f"meshdev: state is kept in memory only: {exc}", file=sys.stderr, flush=True)
        return
    keeper = Keeper(
        api.state,
        values[protocol.STATE_FILE],
        secret,
        values[protocol.AGENT],
        int(values[protocol.STATE_WARN_BYTES] or "20000000"),
        reporter.send,
    )
    checkpoint_ms = int(values[protocol.CHECKPOINT_MS] or "0")

    def restored(keys: list[str]) -> None:
        reporter.send({protocol.KIND: protocol.RESTORED, "restored": keys})
        if checkpoint_ms > 0:
            keeper.checkpoint_every(checkpoint_ms / 1000)

    atexit.register(keeper.save_quietly, "stop")
    if handover is None:
        restored(keeper.restore())
    else:
        keeper.restore_after(handover, restored)


def _set_path(script: str, root: str) -> None:
    sys.path[0] = os.path.dirname(script)
    if root and root not in sys.path:
        sys.path.insert(1, root)


def _run(script: str) -> int:
    module = types.ModuleType("__main__")
    module.__file__ = script
    module.__dict__["__builtins__"] = __builtins__
    sys.modules["__main__"] = module
    try:
        with open(script, "rb") as handle:
            code = compile(handle.read(), script, "exec")
        exec(code, module.__dict__)
    except SystemExit:
        raise
    except BaseException as exc:
        _print_from_script(exc, script)
        return 1
    return 0


def _print_from_script(exc: BaseException, script: str) -> None:
    """The traceback as `python SCRIPT` would print it: without meshdev's own frames."""
    import traceback

    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != script:
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb)
