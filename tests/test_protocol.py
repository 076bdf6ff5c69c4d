"""The wire format: plain data round-trips; nothing hostile is ever reconstructed."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grader.sandbox.runtime import protocol

plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.tuples(children, children)
    | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, derandomize=True, database=None)
@given(plain)
def test_plain_values_round_trip_with_their_types(value):
    decoded = protocol.decode(protocol.encode({"value": value}))["value"]
    assert decoded == value
    assert type(decoded) is type(value)


@settings(max_examples=100, derandomize=True, database=None)
@given(hnp.arrays(hnp.scalar_dtypes(), hnp.array_shapes(min_dims=0, max_dims=4, max_side=5)))
def test_arrays_round_trip_exactly(array):
    decoded = protocol.decode(protocol.encode({"a": array}))["a"]
    assert type(decoded) is np.ndarray
    assert decoded.dtype == array.dtype and decoded.shape == array.shape
    np.testing.assert_array_equal(decoded, array)


def test_numpy_scalars_stay_distinct_from_python_numbers():
    decoded = protocol.decode(protocol.encode({"a": np.int64(3), "b": np.float32(0.5), "c": 3}))
    assert isinstance(decoded["a"], protocol.NumpyScalar) and decoded["a"].dtype == "int64"
    assert isinstance(decoded["b"], protocol.NumpyScalar) and decoded["b"].value == 0.5
    assert type(decoded["c"]) is int


def test_non_finite_floats_survive():
    decoded = protocol.decode(protocol.encode({"v": [float("nan"), float("inf"), -float("inf")]}))["v"]
    assert np.isnan(decoded[0]) and decoded[1] == float("inf") and decoded[2] == -float("inf")


def test_subclasses_and_objects_arrive_as_unsupported():
    class Liar:
        def __eq__(self, other):
            return True

        def __repr__(self):
            raise RuntimeError("no")

    class Sub(np.ndarray):
        pass

    decoded = protocol.decode(protocol.encode({"o": Liar(), "s": np.zeros(3).view(Sub),
                                               "obj": np.array([1, "a"], dtype=object)}))
    assert all(isinstance(decoded[k], protocol.Unsupported) for k in ("o", "s", "obj"))
    assert decoded["o"] != 1 or not isinstance(decoded["o"], int)


def test_a_dict_posing_as_a_tag_is_not_decoded_as_one():
    value = {"$t": "nd", "i": 0}
    assert protocol.decode(protocol.encode({"v": value}))["v"] == value


def test_pickled_arrays_are_refused():
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    blob = buffer.getvalue()
    document = b'{"v": {"$t": "nd", "i": 0}}'
    header = f'{{"json": {len(document)}, "blobs": [{len(blob)}]}}'.encode()
    with pytest.raises(protocol.ProtocolError, match="bad array blob"):
        protocol.decode(header + b"\n" + document + blob)


@pytest.mark.parametrize("payload", [
    b"", b"no header", b'{"json": 5, "blobs": []}\n{}', b'{"json": 2, "blobs": [-1]}\n{}',
    b'{"json": 2, "blobs": []}\n[]', pickle.dumps({"value": 1}),
    b'{"json": 28, "blobs": []}\n{"v": {"$t": "nd", "i": 7}}',
])
def test_malformed_frames_raise_protocol_error(payload):
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(payload)
