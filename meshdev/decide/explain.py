"""Answers for `meshdev debug`: what is watched, why a file does (not) trigger, what is an agent.

Pure data (dicts ready for JSON); the console renders them. A debug command runs no agent, so it
reads the static import closure; what agents open (config files, prompts) or import at run time
is known only to a running meshdev, which `debug why` asks when one runs (`running`).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import Any

from meshdev.decide.dependencies import DependencyIndex
from meshdev.decide.imports import Closure, ImportScanner, static_closure
from meshdev.project.patterns import BUILTIN_IGNORES, Decision, Verdict, WatchRules
from meshdev.project.project import Project
from meshdev.project.scan import file_names, watched_dirs


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
    with _uncollected():
        return _watches(project)


@contextmanager
def _uncollected() -> Iterator[None]:
    """The cyclic garbage collector paused: an entry per file makes some 60,000 containers that
    hold no cycle, and the collector would go through all of them again each time a few
    hundred more are made. Afterwards they join the oldest generation untraversed (frozen, then
    unfrozen): resuming with all of them in the youngest would go through them all once more."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if paused:
            gc.enable()


def _watches(project: Project) -> dict[str, Any]:
    found = closures(project)
    index = DependencyIndex({n: c.files for n, c in found.items()})
    rules = project.rules
    listed: dict[Path, list[str]] = {}
    dirs = watched_dirs(rules, _shallow(project, found), None, listed)
    folders = [rules.relative(d / "x")[:-2] for d in dirs]  # type: ignore[index]
    return {
        "root": str(project.root),
        "config": str(project.config.path) if project.config.path else None,
        "watched_dirs": [folder or "." for folder in folders],
        "patterns": _patterns(project),
        "files": _files(
            rules, index.by_relative(rules.relative), zip(dirs, folders, strict=True), listed
        ),
    }


_ORDER = (Verdict.RELOAD, Verdict.LOG_ONLY, Verdict.CONFIG, Verdict.UNWATCHED, Verdict.EXCLUDED)


def _files(
    rules: WatchRules,
    users: dict[str, list[str]],
    folders: Iterable[tuple[Path, str]],
    listed: dict[Path, list[str]],
) -> list[dict[str, Any]]:
    """Each file's entry, by verdict then path. This runs for every file of the tree, so a
    folder's files are judged in one call and named by strings, not Paths, and what a decision
    says is looked up once for all the files it decides."""
    by_verdict: dict[str, list[dict[str, Any]]] = {verdict._value_: [] for verdict in _ORDER}
    seen: dict[int, tuple[Callable[[dict[str, Any]], None], str, str, str | None]] = {}
    for path, folder in folders:
        names = sorted(listed[path] if path in listed else file_names(path))  # runs, for sorting
        prefix = f"{folder}/" if folder else ""
        for name, decision in zip(names, rules.decide_files(folder, names), strict=True):
            rel = prefix + name
            agents = users.get(rel) if users else None
            if agents and decision.verdict is not Verdict.EXCLUDED:
                add, value, source, pattern = _filed(by_verdict, decision, True)
            else:  # the usual case: one lookup for a decision met many times
                known = seen.get(id(decision))  # decisions are interned (WatchRules._decision)
                if known is None:
                    known = seen[id(decision)] = _filed(by_verdict, decision, False)
                add, value, source, pattern = known
            shown = list(agents) if agents and value == "reload" else []
            add(
                {
                    "path": rel,
                    "verdict": value,
                    "decided_by": source,
                    "pattern": pattern,
                    "agents": shown,
                }
            )
    by_path = itemgetter("path")
    return [entry for entries in by_verdict.values() for entry in sorted(entries, key=by_path)]


def _filed(
    by_verdict: dict[str, list[dict[str, Any]]], decision: Decision, used: bool
) -> tuple[Callable[[dict[str, Any]], None], str, str, str | None]:
    """Where a file's entry goes and what it says; `used`: an agent depends on the file, so that
    what would not be watched restarts it all the same."""
    verdict = decision.verdict
    if used and verdict is Verdict.UNWATCHED:
        verdict = Verdict.RELOAD
    value = verdict._value_  # the `value` property costs more than this whole function
    return by_verdict[value].append, value, decision.source, decision.pattern


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
