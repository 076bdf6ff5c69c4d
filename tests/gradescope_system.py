"""``make test-gradescope``: the Gradescope export, installed and run on a fresh Debian system.

As Gradescope does, on a system that has never seen the grader (issue 14):

1. build a minimal Debian (``mmdebstrap --variant=minbase``: no Python at all) into a
   temporary folder, from the Debian package registry;
2. unpack ``grade export gradescope EXERCISE`` into its ``/autograder/source`` and run
   ``setup.sh`` there as root (it installs Python, bubblewrap and the pinned
   requirements from the registries);
3. for a solution, a stub and a buggy submission (``tests/mutants.py``): put it in
   ``/autograder/submission``, run ``/autograder/run_autograder`` and check
   ``/autograder/results/results.json``: Gradescope's fields, and the score that
   ``grade_exercise`` gives the same file here.

The system is entered with ``chroot`` in a private mount namespace (``unshare``;
``/proc``, ``/dev``, ``/sys`` mounted inside, the host's network; the host's CA bundle is
trusted inside, for networks that intercept TLS). Needs root,
``mmdebstrap`` (Debian: ``apt-get install mmdebstrap``), ``unshare`` and the network to
the Debian and Python package registries. On demand only: it downloads about 1 GB.
Prints the time of each step. Exit 0 when every check holds, 1 otherwise, 2 when it
cannot run here.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

ENTER = r"""
set -e
root="$1"; shift
mount --make-rprivate /
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --rbind /sys "$root/sys"
mount -t tmpfs tmpfs "$root/tmp"
cp /etc/resolv.conf "$root/etc/resolv.conf"
exec chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
"""
VISIBILITIES = {"visible", "hidden", "after_due_date", "after_published"}


HOST_CA = "/usr/local/share/grade-host-ca.crt"  # inside the system


def _trust_host_ca(system: Path) -> list[str]:
    """Copy the host's CA bundle in (a network that intercepts TLS needs its CA trusted);
    the environment variables that make pip and Python use it."""
    bundle = next((Path(p) for p in (os.environ.get("PIP_CERT"), os.environ.get("SSL_CERT_FILE"),
                                     "/etc/ssl/certs/ca-certificates.crt") if p and Path(p).is_file()),
                  None)
    if bundle is None:
        return []
    target = system / HOST_CA.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(bundle, target)
    return [f"{name}={HOST_CA}" for name in ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")]


def _inside(system: Path, command: list[str], timeout: float, log: Path,
            env: list[str] = ()) -> int:
    """Run ``command`` as root inside ``system`` (``env``: NAME=VALUE); output to ``log``."""
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f"\n$ {' '.join(command)}\n")
        handle.flush()
        completed = subprocess.run(["unshare", "--mount", "--fork", "bash", "-c", ENTER, "enter",
                                    str(system), *env, *command], stdout=handle,
                                   stderr=subprocess.STDOUT, timeout=timeout)
    return completed.returncode


def _problems(results: dict, expected: float, points: float) -> list[str]:
    """What is wrong with a results.json (Gradescope's fields, the score)."""
    problems = []
    if not isinstance(results.get("score"), (int, float)):
        return [f"no numeric score: {results!r:.300}"]
    if abs(results["score"] - expected) > 1e-6:
        problems.append(f"score {results['score']} != {expected} (grade_exercise here)")
    tests = results.get("tests")
    if not isinstance(tests, list) or not tests:
        return problems + ["no tests"]
    if abs(sum(t["max_score"] for t in tests) - points) > 1e-6:
        problems.append(f"max_score sums to {sum(t['max_score'] for t in tests)}, not {points}")
    if abs(sum(t["score"] for t in tests) - results["score"]) > 1e-6:
        problems.append("the tests' scores do not add up to the score")
    for test in tests:
        for key, kind in (("name", str), ("score", (int, float)), ("max_score", (int, float)),
                          ("output", str), ("visibility", str), ("status", str)):
            if not isinstance(test.get(key), kind):
                problems.append(f"test {test.get('name')!r}: {key} missing or not {kind}")
        if test.get("visibility") not in VISIBILITIES or test.get("status") not in ("passed",
                                                                                     "failed"):
            problems.append(f"test {test.get('name')!r}: visibility/status "
                            f"{test.get('visibility')!r}/{test.get('status')!r}")
    if not isinstance(results.get("execution_time"), int):
        problems.append("execution_time is not an int")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make test-gradescope", description=__doc__.split("\n")[0])
    parser.add_argument("--exercise", default="exercise1")
    parser.add_argument("--suite", default="bookworm", help="Debian suite to build")
    parser.add_argument("--mirror", default="http://deb.debian.org/debian")
    parser.add_argument("--keep", type=Path, help="keep the built system and the log here")
    options = parser.parse_args(argv)
    missing = [tool for tool in ("mmdebstrap", "unshare", "chroot") if not shutil.which(tool)]
    if os.geteuid() != 0 or missing:
        print(f"test-gradescope needs root and {', '.join(missing) or 'nothing else'} "
              "(Debian: apt-get install mmdebstrap)", file=sys.stderr)
        return 2

    from mutants import ALL

    from grader.catalogue import load_catalogue
    from grader.export import export_gradescope
    from grader.runner import grade_exercise

    catalogue = load_catalogue(ROOT / "assignments.toml")
    exercise = catalogue.get(options.exercise)
    buggy = next(m for m in ALL if m.exercise == exercise.id)
    submissions = {"solution": (ROOT / "solutions" / exercise.file).read_text(encoding="utf-8"),
                   "stub": (ROOT / "exercises" / exercise.file).read_text(encoding="utf-8"),
                   f"buggy ({buggy.name})": buggy.source()}
    base = Path(tempfile.mkdtemp(prefix="grade-gradescope-system-", dir="/var/tmp"))
    system = base / "debian"
    log = (options.keep or Path(tempfile.gettempdir())) / "test-gradescope.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    failures: list[str] = []
    started = time.monotonic()
    try:
        print(f"building Debian {options.suite} (minbase) in {system} ...", flush=True)
        with log.open("w", encoding="utf-8") as handle:
            built = subprocess.run(["mmdebstrap", "--variant=minbase", options.suite, str(system),
                                    options.mirror], stdout=handle, stderr=subprocess.STDOUT,
                                   timeout=1800)
        timings["mmdebstrap"] = time.monotonic() - started
        if built.returncode != 0:
            print(f"mmdebstrap failed; see {log}", file=sys.stderr)
            return 1
        source = system / "autograder" / "source"
        source.mkdir(parents=True)
        archive = export_gradescope(exercise_id=exercise.id, out=base / "autograder.zip",
                                    catalogue=catalogue)
        with zipfile.ZipFile(archive) as handle:
            handle.extractall(source)
        for name in ("setup.sh", "run_autograder"):
            (source / name).chmod(0o755)
        shutil.copy2(source / "run_autograder", system / "autograder" / "run_autograder")

        print("running setup.sh as root inside it ...", flush=True)
        step = time.monotonic()
        code = _inside(system, ["bash", "-c", "cd /autograder/source && ./setup.sh"], 3600, log,
                       env=_trust_host_ca(system))
        timings["setup.sh"] = time.monotonic() - step
        if code != 0:
            print(f"setup.sh failed (exit {code}); see {log}", file=sys.stderr)
            return 1

        for label, text in submissions.items():
            folder = system / "autograder" / "submission"
            shutil.rmtree(folder, ignore_errors=True)
            shutil.rmtree(system / "autograder" / "results", ignore_errors=True)
            folder.mkdir()
            (folder / exercise.file).write_text(text, encoding="utf-8")
            with tempfile.TemporaryDirectory() as here:
                (Path(here) / exercise.file).write_text(text, encoding="utf-8")
                expected = round(grade_exercise(exercise=exercise, submission=Path(here)).score, 6)
            step = time.monotonic()
            code = _inside(system, ["/autograder/run_autograder"], 900, log)
            timings[f"run_autograder: {label}"] = time.monotonic() - step
            path = system / "autograder" / "results" / "results.json"
            try:
                results = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                failures.append(f"{label}: no results.json ({error}); run_autograder exit {code}")
                continue
            problems = _problems(results, expected, exercise.points)
            if label == "solution" and expected != exercise.points:
                problems.append(f"the solution scores {expected} here, not {exercise.points}")
            if label == "stub" and expected != 0:
                problems.append(f"the stub scores {expected} here, not 0")
            if label.startswith("buggy") and not 0 < expected < exercise.points:
                problems.append(f"the buggy submission scores {expected}")
            failures += [f"{label}: {p}" for p in problems]
            print(f"  {label}: {results.get('score')} / {exercise.points:g} "
                  f"(expected {expected:g}) {'ok' if not problems else 'WRONG'}", flush=True)
    finally:
        timings["total"] = time.monotonic() - started
        for name, seconds in timings.items():
            print(f"  {name}: {seconds:.0f} s")
        mounted = [line for line in Path("/proc/mounts").read_text().splitlines()
                   if str(system) in line]
        if options.keep:
            target = options.keep / "debian"
            if not target.exists() and not mounted:
                shutil.move(str(system), target)
        if not mounted:
            shutil.rmtree(base, ignore_errors=True)
    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    print("test-gradescope: " + ("passed" if not failures else f"{len(failures)} problems"))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
