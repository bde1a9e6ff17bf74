from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from meshdev.problems import UsageError
from meshdev.project.config import AgentSpec, find_config, load_config
from meshdev.project.configread import parse_config

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
        "must be a whole number of milliseconds from 0 to 60000, not 'fast'",
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
    assert (
        "each entry must be a string (quote it), not a list"
        in problems("include:\n  - [nested]\n")[0]
    )
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
    with pytest.raises(UsageError, match="not UTF-8 text"):
        load_config(path)


def test_the_example_file_documents_every_key_and_parses() -> None:
    from meshdev.project.configread import AGENT_KEYS, TOP_KEYS

    example = Path(__file__).parents[2] / ".meshwatch.example"
    text = example.read_text()
    assert load_config(example).given("reload_delay") == 500
    for key in [*TOP_KEYS, *AGENT_KEYS]:
        assert f"{key}:" in text, f"{key} is not documented in .meshwatch.example"


# -- YAML that SafeLoader cannot build, or that would run something -----------------------------


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("a: 1\nb: !!python/name:os.system\n", 2, "b: YAML tag !!python/name:os.system is not"),
        ("x: !!python/object/apply:os.system ['touch PWNED']\n", 1, "!!python/object/apply"),
        ("reload_delay: !!int abc\n", 1, "reload_delay: 'abc' is not a valid !!int"),
        ("reload_delay: !!float abc\n", 1, "'abc' is not a valid !!float"),
        ("agents:\n  a:\n    env: {X: !!timestamp x}\n", 3, "agents.a.env.X: 'x' is not a valid"),
        ("gitignore: !!bool maybe\n", 1, "gitignore: 'maybe' is not a valid !!bool"),
        ("base: &b {reload_delay: 5}\n<<: *b\n", 2, "merge keys (<<) are not supported"),
        ("include: !foo ['*.py']\n", 1, "include: YAML tag !foo is not allowed"),
        ("%TAG !e! tag:example.com,2000:\n---\nx: !e!thing 1\n", 3, "tag:example.com,2000:thing"),
        ("x: !!binary aGVsbG8=\n", 1, "!!binary is not allowed"),
        ("x: !!set {a, b}\n", 1, "!!set is not allowed"),
        ("x: !!str [a]\n", 1, "!!str is not allowed"),
        ("reload_delay: !!int " + "9" * 5000 + "\n", 1, "is not a valid !!int"),
    ],
)
def test_tags_are_refused_with_their_line_and_never_built(
    text: str, line: int, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    found = problems(text)
    assert found[0].startswith(f"/project/.meshwatch:{line}:"), found
    assert says in found[0], found
    assert not (tmp_path / "PWNED").exists()


def test_a_lone_equals_sign_and_dates_are_plain_text_where_text_is_wanted() -> None:
    config = parse_config("agents:\n  a:\n    env: {EQ: =, DAY: 2024-01-01}\n", FILE)
    assert config.agent("a") == AgentSpec(name="a", env=(("EQ", "="), ("DAY", "2024-01-01")))


def test_anchors_and_aliases_work_within_the_bound() -> None:
    config = parse_config("exclude: &x ['*.log']\nlog_only: *x\n", FILE)
    assert config.exclude == ("*.log",) and config.log_only == ("*.log",)


# -- bounds: depth, alias expansion, size, number of problems -----------------------------------

BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{b}: &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)


@pytest.mark.parametrize("depth", [33, 900, 5000, 100_000])
def test_deep_nesting_is_refused_not_a_recursion_error(depth: int) -> None:
    found = problems("a: " + "[" * depth + "]" * depth + "\n")
    assert found == ["/project/.meshwatch:1: nested deeper than 32 levels"]


@pytest.mark.parametrize(
    "use", ["? *i\n: 1\n", "agents:\n  x:\n    env: {A: *i}\n", "include: *i\n"]
)
def test_an_alias_bomb_is_refused_at_once(use: str) -> None:
    started = time.monotonic()
    found = problems(BOMB + use)
    assert time.monotonic() - started < 1.0
    assert found == [
        "/project/.meshwatch:5: more than 10,000 values (aliases count as what they repeat): "
        "not a .meshwatch"
    ]


def test_a_key_that_is_a_list_or_a_mapping_is_refused() -> None:
    assert problems("? [a, b]\n: 1\n") == ["/project/.meshwatch:1: a key must be a plain name"]
    assert "a key must be a plain name" in problems("agents:\n  ? {a: 1}\n  : {}\n")[0]


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    assert problems("a: &x [1, *x]\n") == ["/project/.meshwatch:1: alias *x is inside its anchor"]


def test_fifty_thousand_unknown_keys_are_refused_fast_in_a_few_lines() -> None:
    started = time.monotonic()
    with pytest.raises(UsageError) as caught:
        parse_config("".join(f"k{i}: {i}\n" for i in range(50_000)), FILE)
    assert time.monotonic() - started < 2.0
    assert len(str(caught.value).splitlines()) == 1


def test_many_problems_are_told_twenty_at_a_time_then_counted() -> None:
    found = problems("".join(f"k{i}: {i}\n" for i in range(100)))
    assert len(found) == 21 and found[-1] == "/project/.meshwatch: and 80 more problems"
    assert found[0].startswith("/project/.meshwatch:1: k0: unknown key; known keys: agents, ")


def test_a_huge_key_or_value_is_quoted_short() -> None:
    for text in ("? " + "x" * 100_000 + "\n: 1\n", "reload_delay: '" + "x" * 100_000 + "'\n"):
        (message,) = problems(text)
        assert len(message) < 300 and "…" in message


# -- values that would misbehave later: refused here, with their line ---------------------------


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("watch_extensions: ['']\n", "watch_extensions: an empty extension matches nothing"),
        ("watch_extensions: ['.py/../../x']\n", "'.py/../../x' is not a file extension"),
        ("watch_extensions: ['*']\n", "'*' is not a file extension"),
        ("exclude: 5\n", "exclude: each entry must be a string (quote it), not 5"),
        ("log_only: 7\n", "log_only: each entry must be a string (quote it), not 7"),
        ("include: true\n", "include: each entry must be a string (quote it), not True"),
        ('exclude: ["a\\0b"]\n', "exclude: an entry holds a NUL character"),
    ],
)
def test_bad_pattern_lists_and_extensions_are_refused(text: str, says: str) -> None:
    (found,) = problems(text)
    assert found.startswith("/project/.meshwatch:1: ") and says in found, found


AGENT_CASES = [
    ("'': {path: a.py}", "agents.'': an agent needs a name"),
    ("'  ': {}", "agents.  : an agent needs a name"),
    ("'../../escape': {path: a.py}", "agents.../../escape: an agent's name cannot be . or .."),
    ("'a/b': {}", "agents.a/b: an agent's name cannot be . or .. or hold /"),
    ("'..': {}", "agents...: an agent's name cannot be . or .."),
    ('"a\\0b": {}', "an agent's name cannot hold control characters"),
    (f"{'n' * 101}: {{}}", "an agent's name is at most 100 characters"),
    ('a: {path: "x\\0.py"}', "agents.a.path: a path cannot hold a NUL character"),
    ('a: {args: "--x \\0"}', "agents.a.args: an argument cannot hold a NUL character"),
    ('a: {args: ["ok", "b\\0"]}', "agents.a.args: an entry holds a NUL character"),
    ("a: {env: {'': x}}", "agents.a.env.'': a variable's name cannot be empty or hold ="),
    ("a: {env: {'A=B': x}}", "agents.a.env.A=B: a variable's name cannot be empty or hold ="),
    ('a: {env: {"A\\0": x}}', "a variable's name cannot be empty or hold = or NUL"),
    ('a: {env: {A: "x\\0"}}', "agents.a.env.A: a value cannot hold a NUL character"),
    ("a: {env: {A: [1, 2]}}", "agents.a.env.A: must be a string, a number or true/false, not a l"),
    ("a: {env: {A: {b: 1}}}", "agents.a.env.A: must be a string, a number or true/false, not a m"),
    ("a: {ready_port: 70000}", "agents.a.ready_port: must be a TCP port number from 1 to 65535"),
]


@pytest.mark.parametrize(("entry", "says"), AGENT_CASES)
def test_agent_names_paths_args_and_env_that_would_fail_at_spawn_are_refused(
    entry: str, says: str
) -> None:
    found = problems(f"agents:\n  {entry}\n")
    assert found[0].startswith("/project/.meshwatch:2: ") and says in found[0], found


def test_a_good_agents_section_still_reads() -> None:
    config = parse_config("agents:\n  my-agent.v2:\n    env: {A: '', B: ~}\n", FILE)
    assert config.agent("my-agent.v2") == AgentSpec("my-agent.v2", env=(("A", ""), ("B", "")))


def test_a_path_error_has_its_line() -> None:
    config = parse_config("reload_delay: 1\nagents:\n  w:\n    path: nope.py\n", FILE)
    spec = config.agent("w")
    assert spec is not None and spec.line == 4


# -- what a .meshwatch is on disk ----------------------------------------------------------------


def special(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / ".meshwatch"
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "zero":
        path.symlink_to("/dev/zero")
    elif kind == "loop":
        (tmp_path / "other").symlink_to(path)
        path.symlink_to(tmp_path / "other")
    elif kind == "dangling":
        path.symlink_to(tmp_path / "nowhere")
    elif kind == "huge":
        path.write_text("# " + "x" * 1_000_001 + "\n")
    return path


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("folder", "is a folder, not a file"),
        ("fifo", "is a named pipe (FIFO), not a file"),
        ("zero", "is a character device, not a file"),
        ("loop", "is a symbolic link that loops"),
        ("dangling", "is a symbolic link to nothing"),
        ("huge", "is over 1,000,000 bytes"),
    ],
)
def test_a_meshwatch_that_is_no_regular_file_is_found_and_told_never_read(
    tmp_path: Path, kind: str, says: str
) -> None:
    path = special(tmp_path, kind)
    assert find_config(tmp_path) == path  # found, so that it is told, not silently skipped
    started = time.monotonic()
    with pytest.raises(UsageError) as caught:
        load_config(path)
    assert time.monotonic() - started < 1.0  # a FIFO or /dev/zero is never read
    assert str(caught.value) == f"{path}: {says}" + str(caught.value).partition(says)[2]


def test_a_byte_order_mark_is_fine(tmp_path: Path) -> None:
    path = tmp_path / ".meshwatch"
    path.write_bytes(b"\xef\xbb\xbfreload_delay: 7\n")
    assert load_config(path).given("reload_delay") == 7


def test_a_document_that_is_only_null_or_a_comment_is_all_defaults() -> None:
    assert parse_config("~\n", FILE).values == {} and parse_config("# x\n", FILE).values == {}
