"""What every benchmark needs: the compared tools as commands, a fixture whose agent stamps the
moment its first line runs, and process handling that never leaves anything behind.

Bench code, not part of the test suite. Measurement is by wall clock on one machine: a save is
stamped right before the write, the agent stamps `time.time()` as its first statement.
"""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
TOOLS = BENCH / ".tools"
PYTHON = TOOLS / "venv" / "bin" / "python"
NODEMON = TOOLS / "node" / "node_modules" / ".bin" / "nodemon"

# The first statement stamps the time and pid; HEAVY optionally imports what agents often use.
AGENT = """\
import os, time
open(os.environ["BENCH_MARKER"], "a").write(f"start {{time.time()}} {{os.getpid()}}\\n")
{heavy}
from lib import used
open(os.environ["BENCH_MARKER"], "a").write(f"ready {{time.time()}} {{os.getpid()}} {{used.X}}\\n")
{tail}
"""
LOOP = "while True:\n    time.sleep(3600)\n"
ASGI = (
    "async def app(scope, receive, send):\n"
    "    if scope['type'] == 'lifespan':\n"
    "        while True:\n"
    "            message = await receive()\n"
    "            if message['type'] == 'lifespan.startup':\n"
    "                await send({'type': 'lifespan.startup.complete'})\n"
    "            else:\n"
    "                await send({'type': 'lifespan.shutdown.complete'})\n"
    "                return\n"
)
HEAVY = "import numpy, pydantic, httpx"


@dataclass(frozen=True)
class Tool:
    name: str
    note: str  # its lowest debounce setting, said in one line
    env: tuple[tuple[str, str], ...] = ()  # what it runs with besides the bench's own variables

    def command(self, fixture: Path, port: int) -> list[str]:
        py = str(PYTHON)
        name = "meshdev" if self.name.startswith("meshdev") else self.name
        return {
            "meshdev": [
                py,
                "-m",
                "meshdev",
                "start",
                "agent.py",
                "--reload-delay",
                "0",
                "--plain",
                "--no-preserve-state",
            ],
            "watchfiles": [
                str(PYTHON.parent / "watchfiles"),
                "--filter",
                "python",
                f"{py} agent.py",
                ".",
            ],
            "hupper": [str(PYTHON.parent / "hupper"), "-m", "agent", "--reload-interval", "1"],
            "nodemon": [
                str(NODEMON),
                "--delay",
                "0",
                "--watch",
                ".",
                "--ext",
                "py",
                "--exec",
                f"{py} agent.py",
            ],
            "uvicorn": [
                str(PYTHON.parent / "uvicorn"),
                "agent:app",
                "--reload",
                "--reload-delay",
                "0.05",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            "bare": [py, "agent.py"],
        }[name]


TOOLS_COMPARED = [
    Tool("meshdev", "--reload-delay 0"),
    Tool(
        "meshdev (restart)",
        "--reload-delay 0, MESHDEV_RELOAD_STRATEGY=restart: a fresh interpreter every time",
        (("MESHDEV_RELOAD_STRATEGY", "restart"),),
    ),
    Tool("watchfiles", "CLI; groups events until 50 ms of quiet (not settable)"),
    Tool("nodemon", "--delay 0"),
    Tool("uvicorn", "--reload --reload-delay 0.05 (ASGI app)"),
    Tool("hupper", "--reload-interval 1, its lowest (polling)"),
]


def available(tool: Tool) -> bool:
    return tool.name != "nodemon" or NODEMON.exists()


def make_fixture(folder: Path, heavy: bool = False, asgi: bool = False) -> Path:
    (folder / "lib").mkdir(parents=True, exist_ok=True)
    (folder / "lib" / "__init__.py").write_text("")
    (folder / "lib" / "used.py").write_text("X = 0\n")
    tail = ASGI if asgi else LOOP
    (folder / "agent.py").write_text(AGENT.format(heavy=HEAVY if heavy else "", tail=tail))
    return folder


@dataclass(frozen=True)
class Stamp:
    kind: str  # start | ready
    at: float
    pid: int
    value: str


def stamps(marker: Path) -> list[Stamp]:
    try:
        lines = marker.read_text().splitlines()
    except FileNotFoundError:
        return []
    found = []
    for line in lines:
        parts = line.split()
        if len(parts) >= 3:
            found.append(Stamp(parts[0], float(parts[1]), int(parts[2]), " ".join(parts[3:])))
    return found


def wait_for(marker: Path, predicate: object, timeout: float = 30.0) -> Stamp | None:
    """The first stamp matching `predicate`, polling until `timeout`."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for stamp in stamps(marker):
            if predicate(stamp):
                return stamp
        time.sleep(0.002)
    return None


@contextlib.contextmanager
def running(
    tool: Tool,
    fixture: Path,
    marker: Path,
    port: int = 8765,
    extra_env: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """The tool running on the fixture; everything it started is killed afterwards."""
    env = {**os.environ, "BENCH_MARKER": str(marker), "NO_COLOR": "1", **dict(tool.env)}
    env.update(extra_env or {})
    env["PATH"] = f"{PYTHON.parent}:{env.get('PATH', '')}"
    proc = detached(tool.command(fixture, port), fixture, env)
    try:
        yield proc
    finally:
        stop(proc, [s.pid for s in stamps(marker)])


def detached(argv: Sequence[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A command in a session of its own, without a terminal: `stop` ends it and its agents."""
    return subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen[bytes], pids: Sequence[int]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    for pid in [proc.pid, *pids]:  # agents in sessions of their own included
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def summary(values_ms: Sequence[float]) -> str:
    if not values_ms:
        return "n/a"
    return f"{statistics.median(values_ms):.0f} ms ({min(values_ms):.0f}-{max(values_ms):.0f})"


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads included (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident memory now, or with `field="VmHWM"` its peak so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def inotify_watches(pid: int) -> int:
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        with contextlib.suppress(OSError):
            text = Path(f"/proc/{pid}/fdinfo/{fd}").read_text()
            count += text.count("inotify wd:")
    return count


def python_version() -> str:
    return sys.version.split()[0]


def one_save(fixture: Path, marker: Path, i: int) -> tuple[float, float] | None:
    """(save -> first line, save -> ready) in ms for one save of the fixture's agent.py."""
    before = {s.pid for s in stamps(marker)}
    saved = time.time()
    with (fixture / "agent.py").open("a") as handle:
        handle.write(f"# save {i}\n")
    first = wait_for(marker, lambda s: s.kind == "start" and s.pid not in before, timeout=20)
    if first is None:
        return None
    ready = wait_for(marker, lambda s: s.kind == "ready" and s.pid == first.pid, timeout=20)
    if ready is None:
        return None
    return (first.at - saved) * 1000, (ready.at - saved) * 1000
