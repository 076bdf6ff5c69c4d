"""Reference layers against TensorFlow, side by side in one run, and how long grading takes.

Run on demand: ``.venv/bin/python benchmarks/bench_layers.py``. Prints, for
x (32, 28, 28, 16) and w (3, 3, 16, 32) in float32 and float64, the median time
of the reference ``conv2d_forward`` and ``tf.nn.conv2d`` (stride 1 "same",
stride 2 "valid") and of ``conv2d_backward`` and ``tf.GradientTape``, and the
ratios (targets: forward <= 2x, backward <= 3x). Then the wall time of grading
exercises 3 and 5 for the reference solutions and for the loop implementations in
tests/alternatives/ (targets: <= 30 s and <= 60 s).
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "solutions" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def median_time(function, *args, repeats: int = 15) -> float:
    function(*args)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def layer_ratios() -> None:
    import tensorflow as tf

    forward, backward = load("exercise3"), load("exercise5")
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        x = rng.standard_normal((32, 28, 28, 16)).astype(dtype)
        w = rng.standard_normal((3, 3, 16, 32)).astype(dtype)
        b = rng.standard_normal(32).astype(dtype)
        for stride, padding in ((1, "same"), (2, "valid")):
            ours = median_time(forward.conv2d_forward, x, w, b, stride, padding)
            theirs = median_time(lambda *a: tf.nn.conv2d(*a[:4]) + a[4], x, w, stride, padding.upper(), b)
            print(f"forward  {np.dtype(dtype).name:<8} stride {stride} {padding:<6} numpy {ours * 1e3:7.2f} ms"
                  f"  tf {theirs * 1e3:7.2f} ms  ratio {ours / theirs:5.2f}  (target <= 2)")
            out = forward.conv2d_forward(x, w, b, stride, padding)
            dout = rng.standard_normal(out.shape).astype(dtype)
            tx, tw, tb = tf.Variable(x), tf.Variable(w), tf.Variable(b)

            def tape(tx, tw, tb, stride, padding, dout):
                with tf.GradientTape() as g:
                    loss = tf.reduce_sum((tf.nn.conv2d(tx, tw, stride, padding.upper()) + tb) * dout)
                return g.gradient(loss, [tx, tw, tb])

            ours = median_time(backward.conv2d_backward, dout, x, w, b, stride, padding)
            theirs = median_time(tape, tx, tw, tb, stride, padding, dout)
            print(f"backward {np.dtype(dtype).name:<8} stride {stride} {padding:<6} numpy {ours * 1e3:7.2f} ms"
                  f"  tf {theirs * 1e3:7.2f} ms  ratio {ours / theirs:5.2f}  (target <= 3)")


def grading_times() -> None:
    from grader.catalogue import load_catalogue
    from grader.runner import grade_exercise

    catalogue = load_catalogue(ROOT / "assignments.toml")
    for exercise_id in ("exercise3", "exercise5"):
        exercise = catalogue.get(exercise_id)
        for label, source in (("solution", ROOT / "solutions" / f"{exercise_id}.py"),
                              ("loops", ROOT / "tests" / "alternatives" / f"{exercise_id}_loops.py")):
            with tempfile.TemporaryDirectory() as folder:
                (Path(folder) / f"{exercise_id}.py").write_text(source.read_text())
                started = time.perf_counter()
                result = grade_exercise(exercise=exercise, submission=Path(folder))
                elapsed = time.perf_counter() - started
            print(f"grade {exercise_id} {label:<8} {elapsed:6.1f} s  score {result.score:g}/{result.max_score:g}")


if __name__ == "__main__":
    layer_ratios()
    grading_times()
