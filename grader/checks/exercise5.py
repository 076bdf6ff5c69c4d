"""Checks for exercise 5: backward passes.

Every gradient is compared with ``tf.GradientTape`` on the same computation in
float64 (``grader.reference.tf_ops``), and separately with centred differences
of the reference forward pass (CS231n's gradient check); both limits are a
relative error of 1e-6. Failures show one row per gradient. Sizes stay small
enough for a loop implementation.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from grader.checking.arrays import conv_case, conv_cases, images, pair
from grader.checking.check import Call, Checklist, Submission, each_function
from grader.checking.compare import expect_rejections_each, same_kind_number
from grader.checking.compare_arrays import expect_inputs_unchanged
from grader.checking.gradients import expect_gradients, numerical_gradient
from grader.checking.outcomes import CheckFailure
from grader.checking.properties import check_function, for_all
from grader.reference import tf_ops as tf_ref

CHECKS = Checklist("exercise5", prepare=tf_ref.load)
LIMIT = 1e-6
CONV_NAMES = ("dx", "dw", "db")


def with_dout(case: dict, seed: int) -> dict:
    """A conv case plus an upstream gradient of the output's shape."""
    out_shape = tf_ref.conv2d(**case).shape
    return {"dout": images(seed + 1, out_shape), **case}


def _conv_hint(case: dict, received: object) -> str | None:
    if not isinstance(received, tuple) or len(received) != 3 or not isinstance(received[1], np.ndarray):
        return None
    x, dout = case["x"], case["dout"]
    if x.shape[0] > 1:
        for index in (0, x.shape[0] - 1):
            single = tf_ref.conv2d_gradients(dout[index:index + 1], x[index:index + 1], case["w"], case["b"],
                                             case["stride"], case["padding"])
            if received[1].shape == single[1].shape and np.allclose(received[1], single[1]):
                return "dw must add up the contributions of every example in the batch, not keep one."
    if isinstance(received[2], np.ndarray) and received[2].shape == dout.shape[1:]:
        return "db sums dout over the batch *and* the spatial axes: db[k] = Σ_{n,i,j} dout[n, i, j, k]."
    return None


def _verify_conv(case: dict, received: object) -> None:
    expected = tf_ref.conv2d_gradients(**case)
    try:
        expect_gradients(received, expected, CONV_NAMES, call=Call("conv2d_backward", (), case), limit=LIMIT)
    except CheckFailure as failure:
        failure.hint = _conv_hint(case, received) or failure.hint
        raise


@st.composite
def conv_backward_cases(draw, **kwargs) -> dict:
    case = draw(conv_cases(max_size=7, **kwargs))
    return with_dout(case, draw(st.integers(0, 2**16)))


def conv_backward_sweep(configs: list[tuple]) -> list[dict]:
    return [with_dout(conv_case(i, n=n, height=h, width=w, channels=c, filters=k, kernel=pair(f), stride=s,
                                padding=p), i)
            for i, (n, h, w, c, k, f, s, p) in enumerate(configs)]


def _conv_check(sub: Submission, strategy, sweep: list[dict]) -> None:
    check_function(sub, "conv2d_backward", strategy=lambda: strategy, sweep=sweep, verify=_verify_conv,
                   max_examples=6, search_examples=40)


@CHECKS.check("conv2d_backward matches tf.GradientTape: stride 1, integer padding", points=3,
              needs=("conv2d_backward",), id="conv-backward-stride-1")
def conv_backward_stride1(sub: Submission) -> None:
    sweep = conv_backward_sweep([(1, 4, 4, 1, 1, 3, 1, 0), (2, 5, 5, 2, 3, 3, 1, 1), (2, 4, 6, 3, 2, 2, 1, 0),
                                 (1, 5, 5, 1, 2, 1, 1, 2)])
    _conv_check(sub, conv_backward_cases(strides=st.just(1), paddings=st.integers(0, 2)), sweep)


@CHECKS.check('conv2d_backward matches tf.GradientTape: strides 2-3, "same", "full", pairs', points=2,
              needs=("conv2d_backward",), id="conv-backward-strided")
def conv_backward_strided(sub: Submission) -> None:
    sweep = conv_backward_sweep([(1, 6, 6, 1, 2, 3, 2, "same"), (2, 7, 5, 2, 1, (3, 2), (2, 1), "same"),
                                 (1, 5, 5, 1, 1, 3, 2, "full"), (1, 7, 7, 2, 2, 3, 3, 1)])
    strategy = conv_backward_cases(strides=st.one_of(st.integers(2, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))),
                                   square=False)
    _conv_check(sub, strategy, sweep)


@CHECKS.check("conv2d_backward passes a centred-difference gradient check (relative error < 1e-6)", points=2,
              needs=("conv2d_backward",), id="conv-backward-numerical")
def conv_backward_numerical(sub: Submission) -> None:
    for seed, config in enumerate([dict(n=2, height=4, width=5, channels=2, filters=2, kernel=(3, 2), stride=1,
                                        padding=1),
                                   dict(n=1, height=5, width=5, channels=1, filters=2, kernel=(2, 2), stride=2,
                                        padding="same")]):
        case = with_dout(conv_case(seed + 40, **config), seed + 40)
        received = sub.call("conv2d_backward", **case)
        rest = {k: case[k] for k in ("stride", "padding")}

        def loss(x=case["x"], w=case["w"], b=case["b"], rest=rest, dout=case["dout"]) -> float:
            return float(np.sum(tf_ref.conv2d(x, w, b, **rest) * dout))

        expected = (numerical_gradient(lambda v: loss(x=v), case["x"]),
                    numerical_gradient(lambda v: loss(w=v), case["w"]),
                    numerical_gradient(lambda v: loss(b=v), case["b"]))
        expect_gradients(received, expected, CONV_NAMES, call=Call("conv2d_backward", (), case),
                         limit=LIMIT, reference="centred differences of the forward pass (h = 1e-5)")


@CHECKS.check("lecture: dx is a full convolution of dout (dilated by S−1 zeros) with the flipped kernel",
              points=2, needs=("conv2d_backward",), id="dx-full-convolution")
def dx_full_convolution(sub: Submission) -> None:
    def body(case: dict) -> None:
        received = sub.call("conv2d_backward", **case)
        x, stride = case["x"], pair(case["stride"])
        full = tf_ref.full_convolution_of_flipped_kernel(case["dout"], case["w"], stride)
        expected_dx = np.zeros_like(x)  # rows/columns no window reaches get no gradient
        rows, cols = min(full.shape[1], x.shape[1]), min(full.shape[2], x.shape[2])
        expected_dx[:, :rows, :cols, :] = full[:, :rows, :cols, :]
        dx = received[0] if isinstance(received, tuple) and received else received
        expect_gradients(dx, (expected_dx,), ("dx",), call=Call("conv2d_backward", (), case), limit=LIMIT,
                         reference="the full convolution of dout with the flipped, channel-swapped kernel")

    strategy = conv_backward_cases(strides=st.integers(1, 3), paddings=st.just(0))
    for_all(sub, strategy, body, max_examples=8)


# -- pooling and relu -----------------------------------------------------------------------------

@st.composite
def pool_backward_cases(draw) -> dict:
    pool = draw(st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    stride = draw(st.one_of(st.none(), st.integers(1, 3)))
    p_h, p_w = pair(pool)
    shape = (draw(st.integers(1, 2)), draw(st.integers(p_h, 7)), draw(st.integers(p_w, 7)), draw(st.integers(1, 2)))
    x = images(draw(st.integers(0, 2**16)), shape)
    if draw(st.booleans()):
        x = np.round(x)  # ties: the gradient goes to the first maximum in row-major order
    return _pool_case(x, pool, stride, draw(st.integers(0, 2**16)))


def _pool_case(x: np.ndarray, pool, stride, seed: int) -> dict:
    out = tf_ref.pool2d("max", x, pool, stride, "valid")
    return {"dout": images(seed, out.shape), "x": x, "pool_size": pool, "stride": stride}


def _pool_sweep() -> list[dict]:
    tie = np.zeros((1, 4, 4, 1))
    return [_pool_case(images(1, (1, 4, 4, 1)), 2, None, 1), _pool_case(images(2, (2, 5, 6, 2)), 2, 1, 2),
            _pool_case(images(3, (1, 6, 6, 1)), 3, 2, 3), _pool_case(tie, 2, None, 4),
            _pool_case(np.round(images(5, (1, 5, 5, 2))), (2, 3), (1, 2), 5)]


def _pool_verify(kind: str):
    function = f"{kind}_pool2d_backward"

    def verify(case: dict, received: object) -> None:
        expected = tf_ref.pool2d_gradient(kind, **case)
        hint = None
        if kind == "max" and isinstance(received, np.ndarray) and received.shape == expected.shape:
            if np.allclose(received.sum(), expected.sum()) and not np.allclose(received, expected):
                hint = ("Each window's gradient goes to the position of its maximum only — the first one in "
                        "row-major order when there are ties, as TensorFlow does.")
        expect_gradients(received, (expected,), ("dx",), call=Call(function, (), case), limit=LIMIT,
                         hint=hint)

    return verify


@CHECKS.check("max_pool2d_backward matches tf.GradientTape", points=2, needs=("max_pool2d_backward",),
              id="max-pool-backward")
def max_pool_backward(sub: Submission) -> None:
    check_function(sub, "max_pool2d_backward", strategy=pool_backward_cases, sweep=_pool_sweep(),
                   verify=_pool_verify("max"), max_examples=8, search_examples=60)


@CHECKS.check("max-pool backward routes each gradient to the arg-max only (first one on ties)", points=1,
              needs=("max_pool2d_backward",), id="max-pool-backward-routing")
def max_pool_routing(sub: Submission) -> None:
    x = np.array([[1.0, 3.0, 2.0, 2.0], [3.0, 0.0, 2.0, 2.0], [5.0, 1.0, 0.0, -1.0], [1.0, 5.0, -2.0, -1.0]])
    case = {"dout": np.array([[[[10.0], [20.0]], [[30.0], [40.0]]]]), "x": x.reshape(1, 4, 4, 1), "pool_size": 2,
            "stride": None}
    received = sub.call("max_pool2d_backward", **case)
    expected = np.zeros((1, 4, 4, 1))
    expected[0, 0, 1, 0], expected[0, 0, 2, 0], expected[0, 2, 0, 0], expected[0, 2, 2, 0] = 10, 20, 30, 40
    every_maximum = np.zeros((1, 4, 4, 1))  # the known mistake: each tied maximum gets the window's dout
    for i in range(2):
        for j in range(2):
            window = x[2 * i:2 * i + 2, 2 * j:2 * j + 2]
            every_maximum[0, 2 * i:2 * i + 2, 2 * j:2 * j + 2, 0] = (window == window.max()) * case["dout"][0, i, j, 0]
    hint = None
    if isinstance(received, np.ndarray) and received.shape == every_maximum.shape \
            and np.allclose(received, every_maximum, rtol=0, atol=1e-12):
        hint = ("Your dx sends a window's dout to every maximum it holds: windows (0, 0), (0, 1) and (1, 0) "
                "hold ties, and the arg-max rule (tf.nn.max_pool's gradient) gives it all to the first maximum "
                "in row-major order, the others nothing.")
    expect_gradients(received, (expected,), ("dx",), call=Call("max_pool2d_backward", (), case),
                     limit=LIMIT, reference="the arg-max routing (ties: first in row-major order)", hint=hint)


@CHECKS.check("avg_pool2d_backward matches tf.GradientTape", points=2, needs=("avg_pool2d_backward",),
              id="avg-pool-backward")
def avg_pool_backward(sub: Submission) -> None:
    check_function(sub, "avg_pool2d_backward", strategy=pool_backward_cases, sweep=_pool_sweep(),
                   verify=_pool_verify("avg"), max_examples=8, search_examples=60)


@CHECKS.check("relu_backward passes the gradient only where x > 0", points=2, needs=("relu_backward",))
def relu_backward(sub: Submission) -> None:
    def verify(case: dict, received: object) -> None:
        expected = tf_ref.relu_gradient(**case)
        hint = None
        if isinstance(received, np.ndarray) and received.shape == expected.shape:
            if np.allclose(received, case["dout"]):
                hint = "dout must be masked: the gradient is dout where x > 0 and 0 elsewhere."
        expect_gradients(received, (expected,), ("dx",), call=Call("relu_backward", (), case), limit=LIMIT,
                         hint=hint)

    strategy = st.builds(lambda seed, shape: {"dout": images(seed + 1, shape), "x": images(seed, shape)},
                         st.integers(0, 2**16), st.lists(st.integers(1, 5), min_size=1, max_size=4).map(tuple))
    sweep = [{"dout": images(i + 1, s), "x": images(i, s)} for i, s in enumerate([(4,), (2, 3), (2, 3, 3, 2)])]
    check_function(sub, "relu_backward", strategy=lambda: strategy, sweep=sweep, verify=verify)


# -- dense and softmax cross-entropy -----------------------------------------------------------------

def dense_case(seed: int, n: int, d: int, m: int) -> dict:
    rng = np.random.default_rng(seed)
    return {"dout": rng.standard_normal((n, m)), "x": rng.standard_normal((n, d)), "w": rng.standard_normal((d, m)),
            "b": rng.standard_normal(m)}


@CHECKS.check("dense_backward matches tf.GradientTape", points=2, needs=("dense_backward",))
def dense_backward(sub: Submission) -> None:
    def verify(case: dict, received: object) -> None:
        expected = tf_ref.dense_gradients(**case)
        hint = None
        if isinstance(received, tuple) and len(received) == 3 and isinstance(received[1], np.ndarray):
            last = case["x"][-1:].T @ case["dout"][-1:]
            if case["x"].shape[0] > 1 and received[1].shape == last.shape and np.allclose(received[1], last):
                hint = "dw = xᵀ · dout sums over the batch: every example contributes, not only the last."
        expect_gradients(received, expected, ("dx", "dw", "db"), call=Call("dense_backward", (), case),
                         limit=LIMIT, hint=hint)

    strategy = st.builds(dense_case, st.integers(0, 2**16), st.integers(1, 5), st.integers(1, 6), st.integers(1, 5))
    sweep = [dense_case(i, *shape) for i, shape in enumerate([(1, 3, 2), (4, 5, 3), (3, 1, 1), (2, 6, 4)])]
    check_function(sub, "dense_backward", strategy=lambda: strategy, sweep=sweep, verify=verify)


def softmax_case(seed: int, n: int, classes: int, scale: float = 3.0, offset: float = 0.0) -> dict:
    """Logits offset + scale·N(0, 1): a large offset overflows exp() unless the max is subtracted."""
    rng = np.random.default_rng(seed)
    return {"logits": offset + scale * rng.standard_normal((n, classes)), "labels": rng.integers(0, classes, n)}


def _verify_softmax(case: dict, received: object) -> None:
    loss, dlogits = tf_ref.softmax_cross_entropy(**case)
    call = Call("softmax_cross_entropy", (), case)
    n = case["logits"].shape[0]
    if not isinstance(received, tuple) or len(received) != 2:
        raise CheckFailure("softmax_cross_entropy must return a tuple (loss, dlogits).",
                           evidence=[("call", call), ("received", type(received).__name__)])
    got_loss, got_grad = received
    got_loss = same_kind_number(got_loss, float, function="softmax_cross_entropy")  # np.float64 is a float
    if type(got_loss) is not float or not np.isfinite(got_loss) or abs(got_loss - loss) > 1e-7 * max(1.0, abs(loss)):
        hint = None
        if type(got_loss) is float and n > 1 and abs(got_loss - n * loss) <= 1e-7 * n * max(1.0, abs(loss)):
            hint = "The loss is the *mean* over the batch: divide the sum by N."
        elif type(got_loss) is not float:
            hint = "Return the loss as a number: a Python float (float(...)) or a NumPy floating scalar."
        raise CheckFailure("softmax_cross_entropy returned the wrong loss.",
                           evidence=[("call", call), ("expected", f"float {loss:.10g}"),
                                     ("received", f"{type(got_loss).__name__} {got_loss!r}"[:120])], hint=hint)
    hint = None
    if isinstance(got_grad, np.ndarray) and got_grad.shape == dlogits.shape and n > 1:
        if np.allclose(got_grad, n * dlogits):
            hint = "The loss is a mean, so dlogits is (softmax − one-hot) / N."
    expect_gradients(got_grad, (dlogits,), ("dlogits",), call=call, limit=LIMIT, hint=hint)


@CHECKS.check("softmax_cross_entropy: mean loss and dlogits match TensorFlow, also for logits near 1000",
              points=3,
              needs=("softmax_cross_entropy",), id="softmax-cross-entropy")
def softmax_values(sub: Submission) -> None:
    strategy = st.builds(softmax_case, st.integers(0, 2**16), st.integers(1, 6), st.integers(2, 6),
                         st.sampled_from((1.0, 3.0, 20.0)), st.sampled_from((0.0, -30.0, 1000.0)))
    sweep = [softmax_case(1, 1, 3), softmax_case(2, 4, 10), softmax_case(3, 5, 2),
             softmax_case(4, 3, 4, 3.0, 1000.0)]
    check_function(sub, "softmax_cross_entropy", strategy=lambda: strategy, sweep=sweep, verify=_verify_softmax)


# A check grades one thing: each of these two is judged on its own, so a slip in one function
# (dlogits not divided by N) never costs the other. The id of the old combined check is kept by
# the first half (dense_backward), so that gradebooks keep their column.
@CHECKS.check("dense_backward passes a centred-difference gradient check", points=0.5,
              needs=("dense_backward",), id="numerical-dense-softmax")
def numerical_dense(sub: Submission) -> None:
    case = dense_case(77, 3, 4, 2)
    received = sub.call("dense_backward", **case)

    def dense_loss(x=case["x"], w=case["w"], b=case["b"]) -> float:
        return float(np.sum((x @ w + b) * case["dout"]))

    expected = (numerical_gradient(lambda v: dense_loss(x=v), case["x"]),
                numerical_gradient(lambda v: dense_loss(w=v), case["w"]),
                numerical_gradient(lambda v: dense_loss(b=v), case["b"]))
    expect_gradients(received, expected, ("dx", "dw", "db"), call=Call("dense_backward", (), case),
                     limit=LIMIT, reference="centred differences (h = 1e-5)")


@CHECKS.check("softmax_cross_entropy passes a centred-difference gradient check", points=0.5,
              needs=("softmax_cross_entropy",), id="numerical-softmax")
def numerical_softmax(sub: Submission) -> None:
    soft = softmax_case(78, 3, 4)
    received = sub.call("softmax_cross_entropy", **soft)
    grad = received[1] if isinstance(received, tuple) and len(received) == 2 else received
    numeric = numerical_gradient(lambda v: tf_ref.softmax_cross_entropy(v, soft["labels"])[0], soft["logits"])
    expect_gradients(grad, (numeric,), ("dlogits",), call=Call("softmax_cross_entropy", (), soft),
                     limit=LIMIT, reference="centred differences of the mean loss (h = 1e-5)")


# -- conventions ----------------------------------------------------------------------------------

_UNCHANGED = ("conv2d_backward", "max_pool2d_backward", "relu_backward", "dense_backward", "softmax_cross_entropy")


@CHECKS.check("no backward function modifies its inputs", points=1, needs=_UNCHANGED, id="inputs-unchanged",
              per_function=True)
def inputs_unchanged(sub: Submission) -> None:
    conv = with_dout(conv_case(90, n=1, height=4, width=4, channels=1, filters=1, kernel=(2, 2), stride=1,
                               padding=0), 90)
    calls = {"conv2d_backward": conv,
             "max_pool2d_backward": _pool_case(images(91, (1, 4, 4, 1)), 2, None, 91),
             "relu_backward": {"dout": images(92, (3, 4)), "x": images(93, (3, 4))},
             "dense_backward": dense_case(94, 2, 3, 2), "softmax_cross_entropy": softmax_case(95, 3, 4)}
    each_function(sub, _UNCHANGED, lambda f: expect_inputs_unchanged(sub, [(f, calls[f])]), file="exercise5.py")


_INVALID = [
    ("relu_backward", {"dout": images(1, (2, 3)), "x": images(2, (3, 2))}, ("dout", "x")),
    ("dense_backward", {**dense_case(3, 2, 3, 2), "w": images(4, (4, 2))}, ("w",)),
    ("softmax_cross_entropy", {"logits": images(5, (3, 4)), "labels": np.array([0, 1, 4])}, ("labels",)),
    ("conv2d_backward", {**with_dout(conv_case(6, n=1, height=4, width=4, channels=1, filters=1, kernel=(2, 2),
                                                stride=1, padding=0), 6), "dout": images(7, (1, 2, 2, 1))}, ("dout",)),
]
_VALIDATING = ("relu_backward", "dense_backward", "softmax_cross_entropy", "conv2d_backward")


@CHECKS.check("invalid arguments raise a ValueError naming them", points=1, needs=_VALIDATING,
              id="invalid-arguments", per_function=True)
def invalid_arguments(sub: Submission) -> None:
    expect_rejections_each(sub, _INVALID, file="exercise5.py")


@CHECKS.check("hidden: conv2d_backward on larger batches, channels and non-square kernels", points=1, hidden=True,
              needs=("conv2d_backward",), id="hidden-conv-backward")
def hidden_conv_backward(sub: Submission) -> None:
    sweep = conv_backward_sweep([(3, 8, 9, 3, 4, (3, 2), (2, 1), "same"), (2, 9, 9, 4, 3, 4, 2, 1),
                                 (4, 7, 6, 2, 5, (1, 3), 1, "full")])
    _conv_check(sub, conv_backward_cases(strides=st.integers(1, 3), max_channels=4), sweep)
