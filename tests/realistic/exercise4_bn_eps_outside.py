# ruff: noqa: F821  (its helpers come from solutions/, which this file is graded on top of)
"""(Realistic, issue 12: batchnorm_forward adds epsilon after the square root. Before: no hint;
after: the hint says epsilon goes inside.)

Only the student's own version of batchnorm_forward is here: the test grades it on
top of solutions/exercise4.py (later definitions replace earlier ones), as a student who got the rest right.
"""

import numpy as np


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
    scale = params["gamma"] / (np.sqrt(var) + epsilon)  # epsilon keeps it from dividing by zero
    out = (x - mean) * scale + params["beta"]
    dt = x.dtype
    return out.astype(dt, copy=False), moving_mean.astype(dt), moving_var.astype(dt)
