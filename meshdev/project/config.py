"""`.meshwatch` files: found, parsed safely, validated into frozen values, every problem located.

Pure: reads files, imports no subprocess, signal, watchfiles, rich or typer.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

import pathspec
import yaml

from meshdev.problems import Problem, UsageError
from meshdev.project.keys import SETTINGS, Unit

CONFIG_NAME = ".meshwatch"


@dataclass(frozen=True)
class AgentSpec:
    """Per-agent settings from the `agents:` section; `path` adds an agent discovery would miss."""

    name: str
    path: str | None = None
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    watch: tuple[str, ...] = ()
    ready_port: int | None = None
    front: bool | None = None  # None: an MCP server listening on a port is fronted


@dataclass(frozen=True)
class FileConfig:
    """What one `.meshwatch` says; None means the key was not given.

    The pattern lists and `agents` shape the watch rules and discovery, so they are fields; every
    other key of keys.SETTINGS is in `values`, as written, for settings.resolve().
    """

    path: Path | None
    root: Path
    include: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    log_only: tuple[str, ...] = ()
    agents: tuple[AgentSpec, ...] = field(default_factory=tuple)
    values: Mapping[str, Any] = field(default_factory=dict)

    def given(self, key: str) -> Any:
        """What the file says for `key` (a field or one of `values`), or None."""
        return getattr(self, key) if key in _FIELDS else self.values.get(key)

    def agent(self, name: str) -> AgentSpec | None:
        return next((a for a in self.agents if a.name == name), None)


def find_config(start: Path) -> Path | None:
    """The nearest `.meshwatch` in `start` (a folder, or a file's folder) or any folder above it."""
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        path = candidate / CONFIG_NAME
        if path.is_file():
            return path
    return None


def load_config(path: Path) -> FileConfig:
    """Parse and validate `path`; raise UsageError listing every problem found."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError.single(str(path), f"cannot read it ({exc}); fix or remove it") from None
    return parse_config(text, path)


def parse_config(text: str, path: Path) -> FileConfig:
    problems = _Problems(str(path))
    node = _compose(text, problems)
    values: dict[str, Any] = {}
    if node is not None:
        if isinstance(node, yaml.MappingNode):
            values = _read_top(node, problems)
        else:
            problems.add(node, "", "the file must be a mapping of keys (include:, exclude:, ...)")
    problems.raise_if_any()
    fields = {k: values.pop(k) for k in list(values) if k in _FIELDS}
    return FileConfig(path=path, root=path.parent, **fields, values=values)


class _Problems:
    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[Problem] = []

    def add(self, node: yaml.Node | None, key: str, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else None
        self.items.append(Problem(self.source, line, key, message))

    def raise_if_any(self) -> None:
        if self.items:
            raise UsageError(self.items)


def _compose(text: str, problems: _Problems) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or "invalid YAML"
        problems.items.append(Problem(problems.source, line, "", f"YAML syntax: {what}"))
    except yaml.YAMLError as exc:
        problems.items.append(Problem(problems.source, None, "", f"YAML syntax: {exc}"))
    problems.raise_if_any()
    return None


def _scalar(node: yaml.Node) -> Any:
    return yaml.SafeLoader("").construct_object(node, deep=True)


def _pairs(node: yaml.MappingNode, prefix: str, problems: _Problems) -> dict[str, yaml.Node]:
    """The mapping's keys and value nodes; a duplicate key is a problem, not a silent win."""
    out: dict[str, yaml.Node] = {}
    for key_node, value_node in node.value:
        key = str(_scalar(key_node))
        if key in out:
            problems.add(key_node, prefix + key, "given twice; keep one")
        out[key] = value_node
    return out


_Reader = Callable[[yaml.Node, str, "_Problems"], Any]


def _read_top(node: yaml.MappingNode, problems: _Problems) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value_node in _pairs(node, "", problems).items():
        reader = _TOP_KEYS.get(key)
        if reader is None:
            problems.add(value_node, key, _unknown(key, _TOP_KEYS))
            continue
        value = reader(value_node, key, problems)
        if value is not None:
            values[key] = value
    return values


def _unknown(key: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(sorted(known))}"
    return f"unknown key; {hint}"


def _patterns(node: yaml.Node, key: str, problems: _Problems) -> tuple[str, ...] | None:
    items = _strings(node, key, problems)
    if items is None:
        return None
    for item, item_node in zip(items, _items(node), strict=False):
        try:
            pathspec.GitIgnoreSpec.from_lines([item])
        except Exception as exc:  # pathspec raises several types for a bad pattern
            problems.add(item_node, key, f"bad pattern {item!r}: {exc}")
            return None
    return items


def _items(node: yaml.Node) -> list[yaml.Node]:
    return list(node.value) if isinstance(node, yaml.SequenceNode) else [node]


def _strings(node: yaml.Node, key: str, problems: _Problems) -> tuple[str, ...] | None:
    """A list of strings; a single string is taken as a list of one."""
    if node.tag == "tag:yaml.org,2002:null":
        return ()
    if not isinstance(node, (yaml.SequenceNode, yaml.ScalarNode)):
        problems.add(node, key, "must be a list of strings")
        return None
    out: list[str] = []
    for item in _items(node):
        value = _scalar(item) if isinstance(item, yaml.ScalarNode) else None
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            problems.add(item, key, "each entry must be a string (quote it)")
            return None
        out.append(str(value))
    return tuple(out)


def _integer(lowest: int, highest: int | None, what: str) -> _Reader:
    """A reader of whole numbers in [lowest, highest]; `what` says what is expected."""

    def read(node: yaml.Node, key: str, problems: _Problems) -> int | None:
        value = _scalar(node) if isinstance(node, yaml.ScalarNode) else None
        if _whole_in(value, lowest, highest):
            return value
        problems.add(node, key, f"must be {what}, not {value!r}")
        return None

    return read


def _whole_in(value: object, lowest: int, highest: int | None) -> TypeGuard[int]:
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    return value >= lowest and (highest is None or value <= highest)


_milliseconds = _integer(0, None, "a whole number of milliseconds >= 0")
_whole = _integer(0, None, "a whole number >= 0")
_port = _integer(1, 65535, "a TCP port number (1-65535)")


def _boolean(node: yaml.Node, key: str, problems: _Problems) -> bool | None:
    value = _scalar(node) if isinstance(node, yaml.ScalarNode) else None
    if not isinstance(value, bool):
        problems.add(node, key, f"must be true or false, not {value!r}")
        return None
    return value


def _extensions(node: yaml.Node, key: str, problems: _Problems) -> tuple[str, ...] | None:
    items = _strings(node, key, problems)
    return None if items is None else normalise_extensions(items)


def normalise_extensions(items: Iterable[str]) -> tuple[str, ...]:
    """`py, .yaml` -> ('.py', '.yaml')."""
    cleaned = (item.strip() for item in items)
    return tuple(e if e.startswith(".") else f".{e}" for e in cleaned if e)


def _agents(node: yaml.Node, key: str, problems: _Problems) -> tuple[AgentSpec, ...] | None:
    if not isinstance(node, yaml.MappingNode):
        problems.add(node, key, "must map agent names to their settings (path, args, env, watch)")
        return None
    specs = []
    for name, spec_node in _pairs(node, f"{key}.", problems).items():
        spec = _agent(name, spec_node, f"{key}.{name}", problems)
        if spec is not None:
            specs.append(spec)
    return tuple(specs)


def _agent(name: str, node: yaml.Node, key: str, problems: _Problems) -> AgentSpec | None:
    if node.tag == "tag:yaml.org,2002:null":
        return AgentSpec(name=name)
    if not isinstance(node, yaml.MappingNode):
        problems.add(node, key, "must be a mapping with path, args, env or watch")
        return None
    fields: dict[str, Any] = {}
    for sub, value_node in _pairs(node, f"{key}.", problems).items():
        reader = _AGENT_KEYS.get(sub)
        if reader is None:
            problems.add(value_node, f"{key}.{sub}", _unknown(sub, _AGENT_KEYS))
            continue
        value = reader(value_node, f"{key}.{sub}", problems)
        if value is not None:
            fields[sub] = value
    return AgentSpec(name=name, **fields)


def _path(node: yaml.Node, key: str, problems: _Problems) -> str | None:
    value = _scalar(node) if isinstance(node, yaml.ScalarNode) else None
    if not isinstance(value, str) or not value.strip():
        problems.add(node, key, "must be a path relative to the .meshwatch folder")
        return None
    return value


def _args(node: yaml.Node, key: str, problems: _Problems) -> tuple[str, ...] | None:
    if isinstance(node, yaml.ScalarNode) and isinstance(_scalar(node), str):
        return tuple(str(_scalar(node)).split())
    return _strings(node, key, problems)


def _env(node: yaml.Node, key: str, problems: _Problems) -> tuple[tuple[str, str], ...] | None:
    if not isinstance(node, yaml.MappingNode):
        problems.add(node, key, "must map variable names to values")
        return None
    pairs = _pairs(node, f"{key}.", problems)
    return tuple((name, _env_value(value)) for name, value in pairs.items())


def _env_value(node: yaml.Node) -> str:
    value = _scalar(node)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


# How each unit is written in YAML; environment-only units (the reload strategy) have no reader.
_READERS: dict[Unit, _Reader] = {
    Unit.MILLISECONDS: _milliseconds,
    Unit.WHOLE: _whole,
    Unit.BOOLEAN: _boolean,
    Unit.EXTENSIONS: _extensions,
    Unit.PATTERNS: _patterns,
}

_TOP_KEYS: dict[str, _Reader] = {
    **{s.key: _READERS[s.unit] for s in SETTINGS if s.key is not None},
    "agents": _agents,
}

_FIELDS = ("include", "exclude", "log_only", "agents")

_AGENT_KEYS: dict[str, _Reader] = {
    "path": _path,
    "args": _args,
    "env": _env,
    "watch": _patterns,
    "ready_port": _port,
    "front": _boolean,
}
