"""The child's process tree seen from the grader: capped output, memory, signals, killing.

Linux ``/proc`` is read where it exists; elsewhere the functions do nothing (the
child's process group and the wall-clock timeout remain).
"""

from __future__ import annotations

import contextlib
import os
import signal
import struct
import sys
import threading
import time


class CappedBuffer:
    """What one of the child's output pipes carried, kept up to ``cap`` bytes (the rest counted)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.data = bytearray()
        self.dropped = 0
        self.lock = threading.Lock()
        self.fd: int | None = None  # the pipe a reader thread is reading (None: none, or it ended)
        self.reading = False  # a chunk has left the pipe and is not in ``data`` yet

    def feed(self, chunk: bytes) -> None:
        with self.lock:
            room = self.cap - len(self.data)
            if room > 0:
                self.data += chunk[:room]
            self.dropped += max(0, len(chunk) - max(room, 0))
            self.reading = False

    def take(self) -> str:
        with self.lock:
            text = self.data.decode("utf-8", errors="replace")
            if self.dropped:
                text += f"\n… {self.dropped} more bytes of output not shown (limit {self.cap} bytes)"
            self.data.clear()
            self.dropped = 0
            return text

    def settled(self) -> bool | None:
        """Whether everything written to the pipe so far is in ``data``; None where the platform cannot tell.

        The child writes unbuffered, so when its reply arrives its prints are in the
        pipe: the pipe is empty (``FIONREAD``) and no chunk is between pipe and buffer.
        A buffer no thread reads (any more) is settled.
        """
        if _pending_bytes is None:
            return None
        with self.lock:
            if self.reading:
                return False
            if self.fd is None:
                return True
            try:
                return _pending_bytes(self.fd) == 0
            except OSError:  # the pipe is closed: nothing more can arrive
                return True


def _fionread(fd: int) -> int:
    return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]


try:  # POSIX; elsewhere (Windows) output is settled by waiting a little instead
    import fcntl
    import select
    import termios

    _pending_bytes = _fionread if hasattr(select, "poll") else None
except ImportError:
    _pending_bytes = None


def start_reader(stream, buffer: CappedBuffer) -> threading.Thread:
    """A started daemon thread that reads ``stream`` into ``buffer`` (see ``drain``)."""
    if _pending_bytes is not None:
        buffer.fd = stream.fileno()  # before the thread starts: settled() must not miss early output
    thread = threading.Thread(target=drain, args=(stream, buffer), daemon=True)
    thread.start()
    return thread


def drain(stream, buffer: CappedBuffer) -> None:
    """Read ``stream`` into ``buffer`` until it closes, then close it (run in a thread of its own).

    The thread owns the stream: closing it elsewhere while the thread polls could hand
    its descriptor number to another file, which the thread would then read.
    """
    try:
        if _pending_bytes is None:
            with contextlib.suppress(OSError, ValueError):
                while chunk := stream.read1(65536):
                    buffer.feed(chunk)
            return
        fd = stream.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        with contextlib.suppress(OSError, ValueError):
            while True:
                poller.poll()  # readable or closed; nothing is taken from the pipe yet
                with buffer.lock:
                    buffer.reading = True
                chunk = os.read(fd, 65536)
                buffer.feed(chunk)
                if not chunk:
                    break
    finally:
        with buffer.lock:
            buffer.reading = False
            buffer.fd = None
        with contextlib.suppress(OSError):
            stream.close()


def wait_settled(buffers: tuple[CappedBuffer, ...], *, limit_s: float = 0.05) -> None:
    """Wait until each buffer holds all its pipe carried so far (at most ``limit_s``: a child that
    never stops printing is not waited for); a buffer that cannot tell gets a short fixed wait."""
    deadline = time.monotonic() + limit_s
    cannot_tell = False
    for buffer in buffers:
        while (state := buffer.settled()) is False and time.monotonic() < deadline:
            time.sleep(0.0005)
        cannot_tell = cannot_tell or state is None
    if cannot_tell:  # one short wait for all of them, not one per buffer
        time.sleep(0.01)


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def pid_namespace(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def tree_rss_kb(namespace: str | None, session: int) -> int:
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


def _is_zombie(pid: str) -> bool:
    """Whether /proc/<pid> is a process that has exited and waits to be reaped."""
    with open(f"/proc/{pid}/stat", "rb") as handle:
        stat = handle.read()
    return stat[stat.rindex(b")") + 2:stat.rindex(b")") + 3] in (b"Z", b"X")


def kill_uid(uid: int) -> None:
    """SIGKILL every process owned by ``uid`` (the sandbox's private uid), double-forked ones too.

    Waits (up to about 2 s) until none is left that can still run: the uid's lease
    is released right after, and the next holder must find it unused. A zombie
    (state Z or X) runs nothing and holds nothing but its pid; its reaping is the
    business of its parent (often the host's init, which may take a second), so it
    is not waited for.
    """
    if not sys.platform.startswith("linux"):
        return
    for _ in range(80):
        found = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid and not _is_zombie(entry):
                    found = True
                    os.kill(int(entry), signal.SIGKILL)
            except (OSError, ValueError):
                continue
        if not found:
            return
        time.sleep(0.025)
