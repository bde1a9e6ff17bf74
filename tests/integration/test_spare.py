"""Spare interpreters (processes/spare.py) with real processes: a spare is the fresh start it
stands in for, and one that is not wanted ends before it runs a line of the agent's code."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from helpers import is_alive, wait_until, write

from meshdev.interfaces import Sinks, SpawnRequest
from meshdev.processes.spare import Spares
from meshdev.processes.spawn import SubprocessSpawner
from meshdev.project.discovery import AgentDef
from meshdev.runtime import protocol

# What a start can tell about itself: its command line, folder, environment, path and flags.
LOOK = """
import json, os, sys
seen = {
    "argv": sys.argv, "cwd": os.getcwd(), "path0": sys.path[0], "flags": list(sys.flags),
    "env": {k: v for k, v in os.environ.items() if k not in ("MESHDEV_FDS",)},
    "unbuffered": sys.stdout.write_through, "stdin_tty": sys.stdin.isatty(),
    "ran_from": os.environ.get("RAN_FROM"),
}
with open(os.path.join(os.path.dirname(__file__), os.environ["OUT"]), "w") as f:
    json.dump(seen, f)
"""


class Exits:
    """Sinks that record the exit."""

    def __init__(self) -> None:
        self.codes: list[int] = []
        self.done = threading.Event()
        self.sinks = Sinks(lambda *a: None, lambda *a: None, self._exit)

    def _exit(self, agent: str, generation: int, code: int) -> None:
        self.codes.append(code)
        self.done.set()


def agent(tmp_path: Path, env: tuple[tuple[str, str], ...] = ()) -> AgentDef:
    script = write(tmp_path / "look.py", LOOK)
    return AgentDef("look", script, "named", args=("--x", "1"), env=env)


def request(found: AgentDef, tmp_path: Path, out: str, extra: dict[str, str]) -> SpawnRequest:
    channel = {protocol.AGENT: "look", protocol.ROOT: str(tmp_path), "OUT": out, **extra}
    env = {**dict(found.env), **channel}
    return SpawnRequest("look", 1, found.script, found.args, env, tmp_path)


def run(spawner: SubprocessSpawner, wanted: SpawnRequest) -> dict[str, Any]:
    exits = Exits()
    spawner.spawn(wanted, exits.sinks)
    assert exits.done.wait(20) and exits.codes == [0]
    out = wanted.cwd / wanted.env["OUT"]
    return json.loads(out.read_text())


def test_a_spare_runs_the_agent_exactly_as_a_fresh_start(tmp_path: Path) -> None:
    found = agent(tmp_path, env=(("OUT", "x"), ("RAN_FROM", "env:")))
    spares = Spares()
    spares.begin([found], tmp_path)
    from_spare = run(SubprocessSpawner(spares), request(found, tmp_path, "spare.json", {}))
    fresh = run(SubprocessSpawner(), request(found, tmp_path, "fresh.json", {}))
    assert from_spare["ran_from"] == "env:"
    assert {**from_spare, "env": None} == {**fresh, "env": None}
    names = set(fresh["env"]) | set(from_spare["env"])
    differ = {k for k in names if fresh["env"].get(k) != from_spare["env"].get(k)}
    assert differ == {"OUT"}, differ  # only what the test itself told each apart by
    assert protocol.GO not in from_spare["env"]
    spares.close()


def test_a_spare_that_does_not_fit_ends_before_running_a_line(tmp_path: Path) -> None:
    found = agent(tmp_path)
    spares = Spares()
    spares.begin([found], tmp_path)
    spare = spares._spares["look"]
    other = request(found, tmp_path, "fresh.json", {"EXTRA": "1"})  # an environment it lacks
    assert spares.take(other) is None
    wait_until(lambda: not is_alive(spare.popen.pid), "the spare gone")
    assert not (tmp_path / "fresh.json").exists()
    assert run(SubprocessSpawner(spares), other)["env"]["EXTRA"] == "1"


def test_spares_nobody_asked_for_end_at_close_and_run_nothing(tmp_path: Path) -> None:
    found = agent(tmp_path, env=(("OUT", "never.json"),))
    spares = Spares()
    spares.begin([found], tmp_path)
    pid = spares._spares["look"].popen.pid
    before = len(os.listdir("/proc/self/fd"))
    spares.close()
    wait_until(lambda: not is_alive(pid), "the spare gone")
    wait_until(lambda: len(os.listdir("/proc/self/fd")) < before, "its descriptors closed")
    assert not (tmp_path / "never.json").exists()


def test_a_spare_whose_meshdev_is_gone_exits_without_running_the_agent(tmp_path: Path) -> None:
    found = agent(tmp_path, env=(("OUT", "never.json"),))
    spares = Spares()
    spares.begin([found], tmp_path)
    spare = spares._spares["look"]
    os.close(spare._go)  # as meshdev's death closes it
    spare._go = -1
    assert spare.popen.wait(20) == 0
    assert not (tmp_path / "never.json").exists()
    spares.close()
