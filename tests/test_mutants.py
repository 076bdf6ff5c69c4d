"""Each realistic wrong submission loses points on the check meant to catch it."""

from __future__ import annotations

import pytest
from forged_runtime import FORGING_RUNTIME
from mutants import ALL, Mutant

from grader.options import GradingOptions


@pytest.mark.parametrize("mutant", ALL, ids=lambda m: f"{m.exercise}: {m.name}")
def test_mutant_fails_its_check(mutant: Mutant, catalogue, make_submission):
    from grader.runner import grade_exercise

    exercise = catalogue.get(mutant.exercise)
    folder = make_submission({f"{mutant.exercise}.py": mutant.source()})
    result = grade_exercise(exercise=exercise, submission=folder,
                            options=GradingOptions(only_check=mutant.check))
    [check] = result.checks
    assert check.status in ("failed", "error"), check.message
    assert check.score < check.max_score
    assert mutant.message in check.message, check.message


def test_mutant_checks_exist(catalogue):
    for mutant in ALL:
        ids = [c.id for c in catalogue.get(mutant.exercise).checklist()]
        assert mutant.check in ids, f"{mutant.name}: no check {mutant.check!r} in {ids}"


def _one_per_check(mutants: list[Mutant]) -> list[Mutant]:
    """The first broken variant of each NumPy exercise's check (every check, fewer child starts)."""
    seen: dict[tuple[str, str], Mutant] = {}
    for mutant in mutants:
        if mutant.exercise not in ("exercise6", "exercise7"):  # TensorFlow children: covered above
            seen.setdefault((mutant.exercise, mutant.check), mutant)
    return list(seen.values())


@pytest.mark.parametrize("mutant", _one_per_check(ALL), ids=lambda m: f"{m.exercise}: {m.name}")
def test_mutant_stays_caught_when_it_forges_short_replies(mutant: Mutant, catalogue, make_submission):
    from grader.runner import grade_exercise

    exercise = catalogue.get(mutant.exercise)
    folder = make_submission({f"{mutant.exercise}.py": mutant.source() + FORGING_RUNTIME})
    result = grade_exercise(exercise=exercise, submission=folder,
                            options=GradingOptions(only_check=mutant.check))
    [check] = result.checks
    assert check.status in ("failed", "error"), check.message
    assert check.score == 0 or check.score < check.max_score
