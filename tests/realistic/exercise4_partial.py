"""Exercise 4 half done (issue 10, "partial implementations" and "shared checks").

max_pool2d_forward handles square windows only and raises NotImplementedError
for the others; avg_pool2d_forward is not written at all (the function was
deleted with its stub). flatten, dropout and batch norm are right.
"""

import numpy as np


def max_pool2d_forward(x, pool_size=2, stride=None, padding="valid"):
    if isinstance(pool_size, tuple):
        if pool_size[0] != pool_size[1]:
            raise NotImplementedError("non-square pooling windows are not supported yet")
        pool_size = pool_size[0]
    if pool_size < 1:
        raise ValueError("pool_size must be positive")
    if stride is None:
        stride = pool_size
    if isinstance(stride, tuple):
        sh, sw = stride
    else:
        sh = sw = stride
    if sh < 1 or sw < 1:
        raise ValueError("stride must be positive")
    if padding not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    n, h, w, c = x.shape
    if padding == "same":
        oh, ow = -(-h // sh), -(-w // sw)
        th = max((oh - 1) * sh + pool_size - h, 0)
        tw = max((ow - 1) * sw + pool_size - w, 0)
        x = np.pad(x, ((0, 0), (th // 2, th - th // 2), (tw // 2, tw - tw // 2), (0, 0)),
                   constant_values=-np.inf)
    else:
        if pool_size > h or pool_size > w:
            raise ValueError("pool_size is larger than the input")
        oh, ow = (h - pool_size) // sh + 1, (w - pool_size) // sw + 1
    out = np.empty((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            out[:, i, j, :] = x[:, i * sh:i * sh + pool_size, j * sw:j * sw + pool_size, :].max(axis=(1, 2))
    return out


def flatten(x):
    return x.reshape(x.shape[0], -1)


def dropout_forward(x, rate, training, rng):
    if not 0 <= rate < 1:
        raise ValueError(f"rate must be in [0, 1), got {rate}")
    if not training:
        return x.copy()
    mask = rng.random(x.shape) > rate
    return x * mask / (1 - rate)


def batchnorm_forward(x, gamma, beta, moving_mean, moving_var, training, momentum=0.99, epsilon=1e-3):
    c = x.shape[-1]
    for name, value in (("gamma", gamma), ("beta", beta), ("moving_mean", moving_mean),
                        ("moving_var", moving_var)):
        if value.shape != (c,):
            raise ValueError(f"{name} must have shape ({c},), got {value.shape}")
    axes = tuple(range(x.ndim - 1))
    if training:
        mean = x.mean(axis=axes)
        var = x.var(axis=axes)
        new_mean = momentum * moving_mean + (1 - momentum) * mean
        new_var = momentum * moving_var + (1 - momentum) * var
    else:
        mean, var = moving_mean, moving_var
        new_mean, new_var = moving_mean.copy(), moving_var.copy()
    out = gamma * (x - mean) / np.sqrt(var + epsilon) + beta
    return out, new_mean, new_var
