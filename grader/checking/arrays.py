"""Generated array inputs for the layer exercises (3-5), shared by their checks.

A case is a dict of keyword arguments (arrays and parameters) for one call.
Arrays come from ``np.random.default_rng(seed)`` with the seed drawn by
hypothesis, so a case is reproducible from its description and shrinking makes
shapes small. Only valid configurations are generated: the kernel always fits
the padded input, sizes are positive.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from grader.reference import formulas

PADDINGS = ("valid", "same", "full")


def pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def conv_fits(height: int, width: int, kernel: tuple[int, int], stride, padding) -> bool:
    """True when a conv of this kernel/stride/padding has a positive output on (height, width)."""
    try:
        for size, f, s, p in zip((height, width), kernel, pair(stride),
                                 pair(padding) if not isinstance(padding, str) else (padding, padding),
                                 strict=True):
            formulas.conv_output_size(size, f, s, p)
    except ValueError:
        return False
    return True


def conv_case(seed: int, *, n: int, height: int, width: int, channels: int, filters: int,
              kernel: tuple[int, int], stride, padding) -> dict:
    """Keyword arguments for ``conv2d_forward``: x (N,H,W,C), w (F_h,F_w,C,K), b (K,)."""
    rng = np.random.default_rng(seed)
    return {
        "x": rng.standard_normal((n, height, width, channels)),
        "w": rng.standard_normal((*kernel, channels, filters)),
        "b": rng.standard_normal(filters),
        "stride": stride,
        "padding": padding,
    }


@st.composite
def conv_cases(draw, *, strides=None, paddings=None, square: bool | None = None,
               max_size: int = 9, max_channels: int = 3) -> dict:
    """A valid conv2d_forward case (small enough for a loop implementation)."""
    strides = strides if strides is not None else st.integers(1, 2)
    paddings = paddings if paddings is not None else st.one_of(
        st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2)), st.sampled_from(PADDINGS))
    f_h = draw(st.integers(1, 4))
    f_w = f_h if square else draw(st.integers(1, 4))
    stride = draw(strides)
    padding = draw(paddings)
    height = draw(st.integers(max(f_h, 1), max_size))
    width = height if square else draw(st.integers(max(f_w, 1), max_size))
    if not conv_fits(height, width, (f_h, f_w), stride, padding):
        height, width = max(height, f_h), max(width, f_w)
    return conv_case(draw(st.integers(0, 2**16)), n=draw(st.integers(1, 2)), height=height, width=width,
                     channels=draw(st.integers(1, max_channels)), filters=draw(st.integers(1, 3)),
                     kernel=(f_h, f_w), stride=stride, padding=padding)


def conv_sweep(configs: list[tuple]) -> list[dict]:
    """Cases for (n, height, width, channels, filters, kernel, stride, padding) tuples, seed = index."""
    return [conv_case(index, n=n, height=h, width=w, channels=c, filters=k, kernel=pair(f), stride=s,
                      padding=p)
            for index, (n, h, w, c, k, f, s, p) in enumerate(configs)]


def images(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)
