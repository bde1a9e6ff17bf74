"""Property: no `.meshwatch` text, however broken, gives anything but a FileConfig or one
UsageError with a bounded list of bounded, located messages; and no YAML tag ever runs code.

The texts are YAML dumps of random structures (every known key among random ones, values of every
kind), with snippets spliced in at random places (tags, anchors and aliases, merge keys, brackets,
NUL, directives), and plain random text. The same through the command line, in-process: exit 0
or 2, never an exception."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from meshdev.cli import app
from meshdev.problems import MAX_SHOWN, UsageError
from meshdev.project.agentkeys import name_problem
from meshdev.project.config import FileConfig
from meshdev.project.configread import AGENT_KEYS, TOP_KEYS, parse_config
from meshdev.project.settings import Flags, resolve

FILE = Path("/fuzz/.meshwatch")
MARKER = Path(os.environ.get("TMPDIR", "/tmp")) / f"meshdev-fuzz-ran-{os.getpid()}"

KEYS = st.sampled_from(
    [*TOP_KEYS, *AGENT_KEYS, "agents", "<<", "", " ", "a/b", "../../x", "A=B", "=", "~", "1"]
) | st.text(max_size=12)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.sampled_from([0, -1, 1, 65535, 65536, 10**13, 2**63])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=25,
)
DOCUMENTS = st.dictionaries(KEYS, VALUES, max_size=8).map(
    lambda d: yaml.safe_dump(d, allow_unicode=True)
)
SNIPPETS = st.sampled_from(
    [
        "!!python/name:os.system ",
        f"!!python/object/apply:os.system ['touch {MARKER}'] ",
        "!!python/object/new:builtins.list ",
        "!!int ",
        "!!float ",
        "!!timestamp ",
        "!!bool ",
        "!!binary ",
        "!!set ",
        "!foo ",
        "&a ",
        "*a",
        "*nowhere",
        "<<: ",
        "<<: *a\n",
        "[",
        "]",
        "{",
        "}",
        "\n  ",
        "\n- ",
        "\x00",
        "\t",
        "%TAG !e! tag:example.com,2000:\n---\n",
        "%YAML 1.1\n---\n",
        "? ",
        "'",
        '"',
        "\\0",
        "---\n",
        "...\n",
        "=",
        "[" * 40,
        ": ",
        "#",
        "\ufeff",
    ]
)


@st.composite
def texts(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return draw(st.text(max_size=200))
    text = draw(DOCUMENTS)
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        at = draw(st.integers(min_value=0, max_value=len(text)))
        text = text[:at] + draw(SNIPPETS) + text[at:]
    return text


def outcome(text: str) -> FileConfig | UsageError:
    try:
        config = parse_config(text, FILE)
    except UsageError as error:
        return error
    try:
        resolve(config, {}, Flags())
    except UsageError as error:
        return error
    return config


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts())
def test_any_text_is_a_config_or_one_bounded_located_usage_error(text: str) -> None:
    result = outcome(text)  # any other exception fails the property
    assert not MARKER.exists(), "a YAML tag ran code"
    if isinstance(result, UsageError):
        assert 1 <= len(result.problems) <= MAX_SHOWN + 1
        for problem in result.problems:
            assert str(problem).startswith(str(FILE))
            assert len(str(problem)) < 1200
            assert "a bug in meshdev" not in problem.message
        return
    for agent in result.agents:  # what is accepted is safe to spawn and to name files after
        assert name_problem(agent.name) is None
        assert all("\0" not in part for part in (*agent.args, agent.path or ""))
        assert all(n and "=" not in n and "\0" not in n + v for n, v in agent.env)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts())
def test_any_meshwatch_through_the_command_line_exits_0_or_2(root: Path, text: str) -> None:
    (root / ".meshwatch").write_text(text, encoding="utf-8", errors="surrogatepass")
    (root / "agent.py").write_text('if __name__ == "__main__":\n    pass\n')
    result = CliRunner().invoke(app, ["debug", "agents", str(root), "--json"])
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
