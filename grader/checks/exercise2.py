"""Checks for exercise 2: parameter counting.

Expected values come from ``grader.reference.formulas`` (pure Python, proven
equal to ``layer.count_params()`` and ``keras.Model.summary()`` numbers of real
Keras models by ``tests/test_reference_formulas.py``), and from the lectures'
worked numbers in ``grader.reference.lecture_models``; each worked number is
its own check. Grading this exercise never imports TensorFlow.
"""

from __future__ import annotations

import itertools
import random

from grader.checking.check import Call, Checklist, Shown, Submission, slugify
from grader.checking.compare import describe_type, expect_exact, expect_rejections_each
from grader.checking.outcomes import CheckFailure
from grader.checking.properties import check_function, seeded_random, strategies
from grader.checking.spaces import Flags, IntOrPair, Ints, IntTuple, Space
from grader.reference import formulas as ref
from grader.reference import lecture_models as lectures

CHECKS = Checklist("exercise2")


# -- hints for the mistakes students make -------------------------------------------------------

def _count_hint(function: str, case: dict, received: object) -> str | None:
    if type(received) is not int:
        return None
    no_bias = {**case, "use_bias": False}
    if case.get("use_bias", True) and function != "batchnorm_params":
        try:
            if received == getattr(ref, function)(**no_bias):
                return "The bias is missing: each filter (or unit) also learns one bias."
        except (TypeError, ValueError):
            pass
    if function == "separable_conv2d_params" and case.get("depth_multiplier", 1) > 1:
        channels, filters = case["in_channels"], case["filters"]
        depthwise = ref.depthwise_conv2d_params(case["kernel_size"], channels, case["depth_multiplier"],
                                                use_bias=False)
        if received == depthwise + channels * filters + (filters if case.get("use_bias", True) else 0):
            return "The depthwise step makes C_in·dm maps: the pointwise 1x1 convolution sees C_in·dm maps."
    return None


def _verify_count(function: str):
    def verify(case: dict, received: object) -> None:
        expected = getattr(ref, function)(**case)
        if received == expected and type(received) is type(expected):
            return
        expect_exact(received, expected, call=Call(function, (), case),
                     hint=_count_hint(function, case, received))

    return verify


# -- the lectures' worked numbers ---------------------------------------------------------------

def _worked_number(worked: lectures.WorkedNumber) -> None:
    @CHECKS.check(f"lecture: {worked.lecture}", points=1, needs=(worked.function,))
    def check(sub: Submission) -> None:
        received = sub.call(worked.function, **worked.kwargs)
        hint = _count_hint(worked.function, dict(worked.kwargs), received)
        if worked.function == "batchnorm_params" and isinstance(received, tuple) and len(received) == 2:
            if received[1] == 0:
                hint = ("The moving mean and variance are weights too, but not trained: "
                        "they are the non-trainable half.")
        expect_exact(received, worked.expected, call=Call(worked.function, (), dict(worked.kwargs)),
                     hint=hint)


for _worked in lectures.WORKED_PARAMS:
    _worked_number(_worked)


def _summary_rows(summary: object) -> list[str]:
    if not isinstance(summary, dict) or not isinstance(summary.get("layers"), list):
        return []
    rows = []
    for layer in summary["layers"]:
        if isinstance(layer, dict):
            rows.append(f"{layer.get('type')!s:<24} {layer.get('output_shape')!s:<18} {layer.get('params')!s:>10}")
        else:
            rows.append(f"<{describe_type(layer)}>")
    return rows


def compare_summaries(received: object, expected: dict, call: Call) -> None:
    """Equal summaries, or a side-by-side table with the first differing layer marked."""
    if received == expected and _exactly_typed(received, expected):
        return
    try:
        expect_exact(received, expected, call=call)
    except CheckFailure as failure:
        want, got = _summary_rows(expected), _summary_rows(received)
        lines = [f"    {'expected':<54} | received"]
        marked = False
        for index in range(max(len(want), len(got))):
            left = want[index] if index < len(want) else ""
            right = got[index] if index < len(got) else "(missing)"
            marker = "  "
            if left != right and not marked:
                marker, marked = "→ ", True
            lines.append(f"  {marker}{left:<54} | {right}")
        if isinstance(received, dict):
            for key in ("total", "trainable", "non_trainable"):
                lines.append(f"    {key + ' ' + str(expected[key]):<54} | {key} {received.get(key)!s}")
        failure.details = "\n".join(lines)
        if isinstance(received, dict) and received.get("non_trainable") == 0 and expected["non_trainable"]:
            failure.hint = ("BatchNormalization's moving mean and variance count as parameters but are "
                            "non-trainable: 2·C of its 4·C.")
        raise


def _exactly_typed(received: object, expected: object) -> bool:
    if type(received) is not type(expected):
        return False
    if isinstance(expected, dict):
        return all(_exactly_typed(received[k], v) for k, v in expected.items())
    if isinstance(expected, list | tuple):
        return all(_exactly_typed(r, e) for r, e in zip(received, expected, strict=True))
    return True


def _lecture_model(model: lectures.LectureModel) -> None:
    @CHECKS.check(f"lecture: {model.lecture}", points=1, needs=("model_summary",), id=f"lecture-{slugify(model.name)}")
    def check(sub: Submission) -> None:
        received = sub.call("model_summary", model.input_shape, model.layer_specs())
        expected = ref.model_summary(model.input_shape, model.layer_specs())
        compare_summaries(received, expected,
                          Call("model_summary", (model.input_shape, Shown(f"<{model.name} layers>"))))


for _model in (lectures.MLP_SPEC, lectures.LENET5_SPEC, lectures.VGG16_CONV_BASE_SPEC,
               lectures.CONV64_DENSE10_SPEC, lectures.TWO_CONV_MNIST_SPEC):
    _lecture_model(_model)


# -- generated inputs -----------------------------------------------------------------------------
# Each check sweeps a grid of small cases plus DRAWN cases from the whole space, in one round
# trip; hypothesis searches the same space (and shrinks) only when that sweep found a failure.

_KERNELS = (1, 3, 5, (1, 3), (3, 1), (2, 5))
DRAWN = 40  # random cases per check, besides the grid


def _count_property(sub: Submission, function: str, grid: list[dict], space: Space) -> None:
    sweep = grid + space.draw(seeded_random(sub, function), DRAWN)
    check_function(sub, function, strategy=space.strategy, sweep=sweep, verify=_verify_count(function),
                   max_examples=0)


@CHECKS.check("conv2d_params for any kernel, channels, filters and bias", points=1, needs=("conv2d_params",))
def conv2d_params_values(sub: Submission) -> None:
    grid = [{"kernel_size": k, "in_channels": c, "filters": f, "use_bias": b}
            for k, c, f, b in itertools.product(_KERNELS, (1, 3, 16), (1, 8, 64), (True, False))]
    space = Space({"kernel_size": IntOrPair(1, 11), "in_channels": Ints(1, 512), "filters": Ints(1, 512),
                   "use_bias": Flags()})
    _count_property(sub, "conv2d_params", grid, space)


@CHECKS.check("conv_params for 1D, 2D and 3D kernels", points=1, needs=("conv_params",))
def conv_params_values(sub: Submission) -> None:
    grid = [{"kernel_size": k, "in_channels": c, "filters": f, "use_bias": b}
            for k, c, f, b in itertools.product(((3,), (5,), (3, 3), (1, 5), (3, 3, 3), (1, 2, 3)),
                                                (1, 4), (2, 32), (True, False))]
    space = Space({"kernel_size": IntTuple(1, 7, 1, 3), "in_channels": Ints(1, 256), "filters": Ints(1, 256),
                   "use_bias": Flags()})
    _count_property(sub, "conv_params", grid, space)


@CHECKS.check("dense_params with and without bias", points=1, needs=("dense_params",))
def dense_params_values(sub: Submission) -> None:
    grid = [{"in_features": n, "units": u, "use_bias": b}
            for n, u, b in itertools.product((1, 10, 784, 1600), (1, 10, 128), (True, False))]
    space = Space({"in_features": Ints(1, 10_000), "units": Ints(1, 4096), "use_bias": Flags()})
    _count_property(sub, "dense_params", grid, space)


@CHECKS.check("depthwise_conv2d_params with depth multipliers", points=1,
              needs=("depthwise_conv2d_params",))
def depthwise_values(sub: Submission) -> None:
    grid = [{"kernel_size": k, "in_channels": c, "depth_multiplier": m, "use_bias": b}
            for k, c, m, b in itertools.product(_KERNELS, (1, 3, 32), (1, 2, 4), (True, False))]
    space = Space({"kernel_size": IntOrPair(1, 7), "in_channels": Ints(1, 256), "depth_multiplier": Ints(1, 8),
                   "use_bias": Flags()})
    _count_property(sub, "depthwise_conv2d_params", grid, space)


@CHECKS.check("separable_conv2d_params: depthwise, then pointwise", points=1,
              needs=("separable_conv2d_params",))
def separable_values(sub: Submission) -> None:
    grid = [{"kernel_size": k, "in_channels": c, "filters": f, "depth_multiplier": m, "use_bias": b}
            for k, c, f, m, b in itertools.product(_KERNELS, (1, 3, 32), (1, 16), (1, 2), (True, False))]
    space = Space({"kernel_size": IntOrPair(1, 7), "in_channels": Ints(1, 256), "filters": Ints(1, 256),
                   "depth_multiplier": Ints(1, 8), "use_bias": Flags()})
    _count_property(sub, "separable_conv2d_params", grid, space)


def random_model(rng: random.Random) -> dict:
    """A valid model_summary case: an image input, a conv/pool/BN stack, a dense head."""
    height, width = rng.randint(8, 40), rng.randint(8, 40)
    shape = (height, width, rng.choice((1, 3)))
    layers: list[dict] = []
    for _ in range(rng.randint(1, 4)):
        kernel = rng.choice((1, 3, 5, (3, 1)))
        padding = rng.choice(("valid", "same"))
        spec = {"type": "Conv2D", "filters": rng.choice((4, 8, 16)), "kernel_size": kernel,
                "padding": padding, "strides": rng.choice((1, 1, 2)), "use_bias": rng.random() < 0.8}
        candidate = [*layers, spec]
        if rng.random() < 0.4:
            candidate.append({"type": "BatchNormalization"})
        if rng.random() < 0.4:
            candidate.append({"type": rng.choice(("MaxPooling2D", "AveragePooling2D")), "pool_size": 2,
                              "padding": rng.choice(("valid", "same"))})
        try:
            ref.model_summary(shape, candidate)
        except ValueError:
            break
        layers = candidate
    head = rng.choice((
        [{"type": "Flatten"}],
        [{"type": "GlobalAveragePooling2D"}],
        [{"type": "Flatten"}, {"type": "Dropout", "rate": 0.5}],
    ))
    tail = [{"type": "Dense", "units": rng.choice((10, 32)), "activation": "relu"}]
    if rng.random() < 0.3:
        tail.append({"type": "BatchNormalization"})
    tail.append({"type": "Dense", "units": 10, "activation": "softmax"})
    return {"input_shape": shape, "layers": layers + head + tail}


def _verify_summary(case: dict, received: object) -> None:
    expected = ref.model_summary(case["input_shape"], case["layers"])
    compare_summaries(received, expected,
                      Call("model_summary", (case["input_shape"], Shown(f"<{len(case['layers'])} layers>"))))


def _model_cases():
    """Generated models, as a hypothesis strategy of generator seeds (shrinking moves to seed 0, not to a smaller model)."""
    return strategies().integers(0, 2**32 - 1).map(lambda seed: random_model(random.Random(seed)))


@CHECKS.check("model_summary on generated CNNs (shapes, per-layer params, totals)", points=1,
              needs=("model_summary",), id="model-summary-generated")
def model_summary_generated(sub: Submission) -> None:
    rng = seeded_random(sub, "model_summary")
    check_function(sub, "model_summary", strategy=_model_cases, sweep=[random_model(rng) for _ in range(60)],
                   verify=_verify_summary, max_examples=0)


@CHECKS.check("hidden: model_summary of the exercise 6 models (BatchNormalization, elu, dropout)",
              points=1, hidden=True, needs=("model_summary",), id="hidden-exercise6-models")
def model_summary_exercise6(sub: Submission) -> None:
    for model in (lectures.LECTURE_CNN_SPEC, lectures.BN_CNN_SPEC, lectures.SMALL_CONVNET_SPEC,
                  lectures.CIFAR10_CNN_SPEC):
        received = sub.call("model_summary", model.input_shape, model.layer_specs())
        expected = ref.model_summary(model.input_shape, model.layer_specs())
        compare_summaries(received, expected,
                          Call("model_summary", (model.input_shape, Shown(f"<{model.name} layers>"))))


# -- invalid arguments ----------------------------------------------------------------------------

_INVALID = [
    ("conv2d_params", {"kernel_size": 0, "in_channels": 3, "filters": 2}, ("kernel_size",)),
    ("conv2d_params", {"kernel_size": 3, "in_channels": 0, "filters": 2}, ("in_channels",)),
    ("conv2d_params", {"kernel_size": 3, "in_channels": 3, "filters": -1}, ("filters",)),
    ("dense_params", {"in_features": 0, "units": 10}, ("in_features",)),
    ("dense_params", {"in_features": 10, "units": 0}, ("units",)),
    ("batchnorm_params", {"channels": 0}, ("channels",)),
    ("conv_params", {"kernel_size": (3, 3, 3, 3), "in_channels": 1, "filters": 1}, ("kernel_size",)),
    ("model_summary", {"input_shape": (28, 28, 1), "layers": [{"type": "Conv3X"}]}, ("type",)),
]


@CHECKS.check("invalid arguments raise a ValueError naming them", points=1,
              needs=("conv2d_params", "dense_params", "batchnorm_params", "conv_params", "model_summary"),
              id="invalid-arguments", per_function=True)
def invalid_arguments(sub: Submission) -> None:
    expect_rejections_each(sub, _INVALID, file="exercise2.py")
