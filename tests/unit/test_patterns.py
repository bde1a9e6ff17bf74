from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshdev.project.ignorelist import byte_string
from meshdev.project.ignores import GitIgnores, Source, Stack, compile_list
from meshdev.project.patterns import RulesInput, Verdict, WatchRules, static_base

ROOT = Path("/project")


def rules(
    include: tuple[str, ...] | None = None,
    exclude: tuple[str, ...] = (),
    log_only: tuple[str, ...] = (),
    watch: dict[str, tuple[str, ...]] | None = None,
) -> WatchRules:
    return WatchRules(RulesInput(ROOT, include, exclude, log_only, (".py",), watch or {}))


def verdict(r: WatchRules, rel: str) -> Verdict:
    return r.decide(ROOT / rel).verdict


def test_default_include_is_the_watched_extensions() -> None:
    r = rules()
    assert verdict(r, "agents/a.py") is Verdict.RELOAD
    assert verdict(r, "notes.txt") is Verdict.UNWATCHED
    assert r.decide(ROOT / "a.py").source == "watch_extensions"


def test_exclude_beats_log_only_beats_include() -> None:
    r = rules(include=("**/*",), exclude=("secret/",), log_only=("*.md",))
    assert verdict(r, "secret/x.py") is Verdict.EXCLUDED
    assert verdict(r, "docs/a.md") is Verdict.LOG_ONLY
    assert verdict(r, "lib/x.py") is Verdict.RELOAD


def test_negation_inside_a_list_works_like_gitignore() -> None:
    r = rules(exclude=("**/test_*.py", "!keep/test_me.py"))
    assert verdict(r, "a/test_x.py") is Verdict.EXCLUDED
    assert verdict(r, "keep/test_me.py") is Verdict.RELOAD


def test_the_deciding_pattern_is_named() -> None:
    decision = rules(include=("lib/**/*.py",)).decide(ROOT / "lib/a/b.py")
    assert decision.explain() == "reload (matches include pattern 'lib/**/*.py')"


@pytest.mark.parametrize(
    "rel",
    [
        ".git/index",
        "a/__pycache__/m.cpython-311.pyc",
        "m.pyc",
        "node_modules/x/index.py",
        ".venv/lib/site.py",
        ".meshdev/state/a.state",
        ".mypy_cache/x.py",
        "agents/.alpha.py.swp",
        "agents/.alpha.py.swx",
        "agents/alpha.py~",
        "agents/4913",
        "agents/.#alpha.py",
        "agents/#alpha.py#",
        "agents/alpha.py___jb_tmp___",
        "agents/alpha.py___jb_old___",
        "agents/alpha.py.kate-swp",
        "agents/.goutputstream-AB12",
        "agents/alpha.py.tmp",
    ],
)
def test_builtin_ignores_cover_vcs_caches_envs_bytecode_meshdev_and_editor_files(rel: str) -> None:
    assert verdict(rules(include=("**/*",)), rel) is Verdict.EXCLUDED


def test_the_config_file_itself_and_paths_outside_the_root() -> None:
    r = rules()
    assert verdict(r, ".meshwatch") is Verdict.CONFIG
    assert r.decide(Path("/elsewhere/a.py")).verdict is Verdict.UNWATCHED


def test_agent_watch_patterns() -> None:
    r = rules(watch={"alpha": ("prompts/*.txt",)})
    assert verdict(r, "prompts/a.txt") is Verdict.RELOAD
    assert r.watching_agents("prompts/a.txt") == {"alpha"}
    assert r.watching_agents("other.txt") == set()


def test_pruned_folders() -> None:
    r = rules(exclude=("build/",))
    assert r.prunes_dir("node_modules") and r.prunes_dir("x/.venv") and r.prunes_dir("build")
    assert not r.prunes_dir("lib")


@pytest.mark.parametrize(
    ("pattern", "base"),
    [
        ("*.py", ""),
        ("**/*.py", ""),
        ("/top.py", ""),
        ("agents/**/*.py", "agents"),
        ("lib/sub/*.py", "lib/sub"),
        ("config/", ""),
        ("/config/", "config"),
        ("a/*/b/*.py", "a"),
        ("!x.py", None),
        ("lib/x.py", "lib"),
    ],
)
def test_static_base(pattern: str, base: str | None) -> None:
    assert static_base(pattern) == base


@given(st.lists(st.sampled_from(["a", "b", "*", "**", "x?", "[ab]"]), min_size=1, max_size=5))
def test_a_static_base_is_always_a_prefix_of_what_the_pattern_can_match(parts: list[str]) -> None:
    pattern = "/".join(parts) + "/f.py"
    base = static_base(pattern)
    assert base is not None
    assert pattern.startswith(base)
    assert not set(base) & set("*?[")


@pytest.mark.parametrize(
    ("pattern", "base"),
    [
        ("\\#x/*.py", "#x"),  # an escaped '#' is a literal folder, not a comment
        ("a\\ /*.py", "a "),  # an escaped trailing space stays
        (" lib/x.py", " lib"),  # a leading space is part of the name
        ("a\\/b/x.py", "a/b"),  # `\/` matches '/'
        ("lib\\*/x.py", "lib*"),  # an escaped star is a plain character
        ("lib/x.py   ", "lib"),  # unescaped trailing spaces are not
        ("#comment/x.py", None),
        ("", None),
    ],
)
def test_static_base_reads_a_pattern_as_git_does(pattern: str, base: str | None) -> None:
    assert static_base(pattern) == base


def test_a_file_in_a_listed_folder_stays_listed_whatever_a_later_negation_says() -> None:
    r = rules(include=("lib/", "!lib/keep.py"))
    assert verdict(r, "lib/keep.py") is Verdict.RELOAD  # git: lib/ excluded, no re-include
    assert r.decide(ROOT / "lib/keep.py").pattern == "lib/"
    r = rules(exclude=("*", "!*.py"))
    assert verdict(r, "x.py") is Verdict.RELOAD
    assert verdict(r, "sub/x.py") is Verdict.EXCLUDED  # `*` excluded the folder `sub`


def test_every_pattern_git_accepts_is_accepted_and_a_broken_one_only_never_matches() -> None:
    r = rules(exclude=("x\\", "\\", "[z-a]", "!", "*\\  ", "[b-a].py", "build/", "[", "[[:x:]]"))
    assert verdict(r, "build/x.py") is Verdict.EXCLUDED
    assert verdict(r, "a ") is Verdict.EXCLUDED  # `*\  `: a name ending in one space
    assert verdict(r, "b.py") is Verdict.EXCLUDED  # git takes the `b` of `[b-a]` before the range
    assert verdict(r, "a.py") is Verdict.RELOAD


def test_posix_classes_and_git_s_own_ctype() -> None:
    r = rules(exclude=("[[:digit:]][[:upper:]]*", "[[:space:]]*"))
    assert verdict(r, "1Ab.py") is Verdict.EXCLUDED
    assert verdict(r, "1ab.py") is Verdict.RELOAD
    assert verdict(r, "\tx.py") is Verdict.EXCLUDED
    assert verdict(r, "\x0bx.py") is Verdict.RELOAD  # git's isspace() is tab, LF, CR, space


def test_a_pattern_ending_in_a_slash_matches_folders_only() -> None:
    r = rules(exclude=("build/",))
    assert r.decide(ROOT / "build").source != "exclude"  # a file named build
    assert verdict(r, "build/x.py") is Verdict.EXCLUDED
    assert r.prunes_dir("a/build")
    assert not r.prunes_dir("a/builds")


def test_an_entry_with_a_newline_is_two_patterns_named_by_the_entry() -> None:
    r = rules(exclude=("a.py\nb.py",))
    assert r.decide(ROOT / "b.py").pattern == "a.py\nb.py"
    assert verdict(r, "c.py") is Verdict.RELOAD


PIECES = ["a", "b", "*", "**", "?", "[ab]", "[!a]", "x*", "*.py", "\\*", "A"]
NAMES = ["a", "b", "A", "x.py", "ab.py", "a.pyc", "*", "xa", ".gitignore", ".meshwatch", "é.py"]


@st.composite
def pattern_lists(draw: st.DrawFn) -> tuple[str, ...]:
    lines = []
    for parts in draw(st.lists(st.lists(st.sampled_from(PIECES), min_size=1, max_size=3))):
        line = "/".join(parts)
        line = draw(st.sampled_from(["", "/", "!"])) + line + draw(st.sampled_from(["", "/"]))
        lines.append(line)
    return tuple(lines)


@given(
    pattern_lists(),
    pattern_lists(),
    pattern_lists(),
    st.sampled_from(["", "a", "b", "a/b", "x.py/a"]),
    st.booleans(),
)
def test_a_folder_judged_at_once_gets_the_verdicts_of_its_files_judged_one_by_one(
    exclude: tuple[str, ...],
    include: tuple[str, ...],
    ignored: tuple[str, ...],
    folder: str,
    casefold: bool,
) -> None:
    lists = [("", ignored), ("a", ignored[::-1])]
    gitignores = GitIgnores(stack=Stack())
    for where, lines in lists:
        data = "\n".join(lines).encode()
        gitignores.stack.add_folder(where, Source(where, compile_list(data, casefold)))
    given_ = RulesInput(ROOT, include or None, exclude, (), (".py",), {}, gitignores)
    r = WatchRules(given_)
    one_by_one = [r.decide(ROOT / folder / name) for name in NAMES]
    assert r.decide_files(folder, NAMES) == one_by_one
    for is_dir in (False, True):
        patterns = compile_list("\n".join(ignored).encode(), casefold)
        prefix = f"{folder}/" if folder else ""
        singly = [patterns.last(prefix + byte_string(n), byte_string(n), is_dir) for n in NAMES]
        at_once = patterns.last_in(prefix, [byte_string(n) for n in NAMES], is_dir)
        assert [at_once.get(at, -1) for at in range(len(NAMES))] == singly
