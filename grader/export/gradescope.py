"""The Gradescope export: the autograder zip and what runs in it per submission.

``export_gradescope`` writes a zip that Gradescope builds into an image:
``setup.sh`` (a Python >= 3.11 and the grader's pinned requirements in a
virtual environment, and Debian's bubblewrap), ``run_autograder`` (calls
``gradescope_run.py``), the ``grader`` package and ``assignments.toml`` as
source, and ``grade_export.json`` (which exercise, hidden checks' visibility).
Never the reference solutions or the toolkit's tests. ``gradescope_main`` is what
runs per submission: it finds the student's file in ``$AUTOGRADER_ROOT/submission``
(default ``/autograder``), grades it with ``grade_exercise`` and writes
``results/results.json`` in Gradescope's format.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import traceback
from pathlib import Path

from grader import __version__
from grader.errors import GraderError, SubmissionError
from grader.export.package import (
    CATALOGUE_NAME,
    EXPORT_CONFIG,
    function_exercise,
    grader_files,
    load,
    pinned_requirements,
    write_json,
    write_zip,
)
from grader.intake.locate import find_submission_file, stage_submission

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image: a Python >= 3.11
# (from the distribution when the image has none) and the grader's pinned requirements in a
# virtual environment at $AUTOGRADER_ROOT/venv (default /autograder/venv).
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
export DEBIAN_FRONTEND=noninteractive

find_python() {
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 \\
            && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

# bubblewrap builds each student's sandbox from nothing (the report header says whether it held).
if ! command -v bwrap >/dev/null 2>&1; then
    (apt-get update -qq && apt-get install -y -qq bubblewrap) \
        || echo "note: bubblewrap could not be installed; the sandbox falls back to rlimits and a private uid"
fi

PYTHON="$(find_python || true)"
if [ -z "$PYTHON" ]; then
    apt-get update -qq
    apt-get install -y -qq python3.11 python3.11-venv
    PYTHON="$(find_python)"
fi
if ! "$PYTHON" -m venv "$ROOT/venv"; then
    apt-get update -qq
    apt-get install -y -qq "$(basename "$PYTHON")-venv"
    "$PYTHON" -m venv "$ROOT/venv"
fi
"$ROOT/venv/bin/python" -m pip install --quiet --upgrade pip
"$ROOT/venv/bin/python" -m pip install --quiet --no-cache-dir -r "$ROOT/source/requirements.txt"
# The sandbox runs student code as an unprivileged user: it must be able to read Python.
chmod -R a+rX "$ROOT/venv" "$ROOT/source"
"""


RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission. AUTOGRADER_ROOT moves the whole tree (default
# /autograder: source/ holds this zip, submission/ the student's files, results/ the output).
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
export AUTOGRADER_ROOT="$ROOT"
PYTHON="$ROOT/venv/bin/python"
if [ ! -x "$PYTHON" ]; then
    PYTHON="$(command -v python3 || command -v python)"
fi
mkdir -p "$ROOT/results"
cd "$ROOT"
exec "$PYTHON" -I "$ROOT/source/gradescope_run.py"
"""


GRADESCOPE_RUN = '''\
"""Grade $AUTOGRADER_ROOT/submission and write $AUTOGRADER_ROOT/results/results.json."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from grader.export import gradescope_main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(gradescope_main())
'''


def export_gradescope(*, exercise_id: str, out: Path, catalogue=None,
                      hidden_visibility: str = "after_published") -> Path:
    """Write a Gradescope autograder zip for ``exercise_id`` at ``out``; returns ``out``.

    Labs are refused: their grading needs the datasets and a trained model, which this
    export does not provision.
    """
    if hidden_visibility not in ("hidden", "after_due_date", "after_published"):
        raise GraderError(f"hidden checks' visibility must be after_published, after_due_date or "
                          f"hidden, not {hidden_visibility!r}")
    catalogue = load(catalogue)
    exercise = function_exercise(catalogue, exercise_id, "the Gradescope export")
    files = grader_files()
    files[CATALOGUE_NAME] = catalogue.path.read_bytes()
    files["requirements.txt"] = ("\n".join(pinned_requirements()) + "\n").encode()
    files["setup.sh"] = SETUP_SH.encode()
    files["run_autograder"] = RUN_AUTOGRADER.encode()
    files["gradescope_run.py"] = GRADESCOPE_RUN.encode()
    config = {"exercise": exercise.id, "hidden_visibility": hidden_visibility,
              "grader_version": __version__}
    files[EXPORT_CONFIG] = (json.dumps(config, indent=2, sort_keys=True) + "\n").encode()
    return write_zip(Path(out), files, executable=("setup.sh", "run_autograder"))


# Student text (exception messages, printed output) is shown by Gradescope as plain text,
# never as its default "simple_format" (sanitized HTML, which keeps links and images).
TEXT_FORMATS = {"output_format": "text", "test_output_format": "text", "test_name_format": "text"}


def gradescope_results(result, *, hidden_visibility: str = "after_published") -> dict:
    """Gradescope's results.json for an ``ExerciseResult``; hidden checks' messages withheld."""
    tests = []
    for check in result.checks:
        shown = check.to_dict(show_hidden=False)
        tests.append({
            "name": check.name,
            "score": shown["score"],
            "max_score": check.max_score,
            "status": "passed" if check.status == "passed" else "failed",
            "output": shown["message"],
            "visibility": hidden_visibility if check.hidden else "visible",
            "extra_data": {"id": check.id, "status": check.status},
        })
    return {
        "score": round(result.score, 6),
        "execution_time": max(1, round(result.duration_s)),
        "output": "\n".join(result.notes),
        **TEXT_FORMATS,
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"exercise": result.exercise, "grader_version": result.grader_version},
    }


def _grade_for_gradescope(exercise, root: Path):
    from grader.runner import grade_exercise, missing_submission_result

    with tempfile.TemporaryDirectory(prefix="grade-gradescope-") as scratch:
        notes: list[str] = []
        try:
            found = find_submission_file(exercise, root / "submission")
            submission, notes = stage_submission(exercise, found, Path(scratch) / "submission")
            result = grade_exercise(exercise=exercise, submission=submission)
        except SubmissionError as error:  # no file to grade, an invalid notebook, ...
            sys.stdout.write(f"not graded: {error}\n")
            result = missing_submission_result(exercise, root / "submission", str(error))
        result.notes[1:1] = notes
    return result


def gradescope_main(root: Path | None = None) -> int:
    """Grade ``ROOT/submission`` for the exported exercise and write ``ROOT/results/results.json``.

    ``ROOT`` is ``$AUTOGRADER_ROOT`` or ``/autograder``. Always writes a
    results file: a submission that cannot be graded scores zero with the
    reason in every check's output; a grader failure prints its traceback to
    stdout (which Gradescope shows the staff only) and scores zero with a note.
    Hidden checks' full messages also go to stdout only.
    """
    from grader.catalogue import load_catalogue

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    root = Path(root or os.environ.get("AUTOGRADER_ROOT") or "/autograder")
    source, results = root / "source", root / "results" / "results.json"
    config = json.loads((source / EXPORT_CONFIG).read_text(encoding="utf-8"))
    result = None
    try:
        exercise = load_catalogue(source / CATALOGUE_NAME).get(config["exercise"])
        result = _grade_for_gradescope(exercise, root)
        payload = gradescope_results(result, hidden_visibility=config.get("hidden_visibility",
                                                                          "after_published"))
    except Exception as error:  # a grader problem (missing dataset, bug): zero and a note; staff get the rest
        traceback.print_exc(file=sys.stdout)
        reason = str(error) if isinstance(error, GraderError) else type(error).__name__
        payload = {"score": 0.0, "stdout_visibility": "hidden", "tests": [], **TEXT_FORMATS,
                   "output": f"the grader could not grade this submission ({reason}); "
                             f"please tell the course staff"}
    write_json(results, payload)
    sys.stdout.write(f"{config['exercise']}: {payload['score']:g} points; results in {results}\n")
    for check in result.checks if result is not None else ():
        if check.hidden and check.status != "passed" and check.message:
            sys.stdout.write(f"\nhidden check {check.name!r} ({check.status}):\n{check.message}\n")
    return 0
