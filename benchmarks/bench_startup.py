"""How long a student waits for `grade exercise1`, and proof that it imports no TensorFlow.

Run on demand (not in CI): ``.venv/bin/python benchmarks/bench_startup.py [RUNS]``.
Prints the median, min and max wall time of ``grade exercise1 --submission
solutions --format json`` over RUNS runs (default 10), the same for exercise2,
and the modules imported by one run that match tensorflow/keras (expected: none).
Target (issue 2): median <= 1.0 s for exercise1.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def wall_times(exercise: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "grader.cli", exercise, "--submission", "solutions",
                        "--format", "json"], cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return times


def heavy_imports(exercise: str) -> list[str]:
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "grader.cli", exercise, "--submission", "solutions",
         "--format", "json"], cwd=ROOT, check=True, capture_output=True, text=True)
    names = [line.rsplit("|", 1)[-1].strip() for line in completed.stderr.splitlines() if "|" in line]
    return sorted({n for n in names if n.split(".")[0] in ("tensorflow", "keras", "torch", "jax")})


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    for exercise in ("exercise1", "exercise2"):
        times = wall_times(exercise, runs)
        print(f"grade {exercise} --submission solutions: median {statistics.median(times):.3f} s, "
              f"min {min(times):.3f} s, max {max(times):.3f} s over {runs} runs")
        imported = heavy_imports(exercise)
        print(f"  TensorFlow/Keras modules imported: {imported or 'none'}")


if __name__ == "__main__":
    main()
