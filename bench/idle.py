"""Figure 3: the idle cost of watching a 20,000-file project that also holds a 20,000-file
node_modules/ and a 20,000-file .venv/ — meshdev against the watchfiles CLI on the same tree."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from harness import (
    Tool,
    cpu_seconds,
    inotify_watches,
    make_fixture,
    median,
    one_save,
    rss_mb,
    running,
    wait_for,
)

FILES = 20_000
PER_DIR = 20
WARM_UP_SAVES = 3
PAUSES = 5  # the first save after a pause is one sample per pause: five for a median
PAUSE_SECONDS = 36.0  # past meshdev's 30 s active period
AFTER_SAVES = 4.0  # of each pause, not counted as idle
ACTIVE_SAVES = 3


def make_tree(root: Path) -> None:
    make_fixture(root)
    for top, suffix in (("src", ".py"), ("node_modules", ".js"), (".venv/lib", ".py")):
        for d in range(FILES // PER_DIR):
            folder = root / top / f"d{d:04}"
            folder.mkdir(parents=True)
            for f in range(PER_DIR):
                (folder / f"f{f}{suffix}").write_text("x = 1\n")
    (root / ".venv" / "pyvenv.cfg").write_text("home = /usr\n")


def measure(tool: Tool, root: Path, seconds: float, settle: float) -> dict[str, float]:
    """Idle cost over `seconds` after `settle`, then PAUSES rounds of: a pause of PAUSE_SECONDS
    (its CPU counted too), one save, ACTIVE_SAVES saves 1 s apart."""
    marker = root / f"marker-{tool.name}.txt"
    started = time.time()
    with running(tool, root, marker) as proc:
        first = wait_for(marker, lambda s: s.kind == "start", timeout=120)
        for i in range(WARM_UP_SAVES):  # so that every later restart costs the same
            one_save(root, marker, i)
        time.sleep(settle)  # past meshdev's active period: its idle step applies
        cpu, wall = _cpu_over(proc.pid, seconds)
        paused: list[float] = []
        active: list[float] = []
        for round_ in range(PAUSES):
            time.sleep(AFTER_SAVES)  # the last reload's own work is not idle time
            more_cpu, more_wall = _cpu_over(proc.pid, PAUSE_SECONDS - AFTER_SAVES)
            cpu, wall = cpu + more_cpu, wall + more_wall
            paused += _first_lines([one_save(root, marker, 100 * (round_ + 1))])
            active += _first_lines(_active_saves(root, marker, 100 * (round_ + 1) + 1))
        return {
            "first_start_ms": (first.at - started) * 1000 if first else float("nan"),
            "cpu_s_per_min": cpu / wall * 60,
            "rss_mb": rss_mb(proc.pid),
            "watches": inotify_watches(proc.pid),
            "paused_ms": median(paused) if paused else float("nan"),
            "active_ms": median(active) if active else float("nan"),
        }


def _cpu_over(pid: int, seconds: float) -> tuple[float, float]:
    cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return cpu_seconds(pid) - cpu_before, time.monotonic() - wall_before


def _active_saves(root: Path, marker: Path, first: int) -> list[tuple[float, float] | None]:
    found = []
    for i in range(ACTIVE_SAVES):
        time.sleep(1.0)
        found.append(one_save(root, marker, first + i))
    return found


def _first_lines(saves: list[tuple[float, float] | None]) -> list[float]:
    return [save[0] for save in saves if save is not None]


def figure_3(seconds: float, settle: float = 32.0) -> list[str]:
    tools = [Tool("meshdev", ""), Tool("watchfiles", "")]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        make_tree(root)
        results = {tool.name: measure(tool, root, seconds, settle) for tool in tools}
    lines = [
        "### 3. Idle, watching 20,000 files beside a 20,000-file node_modules/ and .venv/",
        "",
        f"CPU of the watching process itself over {seconds:.0f} s of idling (after "
        f"{settle:.0f} s, once meshdev's active period is over), scaled to a minute; its "
        "resident memory; its inotify watches; the time from launch to the first line of "
        f"the agent; then {PAUSES} rounds of a {PAUSE_SECONDS:.0f} s pause (its CPU counted "
        f"too, from {AFTER_SAVES:.0f} s in), one save, and {ACTIVE_SAVES} saves 1 s apart: "
        "save → the new process's first line, medians, for the first save after a pause "
        "against those during activity (after "
        f"{WARM_UP_SAVES} saves at the start, so that every restart measured costs the same).",
        "",
        "| tool | CPU s / min | RSS | inotify watches | launch → first agent line "
        "| first save after the pause | a save during activity | ratio |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['cpu_s_per_min']:.3f} | {r['rss_mb']:.0f} MB | {r['watches']:,} | "
            f"{r['first_start_ms']:.0f} ms | {r['paused_ms']:.0f} ms | {r['active_ms']:.0f} ms "
            f"| {r['paused_ms'] / r['active_ms']:.2f}x |"
        )
    lines.append("")
    return lines
