"""Exercise 1 — convolution arithmetic.

Before writing a convolution you need to know what shape comes out of it. In
this exercise you compute, with integers only (no NumPy, no TensorFlow):

- the output size of a convolution along one axis (``conv_output_size``),
- the output size of a pooling window along one axis (``pool_output_size``),
- the padding that keeps the size unchanged at stride 1 (``same_padding``),
- the output shape of a 2D convolution layer (``conv_output_shape``),
- the receptive field of a stack of layers (``receptive_field``).

Symbols used in the docstrings (the lectures' own):

    W  input size along one axis          F  kernel (or pool) size
    S  stride                             P  zero padding on EACH side
    D  dilation (1 = an ordinary kernel)  F_eff = D*(F - 1) + 1, the span of a dilated kernel

Conventions (the same for every exercise of the course):

- ``padding`` is an int ``P`` (P zeros on every side), a pair ``(P_h, P_w)``
  (shape functions only), or one of the words
  ``"valid"`` (P = 0), ``"same"`` (TensorFlow's rule: the output size is
  ceil(W / S); the total padding ``max((ceil(W/S) - 1)*S + F_eff - W, 0)`` is
  split with the odd extra pixel on the bottom/right) and ``"full"``
  (P = D*(F - 1): every position where kernel and input overlap at all).
  Pooling takes only ``"valid"`` or ``"same"``.
- Invalid arguments raise ``ValueError`` with a message that names the
  argument, e.g. ``ValueError("kernel_size must be a positive integer, got 0")``:
  sizes, strides and dilations must be positive integers (``True``/``False``
  are not integers here), padding a non-negative integer or a known word, and
  the (dilated) kernel must fit in the padded input.
- Results are Python ``int`` (or tuples of them). A NumPy integer scalar of the
  same value (``np.int64(5)``, e.g. from ``np.prod``) is accepted too, with a
  note: ``int(...)`` makes it plain. ``True``/``False``, floats and NumPy floats
  (``np.floor`` returns one) are not integers and fail. Inputs are never modified.
"""

# BEGIN SOLUTION
_PADDING_WORDS = ("valid", "same", "full")


def _int_at_least(name, value, minimum):
    """Return ``value`` as a Python int, or raise ValueError naming ``name``."""
    kind = "a positive integer" if minimum == 1 else "a non-negative integer"
    if isinstance(value, bool) or not hasattr(type(value), "__index__"):
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    value = int(value.__index__())
    if value < minimum:
        raise ValueError(f"{name} must be {kind}, got {value}")
    return value


def _pair(name, value):
    """An int ``v`` means ``(v, v)``; a pair ``(h, w)`` is returned as a tuple."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an integer or a pair (h, w), got {value!r}")
        return tuple(value)
    return (value, value)
# END SOLUTION


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
    # BEGIN SOLUTION
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
    return (width + 2 * pad - span) // step + 1
    # END SOLUTION


def pool_output_size(input_size: int, pool_size: int, stride: int | None = None,
                     padding: str = "valid") -> int:
    """Output size of a pooling window along one axis.

    Inputs:
    - input_size: int W >= 1.
    - pool_size: int F >= 1, the window size.
    - stride: int S >= 1, or None for S = F (non-overlapping windows, as Keras does).
    - padding: "valid" (no padding) or "same" (as TensorFlow: ceil(W / S)).
      Integers are not accepted for pooling.

    Returns the int

        "valid":  W' = floor((W - F) / S) + 1
        "same":   W' = ceil(W / S)

    Raises ValueError (naming the argument) when a size or the stride is not a
    positive integer, padding is not "valid" or "same", or (for "valid") the
    window is larger than the input (F > W).

    Example: pool_output_size(9, 3, 3) == 3.
    """
    # BEGIN SOLUTION
    width = _int_at_least("input_size", input_size, 1)
    window = _int_at_least("pool_size", pool_size, 1)
    step = window if stride is None else _int_at_least("stride", stride, 1)
    if not isinstance(padding, str) or padding not in ("valid", "same"):
        raise ValueError(f'padding must be "valid" or "same" for pooling, got {padding!r}')
    if padding == "same":
        return -(-width // step)
    if window > width:
        raise ValueError(f"pool_size={window} is larger than the input (input_size={width})")
    return (width - window) // step + 1
    # END SOLUTION


def same_padding(kernel_size: int, dilation: int = 1) -> int:
    """Zero padding P per side that keeps the size unchanged at stride 1.

    Inputs:
    - kernel_size: int F >= 1.
    - dilation: int D >= 1.

    At stride 1, W' = W + 2P - D*(F - 1), so W' = W needs

        P = D*(F - 1) / 2

    Returns P as an int. Raises ValueError (naming kernel_size) when D*(F - 1) is
    odd — an even effective kernel (F_eff = D*(F - 1) + 1) cannot be padded
    symmetrically; TensorFlow's "same" then puts the extra pixel on the
    bottom/right. Also raises ValueError when an argument is not a positive integer.

    Examples: same_padding(3) == 1; same_padding(5) == 2; same_padding(3, dilation=2) == 2.
    """
    # BEGIN SOLUTION
    kernel = _int_at_least("kernel_size", kernel_size, 1)
    dil = _int_at_least("dilation", dilation, 1)
    total = dil * (kernel - 1)
    if total % 2:
        raise ValueError(
            f"kernel_size={kernel} with dilation={dil} gives an even effective kernel "
            f"(D*(F-1)+1 = {total + 1}): no symmetric padding keeps the size"
        )
    return total // 2
    # END SOLUTION


def conv_output_shape(input_shape: tuple[int, int, int], filters: int,
                      kernel_size: int | tuple[int, int], stride: int | tuple[int, int] = 1,
                      padding: int | tuple[int, int] | str = 0) -> tuple[int, int, int]:
    """Output shape of a 2D convolution layer on one image (no batch axis).

    Inputs:
    - input_shape: tuple (H, W, C) of positive ints.
    - filters: int K >= 1, the number of filters (output channels).
    - kernel_size: int F or pair (F_h, F_w).
    - stride: int S or pair (S_h, S_w).
    - padding: int P, pair (P_h, P_w), "valid", "same" or "full".

    Each spatial axis follows conv_output_size (dilation 1):

        H' = floor((H + 2P_h - F_h) / S_h) + 1,   W' = floor((W + 2P_w - F_w) / S_w) + 1

    ("same": H' = ceil(H / S_h), W' = ceil(W / S_w)). The channel count C only
    has to be a positive integer: every filter spans all C input channels.

    Returns the tuple (H', W', K) of ints.

    Raises ValueError (naming the argument) on an input_shape that is not three
    positive ints, a non-positive filters, kernel_size or stride, a bad padding,
    or a kernel larger than the padded input.

    Example: conv_output_shape((28, 28, 1), 32, 3) == (26, 26, 32).
    """
    # BEGIN SOLUTION
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3:
        raise ValueError(f"input_shape must be a tuple (H, W, C), got {input_shape!r}")
    for value in input_shape:
        _int_at_least("input_shape", value, 1)
    height, width = input_shape[0], input_shape[1]
    out_filters = _int_at_least("filters", filters, 1)
    kernel_h, kernel_w = _pair("kernel_size", kernel_size)
    stride_h, stride_w = _pair("stride", stride)
    pad_h, pad_w = (padding, padding) if isinstance(padding, str) else _pair("padding", padding)
    return (
        conv_output_size(height, kernel_h, stride_h, pad_h),
        conv_output_size(width, kernel_w, stride_w, pad_w),
        out_filters,
    )
    # END SOLUTION


def receptive_field(layers: list[tuple[int, int]]) -> int:
    """Receptive field of a stack of convolution/pooling layers (one axis).

    Inputs:
    - layers: a list of pairs (kernel_size, stride), from the input to the
      output, e.g. [(3, 1), (3, 1), (2, 2)] for conv 3x3, conv 3x3, max-pool 2.
      Padding does not change the receptive field; dilation is not used here.

    One output unit of the last layer sees a square input region of side

        r = 1 + sum_i (k_i - 1) * (s_1 * s_2 * ... * s_{i-1})

    (each layer widens the region by k_i - 1 steps of the product of the strides
    before it; the last layer's stride does not matter).

    Returns r as an int (1 for an empty list: a unit sees itself).

    Raises ValueError (naming layers) when an entry is not a pair of positive ints.

    Examples: receptive_field([(3, 1), (3, 1)]) == 5; receptive_field([(2, 2), (3, 1)]) == 6.
    """
    # BEGIN SOLUTION
    if not isinstance(layers, (list, tuple)):
        raise ValueError(f"layers must be a list of (kernel_size, stride) pairs, got {layers!r}")
    field, jump = 1, 1
    for index, layer in enumerate(layers):
        if not isinstance(layer, (tuple, list)) or len(layer) != 2:
            raise ValueError(f"layers[{index}] must be a pair (kernel_size, stride), got {layer!r}")
        kernel = _int_at_least(f"layers[{index}] kernel_size", layer[0], 1)
        step = _int_at_least(f"layers[{index}] stride", layer[1], 1)
        field += (kernel - 1) * jump
        jump *= step
    return field
    # END SOLUTION
