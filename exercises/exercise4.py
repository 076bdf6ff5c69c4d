# This file was generated from the reference solution by `make stubs`; edit the
# parts marked TODO. Run `grade exercise4` to check your work.
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
    # TODO: implement max_pool2d_forward (see the docstring above).
    raise NotImplementedError("max_pool2d_forward is not implemented yet")


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
    # TODO: implement avg_pool2d_forward (see the docstring above).
    raise NotImplementedError("avg_pool2d_forward is not implemented yet")


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
    # TODO: implement flatten (see the docstring above).
    raise NotImplementedError("flatten is not implemented yet")


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
    # TODO: implement dropout_forward (see the docstring above).
    raise NotImplementedError("dropout_forward is not implemented yet")


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
    # TODO: implement batchnorm_forward (see the docstring above).
    raise NotImplementedError("batchnorm_forward is not implemented yet")
