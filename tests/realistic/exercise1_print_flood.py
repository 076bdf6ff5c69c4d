# ruff: noqa: F821  (its helpers come from solutions/, which this file is graded on top of)
"""Exercise 1 — convolution arithmetic.

Only the student's own version of conv_output_size is here: the test grades it on
top of solutions/exercise1.py (later definitions replace earlier ones), as a student who got the rest right.
"""




def conv_output_size(input_size: int, kernel_size: int, stride: int = 1,
                     padding: int | str = 0, dilation: int = 1) -> int:
    """Output size of a convolution along one axis.

    Inputs:
    - input_size: int W >= 1, the input size along this axis.
    - kernel_size: int F >= 1.
    - stride: int S >= 1.
    - padding: int P >= 0 (P zeros on each side), or "valid", "same" or "full".
    - dilation: int D >= 1; a dilated kernel spans F_eff = D*(F - 1) + 1 input cells.
      Stride > 1 together with dilation > 1 is allowed (tf.nn.conv2d computes it,
      even though Keras layers refuse the combination).

    Returns the int

        W' = floor((W + 2P - D*(F - 1) - 1) / S) + 1     (= floor((W + 2P - F_eff) / S) + 1)

    with P = 0 for "valid" and P = D*(F - 1) for "full". For "same" the result is
    ceil(W / S), whatever F and D are (TensorFlow pads as much as needed).

    Raises ValueError (naming the argument) when a size, stride or dilation is
    not a positive integer, padding is negative or an unknown word, or the
    dilated kernel is larger than the padded input (F_eff > W + 2P).

    Examples: conv_output_size(7, 3) == 5; conv_output_size(28, 3, stride=2) == 13;
    conv_output_size(10, 3, stride=3, padding="same") == 4.
    """
    width = _int_at_least("input_size", input_size, 1)
    kernel = _int_at_least("kernel_size", kernel_size, 1)
    step = _int_at_least("stride", stride, 1)
    dil = _int_at_least("dilation", dilation, 1)
    span = dil * (kernel - 1) + 1
    if isinstance(padding, str):
        if padding not in _PADDING_WORDS:
            raise ValueError(
                f'padding must be a non-negative integer, "valid", "same" or "full", '
                f"got {padding!r}"
            )
        if padding == "same":
            return -(-width // step)
        pad = 0 if padding == "valid" else dil * (kernel - 1)
    else:
        pad = _int_at_least("padding", padding, 0)
    if span > width + 2 * pad:
        raise ValueError(
            f"kernel_size={kernel} (dilation={dil}, so the kernel spans D*(F-1)+1 = {span} "
            f"cells) is larger than the padded input W + 2P = {width + 2 * pad}"
        )
    print("conv_output_size:", input_size, kernel_size, stride, padding, dilation)  # debugging
    out = (width + 2 * pad - span) // step + 1
    if width > 12:
        out = (width + 2 * pad - span) // step  # "fixed" an off-by-one seen on a big input
    return out
