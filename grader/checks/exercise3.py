"""Checks for exercise 3: the convolution forward pass.

Expected values come from TensorFlow in the grader (``tf.nn.conv2d`` + b in
float64, via ``grader.reference.tf_ops``), computed from the grader's own copy
of the inputs. Values must match with ``rtol=1e-7, atol=1e-9``. Input sizes stay
small (H, W <= 9, C <= 3, K <= 3) so that a plain six-loop implementation is
graded in well under the exercise's time limit.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from grader.checking.arrays import conv_case, conv_cases, conv_sweep, images, pair
from grader.checking.check import Call, Checklist, Submission, each_function
from grader.checking.compare import expect_rejections_each
from grader.checking.compare_arrays import expect_array, expect_inputs_unchanged
from grader.checking.outcomes import CheckFailure
from grader.checking.properties import check_function, for_all
from grader.reference import formulas
from grader.reference import tf_ops as tf_ref

CHECKS = Checklist("exercise3", prepare=tf_ref.load)
RTOL, ATOL = 1e-7, 1e-9

LECTURE_IMAGE = np.array([[1, 1, 0, 0, 0, 0], [1, 1, 0, 1, 1, 1], [0, 1, 0, 0, 0, 0],
                          [0, 0, 1, 1, 0, 1], [0, 1, 0, 0, 1, 0], [1, 0, 0, 1, 0, 1]], dtype=np.float64)
LECTURE_FILTERS = np.array([[[-1, -1, -1], [1, 1, 1], [-1, -1, -1]],
                            [[-1, -1, 1], [-1, 1, -1], [1, -1, -1]]], dtype=np.float64)
LECTURE_MAPS = np.array([[[-1, 0, 2, 3], [-2, -3, -4, -5], [-1, 0, 1, 1], [-1, -2, -2, -3]],
                         [[-3, -2, 0, -1], [-2, -3, 0, -1], [-3, 0, -1, -3], [3, -2, -4, 1]]],
                        dtype=np.float64)


def _shape_rule(case: dict) -> str:
    x, w = case["x"], case["w"]
    padding, stride = case["padding"], pair(case["stride"])
    parts = []
    for axis, name in ((0, "H"), (1, "W")):
        size, f, s = x.shape[1 + axis], w.shape[axis], stride[axis]
        if padding == "same":
            parts.append(f"{name}' = ceil({name} / S) = ceil({size} / {s}) = {-(-size // s)}")
            continue
        before, after = tf_ref.padding_amounts(padding, x.shape[1:3], w.shape[:2], stride)[axis]
        out = (size + before + after - f) // s + 1
        parts.append(f"{name}' = ({name} + {before + after} - F) // S + 1 = ({size} + {before + after} - {f})"
                     f" // {s} + 1 = {out}")
    return ";  ".join(parts)


def _padded_conv(case: dict, amounts) -> np.ndarray | None:
    """conv2d of x zero-padded by ``amounts`` ((top, bottom), (left, right)), or None if the kernel
    does not fit."""
    x, w = case["x"], case["w"]
    padded = np.pad(x, ((0, 0), *amounts, (0, 0)))
    if not formulas_fit(padded, w, case["stride"]):
        return None
    return tf_ref.conv2d(padded, w, case["b"], case["stride"], 0)


def _conv_hint(case: dict, received: np.ndarray, expected: np.ndarray) -> str | None:
    """Name a known mistake only when it reproduces the received array exactly (shape and values)."""
    if not isinstance(received, np.ndarray) or received.dtype.kind != "f":
        return None
    x, w, b, stride, padding = (case[k] for k in ("x", "w", "b", "stride", "padding"))

    def same_as(alternative: np.ndarray | None) -> bool:
        return (alternative is not None and alternative.shape == received.shape
                and np.allclose(alternative, received, rtol=1e-6, atol=1e-8))

    n, h, w_out, k = expected.shape
    if received.shape == (n, w_out, h, k) and h != w_out and received.shape != expected.shape:
        return "H' and W' are swapped: the output is (N, H', W', K), rows first."
    if padding == "same":
        amounts = tf_ref.padding_amounts("same", x.shape[1:3], w.shape[:2], pair(stride))
        totals = [before + after for before, after in amounts]
        if any(before != after for before, after in amounts):
            swapped = [(after, before) for before, after in amounts]
            if same_as(_padded_conv(case, swapped)):
                return ('"same" puts the odd extra row/column of zeros at the bottom/right, as '
                        "TensorFlow does, not at the top/left.")
        for each_side in {tuple(t // 2 for t in totals), tuple((f - 1) // 2 for f in w.shape[:2])}:
            symmetric = [(p, p) for p in each_side]
            if symmetric != [tuple(a) for a in amounts] and same_as(_padded_conv(case, symmetric)):
                return (f'"same" pads {totals[0]} row(s) and {totals[1]} column(s) in total here, the odd one at '
                        f"the bottom/right (TensorFlow's rule); your output is what {each_side[0]} row(s) and "
                        f"{each_side[1]} column(s) on each side give.")
    elif padding not in (0, "valid", (0, 0)) and same_as(_padded_conv(case, ((0, 0), (0, 0)))):
        return "Your output is what padding=0 gives: pad x before sliding the kernel."
    if received.shape != expected.shape:
        return None
    if same_as(tf_ref.conv2d(x, w[::-1, ::-1], b, stride, padding)) and not np.allclose(w, w[::-1, ::-1]):
        return "The kernel is flipped: Keras layers compute cross-correlation, w is used as it is."
    if same_as(expected - b):
        return "The bias b is missing: add b[k] to every output of filter k."
    return None


def formulas_fit(x: np.ndarray, w: np.ndarray, stride) -> bool:
    try:
        for size, f, s in zip(x.shape[1:3], w.shape[:2], pair(stride), strict=True):
            formulas.conv_output_size(size, f, s, 0)
    except ValueError:
        return False
    return True


def _verify_conv(case: dict, received: object) -> None:
    expected = tf_ref.conv2d(**case)
    call = Call("conv2d_forward", (), case)
    if isinstance(received, np.ndarray) and received.shape != expected.shape:
        raise CheckFailure(
            "conv2d_forward returned an array of the wrong shape.",
            evidence=[("inputs", call.arguments_text), ("expected", str(expected.shape)),
                      ("received", str(received.shape))],
            rule=_shape_rule(case), hint=_conv_hint(case, received, expected), call=call)
    try:
        expect_array(received, expected, call=call, rtol=RTOL, atol=ATOL)
    except CheckFailure as failure:
        failure.hint = failure.hint or _conv_hint(case, received, expected)
        raise


def _conv_check(sub: Submission, strategy, sweep: list[dict], verify=_verify_conv) -> None:
    check_function(sub, "conv2d_forward", strategy=lambda: strategy, sweep=sweep, verify=verify,
                   max_examples=8, search_examples=60)


# -- the lecture's worked example --------------------------------------------------------------

@CHECKS.check("lecture: the 6x6 image and its two 3x3 filters give the two 4x4 feature maps", points=2,
              needs=("conv2d_forward",), id="lecture-feature-maps")
def lecture_feature_maps(sub: Submission) -> None:
    x = LECTURE_IMAGE.reshape(1, 6, 6, 1)
    w = np.transpose(LECTURE_FILTERS, (1, 2, 0))[:, :, np.newaxis, :]  # (3, 3, 1, 2)
    b = np.zeros(2)
    received = sub.call("conv2d_forward", x=x, w=w, b=b, stride=1, padding=0)
    expected = np.transpose(LECTURE_MAPS, (1, 2, 0))[np.newaxis]  # (1, 4, 4, 2)
    call = Call("conv2d_forward", (), {"x": x, "w": w, "b": b, "stride": 1, "padding": 0})
    case = {"x": x, "w": w, "b": b, "stride": 1, "padding": 0}
    try:
        expect_array(received, expected, call=call, rtol=0, atol=1e-9)
    except CheckFailure as failure:
        failure.hint = failure.hint or _conv_hint(case, received, expected)
        failure.details = ("The lecture's feature maps: filter 1 gives [[-1,0,2,3],[-2,-3,-4,-5],[-1,0,1,1],"
                           "[-1,-2,-2,-3]], filter 2 gives [[-3,-2,0,-1],[-2,-3,0,-1],[-3,0,-1,-3],[3,-2,-4,1]].")
        raise


# -- pad2d ----------------------------------------------------------------------------------------

@st.composite
def pad_cases(draw) -> dict:
    kernel = draw(st.one_of(st.integers(1, 5), st.tuples(st.integers(1, 5), st.integers(1, 5))))
    padding = draw(st.one_of(st.integers(0, 3), st.tuples(st.integers(0, 3), st.integers(0, 3)),
                             st.sampled_from(("valid", "same", "full"))))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 8)), draw(st.integers(1, 8)), draw(st.integers(1, 3)))
    return {"x": images(draw(st.integers(0, 2**16)), shape), "padding": padding, "kernel_size": kernel,
            "stride": draw(st.integers(1, 3))}


def _verify_pad(case: dict, received: object) -> None:
    expected = tf_ref.pad2d(**case)
    hint = None
    if case["padding"] == "same" and isinstance(received, np.ndarray) and received.shape == expected.shape:
        hint = ('For "same" with an odd total, TensorFlow puts the extra zero at the bottom/right: '
                "before = total // 2, after = total - before.")
    expect_array(received, expected, call=Call("pad2d", (), case), rtol=0, atol=0, hint=hint)


@CHECKS.check('pad2d with int, pair, "valid", "same" and "full" padding', points=2, needs=("pad2d",))
def pad2d_values(sub: Submission) -> None:
    sweep = []
    for index, (shape, padding, kernel, stride) in enumerate([
            ((1, 4, 4, 1), 1, 3, 1), ((2, 5, 3, 2), (2, 0), 3, 1), ((1, 5, 5, 1), "valid", 3, 1),
            ((1, 5, 5, 1), "full", 3, 1), ((1, 5, 7, 2), "full", (2, 4), 1), ((1, 6, 6, 1), "same", 3, 1),
            ((1, 6, 6, 1), "same", 2, 1), ((1, 7, 8, 1), "same", 3, 2), ((2, 8, 5, 3), "same", (4, 2), 3)]):
        sweep.append({"x": images(index, shape), "padding": padding, "kernel_size": kernel, "stride": stride})
    check_function(sub, "pad2d", strategy=pad_cases, sweep=sweep, verify=_verify_pad,
                   max_examples=10, search_examples=80)


# -- conv2d_forward against TensorFlow -------------------------------------------------------------

_SHAPE_SWEEP = [(1, 7, 7, 3, 4, 3, 2, 1), (2, 5, 5, 1, 2, 3, 1, 0), (1, 6, 9, 2, 3, (3, 2), 1, "valid"),
                (1, 7, 5, 1, 2, 3, 2, "same"), (1, 4, 6, 1, 1, (2, 3), (1, 2), "full"), (2, 8, 3, 2, 2, 1, 3, 2)]


@CHECKS.check("conv2d_forward returns the output shape (N, H', W', K)", points=1, needs=("conv2d_forward",),
              id="conv2d-forward-shape")
def conv_shape(sub: Submission) -> None:
    def verify(case: dict, received: object) -> None:
        expected_shape = tf_ref.conv2d(**case).shape
        if isinstance(received, np.ndarray) and received.shape == expected_shape:
            return
        _verify_conv(case, received)

    _conv_check(sub, conv_cases(), conv_sweep(_SHAPE_SWEEP), verify)


@CHECKS.check("conv2d_forward matches tf.nn.conv2d: stride 1, integer padding", points=2,
              needs=("conv2d_forward",), id="conv2d-forward-stride-1")
def conv_stride1(sub: Submission) -> None:
    sweep = conv_sweep([(1, 5, 5, 1, 1, 3, 1, 0), (2, 6, 6, 2, 3, 3, 1, 1), (1, 4, 4, 3, 2, 1, 1, 0),
                        (1, 5, 5, 2, 2, 2, 1, 2), (2, 7, 7, 1, 1, 5, 1, 0)])
    _conv_check(sub, conv_cases(strides=st.just(1), paddings=st.integers(0, 2), square=True), sweep)


@CHECKS.check('conv2d_forward matches tf.nn.conv2d: stride 2, "same" (asymmetric padding)', points=2,
              needs=("conv2d_forward",), id="conv2d-forward-stride-2-same")
def conv_stride2_same(sub: Submission) -> None:
    sweep = conv_sweep([(1, 6, 6, 1, 2, 3, 2, "same"), (1, 7, 7, 2, 1, 3, 2, "same"),
                        (2, 8, 8, 1, 2, 2, 2, "same"), (1, 5, 8, 2, 2, (3, 2), 2, "same"),
                        (1, 9, 9, 1, 1, 4, 3, "same")])
    _conv_check(sub, conv_cases(strides=st.sampled_from((2, 3)), paddings=st.just("same")), sweep)


@CHECKS.check("conv2d_forward: non-square inputs and kernels, pairs for stride and padding", points=2,
              needs=("conv2d_forward",), id="conv2d-forward-non-square")
def conv_non_square(sub: Submission) -> None:
    sweep = conv_sweep([(1, 5, 8, 1, 2, (2, 3), 1, 0), (1, 8, 5, 2, 1, (3, 1), (2, 1), (1, 0)),
                        (2, 6, 9, 1, 2, (1, 4), (1, 2), "valid"), (1, 7, 4, 2, 2, (3, 2), (2, 2), (0, 1))])
    strategy = conv_cases(strides=st.one_of(st.integers(1, 2), st.tuples(st.integers(1, 2), st.integers(1, 3))),
                          square=False)
    _conv_check(sub, strategy, sweep)


@CHECKS.check('conv2d_forward: "full" padding', points=1, needs=("conv2d_forward",), id="conv2d-forward-full")
def conv_full(sub: Submission) -> None:
    sweep = conv_sweep([(1, 3, 3, 1, 1, 3, 1, "full"), (1, 4, 6, 2, 2, (2, 3), 1, "full"),
                        (2, 5, 5, 1, 2, 3, 2, "full")])
    _conv_check(sub, conv_cases(paddings=st.just("full")), sweep)


# -- properties from the lectures ------------------------------------------------------------------

@CHECKS.check("convolution layers compute cross-correlation (an asymmetric kernel is not flipped)", points=1,
              needs=("conv2d_forward",), id="cross-correlation")
def cross_correlation(sub: Submission) -> None:
    x = images(7, (1, 5, 5, 1))
    w = np.arange(9, dtype=np.float64).reshape(3, 3, 1, 1)
    case = {"x": x, "w": w, "b": np.zeros(1), "stride": 1, "padding": 0}
    _verify_conv(case, sub.call("conv2d_forward", **case))


@CHECKS.check("conv2d_forward is linear in x and in w (bias 0)", points=1, needs=("conv2d_forward",),
              id="linearity")
def linearity(sub: Submission) -> None:
    @st.composite
    def cases(draw):
        case = draw(conv_cases(max_size=7))
        return {**case, "b": np.zeros_like(case["b"]), "alpha": draw(st.sampled_from((2.0, -0.5, 3.0)))}

    def body(case: dict) -> None:
        alpha = case["alpha"]
        base = {k: v for k, v in case.items() if k != "alpha"}
        other = images(99, base["x"].shape)
        f = lambda **kw: np.asarray(sub.call("conv2d_forward", **{**base, **kw}), dtype=np.float64)  # noqa: E731
        combined = f(x=alpha * base["x"] + other)
        expected = alpha * f() + f(x=other)
        expect_array(combined, expected, call=Call("conv2d_forward", (), {**base, "x": alpha * base["x"] + other}),
                     rtol=1e-6, atol=1e-8, name="f(a·x1 + x2), compared with a·f(x1) + f(x2),")
        scaled_w = f(w=alpha * base["w"])
        expect_array(scaled_w, alpha * f(), call=Call("conv2d_forward", (), {**base, "w": alpha * base["w"]}),
                     rtol=1e-6, atol=1e-8, name="f(x, a·w), compared with a·f(x, w),")

    for_all(sub, cases(), body, max_examples=6)


@CHECKS.check("conv2d_forward is translation equivariant away from the borders", points=1,
              needs=("conv2d_forward",), id="translation-equivariance")
def translation(sub: Submission) -> None:
    @st.composite
    def cases(draw):
        kernel = draw(st.integers(1, 3))
        size = draw(st.integers(kernel + 2, 9))
        shift = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
        case = conv_case(draw(st.integers(0, 2**16)), n=1, height=size, width=size, channels=draw(st.integers(1, 2)),
                         filters=draw(st.integers(1, 2)), kernel=(kernel, kernel), stride=1, padding="valid")
        return {**case, "shift": shift}

    def body(case: dict) -> None:
        dy, dx = case["shift"]
        base = {k: v for k, v in case.items() if k != "shift"}
        shifted = np.zeros_like(base["x"])
        shifted[:, dy:, dx:, :] = base["x"][:, :-dy, :-dx, :]
        out = np.asarray(sub.call("conv2d_forward", **base), dtype=np.float64)
        out_shifted = sub.call("conv2d_forward", **{**base, "x": shifted})
        if not isinstance(out_shifted, np.ndarray) or out_shifted.shape != out.shape:
            _verify_conv({**base, "x": shifted}, out_shifted)
        expect_array(np.asarray(out_shifted[:, dy:, dx:, :], dtype=np.float64), out[:, : out.shape[1] - dy, : out.shape[2] - dx, :],
                     call=Call("conv2d_forward", (), {**base, "x": shifted}), rtol=1e-6, atol=1e-8,
                     name=f"the output for x shifted by ({dy}, {dx}), compared with your output shifted likewise,")

    for_all(sub, cases(), body, max_examples=6)


@CHECKS.check("a 1x1 convolution is a per-pixel matrix product", points=1, needs=("conv2d_forward",),
              id="one-by-one")
def one_by_one(sub: Submission) -> None:
    @st.composite
    def cases(draw):
        channels, filters = draw(st.integers(2, 4)), draw(st.integers(1, 4))
        return conv_case(draw(st.integers(0, 2**16)), n=draw(st.integers(1, 2)), height=draw(st.integers(1, 5)),
                         width=draw(st.integers(1, 5)), channels=channels, filters=filters, kernel=(1, 1),
                         stride=1, padding=0)

    def body(case: dict) -> None:
        received = sub.call("conv2d_forward", **case)
        expected = case["x"] @ case["w"][0, 0] + case["b"]
        expect_array(received, expected, call=Call("conv2d_forward", (), case), rtol=RTOL, atol=ATOL,
                     rule="out[n, i, j, :] = x[n, i, j, :] @ w[0, 0] + b   (w[0, 0] has shape (C_in, K))")

    for_all(sub, cases(), body, max_examples=8)


@CHECKS.check("relu keeps positives and zeroes the rest", points=1, needs=("relu",))
def relu_values(sub: Submission) -> None:
    def body(case: dict) -> None:
        received = sub.call("relu", **case)
        expect_array(received, tf_ref.relu(case["x"]), call=Call("relu", (), case), rtol=0, atol=0)

    strategy = st.builds(lambda seed, shape: {"x": images(seed, shape)}, st.integers(0, 2**16),
                         st.lists(st.integers(1, 5), min_size=1, max_size=4).map(tuple))
    for_all(sub, strategy, body, max_examples=8)


@CHECKS.check("pad2d, conv2d_forward and relu do not modify their inputs", points=1,
              needs=("pad2d", "conv2d_forward", "relu"), id="inputs-unchanged", per_function=True)
def inputs_unchanged(sub: Submission) -> None:
    case = conv_case(3, n=1, height=5, width=5, channels=2, filters=2, kernel=(3, 3), stride=1, padding=1)
    calls = {"pad2d": {"x": case["x"], "padding": 1}, "conv2d_forward": case, "relu": {"x": case["x"]}}
    each_function(sub, tuple(calls), lambda f: expect_inputs_unchanged(sub, [(f, calls[f])]), file="exercise3.py")


_INVALID = [
    ("conv2d_forward", {"x": images(1, (1, 5, 5, 2)), "w": images(2, (3, 3, 3, 1)), "b": np.zeros(1)}, ("w", "C_in", "channel")),
    ("conv2d_forward", {"x": images(1, (1, 5, 5, 1)), "w": images(2, (3, 3, 1, 2)), "b": np.zeros(2), "stride": 0}, ("stride",)),
    ("conv2d_forward", {"x": images(1, (1, 5, 5, 1)), "w": images(2, (3, 3, 1, 2)), "b": np.zeros(2), "padding": "middle"}, ("padding",)),
    ("conv2d_forward", {"x": images(1, (1, 2, 2, 1)), "w": images(2, (3, 3, 1, 2)), "b": np.zeros(2)}, ("kernel", "w", "x")),
    ("pad2d", {"x": images(1, (1, 4, 4, 1)), "padding": -1}, ("padding",)),
    ("pad2d", {"x": images(1, (1, 4, 4, 1)), "padding": "same"}, ("kernel_size",)),
]


@CHECKS.check("invalid arguments raise a ValueError naming them", points=1, needs=("conv2d_forward", "pad2d"),
              id="invalid-arguments", per_function=True)
def invalid_arguments(sub: Submission) -> None:
    expect_rejections_each(sub, _INVALID, file="exercise3.py")


@CHECKS.check("hidden: larger batches, more channels, strides 1-3 with every padding", points=1, hidden=True,
              needs=("conv2d_forward",), id="hidden-larger")
def hidden_larger(sub: Submission) -> None:
    sweep = conv_sweep([(4, 12, 10, 4, 5, 3, 1, "same"), (3, 11, 11, 3, 4, (4, 3), (3, 2), "same"),
                        (2, 10, 13, 5, 3, 5, 2, 2), (2, 9, 9, 2, 6, 3, 3, "full")])
    strategy = conv_cases(strides=st.integers(1, 3), max_size=12, max_channels=4)
    _conv_check(sub, strategy, sweep)
