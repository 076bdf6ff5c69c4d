"""``grade batch DIR --out OUT``: grade a whole class, resumably.

One submission per sub-folder or ``.zip`` of DIR (a Gradescope export, one folder
per submission beside ``submission_metadata.yml``, is the same layout). Each
submission is copied (folders: regular files only, links never followed) or
safely extracted (``archive.py``) into a private work folder, normalized (a
single wrapping folder and an ``exercises/`` sub-folder are looked through) and
hashed. Each (submission, exercise) pair is graded by ``grade_exercise`` in a
process pool (or on a Dask cluster: ``--scheduler``, ``cluster.py``); the main
process alone writes the journal (``journal.py``), one fsynced line per pair,
and identical submissions are graded once.

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

import contextlib
import fcntl
import os
import shutil
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader import __version__, option_types
from grader.batch.discover import Entry, discover, handed_in, handed_in_names, prepare
from grader.batch.gradebook import derive_outputs
from grader.batch.journal import FINAL_STATUSES, JOURNAL_NAME, Journal, read_journal, record_key
from grader.batch.pool import Task, run_pool, zero_outcome
from grader.batch.similarity import submission_sources
from grader.errors import GraderError, SubmissionError
from grader.intake.locate import find_exercise_file

LOCK_NAME = "journal.lock"


WORK_NAME = ".work"  # the prepared copies of the submissions, during a run


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
                require_isolation: bool = False, scheduler: str | None = None) -> BatchSummary:
    """Grade every submission in ``directory`` into ``out``; resume from ``out``'s journal.

    ``scheduler`` (``tcp://HOST:PORT``): grade the pairs on that Dask cluster
    (``cluster.py``) instead of a local pool of ``jobs`` processes.
    """
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
            names = [name for e in chosen for name in handed_in_names(e)]
            for number, entry in enumerate(entries):
                prepare(entry, work / f"{number:06d}", names)
            keys = {(entry.id, exercise.id): record_key(entry.content_hash, __version__,
                                                        exercise.id, settings)
                    for entry in entries for exercise in chosen}
            _grade_all(entries, chosen, keys, journal, summary, jobs=jobs, progress=progress,
                       seed=seed, timeout_s=timeout_s, require_isolation=require_isolation,
                       scheduler=scheduler)
            sources = submission_sources(entries, chosen)  # summary.html's similar submissions
        finally:
            shutil.rmtree(work, ignore_errors=True)
        records, read_warnings = read_journal(out / JOURNAL_NAME)
        summary.warnings += [w for w in read_warnings if w not in summary.warnings]
        rows = derive_outputs(out=out, entries=entries, exercises=chosen, keys=keys,
                              records=records, sources=sources)
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
    if not exercise.is_lab:  # the one rule of grade EXERCISE PATH (intake/locate.py)
        try:
            return find_exercise_file(exercise, root) is not None
        except SubmissionError:
            return True  # graded, and refused there with the reason
    from grader.runner import locate_lab

    try:
        return locate_lab(exercise, root).is_dir()
    except SubmissionError:
        return False


def _grade_all(entries: list[Entry], chosen: list, keys: dict, journal: Journal,
               summary: BatchSummary, *, jobs: int, progress: bool, seed: int | None,
               timeout_s: float | None, require_isolation: bool, scheduler: str | None = None) -> None:
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
                                  zero_outcome(exercise, "refused", entry.refused)))
            elif not _present(entry.root, exercise):
                reason = f"no {handed_in(exercise)} in the submission"
                immediate.append((key, entry.id, exercise,
                                  zero_outcome(exercise, "missing", reason)))
            elif key in tasks:
                tasks[key].students.append(entry.id)
            else:
                tasks[key] = Task(key, exercise, entry.root, [entry.id])

    def record(key: str, student: str, exercise, outcome: dict) -> None:
        entry = {"key": key, "student": student, "exercise": exercise.id,  # UTC, for reports
                 "graded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **outcome}
        try:
            journal.append(entry)
        except ValueError:  # not JSON (a NaN score from a check?): a grader error, retried
            journal.append({"key": key, "student": student, "exercise": exercise.id,
                            **zero_outcome(exercise, "error", "grader error (a result that "
                                            "is not JSON); graded again on the next run")})
        summary.graded_now += 1

    total = len(immediate) + sum(len(t.students) for t in tasks.values())
    if progress:
        from grader.output.terminal import batch_progress

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
        if scheduler is not None:
            from grader.batch.cluster import run_cluster

            run_cluster(ordered, scheduler, finish, (seed, timeout_s, require_isolation))
        else:
            run_pool(ordered, jobs, finish, (seed, timeout_s, require_isolation))
