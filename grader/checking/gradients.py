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

from grader.checking.check import Call
from grader.checking.compare import describe_type
from grader.checking.outcomes import CheckFailure
from grader.checking.table import FailureTable


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


_COLUMNS = ["gradient", "shape", "max |diff|", "rel. error", "limit", ""]


def _row(name: str, received: object, expected: np.ndarray, limit: float) -> tuple[list[str], str | None, bool]:
    """(cells, note, ok) of one gradient's row: the note says what is wrong or where it is worst."""
    shape = str(tuple(expected.shape))
    bound = f"{limit:.0e}"
    if type(received) is not np.ndarray:
        return [name, shape, "—", "—", bound, "✗"], f"not an ndarray ({describe_type(received)})", False
    if received.shape != expected.shape:
        return [name, shape, "—", "—", bound, "✗"], f"received shape {received.shape}", False
    if received.dtype.kind != "f" or not np.isfinite(received).all():
        return [name, shape, "—", "—", bound, "✗"], f"not finite floats ({received.dtype})", False
    diff = np.abs(received - expected)
    error = rel_error(received, expected) if received.size else 0.0
    max_diff = float(diff.max()) if received.size else 0.0
    ok = error < limit
    note = None
    if not ok:
        worst = tuple(int(i) for i in np.unravel_index(np.argmax(diff), diff.shape))
        note = f"worst at {worst}: yours {received[worst]:.6g}, reference {expected[worst]:.6g}"
    return [name, shape, f"{max_diff:.2g}", f"{error:.2g}", bound, "✓" if ok else "✗"], note, ok


def _divided_by_batch(call: Call, received: Sequence[object], expected: Sequence[np.ndarray],
                      wrong: list[str], names: Sequence[str]) -> str | None:
    """The hint for gradients divided by the batch size N, when that reproduces every wrong one exactly.

    N is the first axis of the call's ``x`` (or ``dout``), read from the ``Call``'s arguments."""
    batch = next((v for k, v in (call.kwargs or {}).items() if k in ("x", "dout") and isinstance(v, np.ndarray)),
                 None)
    if batch is None or batch.ndim == 0 or batch.shape[0] < 2:
        return None
    n = batch.shape[0]
    by_name = dict(zip(names, zip(received, expected, strict=True), strict=True))
    for name in wrong:
        got, want = by_name[name]
        if not (isinstance(got, np.ndarray) and got.shape == want.shape and np.any(want)
                and np.allclose(got, want / n, rtol=1e-6, atol=1e-12)):
            return None
    return (f"{' and '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} the reference divided by the batch size "
            f"N = {n}: dout already holds the upstream gradient (any 1/N of a mean loss is in it), so do not "
            "divide again.")


def expect_gradients(received: object, expected: Sequence[np.ndarray], names: Sequence[str], *, call: Call,
                     limit: float = 1e-6, reference: str = "tf.GradientTape", hint: str | None = None) -> None:
    """``received`` is a tuple of len(names) arrays, each within ``limit`` relative error."""
    single = len(names) == 1
    if single:
        received = (received,)
    if not isinstance(received, tuple) or len(received) != len(names):
        what = ", ".join(names)
        raise CheckFailure(
            call=call, summary=f"{call.function} must return a tuple ({what}).",
            evidence=[("call", str(call)), ("expected", f"a tuple of {len(names)} arrays"),
                      ("received", f"{describe_type(received)} of length {len(received) if isinstance(received, tuple | list) else '—'}")],
        )
    rows: list[list[str]] = []
    notes: dict[int, str] = {}
    verdicts = []
    for name, got, want in zip(names, received, expected, strict=True):
        cells, note, ok = _row(name, got, want, limit)
        if note:
            notes[len(rows)] = note
        rows.append(cells)
        verdicts.append(ok)
    if all(verdicts):
        return
    wrong = [n for n, ok in zip(names, verdicts, strict=True) if not ok]
    right = [n for n, ok in zip(names, verdicts, strict=True) if ok]
    summary = f"{call.function} returned {' and '.join(wrong)} that differ{'s' if len(wrong) == 1 else ''} from {reference}."
    inference = None
    if right:
        inference = (f"{' and '.join(right)} {'is' if len(right) == 1 else 'are'} right but {' and '.join(wrong)} "
                     f"{'is' if len(wrong) == 1 else 'are'} not: look at the code that computes "
                     f"{' and '.join(wrong)}.")
    hint = hint or _divided_by_batch(call, received, expected, wrong, names) or inference
    raise CheckFailure(summary, evidence=[("call", str(call))], table=FailureTable(_COLUMNS, rows, notes=notes),
                       call=call, hint=hint)
