from __future__ import annotations

import os
from pathlib import Path

import pytest

from meshdev.problems import UsageError
from meshdev.project.config import AgentSpec, FileConfig
from meshdev.project.discovery import discover, unmatched_specs

MAIN = 'if __name__ == "__main__":\n    pass\n'


def make(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def config(root: Path, *agents: AgentSpec) -> FileConfig:
    return FileConfig(path=root / ".meshwatch", root=root, agents=agents)


def test_runnable_files_and_main_folders_are_agents_helpers_are_not(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "a/alpha.py": MAIN,
            "a/beta.py": "import mesh\n@mesh.agent(name='b')\nclass B: pass\n",
            "a/gamma/__main__.py": "print(1)\n",
            "a/_private.py": MAIN,
            "a/test_alpha.py": MAIN,
            "a/conftest.py": MAIN,
            "a/plain.py": "X = 1\n",
            "a/lib/x.py": "",
            "a/notes.txt": "",
        },
    )
    found = discover([tmp_path / "a"], config(tmp_path))
    assert [(a.name, a.how) for a in found.agents] == [
        ("alpha", 'has an `if __name__ == "__main__":` block'),
        ("beta", "has an agent decorator"),
        ("gamma", "folder with __main__.py"),
    ]
    why = {s.path.name: s.why for s in found.skipped}
    assert why == {
        "_private.py": "private helper (name starts with _)",
        "conftest.py": "conftest.py is never an agent",
        "lib": "folder without __main__.py",
        "plain.py": "plain module: no __main__ block or agent decorator",
        "test_alpha.py": "test file",
    }
    assert found.scanned_dirs == (tmp_path / "a",)


def test_a_half_typed_agent_stays_an_agent(tmp_path: Path) -> None:
    make(tmp_path, {"alpha.py": 'def broken(:\nif __name__ == "__main__":\n    pass\n'})
    found = discover([tmp_path], config(tmp_path))
    assert found.names() == {"alpha"}


def test_a_named_file_is_an_agent_whatever_it_holds(tmp_path: Path) -> None:
    make(tmp_path, {"plain.py": "X = 1\n"})
    assert discover([tmp_path / "plain.py"], config(tmp_path)).names() == {"plain"}


def test_named_non_python_file_and_missing_file(tmp_path: Path) -> None:
    make(tmp_path, {"a.txt": ""})
    with pytest.raises(UsageError, match="not a Python file"):
        discover([tmp_path / "a.txt"], config(tmp_path))
    with pytest.raises(UsageError, match="no such file"):
        discover([tmp_path / "nope.py"], config(tmp_path))


def test_two_agents_with_one_name_are_refused(tmp_path: Path) -> None:
    make(tmp_path, {"x/alpha.py": MAIN, "y/alpha.py": MAIN})
    with pytest.raises(UsageError, match="another agent is also named 'alpha'"):
        discover([tmp_path / "x", tmp_path / "y"], config(tmp_path))


def test_meshwatch_agents_add_paths_and_settings(tmp_path: Path) -> None:
    make(tmp_path, {"a/alpha.py": MAIN, "svc/worker.py": "X = 1\n"})
    cfg = config(
        tmp_path,
        AgentSpec("alpha", args=("--port", "1"), env=(("A", "1"),), watch=("p/*.txt",)),
        AgentSpec("worker", path="svc/worker.py"),
        AgentSpec("ghost"),
    )
    found = discover([tmp_path / "a"], cfg)
    alpha = found.get("alpha")
    assert alpha is not None and alpha.args == ("--port", "1") and alpha.watch == ("p/*.txt",)
    worker = found.get("worker")
    assert worker is not None and worker.how == "listed in .meshwatch"
    assert unmatched_specs(found, cfg) == ["ghost"]


def test_a_listed_path_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"agents\.w\.path"):
        discover([], config(tmp_path, AgentSpec("w", path="nope.py")))


def test_a_listed_path_error_is_located_at_its_line(tmp_path: Path) -> None:
    from meshdev.project.configread import parse_config

    make(tmp_path, {"dir/x.txt": "", "folder/helper.py": ""})
    text = "reload_delay: 100\nagents:\n  w:\n    path: nope.py\n  f:\n    path: folder\n"
    text += "  t:\n    path: dir/x.txt\n"
    with pytest.raises(UsageError) as caught:
        discover([], parse_config(text, tmp_path / ".meshwatch"))
    assert str(caught.value).splitlines() == [
        f"{tmp_path}/.meshwatch:4: agents.w.path: nope.py does not exist",
        f"{tmp_path}/.meshwatch:6: agents.f.path: folder is a folder without __main__.py",
        f"{tmp_path}/.meshwatch:8: agents.t.path: dir/x.txt is not a Python file; name a .py "
        "file or a folder with __main__.py",
    ]


CLI_PACKAGE = {"tool/__init__.py": "", "tool/__main__.py": "from tool.cli import main\nmain()\n"}


@pytest.mark.parametrize(
    "scripts",
    ['tool = "tool.cli:main"', 'other-name = "tool.cli:main"', '"tool" = "elsewhere:run"'],
)
def test_a_package_behind_a_declared_console_script_is_a_tool_not_an_agent(
    tmp_path: Path, scripts: str
) -> None:
    make(tmp_path, {**CLI_PACKAGE, "pyproject.toml": f"[project]\n[project.scripts]\n{scripts}\n"})
    found = discover([tmp_path], config(tmp_path))
    assert found.names() == set()
    (skipped,) = [s for s in found.skipped if s.path.name == "tool"]
    assert "command (pyproject.toml): a command-line tool, not an agent" in skipped.why
    assert "meshdev start tool" in skipped.why
    assert discover([tmp_path / "tool"], config(tmp_path)).names() == {"tool"}  # named: runs


def test_a_package_behind_an_installed_console_script_is_a_tool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from meshdev.project import tools

    monkeypatch.setattr(tools, "installed_scripts", lambda: {"tool": "tool"})
    make(tmp_path, CLI_PACKAGE)
    found = discover([tmp_path], config(tmp_path))
    assert found.names() == set()
    assert "the package of the installed `tool` command" in found.skipped[0].why


def test_a_main_folder_that_is_no_package_or_no_script_is_still_an_agent(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "tool/__main__.py": "print(1)\n",  # no __init__.py: a folder to run, not a package
            "svc/__init__.py": "",
            "svc/__main__.py": "print(1)\n",  # a package, but no script names it
            "pyproject.toml": '[project.scripts]\ntool = "tool.cli:main"\n[x]\nsvc = "x"\n',
        },
    )
    assert discover([tmp_path], config(tmp_path)).names() == {"svc", "tool"}


def test_meshdev_s_own_repository_has_no_agent_at_its_root() -> None:
    repo = Path(__file__).parents[2]
    found = discover([repo], config(repo))
    assert "meshdev" not in found.names()
    assert any(s.path.name == "meshdev" and "meshdev" in s.why for s in found.skipped)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder")
def test_a_folder_that_cannot_be_read_is_skipped_not_a_crash(tmp_path: Path) -> None:
    make(tmp_path, {"alpha.py": MAIN, "locked/__main__.py": ""})
    (tmp_path / "locked").chmod(0)
    try:
        assert discover([tmp_path], config(tmp_path)).names() == {"alpha"}
    finally:
        (tmp_path / "locked").chmod(0o700)
