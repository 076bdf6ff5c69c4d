"""Strict comparisons: each rule refuses what it must, with the message a student needs."""

from __future__ import annotations

import numpy as np
import pytest

from grader.checking.check import Call
from grader.checking.compare import expect_exact, expect_int
from grader.checking.compare_arrays import expect_array, first_difference
from grader.checking.outcomes import CheckFailure, collect_notes, stop_collecting_notes
from grader.sandbox.runtime.protocol import NumpyScalar, Unsupported

CALL = Call("f", (), {"x": np.zeros((2, 3))})


def failure_of(function, *args, **kwargs) -> CheckFailure:
    with pytest.raises(CheckFailure) as info:
        function(*args, **kwargs)
    return info.value


def test_int_is_a_python_int_or_a_numpy_integer_with_a_note():
    notes, token = collect_notes()
    try:
        expect_int(NumpyScalar("int64", 5), 5, call=Call("f"))  # SPEC.md: the same kind of number
        expect_exact((NumpyScalar("uint8", 2), 3), (2, 3), call=Call("g"))
        expect_exact(NumpyScalar("float64", 0.5), 0.5, call=Call("h"))
    finally:
        stop_collecting_notes(token)
    assert any(n.startswith("f returned numpy.int64 where an int is asked") for n in notes)
    assert any(n.startswith("g returned numpy.uint8") for n in notes)
    assert any(n.startswith("h returned numpy.float64 where a float is asked") for n in notes)
    assert "wrong number" in failure_of(expect_int, NumpyScalar("int64", 4), 5, call=Call("f")).summary
    assert "must return a Python int" in failure_of(expect_int, NumpyScalar("float64", 5.0), 5, call=Call("f")).summary
    assert "must return a Python int" in failure_of(expect_int, NumpyScalar("bool", True), 1, call=Call("f")).summary
    assert "int(...)" in failure_of(expect_int, 5.0, 5, call=Call("f")).hint
    assert "must return a Python int" in failure_of(expect_int, True, 1, call=Call("f")).summary
    assert "should be an int" in failure_of(expect_exact, (NumpyScalar("float32", 2.0),), (2,), call=Call("f")).summary
    expect_int(5, 5, call=Call("f"))


def test_exact_structures_compare_types_recursively():
    expect_exact((1, (2, 3)), (1, (2, 3)), call=Call("f"))
    assert "should be a tuple" in failure_of(expect_exact, [1, 2], (1, 2), call=Call("f")).summary
    assert "[1] should be an int" in failure_of(expect_exact, (1, 2.0), (1, 2), call=Call("f")).summary
    assert "missing keys ['total']" in failure_of(expect_exact, {}, {"total": 1}, call=Call("f")).summary


def test_unsupported_objects_never_compare_equal():
    liar = Unsupported("evil.Liar", "<object>")
    assert "evil.Liar" in failure_of(expect_exact, liar, 3, call=Call("f")).summary


EXPECTED = np.arange(6, dtype=np.float64).reshape(2, 3)


@pytest.mark.parametrize(("received", "fragment"), [
    (np.float64(0.0), "must return a NumPy array"),
    (Unsupported("mylib.MyArray", "ndarray subclass"), "must return a NumPy array"),
    (EXPECTED.astype(np.int64), "dtype int64"),
    (EXPECTED.T.copy(), "wrong shape"),
    (np.where(EXPECTED == 4, np.nan, EXPECTED), "NaN or infinity"),
    (EXPECTED + (EXPECTED == 5), "right shape but wrong values"),
])
def test_arrays_are_checked_in_order(received, fragment):
    assert fragment in failure_of(expect_array, received, EXPECTED, call=CALL).summary


def test_first_difference_reports_row_major_first_index_and_both_values():
    received = EXPECTED.copy()
    received[1, 2] = 99
    received[1, 0] = -1
    assert first_difference(received, EXPECTED, 1e-7, 0.0) == ((1, 0), -1.0, 3.0)
    failure = failure_of(expect_array, received, EXPECTED, call=CALL)
    assert ("first diff", "index (1, 0): expected 3, received -1") in failure.evidence


def test_tolerances_are_stated_and_honoured():
    expect_array(EXPECTED * (1 + 1e-9), EXPECTED, call=CALL, rtol=1e-7)
    failure = failure_of(expect_array, EXPECTED + 1e-3, EXPECTED, call=CALL, rtol=1e-7)
    assert any("tolerance: atol=0 + rtol=1e-07" in text for _, text in failure.evidence)
