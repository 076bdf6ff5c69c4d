"""Grading (submission, exercise) pairs on a Dask cluster: ``grade batch DIR --out OUT --scheduler ADDRESS``.

The machine that runs ``grade batch`` keeps everything that is the course's:
the journal, the gradebook and the reports are written there, by
``run.py``, exactly as for a local pool. What travels to a worker is one pair:
the exercise (its catalogue entry), the prepared submission as data (relative
path -> bytes; a worker never reads a shared folder) and the grading settings.
A worker writes the files into a private temporary folder, grades them with
``grade_pair`` in its own sandbox, and sends back the outcome dict, nothing else.

Before any pair is sent, every connected worker must run the same grader as
this machine: the same ``grader.__version__``, the same fingerprint of the
grader's source files, and the same NumPy, hypothesis, TensorFlow and Keras
versions (hypothesis decides the generated inputs, TensorFlow the expected
values). A worker that joins later is checked again by each task it runs.

A worker that dies (kill -9, a lost machine) loses its pairs to the scheduler,
which runs them again elsewhere (Dask's ``distributed.scheduler.allowed-failures``,
3 by default); a pair that kills that many workers is recorded as a grader error
and graded again on the next run, as in the local pool.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import stat
import sys
import tempfile
import threading
from functools import cache
from pathlib import Path, PurePosixPath

from grader import __version__
from grader.batch.pool import Task, grade_pair, zero_outcome
from grader.checking.properties import same_draws_in_every_process
from grader.errors import GraderError

CONNECT_TIMEOUT_S = 30.0
_GRADING = threading.Lock()  # one pair at a time per worker process, whatever its --nthreads
_DISTRIBUTIONS = ("numpy", "hypothesis", "keras")


@cache
def source_fingerprint() -> str:
    """SHA-256 of every ``.py`` and ``.toml`` file of the installed grader package (path and bytes)."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.suffix not in (".py", ".toml") or "__pycache__" in path.parts or not path.is_file():
            continue
        digest.update(path.relative_to(package).as_posix().encode() + b"\x00")
        digest.update(path.read_bytes() + b"\x00")
    return digest.hexdigest()


def worker_identity() -> dict:
    """What must be equal on this machine and on every worker for the results to be identical."""
    from importlib import metadata

    from grader.reference.cache import namespace

    versions = {}
    for name in _DISTRIBUTIONS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"grader": __version__, "source": source_fingerprint(), "tensorflow": namespace()["tensorflow"],
            "python": f"{sys.version_info.major}.{sys.version_info.minor}", **versions}


def _differences(mine: dict, theirs: object) -> list[str]:
    if not isinstance(theirs, dict):
        return [f"it answered {theirs!r}"]
    shown = {"source": "the grader's source files"}
    return [f"{shown.get(k, k)} {theirs.get(k)!r} (here {mine[k]!r})" if k != "source"
            else "the grader's source files differ" for k in mine if theirs.get(k) != mine[k]]


def pack(folder: Path) -> dict[str, bytes]:
    """The regular files under ``folder`` (a prepared submission), as relative POSIX path -> bytes."""
    files = {}
    for path in sorted(folder.rglob("*")):
        info = os.lstat(path)
        if stat.S_ISREG(info.st_mode):
            files[path.relative_to(folder).as_posix()] = path.read_bytes()
    return files


def unpack(files: dict[str, bytes], folder: Path) -> None:
    """Write ``pack``'s files under ``folder`` (folders 0700, files 0600); refuses a path that leaves it."""
    for name, data in files.items():
        relative = PurePosixPath(name)
        if relative.is_absolute() or not relative.parts or any(p in ("", ".", "..") for p in relative.parts):
            raise GraderError(f"refusing the file name {name!r} sent with a pair")
        target = folder.joinpath(*relative.parts)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)


def grade_remote(exercise, files: dict[str, bytes], seed: int | None, timeout_s: float | None,
                 require_isolation: bool, expected: dict) -> dict:
    """On a worker: grade one pair sent as data, in a private folder.

    Returns {"outcome": ``grade_pair``'s outcome, "folder": that folder} (see
    ``local_outcome``), or an outcome alone when the pair could not be graded.
    """
    with _GRADING:
        differences = _differences(worker_identity(), expected)
        if differences:
            return zero_outcome(exercise, "error", "grader error (this Dask worker runs another grader: "
                                f"{'; '.join(differences)}); graded again on the next run")
        same_draws_in_every_process()
        with tempfile.TemporaryDirectory(prefix="grade-cluster-") as folder:
            try:
                unpack(files, Path(folder))
            except (GraderError, OSError) as error:
                return zero_outcome(exercise, "error", f"grader error ({error}); graded again on the next run")
            return {"outcome": grade_pair(exercise, folder, seed, timeout_s, require_isolation), "folder": folder}


def _replace_text(value: object, old: str, new: str) -> object:
    """``value`` (an outcome: dicts, lists, strings, numbers) with ``old`` replaced by ``new`` in every string."""
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, dict):
        return {key: _replace_text(item, old, new) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace_text(item, old, new) for item in value]
    return value


def local_outcome(reply: object, task: Task) -> dict:
    """A worker's reply as the local pool's outcome: the worker's private folder (named in a "Re-run:"
    hint) becomes this machine's prepared copy, so that both give the same bytes."""
    if isinstance(reply, dict) and set(reply) == {"outcome", "folder"} and isinstance(reply["folder"], str) \
            and reply["folder"]:
        return _replace_text(reply["outcome"], reply["folder"], str(task.folder))
    if isinstance(reply, dict) and "status" in reply:
        return reply
    return zero_outcome(task.exercise, "error", "grader error (a Dask worker's reply is not an outcome); "
                        "graded again on the next run")


def _connect(address: str):
    try:
        from distributed import Client
    except ImportError:
        raise GraderError("--scheduler needs Dask: pip install 'dask' 'distributed' "
                          "(the grader's `cluster` extra)") from None
    for name in ("distributed", "distributed.client", "distributed.scheduler", "distributed.core"):
        logging.getLogger(name).setLevel(logging.ERROR)  # a lost worker is handled, not news
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise GraderError(f"--scheduler {address}: cannot reach the Dask scheduler ({error})") from None
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as error:
        client.close()
        raise GraderError(f"--scheduler {address}: no Dask worker joined within "
                          f"{CONNECT_TIMEOUT_S:g} s ({type(error).__name__})") from None
    return client


def check_workers(client, address: str) -> int:
    """Refuse to start unless every worker runs this grader (``worker_identity``); returns their count."""
    mine = worker_identity()
    try:
        theirs = client.run(worker_identity)
    except Exception as error:  # a worker without the grader cannot even unpickle the call
        raise GraderError(f"--scheduler {address}: a worker cannot run the grader "
                          f"({type(error).__name__}: {error}); install this grader on every worker") from None
    problems = [f"{worker}: {', '.join(_differences(mine, identity))}"
                for worker, identity in sorted(theirs.items()) if _differences(mine, identity)]
    if problems:
        raise GraderError(f"--scheduler {address}: the workers must run the same grader as this machine "
                          f"(grader {__version__}); " + "; ".join(problems))
    return len(theirs)


def run_cluster(tasks: list[Task], address: str, finish, options: tuple) -> None:
    """Grade ``tasks`` on the Dask cluster at ``address``; ``finish(task, outcome)`` runs here, in order
    of completion (the journal's order does not matter: every output is sorted)."""
    if not tasks:
        return
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    client = _connect(address)
    futures: dict = {}
    try:
        check_workers(client, address)
        expected = worker_identity()
        for task in tasks:
            future = client.submit(grade_remote, task.exercise, pack(task.folder), *options, expected,
                                   key=f"grade-{task.key}", pure=False)
            futures[future] = task
        for future in as_completed(list(futures), loop=client.loop):
            task = futures.pop(future)
            try:
                outcome = local_outcome(future.result(), task)
            except KilledWorker:
                outcome = zero_outcome(task.exercise, "error", "the grading process died on every Dask worker "
                                       "that tried (out of memory?); graded again on the next run")
            except Exception as error:
                outcome = zero_outcome(task.exercise, "error", f"grader error on a Dask worker "
                                       f"({type(error).__name__}: {error}); graded again on the next run")
            finish(task, outcome)
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel(list(futures))
        raise
    finally:
        with contextlib.suppress(Exception):
            client.close()
