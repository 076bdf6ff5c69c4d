"""Issue 9, outside the sandbox: the batch's OUT, hostile archives and names, links,
out-of-range options, and student text in the Markdown and HTML reports.

One test (or a few) per class of attack, each asserting the correct outcome:

- batch: an existing OUT (0755, a 0644 gradebook) is made 0700 with every file 0600; a zip
  member path longer than the system allows refuses that submission alone, on every rerun;
  OUT equal to DIR or inside it is refused (exit 2); names that sanitize to the same id get
  distinct ids that do not depend on the listing order;
- links: a linked submission folder, lab folder, lab file or notebook is refused, not followed;
- options: every out-of-range number (--timeout, --jobs, --seed, --fail-under) exits 2 with
  a message naming the option, before anything is graded;
- reports: a forged score heading, a remote image and raw HTML from an exception message
  stay inert text in ``--format md``, ``--format html``, a batch's results and summary.html.
"""

from __future__ import annotations

import csv
import itertools
import os
import re
import stat
import zipfile
from pathlib import Path

import pytest

from grader import cli
from grader.batch.discover import assign_ids, discover, sanitize_id
from grader.cli import main as grade_main

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = (ROOT / "solutions" / "exercise1.py").read_text(encoding="utf-8")
# Fails at import: every check is an error at once (fast), and the message lands in the report.
FORGED = ("\n\n# Score: 20/20\n\n![pwned](http://evil.example/x.png) "
          "<img src=http://evil.example/y.png> <script>alert(1)</script> ``` [click](http://evil) |")
HOSTILE = f"class Forged_Exception_Name(Exception):\n    pass\n\nraise Forged_Exception_Name({FORGED!r})\n"


def _batch(directory: Path, out: Path, *extra: str) -> int:
    return grade_main(["batch", str(directory), "--out", str(out), "--jobs", "1", "--exercises",
                       "exercise1", "--no-progress", *extra])


def _gradebook(out: Path) -> dict[str, dict[str, str]]:
    with (out / "gradebook.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["id"] == "Points Possible"  # the LMS's row of maxima, then one row per student
    return {row["id"]: row for row in rows[1:]}


# -- batch -------------------------------------------------------------------------------------


def test_an_existing_out_is_made_private_and_every_file_in_it_0600(tmp_path):
    directory, out = tmp_path / "class", tmp_path / "out"
    (directory / "ann").mkdir(parents=True)
    (directory / "ann" / "exercise1.py").write_text(HOSTILE, encoding="utf-8")
    (out / "results").mkdir(parents=True)
    os.chmod(out, 0o755)
    os.chmod(out / "results", 0o755)
    for stale in (out / "gradebook.csv", out / "results" / "gone.md", out / "notes.txt"):
        stale.write_text("old\n")
        os.chmod(stale, 0o644)
    previous = os.umask(0o022)
    try:
        assert _batch(directory, out) == 0
        assert _batch(directory, out) == 0  # a rerun: still private
    finally:
        os.umask(previous)
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    seen = []
    for folder, subfolders, names in os.walk(out):
        for name in subfolders:
            assert stat.S_IMODE(os.lstat(Path(folder) / name).st_mode) == 0o700, name
        for name in names:
            seen.append(name)
            assert stat.S_IMODE(os.lstat(Path(folder) / name).st_mode) == 0o600, name
    assert {"gradebook.csv", "journal.jsonl", "summary.html", "ann.json", "ann.md",
            "ann.html", "gone.md"} <= set(seen)


def _long_zip(path: Path, member: str) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("exercise1.py", SOLUTION)
        archive.writestr(member, "x")


def test_a_member_path_longer_than_the_system_allows_refuses_that_submission_alone(tmp_path):
    directory, out = tmp_path / "class", tmp_path / "out"
    directory.mkdir()
    _long_zip(directory / "deep.zip", "/".join(["d" * 200] * 25) + "/f.txt")  # 5,000+ chars
    _long_zip(directory / "wide.zip", "w" * 5000 + ".txt")  # one component over 255 bytes
    _long_zip(directory / "mid.zip", "/".join(["m" * 250] * 20))  # components fit, path doesn't
    (directory / "ok").mkdir()
    (directory / "ok" / "exercise1.py").write_text(HOSTILE, encoding="utf-8")
    for _ in range(2):  # the same outcome on every rerun
        assert _batch(directory, out) == 0
        book = _gradebook(out)
        assert {i: r["status"] for i, r in book.items()} == {
            "deep": "refused", "wide": "refused", "mid": "refused", "ok": "graded"}
    journal = (out / "journal.jsonl").read_text()
    assert "has a path over" in journal and "has a name component over 255 bytes" in journal
    assert max(len(line) for line in journal.splitlines()) < 200_000


@pytest.mark.parametrize("where", ["same", "inside", "deeper", "via-link"])
def test_out_equal_to_or_inside_dir_is_refused(tmp_path, capsys, where):
    directory = tmp_path / "class"
    (directory / "ann").mkdir(parents=True)
    (directory / "ann" / "exercise1.py").write_text(SOLUTION, encoding="utf-8")
    out = {"same": directory, "inside": directory / "out", "deeper": directory / "a" / "b",
           "via-link": tmp_path / "link" / "out"}[where]
    if where == "via-link":
        (tmp_path / "link").symlink_to(directory)
    assert _batch(directory, out) == 2
    error = capsys.readouterr().err
    assert "--out" in error and ("inside the folder of submissions" in error
                                 or "is the folder of submissions itself" in error), error
    assert not (directory / "gradebook.csv").exists()
    assert not (directory / "out").exists() and not (directory / "journal.jsonl").exists()


def test_names_that_sanitize_alike_get_distinct_ids_independent_of_order(tmp_path):
    names = ["a b", "a_b", "a+b", "a b.zip", "A B", "ann"]
    stems = {n: n[: -len(".zip")] if n.endswith(".zip") else n for n in names}
    first = assign_ids(names, stems)
    for order in itertools.permutations(names):
        assert assign_ids(list(order), stems) == first
    assert len({i.lower() for i in first.values()}) == len(names)
    assert first["a_b"] == "a_b" and first["ann"] == "ann"  # a clean name keeps its id
    for name in ("a b", "a+b", "a b.zip", "A B"):
        assert re.fullmatch(r"(a_b|A_B)-[0-9a-f]{8}", first[name]), first
    # The same through discover(), and stable across runs.
    for name in names:
        if name.endswith(".zip"):
            (tmp_path / name).write_bytes(b"")
        else:
            (tmp_path / name).mkdir()
    entries, warnings = discover(tmp_path)
    ids = {e.source.name: e.id for e in entries}
    assert ids == first == {e.source.name: e.id for e in discover(tmp_path)[0]}
    assert any(f"'{first['a b']}'" in w for w in warnings)
    assert sanitize_id("a b") == "a_b"


# -- links -------------------------------------------------------------------------------------


def _grade(argv: list[str]) -> int:
    try:
        return cli.main(argv)
    except SystemExit as exit_:  # argparse's own usage errors
        return int(exit_.code or 0)


def test_a_linked_lab_folder_lab_file_or_submission_folder_is_refused(tmp_path, capsys):
    secret = tmp_path / "elsewhere"
    secret.mkdir()
    (secret / "answers.toml").write_text("secret = 'do not echo me'\n")
    (secret / "history.json").write_text("{}")
    submission = tmp_path / "student"
    submission.mkdir()
    (submission / "lab_mnist").symlink_to(secret, target_is_directory=True)
    assert _grade(["lab_mnist", "--submission", str(submission)]) == 2
    error = capsys.readouterr().err
    assert "symbolic link" in error and "lab folder" in error, error

    linked = tmp_path / "linked-folder"
    linked.symlink_to(secret, target_is_directory=True)
    assert _grade(["lab_mnist", "--submission", str(linked)]) == 2
    assert "symbolic link" in capsys.readouterr().err

    lab = tmp_path / "lab"
    lab.mkdir()
    (lab / "answers.toml").symlink_to(secret / "answers.toml")
    (lab / "history.json").write_text("{}")
    assert _grade(["lab_mnist", "--submission", str(lab)]) == 2
    error = capsys.readouterr().err
    assert "symbolic link" in error and "do not echo me" not in error


def test_a_linked_notebook_or_exercise_folder_is_refused(tmp_path, capsys):
    target = tmp_path / "target.ipynb"
    target.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "exercise1.ipynb").symlink_to(target)
    out = tmp_path / "report.json"
    assert _grade(["exercise1", "--submission", str(folder), "--format", "json",
                   "--output", str(out)]) == 2
    assert "symbolic link" in capsys.readouterr().err and not out.exists()
    assert _grade(["exercise1", "--submission", str(folder / "exercise1.ipynb")]) == 2
    assert "symbolic link" in capsys.readouterr().err
    real = tmp_path / "real"
    real.mkdir()
    (real / "exercise1.py").write_text(SOLUTION, encoding="utf-8")
    (tmp_path / "alias").symlink_to(real, target_is_directory=True)
    assert _grade(["exercise1", "--submission", str(tmp_path / "alias")]) == 2
    assert "symbolic link" in capsys.readouterr().err

    from grader.errors import SubmissionError
    from grader.intake.notebook import extract_code

    with pytest.raises(SubmissionError, match="symbolic link"):
        extract_code(folder / "exercise1.ipynb")


# -- out-of-range options ----------------------------------------------------------------------


BAD_GRADE_OPTIONS = [
    ("--timeout", "-1"), ("--timeout", "0"), ("--timeout", "1e300"), ("--timeout", "inf"),
    ("--timeout", "nan"), ("--timeout", "1e-9"), ("--seed", "-1"), ("--seed", str(2**64)),
    ("--seed", "9" * 5000), ("--fail-under", "-1"), ("--fail-under", "nan"),
    ("--fail-under", "inf"), ("--fail-under", "1e300"),
]
BAD_BATCH_OPTIONS = [("--jobs", "0"), ("--jobs", "-3"), ("--jobs", "100000"),
                     ("--timeout", "-1"), ("--timeout", "1e300"), ("--seed", "-5")]


@pytest.mark.parametrize(("option", "value"), BAD_GRADE_OPTIONS,
                         ids=[f"{o}={v[:10]}" for o, v in BAD_GRADE_OPTIONS])
def test_an_out_of_range_grading_option_exits_2_naming_it(tmp_path, capsys, option, value):
    out = tmp_path / "report.json"
    code = _grade(["exercise1", "--submission", str(ROOT / "solutions"), option, value,
                   "--format", "json", "--output", str(out)])
    assert code == 2
    assert f"argument {option}" in capsys.readouterr().err
    assert not out.exists()  # nothing graded, nobody blamed


@pytest.mark.parametrize(("option", "value"), BAD_BATCH_OPTIONS,
                         ids=[f"{o}={v}" for o, v in BAD_BATCH_OPTIONS])
def test_an_out_of_range_batch_option_exits_2_naming_it(tmp_path, capsys, option, value):
    (tmp_path / "class" / "ann").mkdir(parents=True)
    assert _batch(tmp_path / "class", tmp_path / "out", option, value) == 2
    assert f"argument {option}" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert _grade(["batch", str(tmp_path / "class"), "--out", str(tmp_path / "out"),
                   option, value]) == 2


def test_verify_jobs_out_of_range_exits_2_naming_it(capsys):
    assert _grade(["verify", "--jobs", "0"]) == 2
    assert "--jobs" in capsys.readouterr().err


def test_in_range_values_are_accepted():
    from grader import option_types

    assert option_types.timeout_seconds("2") == 2.0
    assert option_types.timeout_seconds("3600") == 3600.0
    assert option_types.jobs("1") == 1 and option_types.seed("0") == 0
    assert option_types.seed(str(2**32 - 1)) == 2**32 - 1
    assert option_types.score("10") == 10.0 and option_types.score("0") == 0.0


# -- student text in the reports ---------------------------------------------------------------


def _assert_inert_markdown(text: str) -> None:
    """No line a Markdown renderer would take for a heading, image, link or HTML of the student."""
    fence = None
    for line in text.splitlines():
        stripped = line.strip()
        if fence is not None:
            if stripped.startswith(fence) and set(stripped) == {"`"} and len(stripped) >= len(fence):
                fence = None
            continue
        match = re.match(r"(`{3,})", stripped)
        if match:
            fence = match.group(1)
            continue
        assert "Score: 20/20" not in line, line  # only ever inside a fenced block
        outside_code = re.sub(r"(`+)(?:(?!\1).)*\1", "", line)  # drop inline code spans
        outside_code = re.sub(r"^!\[(?:\\.|[^\\\]])*\]\(data:image/png;base64,[A-Za-z0-9+/=]*\)$",
                              "", outside_code)  # the grader's own embedded figures
        assert not re.search(r"(?<!\\)!\[|(?<!\\)\[click\]|(?<!\\)<img|(?<!\\)<script",
                             outside_code), line
    assert fence is None, "a fenced block was left open"


def _assert_inert_html(text: str) -> None:
    assert "<img src=http" not in text and "<script>" not in text
    assert not re.search(r"""<img[^>]+src\s*=\s*["']?https?:""", text, re.IGNORECASE)
    assert "&lt;img src=http://evil.example/y.png&gt;" in text


def test_single_reports_escape_student_text(tmp_path):
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "exercise1.py").write_text(HOSTILE, encoding="utf-8")
    md, page = tmp_path / "report.md", tmp_path / "report.html"
    assert _grade(["exercise1", "--submission", str(folder), "--format", "md", "--output", str(md)]) == 0
    assert _grade(["exercise1", "--submission", str(folder), "--format", "html", "--output",
                   str(page)]) == 0
    text = md.read_text(encoding="utf-8")
    assert "Forged_Exception_Name" in text and "Score: 20/20" in text  # shown, but as code
    _assert_inert_markdown(text)
    assert text.startswith("# Grade report — 0 / 20")
    html_text = page.read_text(encoding="utf-8")
    assert "Forged_Exception_Name" in html_text
    _assert_inert_html(html_text)


def test_markdown_writer_escapes_every_field():
    from grader.output.results import CheckResult, ExerciseResult, to_html, to_markdown

    evil = "x\n# Score: 20/20\n![i](http://evil) <img src=http://evil/y.png> ````"
    result = ExerciseResult(
        exercise="exercise1", title="t", submission="a`b`/exercise1.py", duration_s=0.0,
        grader_version="0", notes=[evil, "one line ![i](http://evil) <img src=http://e>"],
        checks=[CheckResult(id="c", name="c", score=0, max_score=1, status="error", message=evil,
                            output=evil)],
        figures=[("![t](http://evil)", "iVBORw0KGgo="), ("bad", "x' onerror='alert(1)")])
    text = to_markdown(result, show_hidden=True)
    _assert_inert_markdown(text)
    assert "onerror" not in text and "data:image/png;base64,iVBORw0KGgo=" in text
    page = to_html(result, show_hidden=True)
    assert "onerror" not in page and "<img src=http" not in page


def test_batch_reports_and_summary_escape_student_text(tmp_path):
    directory, out = tmp_path / "class", tmp_path / "out"
    (directory / "mallory").mkdir(parents=True)
    (directory / "mallory" / "exercise1.py").write_text(HOSTILE, encoding="utf-8")
    assert _batch(directory, out) == 0
    _assert_inert_markdown((out / "results" / "mallory.md").read_text(encoding="utf-8"))
    _assert_inert_html((out / "results" / "mallory.html").read_text(encoding="utf-8"))
    summary = (out / "summary.html").read_text(encoding="utf-8")
    assert "Forged_Exception_Name" in summary
    from grader.output.class_sections import SORT_SCRIPT

    assert "<img src=http" not in summary
    assert summary.count("<script") == 1 and SORT_SCRIPT in summary  # the table's own sorter, no other
    assert not re.search(r"""(?:src|href)\s*=\s*["']?https?:""", summary, re.IGNORECASE)


def test_gradescope_shows_student_text_as_plain_text():
    from grader.export import gradescope_results
    from grader.output.results import CheckResult, ExerciseResult

    result = ExerciseResult(
        exercise="exercise1", title="t", submission="s", duration_s=0.0, grader_version="0",
        notes=[FORGED], checks=[CheckResult(id="c", name="c", score=0, max_score=1,
                                            status="error", message=FORGED)])
    payload = gradescope_results(result)
    assert payload["output_format"] == payload["test_output_format"] == "text"
    assert payload["test_name_format"] == "text"
