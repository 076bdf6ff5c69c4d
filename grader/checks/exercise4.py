"""Checks for exercise 4: pooling, flatten, dropout and batch normalization.

Expected values come from Keras layers in float64 in the grader
(``MaxPooling2D``, ``AveragePooling2D`` — whose "same" averages over the cells
inside the image only —, ``Flatten``, ``BatchNormalization`` with momentum 0.99
and epsilon 1e-3), via ``grader.reference.tf_ops``. Dropout is random: its
checks test properties with a fixed generator (``np.random.default_rng(seed)``
built in the sandbox), never one particular draw.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from grader.checking.arrays import images, pair
from grader.checking.check import Call, Checklist, Submission, each_function
from grader.checking.compare import expect_rejections_each
from grader.checking.compare_arrays import expect_array, expect_inputs_unchanged
from grader.checking.outcomes import CheckFailure
from grader.checking.properties import check_function, for_all
from grader.reference import tf_ops as tf_ref
from grader.sandbox.runtime.protocol import SeededGenerator

CHECKS = Checklist("exercise4", prepare=tf_ref.load)
RTOL, ATOL = 1e-7, 1e-9

LECTURE_MAPS = np.array([[[-1, 0, 2, 3], [-2, -3, -4, -5], [-1, 0, 1, 1], [-1, -2, -2, -3]],
                         [[-3, -2, 0, -1], [-2, -3, 0, -1], [-3, 0, -1, -3], [3, -2, -4, 1]]],
                        dtype=np.float64)
LECTURE_POOLED = np.array([[[0, 3], [0, 1]], [[-2, 0], [3, 1]]], dtype=np.float64)


# -- pooling ----------------------------------------------------------------------------------------

@st.composite
def pool_cases(draw, padding: str | None = None, max_size: int = 8) -> dict:
    pool = draw(st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    stride = draw(st.one_of(st.none(), st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    padding = padding or draw(st.sampled_from(("valid", "same")))
    p_h, p_w = pair(pool)
    shape = (draw(st.integers(1, 2)), draw(st.integers(p_h, max_size)), draw(st.integers(p_w, max_size)),
             draw(st.integers(1, 3)))
    return {"x": images(draw(st.integers(0, 2**16)), shape), "pool_size": pool, "stride": stride,
            "padding": padding}


def pool_sweep(padding: str) -> list[dict]:
    configs = [((1, 4, 4, 1), 2, None), ((2, 5, 5, 2), 2, None), ((1, 6, 7, 1), 3, 2), ((1, 5, 8, 3), (2, 3), None),
               ((2, 7, 4, 1), 2, (2, 1)), ((1, 9, 9, 1), 3, 3), ((1, 3, 3, 2), 1, None)]
    return [{"x": images(index, shape), "pool_size": pool, "stride": stride, "padding": padding}
            for index, (shape, pool, stride) in enumerate(configs)]


def _pool_hint(kind: str, case: dict, received: object, expected: np.ndarray) -> str | None:
    if not isinstance(received, np.ndarray) or received.shape != expected.shape:
        if isinstance(received, np.ndarray) and case["stride"] is None and case["pool_size"] != 1:
            try:
                stride1 = tf_ref.pool2d(kind, case["x"], case["pool_size"], 1, case["padding"])
            except ValueError:
                return None
            if stride1.shape == received.shape:
                return "When stride is None it is pool_size (windows do not overlap), not 1."
        return None
    if kind == "avg" and case["padding"] == "same":
        p_h, p_w = pair(case["pool_size"])
        x = case["x"]
        zero_padded = tf_ref.conv2d(x, np.ones((p_h, p_w, 1, 1)) / (p_h * p_w), np.zeros(1),
                                    pair(case["stride"] or case["pool_size"]), "same") if x.shape[3] == 1 else None
        if zero_padded is not None and np.allclose(zero_padded, received, atol=1e-8):
            return ('With "same", Keras averages over the cells inside the image only: at the borders '
                    "divide by the number of real cells, not by the full window.")
    return None


def _pool_verify(kind: str):
    function = f"{kind}_pool2d_forward"

    def verify(case: dict, received: object) -> None:
        expected = tf_ref.pool2d(kind, **case)
        try:
            expect_array(received, expected, call=Call(function, (), case), rtol=RTOL, atol=ATOL)
        except CheckFailure as failure:
            failure.hint = failure.hint or _pool_hint(kind, case, received, expected)
            raise

    return verify


def _pool_check(sub: Submission, kind: str, padding: str) -> None:
    check_function(sub, f"{kind}_pool2d_forward", strategy=lambda: pool_cases(padding), sweep=pool_sweep(padding),
                   verify=_pool_verify(kind), max_examples=8, search_examples=60)


@CHECKS.check("lecture: 2x2 max pooling of the two 4x4 feature maps", points=2, needs=("max_pool2d_forward",),
              id="lecture-max-pooling")
def lecture_pooling(sub: Submission) -> None:
    x = np.transpose(LECTURE_MAPS, (1, 2, 0))[np.newaxis]  # (1, 4, 4, 2)
    received = sub.call("max_pool2d_forward", x=x, pool_size=2)
    expected = np.transpose(LECTURE_POOLED, (1, 2, 0))[np.newaxis]
    try:
        expect_array(received, expected, call=Call("max_pool2d_forward", (), {"x": x, "pool_size": 2}),
                     rtol=0, atol=0)
    except CheckFailure as failure:
        failure.details = "The lecture's pooled maps: [[0, 3], [0, 1]] and [[-2, 0], [3, 1]]."
        raise


@CHECKS.check("lecture: 9x9 with 3x3 max pooling, stride 3 gives 3x3", points=1, needs=("max_pool2d_forward",),
              id="lecture-9x9")
def lecture_9x9(sub: Submission) -> None:
    case = {"x": images(9, (1, 9, 9, 2)), "pool_size": 3, "stride": 3, "padding": "valid"}
    _pool_verify("max")(case, sub.call("max_pool2d_forward", **case))


@CHECKS.check('max_pool2d_forward matches Keras MaxPooling2D ("valid")', points=1, needs=("max_pool2d_forward",),
              id="max-pool-valid")
def max_pool_valid(sub: Submission) -> None:
    _pool_check(sub, "max", "valid")


@CHECKS.check('max_pool2d_forward matches Keras MaxPooling2D ("same")', points=1, needs=("max_pool2d_forward",),
              id="max-pool-same")
def max_pool_same(sub: Submission) -> None:
    _pool_check(sub, "max", "same")


@CHECKS.check('avg_pool2d_forward matches Keras AveragePooling2D ("valid")', points=2,
              needs=("avg_pool2d_forward",), id="avg-pool-valid")
def avg_pool_valid(sub: Submission) -> None:
    _pool_check(sub, "avg", "valid")


@CHECKS.check('avg_pool2d_forward "same" averages over the cells inside the image', points=1,
              needs=("avg_pool2d_forward",), id="avg-pool-same")
def avg_pool_same(sub: Submission) -> None:
    sweep = [{"x": images(1, (1, 5, 5, 1)), "pool_size": 2, "stride": None, "padding": "same"},
             {"x": images(2, (1, 3, 3, 1)), "pool_size": 2, "stride": 1, "padding": "same"}, *pool_sweep("same")]
    check_function(sub, "avg_pool2d_forward", strategy=lambda: pool_cases("same"), sweep=sweep,
                   verify=_pool_verify("avg"), max_examples=8, search_examples=60)


@CHECKS.check("max pooling keeps the channels and commutes with an increasing function", points=1,
              needs=("max_pool2d_forward",), id="max-pool-monotone")
def max_pool_monotone(sub: Submission) -> None:
    def body(case: dict) -> None:
        pooled = sub.call("max_pool2d_forward", **case)
        if not isinstance(pooled, np.ndarray) or pooled.ndim != 4 or pooled.shape[3] != case["x"].shape[3]:
            raise CheckFailure("max_pool2d_forward must keep the number of channels C.",
                               evidence=[("call", Call("max_pool2d_forward", (), case)),
                                         ("expected", f"(N, H', W', {case['x'].shape[3]})"),
                                         ("received", str(getattr(pooled, "shape", type(pooled).__name__)))])
        transformed = {**case, "x": np.tanh(case["x"]) * 3 + case["x"]}  # strictly increasing
        pooled_of_f = sub.call("max_pool2d_forward", **transformed)
        expect_array(pooled_of_f, np.tanh(pooled) * 3 + pooled, call=Call("max_pool2d_forward", (), transformed),
                     rtol=1e-9, atol=1e-12, name="maxpool(f(x)), compared with f(maxpool(x)) for f(v) = v + 3·tanh(v),")

    for_all(sub, pool_cases(), body, max_examples=8)


@CHECKS.check("average pooling is linear", points=1, needs=("avg_pool2d_forward",), id="avg-pool-linear")
def avg_pool_linear(sub: Submission) -> None:
    def body(case: dict) -> None:
        other = images(5, case["x"].shape)
        combined = sub.call("avg_pool2d_forward", **{**case, "x": 2.0 * case["x"] - other})
        first = np.asarray(sub.call("avg_pool2d_forward", **case), dtype=np.float64)
        second = np.asarray(sub.call("avg_pool2d_forward", **{**case, "x": other}), dtype=np.float64)
        expect_array(combined, 2.0 * first - second, call=Call("avg_pool2d_forward", (), case),
                     rtol=1e-7, atol=1e-9, name="avgpool(2·x1 − x2), compared with 2·avgpool(x1) − avgpool(x2),")

    for_all(sub, pool_cases(), body, max_examples=6)


# -- flatten and dropout ---------------------------------------------------------------------------

@CHECKS.check("flatten matches Keras Flatten (row-major, batch axis kept)", points=1, needs=("flatten",))
def flatten_values(sub: Submission) -> None:
    def verify(case: dict, received: object) -> None:
        expected = tf_ref.flatten(case["x"])
        hint = None
        if isinstance(received, np.ndarray) and received.shape == expected.shape:
            if np.array_equal(received, np.moveaxis(case["x"], -1, 1).reshape(expected.shape)):
                hint = "Flatten the (H, W, C) axes in that order (row-major, channels last), as Keras does."
        expect_array(received, expected, call=Call("flatten", (), case), rtol=0, atol=0, hint=hint)

    strategy = st.builds(lambda seed, shape: {"x": images(seed, shape)}, st.integers(0, 2**16),
                         st.lists(st.integers(1, 5), min_size=2, max_size=4).map(tuple))
    sweep = [{"x": images(i, shape)} for i, shape in enumerate([(2, 3, 4, 2), (1, 5), (3, 2, 2), (1, 1, 1, 1)])]
    check_function(sub, "flatten", strategy=lambda: strategy, sweep=sweep, verify=verify)


@CHECKS.check("dropout at inference (training=False) returns x unchanged", points=1, needs=("dropout_forward",),
              id="dropout-inference")
def dropout_inference(sub: Submission) -> None:
    x = images(11, (4, 6))
    for rate in (0.25, 0.5):
        kwargs = {"x": x, "rate": rate, "training": False, "rng": SeededGenerator(1)}
        expect_array(sub.call("dropout_forward", **kwargs), x, call=Call("dropout_forward", (), kwargs),
                     rtol=0, atol=0, hint="At inference dropout is the identity: no mask, no scaling.")


@CHECKS.check("dropout in training: kept entries scaled by 1/(1−rate), the dropped fraction ≈ rate, "
              "the mean preserved", points=2, needs=("dropout_forward",), id="dropout-training")
def dropout_training(sub: Submission) -> None:
    x = 1.0 + np.random.default_rng(12).random((200, 50))  # positive, so a kept entry is never 0
    for rate, seed in ((0.2, 3), (0.5, 4)):
        kwargs = {"x": x, "rate": rate, "training": True, "rng": SeededGenerator(seed)}
        call = Call("dropout_forward", (), kwargs)
        out = sub.call("dropout_forward", **kwargs)
        if not isinstance(out, np.ndarray) or out.shape != x.shape:
            expect_array(out, x, call=call)
        kept = out != 0
        scaled = x / (1 - rate)
        wrong = kept & ~np.isclose(out, scaled, rtol=1e-12, atol=0)
        if wrong.any():
            index = tuple(int(i) for i in np.argwhere(wrong)[0])
            hint = None
            if np.allclose(out[kept], x[kept]):
                hint = "Inverted dropout scales the kept entries by 1/(1 − rate) during training."
            raise CheckFailure(
                "dropout_forward returned entries that are neither 0 nor x/(1 − rate).",
                evidence=[("call", call), ("at", f"index {index}: x={x[index]:.6g}, received {out[index]:.6g}, "
                                                  f"expected 0 or {scaled[index]:.6g}")], hint=hint)
        dropped = 1 - kept.mean()
        # binomial standard error on 10,000 entries is <= 0.005: allow 4 of them
        tolerance = 4 * math.sqrt(rate * (1 - rate) / x.size)
        if abs(dropped - rate) > tolerance:
            hint = None
            if abs(dropped - (1 - rate)) <= tolerance:
                hint = "rate is the probability of *dropping* an entry: keep it with probability 1 − rate."
            raise CheckFailure(
                f"dropout_forward dropped {dropped:.3f} of the entries for rate={rate}.",
                evidence=[("call", call), ("expected", f"{rate} ± {tolerance:.3f} (4 standard errors)"),
                          ("received", f"{dropped:.4f}")], hint=hint)
        mean_ratio = out.mean() / x.mean()
        if abs(mean_ratio - 1) > 0.05:
            raise CheckFailure("dropout_forward does not preserve the mean in training.",
                               evidence=[("call", call), ("expected", "mean(out) / mean(x) ≈ 1 ± 0.05"),
                                         ("received", f"{mean_ratio:.4f}")])


# -- batch normalization ---------------------------------------------------------------------------

def bn_case(seed: int, shape: tuple[int, ...], training: bool) -> dict:
    rng = np.random.default_rng(seed)
    channels = shape[-1]
    return {"x": 3.0 + 2.0 * rng.standard_normal(shape), "gamma": 1 + 0.5 * rng.standard_normal(channels),
            "beta": rng.standard_normal(channels), "moving_mean": rng.standard_normal(channels),
            "moving_var": 0.5 + rng.random(channels), "training": training}


def _bn_hint(case: dict, received: object, part: int) -> str | None:
    if not isinstance(received, tuple) or len(received) != 3 or not isinstance(received[part], np.ndarray):
        return None
    x = case["x"]
    axes = tuple(range(x.ndim - 1))
    if part == 2 and case["training"]:
        biased = x.var(axis=axes)
        unbiased = x.var(axis=axes, ddof=1)
        momentum = case.get("momentum", 0.99)
        if np.allclose(received[2], momentum * case["moving_var"] + (1 - momentum) * unbiased):
            return "Keras 3 updates the moving variance with the biased batch variance (ddof=0), not ddof=1."
        if np.allclose(received[2], (1 - momentum) * case["moving_var"] + momentum * biased):
            return "The momentum is inverted: moving = momentum · moving + (1 − momentum) · batch statistic."
    if part == 1 and case["training"]:
        momentum = case.get("momentum", 0.99)
        mean = x.mean(axis=axes)
        if np.allclose(received[1], (1 - momentum) * case["moving_mean"] + momentum * mean):
            return "The momentum is inverted: moving = momentum · moving + (1 − momentum) · batch statistic."
    if part == 0:
        return _bn_out_hint(case, received[0], axes)
    return None


def _bn_out_hint(case: dict, received: np.ndarray, axes: tuple[int, ...]) -> str | None:
    """A known mistake in ``out`` that reproduces it exactly (shape and values), or None."""
    x, gamma, beta = case["x"], case["gamma"], case["beta"]
    epsilon = case.get("epsilon", 1e-3)
    if case["training"]:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
    else:
        mean, var = case["moving_mean"], case["moving_var"]

    def same_as(alternative: np.ndarray) -> bool:
        return alternative.shape == received.shape and np.allclose(received, alternative, rtol=1e-6, atol=1e-8)

    if same_as(gamma * (x - mean) / (np.sqrt(var) + epsilon) + beta):
        return (f"ε is added outside the square root: batch norm divides by √(σ² + ε) with ε = {epsilon:g}, "
                "not by √σ² + ε.")
    if not case["training"] and same_as(gamma * (x - x.mean(axis=axes)) / np.sqrt(x.var(axis=axes) + epsilon)
                                        + beta):
        return "At inference batch norm uses the moving mean and variance, not the batch's statistics."
    return None


def _bn_verify(parts: tuple[int, ...]):
    names = ("out", "new_moving_mean", "new_moving_var")

    def verify(case: dict, received: object) -> None:
        expected = tf_ref.batchnorm(**case)
        call = Call("batchnorm_forward", (), case)
        if not isinstance(received, tuple) or len(received) != 3:
            raise CheckFailure("batchnorm_forward must return a tuple (out, new_moving_mean, new_moving_var).",
                               evidence=[("call", call), ("received", f"{type(received).__name__}")])
        for part in parts:
            try:
                expect_array(received[part], expected[part], call=call, rtol=1e-6, atol=1e-8, name=names[part])
            except CheckFailure as failure:
                failure.hint = failure.hint or _bn_hint(case, received, part)
                raise

    return verify


@st.composite
def bn_cases(draw, training: bool) -> dict:
    shape = draw(st.one_of(st.tuples(st.integers(2, 6), st.integers(1, 4)),
                           st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3))))
    case = bn_case(draw(st.integers(0, 2**16)), shape, training)
    if draw(st.booleans()):
        case["momentum"] = draw(st.sampled_from((0.9, 0.5)))
    return case


def _bn_sweep(training: bool) -> list[dict]:
    return [bn_case(i, shape, training) for i, shape in enumerate([(8, 3), (2, 4, 4, 2), (3, 5, 2, 1), (16, 1)])]


@CHECKS.check("batchnorm_forward in training matches Keras BatchNormalization", points=1,
              needs=("batchnorm_forward",), id="batchnorm-training")
def batchnorm_training(sub: Submission) -> None:
    check_function(sub, "batchnorm_forward", strategy=lambda: bn_cases(True), sweep=_bn_sweep(True), verify=_bn_verify((0,)))


@CHECKS.check("batchnorm_forward updates the moving statistics as Keras 3 does", points=1,
              needs=("batchnorm_forward",), id="batchnorm-moving-statistics")
def batchnorm_moving(sub: Submission) -> None:
    check_function(sub, "batchnorm_forward", strategy=lambda: bn_cases(True), sweep=_bn_sweep(True),
                   verify=_bn_verify((1, 2)))


@CHECKS.check("batchnorm_forward at inference uses the moving statistics", points=1,
              needs=("batchnorm_forward",), id="batchnorm-inference")
def batchnorm_inference(sub: Submission) -> None:
    check_function(sub, "batchnorm_forward", strategy=lambda: bn_cases(False), sweep=_bn_sweep(False),
                   verify=_bn_verify((0, 1, 2)))


# -- the conventions -------------------------------------------------------------------------------

@CHECKS.check("no function modifies its inputs", points=1,
              needs=("max_pool2d_forward", "avg_pool2d_forward", "flatten", "dropout_forward", "batchnorm_forward"),
              id="inputs-unchanged", per_function=True)
def inputs_unchanged(sub: Submission) -> None:
    x = images(21, (2, 4, 4, 3))
    bn = bn_case(22, (2, 4, 4, 3), True)
    calls = {"max_pool2d_forward": {"x": x}, "avg_pool2d_forward": {"x": x}, "flatten": {"x": x},
             "dropout_forward": {"x": x, "rate": 0.5, "training": True, "rng": SeededGenerator(0)},
             "batchnorm_forward": bn}
    each_function(sub, tuple(calls), lambda f: expect_inputs_unchanged(sub, [(f, calls[f])]), file="exercise4.py")


_INVALID = [
    ("max_pool2d_forward", {"x": images(1, (1, 4, 4, 1)), "padding": 1}, ("padding",)),
    ("max_pool2d_forward", {"x": images(1, (1, 4, 4, 1)), "pool_size": 0}, ("pool_size",)),
    ("avg_pool2d_forward", {"x": images(1, (1, 2, 2, 1)), "pool_size": 3}, ("pool_size",)),
    ("avg_pool2d_forward", {"x": images(1, (1, 4, 4, 1)), "stride": 0}, ("stride",)),
    ("dropout_forward", {"x": images(1, (2, 3)), "rate": 1.5, "training": True, "rng": SeededGenerator(0)}, ("rate",)),
    ("batchnorm_forward", {**bn_case(1, (4, 3), True), "gamma": np.ones(2)}, ("gamma",)),
]


@CHECKS.check("invalid arguments raise a ValueError naming them", points=1,
              needs=("max_pool2d_forward", "avg_pool2d_forward", "dropout_forward", "batchnorm_forward"),
              id="invalid-arguments", per_function=True)
def invalid_arguments(sub: Submission) -> None:
    expect_rejections_each(sub, _INVALID, file="exercise4.py")


@CHECKS.check("hidden: pooling with overlapping windows and larger inputs", points=1, hidden=True,
              needs=("max_pool2d_forward", "avg_pool2d_forward"), id="hidden-pooling", per_function=True)
def hidden_pooling(sub: Submission) -> None:
    each_function(sub, ("max_pool2d_forward", "avg_pool2d_forward"),
                  lambda function: _hidden_pooling(sub, function.split("_")[0]), file="exercise4.py")


def _hidden_pooling(sub: Submission, kind: str) -> None:
    sweep = [{"x": images(i, shape), "pool_size": pool, "stride": stride, "padding": padding}
             for i, (shape, pool, stride, padding) in enumerate([
                 ((2, 11, 13, 3), 3, 2, "valid"), ((1, 12, 12, 4), (3, 2), (1, 2), "same"),
                 ((3, 10, 7, 2), 4, 3, "same"), ((1, 9, 9, 1), 5, 1, "valid")])]
    check_function(sub, f"{kind}_pool2d_forward", strategy=lambda: pool_cases(max_size=12), sweep=sweep,
                   verify=_pool_verify(kind), max_examples=4, search_examples=40)
