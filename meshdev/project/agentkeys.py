"""The `agents:` section of `.meshwatch`: per-agent path, args, env, watch, ready_port, front.

An agent's name becomes file names (`.meshdev/state/NAME.state`, `.meshdev/run/NAME.json`), and its
path, arguments and environment reach exec(): each is refused here, with its line, when it could
escape the project's folders or make the start fail (a `/` or `..` in a name, a NUL anywhere, an
`=` in a variable's name, a list given as a variable's value). Pure.
"""

from __future__ import annotations

from typing import Any

import yaml

from meshdev.project.config import AgentSpec
from meshdev.project.readers import (
    Reader,
    Reading,
    boolean,
    described,
    pairs,
    patterns,
    strategy,
    strings,
    unknown,
    whole,
)
from meshdev.project.yamlsafe import NULL

MAX_NAME = 100  # leaves room in a 255-byte file name for `.state.crashed-DATE`


def name_problem(name: str) -> str | None:
    """Why `name` cannot name an agent, or None."""
    if not name.strip():
        return "an agent needs a name"
    if name in (".", "..") or "/" in name or "\\" in name:
        return "an agent's name cannot be . or .. or hold / or \\ (it names its state file)"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "an agent's name cannot hold control characters (NUL, newline, ...)"
    if len(name) > MAX_NAME:
        return f"an agent's name is at most {MAX_NAME} characters"
    return None


def read_agents(node: yaml.Node, key: str, reading: Reading) -> tuple[AgentSpec, ...] | None:
    if node.tag == NULL:
        return ()
    if not isinstance(node, yaml.MappingNode):
        reading.add(node, key, "must map agent names to their settings (path, args, env, watch)")
        return None
    specs = []
    name_nodes = {reading.document.text(k): k for k, _ in node.value}
    for name, spec_node in pairs(node, f"{key}.", reading).items():
        problem = name_problem(name)
        if problem is not None:
            reading.add(name_nodes.get(name), f"{key}.{name or repr(name)}", problem)
            continue
        spec = _agent(name, spec_node, f"{key}.{name}", reading)
        if spec is not None:
            specs.append(spec)
    return tuple(specs)


def _agent(name: str, node: yaml.Node, key: str, reading: Reading) -> AgentSpec | None:
    if node.tag == NULL:
        return AgentSpec(name=name)
    if not isinstance(node, yaml.MappingNode):
        reading.add(node, key, "must be a mapping with path, args, env or watch")
        return None
    fields: dict[str, Any] = {}
    for sub, value_node in pairs(node, f"{key}.", reading).items():
        read = AGENT_KEYS.get(sub)
        if read is None:
            reading.add(value_node, f"{key}.{sub}", unknown(sub, AGENT_KEYS, reading))
            continue
        value = read(value_node, f"{key}.{sub}", reading)
        if value is not None:
            fields[sub] = value
            if sub == "path":
                fields["line"] = value_node.start_mark.line + 1
    return AgentSpec(name=name, **fields)


def _path(node: yaml.Node, key: str, reading: Reading) -> str | None:
    value = reading.value(node)
    if not isinstance(value, str) or not value.strip():
        reading.add(node, key, "must be a path relative to the .meshwatch folder")
        return None
    if "\0" in value:
        reading.add(node, key, "a path cannot hold a NUL character")
        return None
    return value


def _args(node: yaml.Node, key: str, reading: Reading) -> tuple[str, ...] | None:
    value = reading.value(node)
    if isinstance(value, str):
        if "\0" in value:
            reading.add(node, key, "an argument cannot hold a NUL character")
            return None
        return tuple(value.split())
    return strings(node, key, reading, numbers=True)


def _env(node: yaml.Node, key: str, reading: Reading) -> tuple[tuple[str, str], ...] | None:
    if node.tag == NULL:
        return ()
    if not isinstance(node, yaml.MappingNode):
        reading.add(node, key, "must map variable names to values")
        return None
    out: list[tuple[str, str]] = []
    name_nodes = {reading.document.text(k): k for k, _ in node.value}
    for name, value_node in pairs(node, f"{key}.", reading).items():
        where = f"{key}.{name or repr(name)}"
        if not name or "=" in name or "\0" in name:
            message = "a variable's name cannot be empty or hold = or NUL"
            reading.add(name_nodes.get(name), where, message)
            continue
        value = _env_value(value_node, where, reading)
        if value is not None:
            out.append((name, value))
    return tuple(out)


def _env_value(node: yaml.Node, key: str, reading: Reading) -> str | None:
    value = reading.value(node)
    if not isinstance(node, yaml.ScalarNode):
        given = described(node, reading)
        reading.add(node, key, f"must be a string, a number or true/false, not {given}")
        return None
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = ""
    elif isinstance(value, (str, int, float)):
        text = str(value)
    else:  # a date: what was written
        text = str(node.value)
    if "\0" in text:
        reading.add(node, key, "a value cannot hold a NUL character")
        return None
    return text


AGENT_KEYS: dict[str, Reader] = {
    "path": _path,
    "args": _args,
    "env": _env,
    "watch": patterns,
    "ready_port": whole(1, 65535, "a TCP port number"),
    "front": boolean,
    "reload_strategy": strategy,
}
