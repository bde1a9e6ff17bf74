"""How each kind of `.meshwatch` value is read from its checked YAML node: lists of strings,
patterns, ranged whole numbers, booleans, extensions. Each reader returns the value, or records
one located problem and returns None. Pure.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from meshdev.problems import MAX_SHOWN, Problem, UsageError, shorten
from meshdev.project.extensions import extension_problem, normalise_extensions
from meshdev.project.keys import STRATEGIES
from meshdev.project.yamlsafe import NULL, Document

# `.py`, `py`, `tar.gz`: word characters between dots, nothing that could make a pattern escape.


@dataclass
class Reading:
    """One file being read: its checked document and the problems found so far."""

    document: Document
    problems: list[Problem] = field(default_factory=list)

    def add(self, node: yaml.Node | None, key: str, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else None
        self.problems.append(Problem(self.document.source, line, key, message))

    @property
    def busy(self) -> bool:
        """Enough problems to tell already: spare the costly hints for the rest."""
        return len(self.problems) >= MAX_SHOWN

    def value(self, node: yaml.Node) -> Any:
        return self.document.value(node)

    def raise_if_any(self) -> None:
        if self.problems:
            raise UsageError(self.problems)


Reader = Callable[[yaml.Node, str, Reading], Any]


def shown(value: object) -> str:
    """A value quoted in a message, bounded in length."""
    return shorten(repr(value))


def described(node: yaml.Node, reading: Reading) -> str:
    """What a node holds, for a message: its value, or `a list` / `a mapping`."""
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    return shown(reading.value(node))


def pairs(node: yaml.MappingNode, prefix: str, reading: Reading) -> dict[str, yaml.Node]:
    """The mapping's keys and value nodes; a duplicate key is a problem, not a silent win, and a
    key must be a plain name (a list or mapping as a key names nothing)."""
    out: dict[str, yaml.Node] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            reading.add(key_node, prefix.rstrip("."), "a key must be a plain name")
            continue
        key = reading.document.text(key_node)
        if key in out:
            reading.add(key_node, prefix + key, "given twice; keep one")
        out[key] = value_node
    return out


def unknown(key: str, known: Iterable[str], reading: Reading) -> str:
    if reading.busy or len(key) > 100:
        return "unknown key"
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(sorted(known))}"
    return f"unknown key; {hint}"


def items(node: yaml.Node) -> list[yaml.Node]:
    return list(node.value) if isinstance(node, yaml.SequenceNode) else [node]


def strings(
    node: yaml.Node, key: str, reading: Reading, numbers: bool = False
) -> tuple[str, ...] | None:
    """A list of strings (a single string is a list of one); `numbers`: 8001 is taken as '8001'."""
    if node.tag == NULL:
        return ()
    if not isinstance(node, (yaml.SequenceNode, yaml.ScalarNode)):
        reading.add(node, key, "must be a list of strings")
        return None
    out: list[str] = []
    kinds = (str, int, float) if numbers else (str,)
    for item in items(node):
        value = reading.value(item)
        if not isinstance(value, kinds) or isinstance(value, bool):
            what = described(item, reading)
            reading.add(item, key, f"each entry must be a string (quote it), not {what}")
            return None
        if "\0" in str(value):
            reading.add(item, key, "an entry holds a NUL character")
            return None
        out.append(str(value))
    return tuple(out)


def patterns(node: yaml.Node, key: str, reading: Reading) -> tuple[str, ...] | None:
    """Any string is a pattern: as in a .gitignore, one git cannot use never matches."""
    return strings(node, key, reading)


def whole(lowest: int, highest: int, what: str) -> Reader:
    """A reader of whole numbers in [lowest, highest]; `what`: "a whole number of milliseconds"."""

    def read(node: yaml.Node, key: str, reading: Reading) -> int | None:
        value = reading.value(node)
        if isinstance(value, int) and not isinstance(value, bool) and lowest <= value <= highest:
            return value
        given = described(node, reading)
        reading.add(node, key, f"must be {what} from {lowest} to {highest}, not {given}")
        return None

    return read


def strategy(node: yaml.Node, key: str, reading: Reading) -> str | None:
    value = reading.value(node)
    if isinstance(value, str) and value.lower() in STRATEGIES:
        return value.lower()
    given = described(node, reading)
    reading.add(node, key, f"must be one of {', '.join(STRATEGIES)}, not {given}")
    return None


def boolean(node: yaml.Node, key: str, reading: Reading) -> bool | None:
    value = reading.value(node)
    if not isinstance(value, bool):
        reading.add(node, key, f"must be true or false, not {described(node, reading)}")
        return None
    return value


def extensions(node: yaml.Node, key: str, reading: Reading) -> tuple[str, ...] | None:
    found = strings(node, key, reading)
    if found is None:
        return None
    for item, item_node in zip(found, items(node), strict=False):
        problem = extension_problem(item)
        if problem is not None:
            reading.add(item_node, key, problem)
            return None
    return normalise_extensions(found)
