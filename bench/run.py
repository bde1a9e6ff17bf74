"""Every figure, printed and written to bench/RESULTS.md. Run with `bash bench/run.sh`.

Each figure is a median of several runs with min and max; comparisons are measured in the same
run, interleaved, and given as ratios: these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable

import idle
import mcp_front
import relay
import reload
import scale
import startup
import state
from harness import BENCH, python_version

RESULTS = BENCH / "RESULTS.md"


def main() -> None:
    mcp_front.reset_signals()  # figures must not depend on how the runner was started
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds of interleaved saves")
    parser.add_argument("--quick", action="store_true", help="fewer rounds, shorter idle")
    args = parser.parse_args()
    rounds = 2 if args.quick else args.rounds
    figures: list[tuple[str, Callable[[], list[str]]]] = [
        ("save -> first line", lambda: reload.figure_1(rounds, per_round=4)),
        ("save -> ready, heavy imports", lambda: reload.figure_2(rounds, per_round=3)),
        ("idle", lambda: idle.figure_3(seconds=15 if args.quick else 30)),
        ("storm", lambda: reload.figure_4(rounds=2 if args.quick else 3)),
        ("scale", scale.figure_5),
        ("state", lambda: state.figure_6(3 if args.quick else 7)),
        ("mcp front", lambda: mcp_front.figure_7(reloads=rounds, rounds=2 if args.quick else 3)),
        ("warm spawner", lambda: (w := __import__("warm_mcp")).figure_8() + w.figure_9()),
        ("start-up", lambda: startup.figure_11(rounds=4 if args.quick else 2 * rounds)),
        ("refresh", lambda: __import__("refresh").figure_10(rounds, saves=4)),
        ("relay", lambda: relay.figure_12(2 if args.quick else 3)),
    ]
    lines = _header()
    for name, figure in figures:
        started = time.monotonic()
        print(f"... {name}", file=sys.stderr, flush=True)
        section = figure()
        print("\n".join(section), flush=True)
        lines += section
        print(f"    ({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"written to {RESULTS}", file=sys.stderr)


def _header() -> list[str]:
    return [
        "# meshdev benchmarks",
        "",
        f"Produced by `bash bench/run.sh` on {time.strftime('%Y-%m-%d')}: {platform.machine()}, "
        f"{os.cpu_count()} cores, Linux {platform.release()}, Python {python_version()}, "
        "every tool on that same interpreter (installed by bench/install_tools.sh, pinned). "
        "Medians with min-max; tools interleaved round by round.",
        "",
    ]


if __name__ == "__main__":
    main()
