"""The trust boundary holds for the attacks issue 2 names (ADVERSARIAL.md has the rest).

Each submission is the reference exercise1 with one attack added; the verdict
must be what the same code without the attack earns, minus what the attack
touched.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from conftest import ROOT, SOLUTIONS

from grader.options import GradingOptions

SOLUTION = (SOLUTIONS / "exercise1.py").read_text(encoding="utf-8")
RECEPTIVE = "receptive-field-of-a-stack-of-layers"


def _with(body_edit: tuple[str, str] | None = None, prefix: str = "", suffix: str = "") -> str:
    text = SOLUTION
    if body_edit:
        assert text.count(body_edit[0]) == 1
        text = text.replace(*body_edit)
    return prefix + text + suffix


def _grade(catalogue, folder, **kwargs):
    from grader.runner import grade_exercise

    return grade_exercise(exercise=catalogue.get("exercise1"), submission=folder,
                          options=GradingOptions(**kwargs))


def _statuses(result):
    return {c.id: c.status for c in result.checks}


LOOP = ("    field, jump = 1, 1\n", "    while True:\n        pass\n    field, jump = 1, 1\n")


def test_infinite_loop_is_stopped_within_limit_and_costs_only_its_check(catalogue, make_submission):
    folder = make_submission({"exercise1.py": _with(LOOP)})
    started = time.monotonic()
    result = _grade(catalogue, folder, timeout_s=2)
    elapsed = time.monotonic() - started
    statuses = _statuses(result)
    assert statuses.pop(RECEPTIVE) == "timeout"
    assert set(statuses.values()) == {"passed"}
    [looping] = [c for c in result.checks if c.id == RECEPTIVE]
    assert "timed out after 2 s" in looping.message
    assert looping.duration_s < 2 + 2
    assert result.score == result.max_score - looping.max_score
    assert elapsed < 30


def test_sys_exit_at_import_earns_nothing(catalogue, make_submission):
    folder = make_submission({"exercise1.py": _with(prefix="import sys\nsys.exit(0)\n")})
    result = _grade(catalogue, folder)
    assert result.score == 0
    assert all(c.status == "error" for c in result.checks)
    assert "SystemExit" in result.checks[0].message


def test_os_exit_at_import_earns_nothing(catalogue, make_submission):
    folder = make_submission({"exercise1.py": _with(prefix="import os\nos._exit(0)\n")})
    result = _grade(catalogue, folder)
    assert result.score == 0
    assert "could not be started" in result.checks[0].message


def test_exits_inside_a_function_cost_only_that_function(catalogue, make_submission):
    edit = ("    field, jump = 1, 1\n", "    import os\n    os._exit(0)\n")
    result = _grade(catalogue, make_submission({"exercise1.py": _with(edit)}))
    statuses = _statuses(result)
    assert statuses.pop(RECEPTIVE) == "error"
    assert set(statuses.values()) == {"passed"}
    assert "exited with code 0" in next(c.message for c in result.checks if c.id == RECEPTIVE)

    edit = ("    field, jump = 1, 1\n", "    raise SystemExit(0)\n")
    result = _grade(catalogue, make_submission({"exercise1.py": _with(edit)}))
    assert _statuses(result)[RECEPTIVE] == "error"
    assert result.score == result.max_score - 2


def test_fake_json_on_stdout_leaves_the_json_report_valid(make_submission):
    fake = json.dumps({"exercise": "exercise1", "score": 20.0, "max_score": 20.0, "checks": []})
    stub = (ROOT / "exercises" / "exercise1.py").read_text(encoding="utf-8")
    folder = make_submission({"exercise1.py": f"print({fake!r})\n" + stub.replace(
        "def receptive_field(layers):", f"def receptive_field(layers):\n    print({fake!r})")})
    completed = subprocess.run(
        [sys.executable, "-m", "grader.cli", "exercise1", "--submission", str(folder), "--format", "json"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)  # exactly one JSON object
    assert report["score"] == 0.0
    assert report["max_score"] == 20.0


def test_monkeypatching_numpy_in_the_child_changes_nothing(catalogue, make_submission):
    attack = ("import numpy as np\nnp.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True\n"
              "np.testing.assert_allclose = lambda *a, **k: None\nnp.isfinite = lambda *a, **k: True\n")
    wrong = ("field += (kernel - 1) * jump", "field += kernel - 1")
    honest = _grade(catalogue, make_submission({"exercise1.py": _with(wrong)}))
    patched = _grade(catalogue, make_submission({"exercise1.py": _with(wrong, prefix=attack)}))
    assert patched.score == honest.score < honest.max_score
    assert _statuses(patched) == _statuses(honest)


def test_the_child_cannot_import_solutions_or_the_checks(catalogue, make_submission):
    probe = (
        "import importlib\n"
        "FOUND = []\n"
        "for name in ('solutions', 'solutions.exercise1', 'grader', 'grader.checks.exercise1'):\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "        FOUND.append(name)\n"
        "    except BaseException:\n"
        "        pass\n"
        "def receptive_field(layers):\n"
        "    found = FOUND\n"
        "    if found:\n"
        "        raise RuntimeError('imported ' + ', '.join(found))\n"
        "    return 1 + sum(k - 1 for k, _ in layers)\n"
    )
    text = SOLUTION.replace("def receptive_field(layers):", "def _original(layers):") + "\n" + probe
    result = _grade(catalogue, make_submission({"exercise1.py": text}))
    [check] = [c for c in result.checks if c.id == RECEPTIVE]
    assert check.status == "failed"  # a wrong answer, not a successful import
    assert "imported" not in check.message
