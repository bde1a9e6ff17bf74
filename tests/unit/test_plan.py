from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from meshdev.decide.changes import Surroundings, classify
from meshdev.decide.dependencies import DependencyIndex
from meshdev.decide.plan import Plan, make_plan
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


WHERE = Surroundings(RULES, DependencyIndex(FILES), (ROOT / "a",))


def plan_for(
    paths: Iterable[Path],
    discovered: set[str] | None = None,
    redefined: tuple[str, ...] = (),
) -> Plan:
    changes = [classify(path, WHERE) for path in paths]
    return make_plan(changes, set(FILES), discovered or set(FILES), redefined)


def test_a_shared_file_restarts_each_importer_once() -> None:
    plan = plan_for([ROOT / "lib/shared.py", ROOT / "lib/shared.py"])
    assert dict(plan.restart) == {
        "alpha": (ROOT / "lib/shared.py", ROOT / "lib/shared.py"),
        "beta": (ROOT / "lib/shared.py", ROOT / "lib/shared.py"),
    }


def test_opened_files_and_watch_patterns_hit_their_agent() -> None:
    plan = plan_for([ROOT / "conf/g.yaml", ROOT / "prompts/x.txt"])
    assert list(plan.restart) == ["gamma"]


def test_unused_log_only_excluded_and_config() -> None:
    plan = plan_for(
        [ROOT / "lib/unused.py", ROOT / "README.md", ROOT / "secret/k.py", ROOT / ".meshwatch"]
    )
    assert not plan.restart
    assert plan.unused == (ROOT / "lib/unused.py",)
    assert plan.log_only == (ROOT / "README.md",)


def test_new_and_removed_agents() -> None:
    plan = plan_for([ROOT / "a/delta.py", ROOT / "a/gamma.py"], {"alpha", "beta", "delta"})
    assert plan.start == ("delta",) and plan.stop == ("gamma",)
    assert not plan.restart  # gamma is stopped, not restarted


def test_redefined_agents_restart_without_a_file() -> None:
    assert dict(plan_for([], redefined=("beta",)).restart) == {"beta": ()}


def test_which_changes_count_on_arrival() -> None:
    def counts(rel: str) -> bool:
        return classify(ROOT / rel, WHERE).counts

    assert counts("lib/x.py")
    assert counts("conf/g.yaml")  # not matched, but opened by gamma
    assert not counts("conf/other.yaml")
    assert not counts("a/__pycache__/x.pyc")
    assert counts("a/notes.txt")  # in an agents' folder: may be a new agent


def test_only_files_an_agent_uses_or_a_new_agent_can_hold_a_reload() -> None:
    assert classify(ROOT / "lib/shared.py", WHERE).gated
    assert classify(ROOT / "a/delta.py", WHERE).gated
    assert not classify(ROOT / "lib/unused.py", WHERE).gated


def test_deciding_for_fifty_agents_is_fast() -> None:
    files = {
        f"agent{i}": {
            ROOT / f"a/agent{i}.py",
            ROOT / "lib/shared.py",
            *(ROOT / f"lib/m{i}_{j}.py" for j in range(20)),
        }
        for i in range(50)
    }
    where = Surroundings(RULES, DependencyIndex(files), ())
    started = time.perf_counter()
    plan = make_plan([classify(ROOT / "lib/shared.py", where)], set(files), set(files))
    elapsed = time.perf_counter() - started
    assert len(plan.restart) == 50
    assert elapsed < 1.0  # a sanity bound only; bench/ measures the real figure
