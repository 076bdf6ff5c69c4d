"""Exercise 4: pooling and the other forward layers in NumPy.

Conventions (the course's, as in TensorFlow/Keras):

- images are ``(N, H, W, C)`` arrays: N examples, H rows, W columns, C channels;
- ``pool_size`` and ``stride`` are an int or a pair ``(h, w)``; ``stride=None`` means
  ``stride = pool_size`` (non-overlapping windows), as in Keras;
- pooling ``padding`` is ``"valid"`` (no padding: windows that would stick out are dropped)
  or ``"same"`` (TensorFlow's rule: H' = ceil(H / S_h), W' = ceil(W / S_w); the padded cells
  never win a max and are not counted in an average);
- inputs are never modified; results are float arrays of the input's float dtype
  (float64 for integer input).

Invalid arguments raise ``ValueError`` with a message that names the argument.
"""

import numpy as np

# BEGIN SOLUTION


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


def _pool_input(x, pool_size, stride, padding, fill):
    """Validate a pooling; return (xp, (p_h, p_w), (s_h, s_w), (H', W')).

    ``xp`` is x itself for "valid", else x padded with ``fill`` by TensorFlow's "same" rule.
    """
    if x.ndim != 4 or min(x.shape[1:]) < 1:
        raise ValueError(f"x must be a 4-D (N, H, W, C) array of positive sizes, got {x.shape}")
    p_h, p_w = _pair(pool_size, "pool_size")
    s_h, s_w = (p_h, p_w) if stride is None else _pair(stride, "stride")
    word = padding.lower() if isinstance(padding, str) else None
    if word not in ("valid", "same"):
        raise ValueError(f'padding must be "valid" or "same" for pooling, got {padding!r}')
    n, h, w, c = x.shape
    if word == "valid":
        if p_h > h or p_w > w:
            raise ValueError(f"pool_size {p_h}x{p_w} is larger than the input {h}x{w}")
        return x, (p_h, p_w), (s_h, s_w), ((h - p_h) // s_h + 1, (w - p_w) // s_w + 1)
    pads, out_hw = [], []
    for size, f, s in ((h, p_h, s_h), (w, p_w, s_w)):
        out = -(-size // s)  # ceil(size / s)
        total = max((out - 1) * s + f - size, 0)
        pads.append((total // 2, total - total // 2))  # odd cell: bottom / right
        out_hw.append(out)
    (top, bottom), (left, right) = pads
    xp = np.full((n, h + top + bottom, w + left + right, c), fill, dtype=x.dtype)
    xp[:, top : top + h, left : left + w, :] = x
    return xp, (p_h, p_w), (s_h, s_w), tuple(out_hw)


def _window_cells(xp, pool_hw, stride_hw, out_hw):
    """For each offset (p, q) of the window, the (N, H', W', C) view of the cells at (p, q).

    Looping over the ph * pw offsets (not over the output pixels) keeps this vectorized.
    """
    (p_h, p_w), (s_h, s_w), (h_out, w_out) = pool_hw, stride_hw, out_hw
    for p in range(p_h):
        for q in range(p_w):
            yield xp[:, p : p + (h_out - 1) * s_h + 1 : s_h, q : q + (w_out - 1) * s_w + 1 : s_w]


# END SOLUTION


def max_pool2d_forward(x, pool_size=2, stride=None, padding="valid") -> np.ndarray:
    """Forward pass of 2-D max pooling (as Keras ``MaxPooling2D``), channel by channel.

        out[n, i, j, c] = max_{0 <= p < ph, 0 <= q < pw} xp[n, i*S_h + p, j*S_w + q, c]

    Inputs:
    - x: input images, shape (N, H, W, C).
    - pool_size: the window (ph, pw), an int or a pair.
    - stride: (S_h, S_w), an int or a pair; None means stride = pool_size.
    - padding: "valid" or "same".
      - "valid": no padding; H' = (H - ph) // S_h + 1, W' = (W - pw) // S_w + 1.
      - "same": H' = ceil(H / S_h), W' = ceil(W / S_w). The total padding of an axis is
        max((H' - 1) * S_h + ph - H, 0), half on top (rounded down) and the rest at the bottom
        (columns alike: the odd one goes right). Padded cells count as -infinity, so they
        never win.

    Returns:
    - out: array of shape (N, H', W', C), x's float dtype (float64 for integer input).

    Raises ValueError (naming the argument) when x is not 4-D or has a size of 0, when
    pool_size or stride is not positive, when padding is not "valid"/"same", and when a
    "valid" window is larger than the input.
    """
    # BEGIN SOLUTION
    x = _as_float(x)
    xp, pool_hw, stride_hw, out_hw = _pool_input(x, pool_size, stride, padding, fill=-np.inf)
    cells = _window_cells(xp, pool_hw, stride_hw, out_hw)
    out = next(cells).copy()
    for cell in cells:
        np.maximum(out, cell, out=out)
    return out
    # END SOLUTION


def avg_pool2d_forward(x, pool_size=2, stride=None, padding="valid") -> np.ndarray:
    """Forward pass of 2-D average pooling (as Keras ``AveragePooling2D``), per channel.

        out[n, i, j, c] = mean of x over the cells of window (i, j) that lie inside the image

    Inputs:
    - x: input images, shape (N, H, W, C).
    - pool_size: the window (ph, pw), an int or a pair.
    - stride: (S_h, S_w), an int or a pair; None means stride = pool_size.
    - padding: "valid" or "same", with the output sizes of :func:`max_pool2d_forward`:
      "valid" gives H' = (H - ph) // S_h + 1, "same" gives H' = ceil(H / S_h) (W' alike).
      With "same", a window that overlaps the padding is averaged over its cells inside the
      image only (the padding is neither added nor counted), exactly as Keras/TensorFlow do:
      a 2x2 window holding only one real pixel returns that pixel.

    Returns:
    - out: array of shape (N, H', W', C), x's float dtype (float64 for integer input).

    Raises ValueError (naming the argument) as :func:`max_pool2d_forward` does.
    """
    # BEGIN SOLUTION
    x = _as_float(x)
    xp, pool_hw, stride_hw, out_hw = _pool_input(x, pool_size, stride, padding, fill=0)
    total = sum(_window_cells(xp, pool_hw, stride_hw, out_hw))
    # how many cells of each window lie inside the image (ph * pw everywhere for "valid")
    inside = np.ones((1,) + x.shape[1:3] + (1,), dtype=x.dtype)
    inside, *_ = _pool_input(inside, pool_size, stride, padding, fill=0)
    counts = sum(_window_cells(inside, pool_hw, stride_hw, out_hw))
    return total / counts
    # END SOLUTION


def flatten(x) -> np.ndarray:
    """Flatten every example into a vector (as Keras ``Flatten`` with channels-last data).

    Inputs:
    - x: array of shape (N, d_1, ..., d_k), e.g. (N, H, W, C).

    Returns:
    - a new array of shape (N, d_1 * ... * d_k) (e.g. (N, H * W * C)), in row-major order
      (the last axis, C, varies fastest), with x's dtype. x is not modified, and the result
      does not share memory with it.

    Raises ValueError when x has no batch axis (x is 0-D).
    """
    # BEGIN SOLUTION
    x = np.asarray(x)
    if x.ndim < 1:
        raise ValueError("x must have a batch axis: shape (N, ...), got a scalar")
    return x.reshape(x.shape[0], -1).copy()
    # END SOLUTION


def dropout_forward(x, rate: float, training: bool, rng: np.random.Generator) -> np.ndarray:
    """Inverted dropout (as Keras ``Dropout``).

    In training, each entry is dropped (set to 0) independently with probability ``rate`` and
    the kept entries are scaled by 1 / (1 - rate), so that the expected value of every entry
    is unchanged and nothing needs rescaling at test time. Out of training it is the identity.

    Inputs:
    - x: array of any shape, e.g. (N, H, W, C) or (N, D).
    - rate: the fraction to drop, 0 <= rate < 1.
    - training: True for the training behaviour, False for the identity.
    - rng: a ``np.random.Generator`` to draw the mask from (``np.random.default_rng(seed)``);
      None draws from a fresh unseeded generator.

    Returns:
    - out: a new array of x's shape and float dtype (float64 for integer input); each entry
      is either 0 or x / (1 - rate) in training, and equals x otherwise.

    Raises ValueError when rate is not in [0, 1) and when rng is not a Generator.
    """
    # BEGIN SOLUTION
    x = _as_float(x)
    if isinstance(rate, (bool, np.bool_)) or not isinstance(rate, (int, float, np.number)):
        raise ValueError(f"rate must be a number in [0, 1), got {rate!r}")
    if not 0 <= rate < 1:
        raise ValueError(f"rate must be in [0, 1), got {rate!r}")
    if not training or rate == 0:
        return x.copy()
    if rng is None:
        rng = np.random.default_rng()
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    keep = rng.random(x.shape) >= rate  # kept with probability 1 - rate
    return np.where(keep, x / x.dtype.type(1 - rate), x.dtype.type(0))
    # END SOLUTION


def batchnorm_forward(
    x,
    gamma,
    beta,
    moving_mean,
    moving_var,
    training: bool,
    momentum: float = 0.99,
    epsilon: float = 1e-3,
):
    """Batch normalization forward pass (as Keras 3 ``BatchNormalization``, axis=-1).

    Every channel c (the last axis) is normalized with a mean and a variance, then scaled
    and shifted:

        out[..., c] = gamma[c] * (x[..., c] - mean[c]) / sqrt(var[c] + epsilon) + beta[c]

    - training=True: mean and var are the statistics of this batch, taken over every axis
      but the last (N, H and W for images); var is the biased (population) variance,
      var = mean((x - mean)**2). The moving statistics are updated with them:
        new_moving_mean = momentum * moving_mean + (1 - momentum) * mean
        new_moving_var  = momentum * moving_var  + (1 - momentum) * var
    - training=False: mean = moving_mean and var = moving_var; the moving statistics are
      returned unchanged (as copies).

    Inputs:
    - x: data of shape (N, H, W, C) (or (N, C), or any (N, ..., C)).
    - gamma: scale, shape (C,).
    - beta: shift, shape (C,).
    - moving_mean: running mean, shape (C,).
    - moving_var: running variance, shape (C,).
    - training: True for batch statistics (and an update), False for the moving ones.
    - momentum: 0 <= momentum <= 1, Keras's default 0.99.
    - epsilon: non-negative constant added to the variance, Keras's default 1e-3.

    Returns a tuple:
    - out: normalized data, shape of x.
    - new_moving_mean: shape (C,).
    - new_moving_var: shape (C,).
    All three have x's float dtype (float64 for integer input); the parameters are cast to
    it, as Keras does. No input is modified.

    Raises ValueError (naming the argument) when x has fewer than 2 axes, when gamma, beta,
    moving_mean or moving_var is not of shape (C,), when momentum is outside [0, 1], and
    when epsilon is negative.
    """
    # BEGIN SOLUTION
    x = _as_float(x)
    if x.ndim < 2:
        raise ValueError(f"x must have shape (N, ..., C) with at least 2 axes, got {x.shape}")
    c = x.shape[-1]
    params = {}
    for name, value in (
        ("gamma", gamma),
        ("beta", beta),
        ("moving_mean", moving_mean),
        ("moving_var", moving_var),
    ):
        value = np.asarray(value)
        if value.shape != (c,):
            raise ValueError(f"{name} must have shape (C,) = ({c},), got {value.shape}")
        params[name] = value.astype(x.dtype)  # a copy: the inputs stay untouched
    if not 0 <= momentum <= 1:
        raise ValueError(f"momentum must be in [0, 1], got {momentum!r}")
    if not epsilon >= 0:
        raise ValueError(f"epsilon must be non-negative, got {epsilon!r}")

    moving_mean, moving_var = params["moving_mean"], params["moving_var"]
    if training:
        axes = tuple(range(x.ndim - 1))
        mean = x.mean(axis=axes)
        var = np.mean(np.square(x - mean), axis=axes)
        moving_mean = momentum * moving_mean + (1 - momentum) * mean
        moving_var = momentum * moving_var + (1 - momentum) * var
    else:
        mean, var = moving_mean, moving_var
    scale = params["gamma"] / np.sqrt(var + x.dtype.type(epsilon))
    out = (x - mean) * scale + params["beta"]
    dt = x.dtype
    return out.astype(dt, copy=False), moving_mean.astype(dt), moving_var.astype(dt)
    # END SOLUTION
