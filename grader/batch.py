"""``grade batch DIR --out OUT``: grade a whole class, resumably.

One submission per sub-folder or ``.zip`` of DIR (a Gradescope export, one folder
per submission beside ``submission_metadata.yml``, is the same layout). Each
submission is copied (folders: regular files only, links never followed) or
safely extracted (``archive.py``) into a private work folder, normalized (a
single wrapping folder and an ``exercises/`` sub-folder are looked through) and
hashed. Each (submission, exercise) pair is graded by ``grade_exercise`` in a
process pool; the main process alone writes the journal (``journal.py``), one
fsynced line per pair, and identical submissions are graded once.

Re-running the same command resumes: pairs whose journal key (content hash,
grader version, exercise, settings) already holds a final record are not
graded again. Every output in OUT (``gradebook.csv``, ``results/<id>.json|md|html``,
``summary.html``) is derived from the journal alone, sorted and without
timestamps, so an interrupted and resumed run writes the same bytes as an
uninterrupted one.

OUT must lie outside DIR, and is made private on every run (the folder and its
sub-folders 0700, every file 0600, whatever they were). Names that sanitize to
the same id get distinct ids that depend on the set of names only
(``assign_ids``), and a submission the disk cannot hold (a member path too
long) is refused alone.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import fcntl
import hashlib
import io
import multiprocessing
import multiprocessing.connection
import os
import re
import shutil
import signal
import stat
import sys
import threading
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from grader import __version__, option_types
from grader.archive import JUNK_NAMES, copy_folder, extract_zip
from grader.errors import GraderError, SubmissionError
from grader.journal import FINAL_STATUSES, JOURNAL_NAME, Journal, read_journal, record_key

GRADESCOPE_METADATA = "submission_metadata.yml"
EXERCISES_FOLDER = "exercises"
LOCK_NAME = "journal.lock"
WORK_NAME = ".work"  # the prepared copies of the submissions, during a run
# Submission status in the gradebook, worst first.
_SEVERITY = ("refused", "error", "missing", "graded")


# -- discovering and preparing submissions ---------------------------------------------------


@dataclass
class Entry:
    """One student's submission as found in DIR."""

    id: str
    source: Path
    kind: str  # "folder" or "zip"
    root: Path | None = None  # the prepared, normalized copy
    content_hash: str = ""
    refused: str | None = None


def sanitize_id(name: str) -> str:
    """A safe file name for a submission id: letters, digits, ``.``, ``_``, ``-``."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._-")[:100]
    return cleaned or "submission"


def _name_hash(name: str, length: int = 8) -> str:
    return hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:length]


def assign_ids(names: list[str], stems: dict[str, str] | None = None) -> dict[str, str]:
    """A distinct, stable id for each entry name of DIR (``alice``, ``a b.zip``, ...).

    An id depends on the set of names only, never on their order: a name whose sanitized
    stem (``stems[name]``, default the name itself) is shared with no other entry (case
    folded, for case-insensitive disks) is that stem; in a group of entries sharing one,
    the one entry whose name *is* the stem keeps it (``alice`` beside ``Alice!``), and every
    other gets ``<stem>-<8 hex digits of sha256(its name)>``.
    """
    stems = stems or {}
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(sanitize_id(stems.get(name, name)).lower(), []).append(name)
    ids: dict[str, str] = {}
    for members in groups.values():
        bases = {m: sanitize_id(stems.get(m, m)) for m in members}
        if len(members) == 1:
            ids[members[0]] = bases[members[0]]
            continue
        keepers = [m for m in members if m == bases[m]]
        for member in members:
            if len(keepers) == 1 and member == keepers[0]:
                ids[member] = bases[member]
            else:
                ids[member] = f"{bases[member]}-{_name_hash(member)}"
    # A hashed id equal to another entry's plain name (vanishingly unlikely): a longer hash.
    seen: dict[str, str] = {}
    for name in sorted(ids, key=lambda n: (ids[n] != sanitize_id(stems.get(n, n)), n)):
        candidate, length = ids[name], 8
        while candidate.lower() in seen:
            length += 8
            candidate = f"{sanitize_id(stems.get(name, name))}-{_name_hash(name, length)}"
        seen[candidate.lower()] = name
        ids[name] = candidate
    return ids


def discover(directory: Path, *, exclude: Path | None = None) -> tuple[list[Entry], list[str]]:
    """The submissions in ``directory`` (sorted by name) and warnings about what was skipped."""
    if not directory.is_dir():
        raise GraderError(f"{directory} is not a folder of submissions.")
    warnings: list[str] = []
    items = sorted((p for p in directory.iterdir() if not p.name.startswith(".")),
                   key=lambda p: p.name)
    folders = [p for p in items if p.is_dir() and not p.is_symlink()]
    # A Gradescope export unpacked one level too high: look into its single folder.
    if (len(items) == 1 and folders and (folders[0] / GRADESCOPE_METADATA).is_file()):
        return discover(folders[0], exclude=exclude)
    excluded = exclude.resolve() if exclude is not None else None
    found: list[tuple[Path, str, str]] = []
    for path in items:
        if path.name in JUNK_NAMES or path.name == GRADESCOPE_METADATA:
            continue
        if excluded is not None and path.resolve() == excluded:
            continue
        if path.is_symlink():
            warnings.append(f"skipped {path.name}: a symbolic link (links are not followed)")
            continue
        if path.is_dir():
            kind, stem = "folder", path.name
        elif path.is_file() and path.suffix.lower() == ".zip":
            kind, stem = "zip", path.name[: -len(".zip")]
        else:
            continue
        found.append((path, kind, stem))
    ids = assign_ids([p.name for p, _, _ in found], {p.name: stem for p, _, stem in found})
    entries: list[Entry] = []
    for path, kind, stem in found:
        if ids[path.name] != stem:
            warnings.append(f"{path.name} is graded as {ids[path.name]!r}")
        entries.append(Entry(id=ids[path.name], source=path, kind=kind))
    return sorted(entries, key=lambda e: e.id), warnings


def content_hash(root: Path) -> str:
    """sha256 over the sorted (relative path, bytes) of every regular file under ``root``."""
    digest = hashlib.sha256()
    files = []
    for folder, subfolders, names in os.walk(root, followlinks=False):
        subfolders.sort()
        for name in names:
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                files.append((path.relative_to(root).as_posix(), path))
    for relative, path in sorted(files):
        encoded = relative.encode("utf-8", "surrogateescape")
        digest.update(b"%d:" % len(encoded) + encoded)
        digest.update(b"%d:" % path.stat().st_size)
        with path.open("rb") as handle:
            for chunk in iter(lambda h=handle: h.read(1 << 16), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _handed_in(exercise) -> str:
    """What a student hands in for ``exercise``: its file, or its folder for a lab."""
    return exercise.file or exercise.folder


def _candidates(exercise) -> list[str]:
    if exercise.is_lab:
        return [exercise.folder]
    return [exercise.file, str(Path(exercise.file).with_suffix(".ipynb"))]


def normalize(root: Path, names: list[str]) -> Path:
    """Look through an ``exercises/`` folder when the exercise files are not at the top."""
    if not any((root / name).exists() for name in names):
        inner = root / EXERCISES_FOLDER
        if inner.is_dir() and not inner.is_symlink():
            return inner
    return root


def prepare(entry: Entry, destination: Path, names: list[str]) -> None:
    """Copy or extract ``entry`` into ``destination`` (new), normalize it and hash it."""
    try:
        if entry.kind == "zip":  # files 0600: every file written in OUT is private
            root = extract_zip(entry.source, destination, file_mode=0o600)
        else:
            root = copy_folder(entry.source, destination, file_mode=0o600)
    except SubmissionError as error:
        entry.refused = str(error)
        try:
            raw = _file_hash(entry.source) if entry.kind == "zip" else ""
        except OSError:
            raw = ""
        entry.content_hash = "refused:" + hashlib.sha256(
            f"{raw}\x00{entry.id}\x00{entry.refused}".encode()).hexdigest()
        return
    entry.root = normalize(root, names)
    entry.content_hash = content_hash(entry.root)


# -- the worker side -------------------------------------------------------------------------


def _kill_own_children() -> None:
    """SIGKILL this process's children and their process groups (the sandboxes)."""
    me = os.getpid()
    for name in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                stat = handle.read()
            parent = int(stat[stat.rindex(b")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent == me:
            for kill in (os.killpg, os.kill):
                with contextlib.suppress(OSError):
                    kill(int(name), signal.SIGKILL)


def _worker_init() -> None:
    """In each pool worker: leave Ctrl-C to the main process; end with the batch process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def on_term(_signum: int, _frame: object) -> None:
        # Kill the sandbox now, then unwind (grade_exercise's ``finally`` removes its scratch
        # folder); a timer makes sure that the worker is gone a few seconds later anyway.
        _kill_own_children()
        timer = threading.Timer(5.0, os._exit, args=(3,))
        timer.daemon = True
        timer.start()
        raise SystemExit(3)

    signal.signal(signal.SIGTERM, on_term)
    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:
        return
    sentinel = parent.sentinel

    def watch() -> None:
        # The batch process is gone (kill -9 included): stop grading for nobody.
        multiprocessing.connection.wait([sentinel])
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="grade-batch-parent-watch", daemon=True).start()


def _zero_outcome(exercise, status: str, message: str) -> dict:
    """Zero for every check of ``exercise``, with ``message`` (refused, missing, error)."""
    outcome = {"status": status, "message": message, "title": exercise.title}
    try:
        from grader.runner import missing_submission_result

        zero = missing_submission_result(exercise, Path(_handed_in(exercise)), message)
    except Exception:  # the checks themselves cannot be loaded: no per-check result
        return outcome
    result = zero.to_dict(show_hidden=True)
    result["submission"] = _handed_in(exercise)
    outcome.update(result=result, notes=list(zero.notes))
    return outcome


def _describe_error(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"grader error ({type(error).__name__}: {error}{where}); graded again on the next run"


def grade_pair(exercise, folder: str, seed: int | None, timeout_s: float | None,
               require_isolation: bool) -> dict:
    """Grade one exercise of one prepared submission; never raises (runs in a pool worker)."""
    try:
        from grader.runner import grade_exercise

        result = grade_exercise(exercise=exercise, submission=Path(folder), seed=seed,
                                timeout_s=timeout_s, require_isolation=require_isolation)
    except SubmissionError as error:
        return _zero_outcome(exercise, "refused", str(error))
    except Exception as error:
        return _zero_outcome(exercise, "error", _describe_error(error))
    data = result.to_dict(show_hidden=True)
    data["submission"] = _handed_in(exercise)
    outcome = {"status": "missing" if result.missing else "graded", "result": data, "title": result.title,
               "notes": list(result.notes), "message": result.message}
    figures = getattr(result, "figures", None)  # a lab's learning curves: (title, base64 PNG)
    if figures:
        outcome["figures"] = [[str(title), str(png)] for title, png in figures]
    return outcome


# -- the main process ------------------------------------------------------------------------


@dataclass
class Task:
    key: str
    exercise: object
    folder: Path
    students: list[str]


@dataclass
class BatchSummary:
    """What ``grade_batch`` did. Counts of submissions, then of (submission, exercise) pairs."""

    out: Path
    submissions: int = 0
    graded: int = 0  # every exercise graded (or its file absent)
    failed: int = 0  # at least one pair hit a grader error (graded again on the next run)
    refused: int = 0  # the archive or folder was refused
    missing: int = 0  # at least one exercise file absent (counted among graded too)
    pairs: int = 0
    graded_now: int = 0
    from_journal: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def describe(self) -> str:
        missing = f" ({self.missing} with a missing file)" if self.missing else ""
        return (f"{self.submissions} submissions: {self.graded} graded{missing}, "
                f"{self.failed} failed, {self.refused} refused in {self.seconds:.1f} s "
                f"({self.graded_now} exercises graded now, {self.from_journal} from the journal). "
                f"Gradebook: {self.out / 'gradebook.csv'}")


class _NoProgress:
    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def advance(self, steps: int = 1) -> None:
        return None


@contextlib.contextmanager
def _locked(out: Path):
    """One batch at a time per OUT (the lock goes with the process, kill -9 included)."""
    fd = os.open(out / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise GraderError(f"another `grade batch` is writing to {out}; wait for it to end.")\
                from None
        yield
    finally:
        os.close(fd)


def check_out_folder(directory: Path, out: Path) -> None:
    """Refuse an OUT that is DIR or lies inside it: it would be taken for submissions, and
    the class folder (often readable by the students) would hold the gradebook."""
    try:
        source, target = directory.resolve(), out.resolve()
    except (OSError, RuntimeError) as error:  # a loop of links
        raise GraderError(f"cannot resolve {out} or {directory}: {error}") from None
    if target == source:
        raise GraderError(f"--out {out} is the folder of submissions itself; choose a folder "
                          "outside it (e.g. next to it).")
    if source in target.parents:
        raise GraderError(f"--out {out} is inside the folder of submissions {directory}; "
                          "choose a folder outside it (e.g. next to it).")


def make_private(out: Path) -> None:
    """Create OUT (mode 0700) or make an existing one private: OUT and its sub-folders 0700,
    every file in it 0600 (the journal holds hidden checks' messages and every grade)."""
    try:
        out.mkdir(mode=0o700, parents=True, exist_ok=True)
        if out.is_symlink() or not out.is_dir():
            raise GraderError(f"--out {out} is not a folder.")
        os.chmod(out, 0o700)
        for folder, subfolders, names in os.walk(out, followlinks=False):
            for name in subfolders + names:
                path = os.path.join(folder, name)
                info = os.lstat(path)
                if stat.S_ISDIR(info.st_mode):
                    wanted = 0o700
                elif stat.S_ISREG(info.st_mode):
                    wanted = 0o600
                else:
                    continue  # a link is left alone (never followed)
                if stat.S_IMODE(info.st_mode) != wanted:
                    os.chmod(path, wanted)
    except OSError as error:
        raise GraderError(f"cannot create or make private {error.filename or out}: "
                          f"{error.strerror or error}") from None


def _select_exercises(catalogue, names: list[str] | None) -> list:
    if names is None:
        chosen = [e for e in catalogue if e.implemented]  # as `grade all`: labs too
        if not chosen:
            raise GraderError("no exercise of the catalogue has checks yet.")
        return chosen
    wanted = [catalogue.get(name.strip()) for name in names if name.strip()]
    if not wanted:
        raise GraderError("--exercises names no exercise.")
    for exercise in wanted:
        if not exercise.implemented:
            raise GraderError(f"{exercise.id} has no checks in this version of the grader.")
    ids = {e.id for e in wanted}
    return [e for e in catalogue if e.id in ids]  # catalogue order, no duplicates


def grade_batch(*, directory: Path, out: Path, jobs: int | None = None,
                exercises: list[str] | None = None, catalogue=None, progress: bool = True,
                timeout_s: float | None = None, seed: int | None = None,
                require_isolation: bool = False) -> BatchSummary:
    """Grade every submission in ``directory`` into ``out``; resume from ``out``'s journal."""
    started = time.monotonic()
    if catalogue is None:
        from grader.catalogue import load_catalogue

        catalogue = load_catalogue()
    chosen = _select_exercises(catalogue, exercises)
    jobs = max(1, jobs or os.cpu_count() or 1)
    if timeout_s is not None and not (option_types.MIN_TIMEOUT_S <= timeout_s
                                      <= option_types.MAX_TIMEOUT_S):
        raise GraderError(f"--timeout must be from {option_types.MIN_TIMEOUT_S:g} to "
                          f"{option_types.MAX_TIMEOUT_S:g} seconds, not {timeout_s!r}.")
    check_out_folder(directory, out)
    make_private(out)
    summary = BatchSummary(out=out)
    settings = {k: v for k, v in (("seed", seed), ("timeout_s", timeout_s)) if v is not None}
    with _locked(out), Journal(out / JOURNAL_NAME) as journal:
        summary.warnings += journal.warnings
        entries, warnings = discover(directory, exclude=out)
        summary.warnings += warnings
        if not entries:
            raise GraderError(f"no submissions in {directory}: expected one sub-folder or .zip "
                              "file per student.")
        # The copies live in the private OUT and go at the end, or at the next run after a kill.
        work = out / WORK_NAME
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(mode=0o700)
        try:
            names = [name for e in chosen for name in _candidates(e)]
            for number, entry in enumerate(entries):
                prepare(entry, work / f"{number:06d}", names)
            keys = {(entry.id, exercise.id): record_key(entry.content_hash, __version__,
                                                        exercise.id, settings)
                    for entry in entries for exercise in chosen}
            _grade_all(entries, chosen, keys, journal, summary, jobs=jobs, progress=progress,
                       seed=seed, timeout_s=timeout_s, require_isolation=require_isolation)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        records, read_warnings = read_journal(out / JOURNAL_NAME)
        summary.warnings += [w for w in read_warnings if w not in summary.warnings]
        rows = derive_outputs(out=out, entries=entries, exercises=chosen, keys=keys,
                              records=records)
    summary.submissions = len(rows)
    for row in rows:
        summary.refused += row.status == "refused"
        summary.failed += row.status == "error"
        summary.graded += row.status in ("graded", "missing")
        summary.missing += row.status == "missing"
    summary.pairs = len(keys)
    summary.seconds = time.monotonic() - started
    return summary


def _present(root: Path, exercise) -> bool:
    if not exercise.is_lab:  # the file, or the same as a notebook (exercise1.ipynb)
        return any((root / name).is_file() for name in _candidates(exercise))
    from grader.runner import locate_lab

    try:
        return locate_lab(exercise, root).is_dir()
    except SubmissionError:
        return False


def _grade_all(entries: list[Entry], chosen: list, keys: dict, journal: Journal,
               summary: BatchSummary, *, jobs: int, progress: bool, seed: int | None,
               timeout_s: float | None, require_isolation: bool) -> None:
    done = {r["key"] for r in journal.records if r["status"] in FINAL_STATUSES}
    tasks: dict[str, Task] = {}
    immediate: list[tuple[str, str, object, dict]] = []
    for entry in entries:
        for exercise in chosen:
            key = keys[(entry.id, exercise.id)]
            if key in done:
                summary.from_journal += 1
                continue
            if entry.refused is not None:
                immediate.append((key, entry.id, exercise,
                                  _zero_outcome(exercise, "refused", entry.refused)))
            elif not _present(entry.root, exercise):
                reason = f"no {_handed_in(exercise)} in the submission"
                immediate.append((key, entry.id, exercise,
                                  _zero_outcome(exercise, "missing", reason)))
            elif key in tasks:
                tasks[key].students.append(entry.id)
            else:
                tasks[key] = Task(key, exercise, entry.root, [entry.id])

    def record(key: str, student: str, exercise, outcome: dict) -> None:
        entry = {"key": key, "student": student, "exercise": exercise.id, **outcome}
        try:
            journal.append(entry)
        except ValueError:  # not JSON (a NaN score from a check?): a grader error, retried
            journal.append({"key": key, "student": student, "exercise": exercise.id,
                            **_zero_outcome(exercise, "error", "grader error (a result that "
                                            "is not JSON); graded again on the next run")})
        summary.graded_now += 1

    total = len(immediate) + sum(len(t.students) for t in tasks.values())
    if progress:
        from grader.report import batch_progress

        bar = batch_progress(total)
    else:
        bar = _NoProgress()
    with bar:
        for key, student, exercise, outcome in immediate:
            record(key, student, exercise, outcome)
            bar.advance(1)

        def finish(task: Task, outcome: dict) -> None:
            for student in task.students:
                record(task.key, student, task.exercise, outcome)
            bar.advance(len(task.students))

        # The longest exercises first, so that the pool does not end on one long pair.
        ordered = sorted(tasks.values(), key=lambda t: (-t.exercise.time_limit_s,
                                                        t.students[0], t.exercise.id))
        _run_pool(ordered, jobs, finish, (seed, timeout_s, require_isolation))


def _pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, initializer=_worker_init,
                               mp_context=multiprocessing.get_context("forkserver"))


def _stop(pool: ProcessPoolExecutor) -> None:
    """Ctrl-C: cancel what has not started and end the workers (and their sandboxes) now."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # before shutdown
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(OSError, AttributeError, ValueError):
            process.terminate()


def _run_pool(tasks: list[Task], jobs: int, finish, options: tuple) -> None:
    """Grade ``tasks`` in a pool; a pair whose worker dies is retried alone, then an error."""
    if not tasks:
        return
    retry: list[Task] = []
    pool = _pool(min(jobs, len(tasks)))
    try:
        futures = {pool.submit(grade_pair, t.exercise, str(t.folder), *options): t
                   for t in tasks}
        for future in as_completed(futures):
            task = futures[future]
            error = future.exception()
            if isinstance(error, BrokenProcessPool):
                retry.append(task)  # maybe not its fault: try it again, alone
                continue
            if error is not None:  # raised in the worker outside grade_pair's guard
                outcome = _zero_outcome(task.exercise, "error", _describe_error(error))
            else:
                outcome = future.result()
            finish(task, outcome)
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown(wait=True)
    for task in retry:
        pool = _pool(1)
        try:
            future = pool.submit(grade_pair, task.exercise, str(task.folder), *options)
            error = future.exception()  # waits
        except BaseException:
            _stop(pool)
            raise
        if isinstance(error, BrokenProcessPool):
            outcome = _zero_outcome(task.exercise, "error",
                                    "the grading process died (out of memory?); "
                                    "graded again on the next run")
        elif error is not None:
            outcome = _zero_outcome(task.exercise, "error", _describe_error(error))
        else:
            outcome = future.result()
        pool.shutdown(wait=True)
        finish(task, outcome)


# -- outputs, derived from the journal -------------------------------------------------------


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


def number(value: float) -> str:
    """Fixed formatting for scores: at most 4 decimals, no trailing zeros."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _exercise_result(record: dict | None, exercise, student: str):
    from grader.results import CheckResult, ExerciseResult

    if record is None:
        record = _zero_outcome(exercise, "error", "not graded yet (an interrupted run?); "
                                                  "graded on the next run")
        record["status"] = "error"
    data = record.get("result")
    if data is None:
        data = _zero_outcome(exercise, record["status"], record.get("message", "")).get(
            "result", {"checks": []})
    checks = [
        CheckResult(id=str(c.get("name", "")), name=str(c.get("name", "")),
                    score=float(c.get("score", 0.0)), max_score=float(c.get("max_score", 0.0)),
                    status=str(c.get("status", "error")), hidden=bool(c.get("hidden", False)),
                    message=str(c.get("message", "")))
        for c in data.get("checks", [])
    ]
    notes = [str(n) for n in record.get("notes", [])]
    if record["status"] == "refused" and record.get("message") and not notes:
        notes = [record["message"]]
    result = ExerciseResult(
        exercise=exercise.id, title=str(record.get("title") or exercise.title), checks=checks,
        submission=f"{student}/{_handed_in(exercise)}",
        duration_s=float(data.get("duration_s", 0.0)),
        grader_version=str(data.get("grader_version", __version__)), notes=notes)
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
        results, statuses, messages = [], {}, {}
        for exercise in exercises:
            record, result = _exercise_result(latest.get(keys[(entry.id, exercise.id)]),
                                              exercise, entry.id)
            results.append(result)
            statuses[exercise.id] = record["status"]
            messages[exercise.id] = str(record.get("message", ""))
        status = min(statuses.values(), key=_SEVERITY.index) if statuses else "graded"
        message = next((messages[e] for e, s in statuses.items() if s == status and messages[e]),
                       "")
        total = round(sum(r.score for r in results), 6)
        max_total = sum(e.points for e in exercises)
        rows.append(StudentRow(entry.id, status, message, total, max_total, results, statuses,
                               messages))
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
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", *[e.id for e in exercises], "total", "status"])
    for row in rows:
        writer.writerow([row.id, *[number(r.score) for r in row.exercises], number(row.total),
                         row.status])
    return buffer.getvalue()


def derive_outputs(*, out: Path, entries: list[Entry], exercises: list, keys: dict,
                   records: list[dict]) -> list[StudentRow]:
    """Write gradebook.csv, results/<id>.{json,md,html} and summary.html from ``records``."""
    from grader import class_report, results

    rows = collect(entries=entries, exercises=exercises, keys=keys, records=records)
    folder = out / "results"
    folder.mkdir(mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    for row in rows:
        run = results.RunResult(row.exercises)
        _write_atomic(folder / f"{row.id}.json", results.to_json(run) + "\n")
        _write_atomic(folder / f"{row.id}.md", results.to_markdown(run))
        _write_atomic(folder / f"{row.id}.html", results.to_html(run))
    _write_atomic(out / "gradebook.csv", gradebook_csv(rows, exercises))
    _write_atomic(out / "summary.html", class_report.render_summary(rows, exercises))
    return rows


# -- command line ----------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grade batch",
        description="Grade every submission (sub-folder or .zip) of DIR; re-running resumes.")
    parser.add_argument("directory", type=Path, metavar="DIR")
    parser.add_argument("--out", type=Path, required=True, metavar="OUT",
                        help="folder for the journal, gradebook.csv, results/ and summary.html")
    parser.add_argument("--jobs", type=option_types.jobs, metavar="N",
                        help="parallel graders (default: the number of CPUs)")
    parser.add_argument("--exercises", metavar="A,B",
                        help="comma-separated exercise ids (default: every one with checks)")
    parser.add_argument("--timeout", type=option_types.timeout_seconds, metavar="S",
                        help="wall-clock limit in seconds for one call into a student's code "
                             "(0.1 to 3600)")
    parser.add_argument("--seed", type=option_types.seed,
                        help="seed for generated inputs (default: derandomized)")
    parser.add_argument("--require-isolation", action="store_true",
                        help="refuse to grade unless the sandbox can drop privileges and the "
                             "network")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    """``grade batch DIR --out OUT [--jobs N] [--exercises A,B]``; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        options = _parser().parse_args(argv)
    except SystemExit as exit_:
        return 0 if exit_.code in (0, None) else 2
    try:
        if options.jobs is not None and options.jobs < 1:
            raise GraderError("--jobs must be at least 1.")
        if options.timeout is not None and not options.timeout > 0:
            raise GraderError("--timeout must be a positive number of seconds.")
        names = options.exercises.split(",") if options.exercises is not None else None
        summary = grade_batch(directory=options.directory, out=options.out, jobs=options.jobs,
                              exercises=names, progress=not options.no_progress,
                              timeout_s=options.timeout, seed=options.seed,
                              require_isolation=options.require_isolation)
    except GraderError as error:
        from grader.report import error as print_error

        print_error(str(error))
        return 2
    except OSError as error:  # OUT not writable, a full disk while writing the reports
        from grader.report import error as print_error

        where = f" {error.filename}" if error.filename else ""
        print_error(f"cannot write{where}: {error.strerror or error}")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("grade batch: interrupted; run the same command again to resume.\n")
        return 130
    for warning in summary.warnings:
        sys.stderr.write(f"grade batch: warning: {warning}\n")
    sys.stdout.write(summary.describe() + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    # Through the package, so that the pool pickles grader.batch.grade_pair, not __main__'s.
    from grader.batch import main as _main

    raise SystemExit(_main())
