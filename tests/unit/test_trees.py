"""Content fingerprints, .gitignore rules, filesystems that need polling, and odd trees."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from meshdev.decide.fingerprints import Fingerprints
from meshdev.project import gitignore, scan
from meshdev.project.patterns import GitIgnores, RulesInput, Verdict, WatchRules
from meshdev.sources.files import filesystem_of, group_ms_for, polling_reason


def test_identical_content_is_no_change_and_a_real_change_is_remembered(tmp_path: Path) -> None:
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("x = 1\n")
    b.write_text("y = 1\n")
    prints = Fingerprints()
    prints.remember([a])
    a.write_text("x = 1\n")  # rewritten, same bytes
    assert prints.split([a, b]) == ([b], [a])  # b was never remembered: a change
    a.write_text("x = 2\n")
    assert prints.stale() == [a]
    assert prints.split([a]) == ([a], [])
    assert prints.split([a]) == ([], [a])  # the new content is now the known one
    a.unlink()
    assert prints.split([a]) == ([a], [])  # a deletion is a change


def test_gitignore_rules_nest_and_negate() -> None:
    ignores = GitIgnores([("", ("*.log", "build/", "!keep.log")), ("svc", ("gen/",))])
    assert ignores.deciding("app.log") == ("*.log", ".gitignore")
    assert ignores.deciding("keep.log") is None
    assert ignores.deciding("x/build/") == ("build/", ".gitignore")
    assert ignores.deciding("svc/gen/") == ("gen/", "svc/.gitignore")
    assert ignores.deciding("other/gen/") is None


def test_git_ignored_files_are_not_watched_but_never_excluded(tmp_path: Path) -> None:
    ignores = GitIgnores([("", ("*.log", "gen/"))])
    rules = WatchRules(RulesInput(tmp_path, None, (), (), (".py",), {}, ignores))
    decision = rules.decide(tmp_path / "gen/schema.py")
    assert decision.verdict is Verdict.UNWATCHED and decision.source == ".gitignore"
    assert rules.prunes_dir("gen")
    assert rules.decide(tmp_path / "sub/.gitignore").verdict is Verdict.CONFIG
    plain = WatchRules(RulesInput(tmp_path, None, (), (), (".py",), {}))
    assert plain.decide(tmp_path / "gen/schema.py").verdict is Verdict.RELOAD


def test_loading_gitignores_skips_ignored_folders(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("vendor/\n")
    for folder in ("svc", "vendor/pkg", "node_modules/x"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "svc/.gitignore").write_text("*.tmp.py\n")
    (tmp_path / "vendor/pkg/.gitignore").write_text("never read\n")
    (tmp_path / "node_modules/x/.gitignore").write_text("never read\n")
    base = WatchRules(RulesInput(tmp_path, None, (), (), (".py",), {}))
    loaded = gitignore.load(tmp_path, base.prunes_dir)
    assert sorted(folder for folder, _ in loaded.files) == ["", "svc"]


MOUNTINFO = """\
22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
40 22 0:50 / /mnt/nfs rw - nfs4 server:/export rw
41 22 0:51 / /mnt/nfs/local rw - ext4 /dev/sdb1 rw
42 22 0:52 / /host rw - 9p drvfs rw
43 22 0:53 / /with\\040space rw - fuse.sshfs host: rw
"""


@pytest.mark.parametrize(
    ("path", "fstype", "reason"),
    [
        ("/home/me/project", "ext4", None),
        ("/mnt/nfs/project", "nfs4", "nfs4 filesystem"),
        ("/mnt/nfs/local/project", "ext4", None),  # the deepest mount wins
        ("/host/project", "9p", "9p filesystem"),
        ("/with space/p", "fuse.sshfs", "fuse.sshfs filesystem"),
    ],
)
def test_filesystems_that_need_polling(path: str, fstype: str, reason: str | None) -> None:
    assert filesystem_of(Path(path), MOUNTINFO) == fstype
    if "microsoft" not in os.uname().release.lower():
        assert polling_reason(Path(path), None, MOUNTINFO) == reason
    assert polling_reason(Path(path), True, MOUNTINFO) == "force_polling"
    assert polling_reason(Path(path), False, MOUNTINFO) is None


def test_the_grouping_cap_stays_below_the_quiet_time() -> None:
    assert group_ms_for(500) == 200 and group_ms_for(100) == 49 and group_ms_for(0) == 2


def test_unreadable_and_vanishing_folders_are_reported_or_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for folder in ("ok/a", "locked/b", "gone"):
        (tmp_path / folder).mkdir(parents=True)
    real = os.scandir

    def scandir(path: object) -> object:
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied")
        if str(path).endswith("gone"):
            raise FileNotFoundError(2, "vanished")
        return real(path)  # type: ignore[arg-type]

    monkeypatch.setattr(scan.os, "scandir", scandir)
    rules = WatchRules(RulesInput(tmp_path, None, (), (), (".py",), {}))
    unreadable: set[Path] = set()
    found = set(scan.walk_dirs(rules, tmp_path, unreadable))
    assert found == {tmp_path, tmp_path / "ok", tmp_path / "ok/a"}
    assert unreadable == {tmp_path / "locked"}


def test_a_symlink_loop_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    os.symlink("..", tmp_path / "a" / "loop")
    rules = WatchRules(RulesInput(tmp_path, None, (), (), (".py",), {}))
    assert set(scan.walk_dirs(rules, tmp_path)) == {tmp_path, tmp_path / "a"}
