"""Exercise 1 written with NumPy (issue 10, "types too strict").

Every size comes out of np.floor / np.ceil / np.prod and is returned as a NumPy
integer (np.int64), which SPEC.md accepts where an int is asked. The values are right.
"""

import numpy as np


def _check(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def conv_output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
    _check("input_size", input_size)
    _check("kernel_size", kernel_size)
    _check("stride", stride)
    _check("dilation", dilation)
    f_eff = dilation * (kernel_size - 1) + 1
    if padding == "same":
        return np.ceil(input_size / stride).astype(np.int64)
    if padding == "valid":
        p = 0
    elif padding == "full":
        p = dilation * (kernel_size - 1)
    elif isinstance(padding, str):
        raise ValueError(f"unknown padding {padding!r}")
    else:
        _check("padding", padding, 0)
        p = padding
    if f_eff > input_size + 2 * p:
        raise ValueError("kernel_size is larger than the padded input")
    return np.floor((input_size + 2 * p - f_eff) / stride).astype(np.int64) + 1


def pool_output_size(input_size, pool_size, stride=None, padding="valid"):
    _check("input_size", input_size)
    _check("pool_size", pool_size)
    if stride is None:
        stride = pool_size
    _check("stride", stride)
    if padding == "same":
        return np.int64(np.ceil(input_size / stride))
    if padding != "valid":
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    if pool_size > input_size:
        raise ValueError("pool_size is larger than input_size")
    return np.int64((input_size - pool_size) // stride + 1)


def same_padding(kernel_size, dilation=1):
    _check("kernel_size", kernel_size)
    _check("dilation", dilation)
    total = dilation * (kernel_size - 1)
    if total % 2 == 1:
        raise ValueError("kernel_size gives an even effective kernel: no symmetric padding")
    return np.int64(total / 2)


def conv_output_shape(input_shape, filters, kernel_size, stride=1, padding=0):
    if len(input_shape) != 3:
        raise ValueError("input_shape must be (H, W, C)")
    for v in input_shape:
        _check("input_shape", v)
    _check("filters", filters)
    k = np.broadcast_to(np.asarray(kernel_size), (2,))
    s = np.broadcast_to(np.asarray(stride), (2,))
    if isinstance(padding, str):
        p = [padding, padding]
    else:
        p = list(np.broadcast_to(np.asarray(padding), (2,)))
    h = conv_output_size(input_shape[0], k[0], s[0], p[0])
    w = conv_output_size(input_shape[1], k[1], s[1], p[1])
    return (h, w, filters)


def receptive_field(layers):
    r = 1
    jump = 1
    for layer in layers:
        if len(layer) != 2:
            raise ValueError("layers must hold (kernel_size, stride) pairs")
        k, s = layer
        _check("layers", k)
        _check("layers", s)
        r = r + (k - 1) * jump
        jump = np.prod([jump, s])
    return r
