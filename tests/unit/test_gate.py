from __future__ import annotations

import time
from pathlib import Path

from meshdev.decide.keep_last_good import KeepLastGood, check_source


def test_a_syntax_error_is_located_with_the_offending_code() -> None:
    problem = check_source(b"def f():\n    x = (1,\n", Path("a.py"))
    assert problem is not None
    assert (problem.line, problem.message) == (2, "'(' was never closed")
    assert problem.code == "    x = (1,\n        ^"


def test_only_python_files_that_exist_are_checked(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("x = = 1\n")
    (tmp_path / "good.py").write_text("x = 1\n")
    (tmp_path / "notes.txt").write_text("x = = 1\n")
    found = KeepLastGood().update(
        tmp_path / n for n in ("bad.py", "good.py", "notes.txt", "gone.py")
    )
    assert [p.path for p in found] == [tmp_path / "bad.py"]


def test_keep_last_good_remembers_broken_files_until_a_good_save(tmp_path: Path) -> None:
    gate = KeepLastGood()
    shared = tmp_path / "shared.py"
    shared.write_text("x = (\n")
    assert [p.path for p in gate.update([shared])] == [shared]
    other = tmp_path / "other.py"
    other.write_text("y = 1\n")
    assert gate.update([other]) == []
    assert gate.blocking([shared, other]) == [shared]  # still broken: still blocking
    shared.write_text("x = 1\n")
    assert gate.update([shared]) == [] and gate.blocking([shared]) == []


def test_checking_a_typical_module_takes_about_a_millisecond(tmp_path: Path) -> None:
    source = "".join(f"def f{i}(a, b):\n    return a * {i} + b\n\n" for i in range(200))
    path = tmp_path / "m.py"
    path.write_text(source)
    started = time.perf_counter()
    for _ in range(20):
        check_source(path.read_bytes(), path)
    per_check = (time.perf_counter() - started) / 20
    assert per_check < 0.05  # a sanity bound; the README reports the measured figure


def test_a_precheck_is_reused_while_the_file_is_unchanged(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import meshdev.decide.keep_last_good as gate_module

    path = tmp_path / "m.py"
    path.write_text("x = 1\n")
    gate = KeepLastGood()
    gate.precheck([path])
    calls: list[object] = []
    real = gate_module.compiled
    monkeypatch.setattr(gate_module, "compiled", lambda b, p: calls.append(p) or real(b, p))
    assert gate.update([path]) == []
    assert calls == []  # reused: the reload paid nothing
    path.write_text("x = (\n")
    assert [p.path for p in gate.update([path])] == [path] and len(calls) == 1


def test_what_the_gate_compiled_is_what_an_import_would_load(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import marshal
    import sys

    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # as on users' machines
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    from importlib.util import cache_from_source

    from meshdev.runtime.bytecode import CheckedLoader, write_checked

    path = tmp_path / "m.py"
    path.write_text("VALUE = 42\n")
    path.chmod(0o600)
    gate = KeepLastGood()
    gate.precheck([path])
    source, code = gate.fresh[path]
    write_checked(str(path), source, code)
    cache = Path(cache_from_source(str(path)))
    assert cache.stat().st_mode & 0o777 == 0o600  # as private as its source
    cached = cache.read_bytes()
    assert int.from_bytes(cached[4:8], "little") == 0b11  # hash-based, checked against the source
    assert marshal.loads(cached[16:]).co_consts == code.co_consts
    loaded = CheckedLoader("m", str(path)).get_code("m")
    namespace: dict[str, object] = {}
    exec(loaded, namespace)
    assert namespace["VALUE"] == 42
    path.write_text("VALUE = 43\n")  # same size, same second: the cache no longer matches
    namespace.clear()
    exec(CheckedLoader("m", str(path)).get_code("m"), namespace)
    assert namespace["VALUE"] == 43
