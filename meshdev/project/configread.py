"""Reading a `.meshwatch`: the YAML read by `yamlsafe` (bounded, plain tags only), each value by
`readers`, the `agents:` section by `agentkeys`, into a `config.FileConfig`. Imported only where a
`.meshwatch` is read. Pure: reads files, imports no subprocess, signal, watchfiles, rich or typer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from meshdev.problems import UsageError, shorten
from meshdev.project.agentkeys import AGENT_KEYS, read_agents
from meshdev.project.config import _FIELDS, FileConfig
from meshdev.project.keys import SETTINGS, Setting, Unit
from meshdev.project.readers import (
    Reader,
    Reading,
    boolean,
    extensions,
    pairs,
    patterns,
    strategy,
    unknown,
    whole,
)
from meshdev.project.yamlsafe import compose

__all__ = ["AGENT_KEYS", "TOP_KEYS", "parse_config", "read_config"]


def read_config(text: str, path: Path) -> FileConfig:
    """Parse and validate `path`'s text; raise UsageError listing every problem found."""
    try:
        return parse_config(text, path)
    except UsageError:
        raise
    except Exception as exc:
        # Every input is bounded and checked above, so this is meshdev's own bug; still one
        # located message (exit 2 at start, the previous configuration kept while running),
        # never a traceback that takes the agents down.
        why = shorten(f"{type(exc).__name__}: {exc}")
        message = f"meshdev could not read it ({why}); this is a bug in meshdev, please report it"
        raise UsageError.single(str(path), message) from exc


def parse_config(text: str, path: Path) -> FileConfig:
    document = compose(text, str(path))
    reading = Reading(document)
    values: dict[str, Any] = {}
    node = document.root
    if isinstance(node, yaml.MappingNode):
        values = _read_top(node, reading)
    elif node is not None and node.tag != "tag:yaml.org,2002:null":
        reading.add(node, "", "the file must be a mapping of keys (include:, exclude:, ...)")
    reading.raise_if_any()
    fields = {k: values.pop(k) for k in list(values) if k in _FIELDS}
    return FileConfig(path=path, root=path.parent, **fields, values=values)


def _read_top(node: yaml.MappingNode, reading: Reading) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value_node in pairs(node, "", reading).items():
        read = TOP_KEYS.get(key)
        if read is None:
            reading.add(value_node, key, unknown(key, TOP_KEYS, reading))
            continue
        value = read(value_node, key, reading)
        if value is not None:
            values[key] = value
    return values


def _reader(setting: Setting) -> Reader:
    """How the setting's unit is written in YAML, within the setting's range."""
    if setting.unit in (Unit.MILLISECONDS, Unit.WHOLE):
        assert setting.lowest is not None and setting.highest is not None
        what = "a whole number" + (" of milliseconds" if setting.unit is Unit.MILLISECONDS else "")
        return whole(setting.lowest, setting.highest, what)
    readers: dict[Unit, Reader] = {
        Unit.BOOLEAN: boolean,
        Unit.EXTENSIONS: extensions,
        Unit.PATTERNS: patterns,
        Unit.STRATEGY: strategy,
    }
    return readers[setting.unit]


TOP_KEYS: dict[str, Reader] = {
    **{s.key: _reader(s) for s in SETTINGS if s.key is not None},
    "agents": read_agents,
}
