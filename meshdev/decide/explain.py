"""Answers for `meshdev debug`: what is watched, why a file does (not) trigger, what is an agent.

Pure data (dicts ready for JSON); the console renders them. A debug command runs no agent, so it
reads the static import closure; what agents open (config files, prompts) or import at run time
is known only to a running meshdev, which `debug why` asks when one runs (`running`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from meshdev.decide.dependencies import DependencyIndex
from meshdev.decide.imports import Closure, ImportScanner, static_closure
from meshdev.project.patterns import BUILTIN_IGNORES, Verdict
from meshdev.project.project import Project
from meshdev.project.scan import files_under, watched_dirs


def closures(project: Project) -> dict[str, Closure]:
    scanner = ImportScanner()
    return {
        agent.name: static_closure(
            scanner, agent.script, (agent.search_root, project.root), project.root
        )
        for agent in project.discovery.agents
    }


def _shallow(project: Project, found: dict[str, Closure]) -> set[Path]:
    dirs = {p.parent for c in found.values() for p in c.files}
    return dirs | set(project.discovery.scanned_dirs)


def watches(project: Project) -> dict[str, Any]:
    found = closures(project)
    index = DependencyIndex({n: c.files for n, c in found.items()})
    dirs = watched_dirs(project.rules, _shallow(project, found))
    rel = project.rules.relative
    return {
        "root": str(project.root),
        "config": str(project.config.path) if project.config.path else None,
        "watched_dirs": [rel(d / "x")[:-2] or "." for d in dirs],  # type: ignore[index]
        "patterns": _patterns(project),
        "files": sorted(
            (_file_entry(project, index, path) for path in files_under(project.rules, dirs)),
            key=lambda e: (_VERDICT_ORDER.index(e["verdict"]), e["path"]),
        ),
    }


_VERDICT_ORDER = [
    v.value
    for v in (Verdict.RELOAD, Verdict.LOG_ONLY, Verdict.CONFIG, Verdict.UNWATCHED, Verdict.EXCLUDED)
]


def _patterns(project: Project) -> dict[str, list[str]]:
    config = project.config
    include = (
        list(config.include)
        if config.include is not None
        else [f"*{e}" for e in project.settings.watch_extensions]
    )
    return {
        "built-in": list(BUILTIN_IGNORES),
        "include" if config.include is not None else "watch_extensions": include,
        "exclude": list(config.exclude),
        "log_only": list(config.log_only),
        **{f"agents.{a.name}.watch": list(a.watch) for a in config.agents if a.watch},
    }


def _file_entry(project: Project, index: DependencyIndex, path: Path) -> dict[str, Any]:
    decision = project.rules.decide(path)
    agents = sorted(index.agents_of(path))
    verdict = decision.verdict
    if verdict is Verdict.UNWATCHED and agents:
        verdict = Verdict.RELOAD
    return {
        "path": project.rules.relative(path),
        "verdict": verdict.value,
        "decided_by": decision.source,
        "pattern": decision.pattern,
        "agents": agents if verdict is Verdict.RELOAD else [],
    }


def why(project: Project, path: Path, running: list[str] | None = None) -> dict[str, Any]:
    """`running`: the agents whose picture holds the file in the running meshdev (static imports,
    modules loaded and files opened at run time), or None when no meshdev runs."""
    full = Path(os.path.abspath(path))  # a link is judged by its name, as git judges it
    decision = project.rules.decide(full)
    found = closures(project)
    chains = {
        name: [_module_name(closure, p) for p in closure.chain(full)]
        for name, closure in found.items()
        if full in closure.importer
    }
    watchers = project.rules.watching_agents(project.rules.relative(full) or "")
    agents = {name: " -> ".join([name, *chain[1:]]) for name, chain in chains.items()}
    agents |= {name: f"{name} (watch pattern)" for name in watchers}
    for name in sorted(set(running or ()) - set(agents)):
        agents[name] = f"{name} (opened or imported it at run time)"
    return {
        "path": str(full),
        "exists": full.exists(),
        "verdict": decision.verdict.value,
        "explanation": decision.explain(),
        "agents": agents,
        "asked_running_meshdev": running is not None,
    }


def _module_name(closure: Closure, path: Path) -> str:
    return closure.modules.get(path, path.name)


AGENT_RULE = (
    'In a folder: each .py file with an `if __name__ == "__main__":` block or an agent '
    "decorator, and each sub-folder with a __main__.py, is an agent; helpers (_*.py, test_*.py, "
    "conftest.py, plain modules) are not, nor is a package behind a console script (a "
    "command-line tool: named in pyproject.toml's scripts, or installed). A file or folder named "
    "on the command line, or listed under `agents:` with a path, is an agent whatever it holds."
)


def agents(project: Project) -> dict[str, Any]:
    return {
        "rule": AGENT_RULE,
        "agents": [
            {
                "name": a.name,
                "script": _shown(project, a.script),
                "how": a.how,
                "args": list(a.args),
            }
            for a in project.discovery.agents
        ],
        "skipped": [
            {"path": _shown(project, s.path), "why": s.why} for s in project.discovery.skipped
        ],
    }


def _shown(project: Project, path: Path) -> str:
    """Relative to the project root when inside it."""
    return project.rules.relative(path) or str(path)
