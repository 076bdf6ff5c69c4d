"""The wire format between the grader and the sandboxed child.

This module is loaded by *both* sides: the grader imports it as
``grader.sandbox.runtime.protocol``; the child loads it by file path before any
student code runs. It may therefore depend only on the standard library and NumPy.

A message is one frame: a 4-byte big-endian length, then that many bytes. The
bytes are a JSON document (UTF-8) followed by zero or more ``.npy`` blobs (one
per array in the document, written with ``np.save(allow_pickle=False)``). The
JSON document's first line is the header: ``{"json": n, "blobs": [len, ...]}``.

Values are encoded as JSON with tagged objects for what JSON cannot hold:

- ``{"$t": "tuple", "v": [...]}``            a tuple
- ``{"$t": "nd", "i": k, "cls": "..."}``     an ndarray, blob k (cls set when it was a subclass)
- ``{"$t": "np", "dtype": "int64", "v": x}``  a NumPy scalar (kept apart from Python numbers)
- ``{"$t": "float", "v": "nan"|"inf"|"-inf"}`` a non-finite Python float
- ``{"$t": "dict", "v": [[k, v], ...]}``      a dict with non-string keys
- ``{"$t": "bytes", "n": 12}``                bytes (length only)
- ``{"$t": "rng", "seed": 7}``                 a ``np.random.Generator`` made from a seed
                                               (sent as ``SeededGenerator(7)``; built on arrival)
- ``{"$t": "other", "type": "Foo", "repr": "..."}``  anything else (never reconstructed)

Nothing is ever unpickled: arrays are read with ``np.load(allow_pickle=False)``.
"""

from __future__ import annotations

import io
import json
import math
import struct
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

# NumPy is imported only to decode an array or a generator: a message of plain values (all of
# exercise 1 and 2) is encoded and decoded without it, and before NumPy is loaded no value can be
# a NumPy object, so ``_encode`` asks ``sys.modules`` instead of importing it.

MAX_FRAME_BYTES = 256 * 1024 * 1024
_HEADER = struct.Struct(">I")
_MAX_DEPTH = 32
_MAX_ITEMS = 1_000_000
_MAX_BLOBS = 10_000


class ProtocolError(Exception):
    """A frame that is malformed, oversized or not what the protocol allows."""


class Unsupported:
    """A value the child could not send as plain data (shown to the student, never used)."""

    __slots__ = ("type_name", "text")

    def __init__(self, type_name: str, text: str) -> None:
        self.type_name = type_name
        self.text = text

    def __repr__(self) -> str:
        return f"<{self.type_name} object: {self.text}>"


class SeededGenerator:
    """A request for ``np.random.default_rng(seed)`` on the receiving side (dropout's rng)."""

    __slots__ = ("seed",)

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)

    def __repr__(self) -> str:
        return f"np.random.default_rng({self.seed})"


class NumpyScalar:
    """A NumPy scalar the child returned, kept distinct from a Python int/float."""

    __slots__ = ("dtype", "value")

    def __init__(self, dtype: str, value: object) -> None:
        self.dtype = dtype
        self.value = value

    def __repr__(self) -> str:
        return f"np.{self.dtype}({self.value!r})"


def _safe_repr(value: object, limit: int = 200) -> str:
    try:
        text = object.__repr__(value)
    except Exception:  # a hostile __repr__ must not break the channel
        text = "<unrepresentable>"
    return text[:limit]


def _type_name(value: object) -> str:
    try:
        cls = type(value)
        return f"{cls.__module__}.{cls.__qualname__}"
    except Exception:
        return "<unknown type>"


_SCALARS = frozenset({type(None), bool, str, int})


def _encode(value: object, blobs: list[bytes], depth: int = 0) -> object:
    if depth > _MAX_DEPTH:
        return {"$t": "other", "type": "nesting", "repr": "nested too deeply"}
    cls = type(value)
    if value is None or cls is bool or cls is str:
        return value
    if cls is int:
        return value
    if cls is float:
        if math.isfinite(value):
            return value
        return {"$t": "float", "v": repr(value)}
    if cls is tuple:
        return {"$t": "tuple", "v": [_encode(v, blobs, depth + 1) for v in value]}
    if cls is list:
        return [_encode(v, blobs, depth + 1) for v in value]
    if cls is dict:
        if all(type(k) is str for k in value) and "$t" not in value:
            if all(type(v) in _SCALARS for v in value.values()):  # a sweep's case: sent as it is
                return value
            return {k: _encode(v, blobs, depth + 1) for k, v in value.items()}
        return {
            "$t": "dict",
            "v": [[_encode(k, blobs, depth + 1), _encode(v, blobs, depth + 1)] for k, v in value.items()],
        }
    if cls is bytes or cls is bytearray:
        return {"$t": "bytes", "n": len(value)}
    if cls is SeededGenerator:
        return {"$t": "rng", "seed": value.seed}
    np = sys.modules.get("numpy")
    if np is None:
        return {"$t": "other", "type": _type_name(value), "repr": _safe_repr(value)}
    if isinstance(value, np.ndarray):
        base = np.asarray(value)  # a subclass is sent as its plain data, tagged
        if base.dtype.hasobject:
            return {"$t": "other", "type": "ndarray[object]", "repr": f"shape {base.shape}"}
        buffer = io.BytesIO()
        np.save(buffer, base, allow_pickle=False)
        blobs.append(buffer.getvalue())
        tag: dict = {"$t": "nd", "i": len(blobs) - 1}
        if cls is not np.ndarray:
            tag["cls"] = _type_name(value)
        return tag
    if isinstance(value, np.generic) and cls.__module__ == "numpy":
        if isinstance(value, np.bool_ | np.integer):
            return {"$t": "np", "dtype": value.dtype.name, "v": value.item()}
        if isinstance(value, np.floating):
            item = float(value)
            return {"$t": "np", "dtype": value.dtype.name, "v": item if math.isfinite(item) else repr(item)}
    return {"$t": "other", "type": _type_name(value), "repr": _safe_repr(value)}


def encode(message: dict) -> bytes:
    """Encode a message (a dict of plain values and arrays) into one frame payload."""
    blobs: list[bytes] = []
    document = json.dumps(_encode(message, blobs), allow_nan=False).encode("utf-8")
    header = json.dumps({"json": len(document), "blobs": [len(b) for b in blobs]}).encode()
    payload = b"".join([header, b"\n", document, *blobs])
    if len(payload) > MAX_FRAME_BYTES:
        raise ProtocolError(f"message of {len(payload)} bytes exceeds the {MAX_FRAME_BYTES}-byte limit")
    return payload


def _decode(node: object, arrays: list[np.ndarray], depth: int = 0) -> object:
    if depth > _MAX_DEPTH:
        raise ProtocolError("message nested too deeply")
    if isinstance(node, list):
        return [_decode(v, arrays, depth + 1) for v in node]
    if not isinstance(node, dict):
        return node
    tag = node.get("$t")
    if tag is None:
        return {k: _decode(v, arrays, depth + 1) for k, v in node.items()}
    if tag == "tuple":
        return tuple(_decode(v, arrays, depth + 1) for v in _expect_list(node.get("v")))
    if tag == "nd":
        index = node.get("i")
        if type(index) is not int or not 0 <= index < len(arrays):
            raise ProtocolError("array reference out of range")
        array = arrays[index]
        if "cls" in node:
            return Unsupported(str(node["cls"])[:200], f"ndarray subclass, shape {array.shape}")
        return array
    if tag == "np":
        value = node.get("v")
        if isinstance(value, str):
            value = float(value) if value in ("nan", "inf", "-inf") else math.nan
        return NumpyScalar(str(node.get("dtype"))[:40], value)
    if tag == "float":
        text = node.get("v")
        if text not in ("nan", "inf", "-inf"):
            raise ProtocolError("bad float tag")
        return float(text)
    if tag == "dict":
        result = {}
        for pair in _expect_list(node.get("v")):
            pair = _expect_list(pair)
            if len(pair) != 2:
                raise ProtocolError("bad dict item")
            key = _decode(pair[0], arrays, depth + 1)
            try:
                result[key] = _decode(pair[1], arrays, depth + 1)
            except TypeError:
                result[repr(key)] = _decode(pair[1], arrays, depth + 1)
        return result
    if tag == "bytes":
        return Unsupported("bytes", f"{node.get('n')} bytes")
    if tag == "rng":
        seed = node.get("seed")
        if type(seed) is not int or not 0 <= seed < 2**63:
            raise ProtocolError("bad generator seed")
        import numpy

        return numpy.random.default_rng(seed)
    if tag == "other":
        return Unsupported(str(node.get("type"))[:200], str(node.get("repr"))[:200])
    raise ProtocolError(f"unknown value tag {str(tag)[:40]!r}")


def _expect_list(value: object) -> list:
    if not isinstance(value, list) or len(value) > _MAX_ITEMS:
        raise ProtocolError("expected a list")
    return value


def decode(payload: bytes, *, max_json_bytes: int | None = None) -> dict:
    """Decode one frame payload; raise ProtocolError on anything malformed.

    ``max_json_bytes`` caps the JSON document before it is parsed (the grader's
    side: a huge document costs far more memory parsed than sent).
    """
    newline = payload.find(b"\n")
    if newline < 0 or newline > 100_000:
        raise ProtocolError("frame has no header")
    try:
        header = json.loads(payload[:newline])
        json_length = int(header["json"])
        blob_lengths = [int(n) for n in header["blobs"]]
    except (ValueError, KeyError, TypeError) as error:
        raise ProtocolError(f"bad frame header: {error}") from None
    position = newline + 1
    if json_length < 0 or any(n < 0 for n in blob_lengths):
        raise ProtocolError("negative length in frame header")
    if position + json_length + sum(blob_lengths) != len(payload):
        raise ProtocolError("frame lengths do not add up")
    if max_json_bytes is not None and json_length > max_json_bytes:
        raise ProtocolError(f"a JSON document of {json_length} bytes (limit {max_json_bytes})")
    if len(blob_lengths) > _MAX_BLOBS:
        raise ProtocolError(f"{len(blob_lengths)} arrays in one reply (limit {_MAX_BLOBS})")
    try:
        document = json.loads(payload[position : position + json_length])
    except ValueError as error:
        raise ProtocolError(f"frame is not valid JSON: {str(error)[:100]}") from None
    except RecursionError:
        raise ProtocolError("a JSON document nested too deeply") from None
    position += json_length
    arrays = []
    if blob_lengths:
        import numpy as np
    for length in blob_lengths:
        try:
            array = np.load(io.BytesIO(payload[position : position + length]), allow_pickle=False)
        except Exception as error:  # np.load raises several types on hostile bytes
            raise ProtocolError(f"bad array blob: {type(error).__name__}") from None
        if not isinstance(array, np.ndarray):
            raise ProtocolError("array blob is not an ndarray")
        arrays.append(array)
        position += length
    message = _decode(document, arrays)
    if not isinstance(message, dict):
        raise ProtocolError("a message must be a JSON object")
    return message


def frame(payload: bytes) -> bytes:
    """Prefix a payload with its length."""
    return _HEADER.pack(len(payload)) + payload


def _read_exactly(stream, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = stream.read(size - len(chunks))
        if not chunk:
            break
        chunks += chunk
    return bytes(chunks)


def read_frame_blocking(stream) -> bytes | None:
    """Read one frame from a binary stream; None at a clean end of stream (child side)."""
    head = _read_exactly(stream, _HEADER.size)
    if not head:
        return None
    if len(head) < _HEADER.size:
        raise ProtocolError("truncated frame header")
    (length,) = _HEADER.unpack(head)
    if length > MAX_FRAME_BYTES:
        raise ProtocolError(f"frame of {length} bytes exceeds the limit")
    payload = _read_exactly(stream, length)
    if len(payload) < length:
        raise ProtocolError("truncated frame")
    return payload


HEADER_SIZE = _HEADER.size


def frame_length(head: bytes) -> int:
    """The payload length announced by a 4-byte frame header."""
    (length,) = _HEADER.unpack(head)
    return length
