"""The child's world is built from nothing: what a submission can see, keep, leave and send.

Each test starts a real sandbox (bubblewrap where it works) on a small hostile
module and asserts what the issue's attacker did no longer works: listing
other processes, reading the checkout, its ``.git`` or a classmate's file,
leaving IPC objects or processes, filling the disk, forging short replies.
"""

from __future__ import annotations

import os
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import pytest
from forged_runtime import FORGING_RUNTIME

from grader.limits import Limits
from grader.sandbox import ChildFailure, Sandbox
from grader.sandbox.launch import UID_BASE, UID_SLOTS, detect_platform, lease_private_uid

ROOT = Path(__file__).resolve().parents[2]
BWRAP = detect_platform().bwrap is not None
needs_bwrap = pytest.mark.skipif(not BWRAP, reason="bubblewrap is not installed or cannot create namespaces here")


def _sandbox(tmp_path: Path, source: str, **options) -> Sandbox:
    module = tmp_path / "probe.py"
    module.write_text(textwrap.dedent(source), encoding="utf-8")
    return Sandbox({"probe.py": module}, "probe", **options)


@needs_bwrap
def test_the_report_says_bubblewrap_held(tmp_path):
    with _sandbox(tmp_path, "def f():\n    return 1\n") as sandbox:
        assert sandbox.isolation.full
        assert sandbox.isolation.describe().startswith("bubblewrap held")
        assert "no capabilities" in sandbox.isolation.describe()
        assert sandbox.call("f").value == 1


@needs_bwrap
def test_a_submission_cannot_list_other_processes(tmp_path):
    source = """
        import os
        def pids():
            return sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    """
    with _sandbox(tmp_path, source) as sandbox:
        seen = sandbox.call("pids").value
    assert len(seen) <= 3, seen  # bwrap's init and the child itself
    assert os.getpid() not in seen or os.getpid() <= 3


@needs_bwrap
def test_a_submission_cannot_open_the_checkout_its_git_or_a_classmates_file(tmp_path):
    classmate = tmp_path / "class" / "alice" / "exercise1.py"
    classmate.parent.mkdir(parents=True)
    classmate.write_text("SECRET = 'alice'\n")
    targets = [ROOT / "solutions" / "exercise1.py", ROOT / ".git" / "HEAD", ROOT / "grader" / "checks" / "exercise1.py",
               ROOT / "tests" / "mutants.py", ROOT / "assignments.toml", classmate, Path("/etc/passwd"),
               Path.home() / ".bashrc"]
    source = f"""
        def opened():
            found = []
            for path in {[str(t) for t in targets]!r}:
                try:
                    with open(path) as handle:
                        handle.read(1)
                    found.append(path)
                except OSError:
                    pass
            return found
        def imports_grader():
            try:
                import grader.checks.exercise1  # noqa
                return True
            except ImportError:
                return False
    """
    with _sandbox(tmp_path, source) as sandbox:
        assert sandbox.call("opened").value == []
        assert sandbox.call("imports_grader").value is False


@needs_bwrap
def test_packages_beside_the_grader_are_importable_but_not_the_grader(tmp_path):
    source = """
        import importlib
        def importable(names):
            found = []
            for name in names:
                try:
                    importlib.import_module(name)
                    found.append(name)
                except ImportError:
                    pass
            return found
    """
    with _sandbox(tmp_path, source) as sandbox:
        found = sandbox.call("importable", ["matplotlib", "matplotlib.pyplot", "PIL", "grader", "tests", "solutions"],
                             timeout=60).value
    assert found == ["matplotlib", "matplotlib.pyplot", "PIL"]


@needs_bwrap
def test_scratch_is_capped_in_bytes_and_files(tmp_path):
    source = """
        import os
        def fill_bytes():
            written = 0
            try:
                with open("big", "wb") as handle:
                    for _ in range(200):
                        handle.write(b"x" * 1024 * 1024)
                        handle.flush()
                        written += 1
            except OSError as error:
                return written, error.errno
            return written, 0
        def fill_files():
            made = 0
            try:
                for i in range(20_000):
                    open(f"f{i}", "w").close()
                    made += 1
            except OSError as error:
                return made, error.errno
            return made, 0
        def write_root():
            try:
                open("/evil", "w").close()
                return True
            except OSError:
                return False
    """
    limits = Limits(file_size_mb=256, scratch_mb=8, scratch_inodes=500)
    with _sandbox(tmp_path, source, limits=limits) as sandbox:
        written, error = sandbox.call("fill_bytes").value
        assert written <= 8 and error != 0
        sandbox.call("fill_bytes")  # the space stays full; nothing reached the host disk
        made, error = sandbox.call("fill_files").value
        assert made < 500 and error != 0
        assert sandbox.call("write_root").value is False


@needs_bwrap
def test_sysv_shared_memory_does_not_outlive_the_run(tmp_path):
    source = """
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        def make():
            return libc.shmget(0x5EED, 64 * 1024 * 1024, 0o1666)  # IPC_CREAT | 0666
        def find():
            return libc.shmget(0x5EED, 0, 0o666)
    """
    before = Path("/proc/sysvipc/shm").read_text()
    with _sandbox(tmp_path, source) as sandbox:
        assert sandbox.call("make").value >= 0
    assert Path("/proc/sysvipc/shm").read_text() == before
    with _sandbox(tmp_path, source) as sandbox:
        assert sandbox.call("find").value == -1  # the next student's run cannot read the segment


@needs_bwrap
def test_no_process_survives_a_double_fork(tmp_path):
    source = """
        import os, time
        def escape():
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    time.sleep(60)
                os._exit(0)
            return "forked"
    """
    limits = Limits(tasks=8)
    with _sandbox(tmp_path, source, limits=limits) as sandbox:
        sandbox.call("escape")
        namespace = os.readlink(f"/proc/{sandbox._inner_pid}/ns/pid")
    survivors = ["not looked yet"]
    for _ in range(60):  # the kernel reaps a dead namespace's zombies asynchronously
        survivors = []
        for entry in os.listdir("/proc"):
            try:
                if entry.isdigit() and os.readlink(f"/proc/{entry}/ns/pid") == namespace:
                    survivors.append(entry)
            except OSError:
                continue
        if not survivors:
            break
        time.sleep(0.05)
    assert survivors == []


@pytest.mark.parametrize("bubblewrap", [pytest.param(True, marks=needs_bwrap), False],
                         ids=["bubblewrap", "fallback"])
def test_memory_of_forked_helpers_counts_against_the_limit(tmp_path, bubblewrap):
    import dataclasses

    source = """
        import os, time
        def hog():
            for _ in range(2):
                if os.fork() == 0:
                    block = bytearray(220 * 1024 * 1024)
                    for i in range(0, len(block), 4096):
                        block[i] = 1
                    time.sleep(30)
                    os._exit(0)
            time.sleep(30)
            return "not stopped"
    """
    limits = Limits(address_space_mb=None, rss_mb=400, tasks=8)
    platform = detect_platform() if bubblewrap else dataclasses.replace(detect_platform(), bwrap=None)
    with _sandbox(tmp_path, source, limits=limits, platform=platform) as sandbox:
        with pytest.raises(ChildFailure) as failure:
            sandbox.call("hog", timeout=20)
    assert failure.value.kind == "limit" and "all its processes" in failure.value.reason


def test_hash_seed_takes_effect_so_set_order_is_the_same_every_run(tmp_path):
    source = """
        def order():
            return [hash("receptive field"), list({"a", "b", "c", "d", "e"})]
    """
    seen = []
    for _ in range(2):
        with _sandbox(tmp_path, source) as sandbox:
            seen.append(sandbox.call("order").value)
    assert seen[0] == seen[1]


def test_short_prints_reach_the_report(tmp_path):
    source = """
        def talk():
            print("hello from the student")
            return 1
    """
    with _sandbox(tmp_path, source) as sandbox:
        sandbox.call("talk")
        time.sleep(0.05)
        stdout, _ = sandbox.output()
    assert "hello from the student" in stdout


@pytest.mark.skipif(not (sys.platform.startswith("linux") and os.geteuid() == 0), reason="private uids need root")
def test_private_uids_are_leased_without_collisions():
    import subprocess

    leases = [lease_private_uid() for _ in range(5)]
    try:
        uids = [lease.uid for lease in leases]
        assert len(set(uids)) == 5 and all(UID_BASE <= u < UID_BASE + UID_SLOTS for u in uids)
        # Another grader process on the machine cannot take a uid held here.
        code = ("from grader.sandbox.launch import lease_private_uid as l; import sys; "
                f"held = set({uids!r}); got = [l().uid for _ in range(50)]; sys.exit(bool(held & set(got)))")
        assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False).returncode == 0
    finally:
        for lease in leases:
            lease.release()


# -- the child's runtime belongs to the student: replies are checked, never trusted ---------------

def test_a_shortened_sweep_reply_is_a_protocol_violation(tmp_path):
    source = FORGING_RUNTIME + "\ndef f(x):\n    return x\n"
    with _sandbox(tmp_path, source) as sandbox:
        with pytest.raises(ChildFailure, match="protocol violation: a sweep reply with 1 results for 3 calls"):
            sandbox.call_many("f", [((), {"x": i}) for i in range(3)])


def test_dropping_the_arguments_after_the_call_is_a_protocol_violation(tmp_path):
    source = FORGING_RUNTIME + "\ndef f(x):\n    return x\n"
    with _sandbox(tmp_path, source) as sandbox:
        with pytest.raises(ChildFailure, match="leaves out the arguments after the call"):
            sandbox.call("f", 1, return_args=True)


@pytest.mark.parametrize("forged, reason", [
    ('{"value": 1, "extra": 2}', "missing or extra fields"),
    ('{"raised": {"type": "E", "mro": ["E"], "message": "x" * 8_000_000}}', r"reply of \d+ bytes"),
    ('{"raised": {"type": "E", "mro": ["E"], "message": "x" * 5000}}', "exception message is 5000 characters"),
    ('{"raised": {"type": "E", "mro": "E", "message": ""}}', "class list is malformed"),
    ('{"value": None, "raised": None}', "missing or extra fields"),
])
def test_malformed_replies_cost_the_call(tmp_path, forged, reason):
    source = f"""
import sys as _sys
_main = _sys.modules["__main__"]
_honest_send = _main._send
def _forged_send(message):
    if "nonce" in message and ("value" in message or "raised" in message):
        message = {{"nonce": message["nonce"], **{forged}}}
    _honest_send(message)
_main._send = _forged_send
def f():
    return 1
"""
    limits = Limits(reply_mb=4)
    with _sandbox(tmp_path, source, limits=limits) as sandbox:
        with pytest.raises(ChildFailure, match=reason):
            sandbox.call("f")


def test_a_deep_or_huge_json_reply_is_refused_before_it_is_parsed(tmp_path):
    source = """
import sys as _sys
_main = _sys.modules["__main__"]
def _forged_send(message):
    document = b"[" * 200_000 + b"]" * 200_000
    header = ('{"json": %d, "blobs": []}' % len(document)).encode()
    payload = header + b"\\n" + document
    _main.RESPONSES.write(len(payload).to_bytes(4, "big") + payload)
def f():
    _main._send = _forged_send  # this very reply is forged
    return 1
"""
    with _sandbox(tmp_path, source) as sandbox:
        with pytest.raises(ChildFailure, match="JSON document nested too deeply"):
            sandbox.call("f")


def test_a_32_mb_reply_costs_the_grader_little_memory(tmp_path):
    source = """
import sys as _sys
_main = _sys.modules["__main__"]
def f():
    payload = b'{"json": 2, "blobs": []}\\n' + b"[" + b"1," * (16 * 1024 * 1024) + b"1]"
    _main.RESPONSES.write(len(payload).to_bytes(4, "big") + payload)
    _main.RESPONSES.write(len(payload).to_bytes(4, "big") + payload)
    return 1
"""
    tracemalloc.start()
    try:
        with _sandbox(tmp_path, source) as sandbox:
            with pytest.raises(ChildFailure, match="protocol violation"):
                sandbox.call("f")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


@needs_bwrap
def test_bubblewrap_holds_without_a_private_uid_too(tmp_path):
    """As a normal user the grader cannot lease a uid; bubblewrap's world is the same."""
    import dataclasses

    platform = dataclasses.replace(detect_platform(), private_uid=False)
    source = f"""
        import os
        def look():
            return [os.path.exists({str(ROOT / '.git')!r}), sorted(p for p in os.listdir("/proc") if p.isdigit())]
    """
    with _sandbox(tmp_path, source, platform=platform) as sandbox:
        assert sandbox.isolation.full and not sandbox.isolation.uid_dropped
        assert sandbox.call("look").value == [False, ["1", "2"]]


def test_without_bubblewrap_the_fallback_grades_and_says_so(tmp_path):
    import dataclasses

    platform = dataclasses.replace(detect_platform(), bwrap=None)
    with _sandbox(tmp_path, "def f():\n    return 41 + 1\n", platform=platform) as sandbox:
        assert sandbox.call("f").value == 42
        assert sandbox.isolation.describe().startswith("bubblewrap not available (fallback)")
        assert not sandbox.isolation.full


def test_require_isolation_refuses_the_fallback(tmp_path):
    import dataclasses

    from grader.errors import SandboxUnavailable

    platform = dataclasses.replace(detect_platform(), bwrap=None)
    with pytest.raises(SandboxUnavailable, match="bubblewrap"):
        with _sandbox(tmp_path, "def f():\n    return 1\n", platform=platform, require_isolation=True):
            pass
