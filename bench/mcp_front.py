"""Figure 7: the MCP front. A real MCP client (the official SDK) against a real MCP server (the
SDK's own server class) on stdio, directly and through `meshdev mcp server.py`: the latency each
call pays for going through meshdev, and what a client calling every 20 ms sees of a reload —
meshdev beside the watchfiles CLI and mcpmon, which restart the server under the same pipes, and
mcpmon's gateway, which relays to a server of its own.

Bench code, not part of the test suite. Every figure runs from a temporary project folder holding
a `.meshwatch` (reload_delay: 50); the tools are the ones installed beside the interpreter running
this (bench/.tools/venv under bench/run.sh); a tool that is not installed is left out with a note.

Usage: python bench/mcp_front.py [--reloads N] [--rounds N] [--calls N]  (all: bench/run.sh)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import itertools
import math
import os
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from harness import cpu_seconds, median, stamps

PYTHON = Path(sys.executable)  # not resolved: a venv's python is a link into the base install
BIN = PYTHON.parent
MESHWATCH = "reload_delay: 50\n"
SERVER = '''\
import os, time
open(os.environ["BENCH_MARKER"], "a").write(f"start {time.time()} {os.getpid()}\\n")
from mcp.server.mcpserver import MCPServer

VERSION = 1
server = MCPServer("bench")


@server.tool()
def version() -> int:
    """The version of this code: the bench's edit bumps it."""
    return VERSION


if __name__ == "__main__":
    server.run()
'''
WARMUP = 50  # calls before the latency is measured
BLOCK = 50  # latency: calls to one tool in a row, then the next tool's (the order rotating)
EVERY = 0.02  # the reload client's pause between calls
CALL_TIMEOUT = 5.0  # a call not answered by then is abandoned, and counted as failed
CAP = 6.0  # edit -> new code: past this, "never" (a server starts in ~1.5 s here)
TAIL = 0.3  # calls go on this long after the new code answered: failures after it count too
START_TIMEOUT = 30.0
LIST_CHANGED = "notifications/tools/list_changed"
# mcpmon's gateway mode: its config file, one server. With one server its tools keep their names
# (with two or more they become `server::version`); it watches `watch:` for `extensions:`.
GATEWAY = f"servers:\n  server:\n    command: '{PYTHON}'\n    args: [server.py]\n    watch: .\n"


@dataclass(frozen=True)
class Front:
    """How a client's server command is written for one tool."""

    name: str
    note: str  # its setting, for the reload
    path: str  # what stands between client and server, for the latency
    files: tuple[tuple[str, str], ...] = ()  # (name, text) written into its project folder

    def command(self) -> list[str]:
        py = str(PYTHON)
        return {
            "direct": [py, "server.py"],
            "meshdev": [py, "-m", "meshdev", "mcp", "server.py"],
            "watchfiles": [str(BIN / "watchfiles"), "--filter", "python", f"{py} server.py", "."],
            "mcpmon": [str(BIN / "mcpmon"), "--watch", ".", "--", py, "server.py"],
            "mcpmon gateway": [str(BIN / "mcpmon"), "--config", ".mcpmon.yaml"],
        }[self.name]

    def missing(self) -> str | None:
        """Why this tool cannot run here, or None."""
        if self.name == "meshdev":
            return None if importlib.util.find_spec("meshdev") else "meshdev is not importable"
        tool = Path(self.command()[0])
        if not tool.exists():
            return f"{tool.name} is not installed beside {PYTHON} (bash bench/install_tools.sh)"
        return None


DIRECT = Front("direct", "", "`python server.py`: nothing, the floor")
FRONTS = [
    Front(
        "meshdev",
        "`meshdev mcp server.py`, reload_delay: 50",
        "meshdev's front: every message decoded and tracked, passed on as it came when unchanged",
    ),
    Front(
        "watchfiles",
        "CLI `watchfiles --filter python 'python server.py' .`",
        "nothing: the server inherits the client's pipes (a second direct measurement)",
    ),
    Front(
        "mcpmon",
        "`mcpmon --watch . -- python server.py` (single server)",
        "stdin inherited; stdout relayed line by line by a thread",
    ),
    Front(
        "mcpmon gateway",
        "`mcpmon --config .mcpmon.yaml` (gateway mode), one server: `python server.py`, watch: .",
        "a client and server of its own: initialize answered by itself, one request at a time, "
        "its stdin read by a thread and polled every 10 ms",
        files=((".mcpmon.yaml", GATEWAY),),
    ),
]


def reset_signals() -> None:
    """Children of the bench start with default dispositions however the bench was started (a
    shell's `&` or a CI runner may hand it SIGINT ignored, which every child would inherit).
    SIGINT gets Python's default handler, which a child sees as SIG_DFL and which keeps Ctrl-C
    running the clean-ups; SIGTERM gets SIG_DFL."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _sdk() -> SimpleNamespace | None:
    """The MCP SDK, or None when it is not installed."""
    try:
        from mcp import ClientSession, StdioServerParameters
        from mcp.client.stdio import stdio_client
    except ImportError:
        return None
    return SimpleNamespace(
        ClientSession=ClientSession, StdioServerParameters=StdioServerParameters, stdio=stdio_client
    )


# -- a project, a session, and stopping everything it started ---------------------------------


@contextlib.contextmanager
def project(front: Front) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for name, text in ((".meshwatch", MESHWATCH), ("server.py", SERVER), *front.files):
            (root / name).write_text(text)
        yield root


@dataclass
class Connection:
    session: Any
    marker: Path
    tool_pids: set[int]  # the server command's process (the tool's, or the server's itself)
    startup: float = 0.0  # s, spawning the server command -> its answer to initialize
    notes: list[str] = field(default_factory=list)  # notification methods the client received
    stop: list[str] = field(default_factory=list)  # "needed SIGKILL" when SIGTERM did not do


@contextlib.asynccontextmanager
async def connected(sdk: SimpleNamespace, front: Front, root: Path) -> AsyncIterator[Connection]:
    """An initialised client session whose server command is `front`'s; afterwards the tool's
    process group and every server process it started are stopped."""
    marker = root / "marker.txt"
    params = sdk.StdioServerParameters(
        command=front.command()[0],
        args=front.command()[1:],
        cwd=str(root),
        env={**os.environ, "BENCH_MARKER": str(marker), "NO_COLOR": "1"},
    )
    notes: list[str] = []

    async def on_message(message: Any) -> None:
        method = getattr(getattr(message, "root", message), "method", None)
        if isinstance(method, str):
            notes.append(method)

    before = _children()
    pids: set[int] = set()
    with (root / "stderr.log").open("w") as errlog:
        try:
            spawned = time.perf_counter()
            async with sdk.stdio(params, errlog=errlog) as (read, write):
                pids = _children() - before  # the tool: in a session of its own (the SDK's)
                async with sdk.ClientSession(read, write, message_handler=on_message) as session:
                    connection = Connection(session, marker, pids, notes=notes)
                    await asyncio.wait_for(session.initialize(), START_TIMEOUT)
                    connection.startup = time.perf_counter() - spawned
                    try:
                        yield connection
                    finally:  # before the SDK's own shutdown, which waits for an exit
                        connection.stop += _stop(pids, marker)
        finally:
            _stop(pids, marker)


def _children() -> set[int]:
    """Pids whose parent is this process (Linux /proc)."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
                if int(fields[1]) == os.getpid():
                    found.add(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _signal_all(pids: Sequence[int], sig: signal.Signals) -> None:
    for pid in pids:  # its group (the tool's, or a server's own session), then itself
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _stop(tools: set[int], marker: Path, grace: float = 3.0) -> list[str]:
    """SIGTERM to the tool's process group, SIGKILL to whatever is left after `grace`, servers
    in sessions of their own included. Says so when SIGKILL was needed."""
    pids = sorted(tools | {s.pid for s in stamps(marker)})
    if not pids:
        return []
    _signal_all(sorted(tools), signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.01)
    left = [p for p in pids if _alive(p)]
    _signal_all(pids, signal.SIGKILL)
    return [f"still running {grace:.0f} s after SIGTERM: needed SIGKILL"] if left else []


# -- 1. latency -------------------------------------------------------------------------------


@dataclass
class LatencyRound:
    times: dict[str, list[float]] = field(default_factory=dict)  # ms per call, by tool
    cpu: dict[str, float] = field(default_factory=dict)  # s of CPU of the tool's own process
    wall: dict[str, float] = field(default_factory=dict)  # s its calls took
    startup: dict[str, float] = field(default_factory=dict)  # ms, launch -> initialize answered


async def _latency_round(
    sdk: SimpleNamespace, tools: Sequence[Front], calls: int, notes: list[str]
) -> LatencyRound:
    """Every tool's session open at once, then `calls` calls to each, BLOCK in a row to one tool
    and then to the next, the order rotating: a tool returning a constant, its round trip in ms,
    and the CPU its own process (not the server) spent over them. Also each one's launch ->
    answer to initialize (the sessions start one after the other)."""
    found = LatencyRound()
    async with contextlib.AsyncExitStack() as stack:
        open_: list[tuple[Front, Connection]] = []
        for tool in tools:
            try:
                root = stack.enter_context(project(tool))
                c = await stack.enter_async_context(connected(sdk, tool, root))
                for _ in range(WARMUP):
                    await c.session.call_tool("version", {})
            except Exception as exc:  # a session that broke is a finding, not the end of the run
                notes.append(f"- {tool.name}: a latency session failed to start: {exc!r}")
                continue
            open_.append((tool, c))
            found.times[tool.name], found.cpu[tool.name], found.wall[tool.name] = [], 0.0, 0.0
            found.startup[tool.name] = c.startup * 1000
        totals = {t.name: (_cpu(c), time.perf_counter()) for t, c in open_}
        for block in range(math.ceil(calls / BLOCK)):
            count = min(calls, (block + 1) * BLOCK) - block * BLOCK
            for tool, c in open_[block % len(open_) :] + open_[: block % len(open_)]:
                if tool.name not in found.times:
                    continue
                cpu, started = _cpu(c), time.perf_counter()
                try:
                    found.times[tool.name] += await _calls(c, count)
                except Exception as exc:
                    notes.append(f"- {tool.name}: a call of a latency round failed: {exc!r}")
                    del found.times[tool.name]
                    continue
                found.cpu[tool.name] += _cpu(c) - cpu
                found.wall[tool.name] += time.perf_counter() - started
        for tool, c in open_:  # less what it spends when not called (its watch, its loop)
            if tool.name in found.times:
                cpu, wall = (
                    _cpu(c) - totals[tool.name][0],
                    time.perf_counter() - totals[tool.name][1],
                )
                own_cpu, own_wall = found.cpu[tool.name], found.wall[tool.name]
                idle = (cpu - own_cpu) / (wall - own_wall) if wall > own_wall else 0.0
                found.cpu[tool.name] = max(0.0, own_cpu - idle * own_wall)
    return found


def _cpu(c: Connection) -> float:
    """CPU seconds of the server command's process (the tool's), the server's own excluded."""
    return sum(cpu_seconds(p) for p in c.tool_pids if _alive(p))


async def _calls(c: Connection, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        result = await c.session.call_tool("version", {})
        times.append((time.perf_counter() - started) * 1000)
        if result.is_error:
            raise RuntimeError(f"an error answer: {result}")
    return times


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else float("nan")


def ms(values: Sequence[float]) -> str:
    if not values:
        return "n/a"
    return f"{median(values):.2f} ms ({min(values):.2f}-{max(values):.2f})"


def latency_rows(
    sdk: SimpleNamespace, fronts: Sequence[Front], rounds: int, calls: int, floor: list[float]
) -> list[str]:
    """The latency table; `floor` gets the direct sessions' spawn -> initialize answered."""
    tools = [DIRECT, *fronts]
    per_round: dict[str, list[list[float] | None]] = {t.name: [] for t in tools}
    cpu: dict[str, list[float]] = {t.name: [] for t in tools}  # us per call, by round
    launch: dict[str, list[float]] = {t.name: [] for t in tools}  # ms, by round
    notes: list[str] = []
    for _ in range(rounds):
        try:
            found = asyncio.run(_latency_round(sdk, tools, calls, notes))
        except Exception as exc:  # a round that broke is a finding, not the end of the run
            notes.append(f"- a latency round failed: {exc!r}")
            found = LatencyRound()
        for tool in tools:
            per_round[tool.name].append(found.times.get(tool.name))
            if found.times.get(tool.name):
                cpu[tool.name].append(found.cpu[tool.name] / calls * 1e6)
            if tool.name in found.startup:
                launch[tool.name].append(found.startup[tool.name])
    floor.extend(launch["direct"])

    def p(name: str, q: float) -> list[float]:
        return [percentile(times, q) for times in per_round[name] if times is not None]

    def added(name: str, q: float) -> list[float]:
        pairs = zip(per_round[name], per_round["direct"], strict=True)
        return [percentile(a, q) - percentile(b, q) for a, b in pairs if a and b]

    mesh = median(p("meshdev", 50))
    lines = [
        "| tool | between client and server | p50 per call | p99 per call | added p50 "
        "| added p99 | its own CPU per call | p50 ratio to meshdev "
        "| launch → initialize answered |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for tool in tools:
        extra = ["", "", ""]
        if tool is not DIRECT:
            extra = [ms(added(tool.name, 50)), ms(added(tool.name, 99)), _us(cpu[tool.name])]
        lines.append(
            f"| {tool.name} | {tool.path} | {ms(p(tool.name, 50))} | {ms(p(tool.name, 99))} | "
            f"{' | '.join(extra)} | {median(p(tool.name, 50)) / mesh:.2f}x | "
            f"{_ms0(launch[tool.name])} |"
        )
    add50, add99 = median(added("meshdev", 50)), median(added("meshdev", 99))
    verdict = "within" if add50 < 0.5 else "**over**"
    control = ""
    if "watchfiles" in per_round:
        control = (
            " The watchfiles row, the same path as direct, is what this machine's noise alone "
            f"adds: {median(added('watchfiles', 50)):.2f} ms at p50."
        )
    return [
        *lines,
        *(["", *notes] if notes else []),
        "",
        f"meshdev adds **{add50:.2f} ms** per call at p50 ({verdict} the 0.5 ms target) and "
        f"{add99:.2f} ms at p99; its process spends {median(cpu['meshdev']):.0f} µs of CPU per "
        "call, both ways: reading, decoding and tracking each message, and writing it from the "
        f"thread that read it.{control}",
    ]


def _us(values: Sequence[float]) -> str:
    if not values:
        return "n/a"
    return f"{median(values):.0f} µs ({min(values):.0f}-{max(values):.0f})"


# -- 2. a reload, seen by a client calling every 20 ms ------------------------------------------


@dataclass
class Reload:
    failed: int = 0  # calls after the edit that raised or returned an error
    longest: float = 0.0  # s, the longest call after the edit
    new_process: float | None = None  # s, edit -> the first line of a new server process
    failures: dict[str, int] = field(default_factory=dict)  # by what they said, as first seen
    new_code: float | None = None  # s, edit -> the first answer of the new version
    list_changed: bool = False
    stop: list[str] = field(default_factory=list)
    error: str | None = None  # the session could not even start


async def _one_reload(sdk: SimpleNamespace, front: Front) -> Reload:
    found = Reload()
    with project(front) as root:
        async with connected(sdk, front, root) as c:
            for _ in range(5):
                result = await c.session.call_tool("version", {})
                if result.is_error or _value(result) != 1:
                    found.error = f"before the edit: {_said(result)}"
                    return found
            await asyncio.sleep(0.2)  # the watchers started before the server answered
            before = {s.pid for s in stamps(c.marker)}
            edited, edited_wall = await _call_through_an_edit(c, root, found)
            if found.new_code is not None:
                found.new_code -= edited
            new = [s for s in stamps(c.marker) if s.kind == "start" and s.pid not in before]
            if new:
                found.new_process = new[0].at - edited_wall
        found.stop = c.stop
    return found


async def _call_through_an_edit(c: Connection, root: Path, found: Reload) -> tuple[float, float]:
    """Calls every EVERY s; the server file is edited after a few. Returns the edit's time, by
    the monotonic clock and by the wall clock. Only a tools/list_changed after the edit counts
    (mcpmon's gateway sends one after initialize too)."""
    edited, edited_wall, heard = None, 0.0, 0
    for i in itertools.count():
        if i == 5:
            path = root / "server.py"
            text = path.read_text()
            edited, edited_wall, heard = time.monotonic(), time.time(), len(c.notes)
            path.write_text(text.replace("VERSION = 1", "VERSION = 2"))
        started = time.monotonic()
        try:
            result = await asyncio.wait_for(c.session.call_tool("version", {}), CALL_TIMEOUT)
            ok, value = not result.is_error, _value(result)
        except Exception as exc:  # every failure counts: an error answer, a timeout, a closing
            ok, value = False, None
            result = exc
        now = time.monotonic()
        if edited is not None:
            found.longest = max(found.longest, now - started)
            found.failed += 0 if ok else 1
            if not ok:
                found.failures[_said(result)] = found.failures.get(_said(result), 0) + 1
            if ok and value == 2 and found.new_code is None:
                found.new_code = now
            if found.new_code is not None and now - found.new_code > TAIL:
                break
            if found.new_code is None and now - edited > CAP:
                break
        await asyncio.sleep(EVERY)
    assert edited is not None
    found.list_changed = LIST_CHANGED in c.notes[heard:]
    return edited, edited_wall


def _said(failure: object) -> str:
    """A failed call in a few words: the exception, or the error result's text."""
    if isinstance(failure, BaseException):
        text = f"{type(failure).__name__}: {failure}" if str(failure) else type(failure).__name__
    else:
        content = getattr(failure, "content", None) or []
        text = "error result: " + " ".join(getattr(c, "text", "") for c in content)
    return text if len(text) <= 90 else text[:87] + "..."


def _value(result: Any) -> object:
    return (result.structured_content or {}).get("result")


def reload_rows(
    sdk: SimpleNamespace, fronts: Sequence[Front], reloads: int, floor: Sequence[float]
) -> list[str]:
    found: dict[str, list[Reload]] = {f.name: [] for f in fronts}
    for _ in range(reloads):
        for front in fronts:
            try:
                found[front.name].append(asyncio.run(_one_reload(sdk, front)))
            except Exception as exc:  # a session that broke is a finding, not the end of the run
                found[front.name].append(Reload(error=f"the session failed: {exc!r}"))
    mesh = median([r.new_code * 1000 for r in found["meshdev"] if r.new_code is not None])
    lines = [
        "| tool | setting | failed calls per reload | longest call | edit → new server process "
        "| edit → new code answering | tools/list_changed | ratio to meshdev |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    notes = []
    for front in fronts:
        runs = [r for r in found[front.name] if r.error is None]
        notes += [f"{front.name}: {r.error}" for r in found[front.name] if r.error]
        for said in sorted({s for r in runs for s in r.stop}):
            count = sum(said in r.stop for r in runs)
            notes.append(f"{front.name}: {said} ({count} of {len(runs)} sessions)")
        kinds = dict.fromkeys(said for r in runs for said in r.failures)  # in the order seen
        if kinds:
            counts = (_count([float(r.failures.get(k, 0)) for r in runs]) for k in kinds)
            said = "; ".join(f"`{k}` {n}" for k, n in zip(kinds, counts, strict=True))
            notes.append(f"{front.name}, failed calls per reload, by what they said: {said}")
        answered = [r.new_code * 1000 for r in runs if r.new_code is not None]
        never = len(runs) - len(answered)
        new_code = _ms0(answered) if answered else "never"
        if answered and never:
            new_code += f"; never in {never} of {len(runs)}"
        ratio = f"{median(answered) / mesh:.2f}x" if answered and never == 0 else ""
        processes = [r.new_process * 1000 for r in runs if r.new_process is not None]
        lines.append(
            f"| {front.name} | {front.note} | {_count([float(r.failed) for r in runs])} | "
            f"{_ms0([r.longest * 1000 for r in runs])} | {_ms0(processes)} | {new_code} | "
            f"{sum(r.list_changed for r in runs)} of {len(runs)} | {ratio} |"
        )
    lines.append(
        f"| python server.py | the floor: spawn → answering initialize | | | | {_ms0(floor)} | | |"
    )
    if notes:
        lines += ["", *(f"- {n}" for n in notes)]
    meshdev = [r for r in found["meshdev"] if r.error is None]
    stopping = median([r.new_process * 1000 for r in meshdev if r.new_process is not None]) - 50
    return [
        *lines,
        "",
        f"meshdev's edit → new code = {mesh:.0f} ms: reload_delay 50 ms, then stopping the old "
        f"server {stopping:.0f} ms (its stdin closed, as the MCP specification asks, once its "
        "calls in flight are answered), then the new server's start-up, whose floor is "
        f"{median(floor):.0f} ms, and the replayed initialize. Beyond the floor: "
        f"**{mesh - median(floor):.0f} ms**.",
    ]


def _ms0(values: Sequence[float]) -> str:
    if not values:
        return "n/a"
    return f"{median(values):.0f} ms ({min(values):.0f}-{max(values):.0f})"


def _count(values: Sequence[float]) -> str:
    if not values:
        return "n/a"
    return f"{median(values):.0f} ({min(values):.0f}-{max(values):.0f})"


# -- the section --------------------------------------------------------------------------------


def figure_7(reloads: int = 5, rounds: int = 3, calls: int = 500) -> list[str]:
    lines = ["### 7. MCP front: `meshdev mcp server.py` between a client and its server", ""]
    sdk = _sdk()
    if sdk is None:
        return [*lines, f"Skipped: the MCP SDK (`mcp`) is not installed beside {PYTHON}.", ""]
    lines += [
        f"A client of the official MCP SDK (`mcp` {_version('mcp')}: `ClientSession` over "
        "`stdio_client`) and a server of its `MCPServer` class on stdio, run from a project "
        "folder whose `.meshwatch` says reload_delay: 50.",
        "",
    ]
    fronts = [f for f in FRONTS if f.missing() is None]
    skipped = [f"{f.name} left out: {f.missing()}." for f in FRONTS if f.missing()]
    if not any(f.name == "meshdev" for f in fronts):
        return [*lines, *skipped, ""]
    floor: list[float] = []
    if rounds and calls:
        lines += [
            f"**Added latency per call**: {calls} calls of a tool returning a constant, after "
            f"{WARMUP} of warm-up, in {rounds} rounds. In a round every tool's session is open at "
            f"once and gets {BLOCK} calls in a row, one after the other, then the next tool, the "
            "order rotating. p50 and p99 of each round's calls: the median of the rounds "
            "(min-max); added = the round's figure minus the direct session's; its own CPU = "
            "the CPU time of the process the client started (the tool, not the server) over its "
            "calls, less what it spends between them; launch = from spawning the server command "
            "to the answer to the client's initialize.",
            "",
            *latency_rows(sdk, fronts, rounds, calls, floor),
            "",
        ]
    if reloads:
        lines += [
            f"**A reload, seen by a client calling every {EVERY * 1000:.0f} ms**: the server file "
            "is edited (VERSION 1 → 2) while the client calls the tool that returns VERSION; "
            f"{reloads} reloads per tool, each in a fresh session, tools interleaved. Failed = "
            "calls after the edit that raised or answered an error (a call is abandoned after "
            f"{CALL_TIMEOUT:.0f} s, and counts as failed); longest = the longest call after the "
            "edit, a held call included; new server process = the edit to the first line of the "
            "restarted server; new code answering = the edit to the first answer of VERSION 2, "
            f'"never" if none came within {CAP:.0f} s; tools/list_changed = the sessions whose '
            "client was sent one after the edit. A session that is lost fails every later call, "
            "so its failed count is only that of the calls made until the cap.",
            "",
            *reload_rows(sdk, fronts, reloads, floor),
        ]
    if skipped:
        lines += ["", *skipped]
    return [*lines, ""]


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def main() -> None:
    reset_signals()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reloads", type=int, default=5, help="reloads per tool")
    parser.add_argument("--rounds", type=int, default=3, help="latency rounds")
    parser.add_argument("--calls", type=int, default=500, help="measured calls per round")
    args = parser.parse_args()
    print("\n".join(figure_7(args.reloads, args.rounds, args.calls)))


if __name__ == "__main__":
    main()
