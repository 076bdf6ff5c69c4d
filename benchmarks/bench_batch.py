"""Wall time of `grade batch` on a generated class (issue 16: 100 x exercises 1-5 <= 150 s on 2 cores).

Run on demand (not in CI)::

    .venv/bin/python benchmarks/bench_batch.py [SUBMISSIONS] [--jobs N] [--keep DIR]

Generates SUBMISSIONS (default 100) distinct submissions for exercises 1-5 (those
whose checks exist at run time: ``exercise.implemented``): 40% full solutions, 20%
untouched stubs, 40% a random mixture (fixed seed) of solved and stub files. Each
file carries a comment with the student's id, so no two submissions are identical
and nothing is saved by the batch's de-duplication. Then it runs
``python -m grader.batch DIR --out OUT --jobs N`` (default: the CPU count), prints
its wall time, and times a second run, which only resumes from the journal.

The batch starts with an empty user reference cache (its own folder; the shipped
store is used), as an instructor's first batch on a machine would. In the same
run it then times single ``grade EXERCISE PATH`` runs on a sample of the
submissions (``--sample``, default 2 per exercise: one solved, one stub), and
prints the batch's wall time over the sum of single runs extrapolated to every
pair, and where one pair's time goes (``breakdown``: an in-process profile).
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


def run(directory: Path, out: Path, jobs: int, exercises: list[str], env: dict) -> tuple[float, str]:
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "grader.batch", str(directory), "--out", str(out),
         "--jobs", str(jobs), "--exercises", ",".join(exercises), "--no-progress"],
        cwd=ROOT, capture_output=True, text=True, check=False, env=env)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"grade batch failed ({completed.returncode}):\n{completed.stderr}")
    return elapsed, completed.stdout.strip()


def single_runs(directory: Path, exercises: list, count: int, sample: int, env: dict) -> float:
    """Seconds that one ``grade EXERCISE PATH`` per pair would take in all (a sample per exercise)."""
    total = 0.0
    for exercise in exercises:
        # students 0-3 are solved, 4-5 stubs (generate()): alternate between the two
        chosen = [f"student{(0 if k % 2 == 0 else 4) + k // 2:03d}" for k in range(sample)]
        times = []
        for student in chosen:
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "grader.cli", exercise.id, str(directory / student),
                            "--format", "json"], cwd=ROOT, env=env, capture_output=True, check=False)
            times.append(time.perf_counter() - started)
        mean = sum(times) / len(times)
        print(f"  single grade {exercise.id}: mean {mean:.2f} s over {len(times)} runs")
        total += mean * count
    return total


_PROFILE = """
import cProfile, pstats, sys, time
from pathlib import Path
started = time.perf_counter()
import grader.cli  # the modules `grade` loads: hypothesis draws depend on them (issue 16 notes)
from grader.catalogue import load_catalogue
from grader.options import GradingOptions
from grader.runner import grade_exercise
imported = time.perf_counter() - started
exercise = load_catalogue().get(sys.argv[1])
profile = cProfile.Profile()
profile.enable()
grade_exercise(exercise=exercise, submission=Path("solutions"), options=GradingOptions())
profile.disable()
stats = pstats.Stats(profile).stats
def cumulative(name, file=""):
    return sum(v[3] for k, v in stats.items() if k[2] == name and file in k[0])
total = sum(v[2] for v in stats.values())
parts = {"grader imports": imported,
         "TensorFlow import (a miss)": cumulative("<module>", "tensorflow/__init__.py"),
         "checks' module import (hypothesis set-up)": cumulative("checklist", "catalogue.py"),
         "child start-up (spawn + ready)": cumulative("spawn", "sandbox/process.py")
                                           + cumulative("wait_ready", "sandbox/process.py"),
         "child shut-down (close: kill, wait for the uid)": cumulative("close", "sandbox/process.py"),
         "reference lookups (cache + TensorFlow)": cumulative("lookup", "reference/cache.py"),
         "calls into the child (round trips)": cumulative("_round_trip", "sandbox/calls.py"),
         "checks in all": cumulative("_run_checks", "runner.py")}
print(" | ".join(f"{k} {v:.2f} s" for k, v in parts.items()))
"""


def breakdown(exercises: list, env: dict) -> None:
    """Where one pair's time goes (solutions, warm cache), per exercise: an in-process profile."""
    print("one pair, in-process profile (solutions; cumulative, overlapping: the checks include the calls):")
    for exercise in exercises:
        completed = subprocess.run([sys.executable, "-c", _PROFILE, exercise.id], cwd=ROOT, env=env,
                                   capture_output=True, text=True, check=False)
        print(f"  {exercise.id}: {(completed.stdout.strip() or completed.stderr.strip()[-300:])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submissions", type=int, nargs="?", default=100)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--keep", type=Path, help="generate into and keep this folder")
    parser.add_argument("--sample", type=int, default=2, help="single runs per exercise for the ratio")
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
    env = {**os.environ, "GRADER_REFERENCE_CACHE": str(base / "reference-cache")}
    try:
        elapsed, summary = run(directory, out, options.jobs, ids, env)
        pairs = options.submissions * len(ids)
        print(f"grade batch: {elapsed:.1f} s wall ({elapsed / pairs:.2f} s per pair, "
              f"{pairs} pairs); target <= {150 * options.submissions / 100:.0f} s "
              f"(150 s per 100 submissions)")
        print(f"  {summary}")
        resumed, _ = run(directory, out, options.jobs, ids, env)
        print(f"resume with nothing left to grade: {resumed:.1f} s")
        single = single_runs(directory, exercises, options.submissions, options.sample, env)
        print(f"sum of single `grade` runs, extrapolated to {pairs} pairs: {single:.1f} s; "
              f"batch / single = {elapsed / single:.2f}")
        breakdown(exercises, env)
    finally:
        if options.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
