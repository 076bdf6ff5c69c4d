# This file was generated from the reference solution by `make stubs`; edit the
# parts marked TODO. Run `grade exercise2` to check your work.
"""Exercise 2 — parameter counting.

How many numbers does a layer learn? In this exercise you count the weights of
the layers of a CNN exactly as Keras does (``layer.count_params()`` and
``model.summary()``), with integers only (no NumPy, no TensorFlow).

Symbols used in the docstrings:

    F_h, F_w   kernel height and width       C_in  input channels (the last axis)
    K          filters (output channels)     dm    depth multiplier

Weights are stored in TensorFlow layout: a Conv2D kernel has shape
(F_h, F_w, C_in, K) and its bias shape (K,); a Dense kernel (in_features, units).

Conventions (the same for every exercise of the course):

- ``kernel_size`` is an int ``F`` (meaning F x F) or a pair ``(F_h, F_w)``;
  ``conv_params`` takes a tuple with one entry per spatial axis.
- ``use_bias`` is a bool (``True`` by default, as in Keras).
- Invalid arguments raise ``ValueError`` with a message that names the
  argument, e.g. ``ValueError("filters must be a positive integer, got 0")``.
- Results are Python ``int`` (or tuples of them). A NumPy integer scalar of the
  same value (``np.int64(5)``, e.g. from ``np.prod``) is accepted too, with a
  note: ``int(...)`` makes it plain. ``True``/``False``, floats and NumPy floats
  (``np.floor`` returns one) are not integers and fail. Inputs are never modified.
"""


def conv2d_params(kernel_size: int | tuple[int, int], in_channels: int, filters: int,
                  use_bias: bool = True) -> int:
    """Number of parameters of a Conv2D layer.

    Inputs:
    - kernel_size: int F (an F x F kernel) or pair (F_h, F_w).
    - in_channels: int C_in >= 1, the channels of the layer's input.
    - filters: int K >= 1, the number of filters (output channels).
    - use_bias: bool; one bias per filter when True.

    The kernel has shape (F_h, F_w, C_in, K) and the bias shape (K,), so

        params = F_h * F_w * C_in * K + K      (+ K only when use_bias)

    Returns the int. Raises ValueError (naming the argument) on a size that is
    not a positive integer or a use_bias that is not a bool.

    Example: conv2d_params(3, 32, 64) == 18496 (64 filters of 3*3*32 weights, plus 64 biases).
    """
    # TODO: implement conv2d_params (see the docstring above).
    raise NotImplementedError("conv2d_params is not implemented yet")


def conv_params(kernel_size: tuple[int, ...], in_channels: int, filters: int,
                use_bias: bool = True) -> int:
    """Number of parameters of a 1D, 2D or 3D convolution (Conv1D, Conv2D, Conv3D).

    Inputs:
    - kernel_size: tuple of 1, 2 or 3 positive ints, one per spatial axis:
      (F,) for Conv1D, (F_h, F_w) for Conv2D, (F_d, F_h, F_w) for Conv3D.
      A bare int is refused (ValueError): it cannot say how many axes there are.
    - in_channels: int C_in >= 1.
    - filters: int K >= 1.
    - use_bias: bool.

    The kernel has shape kernel_size + (C_in, K), so

        params = (product of kernel_size) * C_in * K + K      (+ K only when use_bias)

    Returns the int. Raises ValueError (naming the argument) on a kernel_size
    that is not a tuple of 1 to 3 positive ints, a non-positive size, or a
    use_bias that is not a bool.

    Example: conv_params((3, 3, 3), 1, 8) == 224.
    """
    # TODO: implement conv_params (see the docstring above).
    raise NotImplementedError("conv_params is not implemented yet")


def dense_params(in_features: int, units: int, use_bias: bool = True) -> int:
    """Number of parameters of a Dense (fully connected) layer.

    Inputs:
    - in_features: int >= 1, the size of the input's last axis.
    - units: int >= 1, the number of output units.
    - use_bias: bool.

    The kernel has shape (in_features, units) and the bias shape (units,):

        params = in_features * units + units      (+ units only when use_bias)

    Returns the int. Raises ValueError (naming the argument) on a size that is
    not a positive integer or a use_bias that is not a bool.

    Example: dense_params(1600, 128) == 204928.
    """
    # TODO: implement dense_params (see the docstring above).
    raise NotImplementedError("dense_params is not implemented yet")


def batchnorm_params(channels: int) -> tuple[int, int]:
    """Parameters of a BatchNormalization layer, split as Keras reports them.

    Inputs:
    - channels: int C >= 1, the size of the normalized (last) axis.

    Per channel, BatchNormalization keeps four numbers: gamma (scale) and beta
    (offset) are learned by gradient descent (trainable); the moving mean and
    moving variance are updated during training but not by gradients
    (non-trainable). So

        trainable = 2C,   non_trainable = 2C,   total = 4C

    Returns the tuple (trainable, non_trainable) of ints. Raises ValueError
    (naming channels) when channels is not a positive integer.

    Example: batchnorm_params(32) == (64, 64).
    """
    # TODO: implement batchnorm_params (see the docstring above).
    raise NotImplementedError("batchnorm_params is not implemented yet")


def depthwise_conv2d_params(kernel_size: int | tuple[int, int], in_channels: int,
                            depth_multiplier: int = 1, use_bias: bool = True) -> int:
    """Number of parameters of a DepthwiseConv2D layer.

    Inputs:
    - kernel_size: int F or pair (F_h, F_w).
    - in_channels: int C_in >= 1.
    - depth_multiplier: int dm >= 1, the filters per input channel.
    - use_bias: bool.

    Each input channel gets its own dm kernels of F_h x F_w (no mixing across
    channels); the kernel has shape (F_h, F_w, C_in, dm) and the bias (C_in * dm,):

        params = F_h * F_w * C_in * dm + C_in * dm      (+ C_in * dm only when use_bias)

    Returns the int. Raises ValueError (naming the argument) on a size that is
    not a positive integer or a use_bias that is not a bool.

    Example: depthwise_conv2d_params(3, 32) == 320.
    """
    # TODO: implement depthwise_conv2d_params (see the docstring above).
    raise NotImplementedError("depthwise_conv2d_params is not implemented yet")


def separable_conv2d_params(kernel_size: int | tuple[int, int], in_channels: int, filters: int,
                            depth_multiplier: int = 1, use_bias: bool = True) -> int:
    """Number of parameters of a SeparableConv2D layer.

    Inputs:
    - kernel_size: int F or pair (F_h, F_w).
    - in_channels: int C_in >= 1.
    - filters: int K >= 1.
    - depth_multiplier: int dm >= 1.
    - use_bias: bool.

    A depthwise convolution (kernel (F_h, F_w, C_in, dm), no bias) followed by a
    pointwise 1x1 convolution (kernel (1, 1, C_in * dm, K)) and one bias per filter:

        params = F_h * F_w * C_in * dm + C_in * dm * K + K      (+ K only when use_bias)

    Returns the int. Raises ValueError (naming the argument) on a size that is
    not a positive integer or a use_bias that is not a bool.

    Example: separable_conv2d_params(3, 32, 64) == 2400.
    """
    # TODO: implement separable_conv2d_params (see the docstring above).
    raise NotImplementedError("separable_conv2d_params is not implemented yet")


def model_summary(input_shape: tuple[int, ...], layers: list[dict]) -> dict:
    """The numbers of keras.Model.summary() for a Sequential model, without Keras.

    Inputs:
    - input_shape: tuple of positive ints, the shape of one example (no batch
      axis), e.g. (28, 28, 1) for an image or (784,) for a vector.
    - layers: list of dicts, one per layer from input to output. "type" names the
      Keras layer; the other keys are the Keras arguments, with Keras's defaults:

        {"type": "Conv2D", "filters": K, "kernel_size": F or (F_h, F_w),
         "strides": 1, "padding": "valid" | "same", "dilation_rate": 1,
         "use_bias": True, "activation": None}
        {"type": "MaxPooling2D" or "AveragePooling2D", "pool_size": 2,
         "strides": None (= pool_size), "padding": "valid" | "same"}
        {"type": "BatchNormalization"}              normalizes the last axis
        {"type": "Dropout", "rate": r}              0 <= r <= 1
        {"type": "Flatten"}
        {"type": "Dense", "units": n, "use_bias": True, "activation": None}
        {"type": "Activation", "activation": "relu"}    (None means linear)
        {"type": "GlobalAveragePooling2D"} or {"type": "GlobalMaxPooling2D"}

      filters, kernel_size, units, rate and activation (for Activation) are
      required; an activation is a name (its spelling is not checked) or None.
      Every layer also accepts "name" (ignored) and "trainable" (default True;
      False turns all of the layer's weights non-trainable, as setting
      layer.trainable = False does in Keras). Any other key is an error.

    Shapes follow Keras, per layer:
    - Conv2D needs an (H, W, C) input and gives (H', W', K), with
      H' = floor((H - D*(F_h - 1) - 1) / S_h) + 1 for "valid" and ceil(H / S_h) for
      "same" (likewise W'); params = F_h*F_w*C*K + K (bias only with use_bias).
      Keras refuses strides > 1 together with dilation_rate > 1: so do you.
    - Pooling needs (H, W, C) and gives (H', W', C): floor((H - F_h) / S_h) + 1 for
      "valid", ceil(H / S_h) for "same"; no params.
    - BatchNormalization keeps the shape; 4 * (last axis) params, half of them
      (moving mean and variance) non-trainable.
    - Dense acts on the last axis: (..., n_in) -> (..., units); n_in*units + units params.
    - Flatten gives (product of the shape,); GlobalXPooling2D gives (C,) from (H, W, C);
      Dropout and Activation keep the shape. None of them has params.

    Returns a dict

        {"layers": [{"type": str, "output_shape": tuple of ints (no batch axis),
                     "params": int}, ...],     # one entry per layer, in order
         "total": int, "trainable": int, "non_trainable": int}

    with total = trainable + non_trainable = the sum of the per-layer params.

    Raises ValueError on an invalid input_shape (naming input_shape), a layer
    that is not a dict or has an unknown "type" (naming type), a missing,
    unknown or invalid key (naming the key), a layer applied to a shape it
    cannot take (naming layers[i]), or a kernel or pool window larger than its
    input (naming kernel_size or pool_size).

    Example: model_summary((28, 28, 1), [{"type": "Conv2D", "filters": 32, "kernel_size": 3}])
    == {"layers": [{"type": "Conv2D", "output_shape": (26, 26, 32), "params": 320}],
        "total": 320, "trainable": 320, "non_trainable": 0}
    """
    # TODO: implement model_summary (see the docstring above).
    raise NotImplementedError("model_summary is not implemented yet")
