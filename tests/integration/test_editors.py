"""Editors' real save sequences, storms and odd trees, against the real watcher: one save, one
reload — never zero, never three."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import Meshdev, agent_source, append, cli, wait_until, write

Run = Callable[..., Meshdev]

MESHWATCH = "log_only: ['*.md']\nreload_delay: 100\nstop_grace: 1000\n"


def mesh(tmp_path: Path, meshwatch: str = MESHWATCH) -> None:
    write(tmp_path / ".meshwatch", meshwatch)
    write(tmp_path / "lib/__init__.py", "")
    write(tmp_path / "lib/shared.py", "VALUE = 1\n")
    write(
        tmp_path / "agents/alpha.py",
        agent_source("from lib import shared", "print('value', shared.VALUE, flush=True)"),
    )
    write(tmp_path / "agents/beta.py", agent_source("from lib import shared"))
    write(tmp_path / "agents/gamma.py", agent_source())


def starts(md: Meshdev, agent: str) -> int:
    return len(md.events("agent_started", agent=agent))


def batch_files(md: Meshdev) -> list[str]:
    return [f for e in md.events("batch") for f in e["files"]]


# Each function saves `path` with `text` the way one editor does, temporary files and all.
def vim(path: Path, text: str) -> None:
    swap = path.with_name(f".{path.name}.swp")
    swap.write_bytes(b"vim swap")
    probe = path.with_name("4913")  # vim checks it may create files here
    probe.write_text("")
    probe.unlink()
    backup = path.with_name(path.name + "~")
    os.rename(path, backup)  # backupcopy=auto: rename the original away ...
    path.write_text(text)  # ... write the new file ...
    backup.unlink()  # ... and drop the backup (nowritebackup)
    swap.unlink()


def emacs(path: Path, text: str) -> None:
    lock = path.with_name(f".#{path.name}")
    os.symlink("user@host.1234:1", lock)
    autosave = path.with_name(f"#{path.name}#")
    autosave.write_text(text)
    shutil.copy2(path, path.with_name(path.name + "~"))  # backup on first save
    path.write_text(text)
    autosave.unlink()
    lock.unlink()


def jetbrains(path: Path, text: str) -> None:
    temp = path.with_name(path.name + "___jb_tmp___")
    old = path.with_name(path.name + "___jb_old___")
    temp.write_text(text)
    os.rename(path, old)
    os.rename(temp, path)
    old.unlink()


def vscode(path: Path, text: str) -> None:
    with path.open("w") as handle:  # truncate, then two writes: two modify events
        handle.write(text[: len(text) // 2])
        handle.flush()
        handle.write(text[len(text) // 2 :])


def kate(path: Path, text: str) -> None:
    swap = path.with_name(f".{path.name}.kate-swp")
    swap.write_bytes(b"kate swap")
    temp = path.with_name(f"{path.name}.Xk3dQ2")  # QSaveFile: write aside, then rename
    temp.write_text(text)
    os.rename(temp, path)
    swap.unlink()


def gedit(path: Path, text: str) -> None:
    temp = path.with_name(".goutputstream-7XK2Q1")
    temp.write_text(text)
    shutil.copy2(path, path.with_name(path.name + "~"))
    os.rename(temp, path)


def delete_then_create(path: Path, text: str) -> None:
    path.unlink()
    path.write_text(text)


def write_temp_then_rename(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text)
    os.replace(temp, path)


EDITORS = [vim, emacs, jetbrains, vscode, kate, gedit, delete_then_create, write_temp_then_rename]


@pytest.mark.parametrize("save", EDITORS, ids=lambda f: f.__name__)
def test_an_editor_save_gives_exactly_one_reload(
    tmp_path: Path, meshdev_run: Run, save: Callable[[Path, str], None]
) -> None:
    mesh(tmp_path)
    md = meshdev_run("agents", wait_ready=("alpha", "beta", "gamma"))
    save(tmp_path / "lib/shared.py", "VALUE = 2\n")
    assert md.wait_event("reload")["agents"] == ["alpha", "beta"]
    wait_until(lambda: "value 2" in md.output(), "alpha runs the saved code", context=md.context)
    md.barrier()
    assert (starts(md, "alpha"), starts(md, "beta"), starts(md, "gamma")) == (2, 2, 1)
    assert len(md.events("reload")) == 1
    noise = [f for f in batch_files(md) if "barrier" not in f and f != "lib/shared.py"]
    assert noise == []  # no swap, backup, lock or temporary file ever counted
    assert not md.events("unused")
    assert [e["files"] for e in md.events("log_only")] == [["barrier-1.md"]]


@pytest.mark.parametrize("save", [vim, vscode, jetbrains], ids=lambda f: f.__name__)
def test_a_save_with_identical_content_restarts_nothing(
    tmp_path: Path, meshdev_run: Run, save: Callable[[Path, str], None]
) -> None:
    mesh(tmp_path)
    md = meshdev_run("agents", "--verbose", wait_ready=("alpha", "beta", "gamma"))
    save(tmp_path / "lib/shared.py", "VALUE = 1\n")  # format-on-save with nothing to format
    assert md.wait_event("unchanged")["files"] == ["lib/shared.py"]
    md.barrier()
    assert not md.events("reload")
    assert "identical content: nothing to restart" in md.output()
    result = cli("reload", "alpha", cwd=tmp_path)
    assert result.stdout.strip() == "reloaded alpha"  # the way to force one


def test_a_storm_of_two_thousand_files_gives_one_reload_per_affected_agent(
    tmp_path: Path, meshdev_run: Run
) -> None:
    # A quiet time the 2,000 writes fit in even on a loaded machine: the test writes them.
    mesh(tmp_path, MESHWATCH.replace("reload_delay: 100", "reload_delay: 600"))
    write(tmp_path / "lib/gen/__init__.py", "")
    write(tmp_path / "lib/gen/used.py", "X = 1\n")
    write(tmp_path / "agents/gamma.py", agent_source("from lib.gen import used"))
    md = meshdev_run("agents", wait_ready=("alpha", "beta", "gamma"))
    for i in range(2000):  # a code generator rewriting its output
        (tmp_path / f"lib/gen/m{i}.py").write_text(f"N = {i}\n")
    (tmp_path / "lib/gen/used.py").write_text("X = 2\n")
    reload = md.wait_event("reload")
    assert reload["agents"] == ["gamma"]
    md.barrier()
    assert (starts(md, "alpha"), starts(md, "beta"), starts(md, "gamma")) == (1, 1, 2)
    storm = [e for e in md.events("batch") if e["count"] > 1000]
    assert storm and storm[0]["restarted"] == ["gamma"]
    assert sum(e["count"] for e in md.events("batch") if "barrier" not in str(e["files"])) == 2001
    assert "2001 files changed; restarted gamma" in md.output()


def git(tmp_path: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
        },
    )


def test_git_checkout_and_stash_reload_once_and_run_the_new_code(
    tmp_path: Path, meshdev_run: Run
) -> None:
    mesh(tmp_path)
    write(tmp_path / ".gitignore", "events.jsonl\nmeshdev-output.txt\n.meshdev/\nbarrier-*\n")
    for i in range(300):
        write(tmp_path / f"docs/page{i}.txt", f"page {i}\n")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "one")
    git(tmp_path, "checkout", "-qb", "other")
    for i in range(300):
        write(tmp_path / f"docs/page{i}.txt", f"page {i}, other branch\n")
    write(tmp_path / "lib/shared.py", "VALUE = 3\n")
    git(tmp_path, "commit", "-qam", "two")
    git(tmp_path, "checkout", "-q", "main")
    md = meshdev_run("agents", wait_ready=("alpha", "beta", "gamma"))
    git(tmp_path, "checkout", "-q", "other")
    assert md.wait_event("reload")["agents"] == ["alpha", "beta"]
    wait_until(lambda: "value 3" in md.output(), "the post-checkout code", context=md.context)
    md.barrier()
    assert (starts(md, "alpha"), starts(md, "beta"), starts(md, "gamma")) == (2, 2, 1)
    mark = md.mark()
    append(tmp_path / "lib/shared.py", "VALUE = 4\n")
    md.wait_event("reload", after=mark)
    mark = md.mark()
    git(tmp_path, "stash", "-q")
    md.wait_event("reload", after=mark)
    md.barrier()
    assert starts(md, "alpha") == 4 and starts(md, "gamma") == 1


def test_deleted_and_recreated_folders_are_followed(tmp_path: Path, meshdev_run: Run) -> None:
    mesh(tmp_path)
    write(tmp_path / "lib/sub/__init__.py", "")
    write(tmp_path / "lib/sub/deep.py", "Y = 1\n")
    write(tmp_path / "agents/gamma.py", agent_source("from lib.sub import deep"))
    md = meshdev_run("agents", wait_ready=("alpha", "beta", "gamma"))
    shutil.rmtree(tmp_path / "lib/sub")
    md.barrier()
    mark = md.mark()
    write(tmp_path / "lib/sub/__init__.py", "")
    write(tmp_path / "lib/sub/deep.py", "Y = 2\n")
    assert md.wait_event("reload", after=mark)["agents"] == ["gamma"]
    md.barrier()
    mark = md.mark()
    append(tmp_path / "lib/sub/deep.py", "# and the new folder is watched\n")
    assert md.wait_event("reload", after=mark)["agents"] == ["gamma"]


def test_forced_polling_is_announced_and_still_reloads(tmp_path: Path, meshdev_run: Run) -> None:
    mesh(tmp_path, MESHWATCH + "poll_interval: 100\n")
    md = meshdev_run(
        "agents", env={"MESHDEV_FORCE_POLLING": "true"}, wait_ready=("alpha", "beta", "gamma")
    )
    watching = md.events("watching")[0]
    assert watching["polling"] is True and watching["poll_reason"] == "force_polling"
    assert "polling every 100 ms because of force_polling" in md.output()
    append(tmp_path / "lib/shared.py", "# edit\n")
    assert md.wait_event("reload")["agents"] == ["alpha", "beta"]


def test_gitignored_outputs_never_count_but_an_imported_gitignored_module_does(
    tmp_path: Path, meshdev_run: Run
) -> None:
    mesh(tmp_path, MESHWATCH.replace("log_only: ['*.md']", "log_only: ['*.md']\ninclude: ['**/*']"))
    write(tmp_path / ".gitignore", "*.log\nbuild/\ngenerated/\n")
    for i in range(50):
        write(tmp_path / f"build/lib/pkg{i}/x.py", "")
    write(tmp_path / "generated/__init__.py", "")
    write(tmp_path / "generated/schema.py", "S = 1\n")
    write(
        tmp_path / "agents/logger.py",
        agent_source(
            "import threading",
            "log = os.path.join(os.path.dirname(__file__), '..', 'app.log')\n"
            "def loop():\n"
            "    while True:\n"
            "        open(log, 'a').write('line\\n'); time.sleep(0.02)\n"
            "threading.Thread(target=loop, daemon=True).start()",
        ),
    )
    write(tmp_path / "agents/gamma.py", agent_source("import generated.schema"))
    md = meshdev_run("agents", wait_ready=("alpha", "beta", "gamma", "logger"))
    assert md.events("watching")[0]["dirs"] < 10  # build/ is not walked
    append(tmp_path / "generated/schema.py", "# regenerated\n")
    assert md.wait_event("reload")["agents"] == ["gamma"]
    md.barrier()
    assert not [f for f in batch_files(md) if f.endswith(".log") or f.startswith("build/")]
    write(tmp_path / ".gitignore", "build/\ngenerated/\n")  # *.log no longer ignored: live
    md.wait_event("config_reloaded", file=".gitignore")


def test_an_agent_reading_back_its_own_output_never_reloads_itself(
    tmp_path: Path, meshdev_run: Run
) -> None:
    mesh(tmp_path, MESHWATCH + "gitignore: false\ninclude: ['**/*']\n")
    write(
        tmp_path / "agents/diary.py",
        agent_source(
            "import threading",
            "path = os.path.join(os.path.dirname(__file__), 'diary.txt')\n"
            "def loop():\n"
            "    while True:\n"
            "        open(path, 'a').write('entry\\n')\n"
            "        open(path).read()  # and reads it back\n"
            "        time.sleep(0.02)\n"
            "threading.Thread(target=loop, daemon=True).start()",
        ),
    )
    md = meshdev_run("agents/diary.py", wait_ready=("diary",))
    for _ in range(3):
        md.barrier()
    assert starts(md, "diary") == 1
    assert "agents/diary.txt" not in batch_files(md)


def test_a_symlink_loop_in_the_tree_is_harmless(tmp_path: Path, meshdev_run: Run) -> None:
    mesh(tmp_path)
    os.symlink("..", tmp_path / "lib/loop")
    md = meshdev_run("agents", wait_ready=("alpha", "beta", "gamma"))
    assert md.events("watching")[0]["dirs"] == 3  # root, agents, lib: the link is not followed
    append(tmp_path / "lib/shared.py", "# edit\n")
    assert md.wait_event("reload")["agents"] == ["alpha", "beta"]


def test_a_package_build_in_the_project_is_a_storm_that_restarts_nothing(
    tmp_path: Path, meshdev_run: Run
) -> None:
    """What `pip install -e .` / `pip install .` write into the project: an egg-info folder and
    build/ copies of the sources, which no agent imports."""
    mesh(tmp_path)
    md = meshdev_run("agents", wait_ready=("alpha", "beta", "gamma"))
    setup = (
        "from setuptools import setup; setup(name='demo-agents', version='0.1', packages=['lib'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", setup, "egg_info", "build"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "build/lib/lib/shared.py").exists()
    md.barrier()
    assert not md.events("reload")
    assert (starts(md, "alpha"), starts(md, "beta"), starts(md, "gamma")) == (1, 1, 1)
