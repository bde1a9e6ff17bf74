"""What each agent depends on: its picture (static import closure united with what its process
reported loading and opening), and the file -> agents index inverted from all pictures.

Pure apart from reading source files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from meshdev.decide.imports import Closure, ImportScanner, static_closure
from meshdev.project.discovery import AgentDef

MCP_SDKS = ("mcp", "fastmcp", "mcp_mesh")  # an agent importing one is an MCP server
_TRACEBACK_FILE = re.compile(r'File "([^"]+)", line \d+')


class DependencyIndex:
    """file -> agents that depend on it, inverted from each agent's set of files."""

    def __init__(
        self, files_by_agent: Mapping[str, Iterable[Path]], outputs: Iterable[Path] = ()
    ) -> None:
        self._agents: dict[Path, set[str]] = {}
        for agent, files in files_by_agent.items():
            for path in files:
                self._agents.setdefault(path, set()).add(agent)
        self.outputs = frozenset(outputs)  # files agents write: not news unless another reads them

    def is_output_only(self, path: Path) -> bool:
        return path in self.outputs and path not in self._agents

    def agents_of(self, path: Path) -> set[str]:
        return self._agents.get(path, set())

    def by_relative(self, relative: Callable[[Path], str | None]) -> dict[str, list[str]]:
        """file (as `relative` names it) -> its agents, sorted; files it cannot name are left
        out. For looking up every file of a tree by string instead of hashing a Path each."""
        found: dict[str, set[str]] = {}
        for path, agents in self._agents.items():
            rel = relative(path)
            if rel is not None:
                found.setdefault(rel, set()).update(agents)
        return {rel: sorted(agents) for rel, agents in found.items()}

    def __contains__(self, path: object) -> bool:
        return path in self._agents


@dataclass
class Picture:
    """Everything that, when changed, should restart one agent."""

    closure: Closure
    loaded: set[Path] = field(default_factory=set)  # module files the process reported loading
    opened: set[Path] = field(default_factory=set)  # project files the process opened for reading
    written: set[Path] = field(default_factory=set)  # its own outputs: never a reason to restart

    def files(self) -> set[Path]:
        return set(self.closure.files) | self.loaded | self.opened

    def why(self, path: Path) -> str | None:
        """How this agent depends on `path`, or None."""
        if path in self.closure.importer:
            return "imports it" if path != self.closure.script else "its own script"
        if path in self.loaded:
            return "loaded it at run time"
        if path in self.opened:
            return "opened it at run time"
        return None


def closure_of(scanner: ImportScanner, agent: AgentDef, project_root: Path) -> Closure:
    return static_closure(scanner, agent.script, (agent.search_root, project_root), project_root)


class Dependencies:
    """The pictures of the agents meshdev started, and the index built from them on demand."""

    def __init__(self, project_root: Path) -> None:
        self.project_root = project_root
        self._scanner = ImportScanner()
        self._agents: dict[str, AgentDef] = {}
        self._pictures: dict[str, Picture] = {}
        self._index: DependencyIndex | None = None

    def track(self, agent: AgentDef) -> set[Path]:
        """A new process of `agent` starts: a fresh picture from its static imports."""
        self._agents[agent.name] = agent
        self._pictures[agent.name] = Picture(closure_of(self._scanner, agent, self.project_root))
        self._index = None
        return self._pictures[agent.name].files()

    def record(
        self, name: str, loaded: Iterable[Path], opened: Iterable[Path], written: Iterable[Path]
    ) -> set[Path]:
        """What the process reported; returns the files new to its picture."""
        picture = self._pictures.get(name)
        if picture is None:
            return set()
        before, outputs = picture.files(), set(written)
        picture.loaded.update(loaded)
        picture.written.update(outputs)
        picture.opened.update(opened)
        picture.opened -= picture.written
        new = picture.files() - before
        if new or outputs:
            self._index = None
        return new

    def note_traceback(self, name: str, lines: Iterable[str]) -> None:
        """Files named in a crash's traceback join the agent's picture: fixing them retries."""
        picture = self._pictures.get(name)
        if picture is None:
            return
        for line in lines:
            for found in _TRACEBACK_FILE.findall(line):
                if Path(found).is_file():
                    picture.loaded.add(Path(found))
                    self._index = None

    def rescan(self) -> None:
        """Static imports again (after a batch of edits may have added or removed some)."""
        for name, agent in self._agents.items():
            self._pictures[name].closure = closure_of(self._scanner, agent, self.project_root)
        self._index = None

    def forget(self, names: Iterable[str]) -> None:
        for name in names:
            self._agents.pop(name, None)
            self._pictures.pop(name, None)
        self._index = None

    def imports_any(self, name: str, packages: Iterable[str]) -> bool:
        """Does the agent's own script import one of these (top-level) packages?"""
        agent = self._agents.get(name)
        if agent is None:
            return False
        wanted = set(packages)
        found = (
            n for imp in self._scanner.imports(agent.script) if imp.level == 0 for n in imp.names
        )
        return any(n.split(".")[0] in wanted for n in found)

    def prime(self, paths: Iterable[Path]) -> None:
        """Read now the imports of the changed modules some agent depends on (the quiet time),
        so that the rescan before the decision finds them parsed."""
        index = self.index()
        for path in paths:
            if path.suffix == ".py" and path in index:
                self._scanner.imports(path)

    def why(self, name: str, path: Path) -> str | None:
        """How agent `name` depends on `path` (Picture.why), or None."""
        picture = self._pictures.get(name)
        return picture.why(path) if picture is not None else None

    def files_of(self, name: str) -> set[Path] | None:
        picture = self._pictures.get(name)
        return picture.files() if picture is not None else None

    def index(self) -> DependencyIndex:
        if self._index is None:
            files = {n: p.files() for n, p in self._pictures.items()}
            outputs = {path for p in self._pictures.values() for path in p.written}
            self._index = DependencyIndex(files, outputs)
        return self._index

    def folders(self) -> set[Path]:
        return {path.parent for p in self._pictures.values() for path in p.files()}
