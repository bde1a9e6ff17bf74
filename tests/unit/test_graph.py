from __future__ import annotations

import os
from pathlib import Path

from meshdev.decide.dependencies import Picture
from meshdev.decide.imports import ImportScanner, static_closure


def make(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def closure_of(root: Path, script: str, scanner: ImportScanner | None = None) -> set[str]:
    path = root / script
    found = static_closure(scanner or ImportScanner(), path, [path.parent, root], root)
    return {p.relative_to(root).as_posix() for p in found.files}


PROJECT = {
    "agents/alpha.py": "import json\nfrom lib import shared\nimport helper\n",
    "agents/helper.py": "",
    "lib/__init__.py": "",
    "lib/shared.py": "from . import util\nfrom .pkg.deep import thing\nimport requests\n",
    "lib/util.py": "",
    "lib/pkg/__init__.py": "",
    "lib/pkg/deep.py": "from ..util import x\n",
    "lib/unused.py": "",
}


def test_absolute_relative_and_package_imports_resolve_inside_the_project(tmp_path: Path) -> None:
    make(tmp_path, PROJECT)
    assert closure_of(tmp_path, "agents/alpha.py") == {
        "agents/alpha.py",
        "agents/helper.py",
        "lib/__init__.py",
        "lib/shared.py",
        "lib/util.py",
        "lib/pkg/__init__.py",
        "lib/pkg/deep.py",
    }


def test_the_import_chain_explains_why(tmp_path: Path) -> None:
    make(tmp_path, PROJECT)
    script = tmp_path / "agents/alpha.py"
    found = static_closure(ImportScanner(), script, [script.parent, tmp_path], tmp_path)
    chain = [found.modules[p] for p in found.chain(tmp_path / "lib/pkg/deep.py")]
    assert chain == ["__main__", "lib.shared", "lib.pkg.deep"]


def test_imports_inside_functions_count(tmp_path: Path) -> None:
    make(tmp_path, {"a.py": "def f():\n    import lazy\n", "lazy.py": ""})
    assert closure_of(tmp_path, "a.py") == {"a.py", "lazy.py"}


def test_a_file_that_stops_compiling_keeps_its_last_good_imports(tmp_path: Path) -> None:
    make(tmp_path, {"a.py": "import b\n", "b.py": ""})
    scanner = ImportScanner()
    assert closure_of(tmp_path, "a.py", scanner) == {"a.py", "b.py"}
    (tmp_path / "a.py").write_text("import b\ndef broken(:\n")
    os.utime(tmp_path / "a.py", ns=(1, 1))
    assert closure_of(tmp_path, "a.py", scanner) == {"a.py", "b.py"}


def test_an_edit_that_adds_an_import_is_seen(tmp_path: Path) -> None:
    make(tmp_path, {"a.py": "", "b.py": ""})
    scanner = ImportScanner()
    assert closure_of(tmp_path, "a.py", scanner) == {"a.py"}
    (tmp_path / "a.py").write_text("import b\n")
    assert closure_of(tmp_path, "a.py", scanner) == {"a.py", "b.py"}


def test_picture_unites_static_loaded_and_opened(tmp_path: Path) -> None:
    make(tmp_path, {"a.py": "", "conf.yaml": "", "dyn.py": ""})
    closure = static_closure(ImportScanner(), tmp_path / "a.py", [tmp_path], tmp_path)
    picture = Picture(closure, loaded={tmp_path / "dyn.py"}, opened={tmp_path / "conf.yaml"})
    assert picture.files() == {tmp_path / "a.py", tmp_path / "dyn.py", tmp_path / "conf.yaml"}
    assert picture.why(tmp_path / "conf.yaml") == "opened it at run time"
    assert picture.why(tmp_path / "a.py") == "its own script"
