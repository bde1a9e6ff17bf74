"""The light entry point reads `meshdev start` exactly as typer does, or leaves it to typer; the
console and front it defers are the same ones, made later."""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import typer.main
from hypothesis import given, settings
from hypothesis import strategies as st

from meshdev import cli
from meshdev.events import Event
from meshdev.front.late import LateFront
from meshdev.launch import argv, start
from meshdev.launch.start import StartArgs
from meshdev.show.console import Console
from meshdev.show.deferred import DeferredConsole

START = typer.main.get_command(cli.app).commands["start"]  # type: ignore[attr-defined]


def typer_reading(args: Sequence[str]) -> StartArgs | None:
    """What typer makes of start's arguments, or None when it refuses them (or shows help)."""
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            params = dict(START.make_context("start", list(args)).params)
    except Exception:  # click's usage errors and the Exit of --help alike
        return None
    return StartArgs(paths=tuple(params.pop("paths") or ()), **params)


def light_reading(args: Sequence[str]) -> StartArgs | None:
    parsed = argv.parse_start(args)
    return None if parsed is None else StartArgs(**parsed)


def test_the_light_parser_knows_start_s_options_as_typer_declares_them() -> None:
    flags: dict[str, tuple[str, bool]] = {}
    values: dict[str, str] = {}
    arguments = []
    for param in START.params:
        if param.param_type_name == "argument":
            arguments.append((param.name, param.nargs))
        elif param.is_flag:
            flags.update({opt: (param.name, True) for opt in param.opts})
            flags.update({opt: (param.name, False) for opt in param.secondary_opts})
        else:
            values.update({opt: param.name for opt in param.opts})
    assert flags == argv.FLAGS
    assert values == argv.VALUES
    assert arguments == [("paths", -1)]
    names = {p.name for p in START.params}
    assert names == set(StartArgs.__dataclass_fields__)
    path_options = {p.name for p in START.params if _takes_paths(p)}
    assert path_options == {"paths", *argv.PATH_VALUES}


def _takes_paths(param: Any) -> bool:
    """typer 0.29 describes a type with its annotation, earlier versions with click's type."""
    described = getattr(param, "type_descriptor", None) or getattr(param, "type", "")
    return "Path" in str(described)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["agents"],
        ["agents/", "--plain"],
        ["--plain", "a.py", "b.py", "-v"],
        ["a.py", "--reload-delay", "250", "--no-reload", "--reload"],
        ["--reload-delay=0", "--events", "ev.jsonl", "--config", "x/.meshwatch"],
        ["--events=ev.jsonl", "--config=.meshwatch", "--preserve-state", "--no-preserve-state"],
        ["--verbose", "--plain", "--plain", "."],
    ],
)
def test_what_the_light_parser_reads_typer_reads_the_same(args: list[str]) -> None:
    light = light_reading(args)
    assert light is not None
    assert light == typer_reading(args)


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["-h"],
        ["a.py", "--bogus"],
        ["-vv"],
        ["--", "-a.py"],
        ["--reload-delay", "-5"],
        ["--reload-delay"],
        ["--config="],
        ["--plain=yes"],
        ["-"],
        [""],
    ],
)
def test_what_it_does_not_fully_understand_is_left_to_typer(args: list[str]) -> None:
    assert argv.parse_start(args) is None


TOKENS = [
    *argv.FLAGS,
    *argv.VALUES,
    "--config=c.yaml",
    "--reload-delay=250",
    "--events=e.jsonl",
    "--reload-delay=",
    "agents",
    "a.py",
    "500",
    "-5",
    "--",
    "-h",
    "--help",
    "--bogus",
    "-vv",
    "",
    "--plain=1",
    "-",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=6))
def test_any_command_line_is_read_as_typer_reads_it_or_left_to_typer(args: list[str]) -> None:
    light = light_reading(args)
    assert light is None or light == typer_reading(args)


def test_start_goes_the_light_way_and_everything_else_to_typer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[Any] = []
    monkeypatch.setattr(cli, "main", lambda: seen.append(sys.argv[1:]))
    monkeypatch.setattr(start, "start", lambda args: seen.append(args) or 7)
    for args in (["--version"], ["start", "--help"], ["debug", "agents"], ["starts"], []):
        monkeypatch.setattr(sys, "argv", ["meshdev", *args])
        argv.main()
    assert seen == [["--version"], ["start", "--help"], ["debug", "agents"], ["starts"], []]
    seen.clear()
    monkeypatch.setattr(sys, "argv", ["meshdev", "start", "agents", "--plain"])
    with pytest.raises(SystemExit) as ended:
        argv.main()
    assert ended.value.code == 7 and seen == [StartArgs(paths=(Path("agents"),), plain=True)]
    seen.clear()
    monkeypatch.setenv("_MESHDEV_COMPLETE", "complete_bash")  # completion: typer's
    argv.main()
    assert seen == [["start", "agents", "--plain"]]


def test_it_ends_as_typer_ends_on_ctrl_c() -> None:
    def interrupted() -> int:
        raise KeyboardInterrupt

    assert argv._as_typer_ends(interrupted) == 130


STARTED = Event(
    "meshdev_started",
    {"version": "0.1", "root": "/p", "config": None, "agents": ["alpha"], "hot_reload": True},
)


def _feed(console: Any) -> None:
    console.know_agents(["alpha", "b"])
    console.event(STARTED)
    console.event(Event("agent_started", {"agent": "alpha", "pid": 12, "reason": "first start"}))
    console.agent_lines("alpha", "out", ["a line"])
    console.agent_lines("b", "err", ["later line", "and another"])
    console.say("said")


def test_the_deferred_console_shows_what_the_console_shows_from_the_first_agent_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _feed(Console(plain=True))
    direct = capsys.readouterr().out
    deferred = DeferredConsole()
    deferred.know_agents(["alpha", "b"])
    deferred.event(STARTED)
    assert capsys.readouterr().out == ""  # the opening line waits for the console to come
    _feed(DeferredConsole())
    shown = capsys.readouterr().out
    assert shown == direct and "alpha" in shown and "a line" in shown and "said" in shown


def test_the_deferred_console_shows_a_warning_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    """Say, a second meshdev refused before any agent starts: nothing is left unshown."""
    console = DeferredConsole()
    console.event(STARTED)
    console.event(Event("warning", {"message": "another meshdev already runs"}))
    shown = capsys.readouterr().out
    assert "another meshdev already runs" in shown and shown.index("/p") < shown.index("another")


class _Recording:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def attach(self, report: Any) -> None:
        self.calls.append(("attach", report))

    def in_flight(self, agent: str) -> int:
        self.calls.append(("in_flight", agent))
        return 3

    def close(self) -> None:
        self.calls.append(("close", None))


def test_the_late_front_is_made_at_its_first_use_and_told_where_to_report() -> None:
    made: list[_Recording] = []

    def make() -> Any:
        made.append(_Recording())
        return made[-1]

    untouched = LateFront(make)
    untouched.attach(print)
    untouched.close()
    assert made == []  # never used: never made, nothing to close
    front = LateFront(make)
    front.attach(print)
    assert front.in_flight("web") == 3 and front.in_flight("web") == 3
    front.close()
    assert len(made) == 1
    web = ("in_flight", "web")
    assert made[0].calls == [("attach", print), web, web, ("close", None)]


WATCHES = typer.main.get_command(cli.app).commands["debug"].commands["watches"]  # type: ignore[attr-defined]
WATCH_TOKENS = ["--json", "--config", "--config=c.yaml", "c.yaml", "agents", "a.py", "--", "-h"]
WATCH_TOKENS += ["--help", "--bogus", "", "--json=1", "-", "--config="]


def typer_watches(args: Sequence[str]) -> dict[str, Any] | None:
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            params = dict(WATCHES.make_context("watches", list(args)).params)
    except Exception:  # click's usage errors and the Exit of --help alike
        return None
    return {**params, "paths": tuple(params["paths"] or ())}


def test_debug_watches_json_knows_the_options_typer_declares() -> None:
    options = {opt for param in WATCHES.params for opt in param.opts}
    assert options == {"paths", "--config", "--json"}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WATCH_TOKENS), max_size=5))
def test_debug_watches_json_is_read_as_typer_reads_it_or_left_to_typer(args: list[str]) -> None:
    light = argv.parse_watches(args)
    if light is not None:
        assert light == typer_watches(args)
        assert light["as_json"] is True


def test_debug_watches_json_goes_the_light_way_and_prints_what_typer_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.py").write_text("if __name__ == '__main__':\n    pass\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["meshdev", "debug", "watches", "--json"])
    with pytest.raises(SystemExit) as ended:
        argv.main()
    light = capsys.readouterr().out
    assert ended.value.code == 0 and '"a.py"' in light
    monkeypatch.setattr(cli, "main", lambda: pytest.fail("typer was asked"))
    with pytest.raises(SystemExit):
        argv.main()
    capsys.readouterr()
    with pytest.raises(SystemExit):
        cli.app(["debug", "watches", "--json"])
    assert capsys.readouterr().out == light
