"""Checks for exercise 6: the lecture models in Keras.

The student's builder runs in the sandbox (with TensorFlow) and saves the model
as ``.keras``; the grader reads only the archive's ``config.json``
(``grader.intake.keras_file``), turns it into a chain of layers and computes shapes and
parameter counts with ``grader.reference.formulas.model_summary`` (proven equal
to ``keras.Model.summary()``). It compares the computation, not the spelling: an
activation may be a layer argument or an ``Activation`` layer, except where the
lecture says the order matters (CIFAR-10: Conv, BatchNorm, then elu).
Activations are checked where SPEC.md states them; elsewhere any is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.checking.check import Checklist, Submission, slugify
from grader.checking.outcomes import CheckFailure
from grader.checking.table import FailureTable
from grader.intake.keras_archive import RefusedModel, read_keras_archive
from grader.intake.keras_file import model_spec, summarize
from grader.reference import lecture_models as lectures

CHECKS = Checklist("exercise6")


def _slug(function: str) -> str:
    """A builder's name in a check id (ids are kebab-case: ``build-mlp-structure``)."""
    return slugify(function)
ANY = "any"


@dataclass(frozen=True)
class Expected:
    function: str
    model: lectures.LectureModel
    # the activation after each structural layer (not Activation layers), by index; ANY if unstated
    activations: dict[int, str | None]


def _structural(layers: list[dict]) -> list[tuple[dict, str | None]]:
    """(layer spec, activation that follows it) for every non-Activation layer, in order."""
    pairs: list[tuple[dict, str | None]] = []
    for layer in layers:
        if layer["type"] == "Activation":
            if pairs and pairs[-1][1] in (None, "linear"):
                pairs[-1] = (pairs[-1][0], layer.get("activation"))
            elif pairs:
                pairs[-1] = (pairs[-1][0], f"{pairs[-1][1]}+{layer.get('activation')}")
            continue
        spec = {k: v for k, v in layer.items() if k != "activation"}
        pairs.append((spec, layer.get("activation")))
    return pairs


def _canonical(input_shape: tuple, layers: list[dict]) -> list[dict]:
    """Every layer with its activation split out, as a flat list (the computation, not the spelling)."""
    flat = []
    for layer in layers:
        activation = layer.get("activation")
        flat.append({k: v for k, v in layer.items() if k != "activation" or layer["type"] == "Activation"})
        if layer["type"] != "Activation" and activation not in (None, "linear"):
            flat.append({"type": "Activation", "activation": activation})
    return flat


def _rows(input_shape: tuple, layers: list[dict]) -> tuple[list[tuple], dict]:
    """(type, output shape, params) per structural layer, and the summary totals."""
    summary = summarize(input_shape, layers)
    rows = [(row["type"], row["output_shape"], row["params"]) for row in summary["layers"]
            if row["type"] != "Activation"]
    return rows, summary


def _side_by_side(expected: list[tuple], received: list[tuple]) -> tuple[FailureTable, int | None]:
    """The two models layer by layer as a table (side by side when it fits, stacked when not),
    the first differing layer marked; and that layer's index."""
    every = [row for row in (*expected, *received) if row]
    kind = max((len(str(row[0])) for row in every), default=0)
    shape = max((len(str(row[1])) for row in every), default=0)

    def text(row: tuple | None) -> str:
        return f"{row[0]:<{kind}}  {str(row[1]):<{shape}}  {row[2]:>10,}" if row else "(missing)"

    rows, first = [], None
    for index in range(max(len(expected), len(received))):
        left = expected[index] if index < len(expected) else None
        right = received[index] if index < len(received) else None
        if left != right and first is None:
            first = index
        rows.append([text(left) if left else "", text(right)])
    return FailureTable(["expected", "received"], rows, marked=first), first


class _Built:
    """The student's model as the grader sees it (read once per builder)."""

    def __init__(self, sub: Submission, expected: Expected) -> None:
        data = sub.build_model_file(expected.function)
        call = f"{expected.function}()"
        try:
            spec = model_spec(read_keras_archive(data).config)
        except RefusedModel as refused:
            raise CheckFailure(f"{call} returned a model the grader cannot read: {refused}",
                               evidence=[("call", call)]) from None
        if spec.input_shape != expected.model.input_shape:
            raise CheckFailure(f"{call} builds a model for the wrong input shape.",
                               evidence=[("call", call), ("expected", str(expected.model.input_shape)),
                                         ("received", str(spec.input_shape))],
                               hint="Start the model with keras.Input(shape=...) of the stated shape.")
        self.layers = _canonical(spec.input_shape, spec.layers)
        try:
            self.rows, self.summary = _rows(spec.input_shape, self.layers)
        except RefusedModel as refused:
            raise CheckFailure(f"{call} returned a model the grader cannot read: {refused}",
                               evidence=[("call", call)]) from None
        except ValueError as error:
            raise CheckFailure(f"{call} builds a model whose shapes do not work out: {error}",
                               evidence=[("call", call)]) from None
        self.expected_layers = _canonical(expected.model.input_shape, expected.model.layer_specs())
        self.expected_rows, self.expected_summary = _rows(expected.model.input_shape, self.expected_layers)
        self.call = call


_CACHE_ATTRIBUTE = "_exercise6_models"


def built(sub: Submission, expected: Expected) -> _Built:
    cache = sub.cache.setdefault(_CACHE_ATTRIBUTE, {})
    if expected.function not in cache:
        cache[expected.function] = _Built(sub, expected)
    return cache[expected.function]


def _structure_check(expected: Expected) -> None:
    @CHECKS.check(f"{expected.function}: layer types, order and output shapes", points=2,
                  needs=(expected.function,), id=f"{_slug(expected.function)}-structure")
    def check(sub: Submission) -> None:
        model = built(sub, expected)
        want = [(t, s) for t, s, _ in model.expected_rows]
        got = [(t, s) for t, s, _ in model.rows]
        if want == got:
            return
        table, first = _side_by_side([(t, s, p) for t, s, p in model.expected_rows], model.rows)
        where = f" The first difference is at layer {first + 1}." if first is not None else ""
        hint = None
        if first is not None and first < len(model.rows) and first < len(model.expected_rows):
            if model.expected_rows[first][0] == model.rows[first][0]:
                hint = "Same layer type, other output shape: check its padding, kernel size and filters."
            elif len(model.rows) < len(model.expected_rows):
                hint = f"A {model.expected_rows[first][0]} layer seems to be missing here."
        raise CheckFailure(f"{model.call} does not have the lecture's layers.{where}",
                           evidence=[("call", model.call)], table=table, hint=hint)


def _counted(rows: list[tuple]) -> list[int]:
    """The parameter counts of the layers that have parameters, in order (types and shapes aside)."""
    return [params for _, _, params in rows if params]


def _params_check(expected: Expected) -> None:
    lecture = expected.model

    @CHECKS.check(f"{expected.function}: parameters per layer and in total ({lecture.total:,})", points=2,
                  needs=(expected.function,), id=f"{_slug(expected.function)}-params")
    def check(sub: Submission) -> None:
        # Counts only: the layer types and shapes are the structure check's (a MaxPooling2D where
        # the lecture has AveragePooling2D has the same 0 parameters and costs nothing here).
        model = built(sub, expected)
        received = (model.summary["total"], model.summary["trainable"], model.summary["non_trainable"])
        wanted = (lecture.total, lecture.trainable, lecture.non_trainable)
        got_counts, want_counts = _counted(model.rows), _counted(model.expected_rows)
        if received == wanted and got_counts == want_counts:
            return
        table, _ = _side_by_side(model.expected_rows, model.rows)
        table.footer.extend([f"{label} {want:,}", f"{label} {got:,}"]
                            for label, want, got in zip(("total", "trainable", "non-trainable"), wanted, received,
                                                        strict=True))
        if received[0] != wanted[0]:
            summary = f"{model.call} has {received[0]:,} parameters; the lecture's model has {wanted[0]:,}."
        elif received != wanted:
            summary = (f"{model.call} has the lecture's {wanted[0]:,} parameters in total, but {received[1]:,} "
                       f"trainable and {received[2]:,} non-trainable; the lecture's model has {wanted[1]:,} "
                       f"and {wanted[2]:,}.")
        else:
            first = next((i for i, (g, w) in enumerate(zip(got_counts, want_counts, strict=False)) if g != w),
                         min(len(got_counts), len(want_counts)))
            summary = (f"{model.call} has the lecture's {wanted[0]:,} parameters in total, but not in the same "
                       f"layers: its layer with parameters number {first + 1} differs.")
        raise CheckFailure(summary, evidence=[("call", model.call)], table=table)


def _aligned(got: list[str], want: list[str]) -> dict[int, int]:
    """Expected layer index -> received layer index, for layers the two models share in order."""
    if len(got) == len(want):
        return {i: i for i in range(len(want))}  # same length: layer by layer, whatever the types
    import difflib

    pairs: dict[int, int] = {}
    for block in difflib.SequenceMatcher(a=want, b=got, autojunk=False).get_matching_blocks():
        for offset in range(block.size):
            pairs[block.a + offset] = block.b + offset
    return pairs


def _activation_check(expected: Expected) -> None:
    @CHECKS.check(f"{expected.function}: activations and dropout rates", points=1,
                  needs=(expected.function,), id=f"{_slug(expected.function)}-activations")
    def check(sub: Submission) -> None:
        # Activations and dropout rates only: a layer of another type (the structure check's
        # business) is compared where it stands, or skipped when the layers do not line up.
        model = built(sub, expected)
        got = _structural(model.layers)
        want = _structural(model.expected_layers)
        aligned = _aligned([spec["type"] for spec, _ in got], [spec["type"] for spec, _ in want])
        for index, (want_spec, _) in enumerate(want):
            judged = expected.activations.get(index, ANY) != ANY or want_spec["type"] == "Dropout"
            if index not in aligned:
                if judged:  # what this check judges is not in the model at all
                    raise CheckFailure(
                        f"{model.call}: the lecture's layer {index + 1} ({want_spec['type']}) has no counterpart "
                        "in your model (see the structure check), so its activation or rate cannot be compared.",
                        evidence=[("call", model.call)])
                continue
            spec, activation = got[aligned[index]]
            position = aligned[index] + 1
            required = expected.activations.get(index, ANY)
            shown = activation or "none (linear)"
            if required != ANY and activation != required:
                hint = None
                if required == "elu" and spec["type"] == "BatchNormalization":
                    hint = "The elu follows the batch normalization: a separate Activation('elu') after it."
                elif required is None and activation:
                    hint = ("This layer must be linear: its activation comes after the next layer "
                            "(Conv, BatchNorm, elu).")
                raise CheckFailure(
                    f"{model.call}: layer {position} ({spec['type']}) should be followed by "
                    f"{required or 'no activation'}.",
                    evidence=[("call", model.call), ("expected", str(required or "none (linear)")),
                              ("received", shown)], hint=hint)
            if want_spec["type"] == "Dropout":
                rate = spec.get("rate") if spec["type"] == "Dropout" else None
                if rate is None or abs(float(rate) - float(want_spec["rate"])) > 1e-9:
                    what = f"Dropout({rate})" if rate is not None else spec["type"]
                    raise CheckFailure(f"{model.call}: layer {position} is {what}; the lecture "
                                       f"uses Dropout({want_spec['rate']}).", evidence=[("call", model.call)])


def _register(expected: Expected) -> None:
    _structure_check(expected)
    _params_check(expected)
    _activation_check(expected)


def _cifar_activations() -> dict[int, str | None]:
    activations: dict[int, str | None] = {}
    index = 0
    for _block in range(3):
        for _pair in range(2):
            activations[index] = None  # Conv: linear
            activations[index + 1] = "elu"  # BatchNorm, then elu
            index += 2
        index += 2  # MaxPool, Dropout
    activations[index + 1] = "softmax"  # Flatten, Dense
    return activations


for _expected in (
    Expected("build_mlp", lectures.MLP_SPEC, {1: "relu", 2: "relu", 3: "softmax"}),
    Expected("build_lenet5", lectures.LENET5_SPEC, {0: "tanh", 2: "tanh"}),
    Expected("build_lecture_cnn", lectures.LECTURE_CNN_SPEC, {}),
    Expected("build_bn_cnn", lectures.BN_CNN_SPEC, {}),
    Expected("build_small_convnet", lectures.SMALL_CONVNET_SPEC, {6: "softmax"}),
    Expected("build_cifar10_cnn", lectures.CIFAR10_CNN_SPEC, _cifar_activations()),
):
    _register(_expected)
