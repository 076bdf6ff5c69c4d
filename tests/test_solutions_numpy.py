"""The NumPy reference solutions of exercises 3-5 equal TensorFlow/Keras.

Trusted tests: each solution is compared, in float64, with the TensorFlow op or Keras
layer it stands for (forward passes) or with ``tf.GradientTape`` (backward passes), and
the lecture's worked numbers are checked. The solutions are loaded from their files, so
these tests do not depend on how the grader imports submissions.
"""

from __future__ import annotations

import importlib.util
import os
import zlib
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

pytestmark = pytest.mark.tensorflow

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"
RTOL = 1e-7


def _load(name):
    spec = importlib.util.spec_from_file_location(f"solution_{name}", SOLUTIONS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


e3 = _load("exercise3")
e4 = _load("exercise4")
e5 = _load("exercise5")


def _rng(*key):
    """A generator seeded by ``key`` (stable across runs, unlike ``hash``)."""
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def _call(function, *arrays, **kwargs):
    """Call ``function`` and assert that it left its array arguments unchanged."""
    before = [np.array(a, copy=True) for a in arrays]
    result = function(*arrays, **kwargs)
    for original, after in zip(before, arrays, strict=True):
        np.testing.assert_array_equal(
            after, original, err_msg=f"{function.__name__} modified input"
        )
    return result


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _tf_padding(padding, kernel_hw):
    """The ``padding`` argument of tf.nn.conv2d for one of the course's paddings."""
    if isinstance(padding, str):
        if padding == "full":
            f_h, f_w = kernel_hw
            return [[0, 0], [f_h - 1, f_h - 1], [f_w - 1, f_w - 1], [0, 0]]
        return padding.upper()
    p_h, p_w = _pair(padding)
    return [[0, 0], [p_h, p_h], [p_w, p_w], [0, 0]]


def _tf_conv(x, w, b, stride, padding):
    y = tf.nn.conv2d(x, w, strides=_pair(stride), padding=_tf_padding(padding, w.shape[:2]))
    return y + b


# (x shape, w shape, stride, padding)
CONV_CASES = [
    ((2, 7, 7, 3), (3, 3, 3, 4), 1, 0),
    ((2, 7, 7, 3), (3, 3, 3, 4), 2, 1),
    ((1, 8, 6, 2), (3, 2, 2, 5), (2, 1), (1, 2)),
    ((2, 9, 7, 3), (4, 3, 3, 2), 1, "valid"),
    ((2, 8, 7, 3), (3, 3, 3, 2), 2, "valid"),  # the last row/column is never covered
    ((2, 7, 7, 3), (3, 3, 3, 4), 1, "same"),
    ((1, 8, 8, 2), (4, 4, 2, 3), 1, "same"),  # asymmetric: 1 on top, 2 at the bottom
    ((2, 8, 8, 3), (3, 3, 3, 2), 2, "same"),  # asymmetric: 0 on top, 1 at the bottom
    ((1, 9, 6, 2), (2, 5, 2, 3), (2, 3), "same"),  # non-square input, kernel and stride
    ((1, 3, 3, 1), (5, 5, 1, 2), 1, "same"),  # kernel larger than the image
    ((1, 11, 10, 2), (3, 3, 2, 2), 4, "same"),
    ((2, 5, 6, 3), (3, 2, 3, 4), 1, "full"),
    ((1, 6, 5, 2), (3, 3, 2, 2), 2, "full"),
]


@pytest.mark.parametrize(("x_shape", "w_shape", "stride", "padding"), CONV_CASES)
def test_conv2d_forward_equals_tf(x_shape, w_shape, stride, padding):
    rng = _rng("fwd", x_shape, w_shape, stride, padding)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[-1])
    out = _call(e3.conv2d_forward, x, w, b, stride=stride, padding=padding)
    expected = _tf_conv(x, w, b, stride, padding).numpy()
    assert out.dtype == np.float64
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=RTOL, atol=1e-12)


def test_conv2d_forward_random_configurations_equal_tf():
    rng = np.random.default_rng(2024)
    for _ in range(25):
        f_h, f_w = rng.integers(1, 5, size=2)
        s_h, s_w = (int(s) for s in rng.integers(1, 4, size=2))
        padding = [int(rng.integers(0, 3)), "valid", "same", "full"][rng.integers(0, 4)]
        p = (f_h - 1, f_w - 1) if padding == "full" else (0, 0)
        if isinstance(padding, int):
            p = (padding, padding)
        h = int(rng.integers(max(1, f_h - 2 * p[0]), 10))
        w_ = int(rng.integers(max(1, f_w - 2 * p[1]), 10))
        if padding == "valid":
            h, w_ = max(h, f_h), max(w_, f_w)
        x = rng.standard_normal((2, h, w_, int(rng.integers(1, 4))))
        w = rng.standard_normal((f_h, f_w, x.shape[-1], int(rng.integers(1, 4))))
        b = rng.standard_normal(w.shape[-1])
        expected = _tf_conv(x, w, b, (s_h, s_w), padding).numpy()
        out = e3.conv2d_forward(x, w, b, stride=(s_h, s_w), padding=padding)
        np.testing.assert_allclose(out, expected, rtol=RTOL, atol=1e-12)


def test_conv2d_forward_keeps_float32():
    rng = _rng("f32")
    x = rng.standard_normal((1, 5, 5, 2)).astype(np.float32)
    w = rng.standard_normal((3, 3, 2, 3)).astype(np.float32)
    out = e3.conv2d_forward(x, w, np.zeros(3, np.float32), padding="same")
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, tf.nn.conv2d(x, w, 1, "SAME").numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("shape", "padding", "kernel_size", "stride", "expected"),
    [
        ((1, 5, 5, 1), 1, None, 1, (1, 7, 7, 1)),
        ((1, 5, 5, 1), (2, 0), None, 1, (1, 9, 5, 1)),
        ((1, 5, 5, 1), "valid", None, 1, (1, 5, 5, 1)),
        ((1, 5, 6, 1), "full", (3, 2), 1, (1, 9, 8, 1)),
        ((1, 8, 8, 1), "same", 4, 1, (1, 11, 11, 1)),
        ((1, 8, 9, 1), "same", 3, 2, (1, 9, 11, 1)),
    ],
)
def test_pad2d_shapes(shape, padding, kernel_size, stride, expected):
    x = np.ones(shape)
    out = _call(e3.pad2d, x, padding, kernel_size=kernel_size, stride=stride)
    assert out.shape == expected
    assert out.sum() == x.sum()
    assert not np.shares_memory(out, x)


def test_pad2d_same_puts_the_odd_pixel_bottom_right():
    out = e3.pad2d(np.ones((1, 8, 8, 1)), "same", kernel_size=4)  # total 3: 1 before, 2 after
    np.testing.assert_array_equal(out[0, :, 4, 0], [0] + [1] * 8 + [0, 0])
    np.testing.assert_array_equal(out[0, 4, :, 0], [0] + [1] * 8 + [0, 0])


def test_pad2d_then_valid_conv_equals_same_conv():
    rng = _rng("padsame")
    x, w, b = rng.standard_normal((2, 9, 8, 3)), rng.standard_normal((4, 3, 3, 2)), np.zeros(2)
    padded = e3.pad2d(x, "same", kernel_size=(4, 3), stride=2)
    np.testing.assert_allclose(
        e3.conv2d_forward(padded, w, b, stride=2, padding="valid"),
        _tf_conv(x, w, b, 2, "same").numpy(),
        rtol=RTOL,
    )


@pytest.mark.parametrize(
    ("function", "kwargs", "name"),
    [
        (e3.pad2d, {"x": np.ones((1, 3, 3, 1)), "padding": "same"}, "kernel_size"),
        (
            e3.pad2d,
            {"x": np.ones((1, 3, 3, 1)), "padding": "sideways", "kernel_size": 3},
            "padding",
        ),
        (e3.pad2d, {"x": np.ones((1, 3, 3, 1)), "padding": -1}, "padding"),
        (e3.pad2d, {"x": np.ones((3, 3, 1)), "padding": 1}, "x"),
        (
            e3.conv2d_forward,
            {"x": np.ones((1, 5, 5, 2)), "w": np.ones((3, 3, 2, 1)), "b": np.ones(1), "stride": 0},
            "stride",
        ),
        (
            e3.conv2d_forward,
            {"x": np.ones((1, 5, 5, 2)), "w": np.ones((3, 3, 3, 1)), "b": np.ones(1)},
            "C_in",
        ),
        (
            e3.conv2d_forward,
            {"x": np.ones((1, 5, 5, 2)), "w": np.ones((3, 3, 2, 1)), "b": np.ones(2)},
            "b",
        ),
        (
            e3.conv2d_forward,
            {"x": np.ones((1, 2, 2, 1)), "w": np.ones((3, 3, 1, 1)), "b": np.ones(1)},
            "larger",
        ),
        (
            e3.conv2d_forward,
            {
                "x": np.ones((1, 5, 5, 1)),
                "w": np.ones((3, 3, 1, 1)),
                "b": np.ones(1),
                "padding": "SAMEISH",
            },
            "padding",
        ),
        (e4.max_pool2d_forward, {"x": np.ones((1, 4, 4, 1)), "padding": "full"}, "padding"),
        (e4.avg_pool2d_forward, {"x": np.ones((1, 4, 4, 1)), "pool_size": 5}, "pool_size"),
        (
            e4.dropout_forward,
            {"x": np.ones(3), "rate": 1.0, "training": True, "rng": np.random.default_rng(0)},
            "rate",
        ),
        (
            e4.batchnorm_forward,
            {
                "x": np.ones((2, 3)),
                "gamma": np.ones(2),
                "beta": np.ones(3),
                "moving_mean": np.ones(3),
                "moving_var": np.ones(3),
                "training": True,
            },
            "gamma",
        ),
        (
            e5.conv2d_backward,
            {
                "dout": np.ones((1, 4, 4, 1)),
                "x": np.ones((1, 5, 5, 1)),
                "w": np.ones((3, 3, 1, 1)),
                "b": np.ones(1),
            },
            "dout",
        ),
        (
            e5.max_pool2d_backward,
            {"dout": np.ones((1, 2, 2, 1)), "x": np.ones((1, 4, 4, 1)), "stride": 0},
            "stride",
        ),
        (
            e5.softmax_cross_entropy,
            {"logits": np.ones((2, 3)), "labels": np.array([0, 3])},
            "labels",
        ),
    ],
)
def test_invalid_arguments_raise_value_error_naming_them(function, kwargs, name):
    with pytest.raises(ValueError, match=name):
        function(**kwargs)


def test_relu_equals_tf():
    x = _rng("relu").standard_normal((2, 4, 4, 3))
    x[0, 0, 0] = 0.0
    np.testing.assert_array_equal(_call(e3.relu, x), tf.nn.relu(x).numpy())


# -- exercise 4 ---------------------------------------------------------------------------

POOL_CASES = [
    ((2, 6, 6, 3), 2, None, "valid"),
    ((2, 7, 7, 3), 2, None, "valid"),
    ((1, 7, 8, 2), 3, 2, "valid"),
    ((1, 7, 9, 2), (2, 3), (1, 2), "valid"),
    ((2, 5, 5, 3), 2, None, "same"),
    ((1, 7, 8, 2), 3, 2, "same"),
    ((1, 6, 7, 2), (3, 2), (2, 3), "same"),
    ((1, 2, 3, 1), 4, 1, "same"),  # window larger than the image
]


@pytest.mark.parametrize(("shape", "pool", "stride", "padding"), POOL_CASES)
@pytest.mark.parametrize(
    ("function", "layer"),
    [
        (e4.max_pool2d_forward, keras.layers.MaxPooling2D),
        (e4.avg_pool2d_forward, keras.layers.AveragePooling2D),
    ],
)
def test_pooling_equals_keras(function, layer, shape, pool, stride, padding):
    x = _rng("pool", shape, pool, stride, padding).standard_normal(shape)
    keras_layer = layer(pool_size=pool, strides=stride, padding=padding, dtype="float64")
    expected = np.asarray(keras_layer(x))
    out = _call(function, x, pool_size=pool, stride=stride, padding=padding)
    assert out.dtype == np.float64
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=RTOL, atol=1e-12)


def test_keras_same_average_pooling_counts_only_valid_cells():
    x = np.arange(1.0, 26.0).reshape(1, 5, 5, 1)
    keras_out = np.asarray(keras.layers.AveragePooling2D(2, padding="same", dtype="float64")(x))
    # the bottom-right 2x2 window holds one real pixel, 25: its average is 25, not 25 / 4
    assert keras_out[0, 2, 2, 0] == 25.0
    assert keras_out[0, 0, 2, 0] == (5.0 + 10.0) / 2
    np.testing.assert_array_equal(e4.avg_pool2d_forward(x, 2, padding="same"), keras_out)


def test_flatten_equals_keras():
    x = _rng("flat").standard_normal((3, 4, 5, 2))
    out = _call(e4.flatten, x)
    np.testing.assert_array_equal(out, np.asarray(keras.layers.Flatten(dtype="float64")(x)))
    assert not np.shares_memory(out, x)


def test_dropout_properties():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((64, 16, 16, 4)) + 3.0
    rate = 0.3
    out = _call(e4.dropout_forward, x, rate, True, np.random.default_rng(1))
    kept = out != 0
    np.testing.assert_allclose(out[kept], x[kept] / (1 - rate), rtol=1e-15)
    assert abs((~kept).mean() - rate) < 0.01
    assert abs(out.mean() / x.mean() - 1) < 0.02
    np.testing.assert_array_equal(e4.dropout_forward(x, rate, False, np.random.default_rng(1)), x)
    x32 = x.astype(np.float32)
    assert e4.dropout_forward(x32, rate, True, np.random.default_rng(1)).dtype == np.float32


@pytest.mark.parametrize("shape", [(8, 5, 6, 3), (16, 4)])
@pytest.mark.parametrize("momentum", [0.99, 0.9])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_equals_keras(shape, momentum, training):
    rng = _rng("bn", shape, momentum, training)
    c = shape[-1]
    x = rng.standard_normal(shape) * 3 + 2
    gamma, beta = rng.standard_normal(c), rng.standard_normal(c)
    moving_mean, moving_var = rng.standard_normal(c), rng.uniform(0.5, 2.0, c)
    layer = keras.layers.BatchNormalization(momentum=momentum, epsilon=1e-3, dtype="float64")
    layer.build(shape)
    layer.set_weights([gamma, beta, moving_mean, moving_var])
    expected = np.asarray(layer(x, training=training))

    out, new_mean, new_var = _call(
        e4.batchnorm_forward,
        x,
        gamma,
        beta,
        moving_mean,
        moving_var,
        training=training,
        momentum=momentum,
    )
    np.testing.assert_allclose(out, expected, rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(new_mean, layer.moving_mean.numpy(), rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(new_var, layer.moving_variance.numpy(), rtol=RTOL, atol=1e-15)
    if training:  # Keras 3 updates with the biased (population) batch variance
        batch_var = x.reshape(-1, c).var(axis=0)
        np.testing.assert_allclose(
            new_var, momentum * moving_var + (1 - momentum) * batch_var, rtol=1e-12
        )


# -- exercise 5: every gradient against tf.GradientTape ----------------------------------


def _tape(forward, *arrays, dout):
    """Gradients of sum(forward(*arrays) * dout) with respect to every array."""
    tensors = [tf.constant(a) for a in arrays]
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        y = forward(*tensors)
    return [g.numpy() for g in tape.gradient(y, tensors, output_gradients=tf.constant(dout))]


BACKWARD_CONV_CASES = [c for c in CONV_CASES if c[0] != (1, 3, 3, 1)] + [
    ((1, 3, 3, 1), (5, 5, 1, 2), 1, "same"),
]


@pytest.mark.parametrize(("x_shape", "w_shape", "stride", "padding"), BACKWARD_CONV_CASES)
def test_conv2d_backward_equals_gradient_tape(x_shape, w_shape, stride, padding):
    rng = _rng("bwd", x_shape, w_shape, stride, padding)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[-1])
    out_shape = _tf_conv(x, w, b, stride, padding).shape
    dout = rng.standard_normal(out_shape)
    expected = _tape(lambda x_, w_, b_: _tf_conv(x_, w_, b_, stride, padding), x, w, b, dout=dout)
    grads = _call(e5.conv2d_backward, dout, x, w, b, stride=stride, padding=padding)
    for name, mine, ref in zip(("dx", "dw", "db"), grads, expected, strict=True):
        assert mine.shape == ref.shape, name
        np.testing.assert_allclose(mine, ref, rtol=RTOL, atol=1e-12, err_msg=name)


def test_conv2d_backward_passes_a_centred_difference_check():
    rng = _rng("numgrad")
    x, w, b = rng.standard_normal((1, 5, 4, 2)), rng.standard_normal((3, 2, 2, 2)), np.ones(2)
    dout = rng.standard_normal(e3.conv2d_forward(x, w, b, stride=2, padding=1).shape)
    dx, dw, db = e5.conv2d_backward(dout, x, w, b, stride=2, padding=1)

    def numerical(array):
        grad, h = np.zeros_like(array), 1e-5
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + h
            plus = np.sum(e3.conv2d_forward(x, w, b, stride=2, padding=1) * dout)
            array[index] = saved - h
            minus = np.sum(e3.conv2d_forward(x, w, b, stride=2, padding=1) * dout)
            array[index] = saved
            grad[index] = (plus - minus) / (2 * h)
        return grad

    for mine, array in ((dx, x), (dw, w), (db, b)):
        num = numerical(array)
        rel = np.max(np.abs(mine - num) / np.maximum(1e-8, np.abs(mine) + np.abs(num)))
        assert rel < 1e-6


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "stride", "padding"),
    [
        ((2, 7, 7, 3), (3, 3, 3, 4), 1, 0),
        ((1, 8, 6, 2), (3, 2, 2, 5), 1, (1, 2)),
        ((2, 7, 7, 3), (3, 3, 3, 4), 2, 1),
        ((1, 9, 8, 2), (3, 4, 2, 3), (2, 3), 0),
        ((2, 8, 7, 3), (3, 3, 3, 2), 2, 0),  # uncovered last row/column: their dx is 0
    ],
)
def test_conv_dx_is_full_convolution_with_flipped_kernel(x_shape, w_shape, stride, padding):
    """Lecture fact: dx = full conv of (dilated) dout with the flipped, channel-swapped kernel."""
    rng = _rng("flip", x_shape, w_shape, stride, padding)
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), np.zeros(w_shape[-1])
    (s_h, s_w), (p_h, p_w) = _pair(stride), _pair(padding)
    dout = rng.standard_normal(_tf_conv(x, w, b, stride, padding).shape)
    dx_tape = _tape(lambda x_: _tf_conv(x_, w, b, stride, padding), x, dout=dout)[0]

    n, h_out, w_out, k = dout.shape
    dilated = np.zeros((n, (h_out - 1) * s_h + 1, (w_out - 1) * s_w + 1, k))
    dilated[:, ::s_h, ::s_w] = dout  # S - 1 zeros between neighbouring entries
    flipped = w[::-1, ::-1].transpose(0, 1, 3, 2)  # (F_h, F_w, K, C_in)
    full = tf.nn.conv2d(dilated, flipped, 1, _tf_padding("full", w.shape[:2])).numpy()
    dxp = np.zeros((n, x.shape[1] + 2 * p_h, x.shape[2] + 2 * p_w, x.shape[3]))
    dxp[:, : full.shape[1], : full.shape[2]] = full  # rows no window reached stay 0
    dx_full = dxp[:, p_h : p_h + x.shape[1], p_w : p_w + x.shape[2]]

    np.testing.assert_allclose(dx_full, dx_tape, rtol=RTOL, atol=1e-12)
    dx = e5.conv2d_backward(dout, x, w, b, stride=stride, padding=padding)[0]
    np.testing.assert_allclose(dx, dx_full, rtol=RTOL, atol=1e-12)
    full_np = e3.conv2d_forward(dilated, flipped, np.zeros(x.shape[3]), padding="full")
    np.testing.assert_allclose(full_np, full, rtol=RTOL, atol=1e-12)


POOL_BACKWARD_CASES = [
    ((2, 6, 6, 3), 2, None),
    ((2, 7, 7, 3), 2, None),
    ((1, 7, 8, 2), 3, 2),  # overlapping windows
    ((1, 7, 9, 2), (2, 3), (1, 2)),
    ((1, 9, 9, 1), 3, 3),
]


@pytest.mark.parametrize(("shape", "pool", "stride"), POOL_BACKWARD_CASES)
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool2d_backward_equals_gradient_tape(shape, pool, stride, ties):
    rng = _rng("maxb", shape, pool, stride, ties)
    # with ties, small integers repeat inside most windows: TF sends the gradient to the
    # first maximum in row-major order
    x = rng.integers(0, 3, shape).astype(np.float64) if ties else rng.standard_normal(shape)
    strides = pool if stride is None else stride
    forward = lambda x_: tf.nn.max_pool2d(x_, pool, strides, "VALID")  # noqa: E731
    dout = rng.standard_normal(forward(x).shape)
    (expected,) = _tape(forward, x, dout=dout)
    dx = _call(e5.max_pool2d_backward, dout, x, pool_size=pool, stride=stride)
    np.testing.assert_allclose(dx, expected, rtol=RTOL, atol=1e-12)


def test_max_pool2d_backward_ties_go_to_the_first_maximum():
    x = np.zeros((1, 2, 2, 1))
    x[0, 0, 1, 0] = x[0, 1, 0, 0] = x[0, 1, 1, 0] = 1.0
    (expected,) = _tape(
        lambda x_: tf.nn.max_pool2d(x_, 2, 2, "VALID"), x, dout=np.ones((1, 1, 1, 1))
    )
    np.testing.assert_array_equal(expected[0, :, :, 0], [[0, 1], [0, 0]])
    dx = e5.max_pool2d_backward(np.ones((1, 1, 1, 1)), x, pool_size=2)
    np.testing.assert_array_equal(dx, expected)


@pytest.mark.parametrize(("shape", "pool", "stride"), POOL_BACKWARD_CASES)
def test_avg_pool2d_backward_equals_gradient_tape(shape, pool, stride):
    rng = _rng("avgb", shape, pool, stride)
    x = rng.standard_normal(shape)
    strides = pool if stride is None else stride
    forward = lambda x_: tf.nn.avg_pool2d(x_, pool, strides, "VALID")  # noqa: E731
    dout = rng.standard_normal(forward(x).shape)
    (expected,) = _tape(forward, x, dout=dout)
    dx = _call(e5.avg_pool2d_backward, dout, x, pool_size=pool, stride=stride)
    np.testing.assert_allclose(dx, expected, rtol=RTOL, atol=1e-12)


def test_relu_backward_equals_gradient_tape():
    rng = _rng("relub")
    x = rng.standard_normal((2, 5, 5, 3))
    x[0, 0, :2] = 0.0  # TF's gradient at exactly 0 is 0
    dout = rng.standard_normal(x.shape)
    (expected,) = _tape(tf.nn.relu, x, dout=dout)
    np.testing.assert_array_equal(_call(e5.relu_backward, dout, x), expected)


def test_dense_backward_equals_gradient_tape():
    rng = _rng("dense")
    x, w, b = rng.standard_normal((6, 7)), rng.standard_normal((7, 4)), rng.standard_normal(4)
    dout = rng.standard_normal((6, 4))
    expected = _tape(lambda x_, w_, b_: x_ @ w_ + b_, x, w, b, dout=dout)
    grads = _call(e5.dense_backward, dout, x, w, b)
    for mine, ref in zip(grads, expected, strict=True):
        np.testing.assert_allclose(mine, ref, rtol=RTOL, atol=1e-12)


@pytest.mark.parametrize("scale", [1.0, 1e3])  # 1e3: exp would overflow without the shift
def test_softmax_cross_entropy_equals_tf(scale):
    rng = _rng("softmax", scale)
    logits = rng.standard_normal((8, 10)) * scale
    labels = rng.integers(0, 10, 8)
    loss, dlogits = _call(e5.softmax_cross_entropy, logits, labels)

    logits_t = tf.constant(logits)
    with tf.GradientTape() as tape:
        tape.watch(logits_t)
        expected = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits_t)
        )
    assert type(loss) is float
    assert np.isfinite(loss)
    np.testing.assert_allclose(loss, expected.numpy(), rtol=RTOL)
    np.testing.assert_allclose(
        dlogits, tape.gradient(expected, logits_t).numpy(), rtol=RTOL, atol=1e-15
    )


# -- worked numbers from the lectures -----------------------------------------------------

IMAGE = [
    [1, 1, 0, 0, 0, 0],
    [1, 1, 0, 1, 1, 1],
    [0, 1, 0, 0, 0, 0],
    [0, 0, 1, 1, 0, 1],
    [0, 1, 0, 0, 1, 0],
    [1, 0, 0, 1, 0, 1],
]
FILTER1 = [[-1, -1, -1], [1, 1, 1], [-1, -1, -1]]
FILTER2 = [[-1, -1, 1], [-1, 1, -1], [1, -1, -1]]
MAP1 = [[-1, 0, 2, 3], [-2, -3, -4, -5], [-1, 0, 1, 1], [-1, -2, -2, -3]]
MAP2 = [[-3, -2, 0, -1], [-2, -3, 0, -1], [-3, 0, -1, -3], [3, -2, -4, 1]]
POOLED1 = [[0, 3], [0, 1]]
POOLED2 = [[-2, 0], [3, 1]]


def test_lecture_6x6_image_two_filters_and_max_pooling():
    x = np.array(IMAGE, dtype=np.float64).reshape(1, 6, 6, 1)
    w = np.stack([FILTER1, FILTER2], axis=-1).astype(np.float64).reshape(3, 3, 1, 2)
    maps = e3.conv2d_forward(x, w, np.zeros(2), stride=1, padding=0)
    assert maps.shape == (1, 4, 4, 2)
    np.testing.assert_array_equal(maps[0, :, :, 0], MAP1)
    np.testing.assert_array_equal(maps[0, :, :, 1], MAP2)
    np.testing.assert_array_equal(maps, tf.nn.conv2d(x, w, 1, "VALID").numpy())

    pooled = e4.max_pool2d_forward(maps, pool_size=2)
    np.testing.assert_array_equal(pooled[0, :, :, 0], POOLED1)
    np.testing.assert_array_equal(pooled[0, :, :, 1], POOLED2)
    np.testing.assert_array_equal(pooled, np.asarray(keras.layers.MaxPooling2D(2)(maps)))


def test_lecture_9x9_max_pooling_3x3_stride_3():
    x = _rng("9x9").standard_normal((1, 9, 9, 1))
    out = e4.max_pool2d_forward(x, pool_size=3, stride=3)
    assert out.shape == (1, 3, 3, 1)
    np.testing.assert_array_equal(out[0, 1, 2, 0], x[0, 3:6, 6:9, 0].max())
    np.testing.assert_array_equal(
        out, np.asarray(keras.layers.MaxPooling2D(3, 3, dtype="float64")(x))
    )
