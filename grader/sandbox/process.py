"""Run untrusted student code in a limited child process and talk to it.

The grader never imports a submission. ``Sandbox`` starts
``grader/sandbox/runtime/child.py`` in a world of its own: under bubblewrap
where it works (``launch.py``: every namespace unshared, a root of
read-only binds, capped tmpfs scratch), else in a fresh scratch directory with
resource limits and, as root, an unprivileged uid, an empty network namespace
and a read-only mount namespace. Either way the child has a new session (a
timeout kills the whole process group) and, as root, a private uid leased for
it alone. Calls go over a pair of pipes as length-prefixed frames
(``runtime/protocol.py``), whose sizes are capped before parsing and
whose shapes are checked (``reply.py``); student stdout/stderr go to two
other pipes that are read into size-capped buffers.

A call either returns a ``CallResult`` (the function returned or raised) or
raises ``ChildFailure`` (the process died, overran a limit, timed out, or
broke the protocol). After a failure the next call starts a fresh child.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import selectors
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from grader.errors import SandboxUnavailable
from grader.limits import (
    Limits,
)
from grader.sandbox.calls import ReplyReader, SandboxCalls
from grader.sandbox.failures import ChildFailure, ImportFailure
from grader.sandbox.interpreter import sandbox_python
from grader.sandbox.isolation import Isolation
from grader.sandbox.launch import (
    SANDBOX_SUBMISSION,
    SANDBOX_WORK,
    Platform,
    UidLease,
    bubblewrap_command,
    detect_platform,
    lease_private_uid,
)
from grader.sandbox.reply import (
    ReplyViolation,
    checked_hello,
)
from grader.sandbox.scratch import (
    child_environment,
    prepare_scratch,
)
from grader.sandbox.tree import (
    CappedBuffer,
    kill_uid,
    pid_namespace,
    start_reader,
    tree_rss_kb,
)

__all__ = ["DEFAULT_PREIMPORT", "Sandbox"]

STARTUP_LINES_SHOWN = 15  # of the sandbox's own output when it cannot start


_REPOSITORY = Path(__file__).resolve().parents[2]


# Without bubblewrap, as root: covered by an empty read-only tmpfs in the child's mount namespace.
HIDDEN_FROM_SUBMISSIONS = (_REPOSITORY / "solutions", _REPOSITORY / "tests", _REPOSITORY / "grader" / "checks",
                           _REPOSITORY / "grader" / "reference", _REPOSITORY / "benchmarks", _REPOSITORY / ".git")


# Interpreter flags: no site, no user site, no script folder on sys.path, no bytecode, unbuffered.
# Not -I/-E: the child's environment is built from nothing here, and PYTHONHASHSEED must take effect.
PYTHON_FLAGS = ("-s", "-S", "-P", "-B", "-u")


UIDS_USED: list[int] = []  # every private uid this process gave a child (tests check none survives)




# Always loaded before the drop of privileges: the student may import these even
# when the interpreter lives in a folder the sandbox user cannot read.
DEFAULT_PREIMPORT = (
    "numpy", "math", "cmath", "itertools", "functools", "collections", "collections.abc",
    "typing", "dataclasses", "numbers", "fractions", "decimal", "random", "copy", "operator",
    "re", "string", "enum", "abc", "warnings", "contextlib", "time", "json", "statistics",
    "heapq", "bisect", "array", "struct", "io", "textwrap", "pprint", "traceback", "inspect",
)


class Sandbox(SandboxCalls):
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
        self._process: subprocess.Popen | None = None
        self._scratch: Path | None = None
        self._uid: int | None = None
        self._lease: UidLease | None = None
        self._stdout = CappedBuffer(self.limits.output_bytes)
        self._stderr = CappedBuffer(self.limits.output_bytes)
        self._request = None
        self._response_fd: int | None = None
        self._info_fd: int | None = None
        self._inner_pid: int | None = None  # the sandbox's pid 1, seen from here (bubblewrap mode)
        self._selector: selectors.BaseSelector | None = None
        self._replies: ReplyReader | None = None  # the stdio transport's reader (no extra fds)
        self._spawned_at = 0.0
        self._killed_for: str | None = None
        self._readers: list[threading.Thread] = []

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
            rlimits=self.platform.rlimits and reported.get("rlimits") is not False,
            transport="pipes" if self.platform.extra_fds else "stdio",
            process_group=self.platform.process_groups,
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
        """The child failed before it answered: the submission's fault only once its import began.

        Before the isolation report no student code has run (the interpreter, the
        runtime and the pre-imports are the grader's): that failure is the grader's or
        this machine's, so it raises ``SandboxUnavailable`` instead of costing the
        submission its points (``grade`` exits 2; a batch grades the pair again).
        """
        self._kill()
        if not importing:
            printed = self._stderr.take().strip().splitlines()[-STARTUP_LINES_SHOWN:]
            shown = "".join(f"\n  {line}" for line in printed)
            raise SandboxUnavailable(
                f"the sandbox could not start ({failure.reason}) before any of the submission's code ran: "
                "a problem of the grader or of this machine, not of the submission, which was not graded."
                + (f" The sandbox printed:{shown}" if shown else ""))
        self.import_failure = ImportFailure({"type": "ChildFailure", "mro": ["ChildFailure"], "kind": failure.kind,
                                             "message": f"{failure.reason} (while importing the submission)",
                                             "where": []})

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
        return prepare_scratch(self.files, self._uid)

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
            kill_uid(self._uid)  # a leftover of a grader that died holding this uid earlier
        self._scratch = self._prepare_scratch()
        request_read, request_write = os.pipe()
        response_read, response_write = os.pipe()
        limits = self.limits
        python = sandbox_python(self.profile)
        bubblewrap = platform.bwrap is not None
        stdio = not platform.extra_fds  # requests on the child's stdin, replies on its stdout
        work = SANDBOX_WORK if bubblewrap else str(self._scratch / "work")
        config = {
            "site_packages": python.site_packages,
            "submission_dir": SANDBOX_SUBMISSION if bubblewrap else str(self._scratch / "sub"),
            "workdir": work,
            "module": self.module,
            "request_fd": 0 if stdio else request_read,
            "response_fd": 1 if stdio else response_write,
            "transport": "stdio" if stdio else "pipes",
            "rlimits": platform.rlimits,
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
        pass_fds = [] if stdio else [request_read, response_write]
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
        env = child_environment(work)
        if os.name == "nt":  # Windows' Python cannot start without it
            env["SYSTEMROOT"] = os.environ.get("SYSTEMROOT", r"C:\Windows")
        try:
            self._process = subprocess.Popen(
                [*command, *PYTHON_FLAGS, script, json.dumps(config)],
                stdin=request_read if stdio else subprocess.DEVNULL,
                stdout=response_write if stdio else subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=tuple(pass_fds),
                cwd=self._scratch / "work",
                env=env,
                start_new_session=platform.process_groups,
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
        if stdio:  # no selector on a pipe everywhere (Windows): a thread reads the replies
            self._replies = ReplyReader(os.fdopen(response_read, "rb", buffering=0))
        else:
            self._response_fd = response_read
            os.set_blocking(response_read, False)
            self._selector = selectors.DefaultSelector()
            self._selector.register(response_read, selectors.EVENT_READ)
        streams = [(self._process.stderr, self._stderr)]
        if not stdio:
            streams.insert(0, (self._process.stdout, self._stdout))
        self._readers = [start_reader(stream, buffer) for stream, buffer in streams]
        self._killed_for = None
        if limits.rss_mb is not None and os.path.isdir("/proc"):  # measured in /proc (Linux)
            threading.Thread(target=self._watch_memory, args=(self._process, limits.rss_mb), daemon=True).start()

    def _watch_memory(self, process: subprocess.Popen, limit_mb: int) -> None:
        """Kill the child when the resident memory of its whole process tree passes ``limit_mb``.

        Polled every 0.1 s over every process in the child's pid namespace
        (bubblewrap), or else in its session: a forked helper counts too.
        """
        namespace = None
        while process.poll() is None:
            if namespace is None and self._inner_pid is not None:
                namespace = pid_namespace(self._inner_pid)
            rss_kb = tree_rss_kb(namespace, process.pid)
            if rss_kb > limit_mb * 1024:
                self._killed_for = f"memory limit exceeded ({limit_mb} MB resident, all its processes together)"
                self._kill_group(process)
                return
            time.sleep(0.1)

    def close(self) -> None:
        """End the child (and anything it started) and remove the scratch directory."""
        if self._process is not None:
            with contextlib.suppress(OSError):
                self._request.close()
            self._kill()  # not waited for to leave by itself: nothing it does on the way out matters
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
        self._kill_group(process)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5.0)  # reaped first: kill_uid waits for every process of the uid to vanish
        if self._uid is not None:
            kill_uid(self._uid)
        for reader in self._readers:  # each closes its pipe at end of file; every writer is dead now
            reader.join(timeout=1.0)
        self._readers = []
        if self._selector is not None:
            self._selector.close()
            self._selector = None
        if self._replies is not None:
            self._replies.close()
            self._replies = None
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

    def _kill_group(self, process: subprocess.Popen) -> None:
        """SIGKILL the child's process group (its session); where there are none, the child alone."""
        if self.platform.process_groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        else:
            with contextlib.suppress(OSError):
                process.kill()

    def _cleanup_scratch(self) -> None:
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
