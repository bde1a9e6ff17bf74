"""Reading ignore rules as git does, without git: lines, configuration, the sources, the cache.

(tests/integration/test_gitignore_git.py holds the same kinds of cases against git itself.)
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

import pytest

from meshdev.project import gitconfig, gitignore
from meshdev.project.ignorelist import PatternList, read_lines
from meshdev.project.ignores import GitIgnores
from meshdev.project.patterns import PatternSpec
from meshdev.project.wildmatch import shape


def isolated(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"HOME": str(home), "XDG_CONFIG_HOME": str(home / "xdg"), "GIT_CONFIG_NOSYSTEM": "1"}


def fake_repo(top: Path) -> None:
    (top / ".git/objects").mkdir(parents=True)
    (top / ".git/HEAD").write_text("ref: refs/heads/main\n")


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_lines_are_read_as_git_reads_them() -> None:
    data = b"\xef\xbb\xbfa\r\nb\rc\n#comment\n\\#d\n\ne  \nf\\ \ng\\\\ \nh\x00i\n  \nlast"
    assert read_lines(data) == ["a", "b\rc", "\\#d", "e", "f\\ ", "g\\\\", "h", "", "last"]


@pytest.mark.parametrize(
    ("pattern", "casefold", "matches", "misses"),
    [
        ("[[:alpha:]]x", False, ["ax", "Zx"], ["1x", "éx"]),
        ("[z-a]", False, ["z"], ["a", "m"]),  # the start of a reversed range still counts
        ("[]a]", False, ["]", "a"], ["b"]),
        ("[!]a]", False, ["b"], ["]", "a"]),
        ("[a-]", False, ["a", "-"], ["b"]),
        ("[[:abc]", False, ["[", ":", "a"], ["d"]),  # not a class: a set holding '['
        ("[A]", True, [], ["a", "A"]),  # git folds the text, not the characters of a class
        ("[a-c]", True, ["a", "B"], ["d"]),
        ("\\Bx", True, [], ["bx", "Bx"]),  # nor an escaped letter
        ("AbC", True, ["abc", "ABC"], ["abd"]),
        ("?", False, ["é"[0]], []),
    ],
)
def test_wildmatch_corners(
    pattern: str, casefold: bool, matches: list[str], misses: list[str]
) -> None:
    patterns = PatternList([pattern], casefold)
    for name in matches:
        assert patterns.last(name, name, False) == 0, name
    for name in misses:
        assert patterns.last(name, name, False) == -1, name


@pytest.mark.parametrize("pattern", ["x\\", "[", "[a", "[[:nope:]]", "[[:alpha:]", "[\\"])
def test_what_git_aborts_on_never_matches(pattern: str) -> None:
    assert shape(pattern, True, False, (f"g{i}" for i in itertools.count())) is None


def test_the_pathological_pattern_is_linear() -> None:
    patterns = PatternList(["**/a/**/a/**/a/**/a/**/a/**/a/**/b"])
    deep = "/".join(["a"] * 200)
    start = time.perf_counter()
    assert patterns.last(deep + "/c", "c", False) == -1
    assert patterns.last(deep + "/b", "b", False) == 0
    assert time.perf_counter() - start < 1.0  # backtracking through 200 folders would take hours


def test_git_config_syntax() -> None:
    text = (
        "[core]\n\tignoreCase = true ; a comment\n"
        '[Core "Sub"] excludesFile = "~/my ignores" # again\n'
        "[core]\n  ExcludesFile = a\\\n b\n  bare\n"
        '[x.Y]\n  v = "q\\"uote" tail\\t\n'
    )
    assert list(gitconfig.parse(text)) == [
        ("core.ignorecase", "true"),
        ("core.Sub.excludesfile", "~/my ignores"),
        ("core.excludesfile", "a b"),
        ("core.bare", None),
        ("x.y.v", 'q"uote tail\t'),
    ]
    assert gitconfig.to_bool(None) and gitconfig.to_bool("Yes") and gitconfig.to_bool("2")
    assert not gitconfig.to_bool("") and not gitconfig.to_bool("off")


def test_exclude_files_and_ignorecase_from_the_configuration(tmp_path: Path) -> None:
    env = isolated(tmp_path)
    top = tmp_path / "top"
    fake_repo(top)
    repo = gitconfig.repo_at(top)
    assert repo is not None
    assert gitconfig.ignore_settings(repo, top, env) == (
        False,
        [top / ".git/info/exclude", tmp_path / "home/xdg/git/ignore"],
    )
    (tmp_path / "home/.gitconfig").write_text("[include]\n\tpath = more\n")
    (tmp_path / "home/more").write_text("[core]\n\texcludesfile = ~/mine\n\tignorecase\n")
    (top / ".git/config").write_text("[core]\n\tignorecase = false\n")
    assert gitconfig.ignore_settings(repo, top, env) == (
        False,
        [top / ".git/info/exclude", tmp_path / "home/mine"],
    )
    env["GIT_CONFIG_COUNT"], env["GIT_CONFIG_KEY_0"] = "1", "core.ignoreCase"
    env["GIT_CONFIG_VALUE_0"] = "true"
    assert gitconfig.ignore_settings(repo, top, env)[0]


def test_work_trees_are_found_upward_through_git_files(tmp_path: Path) -> None:
    fake_repo(tmp_path / "main")
    (tmp_path / "wt").mkdir()
    (tmp_path / "main/.git/worktrees/wt").mkdir(parents=True)
    (tmp_path / "main/.git/worktrees/wt/HEAD").write_text("x\n")
    (tmp_path / "main/.git/worktrees/wt/commondir").write_text("../..\n")
    (tmp_path / "wt/.git").write_text(f"gitdir: {tmp_path}/main/.git/worktrees/wt\n")
    (tmp_path / "wt/deep/er").mkdir(parents=True)
    found = gitconfig.find_repo(tmp_path / "wt/deep/er", {})
    assert found is not None and found.top == tmp_path / "wt"
    assert found.common.resolve() == (tmp_path / "main/.git").resolve()
    ceiling = {"GIT_CEILING_DIRECTORIES": str(tmp_path / "wt")}
    assert gitconfig.find_repo(tmp_path / "wt/deep/er", ceiling) is None
    assert gitconfig.find_repo(tmp_path / "nowhere", {}) is None


def test_every_source_git_reads(tmp_path: Path) -> None:
    env = isolated(tmp_path)
    top = tmp_path / "top"
    fake_repo(top)
    write(
        top,
        {
            ".gitignore": "*.log\n/proj/gen/\n",
            ".git/info/exclude": "*.info\n",
            "proj/.gitignore": "!keep.log\n",
            "proj/vendor/.gitignore": "*.c\n",
            "proj/rules": "*.py\n",
        },
    )
    fake_repo(top / "proj/vendor")
    write(top / "proj/vendor", {".git/info/exclude": "*.h\n"})
    write(tmp_path, {"home/xdg/git/ignore": "*.tmpl\n"})
    (top / "proj/sub").mkdir()
    (top / "proj/sub/.gitignore").symlink_to(top / "proj/rules")
    ignores = gitignore.load(top / "proj", lambda rel: False, env)
    assert ignores.deciding("a.log") == ("*.log", "../.gitignore")
    assert ignores.deciding("keep.log") is None
    assert ignores.deciding("gen/x.py") == ("/proj/gen/", "../.gitignore")
    assert ignores.deciding("x.info") == ("*.info", str(top / ".git/info/exclude"))
    assert ignores.deciding("x.tmpl") == ("*.tmpl", str(tmp_path / "home/xdg/git/ignore"))
    assert ignores.deciding("sub/x.py") is None  # a symlinked .gitignore is not read
    assert ignores.deciding("vendor/a.c") == ("*.c", "vendor/.gitignore")
    assert ignores.deciding("vendor/a.h") is not None  # the nested repository's own exclude
    assert ignores.deciding("vendor/a.info") is None  # ... and not the outer one's
    assert ignores.deciding("vendor/x.log") is None
    assert sorted(folder for folder, _ in ignores.files) == ["", "vendor"]


def test_a_changed_file_is_compiled_again_and_the_others_are_not(tmp_path: Path) -> None:
    env = isolated(tmp_path)
    write(tmp_path / "p", {".gitignore": "*.log\n", "a/.gitignore": "x\n", "b/.gitignore": "y\n"})
    before = gitignore.load(tmp_path / "p", lambda rel: False, env).stack.folders()
    (tmp_path / "p/a/.gitignore").write_text("z\n")
    after = gitignore.load(tmp_path / "p", lambda rel: False, env).stack.folders()
    assert after["b"].patterns is before["b"].patterns
    assert after[""].patterns is before[""].patterns
    assert after["a"].patterns is not before["a"].patterns
    replaced = GitIgnores(stack=None, files=[("", ("*.log",))]).with_file("s", ("*.py",))
    assert replaced.deciding("s/x.py") == ("*.py", "s/.gitignore")


def test_a_thousand_nested_gitignore_files_load_in_linear_time(tmp_path: Path) -> None:
    env = isolated(tmp_path)
    for i in range(1000):
        folder = tmp_path / "p" / f"area{i // 100}" / f"part{i}"
        folder.mkdir(parents=True)
        (folder / ".gitignore").write_text(f"*.o\nlocal{i}/\n!keep{i}.o\n/gen_*.py\n")
    start = time.perf_counter()
    loaded = gitignore.load(tmp_path / "p", lambda rel: False, env)
    assert time.perf_counter() - start < 10  # was 33 s: every file recompiled every spec
    assert loaded.deciding("area3/part300/x.o") == ("*.o", "area3/part300/.gitignore")
    assert loaded.deciding("area3/part300/keep300.o") is None
    assert loaded.deciding("area3/part300/gen_1.py") is not None
    assert loaded.deciding("area3/gen_1.py") is None


def test_names_that_are_not_utf8(tmp_path: Path) -> None:
    env = isolated(tmp_path)
    root = tmp_path / "p"
    root.mkdir()
    (root / ".gitignore").write_bytes(b"\xe9*\n")
    name = os.fsdecode(b"\xe9t\xe9")
    assert gitignore.load(root, lambda rel: False, env).deciding(name) == ("\udce9*", ".gitignore")


def test_a_path_deeper_than_the_recursion_limit_is_judged() -> None:
    deep = "/".join(["d"] * 3000)
    ignores = GitIgnores([("", ("d/d/d/", "*.log"))])
    assert ignores.deciding(deep + "/x.py") == ("d/d/d/", ".gitignore")
    assert PatternSpec("exclude", ["*.log"]).deciding(deep + "/x.log") == "*.log"
