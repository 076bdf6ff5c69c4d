"""`grade batch`: a generated class, kill -9 and resume, the journal, and safe archives.

The class: 30 submissions for exercises 1 and 2 (solutions, stubs, mixtures, a
partly wrong one, three that crash or loop, one malformed zip, one without
exercise2.py; some as zips, one wrapped in a folder, one in ``exercises/``).
It is graded three ways: an uninterrupted ``--jobs 2`` run, a run killed with
SIGKILL mid-way and resumed, and every distinct submission graded alone.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from grader.batch.discover import discover, sanitize_id
from grader.batch.gradebook import POINTS_POSSIBLE, number
from grader.batch.journal import Journal, encode, read_journal, record_key
from grader.errors import SubmissionError
from grader.intake.archive import copy_folder, extract_zip
from grader.options import GradingOptions
from grader.output.results import HIDDEN_MESSAGE

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
STUBS = ROOT / "exercises"
EXERCISES = ("exercise1", "exercise2")
TIMEOUT = "2"  # seconds per call: the looping submission costs a few of these
BATCH = [sys.executable, "-m", "grader.batch"]


# -- the generated class ---------------------------------------------------------------------


def _source(folder: Path, exercise: str, comment: str = "") -> str:
    text = (folder / f"{exercise}.py").read_text(encoding="utf-8")
    return f"# {comment}\n{text}" if comment else text


def _class_files() -> dict[str, tuple[dict[str, str], str]]:
    """{id: ({file name: source}, how it is handed in)}; how: folder|nested|zip|wrapped-zip."""
    sol = {f"{e}.py": _source(SOLUTIONS, e) for e in EXERCISES}
    stub = {f"{e}.py": _source(STUBS, e) for e in EXERCISES}
    only1 = {"exercise1.py": sol["exercise1.py"], "exercise2.py": stub["exercise2.py"]}
    only2 = {"exercise1.py": stub["exercise1.py"], "exercise2.py": sol["exercise2.py"]}

    def unique(files: dict[str, str], who: str) -> dict[str, str]:
        return {name: f"# submitted by {who}\n{text}" for name, text in files.items()}

    looping = sol["exercise1.py"].replace("def receptive_field(", "def _receptive_field(") + (
        "\n\ndef receptive_field(*args, **kwargs):\n    while True:\n        pass\n")
    wrong = sol["exercise1.py"].replace("def same_padding(", "def _same_padding(") + (
        "\n\ndef same_padding(*args, **kwargs):\n    return 1\n")
    people: dict[str, tuple[dict[str, str], str]] = {}
    for n in (1, 2, 3):
        people[f"s{n:02d}"] = (sol, "folder")
    people["s04"] = (unique(sol, "s04"), "folder")
    people["s05"] = (unique(sol, "s05"), "wrapped-zip")
    people["s06"] = (unique(sol, "s06"), "nested-zip")
    for n in range(7, 15):
        people[f"s{n:02d}"] = (stub, "folder")
    people["s13"] = (stub, "zip")
    people["s14"] = (stub, "nested")
    people["s15"] = (only1, "folder")
    people["s16"] = (only1, "folder")
    for n in (17, 18, 19):
        people[f"s{n:02d}"] = (unique(only1, f"s{n}"), "folder")
    for n in (20, 21, 22, 23):
        people[f"s{n:02d}"] = (only2, "zip" if n == 23 else "folder")
    people["s24"] = ({"exercise1.py": "import os\nos._exit(1)\n" + sol["exercise1.py"],
                      "exercise2.py": sol["exercise2.py"]}, "folder")
    people["s25"] = ({"exercise1.py": looping, "exercise2.py": stub["exercise2.py"]}, "folder")
    people["s26"] = ({"exercise1.py": sol["exercise1.py"],
                      "exercise2.py": "raise MemoryError('at import')\n"}, "zip")
    people["s27"] = (sol, "malformed-zip")
    people["s28"] = ({"exercise1.py": "# no exercise 2\n" + sol["exercise1.py"]}, "folder")
    people["s29"] = ({"exercise1.py": wrong, "exercise2.py": sol["exercise2.py"]}, "folder")
    people["student 30 (late!)"] = (sol, "folder")
    return people


def _write_zip(path: Path, files: dict[str, str], prefix: str = "") -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(prefix + name, text)


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    """(DIR, {id: plain folder with the student's files}) for the generated class."""
    base = tmp_path_factory.mktemp("class")
    directory, plain = base / "submissions", base / "plain"
    directory.mkdir()
    folders = {}
    for who, (files, how) in _class_files().items():
        folder = plain / sanitize_id(who)
        folder.mkdir(parents=True)
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
        folders[sanitize_id(who)] = folder
        if how in ("folder", "nested"):
            target = directory / who / ("exercises" if how == "nested" else "")
            target.mkdir(parents=True)
            for name, text in files.items():
                (target / name).write_text(text, encoding="utf-8")
        elif how == "zip":
            _write_zip(directory / f"{who}.zip", files)
        elif how == "wrapped-zip":
            _write_zip(directory / f"{who}.zip", files, prefix=f"{who}-homework/")
        elif how == "nested-zip":
            _write_zip(directory / f"{who}.zip", files, prefix="exercises/")
        elif how == "malformed-zip":
            _write_zip(directory / f"{who}.zip", files)
            data = (directory / f"{who}.zip").read_bytes()
            (directory / f"{who}.zip").write_bytes(data[: len(data) // 2])
    assert len(folders) == 30
    return directory, folders


def _run_batch(directory: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*BATCH, str(directory), "--out", str(out), "--jobs", "2",
                           "--exercises", ",".join(EXERCISES), "--timeout", TIMEOUT,
                           "--no-progress"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def reference(klass, tmp_path_factory):
    """OUT of an uninterrupted run."""
    out = tmp_path_factory.mktemp("reference")
    completed = _run_batch(klass[0], out)
    assert completed.returncode == 0, completed.stderr
    return out, completed


def _gradebook(out: Path) -> dict[str, dict[str, str]]:
    """The students' rows of gradebook.csv by id (the points-possible row left out)."""
    text = (out / "gradebook.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["id"] == POINTS_POSSIBLE
    return {row["id"]: row for row in rows[1:]}


def _per_check(out: Path, student: str) -> dict[str, list[tuple[str, float, str]]]:
    data = json.loads((out / "results" / f"{student}.json").read_text(encoding="utf-8"))
    return {e["exercise"]: [(c["name"], c["score"], c["status"]) for c in e["checks"]]
            for e in data["exercises"]}


# -- the whole class -------------------------------------------------------------------------


def test_the_class_grades_with_its_statuses(reference, klass):
    out, completed = reference
    assert "30 submissions: 29 graded (1 with a missing file), 0 failed, 1 refused" \
        in completed.stdout
    book = _gradebook(out)
    assert list(book) == sorted(book) and len(book) == 30
    assert (out / "gradebook.csv").read_text(encoding="utf-8").splitlines()[0] == \
        "id,exercise1,exercise1_status,exercise2,exercise2_status,total,percent,status"
    for who in ("s01", "s04", "s05", "s06", "student_30_late"):
        assert book[who]["total"] == "40", who
    for who in ("s07", "s13", "s14"):
        assert book[who]["total"] == "0", who
    for who in ("s15", "s17", "s20", "s23"):
        assert book[who]["total"] == "20", who
    assert book["s27"]["status"] == "refused" and book["s27"]["total"] == "0"
    assert book["s25"]["exercise1_status"] == "timeout"  # the looping receptive_field
    assert book["s24"]["exercise1_status"] == "import error"  # os._exit at import
    assert book["s28"]["exercise2_status"] == "missing"
    assert book["s28"]["status"] == "missing" and book["s28"]["exercise1"] == "20"
    assert book["s24"]["exercise1"] == "0" and book["s24"]["exercise2"] == "20"
    assert book["s26"]["exercise1"] == "20" and book["s26"]["exercise2"] == "0"
    assert 0 < float(book["s25"]["exercise1"]) < 20
    assert 0 < float(book["s29"]["exercise1"]) < 20
    assert all(row["status"] == "graded" for who, row in book.items()
               if who not in ("s27", "s28"))

    looping = _per_check(out, "s25")["exercise1"]
    assert any(status == "timeout" for _, _, status in looping)
    refused = json.loads((out / "results" / "s27.json").read_text(encoding="utf-8"))
    assert "not a valid zip archive" in refused["exercises"][0]["checks"][0]["message"]
    for who in book:
        for suffix in ("json", "md", "html"):
            assert (out / "results" / f"{who}.{suffix}").is_file()
        data = json.loads((out / "results" / f"{who}.json").read_text(encoding="utf-8"))
        assert number(data["score"]) == book[who]["total"]
        assert set(data) == {"score", "max_score", "exercises", "student", "submission_hash",
                             "graded_at"}  # DESIGN.md's keys, and the report's header
        assert data["student"] == who

    # Hidden checks: the journal keeps the message, the student's reports withhold it.
    crashed = json.loads((out / "results" / "s24.json").read_text(encoding="utf-8"))
    hidden = [c for c in crashed["exercises"][0]["checks"] if c["hidden"]]
    assert hidden and all(c["message"] == HIDDEN_MESSAGE for c in hidden)
    assert HIDDEN_MESSAGE not in (out / "journal.jsonl").read_text(encoding="utf-8")

    summary = (out / "summary.html").read_text(encoding="utf-8")
    assert summary.count("data:image/png;base64,") == 3
    assert "http://" not in summary and "https://" not in summary
    assert summary.count("<script") == 1 and "<script src" not in summary  # the table's sorting
    assert "s27" in summary and "refused" in summary and "s25" in summary


def test_identical_submissions_are_graded_once(reference):
    out, _ = reference
    records, warnings = read_journal(out / "journal.jsonl")
    assert warnings == []
    assert len(records) == 60
    pairs = [(r["student"], r["exercise"]) for r in records]
    assert len(set(pairs)) == 60
    by_key: dict[str, set] = {}
    for r in records:
        by_key.setdefault(r["key"], set()).add(json.dumps(r.get("result"), sort_keys=True))
    assert all(len(results) == 1 for results in by_key.values())
    assert len(by_key) < 40  # s01-s03, the stubs, ... share keys


def _descendants(pid: int) -> set[int]:
    parents: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                text = Path(f"/proc/{name}/stat").read_bytes()
                parent = int(text[text.rindex(b")") + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            parents.setdefault(parent, []).append(int(name))
    found, todo = set(), [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        text = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return text[text.rindex(b")") + 2:].split()[0] != b"Z"


def test_kill_9_then_resume_gives_the_same_gradebook(klass, reference, tmp_path):
    directory, _ = klass
    out = tmp_path / "out"
    process = subprocess.Popen([*BATCH, str(directory), "--out", str(out), "--jobs", "2",
                                "--exercises", ",".join(EXERCISES), "--timeout", TIMEOUT,
                                "--no-progress"], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    journal = out / "journal.jsonl"
    deadline = time.monotonic() + 120
    graded = 0
    helpers: set[int] = set()
    while time.monotonic() < deadline and process.poll() is None:
        helpers |= _descendants(process.pid)
        if journal.exists():
            graded = journal.read_bytes().count(b'"status":"graded"')
            if graded >= 6:
                break
        time.sleep(0.05)
    assert process.poll() is None, "the batch ended before it could be killed"
    helpers |= _descendants(process.pid)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    killed_at = len(read_journal(journal)[0])
    assert 6 <= graded and killed_at < 60

    # The workers and their sandboxes do not outlive the batch.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(_alive(pid) for pid in helpers):
        time.sleep(0.1)
    assert not [pid for pid in helpers if _alive(pid)]

    # A write cut short by the kill: a truncated last line.
    with journal.open("ab") as handle:
        handle.write(b'{"key":"abc","student":"s0')
    resumed = _run_batch(directory, out)
    assert resumed.returncode == 0, resumed.stderr
    assert "truncated" in resumed.stderr
    assert (out / "gradebook.csv").read_bytes() == (reference[0] / "gradebook.csv").read_bytes()

    records, warnings = read_journal(journal)
    assert warnings == []  # the truncated line was cut off before appending
    pairs = [(r["student"], r["exercise"]) for r in records]
    assert len(pairs) == len(set(pairs)) == 60  # nothing recorded twice
    assert len(records) - killed_at == int(resumed.stdout.split(" exercises graded now")[0]
                                           .rsplit("(", 1)[1])
    for student in _gradebook(out):
        assert _per_check(out, student) == _per_check(reference[0], student), student
    # Reports hold no timings: byte-identical too, but for a timed-out check's message, which
    # may say which deadline struck first (that depends on the machine's load), and for the
    # grading time in the header (when each run graded it; the outputs' own rerun is below).
    steady = [s for s in _gradebook(out)
              if all(status != "timeout" for checks in _per_check(out, s).values()
                     for _, _, status in checks)]
    assert len(steady) == 29
    for name in [f"results/{s}.{x}" for s in steady for x in ("md", "html")]:
        ours, theirs = (_without_time((out / name).read_text()),
                        _without_time((reference[0] / name).read_text()))
        assert ours == theirs, name + "\n" + "\n".join(
            difflib.unified_diff(theirs.splitlines(), ours.splitlines(), lineterm=""))

    # Outputs are a function of the journal: running again changes no byte of them.
    outputs = sorted(p for p in out.rglob("*") if p.is_file() and p.suffix != ".lock")
    before = {p: p.read_bytes() for p in outputs}
    again = _run_batch(directory, out)
    assert again.returncode == 0 and "0 exercises graded now, 60 from the journal" in again.stdout
    assert {p: p.read_bytes() for p in outputs} == before


def _without_time(report: str) -> str:
    return re.sub(r"Graded at \(UTC\): <?[^\n]*?\d{4}-\d\d-\d\dT[\d:]+Z", "Graded at", report)


def test_per_student_results_equal_grading_alone(klass, reference, catalogue):
    from grader.runner import grade_exercise, missing_submission_result

    out, _ = reference
    _, folders = klass
    alone: dict[str, dict] = {}
    for student, folder in sorted(folders.items()):
        if student == "s27":  # the malformed zip: nothing to grade alone
            continue
        identity = hashlib.sha256(b"".join(
            p.name.encode() + b"\0" + p.read_bytes() for p in sorted(folder.iterdir()))).digest()
        if identity not in alone:
            alone[identity] = {}
            for exercise_id in EXERCISES:
                exercise = catalogue.get(exercise_id)
                if (folder / exercise.file).is_file():
                    result = grade_exercise(exercise=exercise, submission=folder,
                                            options=GradingOptions(timeout_s=float(TIMEOUT)))
                else:
                    result = missing_submission_result(exercise, folder, "missing")
                alone[identity][exercise_id] = [(c.name, round(c.score, 6), c.status)
                                                for c in result.checks]
        assert _per_check(out, student) == alone[identity], student


# -- the journal -----------------------------------------------------------------------------


def _record(n: int) -> dict:
    return {"key": record_key(f"hash{n}", "1.0", "exercise1"), "student": f"s{n}",
            "exercise": "exercise1", "status": "graded", "result": {"score": float(n)}}


def test_journal_ignores_a_truncated_last_line_with_a_warning(tmp_path):
    path = tmp_path / "journal.jsonl"
    with Journal(path) as journal:
        for n in range(3):
            journal.append(_record(n))
    line = encode(_record(3))
    with path.open("ab") as handle:
        handle.write(line[: len(line) // 2])
    records, warnings = read_journal(path)
    assert [r["student"] for r in records] == ["s0", "s1", "s2"]
    assert len(warnings) == 1 and "last line (line 4) is truncated" in warnings[0]

    with Journal(path) as journal:  # opening for append cuts the torn tail off
        assert journal.warnings == warnings
        journal.append(_record(4))
    records, warnings = read_journal(path)
    assert [r["student"] for r in records] == ["s0", "s1", "s2", "s4"] and warnings == []
    assert path.read_bytes().endswith(b"\n")


def test_journal_skips_a_corrupt_line_elsewhere_with_a_warning(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.write_bytes(encode(_record(0)) + b"{not json\n" + b'{"key": 1}\n' + encode(_record(1)))
    records, warnings = read_journal(path)
    assert [r["student"] for r in records] == ["s0", "s1"]
    assert warnings == ["journal.jsonl: line 2 is corrupt; skipped it",
                        "journal.jsonl: line 3 is corrupt; skipped it"]


def test_journal_lines_are_deterministic_and_keys_depend_on_every_part():
    record = _record(7)
    assert encode(record) == encode(dict(reversed(list(record.items()))))
    assert encode(record).count(b"\n") == 1 and encode(record).endswith(b"\n")
    base = record_key("h", "1.0", "exercise1")
    assert len({base, record_key("h2", "1.0", "exercise1"), record_key("h", "1.1", "exercise1"),
                record_key("h", "1.0", "exercise2"),
                record_key("h", "1.0", "exercise1", {"seed": 3})}) == 5
    assert record_key("h", "1.0", "exercise1") == base


# -- safe extraction -------------------------------------------------------------------------


def _zip_with(path: Path, members: list[tuple[zipfile.ZipInfo | str, bytes]],
              compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for info, data in members:
            archive.writestr(info, data)
    return path


def _refusal(archive: Path, tmp_path: Path, **caps) -> str:
    with pytest.raises(SubmissionError) as raised:
        extract_zip(archive, tmp_path / "extracted", **caps)
    message = str(raised.value)
    assert "\n" not in message and message.startswith(archive.name)
    return message


def test_zip_slip_and_absolute_paths_are_refused(tmp_path):
    slip = _zip_with(tmp_path / "slip.zip", [("ok.py", b"x = 1\n"), ("../evil.py", b"x")])
    assert "'../evil.py' has a '..' component (zip slip)" in _refusal(slip, tmp_path)
    inner = _zip_with(tmp_path / "inner.zip", [("a/../../evil.py", b"x")])
    assert "'..' component" in _refusal(inner, tmp_path)
    windows = _zip_with(tmp_path / "win.zip", [("a\\..\\..\\evil.py", b"x")])
    assert "'..' component" in _refusal(windows, tmp_path)
    absolute = _zip_with(tmp_path / "abs.zip", [("/etc/evil.py", b"x")])
    assert "'/etc/evil.py' has an absolute path" in _refusal(absolute, tmp_path)
    drive = _zip_with(tmp_path / "drive.zip", [("C:/evil.py", b"x")])
    assert "absolute path" in _refusal(drive, tmp_path)
    assert not (tmp_path / "evil.py").exists() and not (tmp_path / "extracted").exists()


def test_link_and_special_members_are_refused(tmp_path):
    link = zipfile.ZipInfo("exercise1.py")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = _zip_with(tmp_path / "link.zip", [(link, b"../../solutions/exercise1.py")])
    assert "'exercise1.py' is a symbolic link" in _refusal(archive, tmp_path)
    device = zipfile.ZipInfo("dev")
    device.create_system = 3
    device.external_attr = (stat.S_IFCHR | 0o644) << 16
    archive = _zip_with(tmp_path / "dev.zip", [(device, b"")])
    assert "is a character device" in _refusal(archive, tmp_path)
    # A "hard link" in a zip is two members for one path: refused as a duplicate.
    twice = _zip_with(tmp_path / "twice.zip", [("a.py", b"1"), ("./a.py", b"2")])
    assert "'./a.py' appears twice" in _refusal(twice, tmp_path)
    clash = _zip_with(tmp_path / "clash.zip", [("a", b"1"), ("a/b.py", b"2")])
    assert "both a file and a folder" in _refusal(clash, tmp_path)


def test_names_with_nul_are_refused(tmp_path):
    archive = _zip_with(tmp_path / "nul.zip", [("abcXdef.py", b"x = 1\n")])
    archive.write_bytes(archive.read_bytes().replace(b"abcXdef.py", b"abc\x00def.py"))
    assert "has a NUL byte in its name" in _refusal(archive, tmp_path)


def test_zip_bombs_and_caps_are_refused(tmp_path):
    bomb = _zip_with(tmp_path / "bomb.zip", [("zeros.npy", bytes(20 * 1024 * 1024))])
    message = _refusal(bomb, tmp_path)
    assert "compression ratio of" in message and "zip bomb" in message
    big = _zip_with(tmp_path / "big.zip", [(f"f{i}.bin", os.urandom(40_000)) for i in range(4)])
    assert "unpacks to more than 0.0954 MB" in _refusal(big, tmp_path, max_total_bytes=100_000)
    many = _zip_with(tmp_path / "many.zip", [(f"f{i}.py", b"") for i in range(2_001)],
                     zipfile.ZIP_STORED)
    assert "has 2001 members; at most 2000 are accepted" in _refusal(many, tmp_path)
    garbage = tmp_path / "garbage.zip"
    garbage.write_bytes(b"PK\x03\x04 not really")
    assert "not a valid zip archive" in _refusal(garbage, tmp_path)


def test_a_header_that_lies_about_the_size_is_refused(tmp_path):
    archive = _zip_with(tmp_path / "liar.zip", [("data.txt", b"a" * 5000)], zipfile.ZIP_STORED)
    with zipfile.ZipFile(archive) as handle:
        info = handle.getinfo("data.txt")
    data = bytearray(archive.read_bytes())
    # Declare 10 bytes instead of 5000 in the central directory (file size field at +24).
    central = data.rindex(b"PK\x01\x02")
    assert int.from_bytes(data[central + 24:central + 28], "little") == info.file_size
    data[central + 24:central + 28] = (10).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    message = _refusal(archive, tmp_path)
    assert "corrupt" in message or "larger than its header says" in message


def test_safe_archives_extract_and_unwrap(tmp_path):
    archive = _zip_with(tmp_path / "alice.zip", [
        ("alice-hw/exercise1.py", b"x = 1\n"), ("alice-hw/data/notes.txt", b"hi"),
        ("__MACOSX/alice-hw/._exercise1.py", b"junk"), ("alice-hw/.DS_Store", b"junk")])
    root = extract_zip(archive, tmp_path / "out")
    assert root == tmp_path / "out" / "alice-hw"
    assert (root / "exercise1.py").read_bytes() == b"x = 1\n"
    assert not (tmp_path / "out" / "__MACOSX").exists() and not (root / ".DS_Store").exists()
    assert stat.S_IMODE((root / "exercise1.py").stat().st_mode) == 0o644


def test_folders_are_copied_without_following_links(tmp_path):
    source = tmp_path / "bob"
    source.mkdir()
    (source / "exercise2.py").write_text("x = 2\n")
    (source / "exercise1.py").symlink_to(SOLUTIONS / "exercise1.py")
    (source / "solutions").symlink_to(SOLUTIONS, target_is_directory=True)
    root = copy_folder(source, tmp_path / "copy")
    assert sorted(p.name for p in root.iterdir()) == ["exercise2.py"]


def test_submission_ids_and_the_gradescope_layout(tmp_path):
    export = tmp_path / "assignment_123_export"
    export.mkdir()
    (export / "submission_metadata.yml").write_text("submission_1:\n  :submitters: []\n")
    for name in ("submission_2", "submission_1"):
        (export / name).mkdir()
    (export / "a b;rm -rf.zip").write_bytes(b"")
    (export / "a_b_rm_-rf").mkdir()
    entries, warnings = discover(tmp_path)  # the export's own folder, one level down
    # A clean name keeps its id; the other gets a hash of its own name (order-independent).
    suffix = hashlib.sha256(b"a b;rm -rf.zip").hexdigest()[:8]
    assert [e.id for e in entries] == ["a_b_rm_-rf", f"a_b_rm_-rf-{suffix}", "submission_1",
                                      "submission_2"]
    assert any(f"'a_b_rm_-rf-{suffix}'" in w for w in warnings)
    assert sanitize_id("../../etc") == "etc" and sanitize_id("...") == "submission"


def test_usage_errors_exit_2(tmp_path, capsys):
    from grader.cli import main as grade_main

    def main(argv):
        return grade_main(["batch", *argv])

    assert main([str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 2
    assert "is not a folder of submissions" in capsys.readouterr().err
    assert main([str(tmp_path), "--out", str(tmp_path / "o"), "--exercises", "exercise9"]) == 2
    assert "unknown exercise 'exercise9'" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty"), "--out", str(tmp_path / "o"), "--exercises",
                 "exercise1"]) == 2
    assert "no submissions in" in capsys.readouterr().err
    assert main([str(tmp_path), "--out", str(tmp_path / "o"), "--exercises", "exercise1"]) == 2
    assert "inside the folder of submissions" in capsys.readouterr().err
    assert main([str(tmp_path)]) == 2  # --out is required


def test_grade_batch_in_process_with_a_progress_bar(tmp_path, catalogue, capsys):
    from grader.batch.run import grade_batch
    from grader.output.terminal import batch_progress

    with batch_progress(2) as bar:
        bar.advance()
        bar.advance(1)
    directory = tmp_path / "class"
    for who, folder in (("ann", SOLUTIONS), ("ben", STUBS)):
        (directory / who).mkdir(parents=True)
        (directory / who / "exercise2.py").write_bytes((folder / "exercise2.py").read_bytes())
    out = tmp_path / "out"  # beside DIR (inside it is refused)
    summary = grade_batch(directory=directory, out=out, jobs=1, exercises=["exercise2"],
                          catalogue=catalogue, progress=True)
    assert (summary.submissions, summary.graded, summary.graded_now) == (2, 2, 2)
    assert (out / "gradebook.csv").read_text() == (
        "id,exercise2,exercise2_status,total,percent,status\nPoints Possible,20,,20,100,\n"
        "ann,20,graded,20,100,graded\nben,0,graded,0,0,graded\n")
    assert "2/2" in capsys.readouterr().err
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert stat.S_IMODE((out / "journal.jsonl").stat().st_mode) == 0o600
    assert not (out / ".work").exists()


class _KillsItsWorker:
    """An "exercise" whose unpickling ends the worker process: a pool worker dying mid-pair."""

    id = "exercise2"
    title = "dies"
    file = "exercise2.py"
    time_limit_s = 30.0

    def checklist(self):
        raise RuntimeError("no checks")

    def __reduce__(self):
        return (os._exit, (1,))


def test_a_dying_worker_costs_its_own_pair_only(tmp_path, catalogue):
    from grader.batch.pool import Task, run_pool

    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "exercise2.py").write_bytes((SOLUTIONS / "exercise2.py").read_bytes())
    tasks = [Task("k1", _KillsItsWorker(), folder, ["dies"]),
             Task("k2", catalogue.get("exercise2"), folder, ["lives"])]
    outcomes = {}
    run_pool(tasks, 2, lambda task, outcome: outcomes.update({task.students[0]: outcome}),
              (None, None, False))
    assert outcomes["dies"]["status"] == "error"
    assert "the grading process died" in outcomes["dies"]["message"]
    assert outcomes["lives"]["status"] == "graded"
    assert outcomes["lives"]["result"]["score"] == 20
