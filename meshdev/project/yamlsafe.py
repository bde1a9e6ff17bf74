"""YAML for `.meshwatch`, read so that no file can crash, hang or run anything in meshdev.

Every bound is checked before the step it protects: the file's kind and size before it is read
(`configtext`: a FIFO or /dev/zero would never end), nesting depth and the size that aliases
expand to on the event stream (composing is recursive, and a 9-by-9 alias bomb is 387 million
values), and each node's tag before any value is built (only plain scalars, lists and mappings: a
`!!python/*` tag is refused, never constructed). Every problem is located by line and key and
bounded in length.

Pure: imports no subprocess, signal, watchfiles, rich or typer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from meshdev.problems import Problem, UsageError, shorten

MAX_DEPTH = 32  # the deepest real key, agents.NAME.env.VAR, is at depth 4
MAX_VALUES = 10_000  # every scalar, list and mapping, counted as aliases expand them
# The C parser when pyyaml has it: the pure-Python one takes 5 s for 50,000 keys.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

CORE = "tag:yaml.org,2002:"
NULL, STR, SEQ, MAP = CORE + "null", CORE + "str", CORE + "seq", CORE + "map"
_MERGE, _VALUE = CORE + "merge", CORE + "value"
_SCALARS = {CORE + t for t in ("str", "int", "float", "bool", "null", "timestamp")} | {_VALUE}


@dataclass
class Document:
    """A composed `.meshwatch`: its root node, and the value of every scalar, built safely once."""

    source: str
    root: yaml.Node | None
    values: dict[int, Any] = field(default_factory=dict)  # id(scalar node) -> its value

    def value(self, node: yaml.Node) -> Any:
        """A scalar's value (None for a list or mapping)."""
        return self.values.get(id(node)) if isinstance(node, yaml.ScalarNode) else None

    def text(self, node: yaml.Node) -> str:
        """A key as written: a name, or the source text of a number, date or null."""
        value = self.value(node)
        return value if isinstance(value, str) else str(getattr(node, "value", ""))


def compose(text: str, source: str) -> Document:
    """The checked node tree; UsageError with every problem found (bounds first, then tags)."""
    bound = _bounds(text, source)
    if bound is not None:
        raise UsageError([bound])
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise UsageError([_syntax(exc, text, source)]) from None
    document = Document(source, root)
    problems = _check_nodes(document)
    if problems:
        raise UsageError(problems)
    return document


def _syntax(exc: yaml.YAMLError, text: str, source: str) -> Problem:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        if "nesting depth" in str(exc.problem):  # libyaml's own bound, met while scanning ahead
            return Problem(source, line, "", _TOO_DEEP)
        return Problem(source, line, "", f"YAML syntax: {exc.problem or 'invalid YAML'}")
    position = getattr(exc, "position", None)  # a ReaderError: a character YAML never allows
    line = text[:position].count("\n") + 1 if isinstance(position, int) else None
    reason = getattr(exc, "reason", None) or str(exc).splitlines()[0]
    return Problem(source, line, "", f"YAML syntax: {shorten(str(reason))}")


def _bounds(text: str, source: str) -> Problem | None:
    """Depth and expanded size, read from the event stream, which never recurses or expands."""
    open_: list[list[Any]] = []  # per open list or mapping: [anchor, its expanded size]
    sizes: dict[str, int] = {}
    expanded = 0
    try:
        for event in yaml.parse(text, Loader=_LOADER):
            line = event.start_mark.line + 1 if event.start_mark is not None else None
            if isinstance(event, yaml.CollectionStartEvent):
                open_.append([event.anchor, 1])
                expanded += 1
                if len(open_) > MAX_DEPTH:
                    return Problem(source, line, "", _TOO_DEEP)
                continue
            if isinstance(event, yaml.CollectionEndEvent):
                anchor, size = open_.pop()
            elif isinstance(event, yaml.AliasEvent):
                if any(entry[0] == event.anchor for entry in open_):
                    return Problem(source, line, "", f"alias *{event.anchor} is inside its anchor")
                anchor, size = None, sizes.get(str(event.anchor), 1)
                expanded += size
            elif isinstance(event, yaml.ScalarEvent):
                anchor, size = event.anchor, 1
                expanded += 1
            else:
                continue
            if anchor is not None:
                sizes[anchor] = size
            if open_:
                open_[-1][1] += size
            if expanded > MAX_VALUES:
                return Problem(source, line, "", _TOO_BIG)
    except yaml.YAMLError as exc:
        return _syntax(exc, text, source)
    return None


_TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"
_TOO_BIG = f"more than {MAX_VALUES:,} values (aliases count as what they repeat): not a .meshwatch"


def _check_nodes(document: Document) -> list[Problem]:
    """Every node's tag is a plain one and every scalar's value can be built; the values are kept.

    Iterative (the depth is bounded, but a list is cheaper than frames); each node once."""
    problems: list[Problem] = []
    constructor = SafeConstructor()
    todo: list[tuple[yaml.Node, str]] = [(document.root, "")] if document.root else []
    seen: set[int] = set()
    while todo:
        node, key = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        line = node.start_mark.line + 1
        refused = _refused_tag(node)
        if refused is not None:
            problems.append(Problem(document.source, line, key, refused))
        elif isinstance(node, yaml.ScalarNode):
            built = _build(constructor, node)
            if isinstance(built, _Unbuildable):
                problems.append(Problem(document.source, line, key, built.why))
            else:
                document.values[id(node)] = built
        elif isinstance(node, yaml.MappingNode):
            for key_node, value_node in reversed(node.value):
                todo.append((value_node, _child_key(document, constructor, key, key_node)))
                todo.append((key_node, key))
        elif isinstance(node, yaml.SequenceNode):
            todo.extend((item, key) for item in reversed(node.value))
    return problems


def _child_key(
    document: Document, constructor: SafeConstructor, parent: str, key_node: yaml.Node
) -> str:
    """The dotted key of a mapping's value, for the messages about it."""
    if not isinstance(key_node, yaml.ScalarNode) or _refused_tag(key_node) is not None:
        return parent
    built = _build(constructor, key_node)
    name = built if isinstance(built, str) else str(key_node.value)
    return f"{parent}.{name}" if parent else name


def _refused_tag(node: yaml.Node) -> str | None:
    tag = node.tag
    if tag == _MERGE:
        return "merge keys (<<) are not supported; write the keys out"
    expected = SEQ if isinstance(node, yaml.SequenceNode) else None
    expected = MAP if isinstance(node, yaml.MappingNode) else expected
    if tag == expected or (expected is None and tag in _SCALARS):
        return None
    return f"YAML tag {tag_name(tag)} is not allowed: only plain values, lists and mappings"


@dataclass(frozen=True)
class _Unbuildable:
    why: str


def _build(constructor: SafeConstructor, node: yaml.ScalarNode) -> Any:
    if node.tag == _VALUE:  # a lone `=`: YAML 1.1's value key, nothing but text here
        return node.value
    try:
        return constructor.construct_object(node, deep=True)
    except Exception:  # each tag's constructor raises its own types (ValueError, KeyError, ...)
        return _Unbuildable(f"{shorten(repr(node.value))} is not a valid {tag_name(node.tag)}")


def tag_name(tag: str) -> str:
    """`tag:yaml.org,2002:int` as it is written, `!!int`."""
    return "!!" + tag[len(CORE) :] if tag.startswith(CORE) else shorten(tag)
