"""The call side of the sandbox: requests out, replies in, every reply checked.

``SandboxCalls`` is mixed into ``Sandbox`` (``process.py``), which owns the
child's lifecycle; this half owns the channel: a request frame, a reply read with
its size capped before parsing and its shape checked (``reply.py``), and the one
``ChildFailure`` that says why no answer came.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import stat
import subprocess
import threading
import time

from grader.limits import MAX_MODEL_FILE_BYTES
from grader.sandbox.failures import ChildFailure
from grader.sandbox.launch import SANDBOX_WORK
from grader.sandbox.reply import CallResult, ReplyViolation, checked_batch, checked_call
from grader.sandbox.runtime import protocol
from grader.sandbox.tree import signal_name, wait_settled


class ReplyReader:
    """The child's reply stream read by a thread (the stdio transport: no selector on pipes everywhere).

    ``read`` returns what has arrived (at most ``size`` bytes), ``None`` when
    nothing came within ``wait`` seconds, and ``b""`` once the child closed it.
    What the thread holds is bounded by what the parent asks for: it reads on
    only while less than ``READ_AHEAD`` bytes are waiting.
    """

    READ_AHEAD = 4 << 20

    def __init__(self, stream) -> None:
        self._stream = stream
        self._data = bytearray()
        self._closed = False
        self._ready = threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        while True:
            with self._ready:
                while len(self._data) >= self.READ_AHEAD and not self._closed:
                    self._ready.wait()
            try:
                chunk = self._stream.read(1 << 16)
            except (OSError, ValueError):
                chunk = b""
            with self._ready:
                if chunk:
                    self._data += chunk
                else:
                    self._closed = True
                self._ready.notify_all()
            if not chunk:
                return

    def read(self, size: int, wait: float) -> bytes | None:
        with self._ready:
            if not self._data and not self._closed:
                self._ready.wait(timeout=wait)
            if self._data:
                chunk = bytes(self._data[:size])
                del self._data[:size]
                self._ready.notify_all()
                return chunk
            return b"" if self._closed else None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._stream.close()
        with self._ready:
            self._closed = True
            self._ready.notify_all()


class SandboxCalls:
    """Calls into a started child; ``Sandbox`` provides the process and its pipes."""

    # -- calls -------------------------------------------------------------------------------

    def output(self) -> tuple[str, str]:
        """Student stdout and stderr captured since the last call of this method.

        Called after a reply, it includes what the call printed: the pipes are read by
        threads, so it first waits (briefly) until they have caught up.
        """
        wait_settled((self._stdout, self._stderr))
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

    def probe(self, function: str, probe: str, *args: object, timeout: float = 60.0,
              **kwargs: object) -> CallResult:
        """Run the trusted probe ``probe`` (``runtime/transfer.py``) on the student's ``function``.

        The probe calls the function in the child and answers with plain data (a
        model's layers and counts, arrays); ``raised`` is what the student's code raised.
        """
        started = time.monotonic()
        request = {"fn": function, "probe": probe, "args": list(args), "kwargs": kwargs}
        message = self._round_trip(request, timeout)
        result = self._checked(checked_call, message, args=args, kwargs=kwargs, return_args=False)
        result.duration_s = time.monotonic() - started
        return result

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
            # O_NOFOLLOW and O_NONBLOCK are POSIX only; O_BINARY is Windows only
            flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
            descriptor = os.open(path, flags)
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
            chunk = self._read_chunk(min(size - len(chunks), 1 << 20), min(remaining, 0.5))
            if chunk is None:
                if not self.alive:
                    raise self._failure_after_death(None)
                continue
            if not chunk:
                raise self._failure_after_death(None)
            chunks += chunk
        return bytes(chunks)

    def _read_chunk(self, size: int, wait: float) -> bytes | None:
        """Up to ``size`` bytes of the reply stream; None if none within ``wait`` s; b"" once it closed."""
        if self._replies is not None:
            return self._replies.read(size, wait)
        if not self._selector.select(timeout=wait):
            return None
        try:
            return os.read(self._response_fd, size)
        except BlockingIOError:
            return None

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
            if number == getattr(signal, "SIGXCPU", None):  # POSIX only, as the next two
                return ChildFailure("limit", f"CPU time limit exceeded ({self.limits.cpu_s} s, SIGXCPU)")
            if number == getattr(signal, "SIGXFSZ", None):
                return ChildFailure("limit", f"file size limit exceeded ({self.limits.file_size_mb} MB, SIGXFSZ)")
            if number == getattr(signal, "SIGKILL", None):
                return ChildFailure("crash", "killed by signal SIGKILL (a resource limit, or out of memory)")
            return ChildFailure("crash", f"the process crashed: killed by signal {signal_name(number)}")
        return ChildFailure("exit", f"the process exited with code {code} while being graded (sys.exit or os._exit?)")

