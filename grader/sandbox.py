"""Run untrusted student code in a limited child process and talk to it.

The grader never imports a submission. ``Sandbox`` starts
``grader/sandbox_runtime/child.py`` in a world of its own: under bubblewrap
where it works (``sandbox_launch.py``: every namespace unshared, a root of
read-only binds, capped tmpfs scratch), else in a fresh scratch directory with
resource limits and, as root, an unprivileged uid, an empty network namespace
and a read-only mount namespace. Either way the child has a new session (a
timeout kills the whole process group) and, as root, a private uid leased for
it alone. Calls go over a pair of pipes as length-prefixed frames
(``sandbox_runtime/protocol.py``), whose sizes are capped before parsing and
whose shapes are checked (``sandbox_reply.py``); student stdout/stderr go to two
other pipes that are read into size-capped buffers.

A call either returns a ``CallResult`` (the function returned or raised) or
raises ``ChildFailure`` (the process died, overran a limit, timed out, or
broke the protocol). After a failure the next call starts a fresh child.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import select
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
from grader.sandbox_launch import (
    SANDBOX_SUBMISSION,
    SANDBOX_WORK,
    Platform,
    ScratchCaps,
    UidLease,
    bubblewrap_command,
    detect_platform,
    lease_private_uid,
)
from grader.sandbox_python import sandbox_python
from grader.sandbox_reply import (
    CallResult,
    ReplyViolation,
    checked_batch,
    checked_call,
    checked_hello,
)
from grader.sandbox_runtime import protocol

__all__ = ["CallResult", "ChildFailure", "Isolation", "Limits", "Sandbox"]

RUNTIME_DIR = Path(__file__).parent / "sandbox_runtime"
RUNTIME_FILES = ("child.py", "protocol.py")
_REPOSITORY = Path(__file__).resolve().parents[1]
# Without bubblewrap, as root: covered by an empty read-only tmpfs in the child's mount namespace.
HIDDEN_FROM_SUBMISSIONS = (_REPOSITORY / "solutions", _REPOSITORY / "tests", _REPOSITORY / "grader" / "checks",
                           _REPOSITORY / "grader" / "reference", _REPOSITORY / "benchmarks", _REPOSITORY / ".git")
# Interpreter flags: no site, no user site, no script folder on sys.path, no bytecode, unbuffered.
# Not -I/-E: the child's environment is built from nothing here, and PYTHONHASHSEED must take effect.
PYTHON_FLAGS = ("-s", "-S", "-P", "-B", "-u")
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
    scratch_mb: int = 64  # the work folder's tmpfs (bubblewrap mode)
    tmp_mb: int = 16  # /tmp's and /dev/shm's tmpfs each (bubblewrap mode)
    scratch_inodes: int = 4096  # files and folders per scratch tmpfs
    reply_mb: int = 32  # one reply frame, checked before it is read
    reply_json_kb: int = 1024  # the JSON part of a reply, checked before it is parsed

    def scratch_caps(self) -> ScratchCaps:
        return ScratchCaps(work_bytes=self.scratch_mb * 1024 * 1024, tmp_bytes=self.tmp_mb * 1024 * 1024,
                           inodes=self.scratch_inodes)


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
    bubblewrap: bool = False  # the child's world was built by bwrap, every namespace unshared
    capabilities_dropped: bool = False
    scratch_capped: bool = False  # size- and inode-capped tmpfs scratch

    @property
    def full(self) -> bool:
        """Everything ``--require-isolation`` asks for held."""
        return (self.bubblewrap and self.capabilities_dropped and self.scratch_capped
                and self.network_isolated and self.filesystem_isolated)

    def describe(self) -> str:
        if self.bubblewrap:
            parts = ["bubblewrap held: own user, pid, ipc, network, uts and cgroup namespaces",
                     "a root of read-only binds (the Python installation only)",
                     "no capabilities" if self.capabilities_dropped else "capabilities NOT dropped",
                     "scratch capped at {} MB and {} files".format(self.limits.get("scratch_mb"),
                                                                   self.limits.get("scratch_inodes"))
                     if self.scratch_capped else "scratch capped in size only"]
            if self.uid_dropped:
                parts.append("unprivileged uid")
            return ", ".join(parts)
        parts = ["bubblewrap not available (fallback)", "separate process", "scratch directory"]
        parts.append("unprivileged uid" if self.uid_dropped else "same user as the grader")
        parts.append("no network" if self.network_isolated else "network not isolated")
        parts.append("read-only file system but its scratch folder" if self.filesystem_isolated
                     else "file system not isolated")
        if not self.stdlib_readable:
            parts.append("standard library limited to pre-imported modules (interpreter not readable by the sandbox uid)")
        return ", ".join(parts)


def _pid_namespace(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def _tree_rss_kb(namespace: str | None, session: int) -> int:
    """Resident memory (KB) of every process in the child's pid namespace, or else its session."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if namespace is not None:
                if os.readlink(f"/proc/{entry}/ns/pid") != namespace:
                    continue
            else:
                with open(f"/proc/{entry}/stat") as handle:
                    if int(handle.read().rsplit(")", 1)[1].split()[3]) != session:  # state ppid pgrp session
                        continue
            with open(f"/proc/{entry}/status") as handle:
                total += next((int(line.split()[1]) for line in handle if line.startswith("VmRSS:")), 0)
        except (OSError, ValueError, IndexError):
            continue
    return total


def _child_environment(work: str) -> dict[str, str]:
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
        platform: Platform | None = None,
    ) -> None:
        self.files = dict(files)
        self.module = module
        self.limits = limits or Limits()
        self.preimport = preimport
        self.require_isolation = require_isolation
        self.profile = profile
        self.hide = hide  # more folders the submission must not see without bubblewrap (a batch's journal, ...)
        self.platform = platform or detect_platform()
        self.import_failure: ImportFailure | None = None
        self.functions: list[str] = []
        self.isolation = Isolation()
        self.restarts = 0
        self.cache: dict = {}
        self._process: subprocess.Popen | None = None
        self._scratch: Path | None = None
        self._uid: int | None = None
        self._lease: UidLease | None = None
        self._stdout = _CappedBuffer(self.limits.output_bytes)
        self._stderr = _CappedBuffer(self.limits.output_bytes)
        self._request = None
        self._response_fd: int | None = None
        self._info_fd: int | None = None
        self._inner_pid: int | None = None  # the sandbox's pid 1, seen from here (bubblewrap mode)
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

    @property
    def uses_bubblewrap(self) -> bool:
        return self.platform.bwrap is not None

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
        reported = report.get("isolation") if isinstance(report.get("isolation"), dict) else {}
        bubblewrap = self.uses_bubblewrap and self._inner_pid is not None
        self.isolation = Isolation(
            uid_dropped=self._uid is not None and (bubblewrap or reported.get("uid") == self._uid),
            network_isolated=reported.get("network") is True,
            filesystem_isolated=reported.get("filesystem") is True,
            stdlib_readable=reported.get("stdlib_readable", True) is not False,
            limits=self._limit_summary(),
            bubblewrap=bubblewrap,
            capabilities_dropped=bubblewrap and reported.get("capabilities_dropped") is True,
            scratch_capped=bubblewrap and reported.get("scratch_inodes") is True,
        )
        if self.require_isolation and not self.isolation.full:
            self.close()
            raise SandboxUnavailable(
                "isolation was required (--require-isolation) but did not fully hold: "
                f"{self.isolation.describe()}. Install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) "
                "on a Linux kernel that allows user namespaces."
            )
        try:
            message = self._receive(time.monotonic() + self.limits.import_timeout_s, nonce=None,
                                    timeout=self.limits.import_timeout_s)
            answer = checked_hello(message)
        except ChildFailure as failure:
            self._fail_start(failure, importing=True)
            return
        except ReplyViolation as violation:
            self._fail_start(ChildFailure("protocol", f"protocol violation: {violation}"), importing=True)
            return
        if isinstance(answer, dict):
            self.import_failure = ImportFailure(answer)
        else:
            self.functions = answer

    def _read_bubblewrap_info(self, deadline: float) -> None:
        """bwrap's --info-fd report: the sandbox's pid 1 as seen from here (its scratch, its memory).

        bwrap writes it, then closes the pipe, before the child runs anything.
        """
        if self._info_fd is None:
            return
        data = b""
        with contextlib.suppress(OSError):
            while len(data) < 4096 and (remaining := deadline - time.monotonic()) > 0:
                ready, _, _ = select.select([self._info_fd], [], [], remaining)
                if not ready or not (chunk := os.read(self._info_fd, 4096)):
                    break
                data += chunk
        with contextlib.suppress(OSError):
            os.close(self._info_fd)
        self._info_fd = None
        try:
            pid = json.loads(data.decode()).get("child-pid")
        except (ValueError, AttributeError, UnicodeDecodeError):
            return
        if type(pid) is int and pid > 0:
            self._inner_pid = pid

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
            "scratch_mb": limits.scratch_mb,
            "scratch_inodes": limits.scratch_inodes,
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
        runtime = scratch / "runtime"
        runtime.mkdir()
        for name in RUNTIME_FILES:
            shutil.copyfile(RUNTIME_DIR / name, runtime / name)
        if self._uid is not None:
            os.chmod(scratch, 0o711)
            os.chown(scratch / "work", self._uid, self._uid)
            os.chmod(scratch / "work", 0o700)
            os.chmod(scratch / "sub", 0o555)
            os.chmod(runtime, 0o555)
        return scratch

    def _spawn(self) -> None:
        platform = self.platform
        if self.require_isolation and platform.bwrap is None:
            raise SandboxUnavailable(
                "isolation was required (--require-isolation) but bubblewrap is not available here "
                "(install it: apt-get install bubblewrap; it needs a Linux kernel that allows user namespaces)."
            )
        self._uid = None
        if platform.private_uid:
            self._lease = lease_private_uid()
            self._uid = self._lease.uid
            UIDS_USED.append(self._uid)
            _kill_uid(self._uid)  # a leftover of a grader that died holding this uid earlier
        self._scratch = self._prepare_scratch()
        request_read, request_write = os.pipe()
        response_read, response_write = os.pipe()
        limits = self.limits
        python = sandbox_python(self.profile)
        bubblewrap = platform.bwrap is not None
        work = SANDBOX_WORK if bubblewrap else str(self._scratch / "work")
        config = {
            "site_packages": python.site_packages,
            "submission_dir": SANDBOX_SUBMISSION if bubblewrap else str(self._scratch / "sub"),
            "workdir": work,
            "module": self.module,
            "request_fd": request_read,
            "response_fd": response_write,
            "preimport": list(self.preimport),
            "uid": None if bubblewrap else self._uid,
            "gid": None if bubblewrap else self._uid,
            "private_uid": self._uid is not None,
            "hide": [str(p) for p in HIDDEN_FROM_SUBMISSIONS] + [str(p) for p in self.hide],
            "limits": {
                "cpu_s": limits.cpu_s,
                "address_space_mb": limits.address_space_mb,
                "file_size_mb": limits.file_size_mb,
                "open_files": limits.open_files,
                "tasks": limits.tasks,
            },
        }
        pass_fds = [request_read, response_write]
        info_read = info_write = None
        if bubblewrap:
            caps = limits.scratch_caps()
            config["bubblewrap"] = {"scratch": [SANDBOX_WORK, "/tmp", "/dev/shm"], "inodes": caps.inodes,
                                    "scratch_bytes": {SANDBOX_WORK: caps.work_bytes, "/tmp": caps.tmp_bytes,
                                                      "/dev/shm": caps.tmp_bytes}}
            info_read, info_write = os.pipe()
            pass_fds.append(info_write)
            command = bubblewrap_command(platform.bwrap, interpreter=python.executable,
                                         python_roots=python.roots, site_packages=python.site_packages,
                                         runtime_dir=self._scratch / "runtime", submission_dir=self._scratch / "sub",
                                         caps=caps, info_fd=info_write)
            script = "/sandbox/runtime/child.py"
        else:
            command = [python.executable]
            script = str(self._scratch / "runtime" / "child.py")
        as_uid = {"user": self._uid, "group": self._uid, "extra_groups": []} if bubblewrap and self._uid else {}
        try:
            self._process = subprocess.Popen(
                [*command, *PYTHON_FLAGS, script, json.dumps(config)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=tuple(pass_fds),
                cwd=self._scratch / "work",
                env=_child_environment(work),
                start_new_session=True,
                close_fds=True,
                **as_uid,
            )
        finally:
            os.close(request_read)
            os.close(response_write)
            if info_write is not None:
                os.close(info_write)
        self._info_fd = info_read
        self._inner_pid = None
        self._read_bubblewrap_info(time.monotonic() + self.limits.start_timeout_s)
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
        """Kill the child when the resident memory of its whole process tree passes ``limit_mb``.

        Polled every 0.1 s over every process in the child's pid namespace
        (bubblewrap), or else in its session: a forked helper counts too.
        """
        namespace = None
        while process.poll() is None:
            if namespace is None and self._inner_pid is not None:
                namespace = _pid_namespace(self._inner_pid)
            rss_kb = _tree_rss_kb(namespace, process.pid)
            if rss_kb > limit_mb * 1024:
                self._killed_for = f"memory limit exceeded ({limit_mb} MB resident, all its processes together)"
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
        if self._inner_pid is not None and process.poll() is None:
            # The sandbox's pid 1 first: the kernel then kills its whole pid namespace, and bwrap,
            # its parent, reaps it and exits (killing bwrap first would orphan it to the host's init).
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self._inner_pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=1.0)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5.0)  # reaped first: _kill_uid waits for every process of the uid to vanish
        if self._uid is not None:
            _kill_uid(self._uid)
        for stream in (process.stdout, process.stderr):
            with contextlib.suppress(OSError):
                stream.close()
        if self._selector is not None:
            self._selector.close()
            self._selector = None
        for name in ("_response_fd", "_info_fd"):
            descriptor = getattr(self, name)
            if descriptor is not None:
                with contextlib.suppress(OSError):
                    os.close(descriptor)
                setattr(self, name, None)
        with contextlib.suppress(OSError):
            self._request.close()
        self._process = None
        self._inner_pid = None
        if self._lease is not None:
            self._lease.release()
            self._lease = None

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
        result = self._checked(checked_call, message, args=args, kwargs=kwargs, return_args=return_args)
        result.duration_s = time.monotonic() - started
        return result

    def call_many(self, function: str, calls: list[tuple[tuple, dict]], *, timeout: float = 10.0
                  ) -> list[CallResult]:
        """Many calls of one function in one round trip (cheap inputs swept in bulk).

        The child stops at the first call that raises: the list may be shorter
        than ``calls`` only when its last result raised (anything else is a
        protocol violation, never a pass).
        """
        if not calls:
            return []
        message = self._round_trip({"fn": function, "calls": [[list(a), k] for a, k in calls]}, timeout)
        return self._checked(checked_batch, message, len(calls))

    def _checked(self, check, *args, **kwargs):
        try:
            return check(*args, **kwargs)
        except ReplyViolation as violation:
            self._kill()
            raise ChildFailure("protocol", f"protocol violation: {violation}") from None

    def build_and_save(self, function: str, *, timeout: float = 60.0) -> CallResult:
        """Call ``function()`` (a model builder) and have the child save the model as .keras.

        ``value`` of the result is the file's bytes (read here with a size cap; the
        file is untrusted and only ever inspected as a zip of JSON).
        """
        started = time.monotonic()
        message = self._round_trip({"fn": function, "save_keras": True}, timeout)
        result = self._checked(checked_call, message, args=(), kwargs={}, return_args=False)
        result.duration_s = time.monotonic() - started
        if result.raised is None:
            saved = result.value
            name = saved.get("saved_keras") if isinstance(saved, dict) and set(saved) == {"saved_keras"} else None
            if not isinstance(name, str) or "/" in name or name.startswith(".") or len(name) > 100:
                self._kill()
                raise ChildFailure("protocol", "protocol violation: a bad saved-model reply")
            result.value = self.read_work_file(name, max_bytes=MAX_MODEL_FILE_BYTES)
        return result

    def _work_folder(self) -> str:
        if self.uses_bubblewrap:
            if self._inner_pid is None:
                raise ChildFailure("protocol", "the sandbox's scratch folder cannot be reached")
            return f"/proc/{self._inner_pid}/root{SANDBOX_WORK}"
        return str(self._scratch / "work")

    def read_work_file(self, name: str, *, max_bytes: int) -> bytes:
        """Bytes of a regular file the child wrote in its work folder (no links, size-capped)."""
        path = os.path.join(self._work_folder(), name)
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
            fault = message["fault"]
            if set(message) != {"nonce", "fault"} or not isinstance(fault, str) or len(fault) > 500:
                self._kill()
                raise ChildFailure("protocol", "protocol violation: a malformed fault reply")
            raise ChildFailure("protocol", f"the returned value could not be sent back: {fault}")
        return message

    def _receive(self, deadline: float, *, nonce: str | None, timeout: float | None = None) -> dict:
        head = self._read_exact(protocol.HEADER_SIZE, deadline, timeout)
        length = protocol.frame_length(head)
        cap = self.limits.reply_mb * 1024 * 1024
        if length > cap:
            self._kill()
            raise ChildFailure("protocol", f"protocol violation: a reply of {length} bytes (limit {cap})")
        payload = self._read_exact(length, deadline, timeout)
        try:
            message = protocol.decode(payload, max_json_bytes=self.limits.reply_json_kb * 1024)
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
                chunk = os.read(self._response_fd, min(size - len(chunks), 1 << 20))
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
        if code > 128 and self.uses_bubblewrap:
            code = -(code - 128)  # bwrap reports a child killed by signal N as exit code 128 + N
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


def _kill_uid(uid: int) -> None:
    """SIGKILL every process owned by ``uid`` (the sandbox's private uid), double-forked ones too.

    Waits (up to about 2 s) until none is left, zombies included: the uid's lease
    is released right after, and the next holder must find it unused.
    """
    if not sys.platform.startswith("linux"):
        return
    for _ in range(80):
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
        time.sleep(0.025)
