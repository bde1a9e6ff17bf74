"""The `.meshwatch` cache (project/configcache.py): what a start reads from it is exactly what
reading the file gives, and anything doubtful is read again."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from meshdev.project import configcache
from meshdev.project.config import load_config
from meshdev.project.configread import parse_config

FULL = """
include: ["agents/**/*.py", "lib/**"]
exclude:
  - "**/test_*.py"
log_only: ["*.md"]
refresh: ["lib/**"]
restart: ["lib/boot.py"]
reload_delay: 250
stop_grace: 1500
preserve_state: false
reload_strategy: refresh
watch_extensions: [".py", ".yaml"]
agents:
  bot:
    args: ["--port", "8000"]
    env: {MODE: dev, LEVEL: "3"}
    watch: ["conf/bot.yaml"]
    ready_port: 8000
  extra:
    path: tools/extra.py
    front: false
    reload_strategy: restart
"""


def project(tmp_path: Path, text: str = FULL, private: bool = True) -> Path:
    path = tmp_path / ".meshwatch"
    path.write_text(text)
    if private:
        (tmp_path / ".meshdev").mkdir(mode=0o700)
    return path


def cached(path: Path) -> Path:
    return path.parent / ".meshdev" / configcache.CACHE_NAME


def test_a_second_read_comes_from_the_cache_and_equals_the_file(tmp_path: Path) -> None:
    path = project(tmp_path)
    first = load_config(path)
    assert cached(path).exists() and cached(path).stat().st_mode & 0o777 == 0o600
    again = configcache.recall(path, path.read_text())
    assert again == first == parse_config(FULL, path)
    assert again is not None and [a.line for a in again.agents] == [a.line for a in first.agents]


def test_a_start_with_its_meshwatch_cached_imports_no_yaml(tmp_path: Path) -> None:
    path = project(tmp_path)
    load_config(path)
    code = (
        "import sys; from pathlib import Path; from meshdev.project.config import load_config\n"
        f"config = load_config(Path({str(path)!r}))\n"
        "print('yaml' in sys.modules, config.given('reload_delay'), config.agents[0].env)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split(maxsplit=2) == ["False", "250", "(('MODE', 'dev'), ('LEVEL', '3'))\n"]


def test_a_changed_text_is_read_again(tmp_path: Path) -> None:
    path = project(tmp_path)
    load_config(path)
    path.write_text(FULL.replace("reload_delay: 250", "reload_delay: 400"))
    assert configcache.recall(path, path.read_text()) is None
    assert load_config(path).given("reload_delay") == 400
    assert configcache.recall(path, path.read_text()) is not None


def test_a_change_of_meshdev_s_reading_code_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = tmp_path / "code"
    shutil.copytree(Path(configcache.__file__).parent, code)
    monkeypatch.setattr(configcache, "_HERE", code)
    path = project(tmp_path)
    load_config(path)
    assert configcache.recall(path, FULL) is not None
    readers = code / "readers.py"
    os.utime(readers, ns=(0, readers.stat().st_mtime_ns + 1))
    assert configcache.recall(path, FULL) is None


@pytest.mark.parametrize("damage", [b"", b"{", b"[1, 2]", b'{"key": 1}', b"\xff\xfe"])
def test_a_damaged_cache_is_a_miss_and_is_written_anew(tmp_path: Path, damage: bytes) -> None:
    path = project(tmp_path)
    load_config(path)
    cached(path).write_bytes(damage)
    assert configcache.recall(path, FULL) is None
    assert load_config(path) == parse_config(FULL, path)
    assert configcache.recall(path, FULL) is not None


def test_an_entry_with_the_right_key_and_a_broken_config_is_a_miss(tmp_path: Path) -> None:
    path = project(tmp_path)
    load_config(path)
    key = configcache._key(path, FULL)
    cached(path).write_text(json.dumps({"key": key, "config": {"agents": [{"nope": 1}]}}))
    assert configcache.recall(path, FULL) is None


def test_nothing_is_written_where_meshdev_keeps_no_files_yet(tmp_path: Path) -> None:
    path = project(tmp_path, private=False)
    load_config(path)
    assert not (tmp_path / ".meshdev").exists()


def test_a_linked_private_folder_is_never_read_or_written_through(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / "p").mkdir()
    path = project(tmp_path / "p", private=False)
    (path.parent / ".meshdev").symlink_to(elsewhere)
    load_config(path)
    assert list(elsewhere.iterdir()) == []
    (elsewhere / configcache.CACHE_NAME).write_text("{}")
    assert configcache.recall(path, FULL) is None


def test_a_config_json_cannot_hold_exactly_is_not_kept(tmp_path: Path) -> None:
    path = project(tmp_path)
    config = parse_config(FULL, path)
    odd = type(config)(path=path, root=path.parent, values={"reload_delay": [250]})
    configcache.remember(path, FULL, odd)  # a list would come back as a tuple: not equal
    assert not cached(path).exists()
