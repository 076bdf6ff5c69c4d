"""Realistic submissions, written the way students write them, with their scores pinned (issue 10).

Each file in tests/realistic/ shows one class of unfair loss fixed: the score is
what the submission earns on its own merits, and the comments give the score the
grader gave before the fix. A change of these numbers is a change of grading
policy: update them only on purpose.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from grader.batch.pool import grade_pair
from grader.options import GradingOptions

REALISTIC = Path(__file__).parent / "realistic"


# Files holding only the student's own version of one function: graded on top of the reference
# (a later definition replaces the earlier one), so that only that function's fault shows.
OVER_THE_SOLUTION = {"exercise1_print_flood", "exercise3_symmetric_same", "exercise4_bn_eps_outside",
                     "exercise4_inplace_moving_mean", "exercise5_divided_by_batch", "exercise5_maxpool_ties"}


def realistic_source(name: str) -> str:
    """The submission text of ``tests/realistic/<name>.py``."""
    text = (REALISTIC / f"{name}.py").read_text(encoding="utf-8")
    if name not in OVER_THE_SOLUTION:
        return text
    solution = (REALISTIC.parent.parent / "solutions" / f"{name.split('_')[0]}.py").read_text(encoding="utf-8")
    return solution + "\n\n# -- the student's own version --\n" + text


def _grade(catalogue, make_submission, name: str, source: str | None = None, **kwargs):
    from grader.runner import grade_exercise

    exercise_id = name.split("_")[0]
    text = source if source is not None else realistic_source(name)
    folder = make_submission({f"{exercise_id}.py": text})
    return grade_exercise(exercise=catalogue.get(exercise_id), submission=folder,
                          options=GradingOptions(**kwargs))


def _by_id(result) -> dict:
    return {c.id: c for c in result.checks}


def test_numpy_integers_where_ints_are_asked_get_full_credit_with_a_note(catalogue, make_submission):
    result = _grade(catalogue, make_submission, "exercise1_numpy")  # before: 2 / 20
    assert (result.score, result.max_score) == (20, 20)
    assert any("numpy.int64 where an int is asked" in note for note in result.notes)
    lecture = _by_id(result)["lecture-w-7-f-3-p-0-s-1-gives-5"]
    assert lecture.status == "passed" and lecture.message.startswith("Note: conv_output_size returned numpy.int64")


def test_numpy_floats_and_bools_are_not_ints(catalogue, make_submission):
    source = (REALISTIC / "exercise1_numpy.py").read_text(encoding="utf-8").replace(
        "return np.floor((input_size + 2 * p - f_eff) / stride).astype(np.int64) + 1",
        "return np.floor((input_size + 2 * p - f_eff) / stride) + 1")
    result = _grade(catalogue, make_submission, "exercise1_numpy", source,
                    only_check="lecture-w-7-f-3-p-0-s-1-gives-5")
    [check] = result.checks
    assert check.status == "failed" and "must return a Python int" in check.message
    assert "numpy.float64" in check.message


def test_cs231n_softmax_loss_as_np_float64_gets_full_credit(catalogue, make_submission):
    result = _grade(catalogue, make_submission, "exercise5_cs231n")  # before: 21 / 25
    checks = _by_id(result)
    assert checks["softmax-cross-entropy"].status == "passed"
    assert "numpy.float64 where a float is asked" in checks["softmax-cross-entropy"].message
    # It validates relu_backward and dense_backward only: half of the invalid-arguments check.
    assert checks["invalid-arguments"].score == 0.5
    assert "softmax_cross_entropy raised IndexError" in checks["invalid-arguments"].message
    assert result.score == 24.5


def test_forgetting_the_mean_in_dlogits_costs_only_softmax_checks(catalogue, make_submission):
    result = _grade(catalogue, make_submission, "exercise5_forgot_mean")  # before: 21 / 25
    checks = _by_id(result)
    assert checks["numerical-dense-softmax"].status == "passed"  # dense_backward's own check
    assert checks["numerical-softmax"].status == "failed"
    assert checks["softmax-cross-entropy"].status == "failed"
    assert "(softmax − one-hot) / N" in checks["softmax-cross-entropy"].message
    assert result.score == 21.5


def test_an_infinite_loop_costs_only_its_function(catalogue, make_submission):
    started = time.monotonic()
    result = _grade(catalogue, make_submission, "exercise3_infinite_loop")  # before: 2 / 20, 65 s
    assert time.monotonic() - started < 45  # one call timeout (10 s), not the exercise's 60 s budget
    checks = _by_id(result)
    assert checks["lecture-feature-maps"].status == "timeout"  # the one call that waited
    later = checks["conv2d-forward-stride-1"]
    assert later.status == "timeout"
    assert later.message.startswith("conv2d_forward timed out in an earlier check; not called again")
    assert checks["relu-keeps-positives-and-zeroes-the-rest"].status == "passed"
    assert checks["pad2d-with-int-pair-valid-same-and-full-padding"].status == "passed"
    assert checks["inputs-unchanged"].score == pytest.approx(2 / 3, abs=1e-6)  # pad2d and relu
    assert checks["invalid-arguments"].score == 0.5  # pad2d's validation
    assert not any("not run" in c.message for c in result.checks)
    assert result.score == pytest.approx(4 + 2 / 3 - 0.5, abs=1e-5)


def test_a_crash_also_disables_the_function(catalogue, make_submission):
    source = (REALISTIC / "exercise3_infinite_loop.py").read_text(encoding="utf-8").replace(
        "    i = 0\n    while i < h_out:", "    import os\n    os._exit(3)\n    i = 0\n    while i < h_out:")
    result = _grade(catalogue, make_submission, "exercise3_infinite_loop", source)
    checks = _by_id(result)
    assert checks["lecture-feature-maps"].status == "error"
    assert "not called again" in checks["conv2d-forward-stride-1"].message
    assert checks["relu-keeps-positives-and-zeroes-the-rest"].status == "passed"
    assert result.score == pytest.approx(4 + 2 / 3 - 0.5, abs=1e-5)


def test_partial_not_implemented_and_a_missing_function(catalogue, make_submission):
    result = _grade(catalogue, make_submission, "exercise4_partial")  # before: 10 / 20
    checks = _by_id(result)
    valid = checks["max-pool-valid"]
    assert valid.status == "error" and valid.score == 0
    assert "NotImplementedError: non-square pooling windows" in valid.message
    assert "pool_size=(" in valid.message  # the input is shown
    assert not any(note.startswith("not implemented yet: max_pool2d_forward") for note in result.notes)
    assert checks["lecture-max-pooling"].status == "passed"
    # avg_pool2d_forward is missing: it costs only its share of the shared checks.
    assert checks["inputs-unchanged"].score == pytest.approx(0.8)
    assert checks["invalid-arguments"].score == pytest.approx(0.75)
    assert "✗ avg_pool2d_forward: exercise4.py defines no function named" in checks["inputs-unchanged"].message
    assert result.score == pytest.approx(11.55)


PARTIAL_EXERCISE1 = '''
def conv_output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
    if padding == "same":
        return -(-input_size // stride)
    if padding == "valid":
        return (input_size - dilation * (kernel_size - 1) - 1) // stride + 1
    raise NotImplementedError("integer and full padding: TODO")


def pool_output_size(input_size, pool_size, stride=None, padding="valid"):
    raise NotImplementedError("TODO")
'''


def test_a_stub_check_turns_into_a_failure_once_the_function_returns(catalogue, make_submission):
    result = _grade(catalogue, make_submission, "exercise1_partial", PARTIAL_EXERCISE1)
    first = result.checks[0]  # conv_output_size(7, 3): integer padding, before any return
    assert first.status == "error" and first.score == 0
    assert "raised NotImplementedError on this input" in first.message
    assert "conv_output_size(7, 3, stride=1, padding=0)" in first.message
    assert _by_id(result)["conv-output-size-with-same-padding-tensorflow-ceil-w-s"].status == "passed"
    assert not any(n.startswith("not implemented yet: conv_output_size") for n in result.notes)
    assert any(n.startswith("not implemented yet: pool_output_size") for n in result.notes)  # absent: a stub


def test_inputs_unchanged_credits_only_functions_that_returned(catalogue, make_submission):
    source = (Path(__file__).parents[1] / "solutions" / "exercise3.py").read_text(encoding="utf-8").replace(
        "def relu(x) -> np.ndarray:\n", "def relu(x) -> np.ndarray:\n    raise TypeError('oops')\n", 1)
    result = _grade(catalogue, make_submission, "exercise3_relu_raises", source, only_check="inputs-unchanged")
    [check] = result.checks
    assert check.score == pytest.approx(2 / 3, abs=1e-6)
    assert "✗ relu: relu raised an exception instead of returning a result" in check.message


def test_lenet5_with_max_pooling_costs_only_the_structure_check(catalogue, make_submission):
    result = _grade(catalogue, make_submission, "exercise6_lenet_maxpool")  # before: 25 / 30
    checks = _by_id(result)
    assert checks["build-lenet5-structure"].status == "failed"
    assert "does not have the lecture's layers" in checks["build-lenet5-structure"].message
    assert checks["build-lenet5-params"].status == "passed"
    assert checks["build-lenet5-activations"].status == "passed"
    assert result.score == 28


def test_batch_maps_a_missing_file_to_missing(catalogue, tmp_path):
    outcome = grade_pair(catalogue.get("exercise2"), str(tmp_path), None, None, False)
    assert outcome["status"] == "missing"
    assert outcome["result"]["score"] == 0 and outcome["result"]["missing"] is True
    assert "no exercise2.py in" in outcome["message"]


# -- issue 12: feedback that leads to the bug -----------------------------------------------------

def test_a_debug_print_shows_only_the_reported_calls_output(catalogue, make_submission):
    """conv_output_size prints on every call and is wrong above W = 12 (before: 1,618 report lines,
    1,548 of them its prints; 130 and 60 with the 30-line cap; now one print per failure)."""
    from grader.output.terminal import render_text

    result = _grade(catalogue, make_submission, "exercise1_print_flood")
    failed = [c for c in result.checks if c.status != "passed" and not c.hidden]
    assert failed and all(c.output.count("conv_output_size:") == 1 for c in failed)
    searched = _by_id(result)["conv-output-size-with-integer-padding-and-strides"]
    assert searched.smallest_input.startswith("input_size=13 ")
    assert searched.output == "conv_output_size: 13 1 1 0 1"  # the smallest failing call's print
    text = render_text(result, width=100)
    assert text.count("conv_output_size:") == len(failed) and len(text.splitlines()) < 100


HANGS_WHEN_CALLED_AGAIN = '''

_solution_conv_output_size = conv_output_size
_seen = set()


def conv_output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
    key = (input_size, kernel_size, stride, padding, dilation)
    if input_size == 28:  # wrong for the lecture's 28x28 input, and hangs when asked again
        if key in _seen:
            while True:
                pass
        _seen.add(key)
        print("conv_output_size: 28 handled")
        return 0
    return _solution_conv_output_size(input_size, kernel_size, stride, padding, dilation)
'''


def test_a_call_made_again_only_to_show_its_prints_never_costs_a_later_check(catalogue, make_submission):
    """The reported call is made once more to show only its prints. Here that repeat hangs and
    times out: the failing check keeps the prints it had, and the later checks of the same
    function are still graded (the timeout would otherwise disable the function for the run)."""
    source = (REALISTIC.parent.parent / "solutions" / "exercise1.py").read_text(encoding="utf-8") + HANGS_WHEN_CALLED_AGAIN
    result = _grade(catalogue, make_submission, "exercise1_hangs", source=source, timeout_s=1.0)
    checks = _by_id(result)
    for lecture in ("lecture-28x28-with-a-3x3-kernel-stride-1-gives-26", "lecture-28x28-with-a-3x3-kernel-stride-2-gives-13"):
        assert checks[lecture].status == "failed", checks[lecture].message
        assert "conv_output_size: 28 handled" in checks[lecture].output
    later = [c for c in result.checks if "conv_output_size" in c.name and not c.id.startswith("lecture")]
    assert later and all(c.status == "passed" for c in later), [(c.id, c.status, c.message[:80]) for c in later]
    assert checks["lecture-w-7-f-3-p-0-s-1-gives-5"].status == "passed"


def test_symmetric_same_padding_is_not_told_to_pad(catalogue, make_submission):
    """The student pads "same" with (F - 1) // 2 on each side: the hint names the split, never
    "pad x before sliding the kernel" (before: it did)."""
    result = _grade(catalogue, make_submission, "exercise3_symmetric_same", only_check="conv2d-forward")
    failed = [c for c in result.checks if c.status == "failed" and c.hint]
    assert failed
    for check in result.checks:
        assert "pad x before sliding" not in check.message
    shape = _by_id(result)["conv2d-forward-shape"]
    assert shape.hint.startswith('"same" pads 0 row(s) and 1 column(s) in total here')
    assert "your output is what 0 row(s) and 0 column(s) on each side give" in shape.hint


def test_gradients_divided_by_the_batch_size_get_that_hint(catalogue, make_submission):
    result = _grade(catalogue, make_submission, "exercise5_divided_by_batch",
                    only_check="dense-backward-matches-tf-gradienttape")
    [check] = result.checks
    assert check.status == "failed"
    assert check.hint.startswith("dw and db are the reference divided by the batch size N = 2")
    assert [row[0] for row in check.table.rows] == ["dx", "dw", "db"]


def test_max_pool_ties_sent_to_every_maximum_get_that_hint(catalogue, make_submission):
    result = _grade(catalogue, make_submission, "exercise5_maxpool_ties", only_check="max-pool-backward-routing")
    [check] = result.checks
    assert check.status == "failed" and check.hint.startswith("Your dx sends a window's dout to every maximum")
    solution = (Path(__file__).parent.parent / "solutions" / "exercise5.py").read_text(encoding="utf-8")
    wrong_way = solution.replace("argmax(axis=-1)  # first max", "argmax(axis=-1) * 0")  # not the tie mistake
    result = _grade(catalogue, make_submission, "exercise5_maxpool_ties", wrong_way,
                    only_check="max-pool-backward-routing")
    [check] = result.checks
    assert check.status == "failed" and "every maximum" not in (check.hint or "")


def test_batchnorm_epsilon_outside_the_square_root_gets_that_hint(catalogue, make_submission):
    result = _grade(catalogue, make_submission, "exercise4_bn_eps_outside", only_check="batchnorm-training")
    [check] = result.checks
    assert check.status == "failed" and check.hint.startswith("ε is added outside the square root")


def test_an_input_modified_in_place_is_named(catalogue, make_submission):
    result = _grade(catalogue, make_submission, "exercise4_inplace_moving_mean", only_check="inputs-unchanged")
    [check] = result.checks
    assert check.status == "failed" and check.score == pytest.approx(0.8)
    assert check.summary == "batchnorm_forward modified its input moving_mean in place."
    assert ("input", "moving_mean") in check.evidence
    assert check.hint.startswith("moving_mean is the caller's array")
    assert check.rerun[-2:] == ["--check", "inputs-unchanged"]
