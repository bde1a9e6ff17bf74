"""Figures 1, 2 and 4: save -> first line of the new process, save -> ready with heavy imports, and
a 2,000-file storm — meshdev against the tools users would otherwise pick, interleaved round by
round on identical fixtures."""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from harness import (
    PYTHON,
    TOOLS_COMPARED,
    Tool,
    available,
    make_fixture,
    median,
    one_save,
    running,
    stamps,
    summary,
    wait_for,
)


def bare_start(rounds: int, heavy: bool = False) -> list[float]:
    """The floor: spawn `python agent.py` -> its first line (-> ready when heavy)."""
    results = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as folder:
            fixture = make_fixture(Path(folder), heavy)
            marker = fixture / "marker.txt"
            started = time.time()
            with running(Tool("bare", "python agent.py"), fixture, marker):
                kind = "ready" if heavy else "start"
                stamp = wait_for(marker, lambda s, k=kind: s.kind == k)
            if stamp is not None:
                results.append((stamp.at - started) * 1000)
    return results


def saves(tool: Tool, count: int, heavy: bool) -> list[tuple[float, float]]:
    """(save -> first line, save -> ready) in ms for `count` saves of the agent's file."""
    results: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        fixture = make_fixture(Path(folder), heavy, asgi=tool.name == "uvicorn")
        marker = fixture / "marker.txt"
        with running(tool, fixture, marker):
            if wait_for(marker, lambda s: s.kind == "ready", timeout=60) is None:
                return results
            time.sleep(0.5)  # let the tool settle before the first save
            for i in range(count):
                measured = one_save(fixture, marker, i)
                if measured is not None:
                    results.append(measured)
                time.sleep(0.4)
    return results


def save_to_restart(
    rounds: int, per_round: int, heavy: bool, tools: Sequence[Tool]
) -> dict[str, list[tuple[float, float]]]:
    found: dict[str, list[tuple[float, float]]] = {t.name: [] for t in tools}
    for _ in range(rounds):
        for tool in tools:
            found[tool.name] += saves(tool, per_round, heavy)
    return found


def figure_1(rounds: int, per_round: int) -> list[str]:
    tools = [t for t in TOOLS_COMPARED if available(t)]
    found = save_to_restart(rounds, per_round, heavy=False, tools=tools)
    floor = bare_start(rounds * 2)
    mesh = median([f for f, _ in found["meshdev"]])
    lines = [
        "### 1. Save → first line of the restarted agent",
        "",
        "From the write of the agent's file to the first statement of the new process "
        f"(median, min-max; {rounds} rounds x {per_round} saves, tools interleaved round by "
        "round). Each includes starting an interpreter.",
        "",
        "| tool | setting | save → first line | ratio to meshdev |",
        "| --- | --- | --- | --- |",
    ]
    for tool, values, ratio in _against_meshdev(tools, found, first=True):
        lines.append(f"| {tool.name} | {tool.note} | {summary(values)} | {ratio:.2f}x |")
    lines.append(f"| python agent.py | the floor: spawn → first line | {summary(floor)} | |")
    overhead = mesh - median(floor)
    lines += [
        "",
        f"meshdev's overhead = {mesh:.0f} ms - reload_delay 0 - bare interpreter start "
        f"{median(floor):.0f} ms = **{overhead:.0f} ms** (detection, stopping the old process "
        "group, and the runtime shim).",
        "",
    ]
    return lines


def _against_meshdev(
    tools: Sequence[Tool], found: dict[str, list[tuple[float, float]]], first: bool
) -> list[tuple[Tool, list[float], float]]:
    """Per tool: its (save -> first line) or (save -> ready) values, and its median's ratio to
    meshdev's."""
    pick = 0 if first else 1
    mesh = median([m[pick] for m in found["meshdev"]])
    rows = []
    for tool in tools:
        values = [m[pick] for m in found[tool.name]]
        rows.append((tool, values, median(values) / mesh if values else float("nan")))
    return rows


def figure_2(rounds: int, per_round: int) -> list[str]:
    names = ("meshdev", "meshdev (restart)", "watchfiles", "nodemon")
    tools = [t for t in TOOLS_COMPARED if t.name in names and available(t)]
    found = save_to_restart(rounds, per_round, heavy=True, tools=tools)
    floor = bare_start(rounds, heavy=True)
    lines = [
        "### 2. Save → ready, for an agent importing numpy, pydantic and httpx",
        "",
        "The number users feel: from the save to the line after the heavy imports "
        f"({rounds} rounds x {per_round} saves).",
        "",
        "| tool | save → ready | ratio to meshdev |",
        "| --- | --- | --- |",
    ]
    for tool, values, ratio in _against_meshdev(tools, found, first=False):
        lines.append(f"| {tool.name} | {summary(values)} | {ratio:.2f}x |")
    lines += [f"| python agent.py (spawn → ready) | {summary(floor)} | |", ""]
    return lines


def storm(tool: Tool, files: int) -> dict[str, object]:
    """Change `files` files at once (one of them imported by the agent)."""
    with tempfile.TemporaryDirectory() as folder:
        fixture = make_fixture(Path(folder))
        (fixture / "lib" / "gen").mkdir()
        marker = fixture / "marker.txt"
        with running(tool, fixture, marker) as proc:
            if wait_for(marker, lambda s: s.kind == "ready", timeout=60) is None:
                return {"ok": False}
            time.sleep(0.5)
            before = {s.pid for s in stamps(marker)}
            started = time.time()
            for i in range(files - 1):
                (fixture / "lib" / "gen" / f"m{i}.py").write_text(f"N = {i}\n")
            (fixture / "lib" / "used.py").write_text("X = 1\n")
            _settle(marker)
            after = [s for s in stamps(marker) if s.pid not in before]
            died = proc.poll() is not None
        restarts = len({s.pid for s in after if s.kind == "start"})
        readies = [s for s in after if s.kind == "ready"]
        last = readies[-1] if readies else None
    return {
        "ok": True,
        "restarts": restarts,
        "seconds": (last.at - started) if last else None,
        "post_storm_code": bool(last and last.value == "1"),
        "died": died,
    }


def _settle(marker: Path, quiet: float = 3.0, cap: float = 40.0) -> None:
    """Wait until no agent has started or become ready for `quiet` seconds."""
    deadline = time.monotonic() + cap
    count, last_change = len(stamps(marker)), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - last_change < quiet:
        time.sleep(0.1)
        now = len(stamps(marker))
        if now != count:
            count, last_change = now, time.monotonic()


def figure_4(rounds: int, files: int = 2000) -> list[str]:
    names = ("meshdev", "watchfiles", "nodemon")
    tools = [t for t in TOOLS_COMPARED if t.name in names and available(t)]
    results: dict[str, list[dict[str, object]]] = {t.name: [] for t in tools}
    for _ in range(rounds):
        for tool in tools:
            results[tool.name].append(storm(tool, files))
    lines = [
        f"### 4. A storm of {files:,} files changed at once",
        "",
        f"One of them is imported by the agent ({rounds} storms per tool, interleaved). Ideal: "
        "one restart, running the post-storm code.",
        "",
        "| tool | restarts per storm | until ready again | ran the post-storm code | tool died |",
        "| --- | --- | --- | --- | --- |",
    ]
    for tool in tools:
        runs = [r for r in results[tool.name] if r["ok"]]
        restarts = ", ".join(str(r["restarts"]) for r in runs)
        seconds = [float(r["seconds"]) * 1000 for r in runs if r["seconds"] is not None]
        post = sum(1 for r in runs if r["post_storm_code"])
        died = sum(1 for r in runs if r["died"])
        lines.append(
            f"| {tool.name} | {restarts} | {summary(seconds)} | {post} of {len(runs)} "
            f"| {died} of {len(runs)} |"
        )
    lines.append("")
    return lines


def interpreter() -> str:
    return subprocess.run([str(PYTHON), "--version"], capture_output=True, text=True).stdout.strip()
