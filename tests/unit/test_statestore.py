"""meshdev's private place for state: links, broken secrets, leftovers, long names, fallbacks.

Each test is one row of issue 16 that failed before: the place is prepared by `StateStore.prepare`
exactly as `meshdev start` does, on real files.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from meshdev.project import statestore
from meshdev.project.statestore import StateStore, file_stem
from meshdev.runtime import statefile

ROOT = os.geteuid() == 0
AS_ROOT = "root may write anywhere: read-only folders only stop other users"


@pytest.fixture(autouse=True)
def _fresh_choice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test decides its place anew, with its own per-user folders inside tmp_path."""
    monkeypatch.setattr(statestore, "_CHOSEN", {})
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "home-state"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    (tmp_path / "tmp").mkdir()
    yield


def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir(exist_ok=True)
    return root


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_a_fresh_place_is_private(tmp_path: Path) -> None:
    store = StateStore(project(tmp_path) / ".meshdev")
    prepared = store.prepare()
    assert prepared.place == store.private_dir and prepared.warnings == ()
    assert mode(store.private_dir) == mode(store.folder) == 0o700
    assert mode(store.secret_path) == 0o600 and len(store.secret_path.read_bytes()) == 32


def test_a_dangling_state_link_is_replaced_with_a_warning(tmp_path: Path) -> None:
    store = StateStore(project(tmp_path) / ".meshdev")
    store.private_dir.mkdir()
    store.folder.symlink_to(tmp_path / "nowhere")
    prepared = store.prepare()  # was: FileExistsError
    assert store.folder.is_dir() and not store.folder.is_symlink()
    assert any("was a symbolic link" in w for w in prepared.warnings)


def test_links_to_folders_and_files_elsewhere_are_never_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o755)
    os.chmod(elsewhere, 0o755)
    key = elsewhere / "key"
    key.write_bytes(b"k" * 64)
    os.chmod(key, 0o644)
    store = StateStore(project(tmp_path) / ".meshdev")
    store.private_dir.mkdir()
    store.folder.symlink_to(elsewhere)
    store.secret_path.symlink_to(key)
    prepared = store.prepare()
    assert mode(elsewhere) == 0o755 and mode(key) == 0o644  # nothing chmodded outside
    assert sorted(p.name for p in elsewhere.iterdir()) == ["key"]  # nothing written there
    assert not store.secret_path.is_symlink() and store.secret_path.read_bytes() != b"k" * 64
    assert len(prepared.warnings) == 2


def test_a_linked_meshdev_folder_is_refused_for_a_per_user_place(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.chmod(elsewhere, 0o755)
    private_dir = project(tmp_path) / ".meshdev"
    private_dir.symlink_to(elsewhere)
    prepared = StateStore(private_dir).prepare()
    assert prepared.place is not None and tmp_path / "home-state" in prepared.place.parents
    assert "symbolic link" in prepared.warnings[0] and list(elsewhere.iterdir()) == []
    assert mode(elsewhere) == 0o755
    assert StateStore(private_dir).folder == prepared.place / "state"


@pytest.mark.parametrize("content", [b"", b"short"])
def test_an_empty_or_short_secret_is_set_aside_and_replaced(tmp_path: Path, content: bytes) -> None:
    store = StateStore(project(tmp_path) / ".meshdev")
    store.private_dir.mkdir()
    store.secret_path.write_bytes(content)
    prepared = store.prepare()
    assert len(statefile.read_secret(str(store.secret_path))) == 32  # was: "too short" forever
    assert [p.name.split("-")[0] for p in store.private_dir.glob("secret.*")] == ["secret.invalid"]
    assert "set aside" in prepared.warnings[0]


def test_temporary_files_of_killed_writers_are_removed(tmp_path: Path) -> None:
    store = StateStore(project(tmp_path) / ".meshdev")
    store.folder.mkdir(parents=True)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    leftover = store.folder / f"bot.state.tmp-{int(dead.stdout)}"
    in_progress = store.folder / f"bot.state.tmp-{os.getpid()}"
    for path in (leftover, in_progress):
        path.write_bytes(b"x" * 100_000)
    store.prepare()
    assert not leftover.exists() and in_progress.exists()


def test_every_derived_name_of_a_very_long_agent_fits_a_file_name() -> None:
    for name in ["a" * 245, "é" * 200, "../../escape", ".hidden", "x/y"]:
        stem = file_stem(name)
        longest = f"{stem}.state.crashed-20240101-120000"
        assert len(longest.encode()) <= 255 and "/" not in stem and not stem.startswith(".")
        assert file_stem(name) == stem  # stable: the next start finds the same file
    assert file_stem("a" * 245) != file_stem("a" * 246)
    assert file_stem("bot") == "bot"


def test_a_long_named_agent_saves_and_describes_its_state(tmp_path: Path) -> None:
    name = "agent_" + "x" * 239
    store = StateStore(project(tmp_path) / ".meshdev")
    store.prepare()
    secret = store.secret_path.read_bytes()
    data = statefile.encode(secret, name, {"k": b"\x80\x04K\x01."}, {"k": "int"})
    statefile.write_atomically(str(store.file_for(name)), data)  # was: File name too long
    [entry] = store.describe(name)
    assert entry["agent"] == name and entry["keys"] == {"k": {"type": "int", "size": 5}}
    assert store.clear(name) == [store.file_for(name)]


@pytest.mark.skipif(ROOT, reason=AS_ROOT)
def test_a_read_only_project_gets_a_per_user_place_with_one_warning(tmp_path: Path) -> None:
    root = project(tmp_path)
    os.chmod(root, 0o555)
    try:
        prepared = StateStore(root / ".meshdev").prepare()
    finally:
        os.chmod(root, 0o755)
    assert prepared.place is not None and tmp_path / "home-state" in prepared.place.parents
    assert len(prepared.warnings) == 1 and "cannot keep its files" in prepared.warnings[0]


@pytest.mark.skipif(ROOT, reason=AS_ROOT)
def test_state_show_of_an_unreadable_folder_is_one_problem_not_a_traceback(
    tmp_path: Path,
) -> None:
    store = StateStore(project(tmp_path) / ".meshdev")
    store.prepare()
    os.chmod(store.folder, 0o000)
    try:
        [entry] = store.describe()
    finally:
        os.chmod(store.folder, 0o700)
    assert "cannot read" in entry["problem"]


def test_nowhere_to_write_means_memory_only_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "blocked").write_text("a file where folders should be")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "blocked"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "blocked"))
    private_dir = project(tmp_path) / ".meshdev"
    private_dir.write_text("a file where the folder should be")
    prepared = StateStore(private_dir).prepare()
    assert prepared.place is None and len(prepared.warnings) == 1
    assert "memory only" in prepared.warnings[0]
    assert StateStore(private_dir).run_folder is None
