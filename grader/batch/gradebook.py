"""Every batch output derived from the journal alone: gradebook.csv, per-student reports, summary.html.

Sorted, and with no clock but the journal's (a report's grading time is its
record's ``graded_at``), so re-deriving them from the same journal writes the same
bytes, and an interrupted and resumed run writes the same gradebook as an
uninterrupted one. gradebook.csv's format is in docs/instructor-guide.md.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

from grader import __version__
from grader.batch.discover import Entry, handed_in
from grader.batch.journal import FINAL_STATUSES
from grader.batch.pool import zero_outcome

# Submission status in the gradebook, worst first.
_SEVERITY = ("refused", "error", "missing", "graded")
# An exercise's status in the gradebook (the student report's words): the journal's status,
# or for a graded exercise "timeout" / "error" when a check of it timed out / crashed.
# A submission that cannot be imported says why, in the student report's words ("syntax error").
EXERCISE_STATUSES = ("graded", "missing", "error", "timeout", "refused", "syntax error", "import error",
                     "import timeout")
POINTS_POSSIBLE = "Points Possible"  # the id cell of the gradebook's second row (never an id)


@dataclass
class StudentRow:
    """One student's line of the gradebook and the results behind it."""

    id: str
    status: str
    message: str
    total: float
    max_total: float
    exercises: list  # of ExerciseResult, catalogue order
    statuses: dict[str, str]  # exercise id -> journal status
    messages: dict[str, str]  # exercise id -> journal message
    content_hash: str = ""  # sha256 of the submission's files (discover.content_hash)
    graded_at: str = ""  # UTC ISO 8601 time of its latest journal record ("" if none says)
    duration_s: float = 0.0  # seconds spent grading it, all exercises

    @property
    def percent(self) -> float:
        """The total as a percentage of the maximum (0 to 100)."""
        return 100 * self.total / self.max_total if self.max_total else 0.0

    def exercise_status(self, index: int) -> str:
        """The status word of exercise ``index``: one of ``EXERCISE_STATUSES``."""
        result = self.exercises[index]
        status = self.statuses.get(result.exercise, "error")
        if status != "graded":
            return status
        if result.cause:  # the one cause, as the student report names it
            return result.cause
        kinds = {c.status for c in result.checks}
        return "timeout" if "timeout" in kinds else "error" if "error" in kinds else "graded"


def number(value: float) -> str:
    """Fixed formatting for scores: at most 4 decimals, no trailing zeros."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _exercise_result(record: dict | None, exercise, student: str):
    from grader.output.results import CheckResult, ExerciseResult

    if record is None:
        record = zero_outcome(exercise, "error", "not graded yet (an interrupted run?); "
                                                  "graded on the next run")
        record["status"] = "error"
    data = record.get("result")
    if data is None:
        data = zero_outcome(exercise, record["status"], record.get("message", "")).get(
            "result", {"checks": []})
    checks = [  # "id" and "hint" are journalled beside DESIGN.md's keys (older journals: none)
        CheckResult(id=str(c.get("id") or c.get("name", "")), name=str(c.get("name", "")),
                    score=float(c.get("score", 0.0)), max_score=float(c.get("max_score", 0.0)),
                    status=str(c.get("status", "error")), hidden=bool(c.get("hidden", False)),
                    message=str(c.get("message", "")),
                    hint=str(c["hint"]) if c.get("hint") else None)
        for c in data.get("checks", [])
    ]
    notes = [str(n) for n in record.get("notes", [])]
    if record["status"] == "refused" and record.get("message") and not notes:
        notes = [record["message"]]
    result = ExerciseResult(
        exercise=exercise.id, title=str(record.get("title") or exercise.title), checks=checks,
        submission=f"{student}/{handed_in(exercise)}",
        duration_s=float(data.get("duration_s", 0.0)),
        grader_version=str(data.get("grader_version", __version__)), notes=notes,
        cause=str(data.get("cause", "")), cause_message=str(data.get("message", "") if data.get("cause") else ""))
    figures = record.get("figures")
    if figures and hasattr(result, "figures"):
        result.figures = [(str(title), str(png)) for title, png in figures]
    return record, result


def collect(*, entries: list[Entry], exercises: list, keys: dict,
            records: list[dict]) -> list[StudentRow]:
    """Each student's results, looked up by key in the journal records."""
    latest: dict[str, dict] = {}
    for record in records:  # the last final record of a key wins; else its last record
        current = latest.get(record["key"])
        if current is None or record["status"] in FINAL_STATUSES \
                or current["status"] not in FINAL_STATUSES:
            latest[record["key"]] = record
    rows = []
    for entry in sorted(entries, key=lambda e: e.id):
        results, statuses, messages, times = [], {}, {}, []
        for exercise in exercises:
            record, result = _exercise_result(latest.get(keys[(entry.id, exercise.id)]),
                                              exercise, entry.id)
            results.append(result)
            statuses[exercise.id] = record["status"]
            messages[exercise.id] = str(record.get("message", ""))
            if isinstance(record.get("graded_at"), str):
                times.append(record["graded_at"])
        status = min(statuses.values(), key=_SEVERITY.index) if statuses else "graded"
        message = next((messages[e] for e, s in statuses.items() if s == status and messages[e]),
                       "")
        total = round(sum(r.score for r in results), 6)
        max_total = sum(e.points for e in exercises)
        rows.append(StudentRow(entry.id, status, message, total, max_total, results, statuses,
                               messages, content_hash=entry.content_hash,
                               graded_at=max(times, default=""),
                               duration_s=round(sum(r.duration_s for r in results), 3)))
    return rows


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, mode 0600 (OUT is private)."""
    temporary = path.with_name(f".{path.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()  # left by a kill -9 mid-write
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(temporary, flags, 0o600)
    with open(fd, "w", encoding="utf-8", newline="") as handle:
        os.fchmod(fd, 0o600)  # whatever the umask
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def gradebook_csv(rows: list[StudentRow], exercises: list) -> str:
    """gradebook.csv (docs/instructor-guide.md): a header, a points-possible row, one row
    per student sorted by id: id, then per exercise its points and ``<exercise>_status``
    (one of ``EXERCISE_STATUSES``), then total (points), percent (0-100, 2 decimals) and the
    submission's worst status."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", *[c for e in exercises for c in (e.id, f"{e.id}_status")],
                     "total", "percent", "status"])
    possible = sum(e.points for e in exercises)
    writer.writerow([POINTS_POSSIBLE, *[c for e in exercises for c in (number(e.points), "")],
                     number(possible), "100" if possible else "0", ""])
    for row in rows:
        cells = [c for index, result in enumerate(row.exercises)
                 for c in (number(result.score), row.exercise_status(index))]
        writer.writerow([row.id, *cells, number(row.total), number(round(row.percent, 2)),
                         row.status])
    return buffer.getvalue()


def _stubs(exercises: list) -> dict[str, str]:
    """The handed-out stubs (``exercises/`` beside the package), where this checkout has them."""
    folder = Path(__file__).resolve().parents[2] / "exercises"
    stubs = {}
    for exercise in exercises:
        path = folder / exercise.file if exercise.file else None
        if path is not None and path.is_file():
            stubs[exercise.id] = path.read_text(encoding="utf-8", errors="replace")
    return stubs


def derive_outputs(*, out: Path, entries: list[Entry], exercises: list, keys: dict,
                   records: list[dict],
                   sources: dict[tuple[str, str], str] | None = None) -> list[StudentRow]:
    """Write gradebook.csv, results/<id>.{json,md,html} and summary.html from ``records``.

    ``sources``: (student, exercise) -> source code, for summary.html's similar submissions
    (the same submissions give the same sources, so a resumed run writes the same page)."""
    from grader.batch.similarity import similar_groups
    from grader.output import class_summary as class_report
    from grader.output import results

    rows = collect(entries=entries, exercises=exercises, keys=keys, records=records)
    folder = out / "results"
    folder.mkdir(mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    for row in rows:
        run = results.RunResult(row.exercises, student=row.id,
                                submission_hash=row.content_hash, graded_at=row.graded_at)
        _write_atomic(folder / f"{row.id}.json", results.to_json(run) + "\n")
        _write_atomic(folder / f"{row.id}.md", results.to_markdown(run))
        _write_atomic(folder / f"{row.id}.html", results.to_html(run))
    _write_atomic(out / "gradebook.csv", gradebook_csv(rows, exercises))
    groups = similar_groups(sources or {}, stubs=_stubs(exercises))
    _write_atomic(out / "summary.html", class_report.render_summary(rows, exercises, groups))
    return rows
