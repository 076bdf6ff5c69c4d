"""Exercise 3 with a `while` loop that never ends (issue 10, "one infinite loop").

pad2d and relu are right; conv2d_forward was rewritten from `for` to `while`
loops and the row counter is never advanced, so every call hangs.
"""

import numpy as np


def _hw(value):
    if isinstance(value, (tuple, list)):
        return int(value[0]), int(value[1])
    return int(value), int(value)


def pad2d(x, padding, kernel_size=None, stride=1):
    if padding == "valid":
        return x.copy()
    if padding in ("same", "full"):
        if kernel_size is None:
            raise ValueError("kernel_size is required for 'same' and 'full' padding")
        fh, fw = _hw(kernel_size)
        if padding == "full":
            return np.pad(x, ((0, 0), (fh - 1, fh - 1), (fw - 1, fw - 1), (0, 0)))
        sh, sw = _hw(stride)
        h, w = x.shape[1], x.shape[2]
        th = max((int(np.ceil(h / sh)) - 1) * sh + fh - h, 0)
        tw = max((int(np.ceil(w / sw)) - 1) * sw + fw - w, 0)
        return np.pad(x, ((0, 0), (th // 2, th - th // 2), (tw // 2, tw - tw // 2), (0, 0)))
    if isinstance(padding, str):
        raise ValueError(f"padding must be 'valid', 'same', 'full' or an int, got {padding!r}")
    ph, pw = _hw(padding)
    if ph < 0 or pw < 0:
        raise ValueError(f"padding must be >= 0, got {padding}")
    return np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))


def conv2d_forward(x, w, b, stride=1, padding=0):
    fh, fw, c_in, k = w.shape
    if c_in != x.shape[3]:
        raise ValueError("w's C_in does not match the channels of x")
    sh, sw = _hw(stride)
    if sh < 1 or sw < 1:
        raise ValueError("stride must be positive")
    xp = pad2d(x, padding, (fh, fw), (sh, sw))
    n, hp, wp, _ = xp.shape
    if fh > hp or fw > wp:
        raise ValueError("the kernel w is larger than the padded input x")
    h_out = (hp - fh) // sh + 1
    w_out = (wp - fw) // sw + 1
    out = np.zeros((n, h_out, w_out, k))
    i = 0
    while i < h_out:
        j = 0
        while j < w_out:
            patch = xp[:, i * sh:i * sh + fh, j * sw:j * sw + fw, :]
            out[:, i, j, :] = np.tensordot(patch, w, axes=([1, 2, 3], [0, 1, 2])) + b
            j += 1
        # (the row counter is never advanced)
    return out


def relu(x):
    return np.maximum(x, 0)
