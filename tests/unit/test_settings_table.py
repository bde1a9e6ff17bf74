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
from meshdev.project import configread as config_module
from meshdev.project import keys
from meshdev.project.config import FileConfig, load_config
from meshdev.project.configread import parse_config
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
    """Values of one unit that differ from the default, as written and as read. A message may
    hold `{range}`: the setting's own, `from LOWEST to HIGHEST`."""

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
        (("4321", 4321), ("142", 142)),
        ("soon", "must be a whole number of milliseconds {range}"),
        ("fast", "must be a whole number of milliseconds {range}, not 'fast'"),
    ),
    Unit.WHOLE: Samples(
        ("7", 7),
        (("8", 8), ("9", 9)),
        ("many", "must be a whole number {range}"),
        ("-1", "must be a whole number {range}, not -1"),
    ),
    Unit.EXTENSIONS: Samples(
        ("[txt, .md]", (".txt", ".md")),
        (("rst, .cfg", (".rst", ".cfg")), (".ini", (".ini",))),
        (" , ", "must list extensions such as .py,.yaml"),
        ("{py: 1}", "must be a list of strings"),
    ),
    Unit.SECONDS: Samples(NO_KEY, (("0.25", 250), ("2", 2000)), ("soon", "must be a number")),
    Unit.PATTERNS: Samples(
        ('["docs/*.txt"]', ("docs/*.txt",)),
        NO_VARIABLE,
        NO_BAD_VARIABLE,
        ("[5]", "each entry must be a string (quote it), not 5"),  # any string is a pattern
    ),
    # `warm` is the default: MESHDEV_=restart with MCP_MESH_=refresh proves which one wins.
    Unit.STRATEGY: Samples(
        ("refresh", "refresh"),
        (("restart", "restart"), ("refresh", "refresh")),
        ("swap", "must be one of warm, restart, refresh"),
        ("[refresh]", "must be one of warm, restart, refresh"),
    ),
}


def in_range(setting: Setting, message: str) -> str:
    return message.replace("{range}", f"from {setting.lowest} to {setting.highest}")


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
    assert set(config_module.TOP_KEYS) == {s.key for s in WITH_KEY} | {AGENT_SECTION}


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
    assert str(caught.value).startswith(f"{FILE}:1: {setting.key}: {in_range(setting, message)}")


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
        expected = f"environment: {var}: {in_range(setting, message)} (got {raw.strip()!r})"
        assert str(caught.value) == expected


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
DEFAULT_IN_WORDS = {
    "include": "`*` + each of `watch_extensions`",
    "force_polling": "automatic",
    "refresh": "every project module",
}


def documented_default(setting: Setting, render: Callable[[object], str]) -> str:
    if setting.default is None:
        return DEFAULT_IN_WORDS[row_id(setting)]
    return f"`{render(setting.default)}`"


KEY_ROW = re.compile(r"^\| `([a-z_]+)` \| (.*?) \| (.*?) \| .* \|$", re.MULTILINE)
ENV_ROW = re.compile(
    r"^\| `MESHDEV_([A-Z_]+)`( \(ms\))? \| `([A-Z_]+)`(.*?) \| (.*) \| (.*?) \|$", re.MULTILINE
)
NUMBERS = [s for s in SETTINGS if s.unit in (Unit.MILLISECONDS, Unit.WHOLE)]


def documented_range(setting: Setting) -> str:
    return setting.range_text or "—"


def test_the_readme_key_table_lists_every_key_with_its_default_and_range() -> None:
    rows = {key: (shown, range_) for key, shown, range_ in KEY_ROW.findall(reference_section())}
    assert set(rows) == {s.key for s in WITH_KEY} | {AGENT_SECTION}
    for s in WITH_KEY:
        shown, range_ = rows[str(s.key)]
        assert shown.startswith(documented_default(s, yaml_text)), (s.key, shown)
        assert range_ == documented_range(s), (s.key, range_)


def test_the_readme_environment_table_lists_every_variable_with_its_default() -> None:
    found = ENV_ROW.findall(reference_section())
    rows = {env: rest for env, *rest in found}
    assert set(rows) == {s.env for s in WITH_ENV}
    for s in WITH_ENV:
        ms, alias, others, shown, range_ = rows[str(s.env)]
        assert alias == s.env_names[1]
        assert bool(ms) == (s.unit is Unit.MILLISECONDS), f"{s.env}: (ms) marks milliseconds"
        assert shown.startswith(documented_default(s, env_text)), (s.env, shown)
        assert range_ == documented_range(s), (s.env, range_)
        for foreign in s.foreign:  # mcp-mesh's own names, with their unit
            assert f"`{foreign.name}` (seconds" in others, (s.env, foreign.name)


def test_the_readme_tells_the_variables_accepted_for_mcp_mesh_with_their_unit() -> None:
    for foreign in keys.ACCEPTED_ONLY:
        assert re.search(rf"`{foreign.name}`[^.]*seconds", reference_section()), foreign.name


def test_the_readme_names_the_option_of_each_flag() -> None:
    for s in WITH_FLAG:
        assert f"`{s.option}" in reference_section(), s.option


def test_the_example_file_documents_every_key_with_its_default() -> None:
    example = REPO / ".meshwatch.example"
    text = example.read_text()
    documented = set(re.findall(r"^#?\s*([a-z_]+):", text, re.MULTILINE))
    every_key = {s.key for s in WITH_KEY} | {AGENT_SECTION, *config_module.AGENT_KEYS}
    assert every_key - documented == set()
    given = load_config(example)
    for s in WITH_KEY:
        value = given.given(str(s.key))
        assert value in (None, s.default), f"{s.key}: the example shows {value!r}, not the default"


def test_the_example_file_gives_each_number_its_range() -> None:
    text = (REPO / ".meshwatch.example").read_text()
    for s in NUMBERS:
        assert re.search(rf"^{s.key}: \S+  # {s.range_text}$", text, re.MULTILINE), s.key


def test_every_key_with_a_variable_is_named_like_it() -> None:
    # `.meshwatch.example` says a key with a variable can also be set as MESHDEV_<KEY>.
    for s in WITH_KEY:
        assert s.env in (None, str(s.key).upper()), s.key


# -- ranges: every number is bounded, in the file, the environment and on the command line --------


def test_every_number_has_a_range_that_holds_its_default_and_never_overflows_a_timer() -> None:
    import threading

    for s in NUMBERS:
        assert s.lowest is not None and s.highest is not None, s.key
        assert s.lowest <= int(str(s.default)) <= s.highest, s.key
        if s.unit is Unit.MILLISECONDS:
            # A timeout past threading.TIMEOUT_MAX raises OverflowError in the loop's queue.get.
            assert s.highest / 1000 < threading.TIMEOUT_MAX, s.key


@pytest.mark.parametrize("setting", NUMBERS, ids=row_id)
def test_a_number_outside_its_range_is_refused_in_the_file_and_the_environment(
    setting: Setting,
) -> None:
    assert setting.lowest is not None and setting.highest is not None
    for value in (setting.lowest - 1, setting.highest + 1, 10**13, 10**400):
        with pytest.raises(UsageError, match=f"from {setting.lowest} to {setting.highest}"):
            parse_config(f"{setting.key}: {value}\n", FILE)
        if value < 10**20:  # a variable is read as text: past 12 digits it is no number at all
            with pytest.raises(UsageError, match=f"from {setting.lowest} to {setting.highest}"):
                settings_from(env={setting.env_names[0]: str(value)})
    for edge in (setting.lowest, setting.highest):
        assert getattr(settings_from(f"{setting.key}: {edge}\n"), attribute(setting)) == edge
        from_env = settings_from(env={setting.env_names[0]: str(edge)})
        assert getattr(from_env, attribute(setting)) == edge


@pytest.mark.parametrize("raw", ["1" + "0" * 5000, "²", "\uff11\uff12", "+5", "5.0", "0x10"])
def test_a_variable_that_is_no_plain_whole_number_is_refused_in_meshdev_s_words(raw: str) -> None:
    with pytest.raises(UsageError, match="MESHDEV_RELOAD_DELAY: must be a whole number"):
        settings_from(env={"MESHDEV_RELOAD_DELAY": raw})


def test_the_reload_delay_flag_is_read_in_meshdev_s_words() -> None:
    from meshdev.project.settings import reload_delay_flag

    assert reload_delay_flag("250") == 250 and reload_delay_flag(None) is None
    for raw in ("-5", "soon", "60001", "1e3"):
        with pytest.raises(UsageError) as caught:
            reload_delay_flag(raw)
        message = str(caught.value)
        assert message.startswith("command line: --reload-delay: must be a whole number of")
        assert "from 0 to 60000" in message and "Input should" not in message


# -- mcp-mesh's own variables -------------------------------------------------------------------


def test_mcp_mesh_s_debounce_in_seconds_sets_the_reload_delay_below_both_meshdev_names() -> None:
    assert settings_from(env={"MCP_MESH_RELOAD_DEBOUNCE": "0.25"}).reload_delay_ms == 250
    assert settings_from(env={"MCP_MESH_RELOAD_DEBOUNCE": "2"}).reload_delay_ms == 2000
    both = {"MCP_MESH_RELOAD_DEBOUNCE": "0.25", "MCP_MESH_RELOAD_DELAY": "300"}
    assert settings_from(env=both).reload_delay_ms == 300
    assert settings_from(env={**both, "MESHDEV_RELOAD_DELAY": "400"}).reload_delay_ms == 400
    for bad in ("500", "soon", "nan", "inf", "-0.5"):  # 500 s: surely meant as milliseconds
        with pytest.raises(UsageError, match="MCP_MESH_RELOAD_DEBOUNCE: must be a number of secon"):
            settings_from(env={"MCP_MESH_RELOAD_DEBOUNCE": bad})


def test_the_warm_strategy_is_a_strategy() -> None:
    assert settings_from(env={"MESHDEV_RELOAD_STRATEGY": "Warm"}).reload_strategy == "warm"


def test_mcp_mesh_s_port_delay_is_accepted_checked_and_changes_nothing() -> None:
    assert settings_from(env={"MCP_MESH_RELOAD_PORT_DELAY": "0.5"}) == settings_from()
    with pytest.raises(UsageError, match="MCP_MESH_RELOAD_PORT_DELAY: must be a number of seconds"):
        settings_from(env={"MCP_MESH_RELOAD_PORT_DELAY": "soon"})
