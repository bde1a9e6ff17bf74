"""reload_strategy refresh on real agents: the changed modules reloaded inside the running process
(same pid, objects kept), in dependency order, all or nothing, with a restart wherever a refresh
cannot be — and the console saying which and why."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from helpers import Meshdev, wait_until, write

Run = Callable[..., Meshdev]  # the meshdev_run fixture (tests/conftest.py)

MESHWATCH = "reload_strategy: refresh\nreload_delay: 50\nlog_only: ['*.md']\nstop_grace: 2000\n"
STRATEGY = "ANSWER = {n}\nFAIL_CALLBACK = False\n\n\ndef answer():\n    return ANSWER\n"
# `from ... import` in a project module: refreshed after lib.strategy, so it sees the new answer.
TOOLS = "from lib.strategy import answer\n\n\ndef via():\n    return answer()\n"
BOT = """
import os, sys, time
import meshdev
from lib import strategy, tools

kept = meshdev.preserve("kept", lambda: {"starts": 0})
kept["starts"] += 1
meshdev.state["box"] = kept
box = object()  # outside every refreshed module: must be the same object after a refresh


@meshdev.on_refresh
def again(paths):
    if strategy.FAIL_CALLBACK:
        raise RuntimeError("the agent refused the new code")
    print("on_refresh", sorted(os.path.basename(p) for p in paths), flush=True)


if __name__ == "__main__":
    meshdev.ready()
    last = None
    while True:
        now = (strategy.answer(), tools.via(), os.getpid(), id(box), kept["starts"])
        if now != last:
            print("now", *now, flush=True)
            last = now
        time.sleep(0.01)
"""


def project(root: Path, meshwatch: str = MESHWATCH) -> None:
    write(root / ".meshwatch", meshwatch)
    write(root / "lib/__init__.py", "")
    write(root / "lib/strategy.py", STRATEGY.format(n=1))
    write(root / "lib/tools.py", TOOLS)
    write(root / "agents/bot.py", BOT)


def states(md: Meshdev) -> list[tuple[int, ...]]:
    """Every `now` line the bot printed: (answer, via, pid, id(box), starts)."""
    found = re.findall(r"bot +\| now (-?\d+) (-?\d+) (\d+) (\d+) (\d+)", md.output())
    return [tuple(int(x) for x in row) for row in found]


def wait_state(md: Meshdev, answer: int, starts: int | None = None) -> tuple[int, ...]:
    def seen() -> tuple[int, ...] | None:
        hits = [s for s in states(md) if s[0] == answer and s[1] == answer]
        hits = [s for s in hits if starts is None or s[4] == starts]
        return hits[-1] if hits else None

    return wait_until(seen, f"the bot answering {answer}", 30, md.context)  # type: ignore[no-any-return]


def started(md: Meshdev) -> int:
    return len(md.events("agent_started", agent="bot"))


def test_a_module_change_is_refreshed_inside_the_running_agent(
    tmp_path: Path, meshdev_run: Run
) -> None:
    project(tmp_path)
    md = meshdev_run("agents", wait_ready=("bot",))
    before = wait_state(md, 1)
    mark = md.mark()
    write(tmp_path / "lib/strategy.py", STRATEGY.format(n=2))
    event = md.wait_event("agent_refreshed", agent="bot", after=mark)
    assert event["modules"] == ["lib.strategy", "lib.tools"]  # inner first: tools takes from it
    assert event["files"] == ["lib/strategy.py"] and event["pid"] == before[2]
    after = wait_state(md, 2)
    assert after[2:] == before[2:]  # same pid, same object outside the modules, no new start
    assert started(md) == 1
    wait_until(lambda: "on_refresh ['strategy.py']" in md.output(), "on_refresh", 10, md.context)
    assert "↻ bot refreshed in place" in md.output()


def test_same_size_saves_within_a_second_run_the_code_on_disk(
    tmp_path: Path, meshdev_run: Run
) -> None:
    project(tmp_path)
    md = meshdev_run("agents", wait_ready=("bot",))
    wait_state(md, 1)
    path = tmp_path / "lib/strategy.py"
    stamp = path.stat().st_mtime_ns
    for n in (7, 8, 9):  # same size, same whole second: only the content tells them apart
        mark = md.mark()
        path.write_text(STRATEGY.format(n=n))
        os.utime(path, ns=(stamp, stamp))
        md.wait_event("agent_refreshed", agent="bot", after=mark)
        assert wait_state(md, n)[0] == n
    assert started(md) == 1


def test_new_code_that_raises_changes_nothing_and_the_next_good_save_refreshes(
    tmp_path: Path,
    meshdev_run: Run,
) -> None:
    project(tmp_path)
    md = meshdev_run("agents", wait_ready=("bot",))
    pid = wait_state(md, 1)[2]
    mark = md.mark()
    # One batch: strategy.py would be fine, tools.py raises. Neither may be half swapped in.
    write(tmp_path / "lib/strategy.py", STRATEGY.format(n=3))
    write(tmp_path / "lib/tools.py", TOOLS + "\nraise ValueError('boom')\n")
    failed = md.wait_event("refresh_failed", agent="bot", after=mark)
    assert failed["kept"] is True and failed["module"] == "lib.tools"
    assert failed["error"] == "ValueError: boom" and failed["line"] == 7
    md.barrier()
    assert [s for s in states(md) if s[0] == 3] == []  # the old strategy is back in place
    assert "keeps running its previous code" in md.output()
    mark = md.mark()
    write(tmp_path / "lib/tools.py", TOOLS)
    md.wait_event("agent_refreshed", agent="bot", after=mark)
    assert wait_state(md, 3)[2] == pid
    assert started(md) == 1


def test_a_change_to_the_script_is_a_restart_and_says_why(tmp_path: Path, meshdev_run: Run) -> None:
    project(tmp_path)
    md = meshdev_run("agents", wait_ready=("bot",))
    wait_state(md, 1)
    mark = md.mark()
    write(tmp_path / "agents/bot.py", BOT + "# edit\n")
    instead = md.wait_event("refresh_instead", agent="bot", after=mark)
    assert instead["reason"] == "agents/bot.py is its own script"
    md.wait_event("agent_ready", agent="bot", after=mark)
    assert started(md) == 2
    wait_state(md, 1, starts=2)  # the state it held in memory went through the restart


def test_a_callback_that_raises_means_a_restart(tmp_path: Path, meshdev_run: Run) -> None:
    project(tmp_path)
    md = meshdev_run("agents", wait_ready=("bot",))
    wait_state(md, 1)
    mark = md.mark()
    write(tmp_path / "lib/strategy.py", STRATEGY.format(n=4).replace("= False", "= True"))
    failed = md.wait_event("refresh_failed", agent="bot", after=mark)
    assert failed["kept"] is False and "refused the new code" in failed["error"]
    start = md.wait_event("agent_started", agent="bot", after=mark)
    assert "refresh failed" in start["reason"]
    # The old process ran the new modules until its callback refused them; then it was replaced.
    wait_state(md, 4, starts=2)  # restarted, its state handed over


def test_a_module_that_declines_refresh_and_restart_patterns_restart(
    tmp_path: Path,
    meshdev_run: Run,
) -> None:
    project(tmp_path, MESHWATCH + "restart: ['lib/tools.py']\n")
    declining = "__meshdev_refresh__ = False\n" + STRATEGY
    write(tmp_path / "lib/strategy.py", declining.format(n=1))
    md = meshdev_run("agents", wait_ready=("bot",))
    wait_state(md, 1)
    mark = md.mark()
    write(tmp_path / "lib/tools.py", TOOLS + "# edit\n")
    instead = md.wait_event("refresh_instead", agent="bot", after=mark)
    assert "lib/tools.py is to restart" in instead["reason"]
    md.wait_event("agent_ready", agent="bot", after=mark)
    mark = md.mark()
    write(tmp_path / "lib/strategy.py", declining.format(n=5))
    failed = md.wait_event("refresh_failed", agent="bot", after=mark)
    assert "__meshdev_refresh__" in failed["error"] and failed["kept"] is False
    md.wait_event("agent_ready", agent="bot", after=mark)
    wait_state(md, 5, starts=3)
    assert started(md) == 3


def test_an_agent_can_choose_refresh_alone(tmp_path: Path, meshdev_run: Run) -> None:
    meshwatch = MESHWATCH.replace("reload_strategy: refresh", "reload_strategy: restart")
    project(tmp_path, meshwatch + "agents:\n  bot:\n    reload_strategy: refresh\n")
    write(
        tmp_path / "agents/other.py",
        "from lib import strategy\nimport time\nif __name__ == '__main__':\n    time.sleep(600)\n",
    )
    md = meshdev_run("agents", wait_ready=("bot", "other"))
    wait_state(md, 1)
    mark = md.mark()
    write(tmp_path / "lib/strategy.py", STRATEGY.format(n=6))
    md.wait_event("agent_refreshed", agent="bot", after=mark)
    md.wait_event("agent_started", agent="other", after=mark)  # restart: its own strategy
    assert started(md) == 1


LOOPED = """
import asyncio, threading, time
import meshdev
from lib import strategy

loop = asyncio.new_event_loop()
threading.Thread(target=loop.run_forever, name="worker", daemon=True).start()


def told(paths):
    print("refreshed in", threading.current_thread().name, strategy.answer(), flush=True)


meshdev.on_refresh(told, call_in=loop.call_soon_threadsafe)

if __name__ == "__main__":
    meshdev.ready()
    while True:
        time.sleep(0.05)
"""


def test_the_refresh_runs_in_the_thread_the_agent_names(tmp_path: Path, meshdev_run: Run) -> None:
    project(tmp_path)
    write(tmp_path / "agents/bot.py", LOOPED)
    md = meshdev_run("agents", wait_ready=("bot",))
    mark = md.mark()
    write(tmp_path / "lib/strategy.py", STRATEGY.format(n=2))
    md.wait_event("agent_refreshed", agent="bot", after=mark)
    wait_until(lambda: "refreshed in worker 2" in md.output(), "the callback", 10, md.context)
