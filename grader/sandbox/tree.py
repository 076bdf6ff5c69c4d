"""The child's process tree seen from the grader: capped output, memory, signals, killing.

Linux ``/proc`` is read where it exists; elsewhere the functions do nothing (the
child's process group and the wall-clock timeout remain).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time


class CappedBuffer:
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


def drain(stream, buffer: CappedBuffer) -> None:
    with contextlib.suppress(OSError, ValueError):
        while chunk := stream.read1(65536):
            buffer.feed(chunk)


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
