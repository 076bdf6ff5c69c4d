# ruff: noqa: F821  (its helpers come from solutions/, which this file is graded on top of)
"""(Realistic, issue 12: dense_backward divides dw and db by the batch size, as if dout
were not already the upstream gradient of a mean loss. Before: no hint; after: it names N.)

Only the student's own version of dense_backward is here: the test grades it on
top of solutions/exercise5.py (later definitions replace earlier ones), as a student who got the rest right.
"""

import numpy as np


def dense_backward(dout, x, w, b):
    """Backward pass of a dense (fully connected) layer, out = x @ w + b.

    Inputs:
    - dout: upstream gradient, shape (N, M).
    - x: the forward input, shape (N, D) (flatten images first: D = H * W * C).
    - w: weights, shape (D, M) (the layout of ``keras.layers.Dense.kernel``).
    - b: biases, shape (M,).

    Returns a tuple:
    - dx = dout @ w.T, shape (N, D).
    - dw = x.T @ dout, shape (D, M).
    - db = dout summed over the batch, shape (M,).

    Raises ValueError (naming the argument) when the shapes do not fit together.
    """
    dout, x, w, b = (np.asarray(a) for a in (dout, x, w, b))
    if x.ndim != 2:
        raise ValueError(f"x must have shape (N, D), got {x.shape}")
    if w.ndim != 2 or w.shape[0] != x.shape[1]:
        raise ValueError(f"w must have shape (D, M) with D = {x.shape[1]}, got {w.shape}")
    if b.shape != (w.shape[1],):
        raise ValueError(f"b must have shape (M,) = ({w.shape[1]},), got {b.shape}")
    _check_dout(dout, (x.shape[0], w.shape[1]))
    dtype = _float_dtype(dout, x, w, b)
    dout, x, w = (a.astype(dtype, copy=False) for a in (dout, x, w))
    n = x.shape[0]
    dx = dout @ w.T
    dw = x.T @ dout / n  # average over the batch, as the loss does
    db = dout.sum(axis=0) / n
    return dx, dw, db
