"""Strict comparisons with student-friendly failure messages.

Every ``expect_*`` function either returns quietly or raises ``CheckFailure``.
The order of the checks is the order a student should fix things in: the type
(an ``int``; exact ``np.ndarray``, not a subclass), then the dtype kind, the
shape, finiteness, and only then the values, with stated tolerances. Nothing
here trusts the received object: it arrives as decoded plain data.

Numbers of the same kind count as the same (SPEC.md's conventions): a NumPy
integer scalar where an ``int`` is asked, a NumPy floating scalar where a
``float`` is asked, get full credit with a gentle note (``same_kind_number``).
``bool`` (Python or NumPy) is not an int here; what crosses the wire stays
strict (no ndarray subclasses, no other objects).
"""

from __future__ import annotations

import contextvars
import math
from collections.abc import Sequence

import numpy as np

from grader.checking.check import Call, CheckFailure, add_note, format_value
from grader.sandbox.runtime.protocol import NumpyScalar, Unsupported


def describe_type(value: object) -> str:
    """How a received value's type is named to a student."""
    if isinstance(value, NumpyScalar):
        return f"numpy.{value.dtype}"
    if isinstance(value, Unsupported):
        return value.type_name
    if isinstance(value, np.ndarray):
        return f"numpy.ndarray of {value.dtype}"
    return type(value).__name__


_INTEGER_DTYPES = frozenset(f"{sign}int{bits}" for sign in ("", "u") for bits in (8, 16, 32, 64))
_FLOAT_DTYPES = frozenset(("float16", "float32", "float64", "longdouble", "float128", "float96"))


def same_kind_number(received: object, kind: type, *, function: str = "your function") -> object:
    """``received`` as a Python ``kind`` (int or float) when it is a NumPy scalar of that kind.

    The NumPy scalar is accepted with a note; anything else comes back unchanged
    (and fails the caller's type test as before). Only the plain value decoded
    from the wire is used.
    """
    if not isinstance(received, NumpyScalar):
        return received
    if kind is int and received.dtype in _INTEGER_DTYPES and type(received.value) is int:
        add_note(f"{function} returned numpy.{received.dtype} where an int is asked: accepted as the same "
                 "number (int(...) would make it a plain Python int).")
        return received.value
    if kind is float and received.dtype in _FLOAT_DTYPES and type(received.value) is float:
        add_note(f"{function} returned numpy.{received.dtype} where a float is asked: accepted as the same "
                 "number (float(...) would make it a plain Python float).")
        return received.value
    return received


def _failed(call: Call, summary: str, **fields: object) -> CheckFailure:
    """A ``CheckFailure`` that carries its reported call as data."""
    return CheckFailure(summary, call=call, **fields)  # type: ignore[arg-type]


def _evidence(call: Call, expected: str, received: str) -> list[tuple[str, str]]:
    return [("call", str(call)), ("expected", expected), ("received", received)]


def expect_int(received: object, expected: int, *, call: Call, rule: str | None = None,
               hint: str | None = None) -> None:
    """An ``int`` equal to ``expected``: a Python int, or a NumPy integer scalar (with a note).

    ``bool``, floats and NumPy floats are refused."""
    received = same_kind_number(received, int, function=call.function)
    if type(received) is not int:
        hint_text = None
        if isinstance(received, NumpyScalar) or type(received) is float:
            value = received.value if isinstance(received, NumpyScalar) else received
            hint_text = f"Convert the result with int(...): the value was {value!r}."
        raise _failed(call,
            f"{call.function} must return a Python int.",
            evidence=_evidence(call, f"int {expected}", f"{describe_type(received)} {format_value(received)}"),
            rule=rule,
            hint=hint_text,
        )
    if received != expected:
        raise _failed(call,
            f"{call.function} returned the wrong number.",
            evidence=_evidence(call, repr(expected), repr(received)),
            rule=rule,
            hint=hint,
        )


_FUNCTION: contextvars.ContextVar[str] = contextvars.ContextVar("compared_function", default="your function")


def _structure_mismatch(received: object, expected: object, path: str) -> str | None:
    """The first place where ``received`` differs from ``expected`` in type or value, or None."""
    if type(expected) is int or type(expected) is float:
        received = same_kind_number(received, type(expected), function=_FUNCTION.get())
    if type(expected) is int:
        if type(received) is not int:
            return f"{path or 'the result'} should be an int, got {describe_type(received)} {format_value(received)}"
        return None if received == expected else f"{path or 'the result'} is {received!r}, expected {expected!r}"
    if type(expected) is tuple or type(expected) is list:
        kind = type(expected).__name__
        if type(received) is not type(expected):
            return f"{path or 'the result'} should be a {kind}, got {describe_type(received)} {format_value(received)}"
        if len(received) != len(expected):
            return f"{path or 'the result'} has {len(received)} items, expected {len(expected)}: {format_value(received)}"
        for index, (r, e) in enumerate(zip(received, expected, strict=True)):
            problem = _structure_mismatch(r, e, f"{path}[{index}]")
            if problem:
                return problem
        return None
    if type(expected) is dict:
        if type(received) is not dict:
            return f"{path or 'the result'} should be a dict, got {describe_type(received)}"
        missing = [k for k in expected if k not in received]
        extra = [k for k in received if k not in expected]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if extra:
                parts.append(f"unexpected keys {[str(k) for k in extra][:5]}")
            return f"{path or 'the result'}: {', '.join(parts)}"
        for key in expected:
            problem = _structure_mismatch(received[key], expected[key], f"{path}[{key!r}]")
            if problem:
                return problem
        return None
    if type(received) is not type(expected) or received != expected:
        return f"{path or 'the result'} is {format_value(received)}, expected {format_value(expected)}"
    return None


def expect_exact(received: object, expected: object, *, call: Call, rule: str | None = None,
                 hint: str | None = None) -> None:
    """Equal in value *and* type, recursively (ints, strings, tuples, lists, dicts).

    NumPy scalars count as the Python numbers of the same kind (with a note)."""
    token = _FUNCTION.set(call.function)
    try:
        problem = _structure_mismatch(received, expected, "")
    finally:
        _FUNCTION.reset(token)
    if problem:
        raise _failed(call,
            f"{call.function} returned a wrong result: {problem}.",
            evidence=_evidence(call, format_value(expected, 300), format_value(received, 300)),
            rule=rule,
            hint=hint,
        )


def expect_value_error(result, *, argument: str | tuple[str, ...], call: Call) -> None:
    """The call raised ``ValueError`` (or a subclass) whose message names ``argument``.

    ``argument`` may be a tuple of acceptable names (the message must name one).
    """
    names = (argument,) if isinstance(argument, str) else tuple(argument)
    shown = names[0]
    if result.raised is None:
        raise _failed(call,
            f"{call.function} accepted an invalid {shown}; it must raise ValueError.",
            evidence=[("call", str(call)), ("expected", f"ValueError naming {shown!r}"),
                      ("received", f"returned {format_value(result.value)}")],
        )
    if "ValueError" not in result.raised.get("mro", []):
        raise _failed(call,
            f"{call.function} raised {result.raised['type']} for an invalid {shown}; "
            "the course convention is ValueError.",
            evidence=[("call", str(call)), ("expected", f"ValueError naming {shown!r}"),
                      ("received", f"{result.raised['type']}: {result.raised.get('message', '')}")],
        )
    message = result.raised.get("message", "")
    if not any(name in message for name in names):
        raise _failed(call,
            f"{call.function} raised ValueError, but the message does not name the argument {shown!r}.",
            evidence=[("call", str(call)), ("received", f"ValueError: {message}")],
            hint=f"Say which argument is wrong, e.g. ValueError(\"{shown} must be positive, got ...\").",
        )


def expect_rejections(sub, cases: list[tuple[str, dict, tuple[str, ...]]]) -> None:
    """Each ``(function, kwargs, names)`` call must raise a ValueError naming one of ``names``."""
    for function, kwargs, names in cases:
        expect_value_error(sub.call_raw(function, **kwargs), argument=names,
                           call=Call(function, (), kwargs))


def expect_rejections_each(sub, cases: list[tuple[str, dict, tuple[str, ...]]], *, file: str | None = None
                           ) -> None:
    """``expect_rejections`` with one share per function (``grader.checking.check.each_function``)."""
    from grader.checking.check import each_function

    functions = list(dict.fromkeys(function for function, _, _ in cases))
    each_function(sub, functions, lambda name: expect_rejections(sub, [c for c in cases if c[0] == name]),
                  file=file)


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
        raise _failed(call,
            f"{what} must return a NumPy array for {name}.",
            evidence=_evidence(call, f"numpy.ndarray of shape {expected.shape}",
                               f"{describe_type(received)} {format_value(received)}"),
            rule=rule,
        )
    if received.dtype.kind != "f":
        raise _failed(call,
            f"{what} returned {name} with dtype {received.dtype}; a floating-point array is expected.",
            evidence=_evidence(call, f"float dtype ({expected.dtype})", str(received.dtype)),
            hint="Start from a float array (np.zeros(..., dtype=x.dtype)) rather than an int one.",
        )
    if received.shape != expected.shape:
        raise _failed(call,
            f"{what} returned {name} with the wrong shape.",
            evidence=_evidence(call, str(expected.shape), str(received.shape)),
            rule=rule,
            hint=hint,
        )
    finite = np.isfinite(received)
    if not finite.all():
        index = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise _failed(call,
            f"{what} returned {name} containing NaN or infinity.",
            evidence=[("call", str(call)), ("first at", f"index {index}: {received[index]!r}")],
        )
    difference = first_difference(received.astype(np.float64), expected.astype(np.float64), rtol, atol)
    if difference is not None:
        index, got, want = difference
        worst = float(np.max(np.abs(received - expected)))
        raise _failed(call,
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
                raise _failed(
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
    from grader.checking.check import StudentRaised

    for function, kwargs in calls:
        call = Call(function, (), kwargs)
        result = sub.call_raw(function, return_args=True, **kwargs)
        if result.raised is not None:
            raise StudentRaised(call, result.raised)
        if not isinstance(result.kwargs_after, dict):
            raise _failed(call, f"{function}'s arguments did not come back after the call, so the grader "
                               "cannot tell whether they were modified.", evidence=[("call", str(call))])
        names = [k for k, v in kwargs.items() if isinstance(v, np.ndarray)]
        expect_unchanged([kwargs[k] for k in names], [result.kwargs_after.get(k) for k in names], names, call=call)


def is_close_scalar(received: float, expected: float, rtol: float, atol: float) -> bool:
    return math.isfinite(received) and abs(received - expected) <= atol + rtol * abs(expected)
