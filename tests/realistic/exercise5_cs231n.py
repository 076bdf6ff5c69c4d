"""Exercise 5 the CS231n way: naive loops, and softmax_loss's `loss = np.sum(...) / N`.

A realistic submission (issue 10, "types too strict"): the loss is left as the
np.float64 that NumPy returns, which SPEC.md counts as a float. Only relu_backward
and dense_backward validate their arguments; softmax labels and conv dout are
not checked (the assignment's validation was skipped for those).
"""

import numpy as np


def _pair(v):
    if isinstance(v, int):
        return v, v
    return v[0], v[1]


def _pads(padding, H, W, HH, WW, sh, sw):
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "full":
        return HH - 1, HH - 1, WW - 1, WW - 1
    if padding == "same":
        out_h = int(np.ceil(H / sh))
        out_w = int(np.ceil(W / sw))
        ph = max((out_h - 1) * sh + HH - H, 0)
        pw = max((out_w - 1) * sw + WW - W, 0)
        return ph // 2, ph - ph // 2, pw // 2, pw - pw // 2
    p1, p2 = _pair(padding)
    return p1, p1, p2, p2


def conv2d_backward(dout, x, w, b, stride=1, padding=0):
    """
    A naive implementation of the backward pass for a convolutional layer.

    Inputs:
    - dout: Upstream derivatives.
    - x, w, b, stride, padding: as in the forward pass

    Returns a tuple of:
    - dx: Gradient with respect to x
    - dw: Gradient with respect to w
    - db: Gradient with respect to b
    """
    N, H, W, C = x.shape
    HH, WW, _, F = w.shape
    sh, sw = _pair(stride)
    top, bottom, left, right = _pads(padding, H, W, HH, WW, sh, sw)
    x_pad = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), mode="constant")
    H_out = 1 + (H + top + bottom - HH) // sh
    W_out = 1 + (W + left + right - WW) // sw

    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    hs, ws = i * sh, j * sw
                    window = x_pad[n, hs:hs + HH, ws:ws + WW, :]
                    db[f] += dout[n, i, j, f]
                    dw[:, :, :, f] += window * dout[n, i, j, f]
                    dx_pad[n, hs:hs + HH, ws:ws + WW, :] += w[:, :, :, f] * dout[n, i, j, f]
    dx = dx_pad[:, top:top + H, left:left + W, :]
    return dx, dw, db


def max_pool2d_backward(dout, x, pool_size=2, stride=None):
    """A naive implementation of the backward pass for a max-pooling layer."""
    pool_height, pool_width = _pair(pool_size)
    if stride is None:
        stride = (pool_height, pool_width)
    sh, sw = _pair(stride)
    N, H, W, C = x.shape
    H_out = 1 + (H - pool_height) // sh
    W_out = 1 + (W - pool_width) // sw
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, i * sh:i * sh + pool_height, j * sw:j * sw + pool_width, c]
                    r, s = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, i * sh + r, j * sw + s, c] += dout[n, i, j, c]
    return dx


def avg_pool2d_backward(dout, x, pool_size=2, stride=None):
    pool_height, pool_width = _pair(pool_size)
    if stride is None:
        stride = (pool_height, pool_width)
    sh, sw = _pair(stride)
    N, H, W, C = x.shape
    H_out = 1 + (H - pool_height) // sh
    W_out = 1 + (W - pool_width) // sw
    dx = np.zeros_like(x)
    for i in range(H_out):
        for j in range(W_out):
            share = dout[:, i, j, :] / (pool_height * pool_width)
            dx[:, i * sh:i * sh + pool_height, j * sw:j * sw + pool_width, :] += share[:, None, None, :]
    return dx


def relu_backward(dout, x):
    """Computes the backward pass for a layer of rectified linear units (ReLUs)."""
    if dout.shape != x.shape:
        raise ValueError(f"dout {dout.shape} and x {x.shape} must have the same shape")
    dx = dout.copy()
    dx[x <= 0] = 0
    return dx


def dense_backward(dout, x, w, b):
    """Computes the backward pass for an affine (fully connected) layer."""
    if x.shape[1] != w.shape[0]:
        raise ValueError(f"w has {w.shape[0]} rows but x has {x.shape[1]} features")
    dx = dout.dot(w.T)
    dw = x.T.dot(dout)
    db = np.sum(dout, axis=0)
    return dx, dw, db


def softmax_cross_entropy(logits, labels):
    """
    Computes the loss and gradient for softmax classification.

    Returns a tuple of:
    - loss: Scalar giving the loss
    - dx: Gradient of the loss with respect to x
    """
    shifted_logits = logits - np.max(logits, axis=1, keepdims=True)
    Z = np.sum(np.exp(shifted_logits), axis=1, keepdims=True)
    log_probs = shifted_logits - np.log(Z)
    probs = np.exp(log_probs)
    N = logits.shape[0]
    loss = -np.sum(log_probs[np.arange(N), labels]) / N
    dx = probs.copy()
    dx[np.arange(N), labels] -= 1
    dx /= N
    return loss, dx
