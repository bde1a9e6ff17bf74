"""Figure 11: launch -> the agent's first statement. `meshdev start DIR --plain` against the
watchfiles CLI (`watchfiles 'python agent.py' DIR`) and a bare `python agent.py`, on the same
tree, with and without a `.meshwatch`, interleaved round by round.

Run alone with `python bench/startup.py [--rounds N] [--venv DIR]`; `bench/run.py` includes it.
The tools come from the bench's venv (bench/install_tools.sh) when it exists, else from the
project's `.venv` (an editable install: this checkout as it is), or from `--venv`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from harness import AGENT, BENCH, PYTHON, Tool, make_fixture, median, running, summary, wait_for

TARGET = 1.5  # issue 14: meshdev start -> first statement within 1.5x the watchfiles CLI
MESHWATCH = "reload_delay: 300\nexclude:\n  - '*.log'\n"
# A start as users see it reads cached bytecode (the uncounted first round writes it): a runner
# that sets PYTHONDONTWRITEBYTECODE would have every tool compile its modules at every start.
CACHED_BYTECODE = {"PYTHONDONTWRITEBYTECODE": ""}
# A `__main__` block makes agent.py an agent of its folder (`meshdev start DIR`).
MAIN = 'if __name__ == "__main__":\n    while True:\n        time.sleep(3600)\n'


@dataclass(frozen=True)
class Launch(Tool):
    """A tool given by its own command line; `{dir}` stands for the fixture's folder."""

    argv: tuple[str, ...] = ()
    meshwatch: bool = False

    def command(self, fixture: Path, port: int) -> list[str]:
        return [part.replace("{dir}", str(fixture)) for part in self.argv]


def bin_dir(venv: Path | None = None) -> Path:
    """`venv`'s, else the bench's own venv, or this project's when the bench tools are not
    installed."""
    if venv is not None:
        return venv / "bin"
    return PYTHON.parent if PYTHON.exists() else BENCH.parent / ".venv" / "bin"


def launches(bin: Path) -> list[Launch]:
    py, meshdev = str(bin / "python"), str(bin / "meshdev")
    start = (meshdev, "start", "{dir}", "--plain")
    return [
        Launch("python agent.py", "the floor: no tool", argv=(py, "agent.py")),
        Launch("watchfiles", "CLI", argv=(str(bin / "watchfiles"), f"{py} agent.py", "{dir}")),
        Launch("meshdev", "start DIR --plain, no .meshwatch", argv=start),
        Launch(
            "meshdev, .meshwatch", "start DIR --plain, a .meshwatch", argv=start, meshwatch=True
        ),
        Launch(
            "python -m meshdev", "the same, no .meshwatch", argv=(py, "-m", "meshdev", *start[1:])
        ),
    ]


def first_statement(launch: Launch, fixture: Path) -> float | None:
    """ms from the launch (just before the fork) to the agent's first statement."""
    marker = fixture / "marker.txt"
    marker.unlink(missing_ok=True)
    started = time.time()
    with running(launch, fixture, marker, extra_env=CACHED_BYTECODE):
        stamp = wait_for(marker, lambda s: s.kind == "start", timeout=30)
    return None if stamp is None else (stamp.at - started) * 1000


def measure(rounds: int, bin: Path) -> dict[str, list[float | None]]:
    """Each tool's figure of each counted round (None: no first statement seen)."""
    tools = launches(bin)
    found: dict[str, list[float | None]] = {t.name: [] for t in tools}
    with tempfile.TemporaryDirectory() as folder:
        fixtures = {}
        for tool in tools:  # one tree per tool: each meshdev keeps its own .meshdev/ there
            fixture = make_fixture(Path(folder) / str(len(fixtures)))
            (fixture / "agent.py").write_text(AGENT.format(heavy="", tail=MAIN))
            if tool.meshwatch:
                (fixture / ".meshwatch").write_text(MESHWATCH)
            fixtures[tool.name] = fixture
        for round_ in range(rounds + 1):  # the first warms the caches and is not counted
            for tool in tools:
                value = first_statement(tool, fixtures[tool.name])
                if round_ > 0:
                    found[tool.name].append(value)
    return found


def paired(found: dict[str, list[float | None]], name: str) -> float:
    """The median over rounds of `name` / the watchfiles CLI in the same round: a shared machine's
    load drifts between rounds far more than within one."""
    pairs = zip(found[name], found["watchfiles"], strict=True)
    return median([a / b for a, b in pairs if a is not None and b is not None])


def seen(values: list[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def figure_11(rounds: int, venv: Path | None = None) -> list[str]:
    bin = bin_dir(venv)
    tools = launches(bin)
    found = measure(rounds, bin)
    lines = [
        "### 11. Launch → the agent's first statement",
        "",
        f"From just before the fork of the command to the agent's first statement ({rounds} "
        "rounds after one not counted, tools interleaved round by round; the same tree: an "
        f"agent and one module; tools from `{bin.parent}`). Ratio: the median over rounds of "
        "each round's figure / the watchfiles CLI's in that round. Target: meshdev ≤ "
        f"{TARGET}x the watchfiles CLI.",
        "",
        "| command | setting | launch → first statement | ratio to watchfiles |",
        "| --- | --- | --- | --- |",
    ]
    for tool in tools:
        values = seen(found[tool.name])
        ratio = paired(found, tool.name) if values else float("nan")
        lines.append(f"| {tool.name} | {tool.note} | {summary(values)} | {ratio:.2f}x |")
    verdicts = []
    for name in ("meshdev", "meshdev, .meshwatch"):
        ratio = paired(found, name)
        verdicts.append(f"{name}: {ratio:.2f}x {'✓' if ratio <= TARGET else '✗'}")
    lines += ["", "meshdev / watchfiles CLI = " + "; ".join(verdicts) + ".", ""]
    return lines


def main() -> None:
    from mcp_front import reset_signals

    reset_signals()  # figures must not depend on how the runner was started
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--venv", type=Path, help="the venv whose tools are compared")
    args = parser.parse_args()
    print("\n".join(figure_11(args.rounds, args.venv)), flush=True)


if __name__ == "__main__":
    main()
