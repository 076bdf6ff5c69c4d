"""The fixed command-line interface: commands, JSON schema, exit codes, messages."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest
from conftest import ROOT


def grade(*args: str, cwd=ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("exercise", ["exercise1", "exercise2"])
def test_solutions_get_full_marks_in_the_json_schema(exercise):
    completed = grade(exercise, "--submission", "solutions", "--format", "json")
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert set(report) == {"exercise", "score", "max_score", "checks", "submission", "duration_s",
                           "grader_version"}
    assert report["exercise"] == exercise
    assert report["score"] == report["max_score"] > 0
    for check in report["checks"]:
        assert set(check) == {"name", "score", "max_score", "status", "hidden", "message"}
        assert check["status"] == "passed"


@pytest.mark.parametrize("exercise", ["exercise1", "exercise2"])
def test_stubs_get_zero_with_not_implemented_and_exit_0(exercise):
    completed = grade(exercise, "--submission", "exercises", "--format", "json")
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert report["score"] == 0
    assert {c["status"] for c in report["checks"]} == {"skipped"}
    assert all(c["message"].startswith("not implemented yet: ") for c in report["checks"])
    assert "Traceback" not in completed.stdout + completed.stderr


def test_grade_all_json_has_the_run_schema():
    completed = grade("all", "--submission", "solutions", "--format", "json")
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert set(report) == {"score", "max_score", "exercises"}
    by_id = {e["exercise"]: e for e in report["exercises"]}
    assert list(by_id)[:6] == [f"exercise{i}" for i in range(1, 7)]
    for exercise_id in (f"exercise{i}" for i in range(1, 7)):
        assert by_id[exercise_id]["score"] == by_id[exercise_id]["max_score"], exercise_id
    assert {"lab_mnist", "lab_fashion", "lab_cifar10", "lab_cifar100"} <= set(by_id)


def test_fail_under_gives_exit_1_and_still_reports():
    completed = grade("exercise1", "--submission", "exercises", "--fail-under", "10", "--format", "json")
    assert completed.returncode == 1
    assert json.loads(completed.stdout)["score"] == 0


def test_unknown_exercise_suggests_the_closest_id():
    completed = grade("exercize1")
    assert completed.returncode == 2
    assert "Did you mean 'exercise1'?" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_missing_submission_file_is_a_graded_zero(tmp_path):
    """Issue 10: no exercise2.py is a graded zero (exit 0, one JSON object, one clear message)."""
    completed = grade("exercise2", "--submission", str(tmp_path), "--format", "json")
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)  # exactly one JSON object
    assert report["exercise"] == "exercise2" and report["score"] == 0 and report["max_score"] == 20
    assert report["missing"] is True
    assert f"no exercise2.py in {tmp_path.resolve()}" in report["message"]
    assert "exercise2.ipynb" in report["message"]  # where it looked
    assert {c["status"] for c in report["checks"]} == {"error"}
    assert {c["message"] for c in report["checks"] if not c["hidden"]} == {"not graded: exercise2.py was not found"}
    assert "Traceback" not in completed.stderr
    text = grade("exercise2", "--submission", str(tmp_path))
    assert text.returncode == 0
    flat = " ".join(text.stdout.split())
    assert "Save your exercise2.py in that folder" in flat and "--submission PATH" in flat  # how to fix it
    assert "not graded: exercise2.py" not in text.stdout  # the reason once, not a panel per check


def test_grade_all_with_a_missing_file_grades_the_others(tmp_path):
    (tmp_path / "exercise1.py").write_text((ROOT / "solutions" / "exercise1.py").read_text())
    completed = grade("all", "--submission", str(tmp_path), "--format", "json")
    assert completed.returncode == 0, completed.stderr
    by_id = {e["exercise"]: e for e in json.loads(completed.stdout)["exercises"]}
    assert by_id["exercise1"]["score"] == 20 and "missing" not in by_id["exercise1"]
    assert by_id["exercise2"]["missing"] is True and by_id["exercise2"]["score"] == 0
    assert "no exercise2.py in" in by_id["exercise2"]["message"]


def test_a_submission_path_that_does_not_exist_is_still_exit_2(tmp_path):
    completed = grade("exercise1", "--submission", str(tmp_path / "nowhere"))
    assert completed.returncode == 2
    assert "does not exist" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_bad_option_is_a_usage_error():
    completed = grade("exercise1", "--format", "xml")
    assert completed.returncode == 2
    assert "invalid choice" in completed.stderr


def test_syntax_error_names_the_line_and_scores_zero(tmp_path):
    (tmp_path / "exercise1.py").write_text("def conv_output_size(:\n    pass\n")
    completed = grade("exercise1", "--submission", str(tmp_path), "--format", "json")
    assert completed.returncode == 0
    report = json.loads(completed.stdout)
    assert report["score"] == 0
    assert "exercise1.py has a SyntaxError at line 1" in report["checks"][0]["message"]


def test_a_single_file_can_be_graded(tmp_path):
    target = tmp_path / "my_answers.py"
    target.write_text((ROOT / "solutions" / "exercise1.py").read_text())
    completed = grade("exercise1", "--submission", str(target), "--format", "json")
    report = json.loads(completed.stdout)
    assert report["score"] == report["max_score"]


def test_markdown_and_output_file(tmp_path):
    out = tmp_path / "report.md"
    completed = grade("exercise1", "--submission", "exercises", "--format", "md", "--output", str(out))
    assert completed.returncode == 0 and completed.stdout == ""
    text = out.read_text()
    assert text.startswith("# Grade report — 0 / 20")
    assert "not implemented yet: conv_output_size" in text


def test_text_report_shows_a_panel_per_failure(tmp_path):
    source = (ROOT / "solutions" / "exercise1.py").read_text().replace(
        "field += (kernel - 1) * jump", "field += kernel - 1")
    (tmp_path / "exercise1.py").write_text(source)
    completed = grade("exercise1", "--submission", str(tmp_path))
    assert completed.returncode == 0
    assert "✗ exercise1 › receptive_field of a stack of layers" in completed.stdout
    assert "Smallest failing input" in completed.stdout
    assert f"Re-run: grade exercise1 {tmp_path} --check receptive-field-of-a-stack-of-layers" in completed.stdout


def _wrong_receptive_field(folder):
    source = (ROOT / "solutions" / "exercise1.py").read_text().replace(
        "field += (kernel - 1) * jump", "field += kernel - 1")
    (folder / "exercise1.py").write_text(source)


def test_the_printed_rerun_line_reruns_exactly_that_check_on_that_submission(tmp_path):
    """Issue 12: the re-run line, pasted as printed (80 columns, piped), re-runs only that check."""
    folder = tmp_path / "my work"  # a space: the printed command must quote it
    folder.mkdir()
    _wrong_receptive_field(folder)
    completed = subprocess.run([sys.executable, "-m", "grader.cli", "exercise1", str(folder)], capture_output=True,
                               text=True, cwd=tmp_path, timeout=300, env={**os.environ, "COLUMNS": "80"})
    reruns = [line for line in completed.stdout.splitlines() if line.startswith("Re-run: ")]
    assert reruns, completed.stdout
    line = next(r for r in reruns if "receptive-field" in r)  # one line, unwrapped, though over 80 columns
    assert len(line) > 80
    argv = shlex.split(line.removeprefix("Re-run: "))
    assert argv[0] == "grade"
    rerun = subprocess.run([sys.executable, "-m", "grader.cli", *argv[1:], "--format", "json"],
                           capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert report["submission"] == str(folder / "exercise1.py")
    assert [(c["name"], c["status"]) for c in report["checks"]] == [("receptive_field of a stack of layers",
                                                                     "failed")]
    # the report's last line: the score, the first failing check and its re-run command
    last = completed.stdout.rstrip("\n").splitlines()[-1]
    assert last.startswith("Score 18 / 20 pts; first failing: exercise1 › receptive_field of a stack of layers.")
    assert last.endswith(line.removeprefix("Re-run:").strip())


def test_every_failure_has_a_rerun_line_and_a_pass_says_so_in_one_line(tmp_path):
    _wrong_receptive_field(tmp_path)
    report = json.loads(grade("exercise1", str(tmp_path), "--format", "json").stdout)
    failing = [c for c in report["checks"] if c["status"] != "passed"]
    text = grade("exercise1", str(tmp_path)).stdout
    assert failing and text.count(f"Re-run: grade exercise1 {tmp_path} --check ") == len(failing) + 1  # + last line
    assert all("Re-run:" not in c["message"] for c in failing)  # the JSON names no path of this machine
    markdown = grade("exercise1", str(tmp_path), "--format", "md").stdout
    assert markdown.count(f"Re-run: `grade exercise1 {tmp_path} --check ") == len(failing)
    passed = grade("exercise1", "solutions")
    assert passed.stdout.rstrip("\n").splitlines()[-1] == "All 17 checks passed: 20 / 20 pts."


def test_a_syntax_error_is_one_panel_with_the_line_and_the_checks_skipped(tmp_path):
    (tmp_path / "exercise1.py").write_text((ROOT / "solutions" / "exercise1.py").read_text().replace(
        "def same_padding(", "def same_padding(((", 1))
    completed = grade("exercise1", str(tmp_path), env={"COLUMNS": "80"})
    text = completed.stdout
    assert text.count("╭") == 1, text  # before: one panel per check (17)
    assert "✗ exercise1 › syntax error" in text
    assert "exercise1.py has a SyntaxError at line" in text and "Skipped: 17 checks" in text
    assert text.count("SyntaxError") == 1
    assert f"Re-run: grade exercise1 {tmp_path / 'exercise1.py'}" in text
    report = json.loads(grade("exercise1", str(tmp_path), "--format", "json").stdout)
    assert report["cause"] == "syntax error" and "SyntaxError at line" in report["message"]
    assert all(c["message"].startswith("skipped: exercise1.py has a SyntaxError") for c in report["checks"]
               if not c["hidden"])


def test_list_shows_every_catalogue_entry():
    completed = grade("list")
    assert completed.returncode == 0
    for exercise_id in ("exercise1", "exercise6", "lab_cifar100"):
        assert exercise_id in completed.stdout


def test_hidden_messages_are_withheld_unless_show_hidden(tmp_path):
    source = (ROOT / "solutions" / "exercise1.py").read_text().replace(
        "span = dil * (kernel - 1) + 1", "span = kernel")
    (tmp_path / "exercise1.py").write_text(source)
    hidden = json.loads(grade("exercise1", "--submission", str(tmp_path), "--format", "json").stdout)
    shown = json.loads(grade("exercise1", "--submission", str(tmp_path), "--format", "json",
                             "--show-hidden").stdout)
    [withheld] = [c for c in hidden["checks"] if c["hidden"] and c["status"] != "passed"]
    [revealed] = [c for c in shown["checks"] if c["hidden"] and c["status"] != "passed"]
    assert "withheld" in withheld["message"]
    assert "dilation" in revealed["message"] or "returned the wrong number" in revealed["message"]
    assert hidden["score"] == shown["score"] < hidden["max_score"]


def test_regrade_gives_the_same_report():
    first = json.loads(grade("exercise1", "--submission", "solutions", "--format", "json").stdout)
    second = json.loads(grade("exercise1", "--submission", "solutions", "--format", "json").stdout)
    for report in (first, second):
        report.pop("duration_s")
        report.pop("submission")
    assert first == second


def test_batch_usage_errors_are_exit_2(tmp_path):
    completed = grade("batch", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"))
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr


def test_cd_exercises_then_grade_finds_the_file_here(tmp_path):
    """`cd exercises && grade exercise1`: with no ./exercises folder, the current folder is the submission."""
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / "exercise1.py").write_text((ROOT / "solutions" / "exercise1.py").read_text())
    for cwd in (tmp_path, tmp_path / "exercises"):
        completed = grade("exercise1", "--format", "json", cwd=cwd)
        assert completed.returncode == 0, completed.stderr
        report = json.loads(completed.stdout)
        assert report["score"] == report["max_score"] == 20
        assert report["submission"].endswith("exercise1.py")


def test_a_folder_given_as_a_positional_argument(tmp_path):
    completed = grade("exercise1", "solutions", "--format", "json")
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["score"] == 20
    both = grade("exercise1", "solutions", "--submission", "solutions")
    assert both.returncode == 2 and "--submission" in both.stderr


def test_check_takes_a_substring_of_an_id_or_a_name():
    completed = grade("exercise1", "solutions", "--check", "RECEPTIVE", "--format", "json")
    assert completed.returncode == 0, completed.stderr
    [check] = json.loads(completed.stdout)["checks"]
    assert check["name"] == "receptive_field of a stack of layers"
    by_name = grade("exercise1", "solutions", "--check", "invalid arguments", "--format", "json")
    assert len(json.loads(by_name.stdout)["checks"]) == 2
    nothing = grade("exercise1", "solutions", "--check", "no-such-check")
    assert nothing.returncode == 2 and "no check matching 'no-such-check'" in nothing.stderr


def test_list_an_exercise_shows_its_check_ids():
    completed = grade("list", "exercise3")
    assert completed.returncode == 0, completed.stderr
    assert "lecture-feature-maps" in completed.stdout and "--check ID" in completed.stdout
    unknown = grade("list", "exercise99")
    assert unknown.returncode == 2


def test_a_debug_print_shows_the_reported_calls_output_only_capped(tmp_path):
    """A print() in conv_output_size, called for every example the search tries: only the output of
    the reported (smallest failing) call is shown, at most 30 lines of it."""
    source = (ROOT / "solutions" / "exercise1.py").read_text(encoding="utf-8")
    source = source.replace("def conv_output_size(", "def _honest_conv_output_size(") + (
        "\n\ndef conv_output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):\n"
        "    print('debug: input_size =', input_size, 'kernel_size =', kernel_size)\n"
        "    for step in range(40 if input_size == 13 else 0):\n"
        "        print('step', step)\n"
        "    size = _honest_conv_output_size(input_size, kernel_size, stride, padding, dilation)\n"
        "    return size + 1 if input_size > 12 else size\n")
    (tmp_path / "exercise1.py").write_text(source, encoding="utf-8")
    completed = grade("exercise1", str(tmp_path), "--format", "json")
    assert completed.returncode == 0, completed.stderr
    failed = [c for c in json.loads(completed.stdout)["checks"] if c["status"] != "passed" and not c["hidden"]]
    searched = [c for c in failed if "Smallest failing input" in c["message"]]
    assert searched
    for check in failed:
        shown = check["message"].split("Your code printed:\n", 1)[1].splitlines()
        assert len([line for line in shown if line.startswith("debug:")]) == 1, shown  # that call's only
        assert len(shown) <= 31
    for check in searched:  # the smallest failing input is W = 13, which prints 41 lines
        shown = check["message"].split("Your code printed:\n", 1)[1].splitlines()
        assert shown[0].startswith("debug: input_size = 13")
        assert shown[-1] == "… 11 more lines were dropped"


def test_a_missing_lab_model_is_said_once_and_its_dependents_are_skipped(tmp_path):
    folder = tmp_path / "lab_mnist"
    folder.mkdir()
    (folder / "history.json").write_text("{}")
    completed = grade("lab_mnist", str(folder), env={"COLUMNS": "80"})
    assert completed.stdout.count("model.keras is missing from the lab folder") == 2  # the panel, the skip line
    assert completed.stdout.count("╭") == 2  # model-file and history.json: two causes (before: 5 + 1 panels)
    assert "Skipped (4): input-output-shape, is-cnn, trainable-params, test-accuracy" in completed.stdout
    report = json.loads(grade("lab_mnist", str(folder), "--format", "json").stdout)
    statuses = [c["status"] for c in report["checks"]]
    assert statuses == ["failed", "skipped", "skipped", "skipped", "failed", "skipped"]


def test_check_ids_of_every_exercise_and_lab_are_kebab_case():
    import re

    from grader.catalogue import load_catalogue

    catalogue = load_catalogue()
    for exercise in catalogue:
        for check in exercise.checklist():
            assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", check.id), (exercise.id, check.id)
