"""The laptop path, tested on Linux with the platform's features switched off (``launch.PORTABLE``).

macOS and Windows cannot run in CI; what they lack is switched off here instead:
no bubblewrap, no private uid, no rlimits, no file descriptors beyond
stdin/stdout/stderr (requests on the child's stdin, replies on its stdout, its
prints sent to stderr), no process groups (a timeout kills the child alone).
The child is still a separate process that a wall-clock timeout ends, grading
works, and the report says what held.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from grader.limits import Limits
from grader.sandbox import ChildFailure, Sandbox
from grader.sandbox.launch import PORTABLE, detect_platform

REPO = Path(__file__).resolve().parents[1]


def _sandbox(tmp_path: Path, source: str, platform=PORTABLE, **options) -> Sandbox:
    module = tmp_path / "probe.py"
    module.write_text(textwrap.dedent(source), encoding="utf-8")
    return Sandbox({"probe.py": module}, "probe", platform=platform, **options)


def test_calls_work_over_stdin_and_stdout_and_prints_cannot_reach_the_replies(tmp_path):
    source = """
        import os, sys
        print("printed at import")
        def noisy(x):
            print("hello from the student")
            os.write(1, b"\\x00\\x00\\x00\\x05forge")  # raw bytes on fd 1: the stdout of the protocol?
            sys.stdout.flush()
            return x * 2
        def ask():
            try:
                return input()
            except EOFError:
                return "EOF"
    """
    with _sandbox(tmp_path, source) as sandbox:
        assert sandbox.call("noisy", 21).value == 42
        assert sandbox.call("ask").value == "EOF"  # stdin holds the requests: the student reads nothing
        stdout, stderr = sandbox.output()
        description = sandbox.isolation.describe()
    assert stdout == ""
    assert "printed at import" in stderr and "hello from the student" in stderr and "forge" in stderr
    assert "calls over its stdin/stdout" in description and "no resource limits" in description
    assert "separate process" in description and sandbox.isolation.transport == "stdio"


def test_a_big_reply_arrives_whole_through_the_reader_thread(tmp_path):
    source = """
        import numpy as np
        def big():
            return np.arange(3_000_000, dtype=np.float64)  # 24 MB: many reads, past the read-ahead
    """
    with _sandbox(tmp_path, source, limits=Limits(reply_mb=64)) as sandbox:
        value = sandbox.call("big", timeout=60).value
    assert value.shape == (3_000_000,) and value[-1] == 2_999_999


def test_without_rlimits_the_wall_clock_timeout_still_kills_the_child(tmp_path):
    source = """
        import os
        def pid():
            return os.getpid()
        def spin():
            while True:
                pass
        def hang():
            import time
            time.sleep(3600)
    """
    with _sandbox(tmp_path, source) as sandbox:
        child = sandbox.call("pid").value
        started = time.monotonic()
        with pytest.raises(ChildFailure) as failure:
            sandbox.call("spin", timeout=1.0)
        assert failure.value.kind == "timeout"
        assert time.monotonic() - started < 4.0
        assert not Path(f"/proc/{child}").exists()  # killed and reaped, without a process group
        assert sandbox.call("pid").value != child  # the next call starts a fresh child
        with pytest.raises(ChildFailure):
            sandbox.call("hang", timeout=0.5)


def test_no_rlimits_are_set_when_the_platform_has_none(tmp_path):
    source = """
        import resource
        def cpu_limit():
            return list(resource.getrlimit(resource.RLIMIT_CPU))
    """
    import resource

    limits = Limits(cpu_s=7)
    with _sandbox(tmp_path, source, limits=limits) as sandbox:
        assert sandbox.call("cpu_limit").value == list(resource.getrlimit(resource.RLIMIT_CPU))
        assert sandbox.isolation.rlimits is False
    with_rlimits = dataclasses.replace(PORTABLE, rlimits=True)
    with _sandbox(tmp_path, source, platform=with_rlimits, limits=limits) as sandbox:
        assert sandbox.call("cpu_limit").value == [7, 7]
        assert "no resource limits" not in sandbox.isolation.describe()


def test_the_default_linux_path_is_unchanged(tmp_path):
    with _sandbox(tmp_path, "def f():\n    print('out')\n    return 1\n", platform=detect_platform()) as sandbox:
        assert sandbox.call("f").value == 1
        assert sandbox.output()[0] == "out\n"  # stdout is its own stream there
        assert sandbox.isolation.transport == "pipes" and sandbox.isolation.process_group


def test_grading_works_on_the_portable_platform_and_the_report_says_what_held(tmp_path):
    env = {**os.environ, "GRADER_PLATFORM": "portable"}
    done = subprocess.run([sys.executable, "-m", "grader.cli", "exercise1", str(REPO / "solutions"),
                           "--format", "md"], capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "Grade report — 20 / 20" in done.stdout
    text = " ".join(done.stdout.split()).replace("\\", "")
    assert "no resource limits" in text and "calls over its stdin/stdout" in text
    refused = subprocess.run([sys.executable, "-m", "grader.cli", "exercise1", str(REPO / "solutions"),
                              "--require-isolation"], capture_output=True, text=True, env=env, timeout=120,
                             check=False)
    assert refused.returncode == 2 and "isolation was required" in refused.stderr


_BLOCKED_IMPORTS = """
import importlib, json, os, pkgutil, sys
sys.modules["resource"] = None  # ImportError on import, as on Windows
sys.modules["fcntl"] = None
del os.fork
import grader
skip = {"grader.batch", "grader.export", "grader.verify", "grader.stubgen", "grader.release"}
failed = {}
for info in pkgutil.walk_packages(grader.__path__, "grader."):
    if info.name.split(".")[0:2] and ".".join(info.name.split(".")[:2]) in skip:
        continue
    if info.name.startswith("grader.sandbox.runtime."):
        continue  # the child's files: run by path in the child, never imported (child.py is run below)
    try:
        importlib.import_module(info.name)
    except Exception as error:
        failed[info.name] = f"{type(error).__name__}: {error}"
print(json.dumps(failed))
"""


def test_nothing_a_student_imports_needs_resource_fcntl_or_fork():
    done = subprocess.run([sys.executable, "-c", _BLOCKED_IMPORTS], capture_output=True, text=True,
                          timeout=300, check=False, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {}


def test_the_child_runs_without_resource(tmp_path):
    """child.py itself, started the way the parent starts it, in an interpreter without ``resource``."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    runner = blocker / "run_child.py"
    runner.write_text("import runpy, sys\nsys.modules['resource'] = None\nsys.argv = sys.argv[1:]\n"
                      "runpy.run_path(sys.argv[0], run_name='__main__')\n")
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    return 5\n")
    child = REPO / "grader" / "sandbox" / "runtime" / "child.py"
    config = {"site_packages": [], "submission_dir": str(tmp_path), "workdir": str(tmp_path), "module": "probe",
              "request_fd": 0, "response_fd": 1, "transport": "stdio", "rlimits": True, "preimport": [],
              "limits": {"cpu_s": 5}}
    from grader.sandbox.runtime import protocol

    request = protocol.frame(protocol.encode({"fn": "f", "args": [], "kwargs": {}, "nonce": "n1"}))
    done = subprocess.run([sys.executable, str(runner), str(child), json.dumps(config)], input=request,
                          capture_output=True, timeout=60, check=False,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr.decode()
    replies, data = [], done.stdout
    while data:
        length = protocol.frame_length(data[:protocol.HEADER_SIZE])
        replies.append(protocol.decode(data[protocol.HEADER_SIZE:protocol.HEADER_SIZE + length]))
        data = data[protocol.HEADER_SIZE + length:]
    assert replies[0]["isolation"]["rlimits"] is False  # asked for, but there is no resource module
    assert replies[-1]["value"] == 5 and replies[-1]["nonce"] == "n1"
