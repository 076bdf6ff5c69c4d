"""Golden render of the terminal report (rich's own testing habit): exact text, width 88."""

from __future__ import annotations

from pathlib import Path

from grader.report import render_text
from grader.results import CheckResult, ExerciseResult

GOLDEN = Path(__file__).parent / "golden" / "report_exercise1.txt"


def sample_result() -> ExerciseResult:
    failed = CheckResult(
        id="conv-output-shape", name="conv_output_shape for non-square inputs", score=0, max_score=2,
        status="failed",
        message=("x\nSmallest failing input (after 12 examples): input_shape=(5, 7, 3)\n"
                 "Re-run: grade exercise1 --check conv-output-shape"),
        summary="conv_output_shape returned a wrong result: [0] is 7, expected 5.",
        evidence=[("call", "conv_output_shape(input_shape=(5, 7, 3), filters=4, kernel_size=3)"),
                  ("expected", "(3, 5, 4)"), ("received", "(5, 3, 4)")],
        hint="Height and width are swapped: the shape is (H', W', K), H first.",
    )
    return ExerciseResult("exercise1", "Convolution arithmetic", [
        CheckResult(id="a", name="lecture: W=7, F=3, P=0, S=1 gives 5", score=1, max_score=1, status="passed"),
        failed,
        CheckResult(id="h", name="hidden: large inputs", score=0, max_score=1, status="failed", hidden=True,
                    message="secret expected value 4096", summary="secret expected value 4096"),
        CheckResult(id="r", name="receptive_field", score=0, max_score=2, status="skipped",
                    message="not implemented yet: receptive_field"),
    ], submission="s", duration_s=0.1, grader_version="0",
        notes=["not implemented yet: receptive_field (1 check skipped)"])


def test_report_matches_the_golden_render():
    assert render_text(sample_result(), width=88) == GOLDEN.read_text(encoding="utf-8")


def test_hidden_details_appear_only_with_show_hidden():
    assert "4096" not in render_text(sample_result(), width=88)
    assert "4096" in render_text(sample_result(), width=88, show_hidden=True)


def test_student_text_cannot_inject_markup_or_escape_codes():
    result = sample_result()
    result.checks[1].summary = "[bold red]fake[/] \x1b[2Jcleared"
    text = render_text(result, width=88)
    assert "[bold red]fake[/]" in text
    assert "\x1b" not in text
