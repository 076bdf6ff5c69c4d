"""Checks for exercise 1: convolution arithmetic.

Each property is checked on an exhaustive grid of small cases (and random large
ones) in one round trip to the sandbox; hypothesis searches for, and shrinks, a
failure only when the grid found one. Expected values come from ``grader.reference.formulas``, pure Python proven
equal to Keras/TensorFlow by ``tests/test_reference_formulas.py`` (so grading
this exercise never imports TensorFlow). Every worked number of the lectures is
its own check.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable

from grader.checking.check import Call, Checklist, Submission
from grader.checking.compare import (
    expect_exact,
    expect_int,
    expect_rejections,
    expect_rejections_each,
)
from grader.checking.properties import check_function, seeded_random, strategies
from grader.reference import formulas as ref

CHECKS = Checklist("exercise1")


# -- the lectures' worked numbers ---------------------------------------------------------------

def _lecture(name: str, function: str, args: tuple, kwargs: dict, expected: int, rule: str) -> None:
    @CHECKS.check(f"lecture: {name}", points=1, needs=(function,))
    def worked_number(sub: Submission) -> None:
        received = sub.call(function, *args, **kwargs)
        expect_int(received, expected, call=Call(function, args, kwargs), rule=rule)


_lecture("W=7, F=3, P=0, S=1 gives 5", "conv_output_size", (7, 3), {"stride": 1, "padding": 0}, 5,
         "floor((W + 2P - F) / S) + 1 = floor((7 + 0 - 3) / 1) + 1 = 5")
_lecture("28x28 with a 3x3 kernel, stride 1 gives 26", "conv_output_size", (28, 3), {"stride": 1}, 26,
         "floor((28 - 3) / 1) + 1 = 26")
_lecture("28x28 with a 3x3 kernel, stride 2 gives 13", "conv_output_size", (28, 3), {"stride": 2}, 13,
         "floor((28 - 3) / 2) + 1 = 12 + 1 = 13")
_lecture("W=5, F=3, P=0, S=1 gives 3", "conv_output_size", (5, 3), {"stride": 1, "padding": 0}, 3,
         "floor((5 - 3) / 1) + 1 = 3")
_lecture("9x9 with 3x3 max pooling, stride 3 gives 3x3", "pool_output_size", (9, 3), {"stride": 3}, 3,
         "floor((9 - 3) / 3) + 1 = 3")


# -- generated inputs: exhaustive sweeps; hypothesis strategies, built only when a sweep found a
# failure to search for and shrink ----------------------------------------------------------------

def conv_cases(paddings=("int",), dilated: bool = False):
    """Valid conv_output_size arguments: the (dilated) kernel fits the padded input."""
    st = strategies()

    @st.composite
    def case(draw) -> dict:
        kind = draw(st.sampled_from(paddings))
        kernel = draw(st.integers(1, 7))
        dilation = draw(st.integers(2, 4)) if dilated else 1
        stride = draw(st.integers(1, 4))
        effective = dilation * (kernel - 1) + 1
        if kind == "int":
            padding = draw(st.integers(0, 3))
        elif kind == "full":
            padding = "full"
        else:
            padding = kind
        pad_amount = padding if isinstance(padding, int) else (dilation * (kernel - 1) if padding == "full" else 0)
        smallest = max(1, effective - 2 * pad_amount) if padding != "same" else 1
        size = draw(st.integers(smallest, smallest + 40))
        return {"input_size": size, "kernel_size": kernel, "stride": stride, "padding": padding,
                "dilation": dilation}

    return case()


def _conv_hint(case: dict, received: object) -> str | None:
    try:
        return _known_conv_mistake(case, received)
    except ValueError:  # the mistaken formula itself does not apply to this input
        return None


def _known_conv_mistake(case: dict, received: object) -> str | None:
    size, kernel, stride = case["input_size"], case["kernel_size"], case["stride"]
    padding, dilation = case["padding"], case["dilation"]
    if padding == "same" and received == size and stride > 1:
        return f"'same' keeps the size only at stride 1; at stride {stride} it gives ceil(W / S)."
    if dilation > 1 and received == ref.conv_output_size(size, kernel, stride, padding, 1):
        return "That is the size for dilation 1: a dilated kernel covers D·(F−1)+1 pixels."
    if isinstance(padding, int):
        exact = (size + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1
        if received != math.floor(exact) and received in (round(exact), math.ceil(exact)):
            return "Round down: the window must fit entirely, so use floor division (//)."
        if padding and received == ref.conv_output_size(size, kernel, stride, 0, dilation):
            return "Your size is what padding=0 gives: P zeros are added on *both* sides."
    return None


def _conv_rule(case: dict) -> str:
    size, kernel, stride, padding, dilation = (case[k] for k in
                                               ("input_size", "kernel_size", "stride", "padding", "dilation"))
    if padding == "same":
        return f"'same': ceil(W / S) = ceil({size} / {stride}) = {math.ceil(size / stride)}"
    pad = 0 if padding == "valid" else dilation * (kernel - 1) if padding == "full" else padding
    expected = ref.conv_output_size(size, kernel, stride, padding, dilation)
    return (f"floor((W + 2P - D(F-1) - 1) / S) + 1 = floor(({size} + {2 * pad} - {dilation * (kernel - 1)} - 1)"
            f" / {stride}) + 1 = {expected}")


def conv_sweep(paddings: tuple, dilations: tuple = (1,), sizes: range = range(1, 17)) -> list[dict]:
    """Every valid small case, smallest first (its first failure is already small)."""
    cases = []
    for size, kernel, stride, padding, dilation in itertools.product(
            sizes, range(1, 6), range(1, 5), paddings, dilations):
        case = {"input_size": size, "kernel_size": kernel, "stride": stride, "padding": padding,
                "dilation": dilation}
        try:
            ref.conv_output_size(**case)
        except ValueError:
            continue
        cases.append(case)
    return cases


def _verify_conv(case: dict, received: object) -> None:
    expected = ref.conv_output_size(**case)
    if type(received) is int and received == expected:
        return
    expect_int(received, expected, call=Call("conv_output_size", (), case),
               rule=_conv_rule(case), hint=_conv_hint(case, received))


def _conv_property(sub: Submission, strategy: Callable, sweep: list[dict]) -> None:
    check_function(sub, "conv_output_size", strategy=strategy, sweep=sweep, verify=_verify_conv, max_examples=0)


@CHECKS.check("conv_output_size with integer padding and strides", points=2, needs=("conv_output_size",))
def conv_size_int_padding(sub: Submission) -> None:
    _conv_property(sub, lambda: conv_cases(("int",)), conv_sweep((0, 1, 2)))


@CHECKS.check("conv_output_size with dilation", points=1, needs=("conv_output_size",))
def conv_size_dilation(sub: Submission) -> None:
    _conv_property(sub, lambda: conv_cases(("int", "valid", "full"), dilated=True),
                   conv_sweep((0, 1, "valid", "full"), dilations=(2, 3), sizes=range(1, 13)))


@CHECKS.check('conv_output_size with "same" padding (TensorFlow: ceil(W / S))', points=1,
              needs=("conv_output_size",))
def conv_size_same(sub: Submission) -> None:
    _conv_property(sub, lambda: conv_cases(("same",)) | conv_cases(("same",), dilated=True),
                   conv_sweep(("same",), dilations=(1, 2)))


@CHECKS.check('conv_output_size with "valid" and "full" padding', points=1, needs=("conv_output_size",))
def conv_size_words(sub: Submission) -> None:
    _conv_property(sub, lambda: conv_cases(("valid", "full")), conv_sweep(("valid", "full")))


def pool_cases(padding: str):
    st = strategies()

    @st.composite
    def case(draw) -> dict:
        pool = draw(st.integers(1, 5))
        stride = draw(st.one_of(st.none(), st.integers(1, 5)))
        size = draw(st.integers(pool if padding == "valid" else 1, 48))
        drawn = {"input_size": size, "pool_size": pool, "padding": padding}
        if stride is not None:
            drawn["stride"] = stride
        return drawn

    return case()


def pool_sweep(padding: str) -> list[dict]:
    cases = []
    for size, pool, stride in itertools.product(range(1, 17), range(1, 5), (None, 1, 2, 3, 4)):
        if padding == "valid" and pool > size:
            continue
        case = {"input_size": size, "pool_size": pool, "padding": padding}
        if stride is not None:
            case["stride"] = stride
        cases.append(case)
    return cases


def _verify_pool(case: dict, received: object) -> None:
    expected = ref.pool_output_size(**case)
    if type(received) is int and received == expected:
        return
    hint = None
    if "stride" not in case and case["pool_size"] > 1 and received == case["input_size"] - case["pool_size"] + 1:
        hint = "When stride is None it defaults to pool_size (non-overlapping windows), not 1."
    expect_int(received, expected, call=Call("pool_output_size", (), case),
               hint=hint)


def _pool_property(sub: Submission, padding: str) -> None:
    check_function(sub, "pool_output_size", strategy=lambda: pool_cases(padding), sweep=pool_sweep(padding), max_examples=0,
                   verify=_verify_pool)


@CHECKS.check('pool_output_size with "valid" padding and the default stride', points=1,
              needs=("pool_output_size",))
def pool_size_valid(sub: Submission) -> None:
    _pool_property(sub, "valid")


@CHECKS.check('pool_output_size with "same" padding', points=1, needs=("pool_output_size",))
def pool_size_same(sub: Submission) -> None:
    _pool_property(sub, "same")


@CHECKS.check("same_padding keeps the size at stride 1", points=1, needs=("same_padding",))
def same_padding_values(sub: Submission) -> None:
    def cases():
        st = strategies()
        return st.builds(lambda k, d: {"kernel_size": 2 * k + 1, "dilation": d}, st.integers(0, 5), st.integers(1, 4))

    sweep = [{"kernel_size": k, "dilation": d} for k in range(1, 10) for d in range(1, 5)
             if d * (k - 1) % 2 == 0]

    def verify(case: dict, received: object) -> None:
        expected = ref.same_padding(**case)
        hint = None
        if case["dilation"] > 1 and received == case["kernel_size"] // 2:
            hint = "With dilation the kernel covers D·(F−1)+1 pixels: P = D·(F−1)/2."
        expect_int(received, expected, call=Call("same_padding", (), case),
                   rule=f"P = D(F-1)/2 = {case['dilation']}·{case['kernel_size'] - 1}/2 = {expected}", hint=hint)

    check_function(sub, "same_padding", strategy=cases, sweep=sweep, verify=verify, max_examples=0)


def shape_cases():
    st = strategies()

    @st.composite
    def case(draw) -> dict:
        def pair_or_int(values):
            return draw(st.one_of(values, st.tuples(values, values)))

        kernel = pair_or_int(st.integers(1, 5))
        stride = pair_or_int(st.integers(1, 3))
        padding = draw(st.one_of(st.sampled_from(["valid", "same", "full"]), st.integers(0, 2),
                                 st.tuples(st.integers(0, 2), st.integers(0, 2))))
        k_h, k_w = kernel if isinstance(kernel, tuple) else (kernel, kernel)
        height = draw(st.integers(k_h + 4, 40))
        width = draw(st.integers(k_w + 4, 40))
        channels = draw(st.integers(1, 8))
        filters = draw(st.integers(1, 64))
        return {"input_shape": (height, width, channels), "filters": filters, "kernel_size": kernel,
                "stride": stride, "padding": padding}

    return case()


@CHECKS.check("conv_output_shape for non-square inputs, pairs and padding words", points=2,
              needs=("conv_output_shape",), id="conv-output-shape")
def conv_output_shape_values(sub: Submission) -> None:
    sweep = []
    for size, kernel, stride, padding in itertools.product(
            ((5, 7), (12, 9), (7, 7)), (1, 3, (3, 5), (5, 1)), (1, 2, (1, 2)),
            (0, 1, (1, 0), "valid", "same", "full")):
        case = {"input_shape": (*size, 3), "filters": 4, "kernel_size": kernel, "stride": stride,
                "padding": padding}
        try:
            ref.conv_output_shape(**case)
        except ValueError:
            continue
        sweep.append(case)

    def verify(case: dict, received: object) -> None:
        expected = ref.conv_output_shape(**case)
        if received == expected and type(received) is tuple and all(type(v) is int for v in received):
            return
        hint = None
        channels = case["input_shape"][2]
        if isinstance(received, tuple) and len(received) == 3:
            if received == (expected[1], expected[0], expected[2]) and expected[0] != expected[1]:
                hint = "Height and width are swapped: the shape is (H', W', K), H first."
            elif received[:2] == expected[:2] and received[2] == channels != case["filters"]:
                hint = "The output has one channel per filter: the last entry is `filters`, not C."
        expect_exact(received, expected, call=Call("conv_output_shape", (), case), hint=hint)

    check_function(sub, "conv_output_shape", strategy=shape_cases, sweep=sweep, verify=verify, max_examples=0)


def receptive_cases():
    st = strategies()
    layers = st.lists(st.tuples(st.integers(1, 7), st.integers(1, 3)), min_size=1, max_size=6)
    return layers.map(lambda drawn: {"layers": drawn})


@CHECKS.check("receptive_field of a stack of layers", points=2, needs=("receptive_field",))
def receptive_field_values(sub: Submission) -> None:
    # every stack of one or two layers, then deeper stacks drawn (3 layers are needed to tell the
    # product of all earlier strides from the last one alone)
    sweep = [{"layers": list(layers)} for depth in (1, 2)
             for layers in itertools.product(itertools.product(range(1, 5), range(1, 4)), repeat=depth)]
    rng = seeded_random(sub, "receptive_field")
    sweep += sorted(({"layers": [(rng.randint(1, 7), rng.randint(1, 3)) for _ in range(rng.randint(3, 6))]}
                     for _ in range(300)), key=lambda case: len(case["layers"]))

    def verify(case: dict, received: object) -> None:
        layers = case["layers"]
        expected = ref.receptive_field(layers)
        if type(received) is int and received == expected:
            return
        hint = None
        if received != expected and received in (sum(k for k, _ in layers), 1 + sum(k - 1 for k, _ in layers)):
            hint = ("Each layer's (F−1) adds to the field scaled by the product of the strides of the "
                    "layers before it: r = 1 + Σ (F_i − 1)·Π_{j<i} S_j.")
        expect_int(received, expected, call=Call("receptive_field", (layers,)), hint=hint,
                   rule="r = 1 + Σ (F_i − 1) · Π_{j<i} S_j")

    check_function(sub, "receptive_field", strategy=receptive_cases, max_examples=0,
                   sweep=sweep, verify=verify)


# -- invalid arguments ----------------------------------------------------------------------------

_C = "conv_output_size"
_INVALID_CONV = [
    (_C, {"input_size": 0, "kernel_size": 3}, ("input_size",)),
    (_C, {"input_size": 7, "kernel_size": 0}, ("kernel_size",)),
    (_C, {"input_size": 7, "kernel_size": 3, "stride": 0}, ("stride",)),
    (_C, {"input_size": 7, "kernel_size": 3, "stride": -1}, ("stride",)),
    (_C, {"input_size": 7, "kernel_size": 3, "padding": "middle"}, ("padding",)),
    (_C, {"input_size": 7, "kernel_size": 3, "padding": -1}, ("padding",)),
    (_C, {"input_size": 7, "kernel_size": 3, "dilation": 0}, ("dilation",)),
    (_C, {"input_size": 3, "kernel_size": 5}, ("kernel_size", "input_size")),
]
_INVALID_OTHER = [
    ("pool_output_size", {"input_size": 9, "pool_size": 3, "padding": 1}, ("padding",)),
    ("pool_output_size", {"input_size": 9, "pool_size": 3, "padding": "full"}, ("padding",)),
    ("pool_output_size", {"input_size": 2, "pool_size": 3}, ("pool_size", "input_size")),
    ("pool_output_size", {"input_size": 9, "pool_size": 3, "stride": 0}, ("stride",)),
    ("same_padding", {"kernel_size": 4}, ("kernel_size",)),
    ("conv_output_shape", {"input_shape": (28, 28, 1), "filters": 0, "kernel_size": 3}, ("filters",)),
]


@CHECKS.check("conv_output_size rejects invalid arguments with a ValueError naming them", points=1,
              needs=("conv_output_size",), id="conv-output-size-invalid-arguments")
def conv_size_invalid(sub: Submission) -> None:
    expect_rejections(sub, _INVALID_CONV)


@CHECKS.check("pool_output_size, same_padding and conv_output_shape reject invalid arguments",
              points=1, needs=("pool_output_size", "same_padding", "conv_output_shape"),
              id="other-invalid-arguments", per_function=True)
def other_invalid(sub: Submission) -> None:
    expect_rejections_each(sub, _INVALID_OTHER, file="exercise1.py")


@CHECKS.check("hidden: large inputs, strides and dilations together", points=1, hidden=True,
              needs=("conv_output_size",))
def conv_size_hidden(sub: Submission) -> None:
    def cases():
        st = strategies()
        return st.builds(
            lambda w, f, s, d, p: {"input_size": w, "kernel_size": f, "stride": s, "padding": p, "dilation": d},
            st.integers(200, 4096), st.integers(1, 11), st.integers(1, 8), st.integers(1, 6),
            st.one_of(st.integers(0, 8), st.sampled_from(["same", "valid", "full"])),
        )

    rng = random.Random(20261122)
    sweep = sorted(
        ({"input_size": rng.randint(200, 4096), "kernel_size": rng.randint(1, 11), "stride": rng.randint(1, 8),
          "padding": rng.choice([0, 3, 8, "same", "valid", "full"]), "dilation": rng.randint(1, 6)}
         for _ in range(300)),
        key=lambda c: c["input_size"],
    )
    _conv_property(sub, cases, sweep)
