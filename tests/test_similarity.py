"""Similar submissions (issue 14): same function bodies once names, comments, docstrings and
formatting are normalised; flagged for review, never penalised."""

from __future__ import annotations

from pathlib import Path

from grader.batch.similarity import fingerprints, similar_groups

ROOT = Path(__file__).resolve().parents[1]

ORIGINAL = '''
import numpy as np


def relu_backward(dout, cache):
    """Gradient of ReLU."""
    x = cache
    mask = x > 0          # where the input was positive
    result = np.where(mask, dout, 0.0)
    for row in range(result.shape[0]):
        result[row] = result[row] * 1.0
    return result


def helper(a):
    return a
'''

# The same code: other names, other comments, another docstring, other formatting.
RENAMED = '''
import numpy as np

def relu_backward(upstream,
                  saved):
    # my own work!
    inputs = saved
    positive = (inputs > 0)
    grad = np.where(positive,
                    upstream, 0.0)
    for i in range(grad.shape[0]):
        grad[i] = grad[i] * 1.0   # keep
    return grad
'''

# An honest, different solution of the same function.
DIFFERENT = '''
import numpy as np


def relu_backward(dout, cache):
    x = cache
    dx = dout.copy()
    dx[x <= 0] = 0
    for row in range(dx.shape[0]):
        dx[row] = dx[row] * 1.0
    return dx
'''


def test_identical_and_renamed_copies_are_grouped_an_honest_solution_is_not():
    sources = {("ann", "exercise4"): ORIGINAL,
               ("ben", "exercise4"): ORIGINAL.replace("# where", "# wherever"),
               ("cat", "exercise4"): RENAMED,
               ("dan", "exercise4"): DIFFERENT}
    groups = similar_groups(sources, min_nodes=10)
    assert [(g.exercise, g.function, g.students) for g in groups] == [
        ("exercise4", "relu_backward", ("ann", "ben", "cat"))]
    assert len(groups[0].fingerprint) == 12


def test_two_honest_solutions_stay_apart_and_globals_are_not_renamed():
    uses_np = "import numpy as np\ndef f(x):\n    y = np.maximum(x, 0)\n    return y\n"
    uses_other = "import numpy as np\ndef f(x):\n    y = np.minimum(x, 0)\n    return y\n"
    assert fingerprints(uses_np)["f"][0] != fingerprints(uses_other)["f"][0]
    renamed = "import numpy as np\ndef f(z):\n    w = np.maximum(z, 0)\n    return w\n"
    assert fingerprints(uses_np)["f"][0] == fingerprints(renamed)["f"][0]
    assert similar_groups({("a", "e"): uses_np, ("b", "e"): uses_other}, min_nodes=1) == []


def test_stub_bodies_small_functions_and_broken_files_are_left_out():
    stub = (ROOT / "exercises" / "exercise1.py").read_text(encoding="utf-8")
    solution = (ROOT / "solutions" / "exercise1.py").read_text(encoding="utf-8")
    sources = {("a", "exercise1"): stub, ("b", "exercise1"): stub,
               ("c", "exercise1"): "def broken(:\n", ("d", "exercise1"): "\x00" * 10}
    assert similar_groups(sources, stubs={"exercise1": stub}, min_nodes=1) == []
    copies = similar_groups({("a", "e"): ORIGINAL, ("b", "e"): ORIGINAL})
    assert [g.function for g in copies] == ["relu_backward"]  # helper() is below MIN_NODES
    both = similar_groups({("a", "exercise1"): solution, ("b", "exercise1"): solution},
                          stubs={"exercise1": stub})
    assert {g.function for g in both} >= {"conv_output_size", "receptive_field"}
