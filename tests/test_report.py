"""Golden renders of the terminal report (rich's own testing habit): exact text at fixed widths.

Regenerate a golden file on purpose only: ``GRADER_REGOLD=1 pytest tests/test_report.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from grader.checking.check import Call
from grader.checking.gradients import expect_gradients
from grader.checking.outcomes import CheckFailure
from grader.checks.exercise6 import _canonical, _rows, _side_by_side
from grader.output.results import CheckResult, ExerciseResult, withheld
from grader.output.terminal import last_line, render_text
from grader.reference import lecture_models as lectures

GOLDEN = Path(__file__).parent / "golden"


def _matches_golden(text: str, name: str) -> None:
    path = GOLDEN / name
    if os.environ.get("GRADER_REGOLD"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def sample_result() -> ExerciseResult:
    failed = CheckResult(
        id="conv-output-shape", name="conv_output_shape for non-square inputs", score=0, max_score=2,
        status="failed", message="x",
        summary="conv_output_shape returned a wrong result: [0] is 7, expected 5.",
        evidence=[("call", "conv_output_shape(input_shape=(5, 7, 3), filters=4, kernel_size=3)"),
                  ("expected", "(3, 5, 4)"), ("received", "(5, 3, 4)")],
        hint="Height and width are swapped: the shape is (H', W', K), H first.",
        smallest_input="input_shape=(5, 7, 3)", examples_tried=12,
        rerun=["grade", "exercise1", "exercises/exercise1.py", "--check", "conv-output-shape"],
    )
    return ExerciseResult("exercise1", "Convolution arithmetic", [
        CheckResult(id="a", name="lecture: W=7, F=3, P=0, S=1 gives 5", score=1, max_score=1, status="passed"),
        failed,
        CheckResult(id="h", name="hidden: large inputs", score=0, max_score=1, status="failed", hidden=True,
                    message="secret expected value 4096", summary="secret expected value 4096",
                    rerun=["grade", "exercise1", "exercises/exercise1.py", "--check", "h"]),
        CheckResult(id="r", name="receptive_field", score=0, max_score=2, status="skipped",
                    message="not implemented yet: receptive_field", not_implemented="receptive_field"),
    ], submission="exercises/exercise1.py", duration_s=0.1, grader_version="0",
        notes=["not implemented yet: receptive_field (1 check skipped)"])


def test_report_matches_the_golden_render():
    _matches_golden(render_text(sample_result(), width=88), "report_exercise1.txt")


def test_hidden_details_appear_only_with_show_hidden():
    assert "4096" not in render_text(sample_result(), width=88)
    assert "4096" in render_text(sample_result(), width=88, show_hidden=True)


def test_one_rule_withholds_a_hidden_checks_message_everywhere():
    from grader.output.results import to_html, to_json, to_markdown

    result = sample_result()
    hidden = result.checks[2]
    assert withheld(hidden, False) and not withheld(hidden, True)
    skipped = CheckResult(id="s", name="s", score=0, max_score=1, status="skipped", hidden=True, message="m")
    assert not withheld(skipped, False)  # "not implemented yet" gives nothing away
    for writer in (to_json, to_markdown, to_html):
        assert "4096" not in writer(result) and "4096" in writer(result, show_hidden=True)


def test_student_text_cannot_inject_markup_or_escape_codes():
    result = sample_result()
    result.checks[1].summary = "[bold red]fake[/] \x1b[2Jcleared"
    text = render_text(result, width=88)
    assert "[bold red]fake[/]" in text
    assert "\x1b" not in text


def test_the_rerun_line_is_never_wrapped_even_at_40_columns():
    result = sample_result()
    text = render_text(result, width=40)
    assert "Re-run: grade exercise1 exercises/exercise1.py --check conv-output-shape\n" in text


def test_the_last_line_names_the_first_failure_or_says_all_passed():
    result = sample_result()
    assert last_line(result) == ("Score 1 / 6 pts; first failing: exercise1 › conv_output_shape for non-square "
                                 "inputs. Re-run: grade exercise1 exercises/exercise1.py --check conv-output-shape")
    passed = ExerciseResult("exercise1", "t", [result.checks[0]], submission="s", duration_s=0, grader_version="0")
    assert last_line(passed) == "All 1 checks passed: 1 / 1 pts."
    assert render_text(passed).rstrip("\n").splitlines()[-1] == "All 1 checks passed: 1 / 1 pts."


def test_a_syntax_error_renders_as_one_panel():
    checks = [CheckResult(id=f"c{i}", name=f"check {i}", score=0, max_score=1, status="error",
                          message="skipped: exercise1.py has a SyntaxError at line 3", skipped_because="syntax error")
              for i in range(5)]
    result = ExerciseResult("exercise1", "Convolution arithmetic", checks, submission="exercises/exercise1.py",
                            duration_s=0, grader_version="0", cause="syntax error",
                            cause_message="exercise1.py has a SyntaxError at line 3: def f(( (invalid syntax).")
    text = render_text(result, width=80)
    assert text.count("╭") == 1 and text.count("SyntaxError") == 1
    assert "Skipped: 5 checks (each needs the file to import)." in text
    assert "Re-run: grade exercise1 exercises/exercise1.py\n" in text


# -- 80 and 120 columns: exercise 6's side-by-side model diff and a gradient table --------------

def _lenet_with_max_pooling() -> CheckResult:
    """The structure failure of tests/realistic/exercise6_lenet_maxpool.py, built from the same rows."""
    lecture = lectures.LENET5_SPEC
    expected_rows, _ = _rows(lecture.input_shape, _canonical(lecture.input_shape, lecture.layer_specs()))
    received = [("MaxPooling2D", shape, params) if kind == "AveragePooling2D" else (kind, shape, params)
                for kind, shape, params in expected_rows]
    table, first = _side_by_side(expected_rows, received)
    return CheckResult(
        id="build-lenet5-structure", name="build_lenet5: layer types, order and output shapes", score=0,
        max_score=2, status="failed", message="", summary=f"build_lenet5() does not have the lecture's layers. "
        f"The first difference is at layer {first + 1}.", evidence=[("call", "build_lenet5()")], table=table,
        rerun=["grade", "exercise6", "exercises/exercise6.py", "--check", "build-lenet5-structure"])


def _dense_backward_gradients() -> CheckResult:
    rng = np.random.default_rng(0)
    dx, dw, db = rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)
    call = Call("dense_backward", (), {"dout": rng.standard_normal((4, 3)), "x": rng.standard_normal((4, 5)),
                                       "w": dw})
    with pytest.raises(CheckFailure) as raised:
        expect_gradients((dx, dw * 2, db), (dx, dw, db), ("dx", "dw", "db"), call=call)
    failure = raised.value
    return CheckResult(
        id="dense-backward", name="dense_backward matches tf.GradientTape", score=0, max_score=2, status="failed",
        message="", summary=failure.summary, evidence=failure.evidence, table=failure.table, hint=failure.hint,
        rerun=["grade", "exercise5", "exercises/exercise5.py", "--check", "dense-backward"])


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("name", ["exercise6_diff", "gradient_table"])
def test_tables_fit_80_and_120_columns(name: str, width: int):
    check = _lenet_with_max_pooling() if name == "exercise6_diff" else _dense_backward_gradients()
    result = ExerciseResult(check.rerun[1], "t", [check], submission="s", duration_s=0, grader_version="0")
    text = render_text(result, width=width)
    _matches_golden(text, f"{name}_{width}.txt")
    panel = [line for line in text.splitlines() if line.startswith(("╭", "│", "╰"))]
    assert panel and all(len(line) <= width for line in panel)
    assert all(line.endswith("│") for line in panel if line.startswith("│"))  # no row broken in two
