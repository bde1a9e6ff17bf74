from __future__ import annotations

import json
from pathlib import Path

from meshdev.decide import explain
from meshdev.project.project import load_project
from meshdev.project.settings import Flags
from meshdev.show.jsontext import json_text
from meshdev.sources.commands import parse, socket_path


def project(tmp_path: Path):  # type: ignore[no-untyped-def]
    files = {
        ".meshwatch": "log_only: ['*.md']\nexclude: ['secret.py']\n",
        "agents/alpha.py": "from lib import shared\nif __name__ == '__main__':\n    pass\n",
        "agents/_helper.py": "",
        "lib/__init__.py": "",
        "lib/shared.py": "from lib import util\n",
        "lib/util.py": "",
        "secret.py": "",
        "NOTES.md": "",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return load_project([tmp_path / "agents"], None, {}, Flags(), tmp_path)


def test_watches_lists_every_file_with_verdict_pattern_and_agents(tmp_path: Path) -> None:
    data = explain.watches(project(tmp_path))
    files = {f["path"]: f for f in data["files"]}
    assert files["lib/util.py"]["agents"] == ["alpha"]
    assert files["NOTES.md"]["verdict"] == "log only" and files["NOTES.md"]["pattern"] == "*.md"
    assert files["secret.py"]["verdict"] == "excluded"
    assert data["files"][0]["verdict"] == "reload"  # grouped: reloads first
    assert set(data["watched_dirs"]) == {".", "agents", "lib"}
    order = ["reload", "log only", "config", "not watched", "excluded"]
    shown = [(order.index(f["verdict"]), f["path"]) for f in data["files"]]
    assert shown == sorted(set(shown))  # by verdict, then path; each file once


def test_the_json_of_watches_is_json_dumps_one_entry_a_line(tmp_path: Path) -> None:
    data = explain.watches(project(tmp_path))
    data["files"].append({"path": 'odd\n\u00e9"', "verdict": "x", "other": [1]})  # any shape
    text = json_text(data)
    assert json.loads(text) == data
    lines = text.splitlines()
    for entry in data["files"]:
        assert f"    {json.dumps(entry)}," in lines or f"    {json.dumps(entry)}" in lines


def test_why_gives_the_import_chain(tmp_path: Path) -> None:
    data = explain.why(project(tmp_path), tmp_path / "lib/util.py")
    assert data["agents"] == {"alpha": "alpha -> lib.shared -> lib.util"}
    assert data["explanation"] == "reload (matches watch_extensions pattern '*.py')"
    excluded = explain.why(project(tmp_path), tmp_path / "secret.py")
    assert excluded["verdict"] == "excluded" and excluded["agents"] == {}


def test_agents_explains_the_skipped(tmp_path: Path) -> None:
    data = explain.agents(project(tmp_path))
    assert [a["name"] for a in data["agents"]] == ["alpha"]
    assert data["skipped"] == [
        {"path": "agents/_helper.py", "why": "private helper (name starts with _)"}
    ]


def test_commands_and_socket_paths(tmp_path: Path) -> None:
    assert parse("r").agents == () and parse("rs\n").agents == ()  # type: ignore[union-attr]
    assert parse("r alpha beta").agents == ("alpha", "beta")  # type: ignore[union-attr]
    assert parse("reload") is not None and parse("quit") is None and parse("") is None
    assert socket_path(tmp_path) == tmp_path / ".meshdev" / "control.sock"
    deep = tmp_path / ("x" * 120)
    assert len(str(socket_path(deep))) < 100 and socket_path(deep) == socket_path(deep)


def test_why_says_what_the_running_meshdev_knows_of_files_opened_at_run_time(
    tmp_path: Path,
) -> None:
    p = project(tmp_path)
    (tmp_path / "conf.yaml").write_text("a: 1\n")
    static = explain.why(p, tmp_path / "conf.yaml")
    assert static["agents"] == {} and static["asked_running_meshdev"] is False
    live = explain.why(p, tmp_path / "conf.yaml", running=["alpha"])
    assert live["agents"] == {"alpha": "alpha (opened or imported it at run time)"}
    assert live["asked_running_meshdev"] is True
    both = explain.why(p, tmp_path / "lib/util.py", running=["alpha"])
    assert both["agents"] == {"alpha": "alpha -> lib.shared -> lib.util"}  # the chain, once


def test_the_debug_views_say_how_opened_files_are_known(tmp_path: Path) -> None:
    import io

    from meshdev.show.console import Console

    p = project(tmp_path)
    (tmp_path / "conf.yaml").write_text("a: 1\n")
    out = io.StringIO()
    console = Console(file=out, width=200, plain=True)
    console.render_why(explain.why(p, tmp_path / "conf.yaml"))
    text = out.getvalue()
    assert "no agent imports it (static imports; no meshdev runs for this project)" in text
    assert "learnt at run time" in text and "restarts nothing" not in text
    out.seek(0), out.truncate()
    console.render_why(explain.why(p, tmp_path / "conf.yaml", running=[]))
    assert "no running agent uses it: a change restarts nothing" in out.getvalue()


def test_debug_agents_states_the_rule(tmp_path: Path) -> None:
    rule = explain.agents(project(tmp_path))["rule"]
    assert "console script" in rule and "__main__.py" in rule and "named" in rule


def test_debug_why_finds_the_project_from_the_file(tmp_path: Path) -> None:
    from meshdev.project.project import load_project_of

    # The demo's layout: .meshwatch and the agents in one folder, asked about from above it.
    project(tmp_path / "demo")
    (tmp_path / "demo/agents/alpha.py").rename(tmp_path / "demo/alpha.py")
    found = load_project_of(Path("demo/lib/util.py"), [], None, {}, Flags(), tmp_path)
    assert found.root == tmp_path / "demo"
    data = explain.why(found, tmp_path / "demo/lib/util.py")
    assert data["agents"] == {"alpha": "alpha -> lib.shared -> lib.util"}


def test_the_demo_s_config_comment_names_the_script_that_reads_it() -> None:
    import re

    repo = Path(__file__).parents[2]
    config = repo / "examples/agents/config/weather.yaml"
    found = re.search(r"^# Read by (\S+)", config.read_text())
    assert found is not None
    assert (config.parent / found.group(1)).resolve() == repo / "examples/agents/weather.py"
