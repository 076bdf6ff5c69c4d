"""What a call printed is in ``Sandbox.output()`` as soon as its reply is in, with no fixed sleep.

The child writes unbuffered and the grader reads its pipes with threads; output()
waits until each pipe is empty and no chunk is in flight (``tree.wait_settled``).
These tests make many calls in a row and check that each call's prints are
attributed to that call, on the default platform, on the portable one, and with
the fallback that cannot look into a pipe.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from grader.limits import Limits
from grader.sandbox import Sandbox, tree
from grader.sandbox.launch import PORTABLE, detect_platform

SOURCE = """
    import sys, threading, time
    def speak(n):
        print(f"line {n}")
        sys.stderr.write(f"err {n}\\n")
        return n
    def speak_a_lot(n):
        for i in range(n):
            print(f"chunk {i} " + "x" * 200)
        return n
    def chatter():
        def forever():
            while True:
                print("still here")
                time.sleep(0.001)
        threading.Thread(target=forever, daemon=True).start()
        return "started"
"""


def _sandbox(tmp_path: Path, platform, **options) -> Sandbox:
    module = tmp_path / "talker.py"
    module.write_text(textwrap.dedent(SOURCE), encoding="utf-8")
    return Sandbox({"talker.py": module}, "talker", platform=platform, **options)


@pytest.mark.parametrize("platform", [detect_platform(), PORTABLE], ids=["default", "portable"])
def test_each_call_prints_are_in_the_output_taken_right_after_it(tmp_path, platform):
    with _sandbox(tmp_path, platform) as sandbox:
        sandbox.output()
        for n in range(150):
            assert sandbox.call("speak", n).value == n
            stdout, stderr = sandbox.output()
            printed = stdout + stderr
            assert f"line {n}\n" in printed and f"err {n}\n" in printed, (n, printed)
            assert f"line {n - 1}\n" not in printed  # nothing of the call before it
        assert sandbox.call("speak_a_lot", 2000).value == 2000  # far more than one pipe buffer (64 KB)
        stdout, stderr = sandbox.output()
    sent = sum(len(f"chunk {i} " + "x" * 200 + "\n") for i in range(2000))
    kept = (stdout + stderr).split("\n… ")[0]
    dropped = int((stdout + stderr).split("\n… ")[1].split()[0])
    assert len(kept.encode()) == Limits().output_bytes and len(kept.encode()) + dropped == sent  # every byte counted


def test_a_child_that_never_stops_printing_is_not_waited_for(tmp_path):
    with _sandbox(tmp_path, detect_platform(), limits=Limits(tasks=4)) as sandbox:
        assert sandbox.call("chatter").value == "started"
        started = time.monotonic()
        for _ in range(5):
            sandbox.output()
        elapsed = time.monotonic() - started
    assert elapsed < 2.0  # each wait is capped at 50 ms; a generous bound for a loaded machine


def test_without_a_way_to_look_into_a_pipe_the_output_still_arrives(tmp_path, monkeypatch):
    monkeypatch.setattr(tree, "_pending_bytes", None)  # as on Windows: read1 in the thread, a short wait
    with _sandbox(tmp_path, detect_platform()) as sandbox:
        for n in range(5):
            assert sandbox.call("speak", n).value == n
            stdout, stderr = sandbox.output()
            assert f"line {n}\n" in stdout + stderr


def test_the_reader_threads_close_their_pipes_when_the_sandbox_closes(tmp_path):
    def open_descriptors() -> int:
        return len(os.listdir("/proc/self/fd"))

    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc")
    with _sandbox(tmp_path, detect_platform()) as sandbox:  # warm up whatever a first sandbox opens for good
        sandbox.call("speak", 0)
    before = open_descriptors()
    for _ in range(3):
        with _sandbox(tmp_path, detect_platform()) as sandbox:
            sandbox.call("speak", 1)
    assert open_descriptors() == before


# -- a sandbox that cannot start is the grader's problem, not the submission's ------------------

def test_a_child_that_fails_before_any_student_code_ran_is_a_grader_error(tmp_path):
    from grader.errors import SandboxUnavailable

    sandbox = _sandbox(tmp_path, detect_platform(), limits=Limits(start_timeout_s=0.001))
    with pytest.raises(SandboxUnavailable, match="before any of the submission's code ran"):
        sandbox.start()  # the interpreter cannot even report its isolation in 1 ms
    sandbox.close()
    assert sandbox.import_failure is None  # nothing is charged to the submission


def test_grade_exits_2_and_scores_nothing_when_the_sandbox_cannot_start(monkeypatch, capsys):
    import dataclasses

    from conftest import SOLUTIONS

    from grader import cli, runner

    honest = runner.limits_for

    def no_time_to_start(*args, **kwargs):
        return dataclasses.replace(honest(*args, **kwargs), start_timeout_s=0.001)

    monkeypatch.setattr(runner, "limits_for", no_time_to_start)
    code = cli.main(["exercise1", str(SOLUTIONS), "--format", "json"])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert "could not start" in captured.err and "not of the submission" in captured.err


def test_a_virtual_environment_under_tmp_is_visible_in_the_sandbox(tmp_path, monkeypatch, request):
    """A student's venv (or a CI clone) under /tmp: its site-packages is bound after the sandbox's own
    /tmp tmpfs, not hidden by it (found by running as a normal user: every grade was an import error)."""
    import dataclasses

    from grader.sandbox import process

    folder = Path(tempfile.mkdtemp(dir="/tmp", prefix="venv-"))  # readable by the sandbox's private uid
    request.addfinalizer(lambda: shutil.rmtree(folder, ignore_errors=True))
    site = folder / "site-packages"
    site.mkdir()
    (site / "course_helper.py").write_text("VALUE = 42\n", encoding="utf-8")
    for path in (folder, site):
        path.chmod(0o755)
    (site / "course_helper.py").chmod(0o644)
    honest = process.sandbox_python
    monkeypatch.setattr(process, "sandbox_python", lambda profile: dataclasses.replace(
        honest(profile), site_packages=[*honest(profile).site_packages, str(site)]))
    module = tmp_path / "uses_helper.py"
    module.write_text("def helper_value():\n    import course_helper\n    return course_helper.VALUE\n",
                      encoding="utf-8")
    with Sandbox({"uses_helper.py": module}, "uses_helper", platform=detect_platform()) as sandbox:
        result = sandbox.call("helper_value")
    assert result.raised is None and result.value == 42, result.raised


def test_the_scratch_tmpfs_is_mounted_before_the_python_binds():
    from grader.limits import Limits as Caps
    from grader.sandbox.launch import bubblewrap_command

    command = bubblewrap_command("/usr/bin/bwrap", interpreter="/tmp/py/bin/python3", python_roots=["/tmp/py"],
                                 site_packages=["/tmp/venv/lib/python3.11/site-packages"],
                                 runtime_dir=Path("/x/runtime"), submission_dir=Path("/x/sub"),
                                 caps=Caps().scratch_caps(), info_fd=9)
    def where(*arguments: str) -> list[int]:
        return [i for i in range(len(command)) if tuple(command[i:i + len(arguments)]) == arguments]

    binds = [i for i in range(len(command) - 1) if command[i] == "--ro-bind" and command[i + 1].startswith("/tmp/")]
    assert len(binds) == 2 and where("--tmpfs", "/tmp")[0] < min(binds)
    assert where("--dev", "/dev")[0] < where("--tmpfs", "/dev/shm")[0]  # else /dev would cover /dev/shm


def test_a_restart_that_cannot_start_stops_a_search_at_once(tmp_path):
    """After a child died, the next call starts a new one; if that start fails, the check stops
    (``GraderStopped``) instead of hypothesis retrying it to shrink, and the runner re-raises it."""
    import dataclasses

    from hypothesis import strategies as st

    from grader.checking.check import Submission
    from grader.checking.outcomes import GraderStopped
    from grader.checking.properties import for_all
    from grader.sandbox import ChildFailure

    module = tmp_path / "dies.py"
    module.write_text("import os\ndef die():\n    os._exit(3)\ndef echo(x):\n    return x\n", encoding="utf-8")
    tried = []
    with Sandbox({"dies.py": module}, "dies", platform=detect_platform()) as sandbox:
        with pytest.raises(ChildFailure):
            sandbox.call("die")
        sandbox.limits = dataclasses.replace(sandbox.limits, start_timeout_s=0.001)  # no restart can succeed
        sub = Submission(sandbox, deadline=time.monotonic() + 60, call_timeout_s=10, seed=None)

        def body(x: object) -> None:
            tried.append(x)
            sub.call_raw("echo", x)

        with pytest.raises(GraderStopped) as stopped:
            for_all(sub, st.integers(), body, max_examples=50)
    assert len(tried) == 1 and sandbox.restarts == 1
    assert "could not start" in str(stopped.value.error)
