"""TensorFlow/Keras reference computations for exercises 3-5 (float64).

Imported only by the checks that need it, so ``grade exercise1`` never loads
TensorFlow. Every function takes the grader's own copies of the inputs (never
anything the student's code returned) and returns NumPy arrays.

Every TensorFlow computation goes through ``grader.reference.cache`` first:
TensorFlow itself is imported only when a value is in neither the shipped nor
the user's store (a regrade of a passing submission imports it not at all).

oneDNN is switched off before TensorFlow loads: with it on, ``tf.nn.conv2d``
silently returns a wrongly shaped tensor and ``tf.nn.max_pool2d`` dies with
SIGFPE when an output size is 0 (seen with TF 2.21 on this course's machines);
the checks never ask for such sizes, and the plain kernels are exact enough.
"""

from __future__ import annotations

import os
import random
from functools import cache

import numpy as np

from grader.reference import cache as reference_cache
from grader.reference import formulas


@cache
def _tf():
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # A miss may import TensorFlow in the middle of a hypothesis draw; its import reseeds
    # Python's `random`, which hypothesis rightly reports. The draw must not see it.
    state = random.getstate()
    import tensorflow as tf

    random.setstate(state)
    reference_cache.current().confirm_version("tensorflow", tf.__version__)
    return tf


def load() -> None:
    """Read the reference cache now (a Checklist's ``prepare``); TensorFlow waits for a miss."""
    reference_cache.current().load()


@cache
def _keras():
    _tf()
    import keras

    reference_cache.current().confirm_version("keras", keras.__version__)
    return keras


def _cached(op: str, arrays: tuple, params: dict, compute) -> tuple[np.ndarray, ...]:
    return reference_cache.current().lookup(op, arrays, params, compute)


def _stride_param(stride) -> tuple[int, int] | None:
    return None if stride is None else pair(stride)


def _padding_param(padding):
    return padding if isinstance(padding, str) else pair(padding)


def pair(value: int | tuple[int, int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def padding_amounts(padding: int | tuple | str, in_hw: tuple[int, int], kernel_hw: tuple[int, int],
                    stride_hw: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """((top, bottom), (left, right)) zeros for any padding form (TensorFlow's "same")."""
    if isinstance(padding, str):
        return tuple(formulas.padding_amounts(size, f, s, padding.lower())
                     for size, f, s in zip(in_hw, kernel_hw, stride_hw, strict=True))
    p_h, p_w = pair(padding)
    return (p_h, p_h), (p_w, p_w)


def pad2d(x: np.ndarray, padding, kernel_size=None, stride=1) -> np.ndarray:
    """Zero padding of H and W, amounts from ``formulas`` (proven equal to TensorFlow)."""
    kernel_hw = pair(kernel_size) if kernel_size is not None else (1, 1)
    (top, bottom), (left, right) = padding_amounts(padding, x.shape[1:3], kernel_hw, pair(stride))
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))


def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride=1, padding=0) -> np.ndarray:
    """``tf.nn.conv2d(x, w, strides, explicit padding) + b``: (N,H,W,C) * (F_h,F_w,C,K) -> (N,H',W',K)."""
    params = dict(stride=pair(stride), padding=_padding_param(padding))
    return _cached("conv2d", (x, w, b), params, lambda: (_conv2d(x, w, b, stride, padding),))[0]


def _conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride, padding) -> np.ndarray:
    tf = _tf()
    (top, bottom), (left, right) = padding_amounts(padding, x.shape[1:3], w.shape[:2], pair(stride))
    out = tf.nn.conv2d(tf.constant(x, tf.float64), tf.constant(w, tf.float64), strides=(1, *pair(stride), 1),
                       padding=[[0, 0], [top, bottom], [left, right], [0, 0]])
    return (out + tf.constant(b, tf.float64)).numpy()


def relu(x: np.ndarray) -> np.ndarray:
    return _cached("relu", (x,), {}, lambda: (_tf().nn.relu(x).numpy(),))[0]


def pool2d(kind: str, x: np.ndarray, pool_size=2, stride=None, padding="valid") -> np.ndarray:
    """Keras ``MaxPooling2D`` / ``AveragePooling2D`` in float64 ("same" averages valid cells only)."""
    params = dict(kind=kind, pool_size=pair(pool_size), stride=_stride_param(stride), padding=padding)
    return _cached("pool2d", (x,), params, lambda: (_pool2d(kind, x, pool_size, stride, padding),))[0]


def _pool2d(kind: str, x: np.ndarray, pool_size, stride, padding) -> np.ndarray:
    keras = _keras()
    layer_class = keras.layers.MaxPooling2D if kind == "max" else keras.layers.AveragePooling2D
    layer = layer_class(pool_size=pair(pool_size), strides=None if stride is None else pair(stride),
                        padding=padding, dtype="float64")
    return np.asarray(layer(x))


def flatten(x: np.ndarray) -> np.ndarray:
    return _cached("flatten", (x,), {}, lambda: (np.asarray(_keras().layers.Flatten(dtype="float64")(x)),))[0]


def batchnorm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, moving_mean: np.ndarray,
              moving_var: np.ndarray, training: bool, momentum: float = 0.99, epsilon: float = 1e-3
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keras ``BatchNormalization`` (last axis): (out, new moving mean, new moving variance)."""
    params = dict(training=bool(training), momentum=float(momentum), epsilon=float(epsilon))
    return _cached("batchnorm", (x, gamma, beta, moving_mean, moving_var), params,
                   lambda: _batchnorm(x, gamma, beta, moving_mean, moving_var, training, momentum, epsilon))


def _batchnorm(x, gamma, beta, moving_mean, moving_var, training, momentum, epsilon):
    keras = _keras()
    layer = keras.layers.BatchNormalization(momentum=momentum, epsilon=epsilon, dtype="float64")
    layer.build(x.shape)
    layer.set_weights([gamma, beta, moving_mean, moving_var])
    out = np.asarray(layer(x, training=training))
    return out, np.asarray(layer.moving_mean), np.asarray(layer.moving_variance)


def conv2d_gradients(dout: np.ndarray, x: np.ndarray, w: np.ndarray, b: np.ndarray, stride=1, padding=0
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dw, db) of ``sum(conv2d(x, w, b) * dout)`` by ``tf.GradientTape``."""
    params = dict(stride=pair(stride), padding=_padding_param(padding))
    return _cached("conv2d_gradients", (dout, x, w, b), params,
                   lambda: _conv2d_gradients(dout, x, w, b, stride, padding))


def _conv2d_gradients(dout, x, w, b, stride, padding):
    tf = _tf()
    tx, tw, tb = (tf.Variable(a, dtype=tf.float64) for a in (x, w, b))
    (top, bottom), (left, right) = padding_amounts(padding, x.shape[1:3], w.shape[:2], pair(stride))
    with tf.GradientTape() as tape:
        out = tf.nn.conv2d(tx, tw, strides=(1, *pair(stride), 1),
                           padding=[[0, 0], [top, bottom], [left, right], [0, 0]]) + tb
        loss = tf.reduce_sum(out * dout)
    return tuple(g.numpy() for g in tape.gradient(loss, [tx, tw, tb]))


def pool2d_gradient(kind: str, dout: np.ndarray, x: np.ndarray, pool_size=2, stride=None) -> np.ndarray:
    """dx of ``sum(pool(x) * dout)`` ("valid" pooling) by ``tf.GradientTape``."""
    params = dict(kind=kind, pool_size=pair(pool_size), stride=_stride_param(stride))
    return _cached("pool2d_gradient", (dout, x), params,
                   lambda: (_pool2d_gradient(kind, dout, x, pool_size, stride),))[0]


def _pool2d_gradient(kind, dout, x, pool_size, stride):
    tf = _tf()
    size = pair(pool_size)
    strides = size if stride is None else pair(stride)
    tx = tf.Variable(x, dtype=tf.float64)
    pool = tf.nn.max_pool2d if kind == "max" else tf.nn.avg_pool2d
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(pool(tx, ksize=size, strides=strides, padding="VALID") * dout)
    return tape.gradient(loss, tx).numpy()


def relu_gradient(dout: np.ndarray, x: np.ndarray) -> np.ndarray:
    return _cached("relu_gradient", (dout, x), {}, lambda: (_relu_gradient(dout, x),))[0]


def _relu_gradient(dout, x):
    tf = _tf()
    tx = tf.Variable(x, dtype=tf.float64)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.nn.relu(tx) * dout)
    return tape.gradient(loss, tx).numpy()


def dense_gradients(dout: np.ndarray, x: np.ndarray, w: np.ndarray, b: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dw, db) of ``sum((x @ w + b) * dout)`` by ``tf.GradientTape``."""
    return _cached("dense_gradients", (dout, x, w, b), {}, lambda: _dense_gradients(dout, x, w, b))


def _dense_gradients(dout, x, w, b):
    tf = _tf()
    tx, tw, tb = (tf.Variable(a, dtype=tf.float64) for a in (x, w, b))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum((tf.matmul(tx, tw) + tb) * dout)
    return tuple(g.numpy() for g in tape.gradient(loss, [tx, tw, tb]))


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean sparse softmax cross-entropy and its gradient with respect to the logits."""
    loss, gradient = _cached("softmax_cross_entropy", (logits, labels), {},
                             lambda: _softmax_cross_entropy(logits, labels))
    return float(loss), gradient


def _softmax_cross_entropy(logits, labels):
    tf = _tf()
    tl = tf.Variable(logits, dtype=tf.float64)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=tl))
    return np.float64(loss.numpy()), tape.gradient(loss, tl).numpy()


def full_convolution_of_flipped_kernel(dout: np.ndarray, w: np.ndarray, stride=1) -> np.ndarray:
    """The lecture's dx: dout dilated by S-1 zeros, "full"-convolved with the flipped, transposed kernel.

    Returns an array of shape (N, (H'-1)*S + F_h, (W'-1)*S + F_w, C_in): dx of the
    *padded* input for a "valid" convolution of stride S.
    """
    return _cached("full_convolution_of_flipped_kernel", (dout, w), dict(stride=pair(stride)),
                   lambda: (_full_convolution_of_flipped_kernel(dout, w, stride),))[0]


def _full_convolution_of_flipped_kernel(dout, w, stride):
    tf = _tf()
    s_h, s_w = pair(stride)
    n, out_h, out_w, k = dout.shape
    dilated = np.zeros((n, (out_h - 1) * s_h + 1, (out_w - 1) * s_w + 1, k))
    dilated[:, ::s_h, ::s_w, :] = dout
    f_h, f_w = w.shape[:2]
    flipped = np.transpose(w[::-1, ::-1, :, :], (0, 1, 3, 2))  # (F_h, F_w, K, C_in)
    result = tf.nn.conv2d(dilated, flipped, strides=1, padding=[[0, 0], [f_h - 1, f_h - 1],
                                                                [f_w - 1, f_w - 1], [0, 0]])
    return result.numpy()
