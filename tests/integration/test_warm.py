"""The warm spawner, through the real spawner seam: agents forked from a template, each pitfall of
forking an interpreter handled, and a fresh start (with a note) whenever in doubt."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import Meshdev, agent_source, is_alive, kill_group, wait_until, write

from meshdev.interfaces import AgentHandle, Sinks, SpawnRequest
from meshdev.processes.forked import ForkedProcess
from meshdev.processes.spawn import AgentProcess
from meshdev.processes.warm import WarmSpawner
from meshdev.runtime import protocol

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the warm spawner forks")


@dataclass
class Warm:
    root: Path
    spawner: WarmSpawner
    notes: list[str] = field(default_factory=list)
    lines: list[tuple[str, str, str]] = field(default_factory=list)
    exits: dict[tuple[str, int], int] = field(default_factory=dict)
    handles: list[AgentHandle] = field(default_factory=list)
    generation: int = 0
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def sinks(self) -> Sinks:
        def line(agent: str, stream: str, text: str) -> None:
            self.lines.append((agent, stream, text))

        def exit_(agent: str, generation: int, code: int) -> None:
            self.exits[(agent, generation)] = code

        return Sinks(line, lambda *report: None, exit_)

    def run(self, script: Path, agent: str = "a", env: dict[str, str] | None = None) -> AgentHandle:
        """Start it, wait for its exit; the handle."""
        handle = self.start(script, agent, env)
        wait_until(
            lambda: (agent, handle.generation) in self.exits,
            f"{agent} to exit",
            context=lambda: f"lines: {self.lines}\nnotes: {self.notes}",
        )
        return handle

    def start(
        self, script: Path, agent: str = "a", env: dict[str, str] | None = None
    ) -> AgentHandle:
        self.generation += 1
        request = SpawnRequest(agent, self.generation, script, ("an arg",), env or {}, self.root)
        request = SpawnRequest(**{**request.__dict__, "warm": True})
        handle = self.spawner.spawn(request, self.sinks())
        self.handles.append(handle)
        return handle

    def warmed(self, script: Path, agent: str = "a", env: dict[str, str] | None = None) -> None:
        """Until the next start of `agent` is forked: a recorded run, then a template built."""
        self.run(script, agent, env)
        self.run(script, agent, env)  # asks for the template
        wait_until(
            lambda: all(not t.building for t in self.spawner.templates()),
            "the template to finish importing",
        )

    def said(self, agent: str = "a", generation: int | None = None) -> list[str]:
        return [t for a, s, t in self.lines if a == agent and s == "out"]

    def code(self, handle: AgentHandle) -> int:
        return self.exits[(handle.agent, handle.generation)]


def site_path(lib: Path) -> dict[str, str]:
    """A library folder outside the project, before whatever the tests run with."""
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(lib), os.environ.get("PYTHONPATH")]))}


def forked(handle: AgentHandle) -> bool:
    return isinstance(handle, AgentProcess) and isinstance(handle.popen, ForkedProcess)


@pytest.fixture
def warm(tmp_path: Path) -> Iterator[Warm]:
    notes: list[str] = []
    spawner = WarmSpawner(lambda agent, text: notes.append(f"{agent}: {text}"))
    root = tmp_path / "project"  # libraries go beside it: a project's own modules are not preloaded
    root.mkdir()
    w = Warm(root, spawner, notes)
    try:
        yield w
    finally:
        for handle in w.handles:
            kill_group(handle.pid)
        templates = spawner.templates(successors=True)
        spawner.close()
        for template in templates:
            kill_group(template.pid)


AGENT = """\
import os, sys, json, asyncio, random
print(json.dumps({"name": __name__, "argv": sys.argv, "cwd": os.getcwd(), "pid": os.getpid(),
    "ppid": os.getppid(), "pgid": os.getpgid(0), "sid": os.getsid(0), "x": os.environ.get("X"),
    "random": random.random(), "frozen": __import__("gc").get_freeze_count()}))
sys.exit(int(os.environ.get("CODE", "0")))
"""


def facts(w: Warm, generation: int) -> dict[str, object]:
    import json

    return json.loads(w.said()[generation - 1])


def test_a_warm_start_is_forked_from_the_template_and_is_the_agent_a_fresh_start_would_be(
    warm: Warm,
) -> None:
    script = write(warm.root / "agent.py", AGENT)
    env = {"CODE": "3", "X": "given"}
    warm.warmed(script, env=env)
    handle = warm.run(script, env=env)
    assert forked(handle), warm.notes
    seen = facts(warm, 3)
    assert seen["name"] == "__main__" and seen["argv"] == [str(script), "an arg"]
    assert seen["cwd"] == str(warm.root) and seen["x"] == "given"
    assert isinstance(handle, AgentProcess)
    assert seen["pid"] == (handle.kept_pid or handle.pid)  # the agent, below its keeper if any
    assert seen["sid"] == seen["pgid"] == handle.pid  # a session of its own, as a fresh start
    (template,) = warm.spawner.templates()
    assert seen["ppid"] in (handle.pid, template.pid)  # below its keeper, below the template
    assert warm.code(handle) == 3
    assert seen["frozen"], "the template's heap is frozen, so the child's collector leaves it"
    assert seen["random"] != facts(warm, 2)["random"]  # reseeded in every child


def test_two_forked_agents_draw_different_random_numbers(warm: Warm) -> None:
    script = write(warm.root / "agent.py", AGENT)
    warm.warmed(script)
    first, second = warm.run(script), warm.run(script)
    assert forked(first) and forked(second)
    assert facts(warm, 3)["random"] != facts(warm, 4)["random"]


def test_a_forked_agent_killed_by_a_signal_reports_it_as_a_fresh_one_would(warm: Warm) -> None:
    script = write(warm.root / "sleeper.py", "import time, json\ntime.sleep(60)\n")
    warm.warmed(write(warm.root / "quick.py", "import time, json\n"), agent="s")
    handle = warm.start(script, agent="s")
    assert forked(handle)
    os.kill(handle.pid, 9)
    wait_until(lambda: ("s", handle.generation) in warm.exits, "the exit to be told")
    assert warm.code(handle) == -9


def test_output_is_unbuffered_in_a_forked_agent(warm: Warm) -> None:
    script = write(
        warm.root / "talk.py",
        "import sys, time, json\nprint('before the pause')\nsys.stderr.write('err too\\n')\n"
        "time.sleep(60)\n",
    )
    warm.warmed(write(warm.root / "quick.py", "import time, json\n"), agent="t")
    handle = warm.start(script, agent="t")
    assert forked(handle)
    wait_until(lambda: ("t", "out", "before the pause") in warm.lines, "the line, unflushed")
    wait_until(lambda: ("t", "err", "err too") in warm.lines, "the stderr line")


def test_a_library_that_reads_the_environment_at_import_sees_the_agents_own_value(
    warm: Warm,
) -> None:
    lib = warm.root.parent / "site"
    write(lib / "envlib.py", "import os\nVALUE = os.environ.get('LIBVAL')\n")
    script = write(warm.root / "agent.py", "import envlib\nprint(envlib.VALUE)\n")
    path = site_path(lib)
    warm.warmed(script, agent="one", env={**path, "LIBVAL": "one"})
    warm.warmed(script, agent="two", env={**path, "LIBVAL": "two"})
    one, two = (
        warm.run(script, "one", {**path, "LIBVAL": "one"}),
        warm.run(script, "two", {**path, "LIBVAL": "two"}),
    )
    assert forked(one) and forked(two), warm.notes
    assert warm.said("one")[-1] == "one" and warm.said("two")[-1] == "two"
    assert len(warm.spawner.templates()) == 2  # one per environment


def test_a_library_that_starts_a_thread_at_import_is_never_forked(warm: Warm) -> None:
    lib = warm.root.parent / "site"
    write(
        lib / "threaded.py",
        "import threading, time\nthreading.Thread(target=time.sleep, "
        "args=(3600,), daemon=True).start()\n",
    )
    script = write(warm.root / "agent.py", "import threaded\nprint('ran')\n")
    env = site_path(lib)
    warm.warmed(script, env=env)
    handle = warm.run(script, env=env)
    assert not forked(handle) and warm.said()[-1] == "ran"
    assert any("started threads" in note for note in warm.notes), warm.notes


def test_a_library_folder_that_changed_gets_a_fresh_start_and_a_new_template(warm: Warm) -> None:
    lib = warm.root.parent / "site"
    write(lib / "mylib.py", "VALUE = 1\n")
    script = write(warm.root / "agent.py", "import mylib\nprint(mylib.VALUE)\n")
    env = site_path(lib)
    warm.warmed(script, env=env)
    write(lib / "mylib.py", "VALUE = 2\n")  # as `pip install -U` would
    (lib / "new_dist-info").mkdir()  # pip adds and removes folders: the folder's mtime moves
    handle = warm.run(script, env=env)
    assert not forked(handle) and warm.said()[-1] == "2"
    assert any("changed since" in note for note in warm.notes), warm.notes
    wait_until(
        lambda: any(not t.building and t.failure is None for t in warm.spawner.templates()),
        "a new template",
    )
    handle = warm.run(script, env=env)
    assert forked(handle) and warm.said()[-1] == "2"


def test_a_template_that_died_means_fresh_starts_and_its_agents_exits_are_still_seen(
    warm: Warm,
) -> None:
    sleeper = write(warm.root / "agent.py", "import time, json\ntime.sleep(60)\n")
    warm.warmed(write(warm.root / "quick.py", "import time, json\n"))
    handle = warm.start(sleeper)
    assert forked(handle)
    (template,) = warm.spawner.templates()
    kill_group(template.pid)  # the template and, in its group, nothing else: agents have their own
    wait_until(lambda: template.failure is not None, "the template's death noticed")
    assert is_alive(handle.pid)
    os.kill(handle.pid, 9)
    wait_until(lambda: ("a", handle.generation) in warm.exits, "the orphan's exit noticed")
    again = warm.run(write(warm.root / "quick2.py", "print('fresh')\n"))
    assert not forked(again) and warm.said()[-1] == "fresh"


def test_without_a_record_or_with_warm_off_every_start_is_fresh(warm: Warm) -> None:
    script = write(warm.root / "agent.py", AGENT)
    first = warm.run(script)
    assert not forked(first)
    warm.warmed(script)
    request = SpawnRequest("a", 99, script, (), {}, warm.root, warm=False)
    handle = warm.spawner.spawn(request, warm.sinks())
    warm.handles.append(handle)
    assert not forked(handle)
    assert sys.executable  # the fresh start runs the interpreter meshdev runs


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
        return int(handle.read().rpartition(")")[2].split()[1])


@pytest.mark.parametrize("strategy", ["warm", "restart"])
def test_under_meshdev_start_reloads_come_from_a_template_unless_told_to_restart(
    tmp_path: Path, meshdev_run: Callable[..., Meshdev], strategy: str
) -> None:
    script = write(tmp_path / "bot.py", agent_source("import json, asyncio, email.mime.text"))
    env = {"MESHDEV_RELOAD_STRATEGY": strategy}
    md = meshdev_run("bot.py", "--verbose", "--reload-delay", "20", env=env, wait_ready=("bot",))
    assert md.proc is not None
    meshdev_pid = md.proc.pid

    def forked_now() -> bool:
        md.edit_and_wait_ready(script, "bot")
        return parent_of(md.pid("bot")) != meshdev_pid

    if strategy == "warm":
        wait_until(forked_now, "a restart forked from the template", 60, md.context)
        assert "fresh start: no warm template for its environment yet" in md.output()
    else:
        assert not any(forked_now() for _ in range(4)), md.context()


def test_agents_whose_environments_differ_only_in_meshdevs_channel_share_one_template(
    warm: Warm,
) -> None:
    script = write(warm.root / "agent.py", "import json, asyncio\nprint('ok')\n")
    for name in ("one", "three"):
        channel = {
            protocol.STATE_FILE: str(warm.root / f"{name}.state"),
            protocol.GRACE_MS: str(len(name) * 1000),
        }
        warm.warmed(script, agent=name, env=channel)
        assert forked(warm.run(script, agent=name, env=channel)), warm.notes
    assert len(warm.spawner.templates()) == 1
