"""Every limit the grader enforces, declared once.

``Limits`` is one child's resource limits; ``runner.limits_for`` builds it from the
catalogue's per-exercise values (``assignments.toml``: time limits, memory, file
size, output). The constants below cap what is read from a submission or the
child, each in one place. The child's own caps (``sandbox/runtime/protocol.py``:
frame size, items, blobs) live beside it, because the child loads that file alone.
Sizes in bytes unless the name says MB/KB; times in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

# -- a submission's files, copied into the sandbox -------------------------------------------
MAX_SUBMISSION_FILES = 64
MAX_SUBMISSION_FILE_BYTES = 2 * 1024 * 1024
MAX_MODEL_FILE_BYTES = 64 * 1024 * 1024  # a .keras file (a lab's model, a saved exercise-6 model)
MAX_NOTEBOOK_BYTES = 5 * 1024 * 1024

# -- an untrusted .keras (zip of JSON + weights), inspected without loading it --------------
MAX_KERAS_CONFIG_BYTES = 4 * 1024 * 1024
MAX_KERAS_RATIO = 200  # uncompressed / compressed, per member
MAX_MODEL_PARAMS = 50_000_000  # a lab model is < 5 M; a config declaring more is refused unread
MAX_LAB_TEXT_BYTES = 1024 * 1024  # history.json, answers.toml

# -- a submission zip (grade batch) ----------------------------------------------------------
MAX_ARCHIVE_MEMBERS = 2_000
MAX_ARCHIVE_TOTAL_BYTES = 50 * 1024 * 1024
MAX_ARCHIVE_RATIO = 100
# Below this size a member cannot be a meaningful bomb (the total cap bounds it anyway), and
# tiny, repetitive files legitimately compress very well.
ARCHIVE_RATIO_MIN_BYTES = 256 * 1024
MAX_ARCHIVE_DEPTH = 32
MAX_PATH_COMPONENT_BYTES = 255
# A member's whole relative path: far below PATH_MAX (4096 on Linux, 1024 on macOS) once the
# work folder's own path is in front of it; a longer one is refused, not an OSError for all.
MAX_ARCHIVE_PATH_BYTES = 768

# -- a dataset archive member (CIFAR tarballs) -----------------------------------------------
MAX_DATASET_MEMBER_BYTES = 200 * 1024 * 1024  # the largest real CIFAR member is ~155 MB

# -- the child's replies, checked field by field (sandbox/reply.py) --------------------------
MAX_REPLY_MESSAGE_CHARS = 2000  # the honest runtime cuts exception messages here
MAX_REPLY_NAME_CHARS = 200
MAX_REPLY_FRAMES = 8
MAX_REPLY_MRO = 64
MAX_REPLY_FUNCTIONS = 10_000

# -- command-line values ---------------------------------------------------------------------
MIN_CALL_TIMEOUT_S = 0.1
MAX_CALL_TIMEOUT_S = 3600.0  # one call into the student's code; an hour is far beyond any exercise
MAX_JOBS = 1024
MAX_SEED = 2**32 - 1
MAX_FAIL_UNDER = 1e6

@dataclass(frozen=True)
class ScratchCaps:
    """The child's writable space in bwrap mode: tmpfs folders, each capped in bytes and in inodes."""

    work_bytes: int
    tmp_bytes: int
    inodes: int


@dataclass(frozen=True)
class Limits:
    """Resource limits for one child. Sizes in MB, times in seconds."""

    cpu_s: int = 60
    address_space_mb: int | None = 2048  # None for TensorFlow children (huge virtual reservations)
    rss_mb: int | None = None  # resident memory, watched by the grader (for TensorFlow children)
    file_size_mb: int = 16
    open_files: int = 64
    tasks: int = 0  # extra processes/threads the child may start (0: none)
    output_bytes: int = 64 * 1024  # student stdout/stderr kept per stream
    start_timeout_s: float = 30.0  # the interpreter and the pre-imports (TensorFlow: much longer)
    import_timeout_s: float = 10.0  # importing the student's module
    scratch_mb: int = 64  # the work folder's tmpfs (bubblewrap mode)
    tmp_mb: int = 16  # /tmp's and /dev/shm's tmpfs each (bubblewrap mode)
    scratch_inodes: int = 4096  # files and folders per scratch tmpfs
    reply_mb: int = 32  # one reply frame, checked before it is read
    reply_json_kb: int = 1024  # the JSON part of a reply, checked before it is parsed

    def scratch_caps(self) -> ScratchCaps:
        return ScratchCaps(work_bytes=self.scratch_mb * 1024 * 1024, tmp_bytes=self.tmp_mb * 1024 * 1024,
                           inodes=self.scratch_inodes)
