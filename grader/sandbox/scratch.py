"""The child's scratch folder and environment, prepared before it starts.

The submission's files are copied (size- and count-capped, links never followed)
into ``sub/``, the runtime (``child.py``, ``protocol.py``) into ``runtime/``; the
child writes only in ``work/``. Its environment is built from nothing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from grader.errors import SubmissionError
from grader.limits import MAX_MODEL_FILE_BYTES, MAX_SUBMISSION_FILE_BYTES, MAX_SUBMISSION_FILES

RUNTIME_DIR = Path(__file__).parent / "runtime"


RUNTIME_FILES = ("child.py", "protocol.py", "transfer.py")  # transfer.py: exercise 7's probes


SCRATCH_ROOT = Path(os.environ.get("GRADER_SANDBOX_CACHE", "/var/cache/grade-sandbox")) / "runs"


def child_environment(work: str) -> dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": work,
        "TMPDIR": work,
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "NUMEXPR_NUM_THREADS": "1",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "TF_NUM_INTRAOP_THREADS": "1",
        "TF_NUM_INTEROP_THREADS": "1",
        "KERAS_HOME": os.path.join(work, ".keras"),
        "MPLBACKEND": "Agg",
    }
    # Some CPUs need these for OpenBLAS to compute correctly; they hold no secrets.
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def copy_submission(files: dict[str, Path], destination: Path) -> None:
    destination.mkdir()
    if len(files) > MAX_SUBMISSION_FILES:
        raise SubmissionError(
            f"the submission has {len(files)} Python files; at most {MAX_SUBMISSION_FILES} are accepted"
        )
    for name, source in files.items():
        if source.is_symlink() or not source.is_file():
            continue
        cap = MAX_MODEL_FILE_BYTES if name.endswith(".keras") else MAX_SUBMISSION_FILE_BYTES
        if source.stat().st_size > cap:
            raise SubmissionError(f"{source.name} is larger than {cap // 1024} KB")
        shutil.copyfile(source, destination / name)


def prepare_scratch(files: dict[str, Path], uid: int | None) -> Path:
    """A fresh scratch folder: ``sub/`` (the submission's files), ``work/``, ``runtime/``.

    ``uid`` (the child's private uid, as root) owns ``work/``; the rest is read-only to it.
    """
    # As root the child gets a fresh, private /tmp: its scratch folder must live elsewhere.
    base = None
    if uid is not None:
        base = SCRATCH_ROOT
        base.mkdir(parents=True, exist_ok=True)
        os.chmod(base, 0o711)
    scratch = Path(tempfile.mkdtemp(prefix="grade-sandbox-", dir=base))
    copy_submission(files, scratch / "sub")
    (scratch / "work").mkdir()
    runtime = scratch / "runtime"
    runtime.mkdir()
    for name in RUNTIME_FILES:
        shutil.copyfile(RUNTIME_DIR / name, runtime / name)
    if uid is not None:
        os.chmod(scratch, 0o711)
        os.chown(scratch / "work", uid, uid)
        os.chmod(scratch / "work", 0o700)
        os.chmod(scratch / "sub", 0o555)
        os.chmod(runtime, 0o555)
    return scratch
