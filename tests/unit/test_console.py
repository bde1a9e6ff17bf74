"""The renderers, against a rich Console writing to a string."""

from __future__ import annotations

import io
import re

from meshdev.events import Event
from meshdev.show.console import Console
from meshdev.show.summary import Summary
from meshdev.show.tables import status_table

ESCAPE = re.compile(r"\x1b\[")


def console(plain: bool = True) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=120, plain=plain), out


def test_agent_lines_get_an_aligned_prefix_and_are_never_markup() -> None:
    c, out = console()
    c.know_agents(["alpha", "longer_name"])
    c.agent_line("alpha", "out", "[bold]not markup[/bold]")
    assert out.getvalue() == "alpha       | [bold]not markup[/bold]\n"


def test_plain_mode_writes_no_escape_codes_even_to_a_terminal() -> None:
    out = io.StringIO()
    out.isatty = lambda: True  # type: ignore[method-assign]
    c = Console(file=out, width=80, plain=True)
    c.event(Event("reload", {"agents": ["a"], "files": ["x.py"], "seconds": 0.1}))
    assert out.getvalue() and not ESCAPE.search(out.getvalue())


def test_events_read_as_sentences() -> None:
    c, out = console()
    c.event(Event("reload", {"agents": ["a", "b"], "files": ["lib/x.py"], "seconds": 0.05}))
    c.event(
        Event("reload", {"agents": ["a"], "files": [], "seconds": 0.05, "reason": "manual reload"})
    )
    c.event(
        Event(
            "reload_timing",
            {
                "agent": "a",
                "quiet": 0.3,
                "stop": 0.02,
                "spawn": 0.01,
                "startup": 0.1,
                "total": 0.43,
            },
        )
    )
    c.event(
        Event(
            "compile_error",
            {"file": "x.py", "line": 3, "message": "bad", "code": "    x = (\n        ^"},
        )
    )
    c.event(Event("reload_held", {"agent": "a", "files": ["x.py"], "running": True}))
    c.event(
        Event(
            "restart_scheduled",
            {"agent": "a", "delay": 0.5, "failures": 1, "limit": 3, "window": 10.0},
        )
    )
    text = out.getvalue()
    assert "↻ restarted a, b in 0.05 s (lib/x.py changed)" in text
    assert "↻ restarted a in 0.05 s (manual reload)" in text
    assert "a reloaded in 0.43 s: quiet 0.30 · stop 0.02 · spawn 0.01 · start-up 0.10" in text
    assert "✗ x.py:3: bad\n    x = (\n        ^" in text
    assert "keeping a on its last good version until x.py compiles" in text
    assert "restarting a in 0.5 s (failure 1 of 3 allowed within 10 s)" in text


def test_the_circuit_panel_shows_exit_code_and_stderr() -> None:
    c, out = console()
    c.event(
        Event(
            "circuit_open",
            {
                "agent": "alpha",
                "returncode": 1,
                "failures": 3,
                "window": 10.0,
                "stderr": ["Traceback", "ValueError: no"],
            },
        )
    )
    text = out.getvalue()
    assert "alpha: circuit open" in text and "exit code 1; 3 failures within 10 s" in text
    assert "ValueError: no" in text and "waiting for a change" in text


def test_the_exit_summary_table() -> None:
    summary = Summary()
    for event in (
        Event("agent_started", {"agent": "a", "pid": 1}),
        Event("agent_started", {"agent": "a", "pid": 2}),
        Event("reload_timing", {"agent": "a", "total": 0.4}),
        Event("agent_started", {"agent": "a", "pid": 3}),
        Event("reload_timing", {"agent": "a", "total": 0.2}),
        Event("agent_exited", {"agent": "a", "returncode": 1}),
    ):
        summary(event)
    assert summary.rows()["a"] == {
        "restarts": 2,
        "reloads": 2,
        "median_reload_s": 0.3,
        "worst_reload_s": 0.4,
        "crashes": 1,
        "circuit": "closed",
    }
    c, out = console()
    c.event(Event("shutdown", {"exit_code": 130, "stopped": 1, "agents": summary.rows()}))
    text = out.getvalue()
    assert "session summary" in text and "0.30 s" in text and "0.40 s" in text


def test_the_status_table_rows() -> None:
    summary = Summary()
    summary(Event("agent_started", {"agent": "a", "pid": 7}, ts=100.0))
    summary(Event("agent_ready", {"agent": "a"}))
    summary(Event("agent_started", {"agent": "b", "pid": 8}, ts=100.0))
    summary(Event("agent_exited", {"agent": "b", "returncode": 2}))
    rows = summary.status(now=165.0, memory=lambda pid: 20_000_000)
    assert rows[0] == {
        "agent": "a",
        "state": "running",
        "pid": 7,
        "uptime": 65.0,
        "restarts": 0,
        "circuit": "closed",
        "last_reload": None,
        "rss": 20_000_000,
    }
    assert rows[1]["state"] == "crashed" and rows[1]["pid"] is None and rows[1]["rss"] is None
    c, out = console()
    c.show(status_table(rows))
    assert re.search(r"a\s+running\s+7\s+1:05\s+0\s+closed\s+-\s+20.0 MB", out.getvalue())


def test_the_saved_state_view_shows_empty_and_unusable_states() -> None:
    c, out = console()
    c.render_state(
        [
            {"agent": "a", "age_seconds": 7200, "keys": {"n": {"type": "int", "size": 2500}}},
            {"agent": "b", "age_seconds": 30, "keys": {}},
            {"agent": "c", "problem": "bad signature", "bytes": 12},
        ]
    )
    text = out.getvalue()
    assert re.search(r"a\s+│ n\s+│ int\s+│ 2.5 KB\s+│ 2 h ago", text)
    assert re.search(r"b\s+│ \(empty\)\s+│\s+│ 0 B\s+│ 30 s ago", text)
    assert "unusable: bad signature" in text and "12 B" in text


LONG = '  File "/tmp/project/agents/server.py", line 1234, in <module>  ' + "x" * 60
CRASH = Event(
    "circuit_open",
    {
        "agent": "alpha",
        "returncode": 1,
        "failures": 3,
        "window": 10.0,
        "stderr": [LONG, "OSError: [Errno 98] error while attempting to bind: address in use"],
    },
)
BOXES = re.compile("[╭╮╰╯│┃━─┏┓┗┛╇]")


def test_plain_output_has_no_panel_and_keeps_whole_lines() -> None:
    c, out = console()  # plain, as in a pipe or with --plain
    c.event(CRASH)
    text = out.getvalue()
    assert not BOXES.search(text)
    assert "meshdev | ✗ alpha: circuit open\n" in text
    assert f"meshdev |   {LONG}\n" in text
    assert "address in use" in text
    assert all(line.startswith("meshdev | ") for line in text.splitlines())


def test_the_circuit_panel_in_a_terminal_wraps_never_cuts() -> None:
    out = io.StringIO()
    out.isatty = lambda: True  # type: ignore[method-assign]
    c = Console(file=out, width=80)
    c.event(CRASH)
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue())
    words = re.sub(r"[│╭╮╰╯─\s]+", " ", text)
    assert "address in use" in words and "line 1234" in words and "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_plain_output_tells_the_summary_in_lines_not_a_table() -> None:
    c, out = console()
    rows = {
        "a": {
            "restarts": 1,
            "reloads": 1,
            "median_reload_s": 0.16,
            "worst_reload_s": 0.16,
            "crashes": 0,
            "circuit": "closed",
        }
    }
    c.event(Event("shutdown", {"exit_code": 130, "stopped": 1, "agents": rows}))
    text = out.getvalue()
    assert not BOXES.search(text)
    assert (
        "meshdev |   a: 1 restart, 1 reload (median 0.16 s, worst 0.16 s), 0 crashes, "
        "circuit closed" in text
    )


def test_off_a_terminal_tables_are_as_wide_as_they_need_never_cut() -> None:
    out = io.StringIO()  # not a terminal, no width given: as `meshdev debug agents | less`
    c = Console(file=out)
    path = "agents/" + "very_long_folder_name/" * 6 + "agent.py"
    c.render_agents({"agents": [{"name": "a", "script": path, "how": "x"}], "skipped": []})
    assert path in out.getvalue() and "…" not in out.getvalue()


def test_one_key_is_one_key() -> None:
    c, out = console()
    c.event(
        Event(
            "state_saved",
            {"agent": "a", "reason": "stop", "keys": 1, "bytes": 10, "seconds": 0.001},
        )
    )
    assert "a: state saved (1 key, 10 B, 1 ms)" in out.getvalue()


def test_the_status_table_never_shows_an_ended_process_as_running() -> None:
    summary = Summary()
    summary(Event("agent_started", {"agent": "a", "pid": 7}, ts=100.0))
    summary(Event("agent_exited", {"agent": "a", "pid": 7, "returncode": 0}))
    summary(Event("agent_ready", {"agent": "a", "pid": 7}))  # a late word from the ended one
    summary(Event("agent_started", {"agent": "b", "pid": 8}, ts=100.0))
    summary(Event("agent_exited", {"agent": "b", "pid": 8, "returncode": 1}))
    summary(Event("restart_scheduled", {"agent": "b"}))
    rows = {r["agent"]: r for r in summary.status(now=200.0, memory=lambda pid: 1)}
    assert rows["a"]["state"] == "finished" and rows["a"]["pid"] is None
    assert rows["b"]["state"] == "backoff" and rows["b"]["pid"] is None
    assert rows["b"]["uptime"] is None and rows["b"]["rss"] is None
