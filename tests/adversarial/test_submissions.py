"""Each hostile or broken submission earns nothing it did not honestly earn, and touches nothing else.

For every case in ``cases.py``: the checks the attack touched fail with a
one-line reason; every other check passes, exactly as the honest solution does;
no file appears outside the sandbox; no process of the run survives it.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from grader.options import GradingOptions
from tests.adversarial.cases import ALL, CASES, MARKER, ROOT, Case

OUTSIDE = [Path("/tmp/results.json"), Path("/var/tmp/results.json"), Path("/work/results.json"),
           Path.home() / "results.json", ROOT / "results.json", ROOT.parent / "results.json", Path(MARKER)]


def _processes_of(uids: set[int]) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid in uids:
                    with open(f"/proc/{entry}/stat", "rb") as handle:
                        state = handle.read().rsplit(b")", 1)[1].split()[0]
                    if state not in (b"Z", b"X"):  # exited, waiting for its parent: runs nothing
                        pids.append(int(entry))
            except OSError:
                continue
    return pids


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.family}: {c.name}")
def test_attack_earns_nothing_and_touches_nothing_else(case: Case, catalogue, tmp_path, monkeypatch):
    from grader.runner import grade_exercise

    if case.needs_root and os.geteuid() != 0:
        pytest.skip("holds where the sandbox runs as root (uid drop, network and mount namespaces)")
    monkeypatch.setenv("GRADER_TEST_SECRET", "s3cret-token")
    for path in OUTSIDE:
        path.unlink(missing_ok=True)
    exercise = catalogue.get(case.exercise)
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / exercise.file).write_text(case.source, encoding="utf-8")
    for name, data in case.files.items():
        (folder / name).write_bytes(data)
    before = sorted(p.name for p in tmp_path.iterdir())
    from grader.sandbox.process import UIDS_USED

    uids_before = len(UIDS_USED)

    result = grade_exercise(exercise=exercise, submission=folder,
                            options=GradingOptions(timeout_s=case.timeout_s, only_check=case.only))

    touched = {c.id for c in result.checks} if case.touched == ALL else set(case.touched)
    for check in result.checks:
        if check.id in touched:
            assert check.status != "passed", f"{check.id} passed despite the attack"
            assert check.score == pytest.approx(check.max_score * case.kept.get(check.id, 0.0), abs=1e-5)
            assert re.search(case.reason, check.message), f"{check.id}: {check.message[:500]}"
        else:
            assert check.status == "passed", f"{check.id} was affected: {check.message[:500]}"
    expected = sum(c.max_score * (case.kept.get(c.id, 0.0) if c.id in touched else 1.0) for c in result.checks)
    assert result.score == pytest.approx(expected, abs=1e-5)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert sorted(p.name for p in folder.iterdir()) == sorted({exercise.file, *case.files})
    time.sleep(0.1)
    assert not [p for p in OUTSIDE if p.exists()], "a file was written outside the sandbox"
    assert _processes_of(set(UIDS_USED[uids_before:])) == [], "a process of the submission survived the run"


def test_there_are_at_least_45_cases_across_the_families():
    assert len(CASES) >= 45
    assert {c.family for c in CASES} >= {"channel", "values", "resources", "secrets", "files"}
    assert len({c.name for c in CASES}) == len(CASES)
