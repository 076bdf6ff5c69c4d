"""Exercise 3 as most students write it: explicit loops (a correct, slow implementation).

Kept in tests/ to show the checks accept any correct implementation in time
(issue 3: a six-loop conv2d_forward must be gradable in <= 30 s).
"""

import numpy as np


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def pad2d(x, padding, kernel_size=None, stride=1):
    if isinstance(padding, str):
        if padding == "valid":
            ph = pw = (0, 0)
        elif padding == "full":
            if kernel_size is None:
                raise ValueError("kernel_size is needed for padding='full'")
            fh, fw = _pair(kernel_size)
            ph, pw = (fh - 1, fh - 1), (fw - 1, fw - 1)
        elif padding == "same":
            if kernel_size is None:
                raise ValueError("kernel_size is needed for padding='same'")
            fh, fw = _pair(kernel_size)
            sh, sw = _pair(stride)
            amounts = []
            for size, f, s in ((x.shape[1], fh, sh), (x.shape[2], fw, sw)):
                out = (size + s - 1) // s
                total = max((out - 1) * s + f - size, 0)
                amounts.append((total // 2, total - total // 2))
            ph, pw = amounts
        else:
            raise ValueError(f"unknown padding {padding!r}")
    else:
        p_h, p_w = _pair(padding)
        if p_h < 0 or p_w < 0:
            raise ValueError("padding must be non-negative")
        ph, pw = (p_h, p_h), (p_w, p_w)
    n, h, w, c = x.shape
    out = np.zeros((n, h + ph[0] + ph[1], w + pw[0] + pw[1], c))
    for i in range(n):
        for r in range(h):
            for col in range(w):
                for ch in range(c):
                    out[i, r + ph[0], col + pw[0], ch] = x[i, r, col, ch]
    return out


def conv2d_forward(x, w, b, stride=1, padding=0):
    fh, fw, cin, k = w.shape
    if cin != x.shape[3]:
        raise ValueError("w has a different number of input channels (C_in) than x")
    sh, sw = _pair(stride)
    if sh <= 0 or sw <= 0:
        raise ValueError("stride must be positive")
    xp = pad2d(x, padding, (fh, fw), (sh, sw))
    n, hp, wp, _ = xp.shape
    if fh > hp or fw > wp:
        raise ValueError("the kernel w is larger than the padded input x")
    ho, wo = (hp - fh) // sh + 1, (wp - fw) // sw + 1
    out = np.zeros((n, ho, wo, k))
    for i in range(n):
        for r in range(ho):
            for col in range(wo):
                for f in range(k):
                    total = b[f]
                    for p in range(fh):
                        for q in range(fw):
                            for ch in range(cin):
                                total += xp[i, r * sh + p, col * sw + q, ch] * w[p, q, ch, f]
                    out[i, r, col, f] = total
    return out


def relu(x):
    out = x.copy()
    out[out < 0] = 0
    return out
