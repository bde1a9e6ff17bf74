from __future__ import annotations

from pathlib import Path

from meshdev.project.patterns import RulesInput, WatchRules
from meshdev.project.scan import files_under, watched_dirs


def make(root: Path, *rels: str) -> None:
    for rel in rels:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")


def rules(root: Path, include: tuple[str, ...] | None = None) -> WatchRules:
    return WatchRules(RulesInput(root, include, (), (), (".py",), {}))


def test_node_modules_venvs_and_caches_cost_no_watch(tmp_path: Path) -> None:
    make(
        tmp_path,
        "agents/a.py",
        "node_modules/pkg/deep/x.js",
        ".venv/lib/y.py",
        "env2/pyvenv.cfg",
        "env2/lib/z.py",
        "a/__pycache__/m.pyc",
        "lib/sub/m.py",
    )
    dirs = {d.relative_to(tmp_path).as_posix() for d in watched_dirs(rules(tmp_path))}
    assert dirs == {".", "agents", "a", "lib", "lib/sub"}


def test_only_folders_the_include_patterns_reach(tmp_path: Path) -> None:
    make(tmp_path, "agents/a.py", "lib/m.py", "big/data/x.py", "docs/d.py")
    r = rules(tmp_path, include=("agents/**/*.py", "lib/*.py"))
    dirs = {d.relative_to(tmp_path).as_posix() for d in watched_dirs(r)}
    assert dirs == {".", "agents", "lib"}


def test_a_base_that_does_not_exist_yet_is_watched_through_its_parent(tmp_path: Path) -> None:
    make(tmp_path, "src/keep.txt")
    r = rules(tmp_path, include=("src/plugins/**/*.py",))
    dirs = {d.relative_to(tmp_path).as_posix() for d in watched_dirs(r)}
    assert dirs == {".", "src"}


def test_shallow_folders_are_added_alone(tmp_path: Path) -> None:
    make(tmp_path, "conf/a.yaml", "conf/deeper/b.yaml", "lib/m.py")
    r = rules(tmp_path, include=("lib/*.py",))
    dirs = {d.relative_to(tmp_path).as_posix() for d in watched_dirs(r, [tmp_path / "conf"])}
    assert dirs == {".", "lib", "conf"}


def test_files_under_lists_direct_files_only(tmp_path: Path) -> None:
    make(tmp_path, "a.py", "sub/b.py")
    assert files_under(rules(tmp_path), [tmp_path]) == [tmp_path / "a.py"]


def test_a_literal_folder_is_walked_as_git_spells_it(tmp_path: Path) -> None:
    make(tmp_path, "#x/a.py", "a /b.py", " lib/x.py", "other/deep/c.py")
    r = rules(tmp_path, include=("\\#x/*.py", "a\\ /*.py", " lib/x.py"))
    dirs = {d.relative_to(tmp_path).as_posix() for d in watched_dirs(r)}
    assert dirs == {".", "#x", "a ", " lib"}


def test_files_are_listed_in_path_order_and_symlinks_by_their_own_name(tmp_path: Path) -> None:
    make(tmp_path, "a-b/x.py", "a/b/y.py", "a/z.py", "real/r.py")
    (tmp_path / "link.py").symlink_to(tmp_path / "real/r.py")
    (tmp_path / "linkdir").symlink_to(tmp_path / "real", target_is_directory=True)
    r = rules(tmp_path, include=("**/*",))
    files = files_under(r, watched_dirs(r))
    assert files == sorted(files)
    assert tmp_path / "link.py" in files and not any("linkdir" in str(f) for f in files)
