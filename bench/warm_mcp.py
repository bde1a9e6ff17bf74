"""Figures 8 and 9: the warm spawner with a real MCP agent (mcp's `MCPServer`, two tools, over
streamable HTTP on a fixed port, counting its calls in `meshdev.state`).

8. Save → the new code serving: a client calls the tool returning VERSION every ~5 ms while the
   server file is rewritten with VERSION + 1; the time from the write to the first answer
   carrying the new version, and the calls that failed meanwhile. meshdev (warm, the default;
   and `MESHDEV_RELOAD_STRATEGY=restart`) beside the watchfiles CLI, nodemon, mcpmon, and the
   floor: a fresh `python server.py` spawned → answering.
9. Memory of three agents forked from one template (after 300 calls each) against three fresh
   ones: total PSS of the agents and their template(s).

Bench code, not part of the test suite. Tools not installed are left out with a note; every
process a tool started is killed afterwards, by process group.

Usage: python bench/warm_mcp.py [--rounds N] [--saves N]   (all figures: bash bench/run.sh)
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness import NODEMON, PYTHON, median, stamps
from mcp_front import _version, reset_signals

BIN = PYTHON.parent
HOST = "127.0.0.1"
PORT = 8931  # figure 8's server; figure 9's three use PORT + 10, + 11, + 12
SERVER = '''\
import os, time
stamp = f"start {{time.time()}} {{os.getpid()}} {{os.getppid()}} {name}\\n"
open(os.environ["BENCH_MARKER"], "a").write(stamp)
import meshdev
from mcp.server.mcpserver import MCPServer

VERSION = 1
PORT = {port}
meshdev.state.setdefault("calls", 0)  # kept across reloads under meshdev; in memory without
server = MCPServer("bench", log_level="WARNING")


@server.tool()
def version() -> int:
    """The version of this code: the bench's edit bumps it."""
    meshdev.state["calls"] += 1
    return VERSION


@server.tool()
def calls() -> int:
    """How many times version() was called (across reloads, when meshdev keeps the state)."""
    return meshdev.state["calls"]


if __name__ == "__main__":
    server.run(transport="streamable-http", port=PORT, stateless_http=True, json_response=True)
'''
EVERY = 0.005  # the poller's pause between calls
CAP = 30.0  # save -> new code: past this, "never" (a fresh start takes 1-12 s on this machine)
CALL_TIMEOUT = CAP + 15  # a call not answered by then is abandoned, and counted as failed
TAIL = 0.3  # the poller goes on this long after the new code answered: failures in it count
SETTLE = 0.3  # between saves
START_TIMEOUT = 60.0
WARM_UP = 2  # meshdev's first saves of a start, reported apart: the template is being made
HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


@dataclass(frozen=True)
class Tool:
    name: str
    note: str
    env: tuple[tuple[str, str], ...] = ()

    @property
    def meshdev(self) -> bool:
        return self.name.startswith("meshdev")

    def command(self, scripts: Sequence[str] = ("server.py",)) -> list[str]:
        py, script = str(PYTHON), scripts[0]
        mesh = [py, "-m", "meshdev", "start", *scripts, "--plain", "--reload-delay", "0"]
        return {
            "meshdev": mesh,
            "meshdev (restart)": mesh,
            "watchfiles": [str(BIN / "watchfiles"), "--filter", "python", f"{py} {script}", "."],
            "nodemon": [
                str(NODEMON),
                *("--delay", "0", "--watch", ".", "--ext", "py", "--exec", f"{py} {script}"),
            ],
            "mcpmon": [str(BIN / "mcpmon"), "--watch", ".", "--", py, script],
            "python server.py": [py, script],
        }[self.name]

    def missing(self) -> str | None:
        if self.meshdev or self.name == "python server.py":
            return None
        tool = Path(self.command()[0])
        return None if tool.exists() else f"{tool.name} is not installed ({tool})"


MESHDEV = Tool("meshdev", "`meshdev start server.py --plain --reload-delay 0` (warm, the default)")
TOOLS = [
    MESHDEV,
    Tool(
        "meshdev (restart)",
        "the same, `MESHDEV_RELOAD_STRATEGY=restart`: a fresh interpreter every time",
        (("MESHDEV_RELOAD_STRATEGY", "restart"),),
    ),
    Tool("watchfiles", "CLI `watchfiles --filter python 'python server.py' .`"),
    Tool("nodemon", "`--delay 0`"),
    Tool(
        "mcpmon",
        "`mcpmon --watch . -- python server.py` (single server: it restarts the process; its "
        "stdout relay and list_changed are stdio things, unused over HTTP)",
    ),
]
FLOOR = Tool("python server.py", "the floor: spawn → first answer")


# -- processes ---------------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state is [0], ppid [1], start [19])."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def _ppid(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[1]) if fields else None


def _descendants(root: int) -> dict[int, str]:
    """Every living descendant of `root`, with its start time (to never kill a reused pid)."""
    children: dict[int, list[int]] = {}
    started: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))) and fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry))
            started[int(entry)] = fields[19]
    found, todo = {}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = started[child]
            todo.append(child)
    return found


class Launched:
    """A tool started in a session of its own; `seen` gathers whatever it started."""

    def __init__(self, command: Sequence[str], cwd: Path, env: dict[str, str]) -> None:
        with (cwd / "tool.log").open("wb") as log:
            self.proc = subprocess.Popen(
                list(command),
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started = time.monotonic()
        self.seen: dict[int, str] = {}

    def look(self) -> None:
        self.seen.update(_descendants(self.proc.pid))

    def stop(self) -> None:
        """SIGINT to its group (its own clean-up), then SIGKILL to every group and process it
        started, those in sessions of their own (agents, templates) included."""
        self.look()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        for pid, start in self.seen.items():
            fields = _stat(pid)
            if fields is None or fields[19] != start:
                continue  # gone, or the pid is someone else's now
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)


@contextlib.contextmanager
def launched(
    tool: Tool, root: Path, scripts: Sequence[str] = ("server.py",), extra: Sequence[str] = ()
) -> Iterator[Launched]:
    env = {**os.environ, "BENCH_MARKER": str(root / "marker.txt"), "NO_COLOR": "1"}
    env.update(dict(tool.env))
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    running = Launched([*tool.command(scripts), *extra], root, env)
    try:
        yield running
    finally:
        running.stop()


def _port_free(port: int, timeout: float = 10.0) -> bool:
    """Wait until nothing listens on `port` (a previous run's server is gone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex((HOST, port)) != 0:
                return True
        time.sleep(0.05)
    return False


# -- the client ----------------------------------------------------------------------------------


@dataclass
class Call:
    sent: float  # monotonic
    answered: float
    value: int | None  # the tool's answer
    failure: str | None  # what a failed call said


class Client:
    """One keep-alive connection, reopened after a failure."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._conn: http.client.HTTPConnection | None = None
        self._id = 0

    def call(self, tool: str = "version") -> Call:
        self._id += 1
        body = json.dumps(
            {
                "jsonrpc": "2.0",
                "id": self._id,
                "method": "tools/call",
                "params": {"name": tool, "arguments": {}},
            }
        )
        sent = time.monotonic()
        value, failure = None, None
        try:
            if self._conn is None:
                self._conn = self._connect()
            self._conn.request("POST", "/mcp", body, HEADERS)
            response = self._conn.getresponse()
            data = response.read()
            if response.will_close:
                self.close()
            if response.status != 200:
                failure = f"HTTP {response.status}"
            else:
                message = json.loads(data)
                result = message.get("result") or {}
                if "error" in message:
                    failure = f"JSON-RPC error {message['error'].get('code')}"
                elif result.get("isError"):
                    failure = "an error result"
                else:
                    value = (result.get("structuredContent") or {}).get("result")
        except ConnectionRefusedError:
            failure = "connection refused"
            self.close()
        except (OSError, http.client.HTTPException, ValueError) as exc:
            failure = type(exc).__name__
            self.close()
        return Call(sent, time.monotonic(), value, failure)

    def _connect(self) -> http.client.HTTPConnection:
        """A connection on a socket of its own making: no name lookup at each attempt, so
        that a refused one costs the machine next to nothing (~200 a second while a server is
        down; the tools whose reloads refuse them must not pay for the bench's own CPU)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.settimeout(CALL_TIMEOUT)
            sock.connect((HOST, self.port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except BaseException:
            sock.close()
            raise
        conn = http.client.HTTPConnection(HOST, self.port, timeout=CALL_TIMEOUT)
        conn.sock = sock
        return conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class Poller(threading.Thread):
    """Calls `version` every EVERY s; `log` holds every call, in order."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.client = Client(port)
        self.log: list[Call] = []
        self._done = threading.Event()
        self._pause = threading.Event()
        self._idle = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            if self._pause.is_set():
                self._idle.set()
                time.sleep(0.002)
                continue
            self._idle.clear()
            self.log.append(self.client.call())
            time.sleep(EVERY)
        self.client.close()

    def first(self, since: int, value: int, cap: float) -> Call | None:
        """The first call after index `since` answering `value`, waiting up to `cap` s."""
        deadline = time.monotonic() + cap
        while time.monotonic() < deadline:
            for call in self.log[since:]:
                if call.value == value:
                    return call
            time.sleep(0.002)
        return None

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        self._idle.clear()
        self._pause.set()
        self._idle.wait(CALL_TIMEOUT + 1)
        try:
            yield
        finally:
            self._pause.clear()

    def stop(self) -> None:
        self._done.set()
        self.join(CALL_TIMEOUT + 1)


@contextlib.contextmanager
def polling(port: int) -> Iterator[Poller]:
    poller = Poller(port)
    poller.start()
    try:
        yield poller
    finally:
        poller.stop()


def write_servers(root: Path, ports: dict[str, int]) -> None:
    for name, port in ports.items():
        (root / f"{name}.py").write_text(SERVER.format(port=port, name=name))


def bump(path: Path, version: int) -> None:
    """VERSION + 1, written in place in one write (no truncation first: a watcher must not see an
    empty file; the text only grows)."""
    text = path.read_text().replace(f"VERSION = {version}\n", f"VERSION = {version + 1}\n", 1)
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


# -- figure 8: save -> new code serving ----------------------------------------------------------


@dataclass
class Reload:
    new_code: float | None = None  # ms, save -> the first answer of the new version
    first_line: float | None = None  # ms, save -> the new process's first statement
    failed: int = 0  # calls that failed from the save until TAIL after the new code answered
    failures: dict[str, int] = field(default_factory=dict)
    longest: float = 0.0  # ms, the longest call answered after the save
    forked: bool | None = None  # meshdev: the new process's parent is not meshdev
    state: tuple[int, int] | None = None  # meshdev: (calls() answered, version calls answered)
    warm_up: bool = False


@dataclass
class Session:
    reloads: list[Reload] = field(default_factory=list)
    error: str | None = None


def session(tool: Tool, saves: int, warm_up: int = 0) -> Session:
    """One start of `tool`, then `warm_up` + `saves` saves of server.py."""
    found = Session()
    if not _port_free(PORT):
        return Session(error=f"port {PORT} still taken before the start")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_servers(root, {"server": PORT})
        marker = root / "marker.txt"
        with polling(PORT) as poller, launched(tool, root) as running:
            if poller.first(0, 1, START_TIMEOUT) is None:
                return Session(error=f"never answered: {_tail(root / 'tool.log')}")
            time.sleep(SETTLE)
            for i in range(warm_up + saves):
                running.look()
                meshdev = running.proc.pid if tool.meshdev else None
                found.reloads.append(_one_reload(poller, root, marker, meshdev, i + 1))
                found.reloads[-1].warm_up = i < warm_up
                if found.reloads[-1].new_code is None:
                    log = _tail(root / "tool.log")
                    found.error = f"save {i + 1}: no new code within {CAP:.0f} s; its log: {log}"
                    break
                time.sleep(SETTLE)
            running.look()
    return found


def _one_reload(
    poller: Poller, root: Path, marker: Path, meshdev: int | None, version: int
) -> Reload:
    """One save; `meshdev` is meshdev's pid when the tool is meshdev."""
    found = Reload()
    before = {s.pid for s in stamps(marker)}
    since = len(poller.log)
    saved, saved_wall = time.monotonic(), time.time()
    bump(root / "server.py", version)
    new = poller.first(since, version + 1, CAP)
    if new is not None:
        found.new_code = (new.answered - saved) * 1000
        time.sleep(TAIL)
    end = new.answered + TAIL if new else time.monotonic()
    after = [c for c in poller.log[since:] if c.answered <= end]
    for call in after:
        found.longest = max(found.longest, (call.answered - max(call.sent, saved)) * 1000)
        if call.failure:
            found.failed += 1
            found.failures[call.failure] = found.failures.get(call.failure, 0) + 1
    fresh = [s for s in stamps(marker) if s.kind == "start" and s.pid not in before]
    if fresh:
        found.first_line = (fresh[0].at - saved_wall) * 1000
        if meshdev is not None:
            parent = _above_keeper(int(fresh[-1].value.split()[0]))
            found.forked = _is_template(parent, meshdev)
    if meshdev is not None and new is not None:
        with poller.paused():
            answered = sum(1 for c in poller.log if c.value is not None)
            asking = Client(PORT)
            counted = asking.call("calls").value
            asking.close()
        found.state = (counted if counted is not None else -1, answered)
    return found


def _tail(log: Path, size: int = 300) -> str:
    try:
        text = log.read_text(errors="replace").strip()
    except OSError:
        return "no log"
    return repr(text[-size:]) if text else "no output"


def floor_run() -> float | None:
    """ms from spawning `python server.py` to its first answer, the poller calling throughout."""
    if not _port_free(PORT):
        return None
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_servers(root, {"server": PORT})
        with polling(PORT) as poller, launched(FLOOR, root) as running:
            first = poller.first(0, 1, START_TIMEOUT)
            return (first.answered - running.started) * 1000 if first else None


def figure_8(rounds: int = 2, saves: int = 2, only: Sequence[str] = ()) -> list[str]:
    lines = ["### 8. MCP agent over streamable HTTP: save → the new code serving", ""]
    tools = [t for t in TOOLS if t.missing() is None and (not only or t.name in only)]
    skipped = [f"- {t.name} left out: {t.missing()}." for t in TOOLS if t.missing()]
    found: dict[str, list[Session]] = {t.name: [] for t in tools}
    floor: list[float] = []
    for r in range(rounds):
        order = tools[r % len(tools) :] + tools[: r % len(tools)]
        for tool in order:
            warm_up = WARM_UP if tool is MESHDEV else 0
            found[tool.name].append(session(tool, saves, warm_up))
        for _ in range(2):
            if (ms := floor_run()) is not None:
                floor.append(ms)
    lines += [
        f"A real MCP server: mcp {_version('mcp')} `MCPServer`, two tools (`version` returns a "
        "VERSION constant and counts the call in `meshdev.state`; `calls` returns the count), "
        f"served with `run(transport='streamable-http', port={PORT}, stateless_http=True, "
        "json_response=True)`, log level WARNING. A client (plain `http.client`, one keep-alive "
        f"connection, reopened after a failure) calls `version` every {EVERY * 1000:.0f} ms; "
        "the file is rewritten in place with VERSION + 1. New code = the save to the first "
        f'answer of the new VERSION ("never" past {CAP:.0f} s); first line = the save to the '
        "new process's first statement; failed = calls failing from the save until "
        f"{TAIL * 1000:.0f} ms after the new code answered (refused connections, resets, errors); "
        f"longest = the longest call after the save; forked = new processes whose parent is "
        "a template, not meshdev; meshdev.state kept = after each save, `calls` answers the "
        "number of `version` answers the client got since the tool started. The client "
        "spends ~0.3 ms of CPU per refused call (7-10% of a core while a server is down: "
        "the floor and the tools that refuse connections run beside that; meshdev's front "
        "holds calls instead). "
        f"{rounds} round(s), each starting every tool once (the order rotating) for {saves} "
        f"saves; meshdev's first {WARM_UP} saves of each start are reported apart, on their own "
        "row (the first start records the agent's modules at its exit; the first save starts "
        "fresh while the template imports them in the background; the second is forked once "
        "the template is ready). The floor: `python server.py` spawned → its first answer, "
        f"{2 * rounds} times, the same client polling. meshdev from `{_meshdev_home()}`.",
        "",
        "| tool | setting | save → first line | save → new code answering | failed calls per "
        "reload | longest call | forked | meshdev.state kept | ratio to fresh start | ratio "
        "to meshdev |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    base = median(floor)
    measured = {n: [r for s in ss for r in s.reloads if not r.warm_up] for n, ss in found.items()}
    mesh = median([r.new_code for r in measured.get("meshdev", []) if r.new_code is not None])
    notes: list[str] = []
    rows = [(t.name, t.note, measured[t.name]) for t in tools]
    if "meshdev" in found:
        warm = [r for s in found["meshdev"] for r in s.reloads if r.warm_up]
        rows.insert(1, ("meshdev, warm-up", f"its first {WARM_UP} saves of each start", warm))
    for name, note, runs in rows:
        against = (base, mesh) if name != "meshdev, warm-up" else (float("nan"), float("nan"))
        lines.append(_row(name, note, runs, *against))
    lines.append(f"| python server.py | {FLOOR.note} | | {_ms(floor)} | | | | | 1.00x | |")
    for tool in tools:
        notes += [f"- {tool.name}: {s.error}" for s in found[tool.name] if s.error]
        for number, one in enumerate(found[tool.name]):
            for i, r in enumerate(one.reloads):
                if r.state is not None and r.state[0] != r.state[1]:
                    notes.append(
                        f"- {tool.name}, start {number + 1}, save {i + 1}: `calls` said "
                        f"{r.state[0]}, the client had {r.state[1]} answers of `version`"
                    )
        runs = [r for s in found[tool.name] for r in s.reloads]
        kinds = dict.fromkeys(k for r in runs for k in r.failures)
        if kinds:
            counts = "; ".join(f"`{k}` {sum(r.failures.get(k, 0) for r in runs)}" for k in kinds)
            notes.append(f"- {tool.name}, failed calls over its {len(runs)} saves: {counts}")
    lines += ["", *notes, *skipped] if notes or skipped else []
    verdict = "within" if mesh / base <= 0.35 else "**over**"
    others = []
    for name in ("nodemon", "watchfiles", "mcpmon"):
        if name in measured:
            theirs = median([r.new_code or CAP * 1000 for r in measured[name]])
            others.append(f"{name} {theirs:.0f} ms ({'behind' if theirs > mesh else 'ahead'})")
    lines += [
        "",
        f"meshdev: save → new code **{mesh:.0f} ms = {mesh / base:.2f}x** a fresh "
        f"`python server.py` → serving ({base:.0f} ms; {verdict} the 0.35x target); in the "
        f"same run {', '.join(others) or 'no other tool'}.",
        "",
    ]
    return lines


def _row(name: str, note: str, runs: list[Reload], base: float, mesh: float) -> str:
    answered = [r.new_code for r in runs if r.new_code is not None]
    never = len(runs) - len(answered)
    new_code = _ms(answered) if answered else "never"
    if answered and never:
        new_code += f"; never in {never} of {len(runs)}"
    forked = [r.forked for r in runs if r.forked is not None]
    states = [r.state for r in runs if r.state is not None]
    kept = f"{sum(a == b for a, b in states)} of {len(states)} exact" if states else ""
    ratio = median(answered) if answered and not never else float("nan")
    return (
        f"| {name} | {note} | {_ms([r.first_line for r in runs if r.first_line is not None])} "
        f"| {new_code} | {_count([r.failed for r in runs])} | {_ms([r.longest for r in runs])} "
        f"| {f'{sum(forked)} of {len(forked)}' if forked else ''} | {kept} "
        f"| {_ratio(ratio, base)} | {_ratio(ratio, mesh)} |"
    )


def _ratio(value: float, against: float) -> str:
    return f"{value / against:.2f}x" if value == value and against == against else ""


def _ms(values: Sequence[float]) -> str:
    if not values:
        return "n/a"
    return f"{median(values):.0f} ms ({min(values):.0f}-{max(values):.0f})"


def _count(values: Sequence[float]) -> str:
    if not values:
        return "n/a"
    return f"{median(values):.0f} ({min(values):.0f}-{max(values):.0f})"


def _meshdev_home() -> str:
    found = subprocess.run(
        [str(PYTHON), "-c", "import meshdev, os; print(os.path.dirname(meshdev.__file__))"],
        capture_output=True,
        text=True,
    )
    return found.stdout.strip() or "not importable"


# -- figure 9: three agents on one template ------------------------------------------------------

AGENTS = {"a": PORT + 10, "b": PORT + 11, "c": PORT + 12}
RESTART = next(t for t in TOOLS if t.name == "meshdev (restart)")


@dataclass(frozen=True)
class Setup:
    name: str
    tool: Tool
    extra: tuple[str, ...] = ()  # more options of `meshdev start`
    saves: int = 2  # before measuring: two make forked starts (two more if they did not)


WARM = Setup("warm (default)", MESHDEV)
WARM_NO_STATE = Setup("warm, `--no-preserve-state`", MESHDEV, ("--no-preserve-state",))
FRESH = Setup("restart", RESTART, saves=0)


@dataclass
class Memory:
    agents: dict[str, int] = field(default_factory=dict)  # name -> pid
    forked: dict[str, bool] = field(default_factory=dict)  # name -> its parent is a template
    pss: dict[int, int] = field(default_factory=dict)  # pid -> kB (agents and templates)
    templates: list[int] = field(default_factory=list)  # the agents' parents
    other_templates: list[int] = field(default_factory=list)  # alive, parent of none of them
    saves: int = 0
    error: str | None = None

    def total(self) -> int:
        return sum(self.pss.values())


def memory_run(setup: Setup, calls: int) -> Memory:
    """meshdev with three agents: every agent saved (so that the warm spawner forks them),
    `calls` calls to each, then the PSS of the agents and of the templates they came from."""
    found = Memory()
    if not all(_port_free(p) for p in AGENTS.values()):
        return Memory(error="a port was still taken before the start")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_servers(root, AGENTS)
        marker = root / "marker.txt"
        clients = {n: Client(p) for n, p in AGENTS.items()}
        scripts = [f"{n}.py" for n in AGENTS]
        with launched(setup.tool, root, scripts, setup.extra) as running:
            meshdev = running.proc.pid
            versions = dict.fromkeys(AGENTS, 1)
            if not _all_answer(clients, versions, START_TIMEOUT):
                return Memory(error=f"never answered: {_tail(root / 'tool.log')}")
            time.sleep(SETTLE)
            while found.saves < setup.saves or (
                setup.saves and found.saves < setup.saves + 2 and not all(found.forked.values())
            ):
                for name in AGENTS:
                    bump(root / f"{name}.py", versions[name])
                    versions[name] += 1
                found.saves += 1
                if not _all_answer(clients, versions, CAP):
                    log = _tail(root / "tool.log")
                    return Memory(error=f"save {found.saves} not served: {log}")
                time.sleep(2 * SETTLE)  # the first builds the template in the background
                _who(found, marker, meshdev)
            for _ in range(calls):
                for client in clients.values():
                    client.call()
            for client in clients.values():
                client.close()
            time.sleep(SETTLE)
            _who(found, marker, meshdev)
            running.look()
            templates = {p for p in running.seen if _is_template(p, meshdev)}
            keepers = [_ppid(pid) or 0 for pid in found.agents.values()]
            parents = {_above_keeper(pid) for pid in keepers}
            found.templates = sorted(parents & templates)
            found.other_templates = sorted(templates - parents)
            # Each agent's keeper counted with it: both strategies have one per agent.
            for pid in [*found.agents.values(), *(k for k in keepers if _is_keeper(k))]:
                found.pss[pid] = _pss_kb(pid)
            for pid in found.templates:
                found.pss[pid] = _pss_kb(pid)
    return found


def _all_answer(clients: dict[str, Client], versions: dict[str, int], cap: float) -> bool:
    deadline = time.monotonic() + cap
    waiting = set(clients)
    while waiting and time.monotonic() < deadline:
        for name in sorted(waiting):
            if clients[name].call().value == versions[name]:
                waiting.discard(name)
        time.sleep(0.02)
    return not waiting


def _who(found: Memory, marker: Path, meshdev: int) -> None:
    """Each agent's latest process, and whether a template forked it."""
    for stamp in stamps(marker):
        if stamp.kind == "start":
            ppid, name = stamp.value.split()
            found.agents[name] = stamp.pid
            found.forked[name] = _is_template(_above_keeper(int(ppid)), meshdev)


def _is_keeper(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "meshdev-keeper"
    except OSError:
        return False


def _above_keeper(pid: int) -> int:
    """The process that started an agent: its keeper's parent where it has a keeper (Linux)."""
    return (_ppid(pid) or pid) if _is_keeper(pid) else pid


def _is_template(pid: int, meshdev: int) -> bool:
    """A child of meshdev running the template (an agent forked by one shows the same command
    line, but its parent is the template)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return _ppid(pid) == meshdev and b"meshdev.runtime.template" in cmdline


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def figure_9(rounds: int = 1, calls: int = 300) -> list[str]:
    runs: dict[Setup, list[Memory]] = {WARM: [], FRESH: []}
    for _ in range(rounds):
        for setup in (WARM, FRESH):
            runs[setup].append(memory_run(setup, calls))
    if any(len(m.templates) > 1 for m in runs[WARM]):  # one per agent: say what one would give
        runs[WARM_NO_STATE] = [memory_run(WARM_NO_STATE, calls) for _ in range(rounds)]
    good = {k: [m for m in v if m.error is None] for k, v in runs.items()}
    fresh = median([m.total() for m in good[FRESH]])
    lines = [
        "### 9. Memory: three MCP agents forked from one template against three fresh ones",
        "",
        f"Three copies of figure 8's server (a.py, b.py, c.py on ports {min(AGENTS.values())}-"
        f"{max(AGENTS.values())}, `meshdev.state` in use) under one `meshdev start a.py b.py "
        "c.py --plain --reload-delay 0`. Warm: every agent saved twice (twice more if one was "
        "not forked yet), so that the warm spawner forks them; forked = its parent is not "
        "meshdev but a template (a child of meshdev running `meshdev.runtime.template`). Then "
        f"{calls} calls to each (round robin), and the sum of `Pss:` (/proc/PID/smaps_rollup) "
        "of the three agents (each with its keeper) and of the template(s) they were forked "
        "from, against three fresh "
        "interpreters (`MESHDEV_RELOAD_STRATEGY=restart`, first generation, the same calls). "
        f"{rounds} run(s) each, interleaved; meshdev's own process counted in neither.",
        "",
        "| strategy | agents forked | templates (PSS of each) | agents' PSS | total PSS "
        "| ratio to fresh | saves first |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for setup, memories in good.items():
        for m in memories:
            agents = " + ".join(f"{m.pss.get(pid, 0) / 1024:.1f}" for pid in m.agents.values())
            each = ", ".join(f"{m.pss[p] / 1024:.1f}" for p in m.templates)
            templates = f"{len(m.templates)} ({each} MB)" if each else "none"
            forked = f"{sum(m.forked.values())} of {len(m.forked)}" if setup.saves else ""
            lines.append(
                f"| {setup.name} | {forked} | {templates} | {agents} MB "
                f"| **{m.total() / 1024:.1f} MB** | {_ratio(m.total(), fresh)} | {m.saves} |"
            )
    notes = [f"- {k.name}: a run failed: {m.error}" for k, v in runs.items() for m in v if m.error]
    notes += [
        f"- {k.name}: {len(m.other_templates)} more template process(es) alive, parent of none "
        "of the agents"
        for k, v in good.items()
        for m in v
        if m.other_templates
    ]
    if WARM_NO_STATE in runs:
        notes.append(
            "- The default warm run built one template per agent: their environments differ in "
            "`MESHDEV_STATE_FILE` (each agent's own state file), which is part of the template's "
            "key. With `--no-preserve-state` that variable is not set and the three share one."
        )
    warm = median([m.total() for m in good[WARM]])
    ratio = warm / fresh if fresh == fresh and fresh else float("nan")
    verdict = "within" if ratio <= 0.75 else "**over**"
    lines += ["", *notes] if notes else []
    lines += [
        "",
        f"Total PSS, medians: warm (default) **{warm / 1024:.1f} MB**, fresh **{fresh / 1024:.1f} "
        f"MB**: **{ratio:.2f}x** ({verdict} the 0.75x target).",
        "",
    ]
    return lines


def main() -> None:
    reset_signals()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="figure 8: rounds of all tools")
    parser.add_argument("--saves", type=int, default=2, help="figure 8: saves per tool and round")
    parser.add_argument("--memory-runs", type=int, default=1, help="figure 9: runs of each")
    parser.add_argument("--calls", type=int, default=300, help="figure 9: calls to each agent")
    parser.add_argument("--figures", default="8,9", help="which figures, e.g. 8")
    parser.add_argument("--tools", default="", help="figure 8: only these, comma-separated")
    args = parser.parse_args()
    figures = args.figures.split(",")
    if "8" in figures:
        only = [t for t in args.tools.split(",") if t]
        print("\n".join(figure_8(args.rounds, args.saves, only)), flush=True)
    if "9" in figures:
        print("\n".join(figure_9(args.memory_runs, args.calls)), flush=True)


if __name__ == "__main__":
    main()
