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
ACTIVE_SAVES = 5


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
    marker = root / f"marker-{tool.name}.txt"
    started = time.time()
    with running(tool, root, marker) as proc:
        first = wait_for(marker, lambda s: s.kind == "start", timeout=120)
        for i in range(WARM_UP_SAVES):  # so that every later restart costs the same
            one_save(root, marker, i)
        time.sleep(settle)  # past meshdev's active period: its idle step applies
        cpu_before, wall_before = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(seconds)
        cpu = cpu_seconds(proc.pid) - cpu_before
        wall = time.monotonic() - wall_before
        paused = one_save(root, marker, 100)
        active = []
        for i in range(ACTIVE_SAVES):
            time.sleep(1.0)
            active.append(one_save(root, marker, 101 + i))
        return {
            "first_start_ms": (first.at - started) * 1000 if first else float("nan"),
            "cpu_s_per_min": cpu / wall * 60,
            "rss_mb": rss_mb(proc.pid),
            "watches": inotify_watches(proc.pid),
            "paused_ms": paused[0] if paused else float("nan"),
            "active_ms": median([a[0] for a in active if a]) if any(active) else float("nan"),
        }


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
        f"the agent; then save → the new process's first line for the first save after that "
        f"pause of {settle + seconds:.0f} s, against the median of {ACTIVE_SAVES} saves 1 s "
        f"apart right after it (after {WARM_UP_SAVES} saves at the start, so that every "
        "restart measured costs the same).",
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
