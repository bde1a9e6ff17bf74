"""Packages that are a command-line tool, not an agent: those behind a console script.

`meshdev start .` at the root of a Python project would otherwise take the project's own CLI
package (a folder with `__init__.py` and `__main__.py`, `python -m tool`) for an agent and run
it, as it did with meshdev's own repository. A package counts as a tool when its name is a
console script's name, or the top-level package of a script's entry point, as declared by the
`pyproject.toml` beside it or by a distribution installed in this environment.

Pure apart from reading files (pyproject.toml, installed metadata).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

_SCRIPT_SECTIONS = re.compile(
    r"^\[(project\.scripts|project\.gui-scripts|project\.entry-points\.[^\]]+|"
    r"tool\.poetry\.scripts)\]\s*$"
)
_ENTRY = re.compile(r"""^\s*["']?([\w.-]+)["']?\s*=\s*["']([\w.]+)(?::[\w.]+)?["']""")
_SCRIPT_GROUPS = ("console_scripts", "gui_scripts")


def tool_reason(package: Path) -> str | None:
    """Why the package folder is a command-line tool, or None."""
    name = package.name
    declared = declared_scripts(package.parent / "pyproject.toml")
    script = declared.get(name)
    if script is not None:
        return f"the package of the `{script}` command (pyproject.toml)"
    script = installed_scripts().get(name)
    if script is not None:
        return f"the package of the installed `{script}` command"
    return None


def declared_scripts(pyproject: Path) -> dict[str, str]:
    """Script names and their entry points' top-level packages -> the script's name.

    Read line by line rather than with tomllib, which Python 3.10 lacks; the sections that
    declare scripts are plain `name = "package.module:function"` lines."""
    try:
        text = pyproject.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    found: dict[str, str] = {}
    in_scripts = False
    for line in text.splitlines():
        if line.lstrip().startswith("["):
            in_scripts = bool(_SCRIPT_SECTIONS.match(line.strip()))
            continue
        entry = _ENTRY.match(line) if in_scripts else None
        if entry is not None:
            script, target = entry.group(1), entry.group(2)
            found.setdefault(script, script)
            found.setdefault(target.split(".")[0], script)
    return found


@functools.cache
def installed_scripts() -> dict[str, str]:
    """The same for every distribution installed here (read once: it walks site-packages)."""
    from importlib import metadata  # 20 ms to import: only discovery's first question pays

    found: dict[str, str] = {}
    for group in _SCRIPT_GROUPS:
        for entry in metadata.entry_points(group=group):
            found.setdefault(entry.name, entry.name)
            found.setdefault(entry.value.split(":")[0].split(".")[0].strip(), entry.name)
    return found
