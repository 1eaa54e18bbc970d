"""CLI start-up: what a script pays for each call, against `python -c pass`.

    python -m bench.startup [--quick] [--runs N]

In a temporary folder, makes a SQLite database with one order (through the
CLI), then runs, alternating, `python -c pass`, `orderledger --help` and
`orderledger order show NO`, each as a new process, N times (default 15;
--quick 5). Reports the median of each and the difference from `python -c
pass`; the JSON line last has `rate` (--help calls per second),
`baseline_rate` (`python -c pass` per second), `ratio`, and the medians.
Goals (issue 20): --help within 0.15 s of `python -c pass`; `order show`
under 0.4 s on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = [sys.executable, "-m", "orderledger.cli"]
ORDER = ["order", "create", "--order-no", "B-1", "--customer", "张三",
         "--phone", "13800138000", "--address", "路 1 号", "--payment", "cod",
         "--line", "TEA-1:茶:1:10"]  # fmt: skip


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 runs of each.")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    runs = 5 if args.quick else args.runs
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "startup.db")
        env = {**os.environ, "ORDERLEDGER_UNKNOWN_SKUS": "allow"}
        subprocess.run([*CLI, "--db", db, *ORDER], env=env, check=True,
                       capture_output=True)  # fmt: skip
        commands = {
            "pass": [sys.executable, "-c", "pass"],
            "help": [*CLI, "--help"],
            "show": [*CLI, "--db", db, "order", "show", "B-1"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):  # alternated: a busy moment hits all three
            for name, command in commands.items():
                times[name].append(timed(command, env))
    median = {name: statistics.median(ts) for name, ts in times.items()}
    for name, seconds in median.items():
        extra = seconds - median["pass"]
        print(f"{name:>5}: median {seconds:.3f} s (+{extra:.3f} s over python -c pass)")
    print(
        json.dumps(
            {
                "name": "startup",
                "rate": round(1 / median["help"], 2),
                "baseline_rate": round(1 / median["pass"], 2),
                "ratio": round(median["pass"] / median["help"], 3),
                "baseline": "python -c pass, same run",
                "pass_s": round(median["pass"], 3),
                "help_s": round(median["help"], 3),
                "show_s": round(median["show"], 3),
                "help_over_pass_s": round(median["help"] - median["pass"], 3),
                "runs": runs,
            }
        )
    )


if __name__ == "__main__":
    main()
