"""Comparisons of arrays: type, dtype kind, shape, finiteness, then values with stated tolerances.

Like ``compare``, each ``expect_*`` returns quietly or raises ``CheckFailure``
carrying the call; inputs modified in place are found by comparing the arrays
the child sends back after a call with the grader's own copies.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from grader.checking.calls import Call, format_value
from grader.checking.compare import describe_type, evidence_rows, failure_of
from grader.checking.outcomes import StudentRaised


def first_difference(received: np.ndarray, expected: np.ndarray, rtol: float, atol: float
                     ) -> tuple[tuple[int, ...], float, float] | None:
    """Index (row-major first) where ``|r - e| > atol + rtol * |e|``, with both values."""
    bad = ~(np.abs(received - expected) <= atol + rtol * np.abs(expected))
    if not bad.any():
        return None
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    return index, float(received[index]), float(expected[index])


def expect_array(received: object, expected: np.ndarray, *, call: Call, rtol: float = 1e-7,
                 atol: float = 0.0, name: str = "the result", rule: str | None = None,
                 hint: str | None = None) -> None:
    """An exact ``np.ndarray`` of float dtype and ``expected``'s shape, finite, and close.

    Tolerance: ``|received - expected| <= atol + rtol * |expected|`` elementwise
    (``np.isclose``'s rule, without its NaN leniency).
    """
    what = call.function
    if type(received) is not np.ndarray:
        raise failure_of(call,
            f"{what} must return a NumPy array for {name}.",
            evidence=evidence_rows(call, f"numpy.ndarray of shape {expected.shape}",
                               f"{describe_type(received)} {format_value(received)}"),
            rule=rule,
        )
    if received.dtype.kind != "f":
        raise failure_of(call,
            f"{what} returned {name} with dtype {received.dtype}; a floating-point array is expected.",
            evidence=evidence_rows(call, f"float dtype ({expected.dtype})", str(received.dtype)),
            hint="Start from a float array (np.zeros(..., dtype=x.dtype)) rather than an int one.",
        )
    if received.shape != expected.shape:
        raise failure_of(call,
            f"{what} returned {name} with the wrong shape.",
            evidence=evidence_rows(call, str(expected.shape), str(received.shape)),
            rule=rule,
            hint=hint,
        )
    finite = np.isfinite(received)
    if not finite.all():
        index = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise failure_of(call,
            f"{what} returned {name} containing NaN or infinity.",
            evidence=[("call", str(call)), ("first at", f"index {index}: {received[index]!r}")],
        )
    difference = first_difference(received.astype(np.float64), expected.astype(np.float64), rtol, atol)
    if difference is not None:
        index, got, want = difference
        worst = float(np.max(np.abs(received - expected)))
        raise failure_of(call,
            f"{what} returned {name} with the right shape but wrong values.",
            evidence=[
                ("call", str(call)),
                ("first diff", f"index {index}: expected {want:.10g}, received {got:.10g}"),
                ("max |diff|", f"{worst:.3g} (tolerance: atol={atol:g} + rtol={rtol:g}·|expected|)"),
            ],
            rule=rule,
            hint=hint,
        )


def expect_unchanged(sent: Sequence[np.ndarray], after: Sequence[object] | None, names: Sequence[str],
                     *, call: Call) -> None:
    """The arrays the child holds after the call equal what was sent (inputs not modified)."""
    if after is None:
        return
    for name, original, now in zip(names, sent, after, strict=False):
        if isinstance(original, np.ndarray) and isinstance(now, np.ndarray):
            if now.shape != original.shape or not np.array_equal(now, original, equal_nan=True):
                changed = "its shape" if now.shape != original.shape else _first_change(original, now)
                raise failure_of(
                    call, f"{call.function} modified its input {name} in place.",
                    evidence=[("call", str(call)), ("input", name), ("changed", changed)],
                    hint=(f"{name} is the caller's array: an assignment into it ({name}[...] = ..., {name} += ...) "
                          f"changes it for the caller too. Work on a copy ({name} = {name}.copy()) or build a "
                          "new array."),
                )


def _first_change(original: np.ndarray, now: np.ndarray) -> str:
    """Where an array first differs from what was sent: ``index (0, 1): sent -1.0, now 0.0``."""
    same = (now == original) | (np.isnan(now) & np.isnan(original)) if original.dtype.kind in "fc" else now == original
    index = tuple(int(i) for i in np.argwhere(~same)[0])
    return f"index {index}: sent {original[index].item()!r}, now {now[index].item()!r}"


def expect_inputs_unchanged(sub, calls: list[tuple[str, dict]]) -> None:
    """Each ``(function, kwargs)`` call returns and leaves its array arguments as they were sent.

    The child sends back its arguments after the call; they are compared with the
    grader's own copies. A call that raises earns nothing here: only a function
    that returned has shown that it leaves its inputs alone.
    """
    for function, kwargs in calls:
        call = Call(function, (), kwargs)
        result = sub.call_raw(function, return_args=True, **kwargs)
        if result.raised is not None:
            raise StudentRaised(call, result.raised)
        if not isinstance(result.kwargs_after, dict):
            raise failure_of(call, f"{function}'s arguments did not come back after the call, so the grader "
                               "cannot tell whether they were modified.", evidence=[("call", str(call))])
        names = [k for k, v in kwargs.items() if isinstance(v, np.ndarray)]
        expect_unchanged([kwargs[k] for k in names], [result.kwargs_after.get(k) for k in names], names, call=call)
