"""Correct implementations written differently from solutions/ get full marks (no overfitting).

How long the loop implementations take is measured in benchmarks/bench_layers.py, not here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ALTERNATIVES = Path(__file__).parent / "alternatives"
CASES = sorted(ALTERNATIVES.glob("exercise*_*.py"))


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_alternative_implementation_gets_full_marks(path, catalogue, make_submission):
    from grader.runner import grade_exercise

    exercise_id = path.stem.split("_")[0]
    exercise = catalogue.get(exercise_id)
    folder = make_submission({f"{exercise_id}.py": path.read_text(encoding="utf-8")})
    result = grade_exercise(exercise=exercise, submission=folder)
    failures = {c.id: c.message for c in result.checks if c.status != "passed"}
    assert not failures, failures
    assert result.score == result.max_score
