from __future__ import annotations

import os
import pickle
import random
import signal
import socket
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from meshdev.project.statestore import StateStore
from meshdev.runtime import statefile
from meshdev.runtime.state import Keeper, StateNamespace

SECRET = b"k" * 32


def entries(**values: Any) -> dict[str, bytes]:
    return {k: pickle.dumps(v) for k, v in values.items()}


def test_round_trip() -> None:
    data = statefile.encode(SECRET, "alpha", entries(count=3, cache={"a": 1}), {"count": "int"})
    loaded = statefile.decode(data, SECRET, "alpha")
    assert pickle.loads(loaded.entries["count"]) == 3
    assert loaded.header["agent"] == "alpha" and loaded.header["keys"]["count"]["type"] == "int"


@pytest.mark.parametrize("position", [0, 20, -40, -1])
def test_any_tampered_byte_is_refused_before_unpickling(position: int) -> None:
    data = bytearray(statefile.encode(SECRET, "alpha", entries(x=1), {}))
    data[position] ^= 0x01
    with pytest.raises(statefile.StateError):
        statefile.decode(bytes(data), SECRET, "alpha")


def test_truncation_wrong_key_and_foreign_agent() -> None:
    data = statefile.encode(SECRET, "alpha", entries(x=1), {})
    for cut in (0, 10, len(data) // 2, len(data) - 1):
        with pytest.raises(statefile.StateError):
            statefile.decode(data[:cut], SECRET, "alpha")
    with pytest.raises(statefile.StateError, match="signature"):
        statefile.decode(data, b"other" * 8, "alpha")
    with pytest.raises(statefile.StateError, match="belongs to agent 'alpha'"):
        statefile.decode(data, SECRET, "beta")


def test_a_file_from_another_python_or_format_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(statefile, "python_version", lambda: "2.7")
    old = statefile.encode(SECRET, "alpha", entries(x=1), {})
    monkeypatch.undo()
    with pytest.raises(statefile.StateError, match=r"made by Python 2\.7"):
        statefile.decode(old, SECRET, "alpha")
    monkeypatch.setattr(statefile, "FORMAT", 99)
    future = statefile.encode(SECRET, "alpha", entries(x=1), {})
    monkeypatch.undo()
    with pytest.raises(statefile.StateError, match="format 99"):
        statefile.decode(future, SECRET, "alpha")


def test_unpicklable_values_are_named_and_the_rest_is_saved(tmp_path: Path) -> None:
    ns = StateNamespace()
    sock = socket.socket()
    handle = (tmp_path / "f").open("w")
    ns.update(
        counter=1,
        lock=threading.Lock(),
        sock=sock,
        gen=(i for i in range(3)),
        handle=handle,
        fn=lambda: 1,
    )
    saved, types, failed = ns.snapshot()
    sock.close()
    handle.close()
    assert set(saved) == {"counter"} and types["counter"] == "int"
    assert {(key, kind) for key, kind, _ in failed} == {
        ("lock", "_thread.lock"),
        ("sock", "socket.socket"),
        ("gen", "generator"),
        ("handle", "_io.TextIOWrapper"),
        ("fn", "function"),
    }


def test_values_are_unpickled_lazily_and_a_broken_one_costs_only_its_key() -> None:
    ns = StateNamespace()
    warnings: list[str] = []
    ns.warn = warnings.append
    ns.restore({"good": pickle.dumps([1, 2]), "bad": b"not a pickle"})
    assert sorted(ns) == ["bad", "good"] and len(ns) == 2
    assert ns["good"] == [1, 2]
    assert ns.get("bad", "fresh") == "fresh"
    assert "state['bad'] could not be restored" in warnings[0]
    assert list(ns) == ["good"]


def keeper(tmp_path: Path, sent: list[dict[str, Any]], warn_bytes: int = 10**9) -> Keeper:
    return Keeper(
        StateNamespace(), str(tmp_path / "a.state"), SECRET, "alpha", warn_bytes, sent.append
    )


def test_keeper_saves_only_when_something_changed_and_never_an_unused_state(tmp_path: Path) -> None:
    sent: list[dict[str, Any]] = []
    k = keeper(tmp_path, sent)
    k.save("checkpoint")
    assert not (tmp_path / "a.state").exists()  # never used: nothing written
    k.namespace["n"] = 1
    k.save("checkpoint")
    k.save("checkpoint")
    assert [m["t"] for m in sent] == ["saved"]
    k.namespace["n"] = 2
    k.save("stop")
    assert [m.get("reason") for m in sent] == ["checkpoint", "stop"]
    mode = stat.S_IMODE((tmp_path / "a.state").stat().st_mode)
    assert mode == 0o600


def test_keeper_restores_and_sets_aside_what_it_cannot_trust(tmp_path: Path) -> None:
    sent: list[dict[str, Any]] = []
    first = keeper(tmp_path, sent)
    first.namespace["n"] = 41
    first.save("stop")
    second = keeper(tmp_path, sent)
    assert second.restore() == ["n"] and second.namespace["n"] == 41
    path = tmp_path / "a.state"
    path.write_bytes(path.read_bytes()[:-5])  # truncated
    third = keeper(tmp_path, sent)
    assert third.restore() == []
    assert not path.exists() and list(tmp_path.glob("a.state.invalid-*"))
    assert "state file set aside" in sent[-1]["message"]


def test_keeper_warns_once_about_unpicklable_keys_and_large_states(tmp_path: Path) -> None:
    sent: list[dict[str, Any]] = []
    k = keeper(tmp_path, sent, warn_bytes=1000)
    k.namespace.update(lock=threading.Lock(), blob=b"x" * 5000)
    k.save("checkpoint")
    k.namespace["blob"] = b"y" * 5000
    k.save("checkpoint")
    warnings = [m["message"] for m in sent if m["t"] == "state_warning"]
    assert len(warnings) == 2
    assert "state['lock'] (a _thread.lock) cannot be pickled" in warnings[0]
    assert warnings[1].startswith("state is 5.2 KB, above the warning size")


def test_kill_9_in_the_middle_of_saves_never_leaves_a_broken_file(tmp_path: Path) -> None:
    """A real writer process, killed at random moments while it saves a 2 MB state in a loop."""
    path = str(tmp_path / "a.state")
    rng = random.Random(7)
    for _ in range(15):
        pid = os.fork()
        if pid == 0:  # the writer
            try:
                n = 0
                while True:
                    n += 1
                    data = statefile.encode(
                        SECRET, "alpha", entries(n=n, blob=os.urandom(2_000_000)), {}
                    )
                    statefile.write_atomically(path, data)
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0.0, 0.15))  # the stimulus: a kill at a random moment
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        data = statefile.read(path)
        if data is not None:
            statefile.decode(data, SECRET, "alpha")  # never raises: old or new, never broken


def test_store_prepares_private_folders_and_one_secret(tmp_path: Path) -> None:
    store = StateStore(tmp_path / ".meshdev")
    store.prepare()
    secret = store.secret_path.read_bytes()
    os.chmod(store.folder, 0o755)
    store.prepare()
    assert store.secret_path.read_bytes() == secret and len(secret) == 32
    assert stat.S_IMODE(store.secret_path.stat().st_mode) == 0o600
    for folder in (store.private_dir, store.folder):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_store_describe_and_clear(tmp_path: Path) -> None:
    store = StateStore(tmp_path / ".meshdev")
    store.prepare()
    secret = store.secret_path.read_bytes()
    for agent in ("alpha", "beta"):
        data = statefile.encode(secret, agent, entries(n=1), {"n": "int"})
        statefile.write_atomically(str(store.file_for(agent)), data)
    store.file_for("gamma").write_bytes(b"garbage")
    found = {e["agent"]: e for e in store.describe()}
    assert found["alpha"]["keys"] == {"n": {"type": "int", "size": len(pickle.dumps(1))}}
    assert "not a meshdev state file" in found["gamma"]["problem"]
    assert [p.name for p in store.clear("alpha")] == ["alpha.state"]
    assert sorted(p.name for p in store.clear()) == ["beta.state", "gamma.state"]
