from __future__ import annotations

import time
from pathlib import Path

from meshdev.decide.plan import DependencyIndex, Situation, is_relevant, make_plan
from meshdev.project.patterns import RulesInput, WatchRules

ROOT = Path("/p")
RULES = WatchRules(
    RulesInput(ROOT, None, ("secret/",), ("*.md",), (".py",), {"gamma": ("prompts/*.txt",)})
)
FILES = {
    "alpha": {ROOT / "a/alpha.py", ROOT / "lib/shared.py"},
    "beta": {ROOT / "a/beta.py", ROOT / "lib/shared.py", ROOT / "lib/mid.py"},
    "gamma": {ROOT / "a/gamma.py", ROOT / "conf/g.yaml"},
}


def situation(
    running: set[str] | None = None,
    discovered: set[str] | None = None,
    redefined: tuple[str, ...] = (),
) -> Situation:
    names = set(FILES)
    return Situation(
        RULES, DependencyIndex(FILES), running or names, discovered or names, redefined
    )


def test_a_shared_file_restarts_each_importer_once() -> None:
    plan = make_plan([ROOT / "lib/shared.py", ROOT / "lib/shared.py"], situation())
    assert dict(plan.restart) == {
        "alpha": (ROOT / "lib/shared.py", ROOT / "lib/shared.py"),
        "beta": (ROOT / "lib/shared.py", ROOT / "lib/shared.py"),
    }


def test_opened_files_and_watch_patterns_hit_their_agent() -> None:
    plan = make_plan([ROOT / "conf/g.yaml", ROOT / "prompts/x.txt"], situation())
    assert list(plan.restart) == ["gamma"]


def test_unused_log_only_excluded_and_config() -> None:
    plan = make_plan(
        [ROOT / "lib/unused.py", ROOT / "README.md", ROOT / "secret/k.py", ROOT / ".meshwatch"],
        situation(),
    )
    assert not plan.restart
    assert plan.unused == (ROOT / "lib/unused.py",)
    assert plan.log_only == (ROOT / "README.md",)
    assert plan.config_changed


def test_new_and_removed_agents() -> None:
    plan = make_plan(
        [ROOT / "a/delta.py", ROOT / "a/gamma.py"], situation(discovered={"alpha", "beta", "delta"})
    )
    assert plan.start == ("delta",) and plan.stop == ("gamma",)
    assert not plan.restart  # gamma is stopped, not restarted


def test_redefined_agents_restart_without_a_file() -> None:
    assert dict(make_plan([], situation(redefined=("beta",))).restart) == {"beta": ()}


def test_relevance() -> None:
    index = DependencyIndex(FILES)
    assert is_relevant(ROOT / "lib/x.py", RULES, index)
    assert is_relevant(ROOT / "conf/g.yaml", RULES, index)  # not matched, but opened by gamma
    assert not is_relevant(ROOT / "conf/other.yaml", RULES, index)
    assert not is_relevant(ROOT / "a/__pycache__/x.pyc", RULES, index)


def test_deciding_for_fifty_agents_is_fast() -> None:
    files = {
        f"agent{i}": {
            ROOT / f"a/agent{i}.py",
            ROOT / "lib/shared.py",
            *(ROOT / f"lib/m{i}_{j}.py" for j in range(20)),
        }
        for i in range(50)
    }
    index = DependencyIndex(files)
    sit = Situation(RULES, index, set(files), set(files))
    started = time.perf_counter()
    plan = make_plan([ROOT / "lib/shared.py"], sit)
    elapsed = time.perf_counter() - started
    assert len(plan.restart) == 50
    assert elapsed < 1.0  # a sanity bound only; bench/ measures the real figure
