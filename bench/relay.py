"""Figure 12: relaying agents' output — throughput of 100-byte lines, meshdev's memory with a
line that never ends, and meshdev's CPU per line of a chatty server.

Run alone with `python bench/relay.py [--rounds N]`; `bench/run.py` includes it. Every tool's
output goes to /dev/null, so the figures are the relay's own, not a terminal's.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from harness import PYTHON, Tool, cpu_seconds, median, rss_mb, running, wait_for
from startup import Launch

MB = 1_000_000
THROUGHPUT_BYTES = 50 * MB
LONG_LINE_BYTES = 200 * MB
CHATTY_LINES = 20_000

# Each agent stamps its phases in BENCH_MARKER ("start", "ready", "done"), and waits for the
# bench's go-files where the bench must look in between.
PRELUDE = """\
import os, sys, time
MARKER = os.environ["BENCH_MARKER"]
def stamp(kind):
    with open(MARKER, "a") as f:
        f.write(f"{kind} {time.time()} {os.getpid()}\\n")
def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
def wait_go(name):
    while not os.path.exists(name):
        time.sleep(0.01)
"""
# 100-byte lines as fast as the agent can, handed to the kernel 64 KiB at a time.
THROUGHPUT = (
    PRELUDE
    + f"""\
chunk = (b"x" * 99 + b"\\n") * 655
total = 0
stamp("start")
while total < {THROUGHPUT_BYTES}:
    write_all(1, chunk)
    total += len(chunk)
stamp("ready")
time.sleep(3600)
"""
)
# A 200 MB line without a newline (1 MiB writes), then the newline.
LONG_LINE = (
    PRELUDE
    + f"""\
stamp("start")
wait_go("go-line")
piece = b"y" * (1 << 20)
for _ in range({LONG_LINE_BYTES} // len(piece)):
    write_all(1, piece)
stamp("ready")
wait_go("go-newline")
write_all(1, b"\\n")
stamp("done")
time.sleep(3600)
"""
)
# A chatty server: one log line per write on stderr, as a logging handler writes it.
CHATTY_LINE = (
    b"2026-12-02 12:00:00,000 INFO mcp.server: Processing request of type CallToolRequest\n"
)
CHATTY = (
    PRELUDE
    + f"""\
line = {CHATTY_LINE!r}
stamp("start")
wait_go("go-chat")
stamp("ready")
for i in range({CHATTY_LINES}):
    write_all(2, line)
    if i % 20 == 19:
        time.sleep(0.001)
stamp("done")
time.sleep(3600)
"""
)

MESHDEV = Tool("meshdev", "start agent.py --plain")
PIPE = Launch(
    "pipe",
    "`python agent.py \\| cat > /dev/null`: a pipe and a do-nothing reader: any relay's floor",
    argv=("sh", "-c", f"exec {PYTHON} agent.py | cat > /dev/null"),
)
WATCHFILES = Tool("watchfiles", "CLI: the agent inherits its stdout (no relay)")


def _fixture(folder: Path, source: str) -> Path:
    """`folder` holding the agent, with no marker or go-files left: the marker's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "agent.py").write_text(source)
    marker = folder / "marker.txt"
    marker.unlink(missing_ok=True)
    for go in folder.glob("go-*"):
        go.unlink()
    return marker


def _stamp_at(marker: Path, kind: str, timeout: float = 120.0) -> float | None:
    found = wait_for(marker, lambda s: s.kind == kind, timeout=timeout)
    return None if found is None else found.at


def throughput(tool: Tool, folder: Path) -> float | None:
    """MB/s of 100-byte lines through the tool to /dev/null."""
    marker = _fixture(folder, THROUGHPUT)
    with running(tool, folder, marker):
        started, ended = _stamp_at(marker, "start"), _stamp_at(marker, "ready")
    if started is None or ended is None:
        return None
    return THROUGHPUT_BYTES / MB / (ended - started)


def long_line(folder: Path) -> dict[str, float] | None:
    """meshdev's RSS before, with a 200 MB line open, after its newline, and its peak."""
    marker = _fixture(folder, LONG_LINE)
    with running(MESHDEV, folder, marker) as proc:
        if _stamp_at(marker, "start") is None:
            return None
        time.sleep(0.5)  # meshdev's own start-up is over
        before = rss_mb(proc.pid)
        (folder / "go-line").touch()
        if _stamp_at(marker, "ready") is None:
            return None
        open_line = rss_mb(proc.pid)
        (folder / "go-newline").touch()
        if _stamp_at(marker, "done") is None:
            return None
        time.sleep(0.5)  # the line's last pieces relayed
        return {
            "before": before,
            "open": open_line,
            "after": rss_mb(proc.pid),
            "peak": rss_mb(proc.pid, "VmHWM"),
        }


def cpu_per_line(folder: Path) -> float | None:
    """µs of meshdev's CPU per relayed line of a chatty server (its idle CPU over the same time
    taken off)."""
    marker = _fixture(folder, CHATTY)
    with running(MESHDEV, folder, marker) as proc:
        if _stamp_at(marker, "start") is None:
            return None
        time.sleep(1.0)  # meshdev's own start-up is over
        idle_cpu, idle_from = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(1.0)
        idle_rate = (cpu_seconds(proc.pid) - idle_cpu) / (time.monotonic() - idle_from)
        before, began = cpu_seconds(proc.pid), time.monotonic()
        (folder / "go-chat").touch()
        if _stamp_at(marker, "done") is None:
            return None
        time.sleep(0.3)  # the last lines relayed
        used = cpu_seconds(proc.pid) - before - idle_rate * (time.monotonic() - began)
    return used / CHATTY_LINES * 1e6


def figure_12(rounds: int = 3) -> list[str]:
    rates: dict[str, list[float]] = {t.name: [] for t in (PIPE, MESHDEV, WATCHFILES)}
    lines: list[dict[str, float]] = []
    cpu: list[float] = []
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        for round_ in range(rounds):
            for tool in (PIPE, MESHDEV, WATCHFILES):
                rate = throughput(tool, root / f"t{round_}-{tool.name}")
                if rate is not None:
                    rates[tool.name].append(rate)
            found = long_line(root / f"l{round_}")
            if found is not None:
                lines.append(found)
            per_line = cpu_per_line(root / f"c{round_}")
            if per_line is not None:
                cpu.append(per_line)
    return _table(rounds, rates, lines, cpu)


def _table(
    rounds: int, rates: dict[str, list[float]], lines: list[dict[str, float]], cpu: list[float]
) -> list[str]:
    def rate(name: str) -> str:
        values = rates[name]
        return (
            f"{median(values):.0f} MB/s ({min(values):.0f}-{max(values):.0f})" if values else "n/a"
        )

    def mem(key: str) -> str:
        return f"{median([found[key] for found in lines]):.0f} MB" if lines else "n/a"

    floor = median(rates["pipe"])
    ratio = median(rates["meshdev"]) / floor if rates["meshdev"] and floor else float("nan")
    return [
        "### 12. Output relay",
        "",
        f"Medians of {rounds} rounds (min-max), tools interleaved; every tool's output to "
        f"/dev/null. Throughput: {THROUGHPUT_BYTES // MB} MB of 100-byte lines, written 64 KiB "
        "at a time, from the agent's first write to its last one returning. Memory: meshdev's "
        f"RSS while an agent holds a {LONG_LINE_BYTES // MB} MB line open (no newline yet), "
        f"then after the newline. CPU: {CHATTY_LINES:,} log lines of {len(CHATTY_LINE)} bytes on "
        "stderr, one "
        "write each (as a logging handler writes), meshdev's CPU time per line, its idle CPU "
        "taken off.",
        "",
        "| tool | setting | 100-byte lines |",
        "| --- | --- | --- |",
        f"| a pipe | {PIPE.note} | {rate('pipe')} |",
        f"| meshdev | {MESHDEV.note}: relayed with its `name \\|` prefix | {rate('meshdev')} |",
        f"| watchfiles | {WATCHFILES.note} | {rate('watchfiles')} |",
        "",
        f"meshdev relays at **{ratio:.2f}x** the rate of a bare pipe (target: ≥ 30 MB/s).",
        "",
        "| meshdev with a 200 MB line | RSS |",
        "| --- | --- |",
        f"| before | {mem('before')} |",
        f"| the line open | {mem('open')} |",
        f"| after its newline | {mem('after')} |",
        f"| peak (VmHWM) | {mem('peak')} |",
        "",
        f"A chatty server's line costs meshdev **{median(cpu):.0f} µs** of CPU "
        f"({min(cpu):.0f}-{max(cpu):.0f})."
        if cpu
        else "CPU per line: n/a.",
        "",
    ]


def main() -> None:
    from mcp_front import reset_signals

    reset_signals()  # figures must not depend on how the runner was started
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"tools from {PYTHON.parent}", file=sys.stderr)
    print("\n".join(figure_12(args.rounds)), flush=True)


if __name__ == "__main__":
    main()
