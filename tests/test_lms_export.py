"""``grade export canvas|moodle --from OUT --out FILE`` (issue 14), from a small class's journal.

Canvas's gradebook import: ``Student, ID, SIS User ID, SIS Login ID, Section``, one
column per assignment, a ``Points Possible`` second row. Moodle's CSV grade import: a
user field (``ID number`` by default) and one column per grade item.
"""

from __future__ import annotations

import csv
import io

import pytest
from small_class import STUDENTS, graded_class

from grader.cli import main

pytestmark = pytest.mark.xdist_group("small_class")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return graded_class(tmp_path_factory)


def _gradebook(out) -> dict[str, dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO((out / "gradebook.csv").read_text(encoding="utf-8"))))
    return {row["id"]: row for row in rows[1:]}


def _read(path) -> list[list[str]]:
    data = path.read_bytes()
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")  # RFC 4180 line ends
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def test_canvas_file(graded, tmp_path, capsys):
    out, _ = graded
    target = tmp_path / "canvas.csv"
    assert main(["export", "canvas", "--from", str(out), "--out", str(target)]) == 0
    assert str(target) in capsys.readouterr().out
    rows = _read(target)
    header, possible, students = rows[0], rows[1], rows[2:]
    assert header[:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert header[5:] == ["exercise1: Convolution arithmetic", header[6]]
    assert header[6].startswith("exercise2: ")
    assert possible == ["Points Possible", "", "", "", "", "20", "20"]
    book = _gradebook(out)
    assert [r[0] for r in students] == sorted(STUDENTS)
    for row in students:
        student, canvas_id, sis_user, sis_login, section, *scores = row
        assert (canvas_id, sis_user, sis_login, section) == ("", student, "", "")
        assert scores == [book[student]["exercise1"], book[student]["exercise2"]]

    login = tmp_path / "login.csv"
    assert main(["export", "canvas", "--from", str(out), "--out", str(login),
                 "--id-field", "sis_login_id"]) == 0
    assert [(r[2], r[3]) for r in _read(login)[2:]] == [("", s) for s in sorted(STUDENTS)]


def test_moodle_file(graded, tmp_path):
    out, _ = graded
    target = tmp_path / "moodle.csv"
    assert main(["export", "moodle", "--from", str(out), "--out", str(target)]) == 0
    rows = _read(target)
    assert rows[0][0] == "ID number" and len(rows[0]) == 3
    assert rows[0][1] == "exercise1: Convolution arithmetic"
    book = _gradebook(out)
    assert {r[0]: r[1:] for r in rows[1:]} == {
        s: [book[s]["exercise1"], book[s]["exercise2"]] for s in STUDENTS}
    assert {"ann": ["20", "20"], "eve": ["0", "0"]}.items() <= {r[0]: r[1:] for r in rows[1:]}.items()
    email = tmp_path / "email.csv"
    assert main(["export", "moodle", "--from", str(out), "--out", str(email),
                 "--id-field", "email"]) == 0
    assert _read(email)[0][0] == "Email address"


@pytest.mark.parametrize("argv, says", [
    (["export", "canvas", "--out", "x.csv"], "--from"),
    (["export", "moodle", "exercise1", "--from", ".", "--out", "x.csv"], "--from"),
    (["export", "otter", "--from", ".", "--out", "x"], "EXERCISE"),
])
def test_usage_errors_exit_2(argv, says, capsys):
    assert main(argv) == 2
    assert says in capsys.readouterr().err


def test_bad_sources_exit_2_naming_the_option(graded, tmp_path, capsys):
    out, _ = graded
    assert main(["export", "canvas", "--from", str(tmp_path), "--out",
                 str(tmp_path / "c.csv")]) == 2
    assert "--from" in capsys.readouterr().err
    assert main(["export", "moodle", "--from", str(out), "--out", str(tmp_path / "m.csv"),
                 "--id-field", "sis_user_id"]) == 2
    assert "--id-field" in capsys.readouterr().err
    assert not (tmp_path / "c.csv").exists() and not (tmp_path / "m.csv").exists()
