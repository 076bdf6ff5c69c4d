"""`grade batch --scheduler`: a real Dask scheduler and two workers on loopback, one killed mid-run.

The class (exercises 1 and 2, 7 submissions: solutions, stubs, mixtures, one with
a wrong same_padding that hypothesis shrinks) is graded twice: by a local pool
(``--jobs 2``) and on the cluster, where one worker is killed with SIGKILL once
the first results are in. Its pairs are rerun by the other worker, and every
output must be the same bytes: gradebook.csv exactly, results/ and summary.html
but for the clock (when each pair was graded, how long it took).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from grader.batch import cluster
from grader.batch.journal import JOURNAL_NAME
from grader.errors import GraderError

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dask")]

ROOT = Path(__file__).resolve().parents[1]
DASK = Path(sys.executable).with_name("dask")
EXERCISES = "exercise1,exercise2"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _write_class(directory: Path) -> None:
    solved = {name: (ROOT / "solutions" / name).read_text() for name in ("exercise1.py", "exercise2.py")}
    stubs = {name: (ROOT / "exercises" / name).read_text() for name in ("exercise1.py", "exercise2.py")}
    wrong = solved["exercise1.py"].replace("def same_padding(", "def _same_padding(") + (
        "\n\ndef same_padding(*args, **kwargs):\n    return 1\n")
    people = {
        "ada": solved, "ben": stubs,
        "cy": {"exercise1.py": solved["exercise1.py"], "exercise2.py": stubs["exercise2.py"]},
        "dee": {"exercise1.py": stubs["exercise1.py"], "exercise2.py": solved["exercise2.py"]},
        "eve": {"exercise1.py": wrong, "exercise2.py": solved["exercise2.py"]},
        "fay": {"exercise1.py": wrong, "exercise2.py": stubs["exercise2.py"]},
        "gus": {name: f"# gus\n{text}" for name, text in solved.items()},
    }
    for person, files in people.items():
        (directory / person).mkdir(parents=True)
        for name, text in files.items():
            (directory / person / name).write_text(text)


def _environment(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "GRADER_REFERENCE_CACHE": str(tmp_path / "reference-cache"),
            "DASK_DISTRIBUTED__WORKER__DAEMON": "False", "PYTHONUNBUFFERED": "1"}


def _batch(directory: Path, out: Path, env: dict, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "grader.batch", str(directory), "--out", str(out),
                             "--exercises", EXERCISES, "--no-progress", *extra],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# The wall-clock facts of a run: when each pair was graded and how long it took.
_CLOCK = [(re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"), b"<time>"),
          (re.compile(rb'"duration_s": [0-9.e+-]+'), b'"duration_s": <s>'),
          (re.compile(rb"<td class='n' data-v='[0-9.]+'>[0-9.]+</td></tr>"), b"<td><s></td></tr>"),
          (re.compile(rb"<h2>Time taken</h2>.*?(?=<h2)", re.DOTALL), b"<time taken>")]


def _outputs(out: Path) -> dict[str, bytes]:
    """Every output file's bytes, but the journal; the clock's facts masked (never gradebook.csv's)."""
    files = {}
    for path in sorted(out.rglob("*")):
        if not path.is_file() or path.name in (JOURNAL_NAME, "journal.lock"):
            continue
        data = path.read_bytes()
        if path.name != "gradebook.csv":
            for pattern, mask in _CLOCK:
                data = pattern.sub(mask, data)
        files[path.relative_to(out).as_posix()] = data
    return files


@pytest.fixture
def dask_cluster(tmp_path: Path):
    """A `dask scheduler` and two `dask worker` processes (no nanny: a killed worker stays dead)."""
    if not DASK.exists():
        pytest.skip(f"no dask command beside {sys.executable}")
    env = _environment(tmp_path)
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path / "dask-logs"
    logs.mkdir()
    started = []

    def start(name: str, *arguments: str) -> subprocess.Popen:
        log = open(logs / f"{name}.log", "wb")
        process = subprocess.Popen([str(DASK), *arguments], cwd=tmp_path, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        started.append((process, log))
        return process

    start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard")
    workers = [start(f"worker{n}", "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                     "--name", f"worker{n}", "--local-directory", str(tmp_path / f"worker{n}"))
               for n in (1, 2)]
    from distributed import Client

    try:
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=90)
        yield address, workers, logs
    finally:
        for process, log in reversed(started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            log.close()


def test_cluster_run_with_a_killed_worker_matches_a_local_run(tmp_path: Path, dask_cluster) -> None:
    address, workers, logs = dask_cluster
    directory = tmp_path / "class"
    _write_class(directory)
    env = _environment(tmp_path)
    started = time.monotonic()

    out = tmp_path / "out"  # both runs write here in turn: a "Re-run:" hint names OUT/.work/...
    remote = _batch(directory, out, env, "--scheduler", address)
    journal = out / JOURNAL_NAME
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and remote.poll() is None:
        if journal.is_file() and journal.read_bytes().count(b"\n") >= 2:
            break
        time.sleep(0.05)
    assert remote.poll() is None, f"the cluster run ended before a worker could be killed: {remote.communicate()}"
    lines_at_kill = journal.read_bytes().count(b"\n")
    os.killpg(workers[0].pid, signal.SIGKILL)
    workers[0].wait(timeout=10)
    remote_stdout, remote_stderr = remote.communicate(timeout=120)
    assert remote.returncode == 0, remote_stderr
    assert lines_at_kill < 14, "the worker was killed after every pair was graded"
    remote_files = _outputs(out)
    out.rename(tmp_path / "out-dask")

    local = _batch(directory, out, env, "--jobs", "2")
    local_stdout, local_stderr = local.communicate(timeout=120)
    assert local.returncode == 0, local_stderr
    local_files = _outputs(out)

    assert "7 submissions: 7 graded" in remote_stdout and "0 failed" in remote_stdout, remote_stdout
    assert "14 exercises graded now" in remote_stdout, remote_stdout
    assert "gradebook.csv" in local_files and any(name.startswith("results/") for name in local_files)
    assert sorted(remote_files) == sorted(local_files)
    different = [name for name in local_files if remote_files[name] != local_files[name]]
    assert different == [], f"outputs differ from the local run: {different}"
    assert any(b"same_padding" in data for name, data in local_files.items() if name.startswith("results/eve"))
    assert time.monotonic() - started < 110, "the Dask test must stay under 2 minutes"


def test_a_worker_running_another_grader_is_refused(dask_cluster, monkeypatch) -> None:
    address, _workers, _logs = dask_cluster
    client = cluster._connect(address)
    try:
        assert cluster.check_workers(client, address) == 2
        monkeypatch.setattr(cluster, "__version__", "0.0.0-other")  # here only: the workers keep theirs
        with pytest.raises(GraderError, match="must run the same grader.*tcp://127.0.0.1:[0-9]+: grader '0.1"):
            cluster.check_workers(client, address)
    finally:
        client.close()


def test_an_unreachable_scheduler_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 2.0)
    with pytest.raises(GraderError, match="--scheduler tcp://127.0.0.1:.*cannot reach"):
        cluster._connect(f"tcp://127.0.0.1:{_free_port()}")


def test_pairs_travel_as_data_and_refuse_escaping_names(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "exercises").mkdir(parents=True)
    (source / "exercises" / "exercise1.py").write_bytes(b"x = 1\n")
    (source / "notes.txt").write_bytes(b"\x00\xff")
    files = cluster.pack(source)
    assert files == {"exercises/exercise1.py": b"x = 1\n", "notes.txt": b"\x00\xff"}
    target = tmp_path / "target"
    target.mkdir()
    cluster.unpack(files, target)
    assert cluster.pack(target) == files
    for name in ("../escape.py", "/etc/passwd", "a/../../b", ""):
        with pytest.raises(GraderError, match="refusing the file name"):
            cluster.unpack({name: b""}, tmp_path / "other")
    assert not (tmp_path / "escape.py").exists()


def test_batch_help_documents_scheduler_and_refuses_a_bad_address() -> None:
    shown = subprocess.run([sys.executable, "-m", "grader.cli", "batch", "--help"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout
    assert "--scheduler tcp://HOST:PORT" in shown
    refused = subprocess.run([sys.executable, "-m", "grader.cli", "batch", "x", "--out", "y",
                              "--scheduler", "localhost:8786"], cwd=ROOT, capture_output=True, text=True)
    assert refused.returncode == 2
    assert "argument --scheduler" in refused.stderr
