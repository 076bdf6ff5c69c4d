"""Checks shared by the four labs: a trained CNN, its history, its stated parameter count, its accuracy.

A lab submission is a folder with ``model.keras``, ``history.json``,
``answers.toml`` and ``train.py`` (SPEC.md "Labs"). The grader:

1. inspects ``model.keras`` as bytes and JSON (``grader.intake.keras_file``): refused
   files never reach Keras;
2. derives the model's shapes and trainable parameters from its configuration;
3. reads ``history.json`` and ``answers.toml`` as plain data (size-capped);
4. loads the model **in the sandbox** with ``safe_mode=True`` and sends it the
   official test images in batches (raw pixels 0-255, float32); the child
   returns class scores and the grader computes the accuracy with its own labels.

Full credit at the catalogue's ``target_accuracy``, linear partial credit down
to ``floor_accuracy``. On a real but *partial* test set (CIFAR-100 offline: 916 of
the 10,000 official images) the accuracy is an estimate: it is reported with its
95 % Wilson interval, said not to be the official figure, and credited at the
interval's upper end (docs/labs.md: the sampling error of a partial set never
costs the student credit; the full set, wherever it is available, gives the
official figure). The model's own ``trainable_params`` explanation is shown
as a per-layer formula table when the stated number is wrong.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from pathlib import Path

import numpy as np

from grader.checking.check import Checklist, Submission
from grader.checking.outcomes import CheckFailure, DependencyFailed, add_note
from grader.data import datasets
from grader.intake.keras_archive import RefusedModel, read_keras_archive
from grader.intake.keras_file import model_spec, summarize
from grader.limits import MAX_LAB_TEXT_BYTES as MAX_TEXT_BYTES
from grader.limits import MAX_MODEL_PARAMS as MAX_PARAMS
from grader.output.plots import LearningCurves

BATCH = 1000
TRAIN_PROBE = 10_000  # training images the model is also evaluated on (evenly spaced over the training set)
GAP_ALLOWANCE = 0.02  # on top of 3 standard errors of the difference of two accuracies
HISTORY_KEYS = ("accuracy", "val_accuracy", "loss", "val_loss")


def _read_text(folder: Path, name: str) -> str:
    path = folder / name
    if not path.is_file() or path.is_symlink():
        raise CheckFailure(f"{name} is missing from the lab folder {folder}.",
                           hint=f"Write {name} next to model.keras (SPEC.md, Labs).")
    if path.stat().st_size > MAX_TEXT_BYTES:
        raise CheckFailure(f"{name} is larger than 1 MB.")
    return path.read_text(encoding="utf-8", errors="replace")


class LabModel:
    """What the grader knows of the submitted model without running it."""

    def __init__(self, folder: Path) -> None:
        path = folder / "model.keras"
        if not path.is_file() or path.is_symlink():
            raise CheckFailure(f"model.keras is missing from the lab folder {folder}.",
                               hint="Save your trained model with model.save('model.keras').")
        data = path.read_bytes()
        self.digest = hashlib.sha256(data).digest()
        try:
            archive = read_keras_archive(data)
            self.spec = model_spec(archive.config)
            self.summary = summarize(self.spec.input_shape, self.spec.layers)
        except RefusedModel as refused:
            raise CheckFailure(f"model.keras was refused and not loaded: {refused}") from None
        except ValueError as error:
            raise CheckFailure(f"model.keras describes layers whose shapes do not work out: {error}") from None
        if self.summary["total"] > MAX_PARAMS:
            raise CheckFailure(f"model.keras was refused and not loaded: it declares {self.summary['total']:,} "
                               f"parameters (limit {MAX_PARAMS:,})")
        self.output_shape = self.summary["layers"][-1]["output_shape"] if self.summary["layers"] else ()


def lab_model(sub: Submission) -> LabModel:
    if "lab_model" not in sub.cache:
        try:
            sub.cache["lab_model"] = LabModel(sub.folder)
        except CheckFailure as failure:
            sub.cache["lab_model"] = failure
            raise  # reported in full by the check that found it ...
    model = sub.cache["lab_model"]
    if isinstance(model, CheckFailure):  # ... and the checks that need the model are skipped for it
        raise DependencyFailed(model.summary)
    return model


def _formula_table(model: LabModel) -> str:
    lines = [f"    {'layer':<22} {'output shape':<16} {'params':>10}  trainable"]
    for row, spec in zip(model.summary["layers"], model.spec.layers, strict=True):
        trainable = "no" if spec.get("trainable") is False or row["type"] == "Normalization" else ("2C of 4C" if row["type"] == "BatchNormalization"
                                                                 else "yes")
        lines.append(f"    {row['type']:<22} {str(row['output_shape']):<16} {row['params']:>10,}  {trainable}")
    lines.append(f"    {'total':<39} {model.summary['total']:>10,}")
    lines.append(f"    {'trainable':<39} {model.summary['trainable']:>10,}")
    return "\n".join(lines)


def shifted_by_one_pixel(images: np.ndarray, seed: bytes) -> np.ndarray:
    """Every image moved one pixel up, down, left or right (zero fill), the direction drawn per image.

    The draw is seeded by the model file's SHA-256: the same submission is graded
    the same way every time, and no file can know its own shifts in advance.
    """
    directions = np.random.default_rng(np.frombuffer(seed, dtype=np.uint32)).integers(0, 4, len(images))
    out = np.zeros_like(images)
    height, width = images.shape[1:3]
    for direction, (dy, dx) in enumerate(((1, 0), (-1, 0), (0, 1), (0, -1))):
        chosen = np.flatnonzero(directions == direction)
        moved = np.zeros_like(images[chosen])
        moved[:, max(dy, 0):height + min(dy, 0), max(dx, 0):width + min(dx, 0)] = \
            images[chosen][:, max(-dy, 0):height + min(-dy, 0), max(-dx, 0):width + min(-dx, 0)]
        out[chosen] = moved
    return out


def wilson_interval(accuracy: float, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The 95 % Wilson score interval of an accuracy measured on ``n`` images (fractions 0..1)."""
    if n <= 0:
        return 0.0, 1.0
    centre = (accuracy + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(accuracy * (1 - accuracy) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def allowed_gap(p1: float, n1: int, p2: float, n2: int) -> float:
    """How much higher one accuracy may be than another before it is not chance: 2 points + 3 standard errors."""
    return GAP_ALLOWANCE + 3 * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)


def _training_probe(dataset: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Up to TRAIN_PROBE training images, evenly spaced, with their labels (None where no training split is here)."""
    try:
        data = datasets.load(dataset, split="both")
    except Exception:  # the test split alone is enough to grade; the probe is then skipped, and said so
        return None
    if data.x_train is None or not len(data.x_train):
        return None
    chosen = np.unique(np.linspace(0, len(data.x_train) - 1, min(len(data.x_train), TRAIN_PROBE)).astype(int))
    return data.x_train[chosen], np.asarray(data.y_train).reshape(-1)[chosen]


def memorisation_signs(test: float, n_test: int, shifted: float, train: float | None,
                       n_train: int) -> list[str]:
    """Why a test accuracy is not credited as learned (empty: nothing suspicious).

    A model that learned the task scores about the same on the test images moved
    by one pixel, and at least as well on images it was trained on; a model that
    stored the test set (a lookup table, a nearest-neighbour layer over the test
    images) scores far better on the exact test images than on either.
    """
    signs = []
    if test - shifted > allowed_gap(test, n_test, shifted, n_test):
        signs.append(f"on the same test images shifted by one pixel it scores {shifted:.4f} "
                     f"({test - shifted:.4f} lower; at most {allowed_gap(test, n_test, shifted, n_test):.4f} "
                     "is expected of a model that learned the task)")
    if train is not None and test - train > allowed_gap(test, n_test, train, n_train):
        signs.append(f"on {n_train:,} training images it scores {train:.4f}, {test - train:.4f} lower than on "
                     f"the test images (at most {allowed_gap(test, n_test, train, n_train):.4f} is chance)")
    return signs


def lab_checklist(lab_id: str, dataset: str) -> Checklist:
    """The checks of one lab; expected shapes and classes come from ``grader.data.datasets.INFO``."""
    checks = Checklist(lab_id)
    checks.dataset = dataset  # the catalogue's `dataset` must name the same (catalogue.checklist)
    info = datasets.INFO[dataset]
    image_shape = tuple(info.image_shape)
    classes = info.num_classes

    @checks.check("model.keras is a standard Keras v3 model (inspected before loading)", points=2, needs=(),
                  id="model-file")
    def model_file(sub: Submission) -> None:
        lab_model(sub)

    @checks.check(f"the model takes {image_shape} images and predicts {classes} classes", points=2, needs=(),
                  id="input-output-shape")
    def shapes(sub: Submission) -> None:
        model = lab_model(sub)
        accepted = {image_shape, (*image_shape, 1)} if len(image_shape) == 2 else {image_shape}
        if model.spec.input_shape not in accepted:
            raise CheckFailure("The model's input shape does not fit the dataset's images.",
                               evidence=[("expected", " or ".join(str(s) for s in sorted(accepted))),
                                         ("received", str(model.spec.input_shape))])
        if model.output_shape != (classes,):
            raise CheckFailure(f"The model must end with {classes} class scores.",
                               evidence=[("expected", str((classes,))), ("received", str(model.output_shape))])

    @checks.check("the model is a CNN (at least one Conv2D layer)", points=1, needs=(), id="is-cnn")
    def is_cnn(sub: Submission) -> None:
        model = lab_model(sub)
        if not any(layer["type"] == "Conv2D" for layer in model.spec.layers):
            raise CheckFailure("The model has no Conv2D layer: this lab asks for a convolutional network.",
                               evidence=[("layers", ", ".join(model.spec.raw_types))])

    @checks.check("answers.toml: trainable_params equals the model's trainable parameters", points=3, needs=(),
                  id="trainable-params")
    def trainable_params(sub: Submission) -> None:
        model = lab_model(sub)
        try:
            answers = tomllib.loads(_read_text(sub.folder, "answers.toml"))
        except tomllib.TOMLDecodeError as error:
            raise CheckFailure(f"answers.toml is not valid TOML: {error}") from None
        stated = answers.get("trainable_params")
        expected = model.summary["trainable"]
        if type(stated) is not int or stated != expected:
            raise CheckFailure("The trainable parameter count in answers.toml is not the model's.",
                               evidence=[("expected", f"{expected:,}"), ("received", repr(stated)[:60])],
                               details=_formula_table(model),
                               hint="Count per layer: Conv2D F_h·F_w·C_in·K + K, Dense n_in·n_out + n_out, "
                                    "BatchNormalization 2C trainable (and 2C non-trainable).")
        if not str(answers.get("explanation", "")).strip():
            raise CheckFailure("answers.toml has no explanation of how trainable_params was computed.",
                               hint='Add explanation = "..." with the per-layer formula.', fraction=0.5)

    @checks.check("history.json has per-epoch accuracy, val_accuracy, loss and val_loss", points=2, needs=(),
                  id="history")
    def history(sub: Submission) -> None:
        try:
            data = json.loads(_read_text(sub.folder, "history.json"))
        except ValueError as error:
            raise CheckFailure(f"history.json is not valid JSON: {error}") from None
        if not isinstance(data, dict):
            raise CheckFailure("history.json must hold model.fit(...).history: a JSON object of lists.")
        missing = [k for k in HISTORY_KEYS if not isinstance(data.get(k), list) or not data[k]]
        if missing:
            raise CheckFailure(f"history.json has no per-epoch values for {', '.join(missing)}.",
                               hint="Pass validation data (validation_split=...) and metrics=['accuracy'] to fit.")
        lengths = {k: len(data[k]) for k in HISTORY_KEYS}
        if len(set(lengths.values())) != 1:
            raise CheckFailure("history.json's lists have different lengths.", evidence=[("lengths", str(lengths))])
        for key in HISTORY_KEYS:
            if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in data[key]):
                raise CheckFailure(f"history.json: {key} holds values that are not finite numbers.")
        sub.attach_figure(LearningCurves(f"{lab_id}: learning curves",
                                         {key: [float(v) for v in data[key]] for key in HISTORY_KEYS}))

    @checks.check("accuracy on the official test set reaches the target", points=10, needs=(), id="test-accuracy",
                  timeout_s=600)
    def accuracy(sub: Submission) -> float | None:
        model = lab_model(sub)
        target, floor = sub.exercise.target_accuracy, sub.exercise.floor_accuracy
        data = datasets.load(dataset, split="test")
        if dataset == "cifar100" and not data.verified:
            note = " (unverified data: this is not a measurement on the official CIFAR-100 test set)"
        else:
            note = ""
        input_shape = sub.call("load", "model.keras")
        if not isinstance(input_shape, list) or tuple(input_shape) != model.spec.input_shape:
            raise CheckFailure("The model loaded in the sandbox does not have the inspected input shape.",
                               evidence=[("inspected", str(model.spec.input_shape)), ("loaded", str(input_shape))])
        def predicted(raw: np.ndarray) -> np.ndarray:
            images = raw.reshape((len(raw), *model.spec.input_shape)).astype(np.float32)
            labels = []
            for start in range(0, len(images), BATCH):
                scores = sub.call("predict", images[start:start + BATCH])
                expected_shape = (len(images[start:start + BATCH]), classes)
                if type(scores) is not np.ndarray or scores.shape != expected_shape or not np.isfinite(scores).all():
                    raise CheckFailure("The model's predictions are not finite class scores of the right shape.",
                                       evidence=[("expected", f"float array {expected_shape}"),
                                                 ("received", f"{type(scores).__name__} "
                                                              f"{getattr(scores, 'shape', '')}")])
                labels.append(np.argmax(scores, axis=1))
            return np.concatenate(labels)

        images = data.x_test
        measured = float(np.mean(predicted(images) == data.y_test))
        # memorisation probes (docs/security.md): the test images moved by one pixel, and training images
        shifted = float(np.mean(predicted(shifted_by_one_pixel(images, model.digest)) == data.y_test))
        probe = _training_probe(dataset)
        train = float(np.mean(predicted(probe[0]) == probe[1])) if probe is not None else None
        n_train = len(probe[1]) if probe is not None else 0
        sub.cache["memorisation_probes"] = {"test": measured, "shifted": shifted, "train": train}
        signs = memorisation_signs(measured, len(images), shifted, train, n_train)
        if signs:
            raise CheckFailure(
                f"Test accuracy {measured:.4f} is not credited: the model knows the test images rather than "
                f"the task; {'; and '.join(signs)}.",
                evidence=[("test images", f"{measured:.4f}"), ("shifted by one pixel", f"{shifted:.4f}"),
                          ("training images", "not available" if train is None else f"{train:.4f}")],
                hint="Train the model on the training set only; the grader measures it on the test set.",
                fraction=0.0)
        sub.cache["accuracy"] = measured
        credited, estimate = measured, ""
        if data.partial:  # an estimate: credited at the upper end of its 95 % interval
            low, high = wilson_interval(measured, len(images))
            credited = high
            estimate = (f"{measured:.4f} on {data.coverage} (95 % interval {low:.4f}–{high:.4f}); "
                        "not the official figure, which needs the full test set")
            note = f" ({data.coverage}: not the official figure)"
        if credited >= target:
            if estimate:
                add_note(f"{lab_id}: test accuracy {estimate}; credited at the interval's upper end, "
                         f"{high:.4f} ≥ target {target:.2f}.")
            return 1.0
        fraction = max(0.0, (credited - floor) / (target - floor))
        hint = None
        if not any(t in ("Rescaling", "Normalization") for t in model.spec.raw_types) and measured < floor:
            hint = ("The grader feeds raw pixel values 0-255: put the scaling inside the model "
                    "(keras.layers.Rescaling(1/255) as its first layer).")
        evidence = [("target", f"{target:.2f} (full credit)"), ("floor", f"{floor:.2f} (no credit below)"),
                    ("measured", f"{measured:.4f}")]
        if estimate:
            evidence += [("95 % interval", f"{low:.4f}–{high:.4f} (credited at {high:.4f}, its upper end)")]
        raise CheckFailure(
            f"Test accuracy {measured:.4f} on the {len(images):,} official test images{note}.",
            evidence=evidence,
            rule=f"credit = ({'upper end' if estimate else 'accuracy'} − floor) / (target − floor) = "
                 f"({credited:.4f} − {floor}) / "
                 f"({target} − {floor}) = {fraction:.2f}",
            hint=hint, fraction=fraction)

    return checks
