"""Every class of bad input through the real command line, in-process (typer's runner): exit 2
with one located message on stderr, never a traceback, never exit 1. The same runs as a real
process in tests/integration/test_start.py for a few of them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from meshdev.cli import app

AGENT = 'import time\nif __name__ == "__main__":\n    time.sleep(60)\n'
BOMB = (
    "a: &a ["
    + ", ".join(["x"] * 9)
    + "]\n"
    + "".join(
        f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
)
BAD_MESHWATCH = {
    "python tag": ("x: !!python/object/apply:os.system ['touch PWNED']\n", ".meshwatch:1: x: YAML"),
    "python name": ("x: !!python/name:os.system\n", ".meshwatch:1: x: YAML tag !!python/name"),
    "bad int": ("reload_delay: !!int abc\n", ".meshwatch:1: reload_delay: 'abc' is not a valid"),
    "bad float": ("reload_delay: !!float abc\n", "'abc' is not a valid !!float"),
    "bad timestamp": ("x: !!timestamp x\n", ".meshwatch:1: x: 'x' is not a valid !!timestamp"),
    "bad bool": ("gitignore: !!bool maybe\n", "gitignore: 'maybe' is not a valid !!bool"),
    "merge key": ("b: &b {reload_delay: 5}\n<<: *b\n", ".meshwatch:2: merge keys (<<)"),
    "custom tag": ("include: !foo ['*.py']\n", ".meshwatch:1: include: YAML tag !foo"),
    "TAG directive": ("%TAG !e! tag:e.org,2000:\n---\nx: !e!y 1\n", ".meshwatch:3: x: YAML tag"),
    "deep": ("x: " + "[" * 5000 + "]" * 5000 + "\n", ".meshwatch:1: nested deeper than 32"),
    "bomb as a key": (BOMB + "? *i\n: 1\n", ".meshwatch:5: more than 10,000 values"),
    "bomb as env": (BOMB + "agents: {a: {env: {A: *i}}}\n", ".meshwatch:5: more than 10,000"),
    "unknown keys": ("".join(f"k{i}: {i}\n" for i in range(50_000)), "more than 10,000 values"),
    "huge ms": ("startup_period: 10000000000000\n", "startup_period: must be a whole number of"),
    "huge checkpoint": ("checkpoint_interval: 1" + "0" * 400 + "\n", "from 0 to 3600000"),
    "agent escaping": ("agents:\n  '../../escape': {}\n", ".meshwatch:2: agents.../../escape:"),
    "agent unnamed": ("agents:\n  '': {path: a.py}\n", ".meshwatch:2: agents.'': an agent needs"),
    "agent with /": ("agents:\n  'a/b': {}\n", ".meshwatch:2: agents.a/b: an agent's name"),
    "env =": ("agents:\n  a:\n    env: {'A=B': 1}\n", ".meshwatch:3: agents.a.env.A=B:"),
    "env unnamed": ("agents:\n  a:\n    env: {'': 1}\n", ".meshwatch:3: agents.a.env.'':"),
    "env list": ("agents:\n  a:\n    env: {A: [1]}\n", ".meshwatch:3: agents.a.env.A: must be"),
    "env map": ("agents:\n  a:\n    env: {A: {b: 1}}\n", ".meshwatch:3: agents.a.env.A: must be"),
    "path NUL": ('agents:\n  a:\n    path: "a\\0.py"\n', ".meshwatch:3: agents.a.path: a path"),
    "args NUL": ('agents:\n  a:\n    args: "x\\0"\n', ".meshwatch:3: agents.a.args: an argument"),
    "missing path": ("agents:\n  w:\n    path: nope.py\n", ".meshwatch:3: agents.w.path: nope.py"),
    "exclude number": ("exclude: 5\n", ".meshwatch:1: exclude: each entry must be a string"),
    "log_only number": ("log_only: 7\n", ".meshwatch:1: log_only: each entry must be a string"),
    "empty extension": ("watch_extensions: ['']\n", ".meshwatch:1: watch_extensions: an empty"),
    "escaping extension": ("watch_extensions: ['.py/../../x']\n", "is not a file extension"),
    "binary junk": ("\x00\x01\x02", ".meshwatch:1: YAML syntax:"),
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "a.py").write_text(AGENT)
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env, prog_name="meshdev")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


@pytest.mark.parametrize(("text", "says"), BAD_MESHWATCH.values(), ids=BAD_MESHWATCH)
def test_every_class_of_bad_meshwatch_is_exit_2_with_its_line(
    project: Path, text: str, says: str
) -> None:
    (project / ".meshwatch").write_text(text)
    for command in (["start", "a.py"], ["debug", "agents"], ["debug", "why", "a.py"]):
        code, output = run(*command)
        assert code == 2 and says in output, (command, output)
        assert "Traceback" not in output and len(output) < 3000
    assert not (project / "PWNED").exists()


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("folder", "is a folder, not a file"),
        ("fifo", "is a named pipe (FIFO), not a file"),
        ("zero", "is a character device, not a file"),
        ("loop", "is a symbolic link that loops"),
        ("dangling", "is a symbolic link to nothing"),
    ],
)
def test_a_meshwatch_that_is_no_file_is_told_and_never_read(
    project: Path, kind: str, says: str
) -> None:
    path = project / ".meshwatch"
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "zero":
        path.symlink_to("/dev/zero")
    elif kind == "loop":
        (project / "b").symlink_to(path)
        path.symlink_to(project / "b")
    else:
        path.symlink_to(project / "nowhere")
    code, output = run("start", "a.py")
    assert code == 2 and f".meshwatch: {says}" in output, output


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"MESHDEV_RELOAD_DELAY": "10000000000000"}, "MESHDEV_RELOAD_DELAY: must be a whole"),
        ({"MESHDEV_STARTUP_PERIOD": "1" + "0" * 5000}, "MESHDEV_STARTUP_PERIOD: must be a whole"),
        ({"MESHDEV_CHECKPOINT_INTERVAL": "-1"}, "from 0 to 3600000"),
        ({"MCP_MESH_RELOAD_DEBOUNCE": "500"}, "MCP_MESH_RELOAD_DEBOUNCE: must be a number of sec"),
        ({"MCP_MESH_RELOAD_PORT_DELAY": "soon"}, "MCP_MESH_RELOAD_PORT_DELAY: must be a number"),
        ({"MESHDEV_WATCH_EXTENSIONS": ".py/../x"}, "MESHDEV_WATCH_EXTENSIONS: '.py/../x' is not"),
    ],
)
def test_bad_variables_are_exit_2(project: Path, env: dict[str, str], says: str) -> None:
    code, output = run("start", "a.py", env=env)
    assert code == 2 and says in output, output


@pytest.mark.parametrize("value", ["-5", "soon", "99999999999999999999", "1.5"])
def test_a_bad_reload_delay_flag_is_told_in_meshdev_s_words(project: Path, value: str) -> None:
    code, output = run("start", "a.py", "--reload-delay", value)
    assert code == 2, output
    assert "--reload-delay: must be a whole number of milliseconds from 0 to 60000" in output
    assert "Input should" not in output


def test_help_shows_no_bool_and_plain_usage(project: Path) -> None:
    for command in (["--help"], ["start", "--help"], ["debug", "why", "--help"], ["state", "-h"]):
        code, output = run(*command)
        assert code == 0 and "<bool>" not in output and "{file}" not in output, output
    assert "Usage: meshdev debug why [OPTIONS] FILE [PATH]..." in run("debug", "why", "-h")[1]
    assert "--install-completion" in run("--help")[1]
