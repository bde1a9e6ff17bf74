"""Shared test helpers: deadlines instead of sleeps, and a real meshdev under test."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

POLL = 0.02
DEFAULT_TIMEOUT = 15.0


def wait_until(
    condition: Callable[[], Any],
    what: str,
    timeout: float = DEFAULT_TIMEOUT,
    context: Callable[[], str] = lambda: "",
) -> Any:
    """Poll `condition` until it returns something truthy; fail with `context()` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{context()}")
        time.sleep(POLL)


def is_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (orphans may wait for a slow reaper)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            state = handle.read().rpartition(")")[2].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def kill_group(pid: int) -> None:
    for sig in (signal.SIGKILL,):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)


def cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """One `python -m meshdev ...` command, run to its end."""
    return subprocess.run(
        [sys.executable, "-m", "meshdev", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


AGENT_TEMPLATE = """
import os, sys, time
import meshdev
{imports}
print("up", os.getpid(), flush=True)
{body}
meshdev.ready()
if __name__ == "__main__":
    while True:
        time.sleep(1)
"""


def agent_source(imports: str = "", body: str = "") -> str:
    return AGENT_TEMPLATE.format(imports=imports, body=body)


@dataclass
class Meshdev:
    """A real `python -m meshdev start` in its own process group, reading its --events file."""

    root: Path
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None

    def __post_init__(self) -> None:
        self.events_path = self.root / "events.jsonl"
        self.output_path = self.root / "meshdev-output.txt"
        self.proc: subprocess.Popen[bytes] | None = None
        self._barriers = 0

    def command(self) -> list[str]:
        """How this meshdev is started (a subclass may start it another way)."""
        return [sys.executable, "-m", "meshdev", "start", *self.args]

    def environment(self) -> dict[str, str]:
        return {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **self.env}

    def start(self, wait_ready: Iterable[str] = (), stdin_pipe: bool = False) -> Meshdev:
        with self.output_path.open("wb") as out:
            self.proc = subprocess.Popen(
                [*self.command(), "--events", str(self.events_path)],
                cwd=self.cwd or self.root,
                env=self.environment(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
                start_new_session=True,
            )
        for agent in wait_ready:
            self.wait_event("agent_ready", agent=agent)
        return self

    # -- reading what happened ------------------------------------------------------------------

    def events(self, kind: str | None = None, **match: Any) -> list[dict[str, Any]]:
        try:
            lines = self.events_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        found = [json.loads(line) for line in lines if line.strip()]
        return [
            e
            for e in found
            if (kind is None or e["event"] == kind) and all(e.get(k) == v for k, v in match.items())
        ]

    def output(self) -> str:
        try:
            return self.output_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def context(self) -> str:
        events = "\n".join(json.dumps(e) for e in self.events()[-40:])
        return f"--- meshdev output ---\n{self.output()[-6000:]}\n--- last events ---\n{events}"

    def wait_event(
        self, kind: str, timeout: float = DEFAULT_TIMEOUT, after: int = 0, **match: Any
    ) -> dict[str, Any]:
        """The first matching event among those after the first `after` events of every kind."""

        def found() -> dict[str, Any] | None:
            events = self.events()[after:]
            hits = [
                e
                for e in events
                if e["event"] == kind and all(e.get(k) == v for k, v in match.items())
            ]
            if not hits and self.exited():
                raise AssertionError(f"meshdev exited before {kind} {match}\n{self.context()}")
            return hits[0] if hits else None

        return wait_until(found, f"event {kind} {match}", timeout, self.context)  # type: ignore[no-any-return]

    def type(self, line: str) -> None:
        """Type a line on meshdev's terminal (its stdin)."""
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def exited(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def edit_and_wait_ready(
        self, script: Path, agent: str, text: str = "# edit\n"
    ) -> dict[str, Any]:
        """Save an edit to `script` and return the agent_ready event of the new process."""
        mark = self.mark()
        append(script, text)
        return self.wait_event("agent_ready", agent=agent, after=mark)

    def mark(self) -> int:
        """A position in the event log, for `wait_event(after=...)`."""
        return len(self.events())

    def pid(self, agent: str) -> int:
        started = self.events("agent_started", agent=agent)
        assert started, f"{agent} never started\n{self.context()}"
        return int(started[-1]["pid"])

    def pids(self) -> dict[str, int]:
        return {e["agent"]: e["pid"] for e in self.events("agent_started")}

    def barrier(self) -> None:
        """Return once every change made before it has been fully handled.

        Touches a log-only file and waits for the batch that contains it: batches are handled in
        order, so anything caused by earlier changes has been emitted by then.
        """
        self._barriers += 1
        name = f"barrier-{self._barriers}.md"
        write(self.root / name, "barrier\n")
        wait_until(
            lambda: any(name in e["files"] for e in self.events("batch")),
            f"the batch holding {name}",
            DEFAULT_TIMEOUT,
            self.context,
        )

    # -- ending ---------------------------------------------------------------------------------

    def signal(self, sig: int) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=DEFAULT_TIMEOUT)

    def cleanup(self) -> None:
        """Kill meshdev and every agent group it ever started, by process group."""
        if self.proc is not None:
            kill_group(self.proc.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        for event in self.events("agent_started"):
            kill_group(int(event["pid"]))
