"""Trusted reference for exercises 1 and 2: convolution arithmetic and parameter counts.

Proven equal to Keras/TensorFlow by tests/test_reference_formulas.py on thousands of generated cases.

Same names and contracts as the student functions (see ``solutions/exercise1.py``
and ``solutions/exercise2.py``: same results, ``ValueError`` on the same
invalid arguments), written another way on purpose, so that one slip cannot sit
in both:

- an output size is the number of window positions on the padded axis,
  ``len(range(0, padded - span + 1, stride))``, after resolving every padding form
  to the ``(before, after)`` amounts TensorFlow would use;
- a receptive field is grown backwards, from one output unit to the input;
- a parameter count is the sum of the sizes of the weight shapes Keras creates;
- ``model_summary`` is driven by a table of per-layer rules.

Pure Python: no NumPy or TensorFlow import, so the grader can use it anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from math import prod

PADDING_WORDS = ("valid", "same", "full")
POOL_PADDING_WORDS = ("valid", "same")

Shape = tuple[int, ...]


# ---------------------------------------------------------------- argument checks


def _whole(name: str, value: object, *, minimum: int = 1) -> int:
    """``value`` as an int >= minimum (bools refused, NumPy integers accepted)."""
    if type(value) is int and value >= minimum:  # the common case, first: sweeps call this ~10^5 times
        return value
    what = "a positive integer" if minimum >= 1 else "a non-negative integer"
    index = getattr(type(value), "__index__", None)
    if isinstance(value, bool) or index is None:
        raise ValueError(f"{name} must be {what}, got {value!r}")
    number = int(index(value))
    if number < minimum:
        raise ValueError(f"{name} must be {what}, got {number}")
    return number


def _two(name: str, value: object) -> tuple[object, object]:
    """Split an int-or-pair argument into its (h, w) parts, unchecked."""
    if isinstance(value, tuple | list):
        if len(value) != 2:
            raise ValueError(f"{name} must be an integer or a pair (h, w), got {value!r}")
        return value[0], value[1]
    return value, value


def _bias_flag(value: object) -> bool:
    if value is not True and value is not False:
        raise ValueError(f"use_bias must be True or False, got {value!r}")
    return value


# ---------------------------------------------------------------- exercise 1


def keras_same_padding_amounts(input_size: int, kernel_size: int, stride: int = 1,
                               dilation: int = 1) -> tuple[int, int]:
    """Zeros TensorFlow adds (before, after) for ``padding="same"``.

    The output is ceil(W / S); the total is ``max((O - 1)*S + F_eff - W, 0)``
    with ``F_eff = D*(F - 1) + 1``, and the odd extra pixel goes after
    (bottom/right).
    """
    width = _whole("input_size", input_size)
    kernel = _whole("kernel_size", kernel_size)
    step = _whole("stride", stride)
    dil = _whole("dilation", dilation)
    outputs = (width + step - 1) // step
    total = max((outputs - 1) * step + dil * (kernel - 1) + 1 - width, 0)
    return total // 2, total - total // 2


def padding_amounts(input_size: int, kernel_size: int, stride: int = 1,
                    padding: int | str = 0, dilation: int = 1) -> tuple[int, int]:
    """Resolve any padding form of one axis to the (before, after) zero counts."""
    if isinstance(padding, str):
        if padding not in PADDING_WORDS:
            raise ValueError(
                f'padding must be a non-negative integer, "valid", "same" or "full", '
                f"got {padding!r}"
            )
        if padding == "same":
            return keras_same_padding_amounts(input_size, kernel_size, stride, dilation)
        if padding == "valid":
            return 0, 0
        side = _whole("dilation", dilation) * (_whole("kernel_size", kernel_size) - 1)
        return side, side
    side = _whole("padding", padding, minimum=0)
    return side, side


def _window_positions(padded: int, span: int, step: int, argument: str, detail: str) -> int:
    if span > padded:
        raise ValueError(f"{argument} {detail} does not fit the padded input of size {padded}")
    return len(range(0, padded - span + 1, step))


def conv_output_size(input_size: int, kernel_size: int, stride: int = 1,
                     padding: int | str = 0, dilation: int = 1) -> int:
    """Number of positions of the dilated kernel on the padded axis."""
    width = _whole("input_size", input_size)
    kernel = _whole("kernel_size", kernel_size)
    step = _whole("stride", stride)
    dil = _whole("dilation", dilation)
    before, after = padding_amounts(width, kernel, step, padding, dil)
    span = dil * (kernel - 1) + 1
    return _window_positions(before + width + after, span, step, "kernel_size",
                             f"{kernel} (dilation {dil}, span {span})")


def pool_output_size(input_size: int, pool_size: int, stride: int | None = None,
                     padding: str = "valid") -> int:
    """Number of positions of the pooling window ("valid" or "same" only)."""
    width = _whole("input_size", input_size)
    window = _whole("pool_size", pool_size)
    step = window if stride is None else _whole("stride", stride)
    if not isinstance(padding, str) or padding not in POOL_PADDING_WORDS:
        raise ValueError(f'padding must be "valid" or "same" for pooling, got {padding!r}')
    before, after = padding_amounts(width, window, step, padding)
    return _window_positions(before + width + after, window, step, "pool_size", str(window))


def same_padding(kernel_size: int, dilation: int = 1) -> int:
    """Symmetric padding that keeps the size at stride 1: TF's "same" amounts, if equal."""
    kernel = _whole("kernel_size", kernel_size)
    dil = _whole("dilation", dilation)
    # At stride 1 "same" pads D*(F-1) in total whatever the input size; use a
    # large input so the amounts are never clipped at zero.
    before, after = keras_same_padding_amounts(dil * kernel + 1, kernel, 1, dil)
    if before != after:
        raise ValueError(
            f"kernel_size={kernel} with dilation={dil} has an even effective size "
            f"{dil * (kernel - 1) + 1}: 'same' would pad {before} before and {after} after"
        )
    return before


def conv_output_shape(input_shape: Sequence[int], filters: int, kernel_size: object,
                      stride: object = 1, padding: object = 0) -> tuple[int, int, int]:
    """(H', W', K) of a Conv2D with dilation 1 on one (H, W, C) image."""
    if not isinstance(input_shape, tuple | list) or len(input_shape) != 3:
        raise ValueError(f"input_shape must be a tuple (H, W, C), got {input_shape!r}")
    height, width, _channels = (_whole("input_shape", size) for size in input_shape)
    count = _whole("filters", filters)
    kernels = _two("kernel_size", kernel_size)
    strides = _two("stride", stride)
    pads = (padding, padding) if isinstance(padding, str) else _two("padding", padding)
    rows, cols = (
        conv_output_size(size, kernel, step, pad)
        for size, kernel, step, pad in zip((height, width), kernels, strides, pads, strict=True)
    )
    return rows, cols, count


def receptive_field(layers: Sequence[tuple[int, int]]) -> int:
    """Grow the region seen by one output unit backwards through the layers."""
    if not isinstance(layers, list | tuple):
        raise ValueError(f"layers must be a list of (kernel_size, stride) pairs, got {layers!r}")
    checked = []
    for index, layer in enumerate(layers):
        if not isinstance(layer, tuple | list) or len(layer) != 2:
            raise ValueError(f"layers[{index}] must be a pair (kernel_size, stride), got {layer!r}")
        checked.append((_whole(f"layers[{index}] kernel_size", layer[0]),
                        _whole(f"layers[{index}] stride", layer[1])))
    seen = 1
    for kernel, step in reversed(checked):
        seen = (seen - 1) * step + kernel
    return seen


def explain_conv_output_size(input_size: int, kernel_size: int, stride: int = 1,
                             padding: int | str = 0, dilation: int = 1) -> str:
    """The output-size rule with the numbers filled in, for a failure message."""
    result = conv_output_size(input_size, kernel_size, stride, padding, dilation)
    if padding == "same":
        return f"W' = ceil(W / S) = ceil({input_size} / {stride}) = {result}"
    pad = padding_amounts(input_size, kernel_size, stride, padding, dilation)[0]
    if dilation == 1:
        return (f"W' = floor((W + 2P - F) / S) + 1 = floor(({input_size} + {2 * pad} - "
                f"{kernel_size}) / {stride}) + 1 = {result}")
    return (f"W' = floor((W + 2P - D(F-1) - 1) / S) + 1 = floor(({input_size} + {2 * pad} - "
            f"{dilation * (kernel_size - 1)} - 1) / {stride}) + 1 = {result}")


def explain_pool_output_size(input_size: int, pool_size: int, stride: int | None = None,
                             padding: str = "valid") -> str:
    """The pooling output-size rule with the numbers filled in."""
    result = pool_output_size(input_size, pool_size, stride, padding)
    step = pool_size if stride is None else stride
    if padding == "same":
        return f"W' = ceil(W / S) = ceil({input_size} / {step}) = {result}"
    return (f"W' = floor((W - F) / S) + 1 = floor(({input_size} - {pool_size}) / {step}) + 1 "
            f"= {result}")


# ---------------------------------------------------------------- exercise 2


def _spatial(kernel_size: object, axes: int | None) -> Shape:
    """Kernel spatial shape: an int F means F along each of ``axes`` axes."""
    if isinstance(kernel_size, tuple | list):
        if axes is None and not 1 <= len(kernel_size) <= 3:
            raise ValueError(
                f"kernel_size must be a tuple of 1, 2 or 3 positive ints, got {kernel_size!r}")
        if axes is not None and len(kernel_size) != axes:
            raise ValueError(f"kernel_size must be an int or a pair (F_h, F_w), "
                             f"got {kernel_size!r}")
        return tuple(_whole("kernel_size", size) for size in kernel_size)
    if axes is None:
        raise ValueError(
            f"kernel_size must be a tuple of 1, 2 or 3 positive ints (one per spatial axis), "
            f"got {kernel_size!r}")
    return (_whole("kernel_size", kernel_size),) * axes


def _count(shapes: Sequence[Shape]) -> int:
    return sum(prod(shape) for shape in shapes)


def conv_weight_shapes(kernel_size: object, in_channels: int, filters: int,
                       use_bias: bool = True) -> list[Shape]:
    """Shapes of a ConvND layer's weights: kernel ``(*spatial, C_in, K)`` then bias ``(K,)``."""
    spatial = _spatial(kernel_size, 2 if not isinstance(kernel_size, tuple | list) else None)
    channels = _whole("in_channels", in_channels)
    count = _whole("filters", filters)
    shapes = [(*spatial, channels, count)]
    return shapes + [(count,)] if _bias_flag(use_bias) else shapes


def conv2d_params(kernel_size: object, in_channels: int, filters: int,
                  use_bias: bool = True) -> int:
    return _count(conv_weight_shapes(_spatial(kernel_size, 2), in_channels, filters, use_bias))


def conv_params(kernel_size: tuple[int, ...], in_channels: int, filters: int,
                use_bias: bool = True) -> int:
    spatial = _spatial(kernel_size, None)
    return _count(conv_weight_shapes(spatial, in_channels, filters, use_bias))


def dense_params(in_features: int, units: int, use_bias: bool = True) -> int:
    features = _whole("in_features", in_features)
    count = _whole("units", units)
    shapes = [(features, count)] + ([(count,)] if _bias_flag(use_bias) else [])
    return _count(shapes)


def batchnorm_weight_shapes(channels: int) -> tuple[list[Shape], list[Shape]]:
    """([gamma, beta], [moving_mean, moving_variance]) shapes."""
    count = _whole("channels", channels)
    return [(count,), (count,)], [(count,), (count,)]


def batchnorm_params(channels: int) -> tuple[int, int]:
    learned, fixed = batchnorm_weight_shapes(channels)
    return _count(learned), _count(fixed)


def depthwise_conv2d_params(kernel_size: object, in_channels: int, depth_multiplier: int = 1,
                            use_bias: bool = True) -> int:
    spatial = _spatial(kernel_size, 2)
    channels = _whole("in_channels", in_channels)
    multiplier = _whole("depth_multiplier", depth_multiplier)
    shapes = [(*spatial, channels, multiplier)]
    if _bias_flag(use_bias):
        shapes.append((channels * multiplier,))
    return _count(shapes)


def separable_conv2d_params(kernel_size: object, in_channels: int, filters: int,
                            depth_multiplier: int = 1, use_bias: bool = True) -> int:
    spatial = _spatial(kernel_size, 2)
    channels = _whole("in_channels", in_channels)
    count = _whole("filters", filters)
    multiplier = _whole("depth_multiplier", depth_multiplier)
    shapes = [(*spatial, channels, multiplier), (1, 1, channels * multiplier, count)]
    if _bias_flag(use_bias):
        shapes.append((count,))
    return _count(shapes)


# ---------------------------------------------------------------- model_summary


@dataclass(frozen=True)
class _Rule:
    """How one layer type maps (input shape, config) to (output shape, weights)."""

    apply: Callable[[Shape, dict, str], tuple[Shape, list[Shape], list[Shape]]]
    defaults: Mapping[str, object] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    image_input: bool = False


_COMMON_KEYS = {"name": None, "trainable": True}


def _padding_choice(value: object, where: str) -> str:
    if not isinstance(value, str) or value not in POOL_PADDING_WORDS:
        raise ValueError(f'{where}: padding must be "valid" or "same", got {value!r}')
    return value


def _pair_of(name: str, value: object) -> tuple[int, int]:
    first, second = _two(name, value)
    return _whole(name, first), _whole(name, second)


def _conv2d_rule(shape: Shape, cfg: dict, where: str) -> tuple[Shape, list[Shape], list[Shape]]:
    kernel = _pair_of("kernel_size", cfg["kernel_size"])
    strides = _pair_of("strides", cfg["strides"])
    dilation = _pair_of("dilation_rate", cfg["dilation_rate"])
    padding = _padding_choice(cfg["padding"], where)
    if any(s > 1 for s in strides) and any(d > 1 for d in dilation):
        raise ValueError(f"{where}: Keras does not support strides > 1 with dilation_rate > 1 "
                         f"(strides={strides}, dilation_rate={dilation})")
    sizes = tuple(conv_output_size(size, f, s, padding, d)
                  for size, f, s, d in zip(shape[:2], kernel, strides, dilation, strict=True))
    weights = conv_weight_shapes(kernel, shape[2], cfg["filters"], _bias_flag(cfg["use_bias"]))
    return (*sizes, weights[0][-1]), weights, []


def _pool2d_rule(shape: Shape, cfg: dict, where: str) -> tuple[Shape, list[Shape], list[Shape]]:
    pool = _pair_of("pool_size", cfg["pool_size"])
    strides = pool if cfg["strides"] is None else _pair_of("strides", cfg["strides"])
    padding = _padding_choice(cfg["padding"], where)
    sizes = tuple(pool_output_size(size, f, s, padding)
                  for size, f, s in zip(shape[:2], pool, strides, strict=True))
    return (*sizes, shape[2]), [], []


def _batchnorm_rule(shape: Shape, cfg: dict, where: str) -> tuple[Shape, list[Shape], list[Shape]]:
    learned, fixed = batchnorm_weight_shapes(shape[-1])
    return shape, learned, fixed


def _dropout_rule(shape: Shape, cfg: dict, where: str) -> tuple[Shape, list[Shape], list[Shape]]:
    rate = cfg["rate"]
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise ValueError(f"{where}: rate must be a number in [0, 1], got {rate!r}")
    return shape, [], []


def _flatten_rule(shape: Shape, cfg: dict, where: str) -> tuple[Shape, list[Shape], list[Shape]]:
    return (prod(shape),), [], []


def _dense_rule(shape: Shape, cfg: dict, where: str) -> tuple[Shape, list[Shape], list[Shape]]:
    units = _whole("units", cfg["units"])
    weights = [(shape[-1], units)] + ([(units,)] if _bias_flag(cfg["use_bias"]) else [])
    return (*shape[:-1], units), weights, []


def _same_shape_rule(shape: Shape, cfg: dict, where: str) -> tuple[Shape, list[Shape], list[Shape]]:
    return shape, [], []


def _global_pool_rule(shape: Shape, cfg: dict,
                      where: str) -> tuple[Shape, list[Shape], list[Shape]]:
    return (shape[-1],), [], []


_POOL_DEFAULTS = {"pool_size": 2, "strides": None, "padding": "valid"}

LAYER_RULES: dict[str, _Rule] = {
    "Conv2D": _Rule(_conv2d_rule, {"strides": 1, "padding": "valid", "dilation_rate": 1,
                                   "use_bias": True, "activation": None},
                    ("filters", "kernel_size"), image_input=True),
    "MaxPooling2D": _Rule(_pool2d_rule, _POOL_DEFAULTS, image_input=True),
    "AveragePooling2D": _Rule(_pool2d_rule, _POOL_DEFAULTS, image_input=True),
    "BatchNormalization": _Rule(_batchnorm_rule),
    "Dropout": _Rule(_dropout_rule, required=("rate",)),
    "Flatten": _Rule(_flatten_rule),
    "Dense": _Rule(_dense_rule, {"use_bias": True, "activation": None}, ("units",)),
    "Activation": _Rule(_same_shape_rule, required=("activation",)),
    "GlobalAveragePooling2D": _Rule(_global_pool_rule, image_input=True),
    "GlobalMaxPooling2D": _Rule(_global_pool_rule, image_input=True),
}
"""Every layer type ``model_summary`` knows, with its Keras defaults and required keys."""


def _layer_config(spec: object, where: str) -> tuple[str, _Rule, dict]:
    if not isinstance(spec, dict) or "type" not in spec:
        raise ValueError(f'{where} must be a dict with a "type" key, got {spec!r}')
    kind = spec["type"]
    rule = LAYER_RULES.get(kind) if isinstance(kind, str) else None
    if rule is None:
        raise ValueError(f'{where}: unknown layer "type" {kind!r}; '
                         f"known types: {', '.join(LAYER_RULES)}")
    allowed = {"type", *_COMMON_KEYS, *rule.defaults, *rule.required}
    unknown = sorted(str(key) for key in spec if key not in allowed)
    if unknown:
        raise ValueError(f"{where}: {kind} takes no key {unknown[0]!r}")
    missing = [key for key in rule.required if key not in spec]
    if missing:
        raise ValueError(f"{where}: {kind} needs the key {missing[0]!r}")
    cfg = {**_COMMON_KEYS, **rule.defaults, **spec}
    activation = cfg.get("activation")
    if activation is not None and not isinstance(activation, str):
        raise ValueError(f"{where}: activation must be a name such as 'relu', got {activation!r}")
    if cfg["trainable"] is not True and cfg["trainable"] is not False:
        raise ValueError(f"{where}: trainable must be True or False, got {cfg['trainable']!r}")
    return kind, rule, cfg


def model_summary(input_shape: Sequence[int], layers: Sequence[dict]) -> dict:
    """Per-layer output shapes and params, and the totals, of ``keras.Model.summary()``."""
    if not isinstance(input_shape, tuple | list) or not input_shape:
        raise ValueError(f"input_shape must be a non-empty tuple of positive ints, "
                         f"got {input_shape!r}")
    shape: Shape = tuple(_whole("input_shape", size) for size in input_shape)
    if not isinstance(layers, list | tuple):
        raise ValueError(f"layers must be a list of dicts, got {layers!r}")
    rows: list[dict] = []
    totals = {"trainable": 0, "non_trainable": 0}
    for index, spec in enumerate(layers):
        where = f"layers[{index}]"
        kind, rule, cfg = _layer_config(spec, where)
        if rule.image_input and len(shape) != 3:
            raise ValueError(f"{where}: {kind} needs an (H, W, C) input, got shape {shape}")
        shape, learned, fixed = rule.apply(shape, cfg, where)
        if not cfg["trainable"]:
            learned, fixed = [], learned + fixed
        totals["trainable"] += _count(learned)
        totals["non_trainable"] += _count(fixed)
        rows.append({"type": kind, "output_shape": shape, "params": _count(learned + fixed)})
    return {"layers": rows, "total": totals["trainable"] + totals["non_trainable"], **totals}
