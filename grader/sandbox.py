"""Run untrusted student code in a limited child process and talk to it.

The grader never imports a submission. ``Sandbox`` starts
``python -I grader/sandbox_runtime/child.py`` in a fresh scratch directory, with
resource limits, a new session (so a timeout kills the whole process group)
and, when the grader runs as root, an unprivileged uid of its own and an empty
network namespace. Calls go over a pair of pipes as length-prefixed frames
(``sandbox_runtime/protocol.py``); student stdout/stderr go to two other pipes
that are read into size-capped buffers.

A call either returns a ``CallResult`` (the function returned or raised) or
raises ``ChildFailure`` (the process died, overran a limit, timed out, or
broke the protocol). After a failure the next call starts a fresh child.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import secrets
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import SandboxUnavailable, SubmissionError
from grader.sandbox_python import sandbox_python
from grader.sandbox_runtime import protocol

CHILD_SCRIPT = Path(__file__).parent / "sandbox_runtime" / "child.py"
_REPOSITORY = Path(__file__).resolve().parents[1]
# Covered by an empty read-only tmpfs in the child's mount namespace (root only).
HIDDEN_FROM_SUBMISSIONS = (_REPOSITORY / "solutions", _REPOSITORY / "tests", _REPOSITORY / "grader" / "checks",
                           _REPOSITORY / "grader" / "reference", _REPOSITORY / "benchmarks")
UIDS_USED: list[int] = []  # every private uid this process gave a child (tests check none survives)
SCRATCH_ROOT = Path(os.environ.get("GRADER_SANDBOX_CACHE", "/var/cache/grade-sandbox")) / "runs"
MAX_SUBMISSION_FILES = 64
MAX_SUBMISSION_FILE_BYTES = 2 * 1024 * 1024
MAX_MODEL_FILE_BYTES = 64 * 1024 * 1024
# Always loaded before the drop of privileges: the student may import these even
# when the interpreter lives in a folder the sandbox user cannot read.
DEFAULT_PREIMPORT = (
    "numpy", "math", "cmath", "itertools", "functools", "collections", "collections.abc",
    "typing", "dataclasses", "numbers", "fractions", "decimal", "random", "copy", "operator",
    "re", "string", "enum", "abc", "warnings", "contextlib", "time", "json", "statistics",
    "heapq", "bisect", "array", "struct", "io", "textwrap", "pprint", "traceback", "inspect",
)


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


@dataclass
class CallResult:
    """What one call returned: ``value`` or ``raised`` (a dict describing an exception)."""

    value: object = None
    raised: dict | None = None
    args_after: list | None = None
    kwargs_after: dict | None = None
    duration_s: float = 0.0

    @property
    def raised_type(self) -> str | None:
        return self.raised["type"] if self.raised else None

    def raised_subclass_of(self, name: str) -> bool:
        return bool(self.raised) and name in self.raised.get("mro", [])


class ChildFailure(Exception):
    """The child could not answer: ``kind`` is timeout, limit, crash, exit or protocol."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass
class ImportFailure:
    """The submission module raised while being imported."""

    description: dict


class _CappedBuffer:
    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.data = bytearray()
        self.dropped = 0
        self.lock = threading.Lock()

    def feed(self, chunk: bytes) -> None:
        with self.lock:
            room = self.cap - len(self.data)
            if room > 0:
                self.data += chunk[:room]
            self.dropped += max(0, len(chunk) - max(room, 0))

    def take(self) -> str:
        with self.lock:
            text = self.data.decode("utf-8", errors="replace")
            if self.dropped:
                text += f"\n… {self.dropped} more bytes of output not shown (limit {self.cap} bytes)"
            self.data.clear()
            self.dropped = 0
            return text


def _drain(stream, buffer: _CappedBuffer) -> None:
    with contextlib.suppress(OSError, ValueError):
        while chunk := stream.read1(65536):
            buffer.feed(chunk)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


@dataclass
class Isolation:
    """What isolation actually held for a child (reported in the report header)."""

    uid_dropped: bool = False
    network_isolated: bool = False
    filesystem_isolated: bool = False
    stdlib_readable: bool = True
    limits: dict = field(default_factory=dict)

    def describe(self) -> str:
        parts = ["separate process", "python -I", "scratch directory"]
        parts.append("unprivileged uid" if self.uid_dropped else "same user as the grader")
        parts.append("no network" if self.network_isolated else "network not isolated")
        parts.append("read-only file system but its scratch folder" if self.filesystem_isolated
                     else "file system not isolated")
        if not self.stdlib_readable:
            parts.append("standard library limited to pre-imported modules (interpreter not readable by the sandbox uid)")
        return ", ".join(parts)


def _child_environment(scratch: Path) -> dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(scratch / "work"),
        "TMPDIR": str(scratch / "work"),
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
        "KERAS_HOME": str(scratch / "work" / ".keras"),
        "MPLBACKEND": "Agg",
    }
    # Some CPUs need these for OpenBLAS to compute correctly; they hold no secrets.
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def _copy_submission(files: dict[str, Path], destination: Path) -> None:
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


class Sandbox:
    """One student module, imported in a limited child process, answering calls.

    ``files`` maps file names to the submission's Python files (copied into the
    scratch directory, the only submission folder on the child's ``sys.path``);
    ``module`` is the name to import. Use as a context manager.
    """

    def __init__(
        self,
        files: dict[str, Path],
        module: str,
        limits: Limits | None = None,
        *,
        preimport: tuple[str, ...] = DEFAULT_PREIMPORT,
        require_isolation: bool = False,
        profile: str = "numpy",
        hide: tuple[Path, ...] = (),
    ) -> None:
        self.files = dict(files)
        self.module = module
        self.limits = limits or Limits()
        self.preimport = preimport
        self.require_isolation = require_isolation
        self.profile = profile
        self.hide = hide  # more folders the submission must not see (a batch's journal, ...)
        self.import_failure: ImportFailure | None = None
        self.functions: list[str] = []
        self.isolation = Isolation()
        self.restarts = 0
        self.cache: dict = {}
        self._process: subprocess.Popen | None = None
        self._scratch: Path | None = None
        self._uid: int | None = None
        self._stdout = _CappedBuffer(self.limits.output_bytes)
        self._stderr = _CappedBuffer(self.limits.output_bytes)
        self._request = None
        self._response_fd: int | None = None
        self._selector: selectors.BaseSelector | None = None
        self._spawned_at = 0.0
        self._killed_for: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start a child, import the submission, read its hello (or its import error)."""
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        """Start the child without waiting for it (the caller may work meanwhile)."""
        self.import_failure = None
        self._spawn()
        self._spawned_at = time.monotonic()

    def wait_ready(self) -> None:
        """Read the child's isolation report, then its hello (or import error); fail closed if required.

        The isolation report is sent before any student code runs, so it is the
        child's own word; the import that follows gets ``import_timeout_s``.
        """
        try:
            report = self._receive(self._spawned_at + self.limits.start_timeout_s, nonce=None)
        except ChildFailure as failure:
            self._fail_start(failure)
            return
        reported = report.get("isolation") or {}
        self.isolation = Isolation(
            uid_dropped=self._uid is not None and reported.get("uid") == self._uid,
            network_isolated=bool(reported.get("network")),
            filesystem_isolated=bool(reported.get("filesystem")),
            stdlib_readable=reported.get("stdlib_readable", True) is not False,
            limits=self._limit_summary(),
        )
        isolated = self.isolation.uid_dropped and self.isolation.network_isolated and self.isolation.filesystem_isolated
        if self.require_isolation and not isolated:
            self.close()
            raise SandboxUnavailable(
                "isolation was required (--require-isolation) but could not be set up: "
                f"{self.isolation.describe()}. Run the grader as root on Linux, where it can drop "
                "to an unprivileged uid, unshare the network and mount a private file system."
            )
        try:
            message = self._receive(time.monotonic() + self.limits.import_timeout_s, nonce=None,
                                    timeout=self.limits.import_timeout_s)
        except ChildFailure as failure:
            self._fail_start(failure, importing=True)
            return
        if "import_error" in message:
            self.import_failure = ImportFailure(message["import_error"])
        else:
            hello = message.get("hello") or {}
            self.functions = [str(name) for name in hello.get("functions", [])][:10_000]

    def _fail_start(self, failure: ChildFailure, *, importing: bool = False) -> None:
        where = "while importing the submission" if importing else "at start-up"
        self.import_failure = ImportFailure({"type": "ChildFailure", "mro": ["ChildFailure"], "kind": failure.kind,
                                             "message": f"{failure.reason} ({where})", "where": []})
        self._kill()

    def _limit_summary(self) -> dict:
        limits = self.limits
        return {
            "cpu_s": limits.cpu_s,
            "memory_mb": limits.address_space_mb or limits.rss_mb,
            "file_size_mb": limits.file_size_mb,
            "open_files": limits.open_files,
            "extra_tasks": limits.tasks,
            "output_bytes": limits.output_bytes,
        }

    def _prepare_scratch(self) -> Path:
        # As root the child gets a fresh, private /tmp: its scratch folder must live elsewhere.
        base = None
        if self._uid is not None:
            base = SCRATCH_ROOT
            base.mkdir(parents=True, exist_ok=True)
            os.chmod(base, 0o711)
        scratch = Path(tempfile.mkdtemp(prefix="grade-sandbox-", dir=base))
        _copy_submission(self.files, scratch / "sub")
        (scratch / "work").mkdir()
        if self._uid is not None:
            os.chmod(scratch, 0o711)
            os.chown(scratch / "work", self._uid, self._uid)
            os.chmod(scratch / "work", 0o700)
            os.chmod(scratch / "sub", 0o555)
        return scratch

    def _spawn(self) -> None:
        if self.require_isolation and os.geteuid() != 0:
            raise SandboxUnavailable(
                "isolation was required (--require-isolation) but the grader is not running as root, "
                "so it cannot drop the submission to an unprivileged uid."
            )
        self._uid = _next_private_uid() if os.geteuid() == 0 else None
        if self._uid is not None:
            UIDS_USED.append(self._uid)
        self._scratch = self._prepare_scratch()
        request_read, request_write = os.pipe()
        response_read, response_write = os.pipe()
        limits = self.limits
        executable, site_packages, _note = sandbox_python(self.profile)
        config = {
            "site_packages": site_packages,
            "submission_dir": str(self._scratch / "sub"),
            "workdir": str(self._scratch / "work"),
            "module": self.module,
            "request_fd": request_read,
            "response_fd": response_write,
            "preimport": list(self.preimport),
            "uid": self._uid,
            "gid": self._uid,
            "hide": [str(p) for p in HIDDEN_FROM_SUBMISSIONS] + [str(p) for p in self.hide],
            "limits": {
                "cpu_s": limits.cpu_s,
                "address_space_mb": limits.address_space_mb,
                "file_size_mb": limits.file_size_mb,
                "open_files": limits.open_files,
                "tasks": limits.tasks,
            },
        }

        try:
            self._process = subprocess.Popen(
                [executable, "-I", "-S", str(CHILD_SCRIPT), json.dumps(config)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(request_read, response_write),
                cwd=self._scratch / "work",
                env=_child_environment(self._scratch),
                start_new_session=True,
                close_fds=True,
            )
        finally:
            os.close(request_read)
            os.close(response_write)
        self._request = os.fdopen(request_write, "wb", buffering=0)
        self._response_fd = response_read
        os.set_blocking(response_read, False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(response_read, selectors.EVENT_READ)
        for stream, buffer in ((self._process.stdout, self._stdout), (self._process.stderr, self._stderr)):
            threading.Thread(target=_drain, args=(stream, buffer), daemon=True).start()
        self._killed_for = None
        if limits.rss_mb is not None:
            threading.Thread(target=self._watch_memory, args=(self._process, limits.rss_mb), daemon=True).start()

    def _watch_memory(self, process: subprocess.Popen, limit_mb: int) -> None:
        """Kill the child's process group when its resident memory passes ``limit_mb`` (polled every 0.1 s)."""
        status = f"/proc/{process.pid}/status"
        while process.poll() is None:
            try:
                with open(status) as handle:
                    rss_kb = next((int(line.split()[1]) for line in handle if line.startswith("VmRSS:")), 0)
            except (OSError, ValueError, StopIteration):
                return
            if rss_kb > limit_mb * 1024:
                self._killed_for = f"memory limit exceeded ({limit_mb} MB resident)"
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
                return
            time.sleep(0.1)

    def close(self) -> None:
        """End the child (and anything it started) and remove the scratch directory."""
        if self._process is not None:
            with contextlib.suppress(OSError):
                self._request.close()
            try:
                self._process.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                pass
            self._kill()
        self._cleanup_scratch()

    def _kill(self) -> None:
        process = self._process
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        if self._uid is not None:
            _kill_uid(self._uid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5.0)
        for stream in (process.stdout, process.stderr):
            with contextlib.suppress(OSError):
                stream.close()
        if self._selector is not None:
            self._selector.close()
            self._selector = None
        if self._response_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._response_fd)
            self._response_fd = None
        with contextlib.suppress(OSError):
            self._request.close()
        self._process = None

    def _cleanup_scratch(self) -> None:
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    # -- calls -------------------------------------------------------------------------------

    def output(self) -> tuple[str, str]:
        """Student stdout and stderr captured since the last call of this method."""
        return self._stdout.take(), self._stderr.take()

    def call(self, function: str, *args: object, timeout: float = 10.0, return_args: bool = False,
             **kwargs: object) -> CallResult:
        """Call ``function(*args, **kwargs)`` in the child; raise ChildFailure if it cannot answer."""
        started = time.monotonic()
        request = {"fn": function, "args": list(args), "kwargs": kwargs, "return_args": return_args}
        message = self._round_trip(request, timeout)
        return CallResult(
            value=message.get("value"),
            raised=message.get("raised"),
            args_after=message.get("args_after"),
            kwargs_after=message.get("kwargs_after"),
            duration_s=time.monotonic() - started,
        )

    def call_many(self, function: str, calls: list[tuple[tuple, dict]], *, timeout: float = 10.0
                  ) -> list[CallResult]:
        """Many calls of one function in one round trip (cheap inputs swept in bulk).

        The child stops at the first call that raises: the list may be shorter than ``calls``.
        """
        if not calls:
            return []
        message = self._round_trip({"fn": function, "calls": [[list(a), k] for a, k in calls]}, timeout)
        results = message.get("results")
        if not isinstance(results, list) or not 0 < len(results) <= len(calls):
            self._kill()
            raise ChildFailure("protocol", "protocol violation: a batch reply of the wrong length")
        return [CallResult(value=r.get("value"), raised=r.get("raised")) if isinstance(r, dict)
                else CallResult(raised={"type": "ProtocolError", "mro": [], "message": "bad reply"})
                for r in results]

    def build_and_save(self, function: str, *, timeout: float = 60.0) -> CallResult:
        """Call ``function()`` (a model builder) and have the child save the model as .keras.

        ``value`` of the result is the file's bytes (read here with a size cap; the
        file is untrusted and only ever inspected as a zip of JSON).
        """
        started = time.monotonic()
        message = self._round_trip({"fn": function, "save_keras": True}, timeout)
        result = CallResult(raised=message.get("raised"), duration_s=time.monotonic() - started)
        if result.raised is None:
            saved = message.get("value")
            name = saved.get("saved_keras") if isinstance(saved, dict) else None
            if not isinstance(name, str) or "/" in name or name.startswith("."):
                raise ChildFailure("protocol", "protocol violation: a bad saved-model reply")
            result.value = self.read_work_file(name, max_bytes=64 * 1024 * 1024)
        return result

    def read_work_file(self, name: str, *, max_bytes: int) -> bytes:
        """Bytes of a regular file the child wrote in its work folder (no links, size-capped)."""
        path = self._scratch / "work" / name
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as error:
            raise ChildFailure("protocol", f"the saved file {name} cannot be opened ({error.strerror})") from None
        with os.fdopen(descriptor, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ChildFailure("protocol", f"{name} is not a regular file")
            if info.st_size > max_bytes:
                raise ChildFailure("limit", f"{name} is {info.st_size} bytes (limit {max_bytes})")
            return handle.read(max_bytes + 1)

    def _round_trip(self, request: dict, timeout: float) -> dict:
        if not self.alive:
            self.restarts += 1
            self._kill()
            self._cleanup_scratch()
            self.start()
        if self.import_failure is not None:
            raise ChildFailure("import", self.import_failure.description.get("message", "import failed"))
        nonce = secrets.token_hex(8)
        started = time.monotonic()
        try:
            self._request.write(protocol.frame(protocol.encode({**request, "nonce": nonce})))
        except (BrokenPipeError, OSError):
            raise self._failure_after_death(started) from None
        message = self._receive(started + timeout, nonce=nonce, timeout=timeout)
        if "fault" in message:
            raise ChildFailure("protocol", f"the returned value could not be sent back: {message['fault']}")
        return message

    def _receive(self, deadline: float, *, nonce: str | None, timeout: float | None = None) -> dict:
        head = self._read_exact(protocol.HEADER_SIZE, deadline, timeout)
        length = protocol.frame_length(head)
        if length > protocol.MAX_FRAME_BYTES:
            self._kill()
            raise ChildFailure("protocol", f"protocol violation: a {length}-byte frame (limit {protocol.MAX_FRAME_BYTES})")
        payload = self._read_exact(length, deadline, timeout)
        try:
            message = protocol.decode(payload)
        except protocol.ProtocolError as error:
            self._kill()
            raise ChildFailure("protocol", f"protocol violation: {error}") from None
        if nonce is not None and message.get("nonce") != nonce:
            self._kill()
            raise ChildFailure("protocol", "protocol violation: a reply that does not answer the call (forged frame?)")
        return message

    def _read_exact(self, size: int, deadline: float, timeout: float | None) -> bytes:
        chunks = bytearray()
        while len(chunks) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._kill()
                limit = f"{timeout:g} s" if timeout is not None else f"{self.limits.start_timeout_s:g} s at start-up"
                raise ChildFailure("timeout", f"timed out after {limit} (wall clock); the process was stopped")
            if not self._selector.select(timeout=min(remaining, 0.5)):
                if not self.alive:
                    raise self._failure_after_death(None)
                continue
            try:
                chunk = os.read(self._response_fd, size - len(chunks))
            except BlockingIOError:
                continue
            if not chunk:
                raise self._failure_after_death(None)
            chunks += chunk
        return bytes(chunks)

    def _failure_after_death(self, _started: float | None) -> ChildFailure:
        process = self._process
        code = None
        if process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = process.wait(timeout=2.0)
        self._kill()
        if self._killed_for is not None:
            return ChildFailure("limit", self._killed_for)
        if code is None:
            return ChildFailure("protocol", "the submission closed the grading channel")
        if code < 0:
            number = -code
            if number == signal.SIGXCPU:
                return ChildFailure("limit", f"CPU time limit exceeded ({self.limits.cpu_s} s, SIGXCPU)")
            if number == signal.SIGXFSZ:
                return ChildFailure("limit", f"file size limit exceeded ({self.limits.file_size_mb} MB, SIGXFSZ)")
            if number == signal.SIGKILL:
                return ChildFailure("crash", "killed by signal SIGKILL (a resource limit, or out of memory)")
            return ChildFailure("crash", f"the process crashed: killed by signal {_signal_name(number)}")
        return ChildFailure("exit", f"the process exited with code {code} while being graded (sys.exit or os._exit?)")


_uid_counter = itertools.count()


def _next_private_uid() -> int:
    """A uid no other live sandbox uses: derived from this process's pid and a counter.

    Parallel graders (batch workers) have distinct pids, so their children never
    share a uid, and cleaning up one never kills another's processes.
    """
    return 1_000_000 + (os.getpid() % 15_000) * 64 + next(_uid_counter) % 64


def _kill_uid(uid: int) -> None:
    """SIGKILL every process owned by ``uid`` (the sandbox's private uid), double-forked ones too."""
    if not sys.platform.startswith("linux"):
        return
    for _ in range(3):
        found = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    found = True
                    os.kill(int(entry), signal.SIGKILL)
            except (OSError, ValueError):
                continue
        if not found:
            return
        time.sleep(0.05)
