"""Grading (submission, exercise) pairs in a pool of worker processes.

A worker grades one pair with ``grade_exercise`` and returns its outcome as a
plain dict; the main process alone writes the journal. A worker that dies loses
only its pair, which is recorded as an error; the pool is rebuilt for the rest.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from grader.batch.discover import handed_in
from grader.errors import SubmissionError


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
    from grader.checking.properties import same_draws_in_every_process

    same_draws_in_every_process()  # also done at import; a worker may have imported it before

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


def zero_outcome(exercise, status: str, message: str) -> dict:
    """Zero for every check of ``exercise``, with ``message`` (refused, missing, error)."""
    outcome = {"status": status, "message": message, "title": exercise.title}
    try:
        from grader.runner import missing_submission_result

        zero = missing_submission_result(exercise, Path(handed_in(exercise)), message)
    except Exception:  # the checks themselves cannot be loaded: no per-check result
        return outcome
    result = zero.to_dict(show_hidden=True)
    result["submission"] = handed_in(exercise)
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
        from grader.options import GradingOptions
        from grader.runner import grade_exercise

        options = GradingOptions(seed=seed, timeout_s=timeout_s, require_isolation=require_isolation)
        result = grade_exercise(exercise=exercise, submission=Path(folder), options=options)
    except SubmissionError as error:
        return zero_outcome(exercise, "refused", str(error))
    except Exception as error:
        return zero_outcome(exercise, "error", _describe_error(error))
    finally:
        _share_reference_values()
    data = result.to_dict(show_hidden=True)
    data["submission"] = handed_in(exercise)
    for entry, check in zip(data["checks"], result.checks, strict=True):  # for summary.html
        entry.update(id=check.id, **({"hint": check.hint} if check.hint else {}))
    outcome = {"status": "missing" if result.missing else "graded", "result": data, "title": result.title,
               "notes": list(result.notes), "message": result.message}
    figures = getattr(result, "figures", None)  # a lab's learning curves: (title, base64 PNG)
    if figures:
        outcome["figures"] = [[str(title), str(png)] for title, png in figures]
    return outcome


def _share_reference_values() -> None:
    """Write the TensorFlow values this pair computed to the user's store, for the other workers."""
    import sys

    cache = sys.modules.get("grader.reference.cache")  # loaded only by exercises that need it
    if cache is not None:
        with contextlib.suppress(Exception):
            cache.flush()


@dataclass
class Task:
    key: str
    exercise: object
    folder: Path
    students: list[str]


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


def run_pool(tasks: list[Task], jobs: int, finish, options: tuple) -> None:
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
                outcome = zero_outcome(task.exercise, "error", _describe_error(error))
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
            outcome = zero_outcome(task.exercise, "error",
                                    "the grading process died (out of memory?); "
                                    "graded again on the next run")
        elif error is not None:
            outcome = zero_outcome(task.exercise, "error", _describe_error(error))
        else:
            outcome = future.result()
        pool.shutdown(wait=True)
        finish(task, outcome)
