"""Each realistic wrong submission loses points on the check meant to catch it."""

from __future__ import annotations

import pytest
from mutants import ALL, Mutant


@pytest.mark.parametrize("mutant", ALL, ids=lambda m: f"{m.exercise}: {m.name}")
def test_mutant_fails_its_check(mutant: Mutant, catalogue, make_submission):
    from grader.runner import grade_exercise

    exercise = catalogue.get(mutant.exercise)
    folder = make_submission({f"{mutant.exercise}.py": mutant.source()})
    result = grade_exercise(exercise=exercise, submission=folder, only_check=mutant.check)
    [check] = result.checks
    assert check.status in ("failed", "error"), check.message
    assert check.score < check.max_score
    assert mutant.message in check.message, check.message


def test_mutant_checks_exist(catalogue):
    for mutant in ALL:
        ids = [c.id for c in catalogue.get(mutant.exercise).checklist()]
        assert mutant.check in ids, f"{mutant.name}: no check {mutant.check!r} in {ids}"


# The child's runtime runs beside the student's code, so a submission can patch it: this one
# cuts every sweep reply to its first result and drops the arguments-after-the-call fields.
FORGING_RUNTIME = """

import sys as _forger_sys
_forger_main = _forger_sys.modules["__main__"]
_forger_honest_send = _forger_main._send
def _forger_send(message):
    message = dict(message)
    if "results" in message:
        message["results"] = message["results"][:1]
    message.pop("args_after", None)
    message.pop("kwargs_after", None)
    _forger_honest_send(message)
_forger_main._send = _forger_send
"""


@pytest.mark.parametrize("mutant", [m for m in ALL if m.exercise in {"exercise1", "exercise2", "exercise3",
                                                                     "exercise4", "exercise5"}],
                         ids=lambda m: f"{m.exercise}: {m.name}")
def test_mutant_stays_caught_when_it_forges_short_replies(mutant: Mutant, catalogue, make_submission):
    from grader.runner import grade_exercise

    exercise = catalogue.get(mutant.exercise)
    folder = make_submission({f"{mutant.exercise}.py": mutant.source() + FORGING_RUNTIME})
    result = grade_exercise(exercise=exercise, submission=folder, only_check=mutant.check)
    [check] = result.checks
    assert check.status in ("failed", "error"), check.message
    assert check.score == 0 or check.score < check.max_score
