# ruff: noqa: F821  (its helpers come from solutions/, which this file is graded on top of)
"""(Realistic, issue 12: max_pool2d_backward with CS231n's mask `window == max`, which sends
the gradient to every tied maximum. Before: a generic hint; after: the hint names the ties.)

Only the student's own version of max_pool2d_backward is here: the test grades it on
top of solutions/exercise5.py (later definitions replace earlier ones), as a student who got the rest right.
"""

import numpy as np


def max_pool2d_backward(dout, x, pool_size=2, stride=None):
    """Backward pass of 2-D max pooling with "valid" padding.

    Each window's gradient dout[n, i, j, c] goes to the input cell that held the window's
    maximum; every other cell of the window gets nothing from it. When several cells tie
    for the maximum, the first of them in row-major order (top row first, then left to
    right) gets it, as TensorFlow does. Overlapping windows (stride < pool_size) add up.

    Inputs:
    - dout: upstream gradient, shape (N, H', W', C), with
        H' = (H - ph) // S_h + 1,  W' = (W - pw) // S_w + 1
    - x: the forward input, shape (N, H, W, C).
    - pool_size: the window (ph, pw), an int or a pair.
    - stride: (S_h, S_w), an int or a pair; None means stride = pool_size.

    Returns:
    - dx: gradient with respect to x, shape (N, H, W, C).

    Raises ValueError (naming the argument) when x is not 4-D or has a size of 0, when
    pool_size or stride is not positive, when the window is larger than the input, and when
    dout does not have the forward output's shape.
    """
    dout, x = np.asarray(dout), np.asarray(x)
    p_h, p_w, s_h, s_w, h_out, w_out = _pool_geometry(x, pool_size, stride)
    n, _, _, c = x.shape
    _check_dout(dout, (n, h_out, w_out, c))
    dtype = _float_dtype(dout, x)

    dx = np.zeros(x.shape, dtype=dtype)
    for i in range(h_out):  # CS231n's loop: the mask of the window's maximum gets the gradient
        for j in range(w_out):
            window = x[:, i * s_h:i * s_h + p_h, j * s_w:j * s_w + p_w, :]
            mask = window == window.max(axis=(1, 2), keepdims=True)
            dx[:, i * s_h:i * s_h + p_h, j * s_w:j * s_w + p_w, :] += mask * dout[:, i:i + 1, j:j + 1, :]
    return dx
