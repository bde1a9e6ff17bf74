"""Which files and folders are agents, and why the others are not. Pure apart from reading files."""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from meshdev.problems import Problem, UsageError
from meshdev.project.config import AgentSpec, FileConfig
from meshdev.project.tools import tool_reason

_MAIN_GUARD = re.compile(r"""__name__\s*==\s*['"]__main__['"]""")


@dataclass(frozen=True)
class AgentDef:
    """One agent: what to run and how it was found."""

    name: str
    script: Path  # the file executed as __main__
    how: str  # why this is an agent
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    watch: tuple[str, ...] = ()
    ready_port: int | None = None
    speaks_mcp: bool = False  # `meshdev mcp`: its stdin and stdout are the MCP client's
    front: bool | None = None  # meshdev holds its ports across reloads (None: if an MCP server)
    reload_strategy: str | None = None  # None: the project's

    @property
    def search_root(self) -> Path:
        """What Python puts first on sys.path for this script."""
        return self.script.parent


@dataclass(frozen=True)
class Skipped:
    path: Path
    why: str


@dataclass(frozen=True)
class Discovery:
    agents: tuple[AgentDef, ...]
    skipped: tuple[Skipped, ...] = ()
    scanned_dirs: tuple[Path, ...] = field(default_factory=tuple)

    def names(self) -> set[str]:
        return {a.name for a in self.agents}

    def get(self, name: str) -> AgentDef | None:
        return next((a for a in self.agents if a.name == name), None)


def discover(paths: Sequence[Path], config: FileConfig) -> Discovery:
    """Agents under `paths` plus those `.meshwatch` names with a path; UsageError on conflicts."""
    agents: list[AgentDef] = []
    skipped: list[Skipped] = []
    scanned: list[Path] = []
    for path in paths:
        if path.is_dir() and not (path / "__main__.py").is_file():
            scanned.append(path)
            found, passed = scan_folder(path)
            agents += found
            skipped += passed
        else:
            agents.append(_named_path(path))
    agents += _configured(config)
    merged = _apply_specs(_unique(agents), config)
    return Discovery(tuple(sorted(merged, key=lambda a: a.name)), tuple(skipped), tuple(scanned))


def _named_path(path: Path) -> AgentDef:
    """A file or a `__main__.py` folder the user named: an agent, whatever its contents."""
    if path.is_dir():
        return AgentDef(path.name, path / "__main__.py", "folder named on the command line")
    if not path.exists():
        raise UsageError.single(str(path), "no such file or folder; check the path")
    if path.suffix != ".py":
        raise UsageError.single(str(path), "not a Python file; name a .py file or a folder")
    return AgentDef(path.stem, path, "file named on the command line")


def scan_folder(folder: Path) -> tuple[list[AgentDef], list[Skipped]]:
    agents: list[AgentDef] = []
    skipped: list[Skipped] = []
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        return [], [Skipped(folder, f"cannot read it ({exc.strerror})")]
    # os.path's tests, not pathlib's: they answer False where a folder cannot be read.
    for entry in entries:
        if os.path.isdir(entry):
            tool = _tool(entry)
            if tool is not None:
                skipped.append(Skipped(entry, tool))
            elif os.path.isfile(entry / "__main__.py"):
                agents.append(
                    AgentDef(entry.name, entry / "__main__.py", "folder with __main__.py")
                )
            elif not entry.name.startswith((".", "_")) and _has_python(entry):
                skipped.append(Skipped(entry, "folder without __main__.py"))
        elif entry.suffix == ".py":
            why_not = helper_reason(entry.name)
            how = None if why_not else runnable_reason(entry)
            if how:
                agents.append(AgentDef(entry.stem, entry, how))
            else:
                skipped.append(
                    Skipped(entry, why_not or "plain module: no __main__ block or agent decorator")
                )
    return agents, skipped


def _has_python(folder: Path) -> bool:
    try:
        return any(folder.glob("*.py"))
    except OSError:
        return False


def _tool(folder: Path) -> str | None:
    """Why a `__main__.py` package is a command-line tool rather than an agent, or None."""
    if not os.path.isfile(folder / "__main__.py") or not os.path.isfile(folder / "__init__.py"):
        return None
    why = tool_reason(folder)
    if why is None:
        return None
    run = f"meshdev start {folder.name}"
    return f"{why}: a command-line tool, not an agent; name it to run it ({run})"


def helper_reason(filename: str) -> str | None:
    """Why a file is a helper by its name alone, or None."""
    if filename in ("conftest.py", "setup.py", "__init__.py", "__main__.py"):
        return f"{filename} is never an agent"
    if filename.startswith("_"):
        return "private helper (name starts with _)"
    if filename.startswith("test_") or filename.endswith("_test.py"):
        return "test file"
    return None


def runnable_reason(path: Path) -> str | None:
    """Why the file is runnable (a __main__ block or an agent decorator), or None."""
    try:
        source = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    try:
        tree = ast.parse(source, filename=str(path))
    except (SyntaxError, ValueError):
        # A half-typed save must not make a running agent disappear: trust the text instead.
        return (
            "has a __main__ block (file does not compile yet)"
            if _MAIN_GUARD.search(source)
            else None
        )
    if any(_is_main_guard(node) for node in tree.body):
        return 'has an `if __name__ == "__main__":` block'
    if any(_has_agent_decorator(node) for node in ast.walk(tree)):
        return "has an agent decorator"
    return None


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    parts = [node.test.left, *node.test.comparators]
    names = {p.id for p in parts if isinstance(p, ast.Name)}
    texts = {p.value for p in parts if isinstance(p, ast.Constant)}
    return "__name__" in names and "__main__" in texts


def _has_agent_decorator(node: ast.AST) -> bool:
    decorators: list[ast.expr] = getattr(node, "decorator_list", None) or []
    return any(_decorator_name(d) == "agent" for d in decorators)


def _decorator_name(node: ast.expr) -> str | None:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Attribute):
        return target.attr
    return target.id if isinstance(target, ast.Name) else None


def _configured(config: FileConfig) -> list[AgentDef]:
    out = []
    problems = []
    for spec in config.agents:
        if spec.path is None:
            continue
        path = (config.root / spec.path).resolve()
        script = path / "__main__.py" if path.is_dir() else path
        wrong = _script_problem(path, script)
        if wrong is not None:
            where = f"agents.{spec.name}.path"
            problems.append(Problem(str(config.path), spec.line, where, f"{spec.path} {wrong}"))
            continue
        out.append(AgentDef(spec.name, script, "listed in .meshwatch"))
    if problems:
        raise UsageError(problems)
    return out


def _script_problem(path: Path, script: Path) -> str | None:
    """Why a configured path cannot be run as an agent, or None."""
    if not path.exists():
        return "does not exist"
    if path.is_dir() and not script.is_file():
        return "is a folder without __main__.py"
    if not path.is_dir() and path.suffix != ".py":
        return "is not a Python file; name a .py file or a folder with __main__.py"
    return None


def _unique(agents: Iterable[AgentDef]) -> list[AgentDef]:
    """One agent per script; two different scripts under one name is the user's to resolve."""
    by_name: dict[str, AgentDef] = {}
    problems: list[Problem] = []
    for agent in agents:
        other = by_name.get(agent.name)
        if other is None or other.script.resolve() == agent.script.resolve():
            by_name.setdefault(agent.name, agent)
            continue
        problems.append(
            Problem(
                str(agent.script),
                None,
                "",
                f"another agent is also named {agent.name!r} ({other.script}); rename one, "
                "or give them distinct names under `agents:` in .meshwatch",
            )
        )
    if problems:
        raise UsageError(problems)
    return list(by_name.values())


def _apply_specs(agents: list[AgentDef], config: FileConfig) -> list[AgentDef]:
    return [_with_spec(agent, config.agent(agent.name)) for agent in agents]


def _with_spec(agent: AgentDef, spec: AgentSpec | None) -> AgentDef:
    if spec is None:
        return agent
    return replace(
        agent,
        args=spec.args,
        env=spec.env,
        watch=spec.watch,
        ready_port=spec.ready_port,
        front=spec.front,
        reload_strategy=spec.reload_strategy,
    )


def unmatched_specs(discovery: Discovery, config: FileConfig) -> list[str]:
    """`agents:` entries without a path that name no discovered agent (probably a typo)."""
    names = discovery.names()
    return [s.name for s in config.agents if s.path is None and s.name not in names]
