"""``grade export canvas|moodle --from OUT --out FILE``: a batch's grades in an LMS import CSV.

Read from OUT's journal (``batch/journal.py``) alone: for each (student,
exercise) the last final record wins (else the last record), as in the
gradebook. Scores are points; the exercises are the catalogue's, in its order,
limited to those the journal holds.

- **Canvas** (Grades > Import): the columns of Canvas's own gradebook export,
  ``Student, ID, SIS User ID, SIS Login ID, Section``, then one column per
  assignment, and a second row ``Points Possible``. Canvas matches a student by
  one of ``ID`` / ``SIS User ID`` / ``SIS Login ID``; the batch id goes into the
  one ``id_field`` names (the others stay empty). An assignment column whose
  name matches no assignment creates a new one.
- **Moodle** (Grades > Import > CSV file): a header row, then one row per
  student: the user field (``ID number``, ``Email address`` or ``Username``),
  then one column per grade item. On import, map from that column to
  ``useridnumber`` / ``useremail`` / ``username``, and each exercise column to
  its grade item.

The files are UTF-8 with CRLF line ends (RFC 4180), rows sorted by student id.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from grader.batch.gradebook import number
from grader.batch.journal import FINAL_STATUSES, JOURNAL_NAME, read_journal
from grader.errors import GraderError

CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_ID_FIELDS = {"sis_user_id": "SIS User ID", "sis_login_id": "SIS Login ID", "id": "ID"}
MOODLE_ID_FIELDS = {"idnumber": "ID number", "email": "Email address", "username": "Username"}
DEFAULT_ID_FIELD = {"canvas": "sis_user_id", "moodle": "idnumber"}


@dataclass(frozen=True)
class Grades:
    """Points per (student, exercise) from a journal. ``exercises``: catalogue order."""

    exercises: list  # catalogue Exercise objects
    students: list[str]  # sorted ids
    points: dict[tuple[str, str], float]  # (student, exercise id) -> points earned


def grades_from_journal(out: Path, catalogue) -> tuple[Grades, list[str]]:
    """The latest grade of every (student, exercise) in ``out``'s journal, and warnings."""
    journal = out / JOURNAL_NAME
    if not out.is_dir():
        raise GraderError(f"--from {out} is not a folder (give the --out folder of `grade batch`).")
    if not journal.is_file():
        raise GraderError(f"--from {out} holds no {JOURNAL_NAME}: give the --out folder of a "
                          "`grade batch` run.")
    records, warnings = read_journal(journal)
    latest: dict[tuple[str, str], dict] = {}
    for record in records:
        student = record.get("student")
        if not isinstance(student, str) or not student:
            continue
        pair = (student, record["exercise"])
        current = latest.get(pair)
        if current is None or record["status"] in FINAL_STATUSES \
                or current["status"] not in FINAL_STATUSES:
            latest[pair] = record
    if not latest:
        raise GraderError(f"the journal {journal} holds no graded submission yet.")
    held = {exercise for _, exercise in latest}
    exercises = [e for e in catalogue if e.id in held]
    unknown = sorted(held - {e.id for e in exercises})
    if unknown:
        warnings.append(f"left out {', '.join(unknown)}: not in this catalogue")
    points: dict[tuple[str, str], float] = {}
    for (student, exercise), record in latest.items():
        score = (record.get("result") or {}).get("score", 0.0)
        points[(student, exercise)] = float(score) if isinstance(score, (int, float)) else 0.0
    students = sorted({student for student, _ in latest})
    return Grades(exercises, students, points), warnings


def _column(exercise) -> str:
    return f"{exercise.id}: {exercise.title}"


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def canvas_csv(grades: Grades, id_field: str = DEFAULT_ID_FIELD["canvas"]) -> str:
    """Canvas's gradebook import CSV (see the module docstring)."""
    column = CANVAS_ID_FIELDS[id_field]
    rows = [[*CANVAS_IDENTITY, *[_column(e) for e in grades.exercises]],
            ["Points Possible", "", "", "", "", *[number(e.points) for e in grades.exercises]]]
    for student in grades.students:
        identity = {name: "" for name in CANVAS_IDENTITY}
        identity["Student"] = student
        identity[column] = student
        rows.append([*identity.values(),
                     *[number(grades.points.get((student, e.id), 0.0)) for e in grades.exercises]])
    return _csv(rows)


def moodle_csv(grades: Grades, id_field: str = DEFAULT_ID_FIELD["moodle"]) -> str:
    """Moodle's grade import CSV (see the module docstring)."""
    rows = [[MOODLE_ID_FIELDS[id_field], *[_column(e) for e in grades.exercises]]]
    for student in grades.students:
        rows.append([student, *[number(grades.points.get((student, e.id), 0.0))
                                for e in grades.exercises]])
    return _csv(rows)


def export_lms(*, target: str, source: Path, out: Path, catalogue,
               id_field: str | None = None) -> tuple[Path, list[str]]:
    """Write ``target``'s ("canvas" or "moodle") import CSV of the batch in ``source`` to
    ``out``; return the path and warnings. A bad ``id_field`` is a GraderError naming it."""
    fields = CANVAS_ID_FIELDS if target == "canvas" else MOODLE_ID_FIELDS
    id_field = id_field or DEFAULT_ID_FIELD[target]
    if id_field not in fields:
        raise GraderError(f"--id-field for {target} must be one of {', '.join(fields)}, "
                          f"not {id_field!r}.")
    grades, warnings = grades_from_journal(source, catalogue)
    text = canvas_csv(grades, id_field) if target == "canvas" else moodle_csv(grades, id_field)
    if out.is_dir():
        raise GraderError(f"--out {out} is a folder; give the CSV file to write.")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8", newline="")
    return out, warnings
