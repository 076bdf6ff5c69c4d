"""Exercise 5 as many students write it: loops over positions (correct, slow)."""

import numpy as np


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _amounts(padding, hw, k, s):
    if padding == "valid":
        return [(0, 0), (0, 0)]
    if padding == "full":
        return [(k[0] - 1, k[0] - 1), (k[1] - 1, k[1] - 1)]
    if padding == "same":
        out = []
        for size, f, st in zip(hw, k, s, strict=True):
            total = max((-(-size // st) - 1) * st + f - size, 0)
            out.append((total // 2, total - total // 2))
        return out
    p = _pair(padding)
    return [(p[0], p[0]), (p[1], p[1])]


def conv2d_backward(dout, x, w, b, stride=1, padding=0):
    fh, fw, cin, k = w.shape
    n, h, wd, _ = x.shape
    sh, sw = _pair(stride)
    (t, bt), (lf, rt) = _amounts(padding, (h, wd), (fh, fw), (sh, sw))
    xp = np.pad(x, ((0, 0), (t, bt), (lf, rt), (0, 0)))
    ho, wo = (xp.shape[1] - fh) // sh + 1, (xp.shape[2] - fw) // sw + 1
    if dout.shape != (n, ho, wo, k):
        raise ValueError(f"dout must have shape {(n, ho, wo, k)}")
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w, dtype=float)
    db = np.zeros(k)
    for i in range(n):
        for r in range(ho):
            for c in range(wo):
                patch = xp[i, r * sh:r * sh + fh, c * sw:c * sw + fw, :]
                for f in range(k):
                    g = dout[i, r, c, f]
                    dw[:, :, :, f] += g * patch
                    dxp[i, r * sh:r * sh + fh, c * sw:c * sw + fw, :] += g * w[:, :, :, f]
                    db[f] += g
    return dxp[:, t:t + h, lf:lf + wd, :], dw, db


def _pool_backward(dout, x, pool_size, stride, kind):
    ph, pw = _pair(pool_size)
    sh, sw = (ph, pw) if stride is None else _pair(stride)
    n, h, w, ch = x.shape
    ho, wo = (h - ph) // sh + 1, (w - pw) // sw + 1
    dx = np.zeros_like(x, dtype=float)
    for i in range(n):
        for r in range(ho):
            for c in range(wo):
                for z in range(ch):
                    window = x[i, r * sh:r * sh + ph, c * sw:c * sw + pw, z]
                    if kind == "max":
                        a, bb = np.unravel_index(np.argmax(window), window.shape)
                        dx[i, r * sh + a, c * sw + bb, z] += dout[i, r, c, z]
                    else:
                        dx[i, r * sh:r * sh + ph, c * sw:c * sw + pw, z] += dout[i, r, c, z] / (ph * pw)
    return dx


def max_pool2d_backward(dout, x, pool_size=2, stride=None):
    return _pool_backward(dout, x, pool_size, stride, "max")


def avg_pool2d_backward(dout, x, pool_size=2, stride=None):
    return _pool_backward(dout, x, pool_size, stride, "avg")


def relu_backward(dout, x):
    if dout.shape != x.shape:
        raise ValueError("dout and x must have the same shape")
    return dout * (x > 0)


def dense_backward(dout, x, w, b):
    if w.shape[0] != x.shape[1]:
        raise ValueError("w must have shape (D, M) matching x")
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


def softmax_cross_entropy(logits, labels):
    n = logits.shape[0]
    if labels.min() < 0 or labels.max() >= logits.shape[1]:
        raise ValueError("labels out of range")
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(n), labels]).mean()
    d = p.copy()
    d[np.arange(n), labels] -= 1
    return float(loss), d / n
