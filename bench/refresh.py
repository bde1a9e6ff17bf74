"""Figure 10: reload_strategy refresh against a warm and a fresh restart, in the same run.

An agent imports a 1,000-line project module and a third-party package; each save rewrites that
module with a new VERSION. Measured: from the write to the first moment the agent runs the new
code (refresh: its loop sees the new value; a restart: the new process's first line), with
`reload_delay` 50 ms; the figure that matters is what comes after that quiet time. Standalone:
`python bench/refresh.py [--rounds N]`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from harness import detached, stop
from mcp_front import reset_signals

STRATEGIES = ("refresh", "warm", "restart")
QUIET_MS = 50
AGENT = """\
import os, time
import {heavy}
from lib import big

import meshdev

MARK = os.environ["BENCH_MARKER"]


def note(kind):
    with open(MARK, "a") as out:
        out.write(f"{{kind}} {{time.time()}} {{os.getpid()}} {{big.VERSION}}\\n")


if __name__ == "__main__":
    note("start")
    meshdev.ready()
    seen = big.VERSION
    while True:
        if big.VERSION != seen:  # refreshed in place: the same process runs the new module
            seen = big.VERSION
            note("new")
        time.sleep(0.0005)
"""


def big_module(version: int) -> str:
    """1,000 lines: a VERSION and 333 small functions."""
    body = "".join(f"def f{i}(x):\n    return x * {i} + VERSION\n\n" for i in range(333))
    return f"VERSION = {version}\n" + body


def python() -> str:
    return sys.executable  # run.sh runs the bench in its venv, where this checkout is installed


def heavy_import() -> str:
    probe = subprocess.run([python(), "-c", "import pydantic"], capture_output=True)
    return "pydantic" if probe.returncode == 0 else "json, asyncio, email.parser"


@contextlib.contextmanager
def running(folder: Path, strategy: str) -> Iterator[tuple[Path, Path]]:
    marker, events = folder / "marks.txt", folder / "events.jsonl"
    for stale in (marker, events):
        stale.unlink(missing_ok=True)
    env = {**os.environ, "BENCH_MARKER": str(marker), "MESHDEV_RELOAD_STRATEGY": strategy}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode is written, as on users' machines
    args = [
        python(),
        "-m",
        "meshdev",
        "start",
        "agents",
        "--plain",
        "--reload-delay",
        str(QUIET_MS),
    ]
    proc = detached([*args, "--events", str(events)], folder, env)
    try:
        yield marker, events
    finally:
        stop(proc, [int(line.split()[2]) for line in _lines(marker)])


def _lines(marker: Path) -> list[str]:
    with contextlib.suppress(FileNotFoundError):
        return [line for line in marker.read_text().splitlines() if line.count(" ") == 3]
    return []


def wait_version(marker: Path, version: int, timeout: float = 30) -> tuple[float, int] | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in _lines(marker):
            _, at, pid, seen = line.split()
            if int(seen) == version:
                return float(at), int(pid)
        time.sleep(0.001)
    return None


def one_strategy(folder: Path, strategy: str, saves: int, base: int) -> list[tuple[float, bool]]:
    """(write -> new code in ms, the same pid as before) for each save."""
    (folder / "lib/big.py").write_text(big_module(base))
    found: list[tuple[float, bool]] = []
    with running(folder, strategy) as (marker, _):
        first = wait_version(marker, base)
        if first is None:
            return found
        pid = first[1]
        time.sleep(1.5)  # past the first watch's settling, as a user would be
        for i in range(1, saves + 1):
            version = base + i
            written = time.time()
            (folder / "lib/big.py").write_text(big_module(version))
            seen = wait_version(marker, version)
            if seen is not None:
                found.append(((seen[0] - written) * 1000, seen[1] == pid))
                pid = seen[1]
            time.sleep(0.3)
    return found


def swap_ms(folder: Path) -> list[float]:
    events = folder / "events.jsonl"
    lines = events.read_text().splitlines() if events.exists() else []
    told = [json.loads(line) for line in lines]
    return [e["seconds"] * 1000 for e in told if e["event"] == "agent_refreshed"]


def figure_10(rounds: int = 5, saves: int = 4) -> list[str]:
    results: dict[str, list[tuple[float, bool]]] = {s: [] for s in STRATEGIES}
    swaps: list[float] = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        folder = Path(tmp)
        (folder / "lib").mkdir()
        (folder / "lib/__init__.py").write_text("")
        (folder / "agents").mkdir()
        (folder / "agents/bot.py").write_text(AGENT.format(heavy=heavy_import()))
        base = 0
        for _ in range(rounds):
            for strategy in STRATEGIES:
                base += 100
                results[strategy] += one_strategy(folder, strategy, saves, base)
                if strategy == "refresh":
                    swaps += swap_ms(folder)
    return _table(results, swaps, rounds, saves)


def _table(
    results: dict[str, list[tuple[float, bool]]], swaps: list[float], rounds: int, saves: int
) -> list[str]:
    refresh = [ms for ms, _ in results["refresh"]]
    floor = statistics.median(refresh) if refresh else float("nan")
    lines = [
        "### 10. Refresh: a 1,000-line module changed, the new code running",
        "",
        f"From the write of the module to the agent running its new code ({rounds} rounds x "
        f"{saves} saves per strategy, strategies interleaved round by round; reload_delay "
        f"{QUIET_MS} ms, so the column after it is what follows the quiet time). The agent also "
        "imports a third-party package.",
        "",
        "| strategy | write → new code | after the quiet time | ratio to refresh | same pid |",
        "| --- | --- | --- | --- | --- |",
    ]
    for strategy in STRATEGIES:
        values = [ms for ms, _ in results[strategy]]
        same = sum(1 for _, kept in results[strategy] if kept)
        if not values:
            lines.append(f"| {strategy} | n/a | | | |")
            continue
        shown = f"{statistics.median(values):.0f} ms ({min(values):.0f}-{max(values):.0f})"
        ratio = statistics.median(values) / floor
        after = f"{statistics.median(values) - QUIET_MS:.0f} ms"
        lines.append(f"| {strategy} | {shown} | {after} | {ratio:.2f}x | {same} of {len(values)} |")
    if swaps:
        swap = f"{statistics.median(swaps):.1f} ms ({min(swaps):.1f}-{max(swaps):.1f})"
        lines += ["", f"The swap itself, inside the agent (reload and re-bind): {swap}."]
    return [*lines, ""]


def main() -> None:
    reset_signals()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--saves", type=int, default=4)
    args = parser.parse_args()
    print("\n".join(figure_10(args.rounds, args.saves)))


if __name__ == "__main__":
    main()
