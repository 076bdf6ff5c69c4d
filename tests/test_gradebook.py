"""gradebook.csv's columns and the per-student reports' header (issue 14), on a small class.

The class (``small_class.py``): ann (solutions), ben (stubs), cat (a known mistake, no
exercise 2), dan (cat's code renamed, as a notebook), eve (a broken zip).
"""

from __future__ import annotations

import csv
import hashlib
import html.parser
import io
import json

import pytest
from small_class import EXERCISES, STUDENTS, graded_class

from grader.batch.discover import content_hash
from grader.batch.gradebook import EXERCISE_STATUSES, POINTS_POSSIBLE, StudentRow
from grader.batch.journal import read_journal
from grader.output.results import CheckResult, ExerciseResult

pytestmark = pytest.mark.xdist_group("small_class")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return graded_class(tmp_path_factory)


def _book(out):
    rows = list(csv.DictReader(io.StringIO((out / "gradebook.csv").read_text(encoding="utf-8"))))
    return rows[0], {row["id"]: row for row in rows[1:]}


def test_the_gradebook_has_points_possible_statuses_total_and_percent(graded):
    out, summary = graded
    assert (summary.submissions, summary.refused) == (5, 1)
    with (out / "gradebook.csv").open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    assert header == ["id", "exercise1", "exercise1_status", "exercise2", "exercise2_status",
                      "total", "percent", "status"]
    possible, book = _book(out)
    assert possible["id"] == POINTS_POSSIBLE
    assert (possible["exercise1"], possible["exercise2"], possible["total"],
            possible["percent"]) == ("20", "20", "40", "100")
    assert list(book) == sorted(STUDENTS)
    statuses = {who: (row["exercise1_status"], row["exercise2_status"], row["status"])
                for who, row in book.items()}
    assert statuses == {"ann": ("graded", "graded", "graded"),
                        "ben": ("graded", "graded", "graded"),  # stubs: a graded zero
                        "cat": ("graded", "missing", "missing"),
                        "dan": ("graded", "graded", "graded"),
                        "eve": ("refused", "refused", "refused")}
    assert all(s in EXERCISE_STATUSES for row in statuses.values() for s in row[:2])
    for row in book.values():
        scores = [float(row[e]) for e in EXERCISES]
        assert float(row["total"]) == pytest.approx(sum(scores))
        assert float(row["percent"]) == pytest.approx(100 * sum(scores) / 40, abs=0.005)
    assert (book["ann"]["total"], book["ann"]["percent"]) == ("40", "100")
    assert book["ben"]["total"] == "0" and book["cat"]["exercise2"] == "0"
    assert 0 < float(book["cat"]["exercise1"]) < 20
    assert book["cat"]["exercise1"] == book["dan"]["exercise1"]  # the same code, renamed


def _row(statuses: list[str]) -> StudentRow:
    checks = [CheckResult(id=f"c{i}", name=f"c{i}", score=0.0, max_score=1.0, status=s)
              for i, s in enumerate(statuses)]
    result = ExerciseResult("exercise1", "t", checks, "s/exercise1.py", 0.0, "v")
    return StudentRow("s", "graded", "", 0.0, 1.0, [result], {"exercise1": "graded"}, {})


def test_a_graded_exercise_whose_code_timed_out_or_crashed_says_so():
    assert _row(["passed", "failed"]).exercise_status(0) == "graded"
    assert _row(["passed", "timeout", "error"]).exercise_status(0) == "timeout"
    assert _row(["passed", "error"]).exercise_status(0) == "error"


class _Text(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.codes: list[str] = []
        self._in_code = False

    def handle_starttag(self, tag, attrs):
        self._in_code = tag == "code"

    def handle_endtag(self, tag):
        self._in_code = False

    def handle_data(self, data):
        if self._in_code:
            self.codes.append(data)


def test_every_report_names_the_student_the_submission_and_the_grading_time(graded):
    out, _ = graded
    records, _ = read_journal(out / "journal.jsonl")
    for who in STUDENTS:
        data = json.loads((out / "results" / f"{who}.json").read_text(encoding="utf-8"))
        assert {"score", "max_score", "exercises"} <= set(data)  # DESIGN.md's keys stay
        assert data["student"] == who
        assert data["graded_at"] == max(r["graded_at"] for r in records if r["student"] == who)
        assert len(data["submission_hash"]) == (72 if who == "eve" else 64)
        markdown = (out / "results" / f"{who}.md").read_text(encoding="utf-8")
        header = markdown.split("## ", 1)[0]
        for value in (who, data["submission_hash"], data["graded_at"]):
            assert f"`{value}`" in header, (who, value)
        page = _Text()
        page.feed((out / "results" / f"{who}.html").read_text(encoding="utf-8"))
        assert page.codes[:3] == [who, data["submission_hash"], data["graded_at"]]
    # The hash is the submission's content hash: ann's folder, as handed in.
    ann = json.loads((out / "results" / "ann.json").read_text(encoding="utf-8"))
    assert ann["submission_hash"] == content_hash(out.parent / "class" / "ann")
    assert hashlib.sha256(b"").hexdigest() != ann["submission_hash"]


def test_a_resumed_run_writes_the_same_bytes(graded):
    from small_class import ROOT

    from grader.batch.run import grade_batch
    from grader.catalogue import load_catalogue

    out, _ = graded
    outputs = sorted(p for p in out.rglob("*") if p.is_file() and p.suffix != ".lock")
    before = {p: p.read_bytes() for p in outputs}
    again = grade_batch(directory=out.parent / "class", out=out, jobs=2,
                        exercises=list(EXERCISES), progress=False, timeout_s=5,
                        catalogue=load_catalogue(ROOT / "assignments.toml"))
    assert (again.graded_now, again.from_journal) == (0, 10)
    assert {p: p.read_bytes() for p in outputs} == before
