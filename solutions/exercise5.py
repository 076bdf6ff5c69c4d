"""Exercise 5: backward passes in NumPy.

Each ``*_backward`` function receives ``dout``, the gradient of the loss with respect to the
layer's output (same shape as that output), and the forward pass's inputs, and returns the
gradients of the loss with respect to those inputs (each of the shape of its input).

Conventions (the course's, as in TensorFlow/Keras):

- images are ``(N, H, W, C)`` arrays, conv kernels ``(F_h, F_w, C_in, K)``, biases ``(K,)``;
- ``stride``, ``pool_size`` and ``padding`` follow exercise 3 and 4: an int or a pair
  ``(h, w)``; conv padding is P, ``(P_h, P_w)``, ``"valid"``, ``"same"`` or ``"full"``;
- inputs are never modified; results are float arrays of the inputs' float dtype
  (float64 for integer input).

Invalid arguments raise ``ValueError`` with a message that names the argument.
This file is self-contained: it does not import exercise 3 or 4.
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


def _float_dtype(*arrays):
    """The float dtype the arrays combine to (float64 when none of them is a float array)."""
    dtype = np.result_type(*arrays)
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)


def _padding_amounts(padding, in_hw, kernel_hw, stride_hw):
    """Zeros added by the forward pass, as ``((top, bottom), (left, right))``."""
    if isinstance(padding, str):
        word = padding.lower()
        if word == "valid":
            return (0, 0), (0, 0)
        if word == "full":
            return (kernel_hw[0] - 1,) * 2, (kernel_hw[1] - 1,) * 2
        if word != "same":
            raise ValueError(
                f'padding must be an int, a pair (P_h, P_w), "valid", "same" or "full", '
                f"got {padding!r}"
            )
        amounts = []
        for size, f, s in zip(in_hw, kernel_hw, stride_hw, strict=True):
            out = -(-size // s)  # ceil(size / s)
            total = max((out - 1) * s + f - size, 0)
            amounts.append((total // 2, total - total // 2))  # odd pixel: bottom / right
        return amounts[0], amounts[1]
    p_h, p_w = _pair(padding, "padding", minimum=0)
    return (p_h, p_h), (p_w, p_w)


def _check_images(x, name="x"):
    if x.ndim != 4 or min(x.shape[1:]) < 1:
        raise ValueError(
            f"{name} must be a 4-D (N, H, W, C) array of positive sizes, got {x.shape}"
        )


def _check_dout(dout, expected):
    if dout.shape != tuple(expected):
        raise ValueError(
            f"dout must have the shape of the forward output {tuple(expected)}, got {dout.shape}"
        )


def _pool_geometry(x, pool_size, stride):
    """Validate a "valid" pooling and return (p_h, p_w, s_h, s_w, H', W')."""
    _check_images(x)
    p_h, p_w = _pair(pool_size, "pool_size")
    s_h, s_w = (p_h, p_w) if stride is None else _pair(stride, "stride")
    h, w = x.shape[1:3]
    if p_h > h or p_w > w:
        raise ValueError(f"pool_size {p_h}x{p_w} is larger than the input {h}x{w}")
    return p_h, p_w, s_h, s_w, (h - p_h) // s_h + 1, (w - p_w) // s_w + 1


# END SOLUTION


def conv2d_backward(dout, x, w, b, stride=1, padding=0):
    """Backward pass of the 2-D convolution of exercise 3 (``conv2d_forward``).

    The forward pass was
        out[n, i, j, k] = b[k] + sum_{p, q, c} xp[n, i*S_h + p, j*S_w + q, c] * w[p, q, c, k]
    with xp the zero-padded x, so
        db[k]          = sum_{n, i, j} dout[n, i, j, k]
        dw[p, q, c, k] = sum_{n, i, j} xp[n, i*S_h + p, j*S_w + q, c] * dout[n, i, j, k]
        dxp[n, i*S_h + p, j*S_w + q, c] += sum_k dout[n, i, j, k] * w[p, q, c, k]
    and dx is dxp with the padding cut off. (At stride 1, dx is the "full" convolution of
    dout with the kernel flipped in both spatial axes, its C_in and K axes swapped; at
    stride S, dout is first dilated by inserting S - 1 zeros between neighbouring entries.)

    Inputs:
    - dout: upstream gradient, shape (N, H', W', K), where
        H' = (H + P_top + P_bottom - F_h) // S_h + 1,  W' = (W + P_left + P_right - F_w) // S_w + 1
    - x: the forward input, shape (N, H, W, C_in).
    - w: filter weights, shape (F_h, F_w, C_in, K).
    - b: biases, shape (K,).
    - stride, padding: as given to the forward pass (int or pair; P, (P_h, P_w), "valid",
      "same" or "full").

    Returns a tuple:
    - dx: gradient with respect to x, shape (N, H, W, C_in). Input pixels that no window
      covers (possible when (H + P_top + P_bottom - F_h) is not a multiple of S_h) get 0.
    - dw: gradient with respect to w, shape (F_h, F_w, C_in, K).
    - db: gradient with respect to b, shape (K,).

    Raises ValueError (naming the argument) for the invalid x, w, b, stride or padding that
    conv2d_forward refuses, and when dout does not have the forward output's shape.
    """
    # BEGIN SOLUTION
    dout, x, w, b = (np.asarray(a) for a in (dout, x, w, b))
    _check_images(x)
    if w.ndim != 4 or min(w.shape) < 1:
        raise ValueError(
            f"w must be a 4-D (F_h, F_w, C_in, K) array of positive sizes, got {w.shape}"
        )
    f_h, f_w, c_in, k = w.shape
    n, h, wd, c = x.shape
    if c_in != c:
        raise ValueError(f"w has C_in={c_in} input channels but x has C={c}")
    if b.shape != (k,):
        raise ValueError(f"b must have shape (K,) = ({k},), got {b.shape}")
    s_h, s_w = _pair(stride, "stride")
    (top, bottom), (left, right) = _padding_amounts(padding, (h, wd), (f_h, f_w), (s_h, s_w))
    hp, wp = h + top + bottom, wd + left + right
    if f_h > hp or f_w > wp:
        raise ValueError(f"w: the {f_h}x{f_w} kernel is larger than the padded input {hp}x{wp}")
    h_out, w_out = (hp - f_h) // s_h + 1, (wp - f_w) // s_w + 1
    _check_dout(dout, (n, h_out, w_out, k))
    dtype = _float_dtype(dout, x, w, b)

    xp = np.zeros((n, hp, wp, c), dtype=dtype)
    xp[:, top : top + h, left : left + wd, :] = x
    d2 = dout.astype(dtype, copy=False).reshape(n * h_out * w_out, k)

    db = d2.sum(axis=0)
    # dw: the im2col patches (one row per output position) transposed, times dout.
    windows = sliding_window_view(xp, (f_h, f_w), axis=(1, 2))[:, ::s_h, ::s_w]
    patches = windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * h_out * w_out, f_h * f_w * c)
    dw = (patches.T @ d2).reshape(f_h, f_w, c, k)
    # dx: the gradient of every patch, added back where the patch came from (col2im),
    # one slice per kernel offset (p, q). Computing the patch gradients offset by offset,
    # dpatch[p, q] = dout @ w[p, q].T, keeps each slice contiguous (much faster to add).
    w_t = w.astype(dtype, copy=False).reshape(f_h * f_w, c, k).transpose(0, 2, 1)
    dpatch = np.matmul(d2, w_t).reshape(f_h, f_w, n, h_out, w_out, c)
    dxp = np.zeros_like(xp)
    for p in range(f_h):
        for q in range(f_w):
            rows = slice(p, p + (h_out - 1) * s_h + 1, s_h)
            cols = slice(q, q + (w_out - 1) * s_w + 1, s_w)
            dxp[:, rows, cols] += dpatch[p, q]
    dx = dxp[:, top : top + h, left : left + wd, :].copy()
    return dx, dw, db
    # END SOLUTION


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
    # BEGIN SOLUTION
    dout, x = np.asarray(dout), np.asarray(x)
    p_h, p_w, s_h, s_w, h_out, w_out = _pool_geometry(x, pool_size, stride)
    n, _, _, c = x.shape
    _check_dout(dout, (n, h_out, w_out, c))
    dtype = _float_dtype(dout, x)

    windows = sliding_window_view(x, (p_h, p_w), axis=(1, 2))[:, ::s_h, ::s_w]
    winner = windows.reshape(n, h_out, w_out, c, p_h * p_w).argmax(axis=-1)  # first max
    dx = np.zeros(x.shape, dtype=dtype)
    zero = dtype.type(0)
    for p in range(p_h):
        for q in range(p_w):
            rows = slice(p, p + (h_out - 1) * s_h + 1, s_h)
            cols = slice(q, q + (w_out - 1) * s_w + 1, s_w)
            dx[:, rows, cols] += np.where(winner == p * p_w + q, dout, zero)
    return dx
    # END SOLUTION


def avg_pool2d_backward(dout, x, pool_size=2, stride=None):
    """Backward pass of 2-D average pooling with "valid" padding.

    Each window's gradient dout[n, i, j, c] is shared equally by the ph * pw cells of the
    window: each gets dout[n, i, j, c] / (ph * pw). Overlapping windows add up.

    Inputs:
    - dout: upstream gradient, shape (N, H', W', C), with
        H' = (H - ph) // S_h + 1,  W' = (W - pw) // S_w + 1
    - x: the forward input, shape (N, H, W, C) (only its shape is used).
    - pool_size: the window (ph, pw), an int or a pair.
    - stride: (S_h, S_w), an int or a pair; None means stride = pool_size.

    Returns:
    - dx: gradient with respect to x, shape (N, H, W, C).

    Raises ValueError (naming the argument) as :func:`max_pool2d_backward` does.
    """
    # BEGIN SOLUTION
    dout, x = np.asarray(dout), np.asarray(x)
    p_h, p_w, s_h, s_w, h_out, w_out = _pool_geometry(x, pool_size, stride)
    n, _, _, c = x.shape
    _check_dout(dout, (n, h_out, w_out, c))
    dtype = _float_dtype(dout, x)

    share = dout.astype(dtype, copy=False) / dtype.type(p_h * p_w)
    dx = np.zeros(x.shape, dtype=dtype)
    for p in range(p_h):
        for q in range(p_w):
            dx[:, p : p + (h_out - 1) * s_h + 1 : s_h, q : q + (w_out - 1) * s_w + 1 : s_w] += share
    return dx
    # END SOLUTION


def relu_backward(dout, x):
    """Backward pass of the ReLU, out = max(x, 0).

    Inputs:
    - dout: upstream gradient, any shape, e.g. (N, H, W, C).
    - x: the forward input, same shape as dout.

    Returns:
    - dx: dout where x > 0 and 0 elsewhere (at x == 0 too, as TensorFlow does); shape of x.

    Raises ValueError when dout and x have different shapes.
    """
    # BEGIN SOLUTION
    dout, x = np.asarray(dout), np.asarray(x)
    if dout.shape != x.shape:
        raise ValueError(f"dout must have the shape of x {x.shape}, got {dout.shape}")
    dtype = _float_dtype(dout, x)
    return np.where(x > 0, dout, 0).astype(dtype, copy=False)
    # END SOLUTION


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
    # BEGIN SOLUTION
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
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)
    # END SOLUTION


def softmax_cross_entropy(logits, labels):
    """Mean softmax cross-entropy loss and its gradient with respect to the logits.

        p[n, j] = exp(logits[n, j]) / sum_i exp(logits[n, i])
        loss    = -(1 / N) * sum_n log p[n, labels[n]]
        dlogits[n, j] = (p[n, j] - [j == labels[n]]) / N

    Computed stably: the row maximum is subtracted from each row before exponentiating
    (softmax does not change), and log p uses log-sum-exp, so large logits do not overflow.

    Inputs:
    - logits: unnormalized class scores, shape (N, classes).
    - labels: integer class indices, shape (N,), each 0 <= labels[n] < classes.

    Returns a tuple:
    - loss: the mean loss over the batch, a float: a Python float, or a NumPy floating
      scalar such as the np.float64 that np.mean / np.sum return (accepted as the same
      number, with a note). An array, even of one element, is not a float.
    - dlogits: gradient of loss with respect to logits, shape (N, classes), logits' float
      dtype (float64 for integer logits).

    Raises ValueError (naming the argument) when logits is not 2-D with N >= 1 and
    classes >= 1, or labels is not an integer array of shape (N,) with values in range.
    """
    # BEGIN SOLUTION
    logits, labels = np.asarray(logits), np.asarray(labels)
    if logits.ndim != 2 or min(logits.shape) < 1:
        raise ValueError(
            f"logits must have shape (N, classes) with N, classes >= 1, got {logits.shape}"
        )
    n, classes = logits.shape
    if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"labels must be an integer array of shape (N,) = ({n},), "
            f"got {labels.dtype} {labels.shape}"
        )
    if labels.min() < 0 or labels.max() >= classes:
        raise ValueError(
            f"labels must lie in [0, {classes}), got values {labels.min()}..{labels.max()}"
        )
    dtype = _float_dtype(logits)

    shifted = logits.astype(dtype) - logits.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_probs = shifted - log_norm
    rows = np.arange(n)
    loss = float(np.mean(log_norm[:, 0] - shifted[rows, labels]))  # mean of -log p[n, label]
    dlogits = np.exp(log_probs)
    dlogits[rows, labels] -= 1
    dlogits /= n
    return loss, dlogits
    # END SOLUTION
