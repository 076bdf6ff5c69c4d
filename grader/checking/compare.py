"""Strict comparisons with student-friendly failure messages.

Every ``expect_*`` function either returns quietly or raises ``CheckFailure``.
The order of the checks is the order a student should fix things in: the type
(an ``int``; exact ``np.ndarray``, not a subclass), then the dtype kind, the
shape, finiteness, and only then the values, with stated tolerances. Nothing
here trusts the received object: it arrives as decoded plain data. Arrays are
compared in ``compare_arrays``; this module never imports NumPy.

Numbers of the same kind count as the same (SPEC.md's conventions): a NumPy
integer scalar where an ``int`` is asked, a NumPy floating scalar where a
``float`` is asked, get full credit with a gentle note (``same_kind_number``).
``bool`` (Python or NumPy) is not an int here; what crosses the wire stays
strict (no ndarray subclasses, no other objects).
"""

from __future__ import annotations

import contextvars
import math

from grader.checking.calls import Call, format_value, is_array
from grader.checking.outcomes import CheckFailure, add_note
from grader.sandbox.runtime.protocol import NumpyScalar, Unsupported


def describe_type(value: object) -> str:
    """How a received value's type is named to a student."""
    if isinstance(value, NumpyScalar):
        return f"numpy.{value.dtype}"
    if isinstance(value, Unsupported):
        return value.type_name
    if is_array(value):
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


def failure_of(call: Call, summary: str, **fields: object) -> CheckFailure:
    """A ``CheckFailure`` that carries its reported call as data."""
    return CheckFailure(summary, call=call, **fields)  # type: ignore[arg-type]


def evidence_rows(call: Call, expected: str, received: str) -> list[tuple[str, str]]:
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
        raise failure_of(call,
            f"{call.function} must return a Python int.",
            evidence=evidence_rows(call, f"int {expected}", f"{describe_type(received)} {format_value(received)}"),
            rule=rule,
            hint=hint_text,
        )
    if received != expected:
        raise failure_of(call,
            f"{call.function} returned the wrong number.",
            evidence=evidence_rows(call, repr(expected), repr(received)),
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
        raise failure_of(call,
            f"{call.function} returned a wrong result: {problem}.",
            evidence=evidence_rows(call, format_value(expected, 300), format_value(received, 300)),
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
        raise failure_of(call,
            f"{call.function} accepted an invalid {shown}; it must raise ValueError.",
            evidence=[("call", str(call)), ("expected", f"ValueError naming {shown!r}"),
                      ("received", f"returned {format_value(result.value)}")],
        )
    if "ValueError" not in result.raised.get("mro", []):
        raise failure_of(call,
            f"{call.function} raised {result.raised['type']} for an invalid {shown}; "
            "the course convention is ValueError.",
            evidence=[("call", str(call)), ("expected", f"ValueError naming {shown!r}"),
                      ("received", f"{result.raised['type']}: {result.raised.get('message', '')}")],
        )
    message = result.raised.get("message", "")
    if not any(name in message for name in names):
        raise failure_of(call,
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


def is_close_scalar(received: float, expected: float, rtol: float, atol: float) -> bool:
    return math.isfinite(received) and abs(received - expected) <= atol + rtol * abs(expected)
