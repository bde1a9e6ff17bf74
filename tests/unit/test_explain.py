from __future__ import annotations

from pathlib import Path

from meshdev.decide import explain
from meshdev.project.project import load_project
from meshdev.project.settings import Flags
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
