"""The console script's entry point. `meshdev start …` is read here by an exact parser of its
own, so the agents start without paying for typer (its import, and the pydantic adapters it
builds for every parameter at each invocation); everything else — other commands, help,
completion, and any argument this parser does not fully understand — goes to the typer command
line (`cli.py`), which stays the one definition of the options. tests/unit/test_launch.py holds
the two to the same options and the same readings."""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, TextIO, cast

# start's options as cli.py declares them: option -> (parameter, value) for the flags ...
FLAGS: dict[str, tuple[str, bool]] = {
    "--reload": ("reload", True),
    "--no-reload": ("reload", False),
    "--preserve-state": ("preserve_state", True),
    "--no-preserve-state": ("preserve_state", False),
    "--plain": ("plain", True),
    "--verbose": ("verbose", True),
    "-v": ("verbose", True),
}
# ... and option -> parameter for those that take a value (a path, but for --reload-delay).
VALUES: dict[str, str] = {
    "--config": "config",
    "--reload-delay": "reload_delay",
    "--events": "events",
}
PATH_VALUES = frozenset({"config", "events"})


def parse_start(args: Sequence[str]) -> dict[str, Any] | None:
    """start's parameters from its arguments (those after `start`), as typer would give them;
    None for anything that typer should read instead (help, an unknown option, `--`, a value
    that looks like an option, a path typer would refuse)."""
    found: dict[str, Any] = {}
    paths: list[Path | None] = []
    todo = list(args)
    while todo:
        arg = todo.pop(0)
        name, equals, attached = arg.partition("=")
        if arg in FLAGS:
            param, flag = FLAGS[arg]
            found[param] = flag
        elif name in VALUES:
            text = attached if equals else (todo.pop(0) if todo else "")
            if not _plain_value(text):
                return None
            param = VALUES[name]
            found[param] = _path(text) if param in PATH_VALUES else text
        elif arg.startswith("-") or not _plain_value(arg):
            return None
        else:
            paths.append(_path(arg))
    if any(value is None for value in (*paths, *found.values())):
        return None
    return {**found, "paths": tuple(paths)}


def parse_watches(args: Sequence[str]) -> dict[str, Any] | None:
    """`debug watches --json`'s parameters from its arguments, as typer would give them; None
    for anything else (without --json the answer is a rich table: typer's way is as quick)."""
    found: dict[str, Any] = {"config": None, "as_json": False}
    paths: list[Path | None] = []
    config_given = False
    todo = list(args)
    while todo:
        arg = todo.pop(0)
        name, equals, attached = arg.partition("=")
        if arg == "--json":
            found["as_json"] = True
        elif name == "--config":
            text = attached if equals else (todo.pop(0) if todo else "")
            if not _plain_value(text):
                return None
            found["config"], config_given = _path(text), True
        elif arg.startswith("-") or not _plain_value(arg):
            return None
        else:
            paths.append(_path(arg))
    if not found["as_json"] or any(value is None for value in paths):
        return None
    if config_given and found["config"] is None:
        return None
    return {**found, "paths": tuple(paths)}


def _plain_value(value: str) -> bool:
    """Taken as it is by typer: not empty, not an option, no NUL."""
    return bool(value) and not value.startswith("-") and "\0" not in value


def _path(value: str) -> Path | None:
    """The Path typer makes of `value`, or None where it might refuse it (it refuses a path
    that exists but cannot be read)."""
    try:
        os.stat(value)
    except OSError:
        return Path(value)
    except ValueError:
        return None
    return Path(value) if os.access(value, os.R_OK) else None


def main() -> None:
    args = sys.argv[1:]
    parsed = None
    completing = any(key.startswith("_MESHDEV_COMPLETE") for key in os.environ)
    if args[:1] == ["start"] and not completing:
        parsed = parse_start(args[1:])
    if args[:2] == ["debug", "watches"] and not completing:
        watches = parse_watches(args[2:])
        if watches is not None:
            code = _as_typer_ends(lambda: _watches_json(watches["paths"], watches["config"]))
            if code >= 0:
                sys.exit(code)
    if parsed is None:
        from meshdev.cli import main as typer_main

        typer_main()
        return
    from meshdev.launch.start import StartArgs, start

    sys.exit(_as_typer_ends(lambda: start(StartArgs(**parsed))))


def _watches_json(paths: Sequence[Path], config: Path | None) -> int:
    """`meshdev debug watches --json` without typer or rich (60,000 files: 40 % of its time was
    their imports). -1 when a usage problem is to be told: typer's command line tells it."""
    from meshdev.decide import explain
    from meshdev.problems import UsageError
    from meshdev.project.project import load_project
    from meshdev.project.settings import Flags
    from meshdev.show.jsontext import json_text

    try:
        project = load_project(list(paths), config, os.environ, Flags(), Path.cwd())
    except UsageError:
        return -1
    sys.stdout.write(json_text(explain.watches(project)))
    sys.stdout.flush()
    return 0


def _as_typer_ends(run: Callable[[], int]) -> int:
    """The exit code, ending as typer's command line ends on Ctrl-C and on a broken pipe. (Its
    "Aborted." on EOFError has no counterpart: start reads its stdin on a thread of its own.)"""
    try:
        code = run()
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        sys.stdout = cast(TextIO, _Pacified(sys.stdout))
        sys.stderr = cast(TextIO, _Pacified(sys.stderr))
        return 1
    return code


class _Pacified:
    """A stream whose flush ignores a broken pipe (the interpreter's last flush, on its way out),
    as click's PacifyFlushWrapper."""

    def __init__(self, wrapped: IO[str]) -> None:
        self.wrapped = wrapped

    def flush(self) -> None:
        try:
            self.wrapped.flush()
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.wrapped, attr)
