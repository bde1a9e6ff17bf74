"""Faults of the file system and of the control socket, with real meshdev and real agents: stale
bytecode, a full disk, a read-only or someone else's project, links and broken files in
`.meshdev/`, long names, and other users near the socket. Each test is one row of issue 16 (and
13.2) that failed before.

Where a fault needs another user or a mount, it is made for real: a user namespace with its own
mount namespace (`unshare -Urm`, no root needed) mounts a tiny tmpfs or a read-only bind mount for
meshdev alone; files of "another user" are chowned to nobody, which needs root. Tests that cannot
make their fault here are skipped, saying why.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import Meshdev, agent_source, append, cli, is_alive, wait_until, write

from meshdev.project.statestore import StateStore
from meshdev.runtime import statefile
from meshdev.sources import commands

Run = Callable[..., Meshdev]
ROOT = os.geteuid() == 0
NOBODY = 65534
MESHWATCH = "log_only: ['*.md']\nreload_delay: 50\nstop_grace: 1000\n"
COUNTER = """
import os, time
import meshdev
meshdev.state["count"] = meshdev.state.get("count", 0) + 1
print("count", meshdev.state["count"], flush=True)
meshdev.ready()
if __name__ == "__main__":
    while True:
        time.sleep(1)
"""


def _userns_works() -> bool:
    try:
        done = subprocess.run(["unshare", "-Urm", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


USERNS = _userns_works()
needs_userns = pytest.mark.skipif(not USERNS, reason="no user namespaces here (unshare -Urm)")
needs_root = pytest.mark.skipif(not ROOT, reason="making a file another user's needs root")
not_root = pytest.mark.skipif(ROOT, reason="root may write anywhere: chmod 0555 stops only users")


@dataclass
class Wrapped(Meshdev):
    """A real meshdev started through a prefix (`unshare ... sh -c '...; exec "$@"'`), which execs
    it: the pid stays meshdev's own."""

    prefix: list[str] = field(default_factory=list)

    def command(self) -> list[str]:
        return [*self.prefix, *super().command()]


@pytest.fixture
def wrapped(tmp_path: Path) -> Iterator[Callable[..., Wrapped]]:
    started: list[Wrapped] = []

    def run(prefix: list[str], *args: str, env: dict[str, str] | None = None) -> Wrapped:
        md = Wrapped(tmp_path, list(args), {**private_env(tmp_path), **(env or {})}, prefix=prefix)
        started.append(md)
        return md.start()

    yield run
    for md in started:
        md.cleanup()


def private_env(tmp_path: Path) -> dict[str, str]:
    """meshdev's per-user folders inside the test's folder."""
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return {"XDG_STATE_HOME": str(tmp_path / "state-home"), "TMPDIR": str(tmp_path / "tmp")}


def counter_project(folder: Path) -> Path:
    write(folder / ".meshwatch", MESHWATCH)
    return write(folder / "agents/counter.py", COUNTER)


def no_traceback(md: Meshdev) -> None:
    assert "Traceback" not in md.output(), md.context()


# -- Code: after a reload the agent runs what is on disk --------------------------------------

BOT = agent_source("from lib import mod", 'print("value", mod.VALUE, flush=True)')
BYTECODE_ON = {"PYTHONDONTWRITEBYTECODE": ""}  # as on users' machines: .pyc files are written


def same_size_same_second(module: Path, text: str) -> None:
    """Save `text` over `module` as an editor that saves twice within a second does: same size,
    and the same modification time in whole seconds (all a timestamp .pyc records)."""
    before = module.stat()
    assert len(text.encode()) == before.st_size
    temp = module.with_name(f".{module.name}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.utime(temp, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(temp, module)


def test_same_size_saves_within_one_second_run_the_new_code(
    tmp_path: Path, meshdev_run: Run
) -> None:
    write(tmp_path / ".meshwatch", MESHWATCH)
    write(tmp_path / "lib/__init__.py", "")
    module = write(tmp_path / "lib/mod.py", "VALUE = 21\n")
    write(tmp_path / "agents/bot.py", BOT)
    md = meshdev_run("agents", env=BYTECODE_ON, wait_ready=("bot",))
    wait_until(lambda: "value 21" in md.output(), "value 21", context=md.context)
    assert list((tmp_path / "lib/__pycache__").glob("mod.*.pyc"))  # bytecode writing is on
    for value in range(22, 28):
        mark = md.mark()
        same_size_same_second(module, f"VALUE = {value}\n")
        md.wait_event("agent_ready", agent="bot", after=mark)
        wait_until(
            lambda v=value: f"value {v}" in md.output(), f"value {value}", context=md.context
        )
    result = cli("reload", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    wait_until(lambda: md.output().count("value 27") == 2, "value 27 after a manual reload")


def test_a_stale_pyc_from_an_earlier_plain_run_is_not_used(
    tmp_path: Path, meshdev_run: Run
) -> None:
    write(tmp_path / ".meshwatch", MESHWATCH)
    write(tmp_path / "lib/__init__.py", "")
    module = write(tmp_path / "lib/mod.py", "VALUE = 41\n")
    write(tmp_path / "agents/bot.py", BOT)
    plain = subprocess.run(
        [sys.executable, "-c", "import lib.mod; print(lib.mod.VALUE)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, **BYTECODE_ON},
        check=True,
    )
    assert plain.stdout.strip() == "41"
    same_size_same_second(module, "VALUE = 42\n")
    md = meshdev_run("agents", env=BYTECODE_ON, wait_ready=("bot",))
    wait_until(lambda: "value " in md.output(), "a value", context=md.context)
    assert "value 42" in md.output() and "value 41" not in md.output()


# -- Files: a full disk --------------------------------------------------------------------

FILLER = """
import os, time
import meshdev
path = os.path.join(os.environ["FILL"], "filler")
try:
    with open(path, "wb") as out:
        while True:
            out.write(b"x" * 4096)
            out.flush()
except OSError as exc:
    print("disk full:", exc.strerror, flush=True)
meshdev.ready()
if __name__ == "__main__":
    while True:
        time.sleep(1)
"""


@needs_userns
def test_a_restart_on_a_full_disk_is_one_warning_and_meshdev_goes_on(
    tmp_path: Path, wrapped: Callable[..., Wrapped]
) -> None:
    """`.meshdev` is a 200 KB tmpfs of meshdev's own mount namespace, filled by an agent."""
    project = tmp_path / "project"
    script = write(project / ".meshwatch", MESHWATCH).parent / "agents/bot.py"
    write(script, agent_source())
    write(project / "agents/filler.py", FILLER)
    (project / ".meshdev").mkdir()
    mount = 'mount -t tmpfs -o size=200k tmpfs "$0/.meshdev" && exec "$@"'
    md = wrapped(
        ["unshare", "-Urm", "sh", "-c", mount, str(project)],
        "project/agents",
        env={"FILL": str(project / ".meshdev")},
    )
    md.wait_event("agent_ready", agent="bot")
    md.wait_event("agent_ready", agent="filler")
    wait_until(lambda: "disk full: No space left" in md.output(), "a full disk", context=md.context)
    for _ in range(3):
        md.edit_and_wait_ready(script, "bot")  # was: a traceback in fleet._write_start_info
    warnings = [w for w in md.events("warning") if "start file" in w["message"]]
    assert len(warnings) == 1 and "No space left on device" in warnings[0]["message"]
    assert not md.exited()
    no_traceback(md)
    assert md.signal(signal.SIGTERM) == 143


def test_an_events_log_on_a_full_disk_is_one_warning_and_meshdev_goes_on(tmp_path: Path) -> None:
    """/dev/full answers every write with ENOSPC, as a full disk does."""
    counter_project(tmp_path)
    out = tmp_path / "output.txt"
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "meshdev", "start", "agents", "--events", "/dev/full"],
            cwd=tmp_path,
            env={**os.environ, "NO_COLOR": "1", **private_env(tmp_path)},
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        text = lambda: out.read_text(errors="replace")  # noqa: E731
        wait_until(lambda: "count 1" in text(), "count 1", context=text)
        append(tmp_path / "agents/counter.py", "# edit\n")
        wait_until(lambda: "count 2" in text(), "count 2 after a restart", context=text)
        assert proc.poll() is None, text()
        assert text().count("cannot write the events log /dev/full") == 1, text()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 143
        assert "Traceback" not in text()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def test_the_events_log_is_created_0600(tmp_path: Path, meshdev_run: Run) -> None:
    counter_project(tmp_path)
    md = meshdev_run("agents", wait_ready=("counter",))
    assert stat.S_IMODE(md.events_path.stat().st_mode) == 0o600


# -- Files: a read-only or someone else's project ----------------------------------------------


def unwritable(tmp_path: Path, how: str, earlier: bool) -> tuple[list[str], Path]:
    """A project meshdev cannot write, made for real: the prefix to run meshdev with, and the
    project. `earlier`: a `.meshdev/` from an earlier run is there (with state in it)."""
    project = tmp_path / "project"
    counter_project(project)
    if earlier:  # what an earlier run left: the place, its secret, a saved state
        store = StateStore(project / ".meshdev")
        store.prepare()
        data = statefile.encode(store.secret_path.read_bytes(), "counter", {}, {})
        statefile.write_atomically(str(store.file_for("counter")), data)
    if how == "read-only bind mount":
        ro = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
        return ["unshare", "-Urm", "sh", "-c", ro, str(project)], project
    if how == "another user's project":
        os.chown(project, NOBODY, NOBODY)  # 0755: readable, not writable by meshdev's user
        os.chmod(project, 0o755)
    elif how == "another user's .meshdev":
        (project / ".meshdev").mkdir(exist_ok=True)
        os.chown(project / ".meshdev", NOBODY, NOBODY)
        os.chmod(project / ".meshdev", 0o700)
    # In a user namespace that maps only root, nobody's files are truly someone else's: root
    # there has no power over files of users it does not map.
    return ["unshare", "-Ur"], project


CASES = [
    pytest.param("read-only bind mount", False, marks=needs_userns, id="ro-mount"),
    pytest.param("read-only bind mount", True, marks=needs_userns, id="ro-mount-earlier"),
    pytest.param("another user's project", False, marks=[needs_userns, needs_root], id="foreign"),
    pytest.param(
        "another user's .meshdev", True, marks=[needs_userns, needs_root], id="foreign-dot"
    ),
]


@pytest.mark.parametrize(("how", "earlier"), CASES)
def test_an_unwritable_project_runs_with_state_in_a_per_user_place(
    tmp_path: Path, wrapped: Callable[..., Wrapped], how: str, earlier: bool
) -> None:
    prefix, project = unwritable(tmp_path, how, earlier)
    md = wrapped(prefix, "project/agents")
    md.wait_event("agent_ready", agent="counter")
    [warning] = [w for w in md.events("warning") if "cannot keep its files" in w["message"]]
    assert str(tmp_path / "state-home") in warning["message"]
    mark = md.mark()
    append(project / "agents/counter.py", "# edit\n")
    md.wait_event("agent_ready", agent="counter", after=mark)
    wait_until(
        lambda: "count 2" in md.output(), "state kept across the restart", context=md.context
    )
    no_traceback(md)
    assert md.signal(signal.SIGTERM) == 143
    fresh = wrapped(prefix, "project/agents", "--no-preserve-state")
    fresh.wait_event("agent_ready", agent="counter")
    no_traceback(fresh)


@pytest.mark.parametrize(("how", "earlier"), CASES)
def test_state_show_of_an_unwritable_project_reads_the_per_user_place(
    tmp_path: Path, wrapped: Callable[..., Wrapped], how: str, earlier: bool
) -> None:
    prefix, _ = unwritable(tmp_path, how, earlier)
    md = wrapped(prefix, "project/agents")
    md.wait_event("agent_ready", agent="counter")
    assert md.signal(signal.SIGTERM) == 143  # its state is saved, in the per-user place
    show = subprocess.run(
        [*prefix, sys.executable, "-m", "meshdev", "state", "show", "--project", "project"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", **private_env(tmp_path)},
        timeout=60,
    )
    assert show.returncode == 0 and "count" in show.stdout, show.stdout + show.stderr


@not_root
@pytest.mark.parametrize("earlier", [False, True], ids=["no-meshdev", "earlier-meshdev"])
def test_a_project_folder_without_write_permission_runs_too(
    tmp_path: Path, meshdev_run: Run, earlier: bool
) -> None:
    project = tmp_path / "project"
    script = counter_project(project)
    if earlier:
        (project / ".meshdev").mkdir(mode=0o700)
    for folder in (project, project / "agents"):
        os.chmod(folder, 0o555)
    try:
        md = meshdev_run("project/agents", env=private_env(tmp_path), wait_ready=("counter",))
        if earlier:
            os.chmod(project / ".meshdev", 0o500)  # what it can read it may not write
        mark = md.mark()
        append(script, "# edit\n")
        md.wait_event("agent_ready", agent="counter", after=mark)
        wait_until(lambda: "count 2" in md.output(), "count 2", context=md.context)
        no_traceback(md)
    finally:
        for folder in (project, project / "agents"):
            os.chmod(folder, 0o755)


# -- Files: links and broken files in .meshdev/ ---------------------------------------------


def test_a_dangling_state_link_is_replaced_and_state_is_kept(
    tmp_path: Path, meshdev_run: Run
) -> None:
    script = counter_project(tmp_path)
    (tmp_path / ".meshdev").mkdir()
    (tmp_path / ".meshdev/state").symlink_to(tmp_path / "gone")
    md = meshdev_run("agents", env=private_env(tmp_path), wait_ready=("counter",))
    assert any("was a symbolic link" in w["message"] for w in md.events("warning"))
    md.edit_and_wait_ready(script, "counter")
    wait_until(lambda: "count 2" in md.output(), "count 2", context=md.context)
    assert not (tmp_path / "gone").exists()


def test_an_empty_secret_is_replaced_and_state_is_saved_again(
    tmp_path: Path, meshdev_run: Run
) -> None:
    script = counter_project(tmp_path)
    (tmp_path / ".meshdev").mkdir(mode=0o700)
    (tmp_path / ".meshdev/secret").write_bytes(b"")
    md = meshdev_run("agents", env=private_env(tmp_path), wait_ready=("counter",))
    assert any("secret" in w["message"] for w in md.events("warning"))
    md.edit_and_wait_ready(script, "counter")
    wait_until(lambda: "count 2" in md.output(), "count 2", context=md.context)
    assert "too short" not in md.output()


def test_an_agent_with_a_very_long_name_keeps_its_state(tmp_path: Path, meshdev_run: Run) -> None:
    name = "a" * 245  # the file is 248 bytes: its temporary state file used to pass 255
    write(tmp_path / ".meshwatch", MESHWATCH)
    script = write(tmp_path / f"agents/{name}.py", COUNTER)
    md = meshdev_run("agents", env=private_env(tmp_path), wait_ready=(name,))
    md.edit_and_wait_ready(script, name)
    wait_until(lambda: "count 2" in md.output(), "count 2", context=md.context)
    assert md.events("state_saved", agent=name) and "too long" not in md.output()


# -- The control socket ------------------------------------------------------------------------


def runtime_folder(tmp_path: Path) -> Path:
    return tmp_path / "tmp" / f"meshdev-{os.geteuid()}"


def deep_project(tmp_path: Path) -> Path:
    """A project whose `.meshdev/control.sock` cannot be a socket address: the socket goes to
    the runtime folder."""
    project = tmp_path / ("deep-" + "x" * 100)
    counter_project(project)
    return project


def listen_as_nobody(path: Path) -> tuple[int, int]:
    """A process of another user listening at `path`: (its pid, a pipe that gets what it heard).
    Root binds, and the process becomes nobody before `listen()`, which is what SO_PEERCRED
    reports: as if nobody had made the socket."""
    ready_r, ready_w = os.pipe()
    heard_r, heard_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.bind(str(path))
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            server.listen(4)
            os.write(ready_w, b"1")
            conn, _ = server.accept()
            conn.settimeout(5)
            os.write(heard_w, b"[" + conn.recv(1000) + b"]")
            conn.sendall(b"reloaded everything\n")
        finally:
            os._exit(0)
    os.close(ready_w)
    os.close(heard_w)
    assert os.read(ready_r, 1) == b"1"
    os.close(ready_r)
    return pid, heard_r


def heard(fd: int) -> bytes | None:
    """What the other user's process heard, None if nobody connected to it."""
    os.set_blocking(fd, False)
    try:
        return os.read(fd, 1000) or None
    except BlockingIOError:
        return None


@pytest.fixture
def child_pids() -> Iterator[list[int]]:
    pids: list[int] = []
    yield pids
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


@needs_root
def test_a_runtime_folder_made_first_by_another_user_is_refused(
    tmp_path: Path, meshdev_run: Run, child_pids: list[int]
) -> None:
    project = deep_project(tmp_path)
    folder = runtime_folder(tmp_path)
    folder.mkdir(parents=True)
    os.chown(folder, NOBODY, NOBODY)
    os.chmod(folder, 0o755)
    digest = hashlib.sha256(str(project).encode()).hexdigest()[:16]
    pid, what = listen_as_nobody(folder / f"{digest}.sock")
    child_pids.append(pid)
    md = meshdev_run(project.name + "/agents", env=private_env(tmp_path), wait_ready=("counter",))
    assert any("cannot reach this meshdev" in w["message"] for w in md.events("warning"))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755 and folder.stat().st_uid == NOBODY
    result = cli("reload", "--project", project.name, cwd=tmp_path, env=private_env(tmp_path))
    assert result.returncode != 0 and "reloaded" not in result.stdout, result.stdout
    assert heard(what) is None  # nothing was said to the other user
    no_traceback(md)


def test_a_runtime_folder_that_is_a_link_is_refused(tmp_path: Path, meshdev_run: Run) -> None:
    project = deep_project(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o755)
    os.chmod(elsewhere, 0o755)
    runtime_folder(tmp_path).parent.mkdir(parents=True, exist_ok=True)
    runtime_folder(tmp_path).symlink_to(elsewhere)
    md = meshdev_run(project.name + "/agents", env=private_env(tmp_path), wait_ready=("counter",))
    assert any("cannot reach this meshdev" in w["message"] for w in md.events("warning"))
    assert list(elsewhere.iterdir()) == [] and stat.S_IMODE(elsewhere.stat().st_mode) == 0o755
    no_traceback(md)


@needs_root
def test_a_client_never_talks_to_another_users_process(
    tmp_path: Path, child_pids: list[int]
) -> None:
    folder = tmp_path / "ours"
    folder.mkdir(mode=0o700)
    pid, what = listen_as_nobody(folder / "x.sock")
    child_pids.append(pid)
    with pytest.raises(commands.ControlError, match="another user's process"):
        commands.send(folder / "x.sock", "r")
    os.waitpid(pid, 0)  # it hung up: it was sent nothing
    assert heard(what) == b"[]"


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder under /tmp that nobody may traverse (pytest's own are root's, 0700)."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="meshdev-test-", dir="/tmp"))
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@needs_root
def test_a_server_never_answers_another_users_process(open_folder: Path) -> None:
    said: list[str] = []
    server = commands.ControlServer(
        open_folder / ".meshdev/control.sock", lambda t, r: said.append(t)
    )
    try:
        os.chmod(server.path.parent, 0o755)  # a permission slip lets nobody connect
        os.chmod(server.path, 0o777)
        answer_r, answer_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                    conn.settimeout(5)
                    conn.connect(str(server.path))
                    answer = b""
                    with contextlib.suppress(OSError):  # hung up on: a broken pipe, a reset
                        conn.sendall(b"r\n")
                        answer = conn.recv(1000)
                    os.write(answer_w, b"[" + answer + b"]")
            finally:
                os._exit(0)
        os.close(answer_w)
        os.waitpid(pid, 0)
        assert os.read(answer_r, 1000) == b"[]" and said == []
    finally:
        server.close()


# -- 13.2: a second meshdev on the same project ---------------------------------------------


def test_a_second_meshdev_on_the_same_project_refuses_before_starting_anything(
    tmp_path: Path, meshdev_run: Run
) -> None:
    counter = counter_project(tmp_path)
    record = "open(os.environ['STARTS'], 'a').write(f'{os.getpid()}\\n')\n"  # even a brief one
    counter.write_text(COUNTER.replace("import meshdev\n", "import meshdev\n" + record))
    starts = tmp_path / "starts.txt"
    md = meshdev_run("agents", env={"STARTS": str(starts)}, wait_ready=("counter",))
    agents = md.pids()
    assert md.proc is not None
    second = subprocess.run(
        [sys.executable, "-m", "meshdev", "start", "agents", "--events", "second.jsonl"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "NO_COLOR": "1", "STARTS": str(starts)},
    )
    said = (second.stdout + second.stderr).strip()
    assert second.returncode == 1 and len(said.splitlines()) == 1, said
    assert f"another meshdev (pid {md.proc.pid})" in said and "meshdev reload" in said
    events = (tmp_path / "second.jsonl").read_text()
    assert "agent_started" not in events  # nothing started, not even for a moment
    assert len(starts.read_text().split()) == 1  # the first meshdev's counter, alone
    assert md.pids() == agents and all(is_alive(pid) for pid in agents.values())
    assert not list((tmp_path / ".meshdev/state").glob("*.crashed-*"))
    result = cli("reload", cwd=tmp_path)
    assert result.returncode == 0 and "reloaded counter" in result.stdout


def test_meshdev_mcp_never_blocks_a_start_and_two_starts_exclude_each_other(
    tmp_path: Path,
) -> None:
    path = tmp_path / ".meshdev/control.sock"
    mcp = commands.ControlServer(path, lambda text, reply: reply("mcp"), exclusive=False)
    start = commands.ControlServer(path, lambda text, reply: reply("start"))  # takes it over
    try:
        with pytest.raises(commands.AlreadyRunning) as second:
            commands.ControlServer(path, lambda text, reply: reply("second"))
        assert second.value.pid == os.getpid()
        mcp.close()  # leaves the socket it no longer owns
        assert commands.send(path, "r") == "start"
    finally:
        start.close()
    assert not path.exists()
