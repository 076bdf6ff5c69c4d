"""grader/reference/formulas.py equals Keras/TensorFlow; the reference solutions equal it.

What TensorFlow 2.21 / Keras 3.15 do, found while writing these tests:

- Stride > 1 together with dilation > 1: the raw op ``tf.nn.conv2d(..., dilations=D)``
  computes it on CPU (explicit, "VALID" and "SAME" padding), and its output equals the
  stride-1 dilated convolution kept every S-th position (checked below on values).
  ``keras.layers.Conv2D`` and ``tf.nn.convolution`` refuse it ("`strides > 1` not
  supported in conjunction with `dilation_rate > 1`"), also when the two are on
  different axes (strides=(2, 1), dilation_rate=(1, 2)). So output sizes with both
  are compared with ``tf.nn.conv2d``, and with Keras only where Keras accepts them.
- "SAME" pads ``max((ceil(W/S) - 1)*S + D*(F-1) + 1 - W, 0)`` in total, the odd zero
  after (bottom/right), dilation included: ``tf.nn.conv2d(..., "SAME")`` equals explicit
  padding by ``keras_same_padding_amounts`` on values, not only on shapes.
- A kernel or window that does not fit the padded input: Keras raises ValueError
  ("Computed output size would be zero or negative"), as the formulas do. The raw
  oneDNN CPU ops (on by default) must not be fed those cases: when the output size
  would be exactly 0, ``tf.nn.conv2d`` returns a tensor of the INPUT's shape (wrong) and
  ``tf.nn.max_pool2d`` kills the process with SIGFPE; below 0 they raise
  InvalidArgumentError. So invalid cases are compared with Keras layers only.
- Keras accepts ``Dropout(rate)`` for 0 <= rate <= 1 (1 included) and ``Activation(None)``.
"""

from __future__ import annotations

import ast
import importlib.util
import os
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from grader.reference import formulas as ref
from grader.reference import lecture_models

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
np = pytest.importorskip("numpy")
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

pytestmark = pytest.mark.tensorflow

ROOT = Path(__file__).resolve().parents[1]

# Checked for every example (derandomized: the same examples on every run).
SEARCH = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                           HealthCheck.data_too_large],
)



def search(max_examples: int) -> settings:
    return settings(SEARCH, max_examples=max_examples)


# How many generated cases were compared with Keras/TensorFlow, per test.
COMPARED: Counter[str] = Counter()


def _compared(test: str, cases: int = 1) -> None:
    COMPARED[test] += cases


def _load_solution(name: str):
    path = ROOT / "solutions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"reference_solution_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sol1 = _load_solution("exercise1")
sol2 = _load_solution("exercise2")


def _outcome(function, *args, **kwargs):
    """The value, or the exception type: the same outcome means the same contract."""
    try:
        return ("value", function(*args, **kwargs))
    except ValueError:
        return ("ValueError", None)


def _same_everywhere(name: str, *args, **kwargs):
    """Call ``name`` in the reference and in the solution; they must agree. Returns the value."""
    solution = sol1 if hasattr(sol1, name) else sol2
    expected = _outcome(getattr(ref, name), *args, **kwargs)
    received = _outcome(getattr(solution, name), *args, **kwargs)
    assert received == expected, (name, args, kwargs)
    if expected[0] == "value":
        value = expected[1]
        ints = value if isinstance(value, tuple) else (value,)
        assert all(type(v) is int for v in ints) or isinstance(value, dict), value
    return expected[1]


def _explicit(padding, kernel: int, dilation: int) -> list[int]:
    """TF explicit padding (before, after) of one axis for an int or "valid"/"full"."""
    if padding == "valid":
        return [0, 0]
    if padding == "full":
        return [dilation * (kernel - 1)] * 2
    return [padding, padding]


# ---------------------------------------------------------------- strategies


@st.composite
def conv_axes(draw, padding_forms=("int", "valid", "same", "full"), max_dilation=4,
              max_stride=5):
    """One axis of a convolution where the dilated kernel fits the padded input."""
    kernel = draw(st.integers(1, 7))
    dilation = draw(st.integers(1, max_dilation))
    stride = draw(st.integers(1, max_stride))
    form = draw(st.sampled_from(padding_forms))
    padding = draw(st.integers(0, 4)) if form == "int" else form
    span = dilation * (kernel - 1) + 1
    pad = 0 if form == "same" else _explicit(padding, kernel, dilation)[0]
    smallest = 1 if form == "same" else max(1, span - 2 * pad)
    size = draw(st.integers(smallest, smallest + 40))
    return {"input_size": size, "kernel_size": kernel, "stride": stride, "padding": padding,
            "dilation": dilation}


def _tf_conv_rows_cols(rows: dict, cols: dict, padding) -> tuple[int, int]:
    x = tf.zeros((1, rows["input_size"], cols["input_size"], 1))
    w = tf.zeros((rows["kernel_size"], cols["kernel_size"], 1, 1))
    y = tf.nn.conv2d(x, w, strides=[1, rows["stride"], cols["stride"], 1], padding=padding,
                     dilations=[1, rows["dilation"], cols["dilation"], 1])
    return int(y.shape[1]), int(y.shape[2])


# ---------------------------------------------------------------- exercise 1 vs TensorFlow


@search(500)
@given(mode=st.sampled_from(["explicit", "VALID", "SAME"]), data=st.data())
def test_conv_output_size_equals_tf_nn_conv2d(mode, data):
    forms = {"explicit": ("int", "full", "valid"), "VALID": ("valid",), "SAME": ("same",)}[mode]
    rows, cols = data.draw(conv_axes(forms)), data.draw(conv_axes(forms))
    if mode == "explicit":
        padding = [[0, 0], _explicit(rows["padding"], rows["kernel_size"], rows["dilation"]),
                   _explicit(cols["padding"], cols["kernel_size"], cols["dilation"]), [0, 0]]
    else:
        padding = mode
    assert _tf_conv_rows_cols(rows, cols, padding) == (
        _same_everywhere("conv_output_size", **rows),
        _same_everywhere("conv_output_size", **cols),
    )
    _compared("conv_output_size vs tf.nn.conv2d")


@search(400)
@given(padding=st.sampled_from(["valid", "same"]), dilated=st.booleans(), data=st.data())
def test_conv_output_size_equals_keras_conv2d(padding, dilated, data):
    # Keras refuses stride > 1 with dilation > 1: draw one or the other.
    limits = {"max_dilation": 4, "max_stride": 1} if dilated else {"max_dilation": 1,
                                                                   "max_stride": 5}
    rows, cols = (data.draw(conv_axes((padding,), **limits)) for _ in range(2))
    layer = keras.layers.Conv2D(
        1, (rows["kernel_size"], cols["kernel_size"]), strides=(rows["stride"], cols["stride"]),
        padding=padding, dilation_rate=(rows["dilation"], cols["dilation"]))
    shape = layer.compute_output_shape((None, rows["input_size"], cols["input_size"], 3))
    assert shape[1:3] == (_same_everywhere("conv_output_size", **rows),
                          _same_everywhere("conv_output_size", **cols))
    _compared("conv_output_size vs keras Conv2D")


@search(150)
@given(size=st.integers(1, 12), kernel=st.integers(1, 8), dilation=st.integers(1, 3),
       stride=st.integers(1, 3), pool=st.booleans())
def test_too_large_kernels_are_refused_like_keras(size, kernel, dilation, stride, pool):
    span = (kernel - 1) + 1 if pool else dilation * (kernel - 1) + 1
    assume(span > size)
    if pool:
        layer = keras.layers.MaxPooling2D(kernel, strides=stride)
        outcome = _same_everywhere("pool_output_size", size, kernel, stride, "valid")
    else:
        layer = keras.layers.Conv2D(1, kernel, dilation_rate=dilation)
        outcome = _same_everywhere("conv_output_size", size, kernel, 1, "valid", dilation)
    with pytest.raises(ValueError):
        layer.compute_output_shape((None, size, size, 1))
    assert outcome is None  # the formulas raised ValueError too
    _compared("too-large kernels vs keras")


@st.composite
def pool_axes(draw, padding):
    pool = draw(st.integers(1, 6))
    stride = draw(st.one_of(st.none(), st.integers(1, 6)))
    smallest = 1 if padding == "same" else pool
    size = draw(st.integers(smallest, smallest + 40))
    return {"input_size": size, "pool_size": pool, "stride": stride, "padding": padding}


@search(300)
@given(padding=st.sampled_from(["valid", "same"]), average=st.booleans(), data=st.data())
def test_pool_output_size_equals_keras_and_tf(padding, average, data):
    rows, cols = data.draw(pool_axes(padding)), data.draw(pool_axes(padding))
    pool = (rows["pool_size"], cols["pool_size"])
    strides = None if rows["stride"] is None and cols["stride"] is None else (
        rows["stride"] or rows["pool_size"], cols["stride"] or cols["pool_size"])
    if strides is not None:
        rows, cols = {**rows, "stride": strides[0]}, {**cols, "stride": strides[1]}
    expected = (_same_everywhere("pool_output_size", **rows),
                _same_everywhere("pool_output_size", **cols))
    layer = (keras.layers.AveragePooling2D if average else keras.layers.MaxPooling2D)(
        pool, strides=strides, padding=padding)
    assert layer.compute_output_shape(
        (None, rows["input_size"], cols["input_size"], 2))[1:3] == expected
    x = tf.zeros((1, rows["input_size"], cols["input_size"], 1))
    y = tf.nn.max_pool2d(x, pool, strides or pool, padding.upper())
    assert tuple(y.shape[1:3]) == expected
    _compared("pool_output_size vs keras pooling and tf.nn.max_pool2d")


@search(250)
@given(height=st.integers(1, 30), width=st.integers(1, 30), channels=st.integers(1, 3),
       filters=st.integers(1, 4), kernel=st.one_of(st.integers(1, 5), st.tuples(
           st.integers(1, 5), st.integers(1, 5))),
       stride=st.one_of(st.integers(1, 4), st.tuples(st.integers(1, 4), st.integers(1, 4))),
       padding=st.one_of(st.sampled_from(["valid", "same", "full"]), st.integers(0, 3),
                         st.tuples(st.integers(0, 3), st.integers(0, 3))))
def test_conv_output_shape_equals_tf_and_keras(height, width, channels, filters, kernel, stride,
                                               padding):
    kernel_hw = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    stride_hw = stride if isinstance(stride, tuple) else (stride, stride)
    pad_hw = padding if isinstance(padding, tuple) else (padding, padding)
    if padding != "same":
        pads = [_explicit(p, f, 1) for p, f in zip(pad_hw, kernel_hw, strict=True)]
        assume(height + sum(pads[0]) >= kernel_hw[0] and width + sum(pads[1]) >= kernel_hw[1])
    shape = _same_everywhere("conv_output_shape", (height, width, channels), filters, kernel,
                             stride, padding)
    tf_padding = "SAME" if padding == "same" else [[0, 0], *pads, [0, 0]]
    y = tf.nn.conv2d(tf.zeros((1, height, width, channels)),
                     tf.zeros((*kernel_hw, channels, filters)), [1, *stride_hw, 1], tf_padding)
    assert tuple(y.shape[1:]) == shape
    if padding in ("valid", "same"):
        layer = keras.layers.Conv2D(filters, kernel, strides=stride, padding=padding)
        assert layer.compute_output_shape((None, height, width, channels))[1:] == shape
    _compared("conv_output_shape vs tf.nn.conv2d / keras Conv2D")


@search(150)
@given(size=st.integers(1, 20), kernel=st.integers(1, 8), dilation=st.integers(1, 3),
       seed=st.integers(0, 2**16))
def test_same_padding_equals_tf_same_at_stride_1(size, kernel, dilation, seed):
    rng = np.random.default_rng(seed)
    x = tf.constant(rng.standard_normal((1, size, 1, 1)))
    w = tf.constant(rng.standard_normal((kernel, 1, 1, 1)))
    same = tf.nn.conv2d(x, w, 1, "SAME", dilations=[1, dilation, 1, 1])
    pad = _same_everywhere("same_padding", kernel, dilation)
    if dilation * (kernel - 1) % 2:
        assert pad is None  # ValueError: TF's "same" is asymmetric here
        before, after = ref.keras_same_padding_amounts(size, kernel, 1, dilation)
        assert after == before + 1
    else:
        explicit = tf.nn.conv2d(x, w, 1, [[0, 0], [pad, pad], [0, 0], [0, 0]],
                                dilations=[1, dilation, 1, 1])
        assert explicit.shape == same.shape == x.shape
        np.testing.assert_allclose(explicit.numpy(), same.numpy(), rtol=1e-12, atol=1e-12)
    _compared("same_padding vs tf SAME")


@search(150)
@given(rows=conv_axes(("same",), max_dilation=3, max_stride=4),
       cols=conv_axes(("same",), max_dilation=3, max_stride=4), seed=st.integers(0, 2**16))
def test_keras_same_padding_amounts_equal_tf_same_on_values(rows, cols, seed):
    rng = np.random.default_rng(seed)
    x = tf.constant(rng.standard_normal((1, rows["input_size"], cols["input_size"], 2)))
    w = tf.constant(rng.standard_normal((rows["kernel_size"], cols["kernel_size"], 2, 2)))
    strides = [1, rows["stride"], cols["stride"], 1]
    dilations = [1, rows["dilation"], cols["dilation"], 1]
    pads = [list(ref.keras_same_padding_amounts(a["input_size"], a["kernel_size"], a["stride"],
                                                a["dilation"])) for a in (rows, cols)]
    same = tf.nn.conv2d(x, w, strides, "SAME", dilations=dilations)
    explicit = tf.nn.conv2d(x, w, strides, [[0, 0], *pads, [0, 0]], dilations=dilations)
    np.testing.assert_allclose(explicit.numpy(), same.numpy(), rtol=1e-12, atol=1e-12)
    assert same.shape[1:3] == (ref.conv_output_size(**rows), ref.conv_output_size(**cols))
    _compared("keras_same_padding_amounts vs tf SAME values")


@search(60)
@given(rows=conv_axes(("int", "full", "valid")), cols=conv_axes(("int", "full", "valid")),
       seed=st.integers(0, 2**16))
def test_tf_strided_dilated_conv_is_the_dilated_conv_subsampled(rows, cols, seed):
    rng = np.random.default_rng(seed)
    x = tf.constant(rng.standard_normal((1, rows["input_size"], cols["input_size"], 1)))
    w = tf.constant(rng.standard_normal((rows["kernel_size"], cols["kernel_size"], 1, 1)))
    padding = [[0, 0], _explicit(rows["padding"], rows["kernel_size"], rows["dilation"]),
               _explicit(cols["padding"], cols["kernel_size"], cols["dilation"]), [0, 0]]
    dilations = [1, rows["dilation"], cols["dilation"], 1]
    strided = tf.nn.conv2d(x, w, [1, rows["stride"], cols["stride"], 1], padding,
                           dilations=dilations)
    dense = tf.nn.conv2d(x, w, 1, padding, dilations=dilations)
    subsampled = dense[:, :: rows["stride"], :: cols["stride"], :]
    np.testing.assert_allclose(strided.numpy(), subsampled.numpy(), rtol=1e-12, atol=1e-12)
    assert strided.shape[1:3] == (ref.conv_output_size(**rows), ref.conv_output_size(**cols))
    _compared("strided dilated tf.nn.conv2d values")


@search(150)
@given(layers=st.lists(st.tuples(st.integers(1, 5), st.integers(1, 3)), max_size=5))
def test_receptive_field_equals_the_gradient_footprint_in_tf(layers):
    # Ones kernels, no padding: d(output unit 0)/d(input) is nonzero from input 0 to r - 1.
    # (Not on every cell in between: a stride larger than the next kernel leaves holes, as
    # for [(1, 2), (2, 1)], which sees inputs 0 and 2; the field is the region's side, 3.)
    length = 1
    for kernel, stride in reversed(layers):
        length = length * stride + kernel  # generous: never shorter than the field
    x = tf.Variable(tf.ones((1, length, 1, 1), tf.float64))
    with tf.GradientTape() as tape:
        y = x
        for kernel, stride in layers:
            y = tf.nn.conv2d(y, tf.ones((kernel, 1, 1, 1), tf.float64), [1, stride, 1, 1],
                             "VALID")
        unit = y[0, 0, 0, 0]
    touched = np.flatnonzero(tape.gradient(unit, x).numpy())
    footprint = int(touched[-1] - touched[0] + 1)
    assert touched[0] == 0
    assert _same_everywhere("receptive_field", list(layers)) == footprint
    _compared("receptive_field vs tf gradient")


# ---------------------------------------------------------------- exercise 2 vs Keras


def _weights_size(weights) -> int:
    return sum(int(np.prod(w.shape)) for w in weights)


kernel_sizes = st.one_of(st.integers(1, 6), st.tuples(st.integers(1, 6), st.integers(1, 6)))
channels = st.integers(1, 12)


@search(150)
@given(kernel=st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple),
       in_channels=channels, filters=channels, use_bias=st.booleans())
def test_conv_params_equals_keras_conv1d_2d_3d(kernel, in_channels, filters, use_bias):
    layer_class = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)[len(kernel) - 1]
    layer = layer_class(filters, kernel, use_bias=use_bias)
    layer.build((None,) * (len(kernel) + 1) + (in_channels,))
    assert _same_everywhere("conv_params", kernel, in_channels, filters, use_bias) == (
        layer.count_params())
    _compared("conv_params vs keras ConvND")


@search(100)
@given(kernel=kernel_sizes, in_channels=channels, filters=channels, use_bias=st.booleans())
def test_conv2d_params_equals_keras(kernel, in_channels, filters, use_bias):
    layer = keras.layers.Conv2D(filters, kernel, use_bias=use_bias)
    layer.build((None, None, None, in_channels))
    assert _same_everywhere("conv2d_params", kernel, in_channels, filters, use_bias) == (
        layer.count_params())
    _compared("conv2d_params vs keras Conv2D")


@search(100)
@given(in_features=st.integers(1, 300), units=st.integers(1, 64), use_bias=st.booleans())
def test_dense_params_equals_keras(in_features, units, use_bias):
    layer = keras.layers.Dense(units, use_bias=use_bias)
    layer.build((None, in_features))
    assert _same_everywhere("dense_params", in_features, units, use_bias) == layer.count_params()
    _compared("dense_params vs keras Dense")


@search(60)
@given(count=st.integers(1, 512), rank=st.integers(1, 3))
def test_batchnorm_params_equals_keras(count, rank):
    layer = keras.layers.BatchNormalization()
    layer.build((None,) + (5,) * (rank - 1) + (count,))
    assert _same_everywhere("batchnorm_params", count) == (
        _weights_size(layer.trainable_weights), _weights_size(layer.non_trainable_weights))
    _compared("batchnorm_params vs keras BatchNormalization")


@search(100)
@given(kernel=kernel_sizes, in_channels=channels, multiplier=st.integers(1, 4),
       use_bias=st.booleans())
def test_depthwise_conv2d_params_equals_keras(kernel, in_channels, multiplier, use_bias):
    layer = keras.layers.DepthwiseConv2D(kernel, depth_multiplier=multiplier, use_bias=use_bias)
    layer.build((None, None, None, in_channels))
    assert _same_everywhere("depthwise_conv2d_params", kernel, in_channels, multiplier,
                            use_bias) == layer.count_params()
    _compared("depthwise_conv2d_params vs keras DepthwiseConv2D")


@search(100)
@given(kernel=kernel_sizes, in_channels=channels, filters=channels, multiplier=st.integers(1, 4),
       use_bias=st.booleans())
def test_separable_conv2d_params_equals_keras(kernel, in_channels, filters, multiplier,
                                              use_bias):
    layer = keras.layers.SeparableConv2D(filters, kernel, depth_multiplier=multiplier,
                                         use_bias=use_bias)
    layer.build((None, None, None, in_channels))
    assert _same_everywhere("separable_conv2d_params", kernel, in_channels, filters, multiplier,
                            use_bias) == layer.count_params()
    _compared("separable_conv2d_params vs keras SeparableConv2D")


# ---------------------------------------------------------------- model_summary vs Keras


def _maybe(draw, spec: dict, key: str, value, default) -> None:
    """Write ``key`` sometimes (always when it differs from the Keras default)."""
    if value != default or draw(st.booleans()):
        spec[key] = value


@st.composite
def layer_specs(draw, shape: tuple[int, ...], index: int) -> dict:
    image = len(shape) == 3
    kinds = ["Dense", "BatchNormalization", "Dropout", "Activation", "Flatten"]
    if image:
        kinds += ["Conv2D"] * 4 + ["MaxPooling2D", "AveragePooling2D"] * 2 + [
            "GlobalAveragePooling2D", "GlobalMaxPooling2D"]
    kind = draw(st.sampled_from(kinds))
    spec: dict = {"type": kind}
    pair = st.tuples(st.integers(1, 4), st.integers(1, 4))
    if kind == "Conv2D":
        spec["filters"] = draw(st.integers(1, 6))
        spec["kernel_size"] = kernel = draw(st.one_of(st.integers(1, 5), pair))
        kernel_hw = kernel if isinstance(kernel, tuple) else (kernel, kernel)
        if draw(st.booleans()):
            strides = draw(st.one_of(st.integers(1, 3), pair))
            _maybe(draw, spec, "strides", strides, 1)
            dilation = (1, 1)
        else:
            dilation = draw(st.one_of(st.integers(1, 3), pair))
            _maybe(draw, spec, "dilation_rate", dilation, 1)
            dilation = dilation if isinstance(dilation, tuple) else (dilation, dilation)
        fits = all(d * (f - 1) + 1 <= size
                   for d, f, size in zip(dilation, kernel_hw, shape, strict=False))
        padding = draw(st.sampled_from(["valid", "same"])) if fits else "same"
        _maybe(draw, spec, "padding", padding, "valid")
        _maybe(draw, spec, "use_bias", draw(st.booleans()), True)
        _maybe(draw, spec, "activation", draw(st.sampled_from([None, "relu", "tanh"])), None)
    elif kind in ("MaxPooling2D", "AveragePooling2D"):
        pool = draw(st.one_of(st.integers(1, 4), pair))
        _maybe(draw, spec, "pool_size", pool, 2)
        _maybe(draw, spec, "strides", draw(st.one_of(st.none(), st.integers(1, 3), pair)), None)
        pool_hw = pool if isinstance(pool, tuple) else (pool, pool)
        fits = all(f <= size for f, size in zip(pool_hw, shape, strict=False))
        padding = draw(st.sampled_from(["valid", "same"])) if fits else "same"
        _maybe(draw, spec, "padding", padding, "valid")
    elif kind == "Dense":
        spec["units"] = draw(st.integers(1, 8))
        _maybe(draw, spec, "use_bias", draw(st.booleans()), True)
        _maybe(draw, spec, "activation", draw(st.sampled_from([None, "relu", "softmax"])), None)
    elif kind == "Dropout":
        spec["rate"] = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
    elif kind == "Activation":
        spec["activation"] = draw(st.sampled_from(["relu", "elu", "softmax", "sigmoid", None]))
    if draw(st.integers(0, 5)) == 0:
        spec["trainable"] = False
    if draw(st.integers(0, 5)) == 0:
        spec["name"] = f"layer_{index}"
    return spec


@st.composite
def sequential_specs(draw, max_layers: int = 6) -> tuple[tuple[int, ...], list[dict]]:
    if draw(st.integers(0, 4)):
        input_shape = (draw(st.integers(1, 20)), draw(st.integers(1, 20)), draw(st.integers(1, 4)))
    else:
        input_shape = tuple(draw(st.lists(st.integers(1, 12), min_size=1, max_size=2)))
    layers: list[dict] = []
    shape = input_shape
    for index in range(draw(st.integers(1, max_layers))):
        layers.append(draw(layer_specs(shape, index)))
        shape = ref.model_summary(input_shape, layers)["layers"][-1]["output_shape"]
    return input_shape, layers


def _keras_sequential(input_shape, layers):
    built = []
    for spec in layers:
        kwargs = {key: value for key, value in spec.items() if key != "type"}
        built.append(getattr(keras.layers, spec["type"])(**kwargs))
    return keras.Sequential([keras.Input(shape=input_shape), *built])


def _keras_summary(model) -> dict:
    rows = [{"type": type(layer).__name__, "output_shape": tuple(layer.output.shape[1:]),
             "params": layer.count_params()} for layer in model.layers]
    trainable = _weights_size(model.trainable_weights)
    non_trainable = _weights_size(model.non_trainable_weights)
    assert trainable + non_trainable == model.count_params()
    return {"layers": rows, "total": model.count_params(), "trainable": trainable,
            "non_trainable": non_trainable}


@search(150)
@given(case=sequential_specs())
def test_model_summary_equals_keras_sequential(case):
    input_shape, layers = case
    frozen = [dict(spec) for spec in layers]
    expected = _keras_summary(_keras_sequential(input_shape, layers))
    assert _same_everywhere("model_summary", input_shape, layers) == expected
    assert layers == frozen  # inputs are not modified
    _compared("model_summary vs keras.Sequential")


@st.composite
def refused_models(draw):
    """A last layer that Keras refuses, after a valid start."""
    size = draw(st.integers(1, 6))
    image = (size, size, draw(st.integers(1, 3)))
    flaw = draw(st.sampled_from(["conv too large", "strides and dilation", "pool too large",
                                 "conv on a vector", "pool on a vector", "global on a vector",
                                 "dropout rate"]))
    big = draw(st.integers(size + 1, size + 4))
    last, input_shape = {
        "conv too large": ({"type": "Conv2D", "filters": 2, "kernel_size": big}, image),
        "strides and dilation": ({"type": "Conv2D", "filters": 2, "kernel_size": 1,
                                  "strides": (draw(st.integers(2, 3)), 1),
                                  "dilation_rate": (1, draw(st.integers(2, 3))),
                                  "padding": "same"}, image),
        "pool too large": ({"type": draw(st.sampled_from(["MaxPooling2D", "AveragePooling2D"])),
                            "pool_size": big}, image),
        "conv on a vector": ({"type": "Conv2D", "filters": 1, "kernel_size": 1}, (size,)),
        "pool on a vector": ({"type": "MaxPooling2D", "pool_size": 1}, (size, size)),
        "global on a vector": ({"type": "GlobalMaxPooling2D"}, (size,)),
        "dropout rate": ({"type": "Dropout", "rate": draw(st.sampled_from([-0.5, 1.5]))}, image),
    }[flaw]
    start = [{"type": "Activation", "activation": "relu"}] if draw(st.booleans()) else []
    return input_shape, [*start, last]


@search(60)
@given(case=refused_models())
def test_model_summary_refuses_what_keras_refuses(case):
    input_shape, layers = case
    with pytest.raises(ValueError):
        _keras_sequential(input_shape, layers)
    assert _same_everywhere("model_summary", input_shape, layers) is None
    _compared("refused models vs keras")


# ---------------------------------------------------------------- the lectures' worked numbers


WORKED = lecture_models.WORKED_OUTPUT_SIZES + lecture_models.WORKED_PARAMS


@pytest.mark.parametrize("worked", WORKED, ids=lambda worked: worked.lecture)
def test_worked_numbers_hold_for_reference_and_solution(worked):
    assert _same_everywhere(worked.function, **worked.kwargs) == worked.expected


def test_worked_output_sizes_hold_in_tf():
    for worked in lecture_models.WORKED_OUTPUT_SIZES:
        args = dict(worked.kwargs)
        x = tf.zeros((1, args["input_size"], args["input_size"], 1))
        if worked.function == "pool_output_size":
            y = tf.nn.max_pool2d(x, args["pool_size"], args["stride"], "VALID")
        else:
            w = tf.zeros((args["kernel_size"], args["kernel_size"], 1, 1))
            y = tf.nn.conv2d(x, w, args["stride"], [[0, 0], *[[args.get("padding", 0)] * 2] * 2,
                                                    [0, 0]])
        assert tuple(y.shape[1:3]) == (worked.expected,) * 2, worked.lecture


@pytest.mark.parametrize("model", lecture_models.LECTURE_MODELS, ids=lambda model: model.name)
def test_lecture_models_hold_for_reference_solution_and_keras(model):
    summary = _same_everywhere("model_summary", model.input_shape, model.layer_specs())
    assert (summary["total"], summary["trainable"], summary["non_trainable"]) == (
        model.total, model.trainable, model.non_trainable)
    assert summary["layers"][-1]["output_shape"] == model.output_shape
    if model.weighted_layer_params:
        weighted = tuple(row["params"] for row in summary["layers"] if row["params"])
        assert weighted == model.weighted_layer_params
    assert _keras_summary(_keras_sequential(model.input_shape, model.layer_specs())) == summary
    _compared("lecture models vs keras")


def test_vgg16_conv_base_equals_keras_applications():
    vgg = keras.applications.VGG16(weights=None, include_top=False, input_shape=(180, 180, 3))
    assert vgg.count_params() == lecture_models.VGG16_CONV_BASE_SPEC.total
    assert tuple(vgg.output.shape[1:]) == lecture_models.VGG16_CONV_BASE_SPEC.output_shape
    _compared("lecture models vs keras")


# ---------------------------------------------------------------- solution == reference, no Keras


def test_conv_and_pool_sizes_agree_on_a_grid_including_invalid_arguments():
    paddings = [0, 1, 2, 3, "valid", "same", "full", -1, "SAME", "causal", None, 1.0, (1, 1)]
    for size in range(0, 15):
        for kernel in range(0, 7):
            for stride in (0, 1, 2, 3, 5):
                for dilation in (1, 2, 3):
                    for padding in paddings:
                        _same_everywhere("conv_output_size", size, kernel, stride, padding,
                                         dilation)
                for padding in ("valid", "same", 0, "full"):
                    _same_everywhere("pool_output_size", size, kernel, stride, padding)
                _same_everywhere("pool_output_size", size, kernel, None)
        for dilation in range(0, 5):
            _same_everywhere("same_padding", size, dilation)


@search(200)
@given(case=sequential_specs(max_layers=8))
def test_model_summary_solution_equals_reference_on_more_specs(case):
    _same_everywhere("model_summary", *case)


@search(300)
@given(layers=st.lists(st.tuples(st.integers(-1, 7), st.integers(-1, 4)), max_size=6))
def test_receptive_field_solution_equals_reference(layers):
    _same_everywhere("receptive_field", layers)


PARAM_CALLS = [
    ("conv2d_params", (3, 32, 64)), ("conv2d_params", ((3, 5), 2, 4, False)),
    ("conv_params", ((3,), 2, 4)), ("conv_params", ((3, 3, 3), 1, 8)),
    ("dense_params", (784, 300)), ("dense_params", (10, 1, False)),
    ("batchnorm_params", (7,)), ("depthwise_conv2d_params", ((3, 2), 5, 3)),
    ("separable_conv2d_params", (3, 32, 64)), ("separable_conv2d_params", (3, 4, 5, 2, False)),
]


@pytest.mark.parametrize(("name", "args"), PARAM_CALLS)
def test_param_counts_agree(name, args):
    assert _same_everywhere(name, *args) is not None


# ---------------------------------------------------------------- invalid arguments


INVALID = [
    ("conv_output_size", (0, 3), {}, "input_size"),
    ("conv_output_size", (7, 0), {}, "kernel_size"),
    ("conv_output_size", (7, 3), {"stride": 0}, "stride"),
    ("conv_output_size", (7, 3), {"stride": -2}, "stride"),
    ("conv_output_size", (7, 3), {"padding": -1}, "padding"),
    ("conv_output_size", (7, 3), {"padding": "causal"}, "padding"),
    ("conv_output_size", (7, 3), {"dilation": 0}, "dilation"),
    ("conv_output_size", (2, 5), {}, "kernel_size"),
    ("conv_output_size", (5, 3), {"dilation": 3}, "kernel_size"),
    ("conv_output_size", (True, 3), {}, "input_size"),
    ("conv_output_size", (7.0, 3), {}, "input_size"),
    ("pool_output_size", (9, 0), {}, "pool_size"),
    ("pool_output_size", (9, 3), {"stride": 0}, "stride"),
    ("pool_output_size", (9, 3), {"padding": 0}, "padding"),
    ("pool_output_size", (9, 3), {"padding": "full"}, "padding"),
    ("pool_output_size", (2, 3), {}, "pool_size"),
    ("same_padding", (4,), {}, "kernel_size"),
    ("same_padding", (0,), {}, "kernel_size"),
    ("same_padding", (3,), {"dilation": 0}, "dilation"),
    ("conv_output_shape", ((28, 28), 8, 3), {}, "input_shape"),
    ("conv_output_shape", ((28, 0, 1), 8, 3), {}, "input_shape"),
    ("conv_output_shape", ((28, 28, 1), 0, 3), {}, "filters"),
    ("conv_output_shape", ((28, 28, 1), 8, (3, 0)), {}, "kernel_size"),
    ("conv_output_shape", ((28, 28, 1), 8, (3, 3, 3)), {}, "kernel_size"),
    ("conv_output_shape", ((28, 28, 1), 8, 3), {"stride": (1, 0)}, "stride"),
    ("conv_output_shape", ((28, 28, 1), 8, 3), {"padding": (1, -1)}, "padding"),
    ("conv_output_shape", ((2, 28, 1), 8, 3), {}, "kernel_size"),
    ("receptive_field", ([(3, 1), (0, 1)],), {}, "layers"),
    ("receptive_field", ([(3, 1), (3, 0)],), {}, "layers"),
    ("receptive_field", ([3],), {}, "layers"),
    ("receptive_field", (3,), {}, "layers"),
    ("conv2d_params", (0, 3, 4), {}, "kernel_size"),
    ("conv2d_params", ((3, 3, 3), 3, 4), {}, "kernel_size"),
    ("conv2d_params", (3, 0, 4), {}, "in_channels"),
    ("conv2d_params", (3, 3, 0), {}, "filters"),
    ("conv2d_params", (3, 3, 4), {"use_bias": "yes"}, "use_bias"),
    ("conv_params", (3, 3, 4), {}, "kernel_size"),
    ("conv_params", ((3, 3, 3, 3), 3, 4), {}, "kernel_size"),
    ("conv_params", ((), 3, 4), {}, "kernel_size"),
    ("dense_params", (0, 4), {}, "in_features"),
    ("dense_params", (4, -1), {}, "units"),
    ("batchnorm_params", (0,), {}, "channels"),
    ("depthwise_conv2d_params", (3, 4), {"depth_multiplier": 0}, "depth_multiplier"),
    ("separable_conv2d_params", (3, 4, 0), {}, "filters"),
    ("model_summary", ((28, 0, 1), []), {}, "input_shape"),
    ("model_summary", ((28, 28, 1), [{"type": "Conv3D", "filters": 1, "kernel_size": 1}]), {},
     "type"),
    ("model_summary", ((28, 28, 1), [{"filters": 1}]), {}, "type"),
    ("model_summary", ((28, 28, 1), [{"type": "Conv2D", "kernel_size": 3}]), {}, "filters"),
    ("model_summary", ((28, 28, 1), [{"type": "Conv2D", "filters": 1, "kernel_size": 3,
                                      "kernel_initializer": "zeros"}]), {}, "kernel_initializer"),
    ("model_summary", ((3, 3, 1), [{"type": "Conv2D", "filters": 1, "kernel_size": 5}]), {},
     "kernel_size"),
    ("model_summary", ((3, 3, 1), [{"type": "MaxPooling2D", "pool_size": 5}]), {}, "pool_size"),
    ("model_summary", ((28, 28, 1), [{"type": "Conv2D", "filters": 1, "kernel_size": 3,
                                      "padding": "full"}]), {}, "padding"),
    ("model_summary", ((28, 28, 1), [{"type": "Dense", "units": 0}]), {}, "units"),
    ("model_summary", ((28, 28, 1), [{"type": "Dropout", "rate": 2}]), {}, "rate"),
    ("model_summary", ((10,), [{"type": "Conv2D", "filters": 1, "kernel_size": 1}]), {},
     "layers[0]"),
]


@pytest.mark.parametrize(("name", "args", "kwargs", "argument"), INVALID,
                         ids=[f"{n}-{a}" for n, _, _, a in INVALID])
@pytest.mark.parametrize("module", ["reference", "solution"])
def test_invalid_arguments_raise_value_error_naming_the_argument(module, name, args, kwargs,
                                                                 argument):
    owner = ref if module == "reference" else (sol1 if hasattr(sol1, name) else sol2)
    with pytest.raises(ValueError, match=argument.replace("[", r"\[").replace("]", r"\]")):
        getattr(owner, name)(*args, **kwargs)


def test_solutions_and_reference_import_only_the_standard_library():
    for path in (ROOT / "solutions" / "exercise1.py", ROOT / "solutions" / "exercise2.py",
                 ROOT / "grader" / "reference" / "formulas.py",
                 ROOT / "grader" / "reference" / "lecture_models.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert name.split(".")[0] not in {"numpy", "tensorflow", "keras"}, (path, name)


# Runs last (file order): the module docstring of formulas.py promises thousands of cases.
KERAS_TESTS = {
    "conv_output_size vs tf.nn.conv2d", "conv_output_size vs keras Conv2D",
    "too-large kernels vs keras", "pool_output_size vs keras pooling and tf.nn.max_pool2d",
    "conv_output_shape vs tf.nn.conv2d / keras Conv2D", "same_padding vs tf SAME",
    "keras_same_padding_amounts vs tf SAME values", "strided dilated tf.nn.conv2d values",
    "receptive_field vs tf gradient", "conv_params vs keras ConvND",
    "conv2d_params vs keras Conv2D", "dense_params vs keras Dense",
    "batchnorm_params vs keras BatchNormalization",
    "depthwise_conv2d_params vs keras DepthwiseConv2D",
    "separable_conv2d_params vs keras SeparableConv2D", "model_summary vs keras.Sequential",
    "refused models vs keras", "lecture models vs keras",
}


def test_thousands_of_cases_were_compared_with_keras():
    if set(COMPARED) != KERAS_TESTS:
        pytest.skip("only counted when the whole module runs")
    total = sum(COMPARED.values())
    print(f"\n{total} generated cases compared with Keras/TensorFlow:")
    for name, cases in sorted(COMPARED.items()):
        print(f"  {cases:5d}  {name}")
    assert total >= 2000
