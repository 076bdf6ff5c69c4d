"""Exercise 3: the convolution forward pass in NumPy.

Conventions (the course's, as in TensorFlow/Keras):

- images are ``(N, H, W, C)`` arrays: N examples, H rows, W columns, C channels;
- kernels are ``(F_h, F_w, C_in, K)`` arrays (the layout of ``keras.layers.Conv2D.kernel``):
  a F_h x F_w window over C_in input channels, for each of the K filters;
- biases are ``(K,)`` arrays;
- ``kernel_size`` and ``stride`` are an int or a pair ``(h, w)``; ``padding`` is an int P
  (P zeros on every side), a pair ``(P_h, P_w)``, or one of the words ``"valid"``, ``"same"``,
  ``"full"`` (see :func:`pad2d`);
- layers compute cross-correlation: the kernel is *not* flipped;
- inputs are never modified; results are float arrays of the input's float dtype
  (float64 for integer input).

Invalid arguments raise ``ValueError`` with a message that names the argument.
"""

import numpy as np

# BEGIN SOLUTION
from numpy.lib.stride_tricks import sliding_window_view


def _pair(value, name, *, minimum=1):
    """Return ``value`` (an int or a pair of ints) as a pair ``(h, w)`` of Python ints."""
    items = value if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2 or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in items
    ):
        raise ValueError(f"{name} must be an int or a pair (h, w) of ints, got {value!r}")
    h, w = int(items[0]), int(items[1])
    if h < minimum or w < minimum:
        kind = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    return h, w


def _as_float(a):
    """``a`` as an array of its own float dtype (float64 for integer or boolean input)."""
    a = np.asarray(a)
    return a if np.issubdtype(a.dtype, np.floating) else a.astype(np.float64)


def _padding_amounts(padding, in_hw, kernel_hw, stride_hw):
    """Zeros to add as ``((top, bottom), (left, right))``.

    ``kernel_hw`` may be None for an int, a pair or ``"valid"``.
    """
    if isinstance(padding, str):
        word = padding.lower()
        if word == "valid":
            return (0, 0), (0, 0)
        if word not in ("same", "full"):
            raise ValueError(
                f'padding must be an int, a pair (P_h, P_w), "valid", "same" or "full", '
                f"got {padding!r}"
            )
        if kernel_hw is None:
            raise ValueError(f"kernel_size is needed to compute padding={padding!r}")
        if word == "full":
            return (kernel_hw[0] - 1,) * 2, (kernel_hw[1] - 1,) * 2
        amounts = []
        for size, f, s in zip(in_hw, kernel_hw, stride_hw, strict=True):
            out = -(-size // s)  # ceil(size / s)
            total = max((out - 1) * s + f - size, 0)
            amounts.append((total // 2, total - total // 2))  # odd pixel: bottom / right
        return amounts[0], amounts[1]
    p_h, p_w = _pair(padding, "padding", minimum=0)
    return (p_h, p_h), (p_w, p_w)


def _check_images(x, name="x"):
    if x.ndim != 4:
        raise ValueError(f"{name} must be a 4-D (N, H, W, C) array, got shape {x.shape}")
    if min(x.shape[1:]) < 1:
        raise ValueError(f"{name} must have positive H, W and C, got shape {x.shape}")


# END SOLUTION


def pad2d(x, padding, kernel_size=None, stride=1) -> np.ndarray:
    """Zero-pad the two spatial axes (H and W) of a batch of images.

    Inputs:
    - x: array of shape (N, H, W, C).
    - padding: how many zeros to add around each image:
      - an int P: P rows on top and bottom, P columns left and right;
      - a pair (P_h, P_w): P_h rows on top and bottom, P_w columns left and right;
      - "valid": no padding (P = 0); kernel_size is not needed;
      - "full": P_h = F_h - 1 and P_w = F_w - 1 on each side, so that every output of a
        stride-1 convolution sees at least one input pixel; needs kernel_size;
      - "same": TensorFlow's rule, which needs kernel_size and stride. For each spatial axis
        (shown for W; H is alike) the output size is O = ceil(W / S), the total padding is
        P_total = max((O - 1) * S + F - W, 0), with P_left = P_total // 2 and
        P_right = P_total - P_left (the odd extra column goes right, the odd row to the bottom).
      Words are case-insensitive ("SAME" is accepted, as in tf.nn.conv2d).
    - kernel_size: the kernel's (F_h, F_w), an int F or a pair; used by "same" and "full" only.
    - stride: the convolution's stride S (an int or a pair (S_h, S_w)); used by "same" only.

    Returns:
    - a new array of shape (N, H + P_top + P_bottom, W + P_left + P_right, C) and x's dtype,
      with x in the middle and zeros around it. x itself is not modified (even for P = 0
      the result is a copy).

    Raises ValueError (naming the argument) when x is not 4-D or has H, W or C of 0, when
    padding is negative, not an int/pair or an unknown word, when kernel_size is missing
    for "same"/"full" or is not positive, and when stride is not positive.
    """
    # BEGIN SOLUTION
    x = np.asarray(x)
    _check_images(x)
    kernel_hw = None if kernel_size is None else _pair(kernel_size, "kernel_size")
    stride_hw = _pair(stride, "stride")
    (top, bottom), (left, right) = _padding_amounts(padding, x.shape[1:3], kernel_hw, stride_hw)
    n, h, w, c = x.shape
    out = np.zeros((n, h + top + bottom, w + left + right, c), dtype=x.dtype)
    out[:, top : top + h, left : left + w, :] = x
    return out
    # END SOLUTION


def conv2d_forward(x, w, b, stride=1, padding=0) -> np.ndarray:
    """Forward pass of a 2-D convolution layer (cross-correlation, as Keras ``Conv2D``).

    Each filter k is slid over the zero-padded input; at each position the output is the sum
    of the elementwise product of the F_h x F_w x C_in window with w[:, :, :, k], plus b[k]:

        out[n, i, j, k] = b[k] + sum_{p, q, c} xp[n, i*S_h + p, j*S_w + q, c] * w[p, q, c, k]

    where xp is x padded as in :func:`pad2d`. The kernel is not flipped.

    Inputs:
    - x: input images, shape (N, H, W, C_in).
    - w: filter weights, shape (F_h, F_w, C_in, K).
    - b: biases, shape (K,).
    - stride: S, or (S_h, S_w): the step between two neighbouring windows.
    - padding: P, (P_h, P_w), "valid", "same" or "full", exactly as in :func:`pad2d`
      (with kernel_size = (F_h, F_w) and this stride).

    Returns:
    - out: array of shape (N, H', W', K), with
        H' = (H + P_top + P_bottom - F_h) // S_h + 1
        W' = (W + P_left + P_right - F_w) // S_w + 1
      (P_top = P_bottom = P for an int padding; "same" gives H' = ceil(H / S_h),
      W' = ceil(W / S_w)). Its dtype is the float dtype of x, w and b combined
      (float64 when they are all integers).

    Raises ValueError (naming the argument) when x or w is not 4-D or has a size of 0,
    when b is not of shape (K,), when w's C_in differs from x's C, when stride is not
    positive, when padding is invalid, and when the kernel is larger than the padded input.
    """
    # BEGIN SOLUTION
    x, w, b = np.asarray(x), np.asarray(w), np.asarray(b)
    _check_images(x)
    if w.ndim != 4 or min(w.shape) < 1:
        raise ValueError(
            f"w must be a 4-D (F_h, F_w, C_in, K) array of positive sizes, got {w.shape}"
        )
    f_h, f_w, c_in, k = w.shape
    if c_in != x.shape[3]:
        raise ValueError(f"w has C_in={c_in} input channels but x has C={x.shape[3]}")
    if b.shape != (k,):
        raise ValueError(f"b must have shape (K,) = ({k},), got {b.shape}")
    s_h, s_w = _pair(stride, "stride")
    dtype = np.result_type(x, w, b)
    if not np.issubdtype(dtype, np.floating):
        dtype = np.dtype(np.float64)

    xp = pad2d(x.astype(dtype, copy=False), padding, kernel_size=(f_h, f_w), stride=(s_h, s_w))
    n, hp, wp, _ = xp.shape
    if f_h > hp or f_w > wp:
        raise ValueError(
            f"w: the {f_h}x{f_w} kernel is larger than the padded input {hp}x{wp} "
            f"(x is {x.shape[1]}x{x.shape[2]}, padding={padding!r})"
        )
    h_out = (hp - f_h) // s_h + 1
    w_out = (wp - f_w) // s_w + 1

    # im2col: one row per output position, one column per (p, q, c) kernel entry.
    windows = sliding_window_view(xp, (f_h, f_w), axis=(1, 2))  # (N, ., ., C, F_h, F_w)
    windows = windows[:, ::s_h, ::s_w].transpose(0, 1, 2, 4, 5, 3)  # (N, H', W', F_h, F_w, C)
    cols = windows.reshape(n * h_out * w_out, f_h * f_w * c_in)
    out = cols @ w.astype(dtype, copy=False).reshape(f_h * f_w * c_in, k)
    out += b.astype(dtype, copy=False)
    return out.reshape(n, h_out, w_out, k)
    # END SOLUTION


def relu(x) -> np.ndarray:
    """Rectified linear unit, elementwise: max(x, 0).

    Inputs:
    - x: array of any shape, e.g. (N, H, W, C).

    Returns:
    - a new array of the same shape, x's float dtype (float64 for integer input), holding
      x where x > 0 and 0 elsewhere. x is not modified.
    """
    # BEGIN SOLUTION
    x = _as_float(x)
    return np.maximum(x, x.dtype.type(0))
    # END SOLUTION
