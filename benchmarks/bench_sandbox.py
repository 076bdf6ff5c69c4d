"""On demand: what bubblewrap costs per child, and the grader's memory on oversized replies.

Starts the same small submission in a sandbox with bubblewrap and without it
(the fallback), alternating, and prints the median start-up time of each and
their difference. Then measures the grader's peak traced memory while the
child sends a 33 MB reply (refused at its header) and a 30 MB array (accepted).

    .venv/bin/python benchmarks/bench_sandbox.py [--runs 15]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

from grader.sandbox import ChildFailure, Sandbox
from grader.sandbox.launch import detect_platform

SOURCE = '''
import sys
import numpy as np
_main = sys.modules["__main__"]
def f():
    return 1
def huge():
    payload = b'{"json": 2, "blobs": []}\\n' + b"[" + b"1," * (16 * 1024 * 1024 + 512) + b"1]"
    _main.RESPONSES.write(len(payload).to_bytes(4, "big") + payload)
    return 1
def array():
    return np.ones((30 * 1024 * 1024) // 8)
'''


def _start_ms(folder: Path, platform) -> float:
    started = time.perf_counter()
    with Sandbox({"probe.py": folder / "probe.py"}, "probe", platform=platform) as sandbox:
        sandbox.call("f")
        elapsed = time.perf_counter() - started
    return elapsed * 1000


def _peak_mb(folder: Path, function: str) -> tuple[float, str]:
    with Sandbox({"probe.py": folder / "probe.py"}, "probe") as sandbox:
        tracemalloc.start()
        try:
            sandbox.call(function, timeout=60)
            outcome = "accepted"
        except ChildFailure as failure:
            outcome = failure.reason[:80]
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak / 1e6, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    platform = detect_platform()
    if platform.bwrap is None:
        raise SystemExit("bubblewrap is not usable here: nothing to compare")
    fallback = dataclasses.replace(platform, bwrap=None)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "probe.py").write_text(SOURCE)
        _start_ms(folder, platform)  # warm the interpreter mirror and the page cache
        with_bwrap, without = [], []
        for _ in range(runs):
            with_bwrap.append(_start_ms(folder, platform))
            without.append(_start_ms(folder, fallback))
        a, b = statistics.median(with_bwrap), statistics.median(without)
        print(f"start + one call, median of {runs}: bubblewrap {a:.1f} ms, fallback {b:.1f} ms, "
              f"bubblewrap's cost {a - b:+.1f} ms ({a / b:.2f}x)")
        for function in ("huge", "array"):
            peak, outcome = _peak_mb(folder, function)
            print(f"reply from {function}(): grader peak {peak:.1f} MB traced ({outcome})")


if __name__ == "__main__":
    main()
