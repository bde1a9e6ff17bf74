"""keys.SETTINGS is the one declaration of every setting: these tests hold the code that reads it
(`.meshwatch` readers, resolve()), the dataclasses that mirror it (Settings, Flags, FileConfig)
and the documentation (README's configuration reference, `.meshwatch.example`) to it."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pytest

from meshdev.problems import UsageError
from meshdev.project import config as config_module
from meshdev.project import keys
from meshdev.project.config import FileConfig, load_config, parse_config
from meshdev.project.keys import SETTINGS, Setting, Unit
from meshdev.project.settings import Flags, Settings, resolve

REPO = Path(__file__).parents[2]
FILE = Path("/p/.meshwatch")
EMPTY = FileConfig(path=None, root=Path("/p"))

WITH_KEY = [s for s in SETTINGS if s.key is not None]
WITH_ATTRIBUTE = [s for s in SETTINGS if s.attribute is not None]
WITH_ENV = [s for s in SETTINGS if s.env is not None]
WITH_FLAG = [s for s in SETTINGS if s.flag is not None]
AGENT_SECTION = "agents"  # not a row: its per-agent keys have their own table in config.py


def row_id(setting: Setting) -> str:
    return str(setting.key or setting.attribute)


@dataclass(frozen=True)
class Samples:
    """Values of one unit that differ from the default, as written and as read."""

    yaml: tuple[str, object]  # a `.meshwatch` value (for units that have keys)
    env: tuple[tuple[str, object], tuple[str, object]]  # two different variable values
    bad_env: tuple[str, str]  # a bad variable value and its message
    bad_yaml: tuple[str, str] = ("", "")  # a bad `.meshwatch` value and its message


# For a unit that cannot be given there (no test asks for it).
NO_KEY = ("", None)
NO_VARIABLE = (NO_KEY, NO_KEY)
NO_BAD_VARIABLE = ("", "")

SAMPLES = {
    Unit.MILLISECONDS: Samples(
        ("1234", 1234),
        (("4321", 4321), ("42", 42)),
        ("soon", "must be a whole number of milliseconds"),
        ("fast", "must be a whole number of milliseconds >= 0, not 'fast'"),
    ),
    Unit.WHOLE: Samples(
        ("7", 7),
        (("8", 8), ("9", 9)),
        ("many", "must be a whole number"),
        ("-1", "must be a whole number >= 0, not -1"),
    ),
    Unit.EXTENSIONS: Samples(
        ("[txt, .md]", (".txt", ".md")),
        (("rst, .cfg", (".rst", ".cfg")), (".ini", (".ini",))),
        (" , ", "must list extensions such as .py,.yaml"),
        ("{py: 1}", "must be a list of strings"),
    ),
    Unit.PATTERNS: Samples(
        ('["docs/*.txt"]', ("docs/*.txt",)),
        NO_VARIABLE,
        NO_BAD_VARIABLE,
        ('["a/**/b/[z-a]"]', "bad pattern"),
    ),
    # `restart` is the default and `refresh` is refused: the bad value proves the variable is
    # read, and MESHDEV_=restart with MCP_MESH_=refresh proves which one wins.
    Unit.STRATEGY: Samples(
        NO_KEY,
        (("restart", "restart"), ("refresh", "refresh")),
        ("swap", "must be one of restart, refresh"),
    ),
}


def samples(setting: Setting) -> Samples:
    if setting.unit is not Unit.BOOLEAN:
        return SAMPLES[setting.unit]
    other = setting.default is not True  # differs from a True, False or None default
    return Samples(
        ("true" if other else "false", other),
        (("yes" if other else "no", other), ("no" if other else "yes", not other)),
        ("perhaps", "must be true or false"),
        ("maybe", "must be true or false, not 'maybe'"),
    )


def attribute(setting: Setting) -> str:
    assert setting.attribute is not None
    return setting.attribute


def settings_from(text: str = "", env: dict[str, str] | None = None, **flags: Any) -> Settings:
    return resolve(parse_config(text, FILE), env or {}, Flags(**flags))


# -- the table itself ---------------------------------------------------------------------------


def test_the_table_module_is_pure() -> None:
    tree = ast.parse(Path(keys.__file__).read_text())
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert imported <= {"__future__", "dataclasses", "enum"}


def test_every_row_is_named_once() -> None:
    for column in ("key", "attribute", "env", "flag"):
        names = [getattr(s, column) for s in SETTINGS if getattr(s, column) is not None]
        assert len(names) == len(set(names)), f"a {column} is given twice"
    assert all(s.key or s.attribute for s in SETTINGS)
    assert all((s.flag is None) == (s.option is None) for s in SETTINGS)


def test_env_names_are_meshdev_first_then_the_mcp_mesh_alias() -> None:
    for s in WITH_ENV:
        assert s.env_names == (f"MESHDEV_{s.env}", f"MCP_MESH_{s.env}")


# -- the dataclasses that mirror it -------------------------------------------------------------

TYPES = {
    Unit.MILLISECONDS: "int",
    Unit.WHOLE: "int",
    Unit.BOOLEAN: "bool",
    Unit.EXTENSIONS: "tuple[str, ...]",
    Unit.STRATEGY: "str",
}


def test_settings_has_one_field_of_the_right_type_per_row_with_an_attribute() -> None:
    declared = {f.name: f.type for f in fields(Settings)}
    assert set(declared) == {s.attribute for s in WITH_ATTRIBUTE}
    for s in WITH_ATTRIBUTE:
        expected = TYPES[s.unit] + (" | None" if s.default is None else "")
        assert declared[attribute(s)] == expected, s.attribute


def test_flags_has_one_field_per_row_with_a_flag() -> None:
    assert {f.name for f in fields(Flags)} == {s.flag for s in WITH_FLAG}


def test_file_config_gives_every_key_none_when_not_given() -> None:
    by_name = {f.name: f for f in fields(FileConfig)}
    patterns = {str(s.key) for s in WITH_KEY if s.attribute is None}
    assert set(by_name) == {"path", "root", AGENT_SECTION, "values"} | patterns
    for s in WITH_KEY:
        # The pattern lists are declared with their defaults; every other key is None until read.
        expected = s.default if s.attribute is None else None
        assert EMPTY.given(str(s.key)) == expected, s.key


def test_the_option_of_each_flag_is_declared_in_the_cli() -> None:
    cli = (REPO / "meshdev" / "cli.py").read_text()
    for s in WITH_FLAG:
        assert f'"{s.option}"' in cli, s.option


# -- the readers: .meshwatch, environment, flags ------------------------------------------------


def test_parse_config_reads_exactly_the_table_keys_and_the_agents_section() -> None:
    assert set(config_module._TOP_KEYS) == {s.key for s in WITH_KEY} | {AGENT_SECTION}


def test_without_anything_every_setting_is_its_default() -> None:
    settings = resolve(EMPTY, {}, Flags())
    for s in WITH_ATTRIBUTE:
        assert getattr(settings, str(s.attribute)) == s.default, s.attribute


@pytest.mark.parametrize("setting", WITH_KEY, ids=row_id)
def test_every_key_is_read_from_a_meshwatch_and_reaches_its_setting(setting: Setting) -> None:
    text, value = samples(setting).yaml
    assert value != setting.default
    config = parse_config(f"{setting.key}: {text}\n", FILE)
    assert config.given(str(setting.key)) == value
    if setting.attribute is not None:
        assert getattr(resolve(config, {}, Flags()), setting.attribute) == value


@pytest.mark.parametrize("setting", WITH_KEY, ids=row_id)
def test_a_bad_value_in_a_meshwatch_is_refused_with_its_unit_s_message(setting: Setting) -> None:
    text, message = samples(setting).bad_yaml
    with pytest.raises(UsageError) as caught:
        parse_config(f"{setting.key}: {text}\n", FILE)
    assert str(caught.value).startswith(f"{FILE}:1: {setting.key}: {message}")


@pytest.mark.parametrize("setting", WITH_KEY, ids=row_id)
def test_a_misspelt_key_suggests_the_right_one(setting: Setting) -> None:
    with pytest.raises(UsageError, match=f"did you mean '{setting.key}'"):
        parse_config(f"{setting.key}x: 1\n", FILE)


@pytest.mark.parametrize("setting", WITH_ENV, ids=row_id)
def test_both_variables_are_read_and_meshdev_wins(setting: Setting) -> None:
    (first, read), (second, _) = samples(setting).env
    meshdev, alias = f"MESHDEV_{setting.env}", f"MCP_MESH_{setting.env}"
    assert getattr(settings_from(env={meshdev: first}), attribute(setting)) == read
    assert getattr(settings_from(env={alias: first}), attribute(setting)) == read
    both = {meshdev: first, alias: second}
    assert getattr(settings_from(env=both), attribute(setting)) == read


@pytest.mark.parametrize("setting", WITH_ENV, ids=row_id)
def test_a_bad_variable_names_itself(setting: Setting) -> None:
    raw, message = samples(setting).bad_env
    for var in setting.env_names:
        with pytest.raises(UsageError) as caught:
            settings_from(env={var: raw})
        assert str(caught.value) == f"environment: {var}: {message} (got {raw.strip()!r})"


@pytest.mark.parametrize("setting", [s for s in WITH_ENV if s.key], ids=row_id)
def test_the_environment_beats_the_meshwatch(setting: Setting) -> None:
    (raw, read), _ = samples(setting).env
    text = f"{setting.key}: {samples(setting).yaml[0]}\n"
    assert getattr(settings_from(text, {setting.env_names[0]: raw}), attribute(setting)) == read


@pytest.mark.parametrize("setting", WITH_FLAG, ids=row_id)
def test_the_flag_beats_the_environment_and_the_meshwatch(setting: Setting) -> None:
    (raw, read), _ = samples(setting).env
    flag = 99 if setting.unit is Unit.MILLISECONDS else not read
    text = f"{setting.key}: {samples(setting).yaml[0]}\n" if setting.key else ""
    found = settings_from(text, {setting.env_names[0]: raw}, **{str(setting.flag): flag})
    assert getattr(found, attribute(setting)) == flag


# -- the documentation --------------------------------------------------------------------------


def reference_section() -> str:
    readme = (REPO / "README.md").read_text()
    start = readme.index("## Configuration reference")
    return readme[start : readme.index("\n## ", start + 1)]


def yaml_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(list(value)) if isinstance(value, tuple) else str(value)


def env_text(value: object) -> str:
    return ",".join(value) if isinstance(value, tuple) else yaml_text(value)


# A default of None is decided at run time, so the README says it in words.
DEFAULT_IN_WORDS = {"include": "`*` + each of `watch_extensions`", "force_polling": "automatic"}


def documented_default(setting: Setting, render: Callable[[object], str]) -> str:
    if setting.default is None:
        return DEFAULT_IN_WORDS[row_id(setting)]
    return f"`{render(setting.default)}`"


KEY_ROW = re.compile(r"^\| `([a-z_]+)` \| (.*?) \| .* \|$", re.MULTILINE)
ENV_ROW = re.compile(r"^\| `MESHDEV_([A-Z_]+)`( \(ms\))? \| `([A-Z_]+)` \| (.*) \|$", re.MULTILINE)


def test_the_readme_key_table_lists_every_key_with_its_default() -> None:
    rows = dict(KEY_ROW.findall(reference_section()))
    assert set(rows) == {s.key for s in WITH_KEY} | {AGENT_SECTION}
    for s in WITH_KEY:
        shown = rows[str(s.key)]
        assert shown.startswith(documented_default(s, yaml_text)), (s.key, shown)


def test_the_readme_environment_table_lists_every_variable_with_its_default() -> None:
    rows = {
        env: (ms, alias, shown) for env, ms, alias, shown in ENV_ROW.findall(reference_section())
    }
    assert set(rows) == {s.env for s in WITH_ENV}
    for s in WITH_ENV:
        ms, alias, shown = rows[str(s.env)]
        assert alias == s.env_names[1]
        assert bool(ms) == (s.unit is Unit.MILLISECONDS), f"{s.env}: (ms) marks milliseconds"
        assert shown.startswith(documented_default(s, env_text)), (s.env, shown)


def test_the_readme_names_the_option_of_each_flag() -> None:
    for s in WITH_FLAG:
        assert f"`{s.option}" in reference_section(), s.option


def test_the_example_file_documents_every_key_with_its_default() -> None:
    example = REPO / ".meshwatch.example"
    text = example.read_text()
    documented = set(re.findall(r"^#?\s*([a-z_]+):", text, re.MULTILINE))
    every_key = {s.key for s in WITH_KEY} | {AGENT_SECTION, *config_module._AGENT_KEYS}
    assert every_key - documented == set()
    given = load_config(example)
    for s in WITH_KEY:
        value = given.given(str(s.key))
        assert value in (None, s.default), f"{s.key}: the example shows {value!r}, not the default"


def test_every_key_with_a_variable_is_named_like_it() -> None:
    # `.meshwatch.example` says a key with a variable can also be set as MESHDEV_<KEY>.
    for s in WITH_KEY:
        assert s.env in (None, str(s.key).upper()), s.key
