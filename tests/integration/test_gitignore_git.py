"""The same trees judged by git and by meshdev: every verdict must agree.

git is asked twice, `git status --ignored --untracked-files=all` (what a walk finds) and
`git check-ignore --stdin` (the verdict on one path, as for an event or `debug why`), each in a
real repository with an isolated configuration. meshdev is asked through every path it judges
with: the .gitignore rules themselves, the walk that picks the watched folders, the per-file
decision, a `.meshwatch` list read with the same semantics, and `debug watches`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshdev.decide import explain
from meshdev.project import gitignore, scan
from meshdev.project.patterns import PatternSpec, RulesInput, Verdict, WatchRules
from meshdev.project.project import load_project
from meshdev.project.settings import Flags

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@dataclass
class Tree:
    files: dict[bytes, bytes]  # path from the top of the work tree -> content (.gitignore too)
    info_exclude: bytes | None = None
    global_ignore: bytes | None = None  # $XDG_CONFIG_HOME/git/ignore
    excludes_file: bytes | None = None  # core.excludesFile, set in the global config
    ignorecase: bool = False
    project: bytes = b""  # the project root, below the top of the work tree
    nested: tuple[bytes, ...] = ()  # folders that are repositories of their own
    links: dict[bytes, bytes] = field(default_factory=dict)  # symlink -> target

    def paths(self) -> list[bytes]:
        return sorted({*self.files, *self.links})


def git_env(base: Path) -> dict[str, str]:
    home = base / "home"
    (home / "xdg").mkdir(parents=True, exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "xdg"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CEILING_DIRECTORIES": str(base),
        "LC_ALL": "C",
    }


def git(cwd: Path, env: dict[str, str], *args: str, stdin: bytes = b"") -> bytes:
    done = subprocess.run(["git", *args], cwd=cwd, env=env, input=stdin, capture_output=True)
    if done.returncode not in (0, 1) or (done.returncode and args[0] != "check-ignore"):
        raise AssertionError(f"git {' '.join(args)}: {done.stderr.decode(errors='replace')}")
    return done.stdout  # check-ignore exits with 1 when nothing is ignored


def build(base: Path, tree: Tree) -> tuple[Path, dict[str, str]]:
    env = git_env(base)
    top = base / "repo"
    top.mkdir()
    for folder in (b"", *tree.nested):
        where = Path(os.fsdecode(os.path.join(bytes(top), folder)))
        where.mkdir(parents=True, exist_ok=True)
        git(where, env, "init", "-q")
        if tree.ignorecase:
            git(where, env, "config", "core.ignorecase", "true")
    for rel, content in tree.files.items():
        path = os.path.join(bytes(top), rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(content)
    for rel, target in tree.links.items():
        path = os.path.join(bytes(top), rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(target, path)
    home = Path(env["HOME"])
    if tree.info_exclude is not None:
        (top / ".git/info").mkdir(exist_ok=True)
        (top / ".git/info/exclude").write_bytes(tree.info_exclude)
    if tree.global_ignore is not None:
        (home / "xdg/git").mkdir(parents=True, exist_ok=True)
        (home / "xdg/git/ignore").write_bytes(tree.global_ignore)
    if tree.excludes_file is not None:
        (home / "my-ignores").write_bytes(tree.excludes_file)
        git(top, env, "config", "--global", "core.excludesFile", "~/my-ignores")
    return top, env


def _status(repo: Path, env: dict[str, str]) -> tuple[set[bytes], set[bytes]]:
    out = git(repo, env, "status", "--porcelain", "-z", "--ignored", "--untracked-files=all")
    entries = [e for e in out.split(b"\0") if e]
    return {e[3:] for e in entries if e[:3] == b"!! "}, {e[3:] for e in entries if e[:3] == b"?? "}


def _check_ignore(repo: Path, env: dict[str, str], paths: list[bytes]) -> set[bytes]:
    if not paths:
        return set()
    out = git(
        repo, env, "check-ignore", "--stdin", "-z", "-v", "-n", "--no-index",
        stdin=b"\0".join(paths) + b"\0",
    )  # fmt: skip
    fields = out.split(b"\0")
    return {
        fields[i + 3]
        for i in range(0, len(fields) - 3, 4)
        if fields[i] and not fields[i + 2].startswith(b"!")
    }


def git_verdicts(top: Path, env: dict[str, str], tree: Tree) -> dict[bytes, bool]:
    """Ignored or not, for every file, by git status and by git check-ignore (which must agree);
    inside a nested repository by that repository, unless the folder holding it is ignored."""
    verdicts: dict[bytes, bool] = {}
    for repo_rel in (b"", *tree.nested):
        repo = Path(os.fsdecode(os.path.join(bytes(top), repo_rel)))
        prefix = repo_rel + b"/" if repo_rel else b""
        mine = [
            p[len(prefix) :]
            for p in tree.paths()
            if p.startswith(prefix) and _owner(p, tree.nested) == repo_rel
        ]
        ignored, untracked = _status(repo, env)
        checked = _check_ignore(repo, env, mine)
        for rel in mine:
            by_status = rel in ignored or any(rel.startswith(d) for d in ignored if d[-1:] == b"/")
            assert by_status == (rel in checked), f"git disagrees with itself on {rel!r}"
            assert by_status or rel in untracked, f"git status does not list {rel!r}"
            verdicts[prefix + rel] = by_status
    for repo_rel in tree.nested:  # what the repository around it says of the folder itself
        outer = _owner(repo_rel, tree.nested)
        holder = Path(os.fsdecode(os.path.join(bytes(top), outer)))
        inner = repo_rel[len(outer) + 1 :] if outer else repo_rel
        if inner + b"/" in _status(holder, env)[0]:
            verdicts.update({p: True for p in verdicts if p.startswith(repo_rel + b"/")})
    return verdicts


def _owner(path: bytes, nested: tuple[bytes, ...]) -> bytes:
    holders = [n for n in nested if path.startswith(n + b"/")]
    return max(holders, key=len, default=b"")


def meshdev_verdicts(top: Path, env: dict[str, str], tree: Tree) -> dict[bytes, list[Judged]]:
    """For every file of the project: (what judged, ignored) through every verdict path."""
    root = Path(os.fsdecode(os.path.join(bytes(top), tree.project)))
    prefix = tree.project + b"/" if tree.project else b""
    ignores = gitignore.load(root, lambda rel: False, env)
    rules = WatchRules(RulesInput(root, ("**/*",), (), (), (".py",), {}, ignores))
    walked = set(scan.files_under(rules, scan.walk_dirs(rules, root)))
    listed = _as_list(tree)
    found: dict[bytes, list[Judged]] = {}
    for path in tree.paths():
        if not path.startswith(prefix):
            continue
        rel = os.fsdecode(path[len(prefix) :])
        full = root / rel
        judged = [("rules", ignores.deciding(rel) is not None)]
        if listed is not None:
            judged.append(("a .meshwatch list", listed.deciding(rel) is not None))
        if not path.endswith(b".gitignore"):
            judged.append(("decide", rules.decide(full).verdict is Verdict.UNWATCHED))
            if not full.is_symlink() or full.is_file():  # what files_under() can list
                unwatched = full not in walked or rules.decide(full).verdict is Verdict.UNWATCHED
                judged.append(("walk", unwatched))
        found[path] = judged
    return found


Judged = tuple[str, bool]


def _as_list(tree: Tree) -> PatternSpec | None:
    """The root .gitignore as a `.meshwatch` list, when it is the only source of patterns."""
    sources = [p for p in tree.files if p.endswith(b".gitignore")]
    if sources != [b".gitignore"] or tree.project or tree.nested or tree.ignorecase:
        return None
    if tree.info_exclude or tree.global_ignore or tree.excludes_file:
        return None
    return PatternSpec("include", [os.fsdecode(tree.files[b".gitignore"])])


def disagreements(tree: Tree) -> list[str]:
    with tempfile.TemporaryDirectory() as temporary:
        base = Path(temporary).resolve()
        top, env = build(base, tree)
        expected = git_verdicts(top, env, tree)
        return [
            f"{path!r}: git says {'ignored' if expected[path] else 'not ignored'}, {how} says not"
            for path, judged in meshdev_verdicts(top, env, tree).items()
            for how, ignored in judged
            if ignored != expected[path]
        ]


DEEP = b"/".join([b"a"] * 20)
CASES: dict[str, Tree] = {
    "a line that can never match leaves the others working": Tree(
        {
            b".gitignore": b"x\\\n\\\n[z-a]\n!\n*\\  \n[b-a].py\nbuild/\n[\n[[:nope:]]\n",
            **dict.fromkeys([b"build/x.py", b"x", b"a ", b"b.py", b"a.py", b"[", b"z"], b""),
        }
    ),
    "a UTF-8 BOM is skipped": Tree({b".gitignore": b"\xef\xbb\xbf*.log\n", b"a.log": b""}),
    "only LF ends a line": Tree(
        {
            b".gitignore": b"a\rb\nc\x0bd\ne\x0cf\ng\x1ch\ni\xc2\x85j\nk\xe2\x80\xa8l\n*.x\r\n",
            **dict.fromkeys(
                [b"a\rb", b"a", b"b", b"c\x0bd", b"e\x0cf", b"g\x1ch", b"i\xc2\x85j"], b""
            ),
            **dict.fromkeys([b"k\xe2\x80\xa8l", b"k", b"q.x", b"q.x\r"], b""),
        }
    ),
    "POSIX classes": Tree(
        {
            b".gitignore": b"[[:alpha:]][[:digit:]].py\n[[:upper:]]*\n[[:space:]]*\n[[:punct:]]\n",
            **dict.fromkeys([b"a1.py", b"11.py", b"Abc", b"abc", b" x", b"\tq", b"\x0bq"], b""),
            **dict.fromkeys([b"a]b.py", b"%", b"_", b"]"], b""),
        }
    ),
    "an unterminated class is one bad pattern": Tree(
        {b".gitignore": b"[[:space:]\n*.py\n", b"a]b.py": b"", b"a b": b""}
    ),
    "nothing inside an excluded folder comes back": Tree(
        {
            b".gitignore": b"build/\n!build/keep.py\n",
            **dict.fromkeys([b"build/keep.py", b"build/x.py", b"src/build/keep.py"], b""),
        }
    ),
    "star then !*.py": Tree(
        {b".gitignore": b"*\n!*.py\n", b"sub/x.py": b"", b"x.py": b"", b"y.txt": b""}
    ),
    "a/** and !a/keep.py": Tree(
        {
            b".gitignore": b"a/**\n!a/keep.py\n",
            **dict.fromkeys([b"a/keep.py", b"a/x.py", b"a/b/keep.py", b"b/a/x"], b""),
        }
    ),
    "the only-.py whitelist": Tree(
        {
            b".gitignore": b"*\n!*/\n!*.py\n",
            **dict.fromkeys([b"a.py", b"a.txt", b"s/b.py", b"s/b.txt", b"s/t/c.py"], b""),
        }
    ),
    "gen/**/ is only the folders below gen": Tree(
        {
            b".gitignore": b"gen/**/\n",
            **dict.fromkeys([b"gen/x.py", b"gen/s/x.py", b"gen/s/t/y.py"], b""),
        }
    ),
    "a/** does not match a itself": Tree({b".gitignore": b"a/**\n", b"a": b"", b"b/a/x": b""}),
    "a deeper negation only speaks for what it matches": Tree(
        {
            b".gitignore": b"*.log\n",
            b"docs/.gitignore": b"!build/\n",
            **dict.fromkeys([b"docs/build/x.log", b"docs/y.log", b"docs/build/z.py"], b""),
        }
    ),
    "build/ then !tools/": Tree(
        {
            b".gitignore": b"build/\n!tools/\n",
            **dict.fromkeys([b"tools/build/x.py", b"tools/y.py"], b""),
        }
    ),
    ".gitignore files above the project root": Tree(
        {
            b".gitignore": b"*.log\n/proj/gen/\nsecret.py\n!proj/keep.log\n",
            b"proj/.gitignore": b"tmp/\n!*.log\n",
            **dict.fromkeys([b"proj/a.py", b"proj/x.log", b"proj/keep.log", b"proj/gen/a.py"], b""),
            **dict.fromkeys([b"proj/sub/secret.py", b"proj/tmp/t.py", b"other/x.py"], b""),
        },
        project=b"proj",
    ),
    "a project inside an excluded folder": Tree(
        {b".gitignore": b"/outer/\n", b"outer/proj/a.py": b""}, project=b"outer/proj"
    ),
    "info/exclude, weaker than .gitignore": Tree(
        {b".gitignore": b"!keep.gen\n", b"a.gen": b"", b"keep.gen": b"", b"b.py": b""},
        info_exclude=b"*.gen\n",
    ),
    "core.excludesFile replaces the XDG file": Tree(
        {b"a.bak": b"", b"local/x.py": b"", b"b.py": b""},
        excludes_file=b"*.bak\n/local/\n",
        global_ignore=b"*.py\n",
    ),
    "$XDG_CONFIG_HOME/git/ignore, weaker than info/exclude": Tree(
        {b"a.orig": b"", b"keep.orig": b"", b"other.orig": b""},
        global_ignore=b"*.orig\n!keep.orig\n!other.orig\n",
        info_exclude=b"keep.orig\n",
    ),
    "a nested repository has its own rules": Tree(
        {
            b".gitignore": b"*.py\nhidden/\n",
            b"vendor/lib/.gitignore": b"*.c\n",
            **dict.fromkeys([b"vendor/lib/a.c", b"vendor/lib/b.py", b"hidden/x.c"], b""),
        },
        nested=(b"vendor/lib", b"hidden"),
    ),
    "core.ignorecase": Tree(
        {
            b".gitignore": b"*.LOG\nbuild/\n[A]x\n\\Bq\n\\cz\n[a-c]y\n[[:upper:]]w\n",
            **dict.fromkeys([b"a.log", b"B.Log", b"BUILD/x.py", b"Ax", b"ax", b"Bq"], b""),
            **dict.fromkeys([b"bq", b"Cz", b"cz", b"By", b"dy", b"aw", b"Aw"], b""),
        },
        ignorecase=True,
    ),
    "names that are not UTF-8": Tree(
        {
            b".gitignore": b"\xe9*\n?\xe9.py\n[\xe0-\xef]x\n",
            **dict.fromkeys([b"\xe9t\xe9", b"a\xe9.py", "é.py".encode(), b"\xe1x"], b""),
            **dict.fromkeys([b"q\xc3\xa9.py", "\u00e1x".encode()], b""),
        }
    ),
    "a symlinked .gitignore is not read": Tree(
        {b"rules": b"*.py\n", b"sub/a.py": b"", b"sub/b.txt": b""},
        links={b"sub/.gitignore": b"../rules"},
    ),
    "a symlink is judged by its own name, as a file": Tree(
        {b".gitignore": b"build/\nlink*\n", b"real/x.py": b""},
        links={b"build": b"real", b"linkdir": b"real", b"data": b"real/x.py", b"gone": b"nowhere"},
    ),
    "a .gitignore can ignore itself": Tree({b".gitignore": b".gitignore\n", b"a": b""}),
    "trailing spaces and their escapes": Tree(
        {
            b".gitignore": b"a  \nb\\ \nc\\\\ \nd\\  \t\n",
            **dict.fromkeys([b"a", b"a ", b"b ", b"b", b"c\\", b"d ", b"d  \t", b"d \t"], b""),
        }
    ),
    "the literal head of a pattern is cut before wildmatch sees the rest": Tree(
        {
            b".gitignore": b"foo**/bar\nx/y**\n",
            **dict.fromkeys([b"foo/bar", b"foox/y/bar", b"fo/bar", b"x/yz/deep/q"], b""),
        }
    ),
    "** between slashes, and not": Tree(
        {
            b".gitignore": b"**/deep\nm**n/q\n**x\n/**/top.c\nz/**/**/w\n",
            **dict.fromkeys([b"a/b/deep", b"deep/f", b"mabn/q", b"ma/bn/q", b"a/bx"], b""),
            **dict.fromkeys([b"top.c", b"s/top.c", b"z/w", b"z/1/2/w"], b""),
        }
    ),
    "the pathological pattern": Tree(
        {
            b".gitignore": b"**/a/**/a/**/a/**/a/**/a/**/a/**/b\n",
            DEEP + b"/c": b"",
            DEEP + b"/b": b"",
            b"a/a/a/a/a/b": b"",
            b"a/a/a/a/a/a/b": b"",
        }
    ),
    "comments and escapes at the start": Tree(
        {
            b".gitignore": b"#x\n\\#y\n\\!z\n !w\n\n\n",
            **dict.fromkeys([b"#x", b"#y", b"!z", b" !w", b"w"], b""),
        }
    ),
    "anchoring": Tree(
        {
            b".gitignore": b"/top.py\nmid/*.py\nsub/\n//twice\n",
            **dict.fromkeys([b"top.py", b"a/top.py", b"mid/x.py", b"a/mid/x.py", b"a/sub/z"], b""),
            b"twice": b"",
        }
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_meshdev_agrees_with_git(name: str) -> None:
    assert disagreements(CASES[name]) == []


NAMES = [b"a", b"b", b"A", b"ab", b"a.py", b"b.log", b"x y", b"\xc3\xa9", b"\xe9", b"[a]", b"a]b"]
NAMES += [b"#c", b"!d", b"\\e", b"c ", b"B.PY", b"q"]
TOKENS = [b"a", b"b", b"A", b"*", b"**", b"?", b"/", b"[ab]", b"[!a]", b"[a-c]", b"[[:alpha:]]"]
TOKENS += [b"[[:upper:]]", b"\\*", b"\\", b".py", b"log", b" ", b"\\ ", b"\xc3\xa9", b"\xe9", b"]"]
TOKENS += [b"[", b"-", b"x y", b"[]a]", b"[^b]", b"[Z-a]", b"#", b"!", b"q", b"*/", b"**/"]
TOKENS += [*NAMES, *NAMES, b"*", b"*", b"**/", b"*/", b"/"]  # so that patterns often match

paths = st.lists(
    st.lists(st.sampled_from(NAMES), min_size=1, max_size=4).map(b"/".join), min_size=1, max_size=12
).map(lambda found: [p for p in set(found) if not any(q.startswith(p + b"/") for q in found)])
pattern = st.builds(
    lambda head, body, tail: head + b"".join(body) + tail,
    st.sampled_from([b"", b"", b"", b"", b"!", b"/", b"!/", b"#", b"\\!"]),
    st.lists(st.sampled_from(TOKENS), min_size=1, max_size=4),
    st.sampled_from([b"", b"", b"", b"/", b" ", b"\\"]),
)
contents = st.builds(
    lambda bom, lines, end: bom + end.join(lines) + end,
    st.sampled_from([b"", b"", b"\xef\xbb\xbf"]),
    st.lists(pattern, min_size=1, max_size=6),
    st.sampled_from([b"\n", b"\n", b"\r\n"]),
)
SLOW = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _with_gitignores(
    files: list[bytes], texts: list[bytes], where: list[int]
) -> dict[bytes, bytes]:
    folders = sorted({p.rpartition(b"/")[0] for p in files})
    tree = dict.fromkeys(files, b"")
    for text, pick in zip(texts, where, strict=False):
        folder = folders[pick % len(folders)]
        tree[folder + b"/.gitignore" if folder else b".gitignore"] = text
    return tree


@SLOW
@given(
    files=paths,
    texts=st.lists(contents, min_size=1, max_size=3),
    where=st.lists(st.integers(0, 10), min_size=3, max_size=3),
)
def test_generated_gitignore_files_agree_with_git(
    files: list[bytes], texts: list[bytes], where: list[int]
) -> None:
    assert disagreements(Tree(_with_gitignores(files, texts, [0, *where]))) == []


@SLOW
@given(
    files=paths,
    texts=st.lists(contents, min_size=1, max_size=2),
    info=st.none() | contents,
    xdg=st.none() | contents,
    ignorecase=st.booleans(),
    below=st.booleans(),
)
def test_generated_sources_case_folding_and_project_roots_agree_with_git(
    files: list[bytes],
    texts: list[bytes],
    info: bytes | None,
    xdg: bytes | None,
    ignorecase: bool,
    below: bool,
) -> None:
    tree = _with_gitignores(files, texts, [0, 1])
    project = b""
    if below:  # the project is a folder of the work tree, with .gitignore files above it
        tree = {b"proj/" + p: c for p, c in tree.items()} | {b".gitignore": texts[-1]}
        project = b"proj"
    assert disagreements(Tree(tree, info, xdg, None, ignorecase, project)) == []


WHOLE_PROJECT = [name for name, tree in CASES.items() if not tree.nested]


@pytest.mark.parametrize("name", WHOLE_PROJECT)
def test_debug_watches_and_debug_why_agree_with_git(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file `debug watches` lists is watched exactly when git does not ignore it, every
    file git does not ignore is listed, and `debug why` says the same of each."""
    tree = CASES[name]
    with tempfile.TemporaryDirectory() as temporary:
        top, env = build(Path(temporary).resolve(), tree)
        expected = git_verdicts(top, env, tree)
        for key in [k for k in os.environ if k.startswith("GIT_")]:
            monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        root = Path(os.fsdecode(os.path.join(bytes(top), tree.project)))
        (root / ".meshwatch").write_text("include: ['**/*']\n")
        project = load_project([root], None, {}, Flags(), root)
        listed = {
            os.fsencode(entry["path"]): entry["verdict"]
            for entry in explain.watches(project)["files"]
        }
        prefix = tree.project + b"/" if tree.project else b""
        for path, ignored in expected.items():
            full = top / os.fsdecode(path)
            if not path.startswith(prefix) or path.endswith(b".gitignore"):
                continue
            shown = listed.get(path[len(prefix) :])
            if ignored:
                assert shown in (None, "not watched"), path
            elif not full.is_symlink() or full.is_file():  # what files_under() can list
                assert shown == "reload", path
            if not full.is_symlink():  # `debug why` resolves symlinks first (explain.why)
                why = explain.why(project, full)["verdict"]
                assert why == ("not watched" if ignored else "reload"), path


def test_debug_watches_json_is_plain_json_whatever_the_names(tmp_path: Path) -> None:
    top, env = build(tmp_path, CASES["names that are not UTF-8"])
    done = cli("debug", "watches", "--json", cwd=top, env=env)
    assert done.returncode == 0, done.stderr
    verdicts = {os.fsencode(f["path"]): f["verdict"] for f in json.loads(done.stdout)["files"]}
    assert verdicts[b"\xe9t\xe9"] == verdicts[b"a\xe9.py"] == "not watched"
    assert verdicts["é.py".encode()] == "reload"
