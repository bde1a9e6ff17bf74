"""State save and restore times for 1 MB and 50 MB states, beside the seed's plain pickle file.

meshdev: per-key pickle + signed container (HMAC-SHA256) + atomic write (temp, fsync, rename,
fsync of the folder); restore = read + verify + unpickle every key. Seed: `pickle.dump` to a file
in `atexit`, `pickle.load` at start-up, no signature, no fsync. Each figure is the median of
RUNS runs (min-max), the two interleaved run by run.

Usage: python bench/state.py [--runs N]   (or all figures: bash bench/run.sh)
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from meshdev.runtime.state import Keeper, StateNamespace

SECRET = os.urandom(32)


def make_state(megabytes: int) -> dict[str, Any]:
    """A realistic mix whose pickle is `megabytes` MB: a cache of strings, a list of records,
    and a bytes blob filling the rest."""
    target = megabytes * 1_000_000
    cache = {f"key-{i}": "v" * 90 for i in range(target // 3 // 115)}
    records = [{"id": i, "score": i * 0.5, "tags": ["a", "b"]} for i in range(target // 3 // 45)]
    used = len(pickle.dumps(cache)) + len(pickle.dumps(records))
    return {"cache": cache, "records": records, "blob": os.urandom(max(0, target - used))}


def meshdev_round(folder: Path, state: dict[str, Any]) -> tuple[float, float, int]:
    path = str(folder / "agent.state")
    keeper = Keeper(StateNamespace(), path, SECRET, "agent", 10**12, lambda _m: None)
    keeper.namespace.update(state)
    started = time.perf_counter()
    keeper.save("stop")
    saved = time.perf_counter() - started
    started = time.perf_counter()
    fresh = Keeper(StateNamespace(), path, SECRET, "agent", 10**12, lambda _m: None)
    fresh.restore()
    for key in state:
        fresh.namespace[key]
    loaded = time.perf_counter() - started
    return saved, loaded, os.path.getsize(path)


def seed_round(folder: Path, state: dict[str, Any]) -> tuple[float, float, int]:
    path = folder / "agent_state.pkl"
    started = time.perf_counter()
    with path.open("wb") as handle:
        pickle.dump(state, handle)
    saved = time.perf_counter() - started
    started = time.perf_counter()
    with path.open("rb") as handle:
        pickle.load(handle)
    loaded = time.perf_counter() - started
    return saved, loaded, path.stat().st_size


def summary(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"{statistics.median(ms):7.1f} ms ({min(ms):.1f}-{max(ms):.1f})"


def measure(megabytes: int, runs: int) -> list[str]:
    state = make_state(megabytes)
    rounds: dict[str, list[tuple[float, float, int]]] = {"meshdev": [], "seed pickle": []}
    tools: dict[str, Callable[[Path, dict[str, Any]], tuple[float, float, int]]] = {
        "meshdev": meshdev_round,
        "seed pickle": seed_round,
    }
    for _ in range(runs):
        for name, tool in tools.items():
            with tempfile.TemporaryDirectory() as folder:
                rounds[name].append(tool(Path(folder), state))
    rows = []
    for name, results in rounds.items():
        save = summary([r[0] for r in results])
        load = summary([r[1] for r in results])
        size = results[0][2] / 1e6
        rows.append(f"| {megabytes} MB | {name} | {save} | {load} | {size:.1f} MB |")
    ratio_save = statistics.median(r[0] for r in rounds["meshdev"]) / statistics.median(
        r[0] for r in rounds["seed pickle"]
    )
    ratio_load = statistics.median(r[1] for r in rounds["meshdev"]) / statistics.median(
        r[1] for r in rounds["seed pickle"]
    )
    rows.append(
        f"| {megabytes} MB | ratio meshdev / seed | {ratio_save:.2f}x | {ratio_load:.2f}x | |"
    )
    return rows


def figure_6(runs: int) -> list[str]:
    lines = [
        "### 6. State: save and restore",
        "",
        f"meshdev's signed, atomic state file beside a plain `pickle.dump` to a file (the seed's "
        f"pattern; no signature, no fsync), median of {runs} (min-max), interleaved.",
        "",
        "| state | tool | save | restore | file |",
        "| --- | --- | --- | --- | --- |",
    ]
    for megabytes in (1, 50):
        lines += measure(megabytes, runs)
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print("\n".join(figure_6(args.runs)))


if __name__ == "__main__":
    main()
