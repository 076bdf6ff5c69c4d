"""How the sandbox child is started: what this platform offers, and the bubblewrap command line.

On Linux with a working ``bwrap`` the child's world is built from nothing
(``bubblewrap_command``): every namespace unshared (user, pid, ipc, net, uts,
cgroup), a root that holds only read-only binds of ``/usr`` (the C library),
the Python installation and the site-packages the child may import, its own
``/proc`` and a minimal ``/dev``, and size-capped tmpfs folders for scratch.
Nothing of the grader's checkout, its ``.git``, or any other submission is in
that world, so nothing there can be read.

Where bwrap is missing or cannot create namespaces, the child falls back to the
older mechanism (``child.py``: rlimits, and as root a private uid, an empty
network namespace and a read-only mount namespace); the report header says
which held. ``Platform`` is what the tests replace to exercise that path.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from grader.limits import ScratchCaps

# Inside the child's world (bwrap mode): where the runtime, the submission and its scratch live.
SANDBOX_RUNTIME = "/sandbox/runtime"
SANDBOX_SUBMISSION = "/sandbox/submission"
SANDBOX_WORK = "/sandbox/work"
# Names in a site-packages folder the child must never import: the grader itself (its checks,
# its references) and the editable-install hooks that would point back at the checkout.
GRADER_DISTRIBUTION_PREFIXES = ("grader", "__editable__", "_grader")
UID_BASE = 1_000_000
UID_SLOTS = 60_000
UID_LOCK_DIR = Path(os.environ.get("GRADER_UID_LOCKS", "/run/grade-sandbox/uids"))


@dataclass(frozen=True)
class Platform:
    """What the sandbox may use here. Tests replace it to run the degraded paths on Linux.

    ``bwrap``: the bubblewrap binary, or None where there is none or it cannot
    create namespaces. ``private_uid``: the grader is root on Linux and may run
    the child as an unprivileged uid of its own. ``rlimits``: ``resource``
    exists (not on Windows). ``extra_fds``: pipes beyond stdin/stdout/stderr can
    be handed to the child (not on Windows): without them the protocol runs over
    the child's stdin/stdout (its prints go to stderr) and replies are read by a
    thread, not a selector (bubblewrap needs its --info-fd: none without them).
    ``process_groups``: the child gets a session of its own and a timeout kills
    the whole group (POSIX); otherwise the child process alone is killed.
    Whatever is missing, the child is a separate process and the wall-clock
    timeout ends it.
    """

    bwrap: str | None
    private_uid: bool
    rlimits: bool
    extra_fds: bool
    process_groups: bool = True

    @property
    def linux(self) -> bool:
        return sys.platform.startswith("linux")


# The least a platform offers (Windows): a separate process, its stdin/stdout, a wall-clock timeout.
PORTABLE = Platform(bwrap=None, private_uid=False, rlimits=False, extra_fds=False, process_groups=False)


@functools.lru_cache(maxsize=1)
def detect_platform() -> Platform:
    """The real platform (probed once per process: one bwrap start, about 5 ms).

    ``GRADER_PLATFORM=portable`` uses ``PORTABLE`` instead (the laptop path, on Linux).
    """
    if os.environ.get("GRADER_PLATFORM") == "portable":
        return PORTABLE
    linux = sys.platform.startswith("linux")
    private_uid = linux and hasattr(os, "geteuid") and os.geteuid() == 0
    try:
        import resource  # noqa: F401  (absent on Windows)

        rlimits = True
    except ImportError:
        rlimits = False
    return Platform(bwrap=_working_bwrap(private_uid) if linux else None, private_uid=private_uid,
                    rlimits=rlimits, extra_fds=os.name == "posix",
                    process_groups=os.name == "posix" and hasattr(os, "killpg"))


def _working_bwrap(private_uid: bool) -> str | None:
    """The bwrap binary when it can build a full sandbox here (as the uid the child will run as)."""
    if os.environ.get("GRADER_NO_BWRAP"):
        return None
    binary = shutil.which("bwrap") or next((p for p in ("/usr/bin/bwrap", "/bin/bwrap") if os.access(p, os.X_OK)),
                                           None)
    if binary is None:
        return None
    probe = [binary, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
             *_system_binds(), "--proc", "/proc", "--dev", "/dev", "--", "/bin/true" if os.path.exists("/bin/true")
             else "/usr/bin/true"]
    extra = {}
    if private_uid:
        extra = {"user": UID_BASE + UID_SLOTS, "group": UID_BASE + UID_SLOTS, "extra_groups": []}
    try:
        done = subprocess.run(probe, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=10, check=False, **extra)
    except (OSError, subprocess.SubprocessError):
        return None
    return binary if done.returncode == 0 else None


def _system_binds() -> list[str]:
    """``/usr`` read-only, and the merged-/usr links (``/lib`` → ``usr/lib``) or their own binds."""
    arguments = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib32", "lib64", "sbin"):
        path = Path("/") / name
        if path.is_symlink():
            arguments += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            arguments += ["--ro-bind", str(path), str(path)]
    for name in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime"):
        arguments += ["--ro-bind-try", name, name]
    return arguments


def _masks_in(site_packages: str) -> list[str]:
    """bwrap arguments that cover the grader's own distribution inside a bound site-packages."""
    arguments: list[str] = []
    with contextlib.suppress(OSError):
        for entry in sorted(os.listdir(site_packages)):
            if not entry.lower().startswith(GRADER_DISTRIBUTION_PREFIXES):
                continue
            path = os.path.join(site_packages, entry)
            if os.path.isdir(path) and not os.path.islink(path):
                arguments += ["--tmpfs", path, "--remount-ro", path]
            else:
                arguments += ["--ro-bind", "/dev/null", path]
    return arguments


def bubblewrap_command(binary: str, *, interpreter: str, python_roots: list[str], site_packages: list[str],
                       runtime_dir: Path, submission_dir: Path, caps: ScratchCaps, info_fd: int) -> list[str]:
    """The bwrap argument list that starts ``interpreter`` in a world built from nothing.

    ``python_roots`` (the interpreter's prefix) and ``site_packages`` are bound
    read-only at their own paths, with the grader's distribution covered;
    ``runtime_dir`` (child.py, protocol.py) and ``submission_dir`` are bound
    read-only at ``SANDBOX_RUNTIME`` and ``SANDBOX_SUBMISSION``. The child is uid 0
    of a single user namespace (mapped to the caller's uid, the private uid when
    the grader is root) with CAP_SYS_ADMIN and CAP_SETPCAP there, only so that
    ``child.py`` can mount its scratch with an inode cap (bwrap caps only the
    size) and lock the securebits; it empties every capability set, the
    bounding set included, before any student code runs, and reports that it did.
    """
    arguments = [binary, "--unshare-all", "--unshare-cgroup-try", "--die-with-parent", "--new-session",
                 "--hostname", "sandbox", "--uid", "0", "--gid", "0",
                 "--cap-drop", "ALL", "--cap-add", "CAP_SYS_ADMIN", "--cap-add", "CAP_SETPCAP",
                 "--info-fd", str(info_fd), *_system_binds(),
                 # /tmp's tmpfs first: an interpreter or a virtual environment under /tmp is bound
                 # after it, inside it, instead of being hidden by it
                 "--size", str(caps.tmp_bytes), "--tmpfs", "/tmp"]
    bound: list[str] = []
    for root in [*python_roots, *site_packages]:
        if any(root == b or root.startswith(b.rstrip("/") + "/") for b in bound) or root.startswith("/usr/"):
            continue
        bound.append(root)
        arguments += ["--ro-bind", root, root]
    for root in dict.fromkeys([*site_packages, *_site_packages_under(python_roots)]):
        arguments += _masks_in(root)
    arguments += [
        "--proc", "/proc", "--dev", "/dev", "--remount-ro", "/dev",
        "--size", str(caps.tmp_bytes), "--tmpfs", "/dev/shm",  # after /dev, which would cover it
        "--ro-bind", str(runtime_dir), SANDBOX_RUNTIME,
        "--ro-bind", str(submission_dir), SANDBOX_SUBMISSION,
        "--size", str(caps.work_bytes), "--tmpfs", SANDBOX_WORK,
        "--remount-ro", "/",
        "--chdir", SANDBOX_WORK,
        "--", interpreter,
    ]
    return arguments


def _site_packages_under(prefixes: list[str]) -> list[str]:
    found = []
    for prefix in prefixes:
        lib = Path(prefix) / "lib"
        with contextlib.suppress(OSError):
            for version in lib.glob("python3*"):
                for name in ("site-packages", "dist-packages"):
                    if (version / name).is_dir():
                        found.append(str(version / name))
    return found


class UidLease:
    """A private uid held by this process alone while the lease is open (a lock file per uid).

    Collision-free across graders on one machine: a uid is taken only by whoever
    holds the exclusive ``flock`` on its lock file, and the lock dies with its holder.
    """

    def __init__(self, uid: int, handle: int) -> None:
        self.uid = uid
        self._handle = handle

    def release(self) -> None:
        if self._handle >= 0:
            with contextlib.suppress(OSError):
                os.close(self._handle)
            self._handle = -1


def lease_private_uid() -> UidLease:
    """Lock the first free uid in ``UID_BASE … UID_BASE + UID_SLOTS`` (root only)."""
    import fcntl

    UID_LOCK_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(UID_LOCK_DIR, 0o700)
    start = (os.getpid() * 7919) % UID_SLOTS  # spread parallel graders over the range
    for step in range(UID_SLOTS):
        uid = UID_BASE + (start + step) % UID_SLOTS
        handle = os.open(UID_LOCK_DIR / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(handle)
            continue
        return UidLease(uid, handle)
    raise OSError("no free private uid for the sandbox")
