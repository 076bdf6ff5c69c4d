"""A class of 40 in which 8 submissions attack the grader (issue 6: "a batch of 40 ...").

32 honest submissions for exercise 1 (the reference solution, the stub, partly
done mixtures and realistic mistakes from ``tests/mutants.py``; their lab folder
is absent, so no TensorFlow starts for them) are graded with ``--jobs 2``
beside 8 hostile ones:

- ``h1_loop``: an infinite loop at import that ignores SIGTERM/SIGINT;
- ``h2_memory``: ``receptive_field`` allocates 100 GiB (``bytearray``);
- ``h3_exit``: ``os._exit(0)`` at import;
- ``h4_fork``: a fork loop at import (each child would sleep for ten minutes);
- ``h5_fake_json``: prints forged result JSON (stdout, ``sys.__stdout__``, fd 1, stderr);
- ``h6_writer``: writes results.json / gradebook.csv / journal.jsonl into its
  cwd, that folder's parents, $HOME, /tmp, the grader's cwd, DIR and OUT;
- ``h7_keras``: a correct exercise 1 and a ``lab_mnist/model.keras`` with a
  ``Lambda`` layer whose marshalled code would create a marker file;
- ``h8_zipslip``: a ``.zip`` with a ``../evil.py`` member.

Then every honest submission is graded alone (``grade_exercise``) and its
per-check (name, score, status) must equal the batch's; each hostile one must
get what it honestly earns; nothing may be written outside OUT and the
submissions' own scratch folders.
"""

from __future__ import annotations

import base64
import csv
import json
import marshal
import os
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
STUBS = ROOT / "exercises"
EXERCISES = ("exercise1", "lab_mnist")
TIMEOUT = 3.0  # seconds per call into a student's code
PLANTED = ("results.json", "gradebook.csv", "journal.jsonl")
HOSTILE = ("h1_loop", "h2_memory", "h3_exit", "h4_fork", "h5_fake_json", "h6_writer",
           "h7_keras", "h8_zipslip")
REFERENCE = "s01"  # the reference solution, unchanged
ROUND_MUTANT = "s23"  # mutants.EXERCISE1[0], "round instead of floor"
# Without root the sandbox cannot make the file system read-only: the writer then aims only
# at the test's own folders (the report header says "file system not isolated").
ISOLATED_FS = sys.platform == "linux" and os.geteuid() == 0
FUNCTIONS = ("conv_output_size", "pool_output_size", "same_padding", "conv_output_shape",
             "receptive_field")


# -- the class ------------------------------------------------------------------------------


def _solution() -> str:
    return (SOLUTIONS / "exercise1.py").read_text(encoding="utf-8")


def _stub() -> str:
    return (STUBS / "exercise1.py").read_text(encoding="utf-8")


def _left_undone(source: str, *functions: str) -> str:
    """``source`` with ``functions`` redefined as the stub has them (a half-done student)."""
    tail = "".join(f"\n\ndef {name}(*args, **kwargs):\n"
                   f"    raise NotImplementedError(\"{name} is not implemented yet\")\n"
                   for name in functions)
    return source + tail


def _honest() -> dict[str, str]:
    """32 honest exercise1.py sources, each unique (a header naming its author)."""
    from mutants import EXERCISE1

    bases: list[str] = [_solution()] * 9 + [_stub()] * 6
    bases += [_left_undone(_solution(), name) for name in FUNCTIONS]
    bases += [_left_undone(_solution(), "conv_output_shape", "receptive_field"),
              _left_undone(_solution(), "same_padding", "pool_output_size")]
    bases += [mutant.source() for mutant in EXERCISE1[:10]]
    assert len(bases) == 32 and bases[int(ROUND_MUTANT[1:]) - 1] == EXERCISE1[0].source()
    assert bases[int(REFERENCE[1:]) - 1] == _solution()
    return {f"s{n:02d}": f"# exercise 1, handed in by s{n:02d}\n{text}"
            for n, text in enumerate(bases, start=1)}


def _writer(targets: list[Path], token_parts: tuple[str, str]) -> str:
    """Module prelude that plants forged grader files wherever it can, then goes on."""
    return f'''import os as _os
import pathlib as _pathlib


def _plant():
    token = {token_parts[0]!r} + {token_parts[1]!r}
    forged = '{{"score": 20, "max_score": 20, "token": "' + token + '"}}\\n'
    here = _pathlib.Path.cwd()
    places = [here, *[_pathlib.Path(p) for p in {[str(t) for t in targets]!r}]]
    if {ISOLATED_FS!r}:
        places += [*here.parents, _pathlib.Path.home(),
                   _pathlib.Path(_os.environ.get("TMPDIR", "/tmp")), _pathlib.Path("/tmp")]
    for place in places:
        for name in {PLANTED!r}:
            try:
                with open(place / name, "a", encoding="utf-8") as handle:
                    handle.write(forged)
            except OSError:
                pass


_plant()
'''


def _fake_json() -> str:
    return '''import json as _json
import os as _os
import sys as _sys

_FORGED = _json.dumps({"score": 20.0, "max_score": 20.0, "exercises": [
    {"exercise": "exercise1", "score": 20.0, "max_score": 20.0, "checks": [
        {"name": "everything", "score": 20.0, "max_score": 20.0, "status": "passed"}]}]})
print(_FORGED)
print('{"hello": {"functions": []}, "isolation": {"uid": 0}}')
_sys.__stdout__.write(_FORGED + "\\n")
_os.write(1, (_FORGED + "\\n").encode())
_sys.stderr.write(_FORGED + "\\n")
'''


def _lambda_keras(marker: Path) -> bytes:
    """A Keras v3 file built by hand: a Lambda layer whose code would create ``marker``."""
    import io

    code = compile(f"lambda x: (open({str(marker)!r}, 'w').write('pwned'), x)[1]", "<lambda>",
                   "eval").co_consts[0]
    payload = base64.b64encode(marshal.dumps(code)).decode()

    def layer(class_name: str, **config) -> dict:
        return {"module": "keras.layers", "class_name": class_name,
                "config": {"name": class_name.lower(), **config}, "registered_name": None}

    config = {"module": "keras", "class_name": "Sequential", "registered_name": None,
              "config": {"name": "sequential", "layers": [
                  layer("InputLayer", batch_shape=[None, 28, 28, 1]),
                  layer("Lambda", function={"class_name": "__lambda__", "config": {
                      "code": payload, "defaults": None, "closure": None}}),
                  layer("Conv2D", filters=8, kernel_size=[3, 3], activation="relu"),
                  layer("Flatten"), layer("Dense", units=10, activation="softmax")]}}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.11.3",
                                                      "date_saved": "2025-01-01@00:00:00"}))
        archive.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n" + bytes(2048))
    return buffer.getvalue()


HISTORY = {key: [0.5, 0.8, 0.9] for key in ("accuracy", "val_accuracy", "loss", "val_loss")}


def _hostile(*, targets: list[Path], token_parts: tuple[str, str], marker: Path
             ) -> dict[str, dict[str, bytes]]:
    """{id: {relative path: bytes}} of the 8 hostile submissions (h8 becomes a zip)."""
    from mutants import EXERCISE1

    solution = _solution()
    memory = solution + ("\n\ndef receptive_field(layers):\n"
                         "    hoard = bytearray(100 * 2**30)\n"
                         "    return len(hoard)\n")
    loop = ("import signal as _signal\n"
            "for _s in (_signal.SIGTERM, _signal.SIGINT, _signal.SIGXCPU):\n"
            "    _signal.signal(_s, _signal.SIG_IGN)\n"
            "while True:\n    pass\n")
    fork = ("import os as _os\nimport time as _time\n"
            "for _ in range(50):\n"
            "    if _os.fork() == 0:\n"
            "        _time.sleep(600)\n"
            "        _os._exit(0)\n")
    lab = {"lab_mnist/model.keras": _lambda_keras(marker),
           "lab_mnist/history.json": json.dumps(HISTORY).encode(),
           "lab_mnist/answers.toml": b'trainable_params = 54170\nexplanation = "conv + dense"\n',
           "lab_mnist/train.py": b"# trained elsewhere\n"}
    return {
        "h1_loop": {"exercise1.py": (loop + solution).encode()},
        "h2_memory": {"exercise1.py": memory.encode()},
        "h3_exit": {"exercise1.py": ("import os\nos._exit(0)\n" + solution).encode()},
        "h4_fork": {"exercise1.py": (fork + solution).encode()},
        "h5_fake_json": {"exercise1.py": (_fake_json() + EXERCISE1[0].source()).encode()},
        "h6_writer": {"exercise1.py": (_writer(targets, token_parts) + solution).encode()},
        "h7_keras": {"exercise1.py": solution.encode(), **lab},
        "h8_zipslip": {"exercise1.py": solution.encode(), "../evil.py": b"print('escaped')\n"},
    }


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _state(path: Path) -> tuple | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns)


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory):
    """Build DIR, run the batch, grade the honest ones alone; everything the tests look at."""
    from grader.catalogue import load_catalogue
    from grader.options import GradingOptions
    from grader.runner import grade_exercise, missing_submission_result

    catalogue = load_catalogue(ROOT / "assignments.toml")
    base = tmp_path_factory.mktemp("hostile")
    directory, plain, out, cwd = base / "submissions", base / "plain", base / "out", base / "cwd"
    for folder in (directory, plain, cwd):
        folder.mkdir()
    token_parts = ("HOSTILE-WRITER-", uuid.uuid4().hex)  # never whole in a source file
    marker = base / "lambda-ran"
    targets = [cwd, directory, base, out] + ([ROOT, Path.home()] if ISOLATED_FS else [])
    honest = _honest()
    hostile = _hostile(targets=targets, token_parts=token_parts, marker=marker)

    for n, (who, text) in enumerate(sorted(honest.items())):
        (plain / who).mkdir()
        (plain / who / "exercise1.py").write_text(text, encoding="utf-8")
        if n % 8 == 3:  # some hand in a zip, wrapped in a folder as students do
            with zipfile.ZipFile(directory / f"{who}.zip", "w", zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(f"{who}-homework/exercise1.py", text)
        elif n % 8 == 5:  # some keep the course layout: exercises/exercise1.py
            (directory / who / "exercises").mkdir(parents=True)
            (directory / who / "exercises" / "exercise1.py").write_text(text, encoding="utf-8")
        else:
            (directory / who).mkdir()
            (directory / who / "exercise1.py").write_text(text, encoding="utf-8")
    for who, files in hostile.items():
        if who == "h8_zipslip":
            with zipfile.ZipFile(directory / f"{who}.zip", "w", zipfile.ZIP_DEFLATED) as archive:
                for name, data in files.items():
                    archive.writestr(name, data)
            continue
        for name, data in files.items():
            (directory / who / name).parent.mkdir(parents=True, exist_ok=True)
            (directory / who / name).write_bytes(data)
    assert len(list(directory.iterdir())) == 40

    places = (Path("/"), Path("/tmp"), Path.home(), ROOT, cwd, base, directory)
    watched = [place / name for place in places
               for name in (*PLANTED, "evil.py")]
    before = {path: _state(path) for path in watched}
    submitted = _snapshot(directory)

    env = {**os.environ, "GRADER_CATALOGUE": str(ROOT / "assignments.toml")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "grader.batch", str(directory), "--out", str(out), "--jobs", "2",
         "--exercises", ",".join(EXERCISES), "--timeout", f"{TIMEOUT:g}", "--no-progress"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=400)
    batch_seconds = time.monotonic() - started

    started = time.monotonic()
    alone: dict[str, dict[str, list]] = {}
    for who in sorted(honest):
        folder = plain / who
        alone[who] = {}
        for exercise_id in EXERCISES:
            exercise = catalogue.get(exercise_id)
            if exercise.is_lab:  # no lab folder: what `grade all` records for a missing one
                result = missing_submission_result(exercise, folder, "missing")
            else:
                result = grade_exercise(exercise=exercise, submission=folder,
                                        options=GradingOptions(timeout_s=TIMEOUT))
            alone[who][exercise_id] = [(c.name, round(c.score, 6), c.status)
                                       for c in result.checks]
    alone_seconds = time.monotonic() - started
    print(f"\nbatch of 40: {batch_seconds:.1f} s; 32 graded alone: {alone_seconds:.1f} s")
    return {"directory": directory, "out": out, "cwd": cwd, "base": base, "completed": completed,
            "honest": honest, "alone": alone, "watched": watched, "before": before,
            "submitted": submitted, "token": "".join(token_parts), "marker": marker,
            "catalogue": catalogue}


def _results(out: Path, student: str) -> dict[str, dict]:
    data = json.loads((out / "results" / f"{student}.json").read_text(encoding="utf-8"))
    return {e["exercise"]: e for e in data["exercises"]}


def _per_check(out: Path, student: str) -> dict[str, list[tuple[str, float, str]]]:
    return {exercise: [(c["name"], c["score"], c["status"]) for c in result["checks"]]
            for exercise, result in _results(out, student).items()}


def _gradebook(out: Path) -> dict[str, dict[str, str]]:
    with (out / "gradebook.csv").open(encoding="utf-8", newline="") as handle:
        return {row["id"]: row for row in csv.DictReader(handle)
                if row["id"] != "Points Possible"}  # the gradebook's second row (issue 14)


# -- the tests ------------------------------------------------------------------------------


def test_the_batch_finishes_with_40_rows(hostile_class):
    completed, out = hostile_class["completed"], hostile_class["out"]
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "40 submissions: 39 graded" in completed.stdout
    assert "0 failed, 1 refused" in completed.stdout
    book = _gradebook(out)
    assert len(book) == 40 and list(book) == sorted(book)
    assert (out / "gradebook.csv").read_text(encoding="utf-8").splitlines()[0] == \
        "id,exercise1,exercise1_status,lab_mnist,lab_mnist_status,total,percent,status"
    assert set(book) == set(hostile_class["honest"]) | set(HOSTILE)
    for who in hostile_class["honest"]:  # no lab folder: the lab is "missing", not an error
        assert book[who]["status"] == "missing", who
        assert book[who]["lab_mnist"] == "0", who
    assert book["h7_keras"]["status"] == "graded"
    assert book["h8_zipslip"]["status"] == "refused"
    assert not (out / ".work").exists()
    for who in book:
        assert (out / "results" / f"{who}.json").is_file()


def test_honest_submissions_grade_as_they_do_alone(hostile_class):
    out, alone = hostile_class["out"], hostile_class["alone"]
    book = _gradebook(out)
    assert len(alone) == 32
    scores = set()
    for who, expected in sorted(alone.items()):
        assert _per_check(out, who) == expected, who
        total = sum(score for checks in expected.values() for _, score, _ in checks)
        assert float(book[who]["total"]) == pytest.approx(total, abs=5e-5), who  # written to 4 decimals
        scores.add(round(total, 6))
    # A real spread: full marks, zero, and partial credit in between.
    assert 20.0 in scores and 0.0 in scores and any(0 < s < 20 for s in scores)


def _reference(hostile_class, exercise_id: str = "exercise1") -> list:
    """What the reference solution earns alone."""
    return hostile_class["alone"][REFERENCE][exercise_id]


def _checks_of(hostile_class, student: str, exercise_id: str = "exercise1") -> list[dict]:
    return _results(hostile_class["out"], student)[exercise_id]["checks"]


def _journal_record(out: Path, student: str, exercise: str) -> dict:
    for line in (out / "journal.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["student"] == student and record["exercise"] == exercise:
            return record
    raise AssertionError(f"no journal record for {student} {exercise}")


def test_import_time_attacks_earn_nothing_with_a_one_line_reason(hostile_class):
    out = hostile_class["out"]
    book = _gradebook(out)
    reasons = {"h1_loop": "timed out after", "h3_exit": "exited with code 0",
               "h4_fork": "BlockingIOError"}
    for who, reason in reasons.items():
        assert book[who]["exercise1"] == "0" and book[who]["total"] == "0", who
        assert book[who]["status"] == "missing", who  # exercise 1 graded; no lab folder
        for check in _checks_of(hostile_class, who):
            assert check["score"] == 0 and check["status"] in ("error", "timeout"), (who, check)
            if not check["hidden"]:  # hidden checks' messages are withheld in results/
                assert reason in check["message"], (who, check)
        record = _journal_record(out, who, "exercise1")
        assert all(reason in c["message"] and "\n" not in c["message"]
                   for c in record["result"]["checks"]), who


def test_a_memory_bomb_costs_only_the_checks_that_call_it(hostile_class):
    catalogue = hostile_class["catalogue"]
    needs = {c.name: c.needs for c in catalogue.get("exercise1").checklist()}
    reference = _reference(hostile_class)
    record = _journal_record(hostile_class["out"], "h2_memory", "exercise1")
    got = record["result"]["checks"]
    assert [c["name"] for c in got] == [name for name, _, _ in reference]
    touched = 0
    for check, (name, score, status) in zip(got, reference, strict=True):
        if "receptive_field" in needs[name]:
            touched += 1
            assert check["score"] == 0 and check["status"] == "error", check
            assert "MemoryError" in check["message"], check
        else:  # every other check: what the reference solution earns
            assert (check["score"], check["status"]) == (score, status), check
    assert touched >= 1
    book = _gradebook(hostile_class["out"])
    assert 0 < float(book["h2_memory"]["exercise1"]) < 20


def test_printing_forged_json_earns_exactly_the_mistake(hostile_class):
    # h5 is mutant 0 ("round instead of floor", as ROUND_MUTANT hands it in) + forged output.
    out = hostile_class["out"]
    expected = hostile_class["alone"][ROUND_MUTANT]["exercise1"]
    assert _per_check(out, "h5_fake_json")["exercise1"] == expected
    assert 0 < float(_gradebook(out)["h5_fake_json"]["exercise1"]) < 20
    assert '"everything"' not in (out / "gradebook.csv").read_text(encoding="utf-8")


def test_the_results_file_writer_earns_its_code_and_writes_nothing_outside(hostile_class):
    out, token = hostile_class["out"], hostile_class["token"]
    # The code under the attack is the reference solution: full marks, no more, no less.
    assert _per_check(out, "h6_writer")["exercise1"] == _reference(hostile_class)
    header = _journal_record(out, "h6_writer", "exercise1")["notes"][0]
    if not ISOLATED_FS:
        pytest.skip(f"not root: the sandbox cannot protect the file system ({header})")
    assert ("bubblewrap held" in header or "read-only file system but its scratch folder" in header), header
    for path in hostile_class["watched"]:
        assert _state(path) == hostile_class["before"][path], f"{path} was written"
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path
    # (the grader's own .hypothesis/ cache is test_the_grader_leaves_its_cwd_alone's business)
    assert [p.name for p in hostile_class["cwd"].iterdir()] in ([], [".hypothesis"])
    for path in hostile_class["base"].rglob("*"):  # DIR, OUT, the plain copies, the cwd
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path
    assert sorted(p.name for p in out.iterdir()) == [
        "gradebook.csv", "journal.jsonl", "journal.lock", "results", "summary.html"]
    assert hostile_class["submitted"] == _snapshot(hostile_class["directory"]), "DIR changed"


def test_a_hostile_keras_file_is_refused_unloaded_and_exercise1_is_unaffected(hostile_class):
    out = hostile_class["out"]
    assert _per_check(out, "h7_keras")["exercise1"] == _reference(hostile_class)
    lab = {c["name"]: c for c in _journal_record(out, "h7_keras", "lab_mnist")["result"]["checks"]}
    assert len(lab) == 6
    earned = 0.0
    for name, check in lab.items():
        if name.startswith("history.json"):  # data, read as such: honestly earned
            assert check["status"] == "passed" and check["score"] == 2, check
        else:  # the check that opens the model fails; those that need it are skipped, saying why
            assert check["score"] == 0 and check["status"] in ("failed", "skipped"), check
            assert "model.keras was refused and not loaded" in check["message"], check
            assert "Lambda layer" in check["message"], check
        earned += check["score"]
    assert sum(c["status"] == "failed" for c in lab.values()) == 1  # the cause said once
    assert _gradebook(out)["h7_keras"]["lab_mnist"] == "2" and earned == 2
    assert not hostile_class["marker"].exists(), "the Lambda's code ran"


def test_a_zip_slip_archive_is_refused_whole(hostile_class):
    out, base = hostile_class["out"], hostile_class["base"]
    row = _gradebook(out)["h8_zipslip"]
    assert (row["exercise1"], row["lab_mnist"], row["total"], row["status"]) == \
        ("0", "0", "0", "refused")
    record = _journal_record(out, "h8_zipslip", "exercise1")
    assert record["status"] == "refused"
    assert "'../evil.py' has a '..' component (zip slip)" in record["message"]
    assert "\n" not in record["message"]
    assert all(c["score"] == 0 for c in record["result"]["checks"])
    assert not [p for p in base.rglob("evil.py")]
    assert not (base.parent / "evil.py").exists() and not Path("/tmp/evil.py").exists()
    summary = (out / "summary.html").read_text(encoding="utf-8")
    assert "h8_zipslip" in summary and "zip slip" in summary


def test_the_grader_leaves_its_cwd_alone(hostile_class):
    """`grade batch` writes into OUT only: not into the folder it was started from."""
    cwd = hostile_class["cwd"]
    left = sorted(p.relative_to(cwd).as_posix() for p in cwd.rglob("*"))
    assert not left, f"grade batch wrote into its current folder: {left[:5]}"
