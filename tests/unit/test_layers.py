"""The import contract of meshdev's folders, read from the source with ast: nothing is imported.

Every import statement counts: at module level, inside functions, under `if TYPE_CHECKING:`. A
type-only import still ties a module to the one it names, and exempting it would make
`TYPE_CHECKING` the way round every rule; share a type through a Protocol in an inner module.
Parent packages, which Python runs implicitly, are not followed: `meshdev/__init__.py` is the
in-agent API, so following it would charge every module with the agent runtime.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "meshdev"
MODULES = {  # dotted name -> source file
    ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): p
    for p in PACKAGE.rglob("*.py")
}
# The C modules under these public ones: another name for the same powers.
C_MODULES = {"_signal": "signal", "_socket": "socket", "_thread": "threading"}
OUTER = (
    "meshdev.processes",
    "meshdev.sources",
    "meshdev.show",
    "meshdev.supervise",
    "meshdev.front.stdio",
    "meshdev.front.http",
    "meshdev.front.upstream",
    "meshdev.front.door",
    "meshdev.front.downstream",
    "meshdev.front.late",
    "meshdev.cli",
    "meshdev.launch",
)
IMPURE = {"subprocess", "signal", "socket", "threading", "watchfiles", "rich", "typer"}


def inside(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def top(module: str) -> str:
    return module.split(".")[0]


@cache
def imports(module: str) -> list[str]:
    """What `module` imports; `from meshdev.x import y` means meshdev.x.y when y is a module."""
    names: list[str] = []
    for node in ast.walk(ast.parse(MODULES[module].read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            subs = (f"{node.module}.{alias.name}" for alias in node.names)
            names += [sub if sub in MODULES else str(node.module) for sub in subs]
    return list(dict.fromkeys(C_MODULES.get(name, name) for name in names))


def chains(start: str, transitive: bool) -> dict[str, list[str]]:
    """What `start` imports, or reaches through meshdev modules, each by its shortest chain."""
    found, todo = {start: [start]}, [start]
    while todo:
        module = todo.pop(0)
        for target in (t for t in imports(module) if t not in found):
            found[target] = [*found[module], target]
            todo += [target] if transitive and target in MODULES else []
    return {target: chain for target, chain in found.items() if target != start}


Rule = tuple[Callable[[str], bool], Callable[[str], bool], bool]
RULES: dict[str, Rule] = {  # rule: (the modules it binds, the imports it forbids, transitive?)
    "project/, decide/ and the MCP session logic stay pure": (
        lambda m: inside(m, "meshdev.project", "meshdev.decide", "meshdev.front.session"),
        lambda target: inside(target, *OUTER) or top(target) in IMPURE,
        True,
    ),
    # runtime/ runs inside the agent, where SIGTERM must become a normal exit and listening
    # sockets move; front/ holds the ports and pipes MCP clients talk to (its session logic is
    # pure, by the first rule).
    "only processes/, sources/ and the front run processes, signals, sockets, watchers": (
        lambda m: (
            not inside(
                m, "meshdev.processes", "meshdev.sources", "meshdev.runtime", "meshdev.front"
            )
        ),
        lambda target: top(target) in {"subprocess", "signal", "socket", "watchfiles"},
        False,
    ),
    "only show/ uses rich": (
        lambda m: not inside(m, "meshdev.show"),
        lambda t: top(t) == "rich",
        False,
    ),
    "only cli.py uses typer": (lambda m: m != "meshdev.cli", lambda t: top(t) == "typer", False),
    "runtime/ needs only the standard library and itself": (
        lambda m: inside(m, "meshdev.runtime"),
        lambda t: not inside(t, "meshdev.runtime") and top(t) not in sys.stdlib_module_names,
        False,
    ),
}


@pytest.mark.parametrize("rule", RULES)
def test_imports_keep_to(rule: str) -> None:
    binds, forbids, transitive = RULES[rule]
    bad = [
        " -> ".join(chain)
        for module in sorted(filter(binds, MODULES))
        for target, chain in chains(module, transitive).items()
        if forbids(target)
    ]
    assert not bad, f"{rule}, but:\n" + "\n".join(bad)


def test_few_modules_sit_directly_in_the_package() -> None:
    top_level = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top_level) <= 8, f"{len(top_level)} modules directly in meshdev/: {top_level}"
