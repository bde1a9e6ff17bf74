"""Ignore rules at scale: meshdev against git itself, on the same trees, in the same run.

1. 60,000 files under a 200-line .gitignore: `meshdev debug watches --json` against
   `git status --ignored --porcelain` (and with --untracked-files=all) and `git check-ignore
   --stdin` fed every path; and where meshdev's time goes: its start-up (`meshdev --version`),
   the same command on an empty project (start-up, the command line's own parsing, loading a
   project), what `debug watches` computes (in-process), and the ignore rules' own share of it
   (reading every source, the walk and the verdict on every file).
2. 1,000 nested .gitignore files: the same commands.
3. `**/a/**/a/**/a/**/a/**/a/**/a/**/b` on one file 40 folders deep: `meshdev debug why` and the
   verdict in-process, against `git check-ignore`.

Medians of several rounds (min-max), the commands interleaved round by round, each timed by wall
clock, git with an isolated configuration (no system or user file). The 200-line .gitignore is
made of the lines real ones hold (Python, Node, editors, operating systems), then a project's
own. Usage: python bench/gitignore.py [--rounds N] [--quick] [--only big|nested|deep]
Bench code, not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from meshdev.decide import explain  # noqa: E402
from meshdev.project import gitignore, scan  # noqa: E402
from meshdev.project.patterns import RulesInput, WatchRules  # noqa: E402
from meshdev.project.project import load_project  # noqa: E402
from meshdev.project.settings import Flags  # noqa: E402

PATTERN = "**/a/**/a/**/a/**/a/**/a/**/a/**/b"


def env_for(base: Path) -> dict[str, str]:
    home = base / "home"
    home.mkdir(exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "xdg"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CEILING_DIRECTORIES": str(base),
        "LC_ALL": "C",
        "PYTHONPATH": str(REPO),
        "NO_COLOR": "1",
    }


# The kinds of lines real .gitignore files hold (Python, Node, editors, operating systems),
# completed to 200 lines with a project's own: anchored paths, globs, classes and negations.
USUAL = """
__pycache__/ *.py[cod] *$py.class *.so .Python build/ develop-eggs/ dist/ downloads/ eggs/
.eggs/ lib64/ parts/ sdist/ var/ wheels/ share/python-wheels/ *.egg-info/ .installed.cfg *.egg
MANIFEST *.manifest *.spec pip-log.txt pip-delete-this-directory.txt htmlcov/ .tox/ .nox/
.coverage .coverage.* .cache nosetests.xml coverage.xml *.cover *.py,cover .hypothesis/
.pytest_cache/ cover/ *.mo *.pot *.log local_settings.py db.sqlite3 db.sqlite3-journal
instance/ .webassets-cache .scrapy docs/_build/ .pybuilder/ target/ .ipynb_checkpoints
profile_default/ ipython_config.py .pdm.toml __pypackages__/ celerybeat-schedule celerybeat.pid
*.sage.py .env .venv env/ venv/ ENV/ env.bak/ venv.bak/ .spyderproject .spyproject
.ropeproject /site .mypy_cache/ .dmypy.json dmypy.json .pyre/ .pytype/ cython_debug/ logs
npm-debug.log* yarn-debug.log* yarn-error.log* lerna-debug.log* .pnpm-debug.log*
report.[0-9]*.[0-9]*.[0-9]*.[0-9]*.json pids *.pid *.seed *.pid.lock lib-cov coverage *.lcov
.nyc_output .grunt bower_components .lock-wscript build/Release node_modules/ jspm_packages/
web_modules/ *.tsbuildinfo .npm .eslintcache .stylelintcache .rpt2_cache/ .rts2_cache_cjs/
.node_repl_history *.tgz .yarn-integrity .env.development.local .env.test.local .next out
.nuxt .cache/ .vuepress/dist .temp .docusaurus .serverless/ .fusebox/ .dynamodb/ .tern-port
.vscode-test .yarn/cache .yarn/unplugged .yarn/build-state.yml .yarn/install-state.gz .pnp.*
*~ \\#*\\# /.emacs.desktop /.emacs.desktop.lock *.elc auto-save-list tramp .\\#* .org-id-locations
*_archive *_flymake.* /eshell/history /eshell/lastdir /elpa/ *.rel .projectile .dir-locals.el
/server/ [._]*.s[a-v][a-z] !*.svg [._]*.sw[a-p] [._]s[a-rt-v][a-z] [._]ss[a-gi-z] [._]sw[a-p]
Session.vim Sessionx.vim .netrwhist tags [._]*.un~ .DS_Store .AppleDouble .LSOverride Icon
._* .DocumentRevisions-V100 .fseventsd .Spotlight-V100 .TemporaryItems .Trashes .VolumeIcon.icns
.com.apple.timemachine.donotpresent .AppleDB .AppleDesktop Thumbs.db Thumbs.db:encryptable
ehthumbs.db ehthumbs_vista.db *.stackdump [Dd]esktop.ini $RECYCLE.BIN/ *.cab *.msi *.msix
*.msm *.msp *.lnk .idea/**/workspace.xml .idea/**/tasks.xml .idea/**/usage.statistics.xml
.idea/**/dictionaries .idea/**/shelf cmake-build-*/ *.iws out/ .idea_modules/
atlassian-ide-plugin.xml com_crashlytics_export_strings.xml crashlytics.properties
""".split()  # noqa: SIM905 - read as the lines of a file, not a list


def two_hundred_lines(rng: random.Random) -> str:
    lines = ["# generated for the benchmark", *USUAL]
    kinds = [
        lambda i: f"/pkg{i % 30}/only{i}.py",
        lambda i: f"gen{i}_*.py",
        lambda i: f"data[0-9]{i}.csv",
        lambda i: f"**/cache{i}/",
        lambda i: f"pkg*/sub{i % 20}/*.bak",
        lambda i: f"!keep{i}.log",
        lambda i: f"scratch{i}/",
    ]
    while len(lines) < 200:
        lines.append(kinds[rng.randrange(len(kinds))](len(lines)))
    return "\n".join(lines) + "\n"


def big_tree(root: Path, files: int) -> None:
    rng = random.Random(15)
    (root / ".gitignore").write_text(two_hundred_lines(rng))
    made = 0
    names = ["mod{}.py", "test_{}.py", "run{}.log", "gen{}_x.py", "note{}.txt", "data5{}.csv"]
    while made < files:
        folder = root / f"pkg{made // 2000}" / f"sub{(made // 100) % 20}"
        if made % 6000 == 3000:
            folder = folder / "build"
        folder.mkdir(parents=True, exist_ok=True)
        for k in range(100):
            (folder / names[k % len(names)].format(made + k)).write_bytes(b"")
        made += 100


def nested_tree(root: Path, count: int) -> None:
    """`count` folders, each with its own small .gitignore and a few files."""
    for i in range(count):
        folder = root / f"area{i // 100}" / f"part{i}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ".gitignore").write_text(f"*.o\nlocal{i}/\n!keep{i}.o\n/gen_*.py\n")
        for name in ("a.py", "b.o", f"keep{i}.o", "gen_1.py"):
            (folder / name).write_bytes(b"")


def deep_tree(root: Path) -> Path:
    (root / ".gitignore").write_text(PATTERN + "\n")
    folder = root.joinpath(*["a"] * 40)
    folder.mkdir(parents=True)
    (folder / "x.py").write_bytes(b"")
    return folder / "x.py"


def timed(command: list[str], cwd: Path, env: dict[str, str], stdin: bytes = b"") -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, input=stdin, capture_output=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.decode(errors='replace')}")
    return elapsed


def interleaved(n: int, measures: dict[str, Callable[[], float]]) -> dict[str, list[float]]:
    """Every measure once per round, in turn, so that a busy machine weighs on all alike; a first
    round warms the page cache and the interpreter's files and is not counted."""
    for measure in measures.values():
        measure()
    found: dict[str, list[float]] = {name: [] for name in measures}
    for _ in range(n):
        for name, measure in measures.items():
            found[name].append(measure())
    return found


def figure(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} s ({min(values):.3f}-{max(values):.3f})"


def all_paths(root: Path) -> bytes:
    found = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        found += [os.path.relpath(os.path.join(folder, n), root) for n in names]
    return "\n".join(found).encode() + b"\n"


def in_process(root: Path, env: dict[str, str]) -> tuple[float, float]:
    """(reading every ignore source, the walk plus a verdict on every file, a folder's files at
    once as `debug watches` judges them) in seconds, from nothing compiled, as in a new process."""
    gitignore.forget()
    start = time.perf_counter()
    base = WatchRules(RulesInput(root, ("**/*",), (), (), (".py",), {}))
    ignores = gitignore.load(root, base.prunes_dir, env)
    loaded = time.perf_counter()
    rules = WatchRules(RulesInput(root, ("**/*",), (), (), (".py",), {}, ignores))
    listed: dict[Path, list[str]] = {}
    for folder in scan.walk_dirs(rules, root, None, listed):
        rules.decide_files(rules.relative(folder / "x")[:-2], listed[folder])  # type: ignore[index]
    return loaded - start, time.perf_counter() - loaded


def watches_data(root: Path) -> float:
    """What `debug watches` computes, without starting an interpreter or printing, from nothing
    compiled."""
    gitignore.forget()
    start = time.perf_counter()
    explain.watches(load_project([root], None, {}, Flags(), root))
    return time.perf_counter() - start


def compare(title: str, root: Path, env: dict[str, str], n: int) -> None:
    meshdev = [sys.executable, "-m", "meshdev", "debug", "watches", "--json"]
    git_status = ["git", "status", "--ignored", "--porcelain"]
    paths = all_paths(root)
    parts: list[tuple[float, float]] = []
    empty = root.parent / f"{root.name}-empty"  # what any `debug` command costs before the tree
    empty.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=empty, env=env, check=True)

    def parts_of_meshdev() -> float:
        parts.append(in_process(root, env))
        return sum(parts[-1])

    rows = interleaved(
        n,
        {
            "meshdev debug watches --json": lambda: timed(meshdev, root, env),
            "  of which start-up (meshdev --version)": lambda: timed(
                [sys.executable, "-m", "meshdev", "--version"], root, env
            ),
            "  of which a debug command on an empty project": lambda: timed(meshdev, empty, env),
            "  of which its data (explain.watches, in-process)": lambda: watches_data(root),
            "git status --ignored --porcelain": lambda: timed(git_status, root, env),
            "  ... --untracked-files=all": lambda: timed(
                [*git_status, "--untracked-files=all"], root, env
            ),
            "git check-ignore --stdin (every path)": lambda: timed(
                ["git", "check-ignore", "--stdin"], root, env, paths
            ),
            "meshdev in-process: ignore sources, walk, every verdict": parts_of_meshdev,
        },
    )
    rows["  of which reading every ignore source"] = [p[0] for p in parts[1:]]
    rows["  of which the walk and the verdict on every file"] = [p[1] for p in parts[1:]]
    base = statistics.median(rows["git status --ignored --porcelain"])
    print(f"\n### {title}\n\n| command | median (min-max) | ratio to git status |")
    print("| --- | --- | --- |")
    for name, values in rows.items():
        print(f"| {name} | {figure(values)} | {statistics.median(values) / base:.1f}x |")


def pathological(root: Path, env: dict[str, str], n: int) -> None:
    target = deep_tree(root)
    rel = str(target.relative_to(root))
    why = [sys.executable, "-m", "meshdev", "debug", "why", rel, "--json"]
    check = ["git", "check-ignore", "--no-index", rel]

    def verdict() -> float:
        start = time.perf_counter()
        gitignore.load(root, lambda rel: False, env).deciding(rel)
        return time.perf_counter() - start

    rows = interleaved(
        n,
        {
            "meshdev debug why FILE --json": lambda: timed(why, root, env),
            "in-process: read the rules, then the verdict": verdict,
            "git check-ignore FILE": lambda: timed(check, root, env),
        },
    )
    print(f"\n### `{PATTERN}` on one file 40 folders deep\n")
    print("| command | median (min-max) |\n| --- | --- |")
    for name, values in rows.items():
        print(f"| {name} | {figure(values)} |")


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a harness may have left SIGINT ignored
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="smaller trees, 3 rounds")
    parser.add_argument("--only", choices=("big", "nested", "deep"), help="one figure alone")
    args = parser.parse_args()
    n = 3 if args.quick else args.rounds
    files, nested = (6_000, 100) if args.quick else (60_000, 1_000)
    with tempfile.TemporaryDirectory() as temporary:
        base = Path(temporary).resolve()
        env = env_for(base)
        os.environ.update({k: v for k, v in env.items() if k != "PATH"})  # in-process runs too
        for name, make, title in (
            ("big", lambda r: big_tree(r, files), f"{files:,} files, a 200-line .gitignore"),
            ("nested", lambda r: nested_tree(r, nested), f"{nested:,} nested .gitignore files"),
        ):
            if args.only not in (None, name):
                continue
            root = base / name
            root.mkdir()
            subprocess.run(["git", "init", "-q"], cwd=root, env=env, check=True)
            make(root)
            compare(title, root, env, n)
        if args.only not in (None, "deep"):
            return
        deep = base / "deep"
        deep.mkdir()
        subprocess.run(["git", "init", "-q"], cwd=deep, env=env, check=True)
        pathological(deep, env, n)


if __name__ == "__main__":
    main()
