from __future__ import annotations

from pathlib import Path

import pytest

from meshdev.problems import UsageError
from meshdev.project.config import AgentSpec, find_config, load_config, parse_config

FILE = Path("/project/.meshwatch")


def problems(text: str) -> list[str]:
    with pytest.raises(UsageError) as caught:
        parse_config(text, FILE)
    return [str(p) for p in caught.value.problems]


def test_the_seed_example_parses_into_typed_values() -> None:
    config = parse_config(
        """
include:
  - "agents/**/*.py"
  - "config/**/*.yaml"
exclude: ["**/__pycache__/**", "**/test_*.py"]
log_only:
  - "**/*.md"
reload_delay: 500
""",
        FILE,
    )
    assert config.include == ("agents/**/*.py", "config/**/*.yaml")
    assert config.exclude == ("**/__pycache__/**", "**/test_*.py")
    assert config.log_only == ("**/*.md",)
    assert config.given("reload_delay") == 500
    assert config.root == Path("/project")


def test_every_problem_is_reported_at_once_with_line_and_key() -> None:
    found = problems("inclde: ['*.py']\nreload_delay: fast\nforce_polling: maybe\n")
    assert found == [
        "/project/.meshwatch:1: inclde: unknown key; did you mean 'include'?",
        "/project/.meshwatch:2: reload_delay: "
        "must be a whole number of milliseconds >= 0, not 'fast'",
        "/project/.meshwatch:3: force_polling: must be true or false, not 'maybe'",
    ]


def test_yaml_syntax_errors_name_the_line() -> None:
    assert problems("include:\n  - 'a\n") == [
        "/project/.meshwatch:3: YAML syntax: found unexpected end of stream"
    ]


def test_an_empty_file_is_all_defaults() -> None:
    config = parse_config("", FILE)
    assert config.include is None and config.exclude == () and config.given("reload_delay") is None


def test_a_top_level_list_is_refused() -> None:
    assert "must be a mapping" in problems("- a\n- b\n")[0]


def test_duplicate_keys_are_a_problem_not_a_silent_win() -> None:
    assert problems("reload_delay: 1\nreload_delay: 2\n") == [
        "/project/.meshwatch:2: reload_delay: given twice; keep one"
    ]


def test_bad_entries_in_pattern_lists() -> None:
    assert "each entry must be a string" in problems("include:\n  - [nested]\n")[0]
    assert "must be a list of strings" in problems("exclude: {a: 1}\n")[0]


def test_a_single_string_is_a_list_of_one() -> None:
    assert parse_config("include: '*.py'\n", FILE).include == ("*.py",)


def test_agents_section() -> None:
    config = parse_config(
        """
agents:
  alpha:
    path: services/alpha.py
    args: --port 8001
    env: {DEBUG: true, LEVEL: 3}
    watch: ["prompts/*.txt"]
  beta:
""",
        FILE,
    )
    assert config.agent("alpha") == AgentSpec(
        name="alpha",
        path="services/alpha.py",
        args=("--port", "8001"),
        env=(("DEBUG", "true"), ("LEVEL", "3")),
        watch=("prompts/*.txt",),
    )
    assert config.agent("beta") == AgentSpec(name="beta")


def test_unknown_agent_keys_are_located() -> None:
    assert problems("agents:\n  alpha:\n    pth: x.py\n") == [
        "/project/.meshwatch:3: agents.alpha.pth: unknown key; did you mean 'path'?"
    ]


def test_extensions_are_normalised() -> None:
    assert parse_config("watch_extensions: [py, .yaml]\n", FILE).given("watch_extensions") == (
        ".py",
        ".yaml",
    )


def test_find_config_walks_upwards(tmp_path: Path) -> None:
    (tmp_path / ".meshwatch").write_text("")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_config(deep) == tmp_path / ".meshwatch"
    assert find_config(deep / "agent.py") == tmp_path / ".meshwatch"


def test_an_unreadable_file_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / ".meshwatch"
    path.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(UsageError, match="cannot read it"):
        load_config(path)


def test_the_example_file_documents_every_key_and_parses() -> None:
    from meshdev.project.config import _AGENT_KEYS, _TOP_KEYS

    example = Path(__file__).parents[2] / ".meshwatch.example"
    text = example.read_text()
    assert load_config(example).given("reload_delay") == 500
    for key in [*_TOP_KEYS, *_AGENT_KEYS]:
        assert f"{key}:" in text, f"{key} is not documented in .meshwatch.example"
