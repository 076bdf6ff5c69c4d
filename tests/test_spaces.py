"""Exercise 2's sweeps: a grid plus cases drawn from one argument space, hypothesis only on a failure.

``checking/spaces.py`` describes each argument space once; its ``draw`` gives the
sweep's seeded cases and its ``strategy`` the hypothesis search that shrinks a
failure. A passing run never imports hypothesis (about 0.1 s); a fault outside
the grid is still found by the drawn cases and shrunk to its boundary.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, SOLUTIONS

from grader.checking.spaces import Flags, IntOrPair, Ints, IntTuple, Space
from grader.options import GradingOptions

SPACE = Space({"kernel_size": IntOrPair(1, 11), "channels": Ints(1, 512), "shape": IntTuple(1, 7, 1, 3),
               "use_bias": Flags()})


def test_draws_are_fixed_by_the_seed_and_stay_inside_the_space():
    first = SPACE.draw(random.Random("conv2d_params:None"), 200)
    assert first == SPACE.draw(random.Random("conv2d_params:None"), 200)
    assert first != SPACE.draw(random.Random("conv2d_params:7"), 200)
    kernels = [case["kernel_size"] for case in first]
    assert any(type(k) is int for k in kernels) and any(type(k) is tuple and len(k) == 2 for k in kernels)
    assert all(1 <= side <= 11 for k in kernels for side in (k if isinstance(k, tuple) else (k,)))
    assert {case["use_bias"] for case in first} == {True, False}
    assert all(1 <= case["channels"] <= 512 for case in first)
    assert max(case["channels"] for case in first) > 400  # the draws reach far beyond a small grid
    assert {len(case["shape"]) for case in first} == {1, 2, 3}


def test_the_strategy_draws_from_the_same_space():
    from hypothesis import given, settings

    seen = []

    @settings(max_examples=60, database=None, derandomize=True)
    @given(SPACE.strategy())
    def collect(case):
        seen.append(case)
        assert set(case) == set(SPACE.dimensions)
        kernel = case["kernel_size"]
        assert all(1 <= side <= 11 for side in (kernel if isinstance(kernel, tuple) else (kernel,)))
        assert 1 <= case["channels"] <= 512 and 1 <= len(case["shape"]) <= 3 and type(case["use_bias"]) is bool

    collect()
    assert len(seen) >= 30


WRONG_ABOVE_100_CHANNELS = '''

_counted = conv2d_params


def conv2d_params(kernel_size, in_channels, filters, use_bias=True):
    """Right on every grid case (1, 3 and 16 channels), wrong above 100 input channels."""
    total = _counted(kernel_size, in_channels, filters, use_bias)  # the arguments are checked as before
    return _counted(kernel_size, 100, filters, use_bias) if in_channels > 100 else total
'''


def test_a_fault_outside_the_grid_is_found_by_the_drawn_cases_and_shrunk(catalogue, make_submission):
    from grader.runner import grade_exercise

    source = (SOLUTIONS / "exercise2.py").read_text(encoding="utf-8") + WRONG_ABOVE_100_CHANNELS
    result = grade_exercise(exercise=catalogue.get("exercise2"), submission=make_submission({"exercise2.py": source}),
                            options=GradingOptions())
    failed = [check for check in result.checks if check.status != "passed"]
    assert [check.id for check in failed] == ["conv2d-params-for-any-kernel-channels-filters-and-bias"]
    assert failed[0].smallest_input == "kernel_size=1 in_channels=101 filters=1 use_bias=False"
    assert result.score == result.max_score - 1


def test_a_passing_run_of_exercises_1_and_2_imports_neither_hypothesis_nor_numpy_in_the_grader():
    for exercise in ("exercise1", "exercise2"):
        code = ("import sys; from grader.cli import main\n"
                f"try:\n    main([{exercise!r}, {str(SOLUTIONS)!r}, '--format', 'json'])\n"
                "except SystemExit as end:\n    assert end.code in (0, None), end.code\n"
                "print(sorted({m.split('.')[0] for m in sys.modules} & {'hypothesis', 'numpy'}), file=sys.stderr)")
        completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                                   check=False)
        assert completed.returncode == 0, completed.stderr[-2000:]
        assert '"score": 20.0' in completed.stdout
        assert completed.stderr.strip().splitlines()[-1] == "[]", (exercise, completed.stderr[-500:])


def test_another_seed_draws_other_cases_and_a_solution_still_earns_every_point(catalogue):
    from grader.runner import grade_exercise

    for seed in (None, 1, 7):
        result = grade_exercise(exercise=catalogue.get("exercise2"), submission=Path(SOLUTIONS),
                                options=GradingOptions(seed=seed))
        assert result.score == result.max_score == 20
