"""Gradient comparisons for the backward-pass checks (CS231n's ``gradient_check``, as a verdict).

``expect_gradients`` compares a tuple of received gradients with the reference
ones and, on failure, shows one row per gradient: shape, max |diff|, relative
error, the limit, ✓/✗, and for a wrong one the worst entry by index, yours
against the reference. When some gradients pass and one fails it says so,
because that locates the bug.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from grader.check import CheckFailure
from grader.compare import describe_type


def rel_error(received: np.ndarray, expected: np.ndarray) -> float:
    """CS231n's relative error: max |r − e| / max(1e-8, |r| + |e|), elementwise."""
    return float(np.max(np.abs(received - expected) / np.maximum(1e-8, np.abs(received) + np.abs(expected))))


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, *, h: float = 1e-5) -> np.ndarray:
    """Centred differences (f(x + h·e_i) − f(x − h·e_i)) / 2h for every entry i of a float64 x."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        saved = x[index]
        x[index] = saved + h
        plus = f(x)
        x[index] = saved - h
        minus = f(x)
        x[index] = saved
        grad[index] = (plus - minus) / (2 * h)
    return grad


def _row(name: str, received: object, expected: np.ndarray, limit: float) -> tuple[str, bool]:
    shape = str(tuple(expected.shape))
    if type(received) is not np.ndarray:
        return f"  {name:<9}{shape:<16}{'—':<12}{'—':<12}{limit:<8.0e}✗  not an ndarray ({describe_type(received)})", False
    if received.shape != expected.shape:
        return f"  {name:<9}{shape:<16}{'—':<12}{'—':<12}{limit:<8.0e}✗  received shape {received.shape}", False
    if received.dtype.kind != "f" or not np.isfinite(received).all():
        return f"  {name:<9}{shape:<16}{'—':<12}{'—':<12}{limit:<8.0e}✗  not finite floats ({received.dtype})", False
    diff = np.abs(received - expected)
    error = rel_error(received, expected) if received.size else 0.0
    max_diff = float(diff.max()) if received.size else 0.0
    ok = error < limit
    row = f"  {name:<9}{shape:<16}{max_diff:<12.2g}{error:<12.2g}{limit:<8.0e}{'✓' if ok else '✗'}"
    if not ok:
        worst = tuple(int(i) for i in np.unravel_index(np.argmax(diff), diff.shape))
        row += f"  worst at {worst}: yours {received[worst]:.6g}, reference {expected[worst]:.6g}"
    return row, ok


def expect_gradients(received: object, expected: Sequence[np.ndarray], names: Sequence[str], *, call: str,
                     limit: float = 1e-6, reference: str = "tf.GradientTape", hint: str | None = None) -> None:
    """``received`` is a tuple of len(names) arrays, each within ``limit`` relative error."""
    single = len(names) == 1
    if single:
        received = (received,)
    if not isinstance(received, tuple) or len(received) != len(names):
        what = ", ".join(names)
        raise CheckFailure(
            f"{call.split('(')[0]} must return a tuple ({what}).",
            evidence=[("call", call), ("expected", f"a tuple of {len(names)} arrays"),
                      ("received", f"{describe_type(received)} of length {len(received) if isinstance(received, tuple | list) else '—'}")],
        )
    rows = [f"  {'gradient':<9}{'shape':<16}{'max |diff|':<12}{'rel. error':<12}{'limit':<8}"]
    verdicts = []
    for name, got, want in zip(names, received, expected, strict=True):
        row, ok = _row(name, got, want, limit)
        rows.append(row)
        verdicts.append(ok)
    if all(verdicts):
        return
    wrong = [n for n, ok in zip(names, verdicts, strict=True) if not ok]
    right = [n for n, ok in zip(names, verdicts, strict=True) if ok]
    summary = f"{call.split('(')[0]} returned {' and '.join(wrong)} that differ{'s' if len(wrong) == 1 else ''} from {reference}."
    inference = None
    if right:
        inference = (f"{' and '.join(right)} {'is' if len(right) == 1 else 'are'} right but {' and '.join(wrong)} "
                     f"{'is' if len(wrong) == 1 else 'are'} not: look at the code that computes "
                     f"{' and '.join(wrong)}.")
    raise CheckFailure(summary, evidence=[("call", call)], details="\n".join(rows),
                       hint=hint or inference)
