"""Wall time of `grade batch` on a generated class (issue 5: target <= 5 min on 2 cores).

Run on demand (not in CI)::

    .venv/bin/python benchmarks/bench_batch.py [SUBMISSIONS] [--jobs N] [--keep DIR]

Generates SUBMISSIONS (default 100) distinct submissions for exercises 1-5 (those
whose checks exist at run time: ``exercise.implemented``): 40% full solutions, 20%
untouched stubs, 40% a random mixture (fixed seed) of solved and stub files. Each
file carries a comment with the student's id, so no two submissions are identical
and nothing is saved by the batch's de-duplication. Then it runs
``python -m grader.batch DIR --out OUT --jobs N`` (default: the CPU count), prints
its wall time, and times a second run, which only resumes from the journal.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.catalogue import load_catalogue  # noqa: E402


def generate(directory: Path, count: int, exercise_files: list[str]) -> None:
    chooser = random.Random(5)
    for number in range(count):
        student = f"student{number:03d}"
        if number % 10 < 4:
            solved = set(exercise_files)
        elif number % 10 < 6:
            solved = set()
        else:
            solved = {f for f in exercise_files if chooser.random() < 0.5}
        folder = directory / student
        folder.mkdir(parents=True)
        for name in exercise_files:
            source = (ROOT / ("solutions" if name in solved else "exercises") / name)
            text = source.read_text(encoding="utf-8")
            (folder / name).write_text(f"# {student}\n{text}", encoding="utf-8")


def run(directory: Path, out: Path, jobs: int, exercises: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "grader.batch", str(directory), "--out", str(out),
         "--jobs", str(jobs), "--exercises", ",".join(exercises), "--no-progress"],
        cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"grade batch failed ({completed.returncode}):\n{completed.stderr}")
    return elapsed, completed.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submissions", type=int, nargs="?", default=100)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--keep", type=Path, help="generate into and keep this folder")
    options = parser.parse_args()

    catalogue = load_catalogue(ROOT / "assignments.toml")
    wanted = [f"exercise{n}" for n in range(1, 6)]
    exercises = [e for e in catalogue if e.id in wanted and e.implemented]
    skipped = [e for e in wanted if e not in {x.id for x in exercises}]
    base = options.keep or Path(tempfile.mkdtemp(prefix="bench-batch-"))
    directory, out = base / "submissions", base / "out"
    shutil.rmtree(directory, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    generate(directory, options.submissions, [e.file for e in exercises])
    ids = [e.id for e in exercises]
    print(f"{options.submissions} submissions x {len(ids)} exercises ({', '.join(ids)}), "
          f"--jobs {options.jobs}, {os.cpu_count()} CPUs"
          + (f"; not implemented yet: {', '.join(skipped)}" if skipped else ""))
    try:
        elapsed, summary = run(directory, out, options.jobs, ids)
        pairs = options.submissions * len(ids)
        print(f"grade batch: {elapsed:.1f} s wall ({elapsed / pairs:.2f} s per pair, "
              f"{pairs} pairs); target <= 300 s")
        print(f"  {summary}")
        resumed, _ = run(directory, out, options.jobs, ids)
        print(f"resume with nothing left to grade: {resumed:.1f} s")
    finally:
        if options.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
