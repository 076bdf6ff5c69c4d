# This file was generated from the reference solution by `make stubs`; edit the
# parts marked TODO. Run `grade exercise5` to check your work.
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
    # TODO: implement conv2d_backward (see the docstring above).
    raise NotImplementedError("conv2d_backward is not implemented yet")


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
    # TODO: implement max_pool2d_backward (see the docstring above).
    raise NotImplementedError("max_pool2d_backward is not implemented yet")


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
    # TODO: implement avg_pool2d_backward (see the docstring above).
    raise NotImplementedError("avg_pool2d_backward is not implemented yet")


def relu_backward(dout, x):
    """Backward pass of the ReLU, out = max(x, 0).

    Inputs:
    - dout: upstream gradient, any shape, e.g. (N, H, W, C).
    - x: the forward input, same shape as dout.

    Returns:
    - dx: dout where x > 0 and 0 elsewhere (at x == 0 too, as TensorFlow does); shape of x.

    Raises ValueError when dout and x have different shapes.
    """
    # TODO: implement relu_backward (see the docstring above).
    raise NotImplementedError("relu_backward is not implemented yet")


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
    # TODO: implement dense_backward (see the docstring above).
    raise NotImplementedError("dense_backward is not implemented yet")


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
    # TODO: implement softmax_cross_entropy (see the docstring above).
    raise NotImplementedError("softmax_cross_entropy is not implemented yet")
