"""Figure 5: 50 agents. One shared module edited -> only its importers restart; the time meshdev
takes to decide what to restart; meshdev's memory; and the per-agent cost of the runtime shim
(start time and memory against a plain `python agent.py`)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from harness import PYTHON, Tool, median, rss_mb, running, stamps, summary

AGENTS = 50
IMPORTERS = 10  # of them import lib/special.py

SCALE_AGENT = """\
import os, time
open(os.environ["BENCH_MARKER"], "a").write(f"start {{time.time()}} {{os.getpid()}} {name}\\n")
from lib import shared
{extra}
if __name__ == "__main__":
    while True:
        time.sleep(3600)
"""


def make_mesh(root: Path) -> None:
    (root / "agents").mkdir()
    (root / "lib").mkdir()
    (root / "lib" / "__init__.py").write_text("")
    (root / "lib" / "shared.py").write_text("X = 1\n")
    (root / "lib" / "special.py").write_text("Y = 1\n")
    for i in range(AGENTS):
        extra = "from lib import special" if i < IMPORTERS else ""
        text = SCALE_AGENT.format(name=f"a{i:02}", extra=extra)
        (root / "agents" / f"a{i:02}.py").write_text(text)


class _Meshdev(Tool):
    def command(self, fixture: Path, port: int) -> list[str]:
        return [
            str(PYTHON),
            "-m",
            "meshdev",
            "start",
            "agents",
            "--reload-delay",
            "0",
            "--plain",
            "--events",
            str(fixture / "events.jsonl"),
        ]


def decision_ms(root: Path) -> list[float]:
    """Time make_plan over the real 50-agent project (static pictures), in meshdev's own code."""
    code = f"""
import time, json
from pathlib import Path
from meshdev.project.project import load_project
from meshdev.project.settings import Flags
from meshdev.decide.explain import closures
from meshdev.decide.changes import Surroundings, classify
from meshdev.decide.dependencies import DependencyIndex
from meshdev.decide.plan import make_plan
root = Path({str(root)!r})
project = load_project([root / "agents"], None, {{}}, Flags(), root)
index = DependencyIndex({{n: c.files for n, c in closures(project).items()}})
names = project.discovery.names()
times = []
for _ in range(200):
    t = time.perf_counter()
    where = Surroundings(project.rules, index, project.discovery.scanned_dirs)
    plan = make_plan([classify(root / "lib" / "special.py", where)], names, names)
    times.append((time.perf_counter() - t) * 1000)
print(json.dumps({{"times": times, "restart": sorted(plan.restart)}}))
"""
    out = subprocess.run([str(PYTHON), "-c", code], capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    assert len(data["restart"]) == IMPORTERS, data["restart"]
    return list(data["times"])


def bare_agent(root: Path, runs: int) -> tuple[list[float], float]:
    """Plain `python agent.py`: spawn -> first line, and the idle agent's memory."""
    times, rss = [], float("nan")
    env = {**os.environ, "BENCH_MARKER": str(root / "bare-marker.txt"), "PYTHONPATH": str(root)}
    for _ in range(runs):
        proc = subprocess.Popen([str(PYTHON), str(root / "agents" / "a49.py")], cwd=root, env=env)
        started = time.time()  # after the spawn returned, as meshdev's agent_started event is
        while not [s for s in stamps(root / "bare-marker.txt") if s.pid == proc.pid]:
            time.sleep(0.001)
        first = next(s for s in stamps(root / "bare-marker.txt") if s.pid == proc.pid)
        times.append((first.at - started) * 1000)
        time.sleep(0.3)
        rss = rss_mb(proc.pid)
        proc.kill()
        proc.wait()
    return times, rss


def figure_5() -> list[str]:
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as folder:
        root = Path(folder)
        make_mesh(root)
        marker = root / "marker.txt"
        # Fresh starts: the figure is the runtime shim's cost over a plain interpreter start.
        fresh = _Meshdev("meshdev", "", (("MESHDEV_RELOAD_STRATEGY", "restart"),))
        with running(fresh, root, marker) as proc:
            all_up = _wait_count(marker, AGENTS)
            time.sleep(1.5)
            first = {s.value: s.pid for s in stamps(marker)}
            mesh_rss = rss_mb(proc.pid)
            agent_rss = statistics.median(rss_mb(pid) for pid in list(first.values())[:10])
            before = len(stamps(marker))
            (root / "lib" / "special.py").write_text("Y = 2\n")
            _wait_count(marker, before + IMPORTERS)
            time.sleep(1.5)
            restarted = sorted({s.value for s in stamps(marker)[before:]})
            spawn_to_line = _single_restarts(root, marker, "a49", 10)
        bare_times, bare_rss = bare_agent(root, 15)
        decisions = decision_ms(root)
    shim_ms = median(spawn_to_line) - median(bare_times)
    return [
        f"### 5. Scale: {AGENTS} agents",
        "",
        f"{IMPORTERS} of the {AGENTS} agents import `lib/special.py`; it is edited once.",
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| agents restarted by the edit | {len(restarted)} ({', '.join(restarted[:3])}, ...) "
        f"— exactly the {IMPORTERS} importers |",
        f"| time to decide what to restart (make_plan, median of 200) | "
        f"{median(decisions):.3f} ms (max {max(decisions):.3f}) |",
        f"| all {AGENTS} agents up after launch | {all_up:.1f} s |",
        f"| meshdev's own memory with {AGENTS} agents | {mesh_rss:.0f} MB |",
        f"| agent spawn → first line, under meshdev (one restart at a time) | "
        f"{summary(spawn_to_line)} |",
        f"| agent spawn → first line, plain `python agent.py` | {summary(bare_times)} |",
        f"| runtime shim: start time per agent | **{shim_ms:.1f} ms** |",
        f"| runtime shim: memory per agent | **{agent_rss - bare_rss:.1f} MB** "
        f"({agent_rss:.1f} MB under meshdev, {bare_rss:.1f} MB plain) |",
        "",
    ]


def _wait_count(marker: Path, count: int, timeout: float = 120.0) -> float:
    started = time.monotonic()
    while len(stamps(marker)) < count and time.monotonic() - started < timeout:
        time.sleep(0.02)
    return time.monotonic() - started


def _single_restarts(root: Path, marker: Path, agent: str, count: int) -> list[float]:
    """Restart one agent at a time (`meshdev reload NAME`): its spawn -> first line."""
    for _ in range(count):
        before = len(stamps(marker))
        subprocess.run(
            [str(PYTHON), "-m", "meshdev", "reload", agent],
            cwd=root,
            capture_output=True,
            timeout=30,
            check=True,
        )
        _wait_count(marker, before + 1)
        time.sleep(0.2)
    times = _spawn_to_first_line(root, marker)
    return times[-count:]


def _spawn_to_first_line(root: Path, marker: Path) -> list[float]:
    """From meshdev's agent_started event (right after the spawn) to the agent's first line."""
    events = [json.loads(line) for line in (root / "events.jsonl").read_text().splitlines()]
    # By agent and time, not pid: the pid meshdev reports is the agent's keeper (its parent).
    starts: dict[str, list[float]] = {}
    for event in events:
        if event["event"] == "agent_started":
            starts.setdefault(event["agent"], []).append(event["ts"])
    found = []
    for stamp in stamps(marker):
        before = [at for at in starts.get(stamp.value, []) if at <= stamp.at]
        if before:
            found.append((stamp.at - max(before)) * 1000)
    return found
