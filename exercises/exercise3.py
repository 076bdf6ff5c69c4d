# This file was generated from the reference solution by `make stubs`; edit the
# parts marked TODO. Run `grade exercise3` to check your work.
"""Exercise 3: the convolution forward pass in NumPy.

Conventions (the course's, as in TensorFlow/Keras):

- images are ``(N, H, W, C)`` arrays: N examples, H rows, W columns, C channels;
- kernels are ``(F_h, F_w, C_in, K)`` arrays (the layout of ``keras.layers.Conv2D.kernel``):
  a F_h x F_w window over C_in input channels, for each of the K filters;
- biases are ``(K,)`` arrays;
- ``kernel_size`` and ``stride`` are an int or a pair ``(h, w)``; ``padding`` is an int P
  (P zeros on every side), a pair ``(P_h, P_w)``, or one of the words ``"valid"``, ``"same"``,
  ``"full"`` (see :func:`pad2d`);
- layers compute cross-correlation: the kernel is *not* flipped;
- inputs are never modified; results are float arrays of the input's float dtype
  (float64 for integer input).

Invalid arguments raise ``ValueError`` with a message that names the argument.
"""

import numpy as np


def pad2d(x, padding, kernel_size=None, stride=1) -> np.ndarray:
    """Zero-pad the two spatial axes (H and W) of a batch of images.

    Inputs:
    - x: array of shape (N, H, W, C).
    - padding: how many zeros to add around each image:
      - an int P: P rows on top and bottom, P columns left and right;
      - a pair (P_h, P_w): P_h rows on top and bottom, P_w columns left and right;
      - "valid": no padding (P = 0); kernel_size is not needed;
      - "full": P_h = F_h - 1 and P_w = F_w - 1 on each side, so that every output of a
        stride-1 convolution sees at least one input pixel; needs kernel_size;
      - "same": TensorFlow's rule, which needs kernel_size and stride. For each spatial axis
        (shown for W; H is alike) the output size is O = ceil(W / S), the total padding is
        P_total = max((O - 1) * S + F - W, 0), with P_left = P_total // 2 and
        P_right = P_total - P_left (the odd extra column goes right, the odd row to the bottom).
      Words are case-insensitive ("SAME" is accepted, as in tf.nn.conv2d).
    - kernel_size: the kernel's (F_h, F_w), an int F or a pair; used by "same" and "full" only.
    - stride: the convolution's stride S (an int or a pair (S_h, S_w)); used by "same" only.

    Returns:
    - a new array of shape (N, H + P_top + P_bottom, W + P_left + P_right, C) and x's dtype,
      with x in the middle and zeros around it. x itself is not modified (even for P = 0
      the result is a copy).

    Raises ValueError (naming the argument) when x is not 4-D or has H, W or C of 0, when
    padding is negative, not an int/pair or an unknown word, when kernel_size is missing
    for "same"/"full" or is not positive, and when stride is not positive.
    """
    # TODO: implement pad2d (see the docstring above).
    raise NotImplementedError("pad2d is not implemented yet")


def conv2d_forward(x, w, b, stride=1, padding=0) -> np.ndarray:
    """Forward pass of a 2-D convolution layer (cross-correlation, as Keras ``Conv2D``).

    Each filter k is slid over the zero-padded input; at each position the output is the sum
    of the elementwise product of the F_h x F_w x C_in window with w[:, :, :, k], plus b[k]:

        out[n, i, j, k] = b[k] + sum_{p, q, c} xp[n, i*S_h + p, j*S_w + q, c] * w[p, q, c, k]

    where xp is x padded as in :func:`pad2d`. The kernel is not flipped.

    Inputs:
    - x: input images, shape (N, H, W, C_in).
    - w: filter weights, shape (F_h, F_w, C_in, K).
    - b: biases, shape (K,).
    - stride: S, or (S_h, S_w): the step between two neighbouring windows.
    - padding: P, (P_h, P_w), "valid", "same" or "full", exactly as in :func:`pad2d`
      (with kernel_size = (F_h, F_w) and this stride).

    Returns:
    - out: array of shape (N, H', W', K), with
        H' = (H + P_top + P_bottom - F_h) // S_h + 1
        W' = (W + P_left + P_right - F_w) // S_w + 1
      (P_top = P_bottom = P for an int padding; "same" gives H' = ceil(H / S_h),
      W' = ceil(W / S_w)). Its dtype is the float dtype of x, w and b combined
      (float64 when they are all integers).

    Raises ValueError (naming the argument) when x or w is not 4-D or has a size of 0,
    when b is not of shape (K,), when w's C_in differs from x's C, when stride is not
    positive, when padding is invalid, and when the kernel is larger than the padded input.
    """
    # TODO: implement conv2d_forward (see the docstring above).
    raise NotImplementedError("conv2d_forward is not implemented yet")


def relu(x) -> np.ndarray:
    """Rectified linear unit, elementwise: max(x, 0).

    Inputs:
    - x: array of any shape, e.g. (N, H, W, C).

    Returns:
    - a new array of the same shape, x's float dtype (float64 for integer input), holding
      x where x > 0 and 0 elsewhere. x is not modified.
    """
    # TODO: implement relu (see the docstring above).
    raise NotImplementedError("relu is not implemented yet")
