"""Checks for exercise 7: transfer learning, data augmentation and callbacks.

The student's functions run in the TensorFlow sandbox under a trusted probe
(``grader/sandbox/runtime/transfer.py``) that answers with plain data: each
model's layers in order (class, name, trainable flag, parameter counts, a few
settings), the augmentation's outputs on fixed images as arrays, and each
callback's class and settings. No weights leave the child (VGG16 with its
classifier holds about 72 MB), nothing is downloaded (``weights=None``), and the
grader never loads a student object. Every answer is untrusted: ``_report``
checks its shape, and a malformed one fails the check with a message.

``fine_tune`` is applied to the lecture's own frozen model (built by the probe),
so its credit does not depend on ``build_feature_extractor``.
"""

from __future__ import annotations

import numpy as np

from grader.checking.check import Checklist, Submission
from grader.checking.outcomes import CheckFailure

CHECKS = Checklist("exercise7")

BASE_PARAMS = 14_714_688  # the VGG16 convolutional base, include_top=False (lecture, listing 8.19)
FROZEN = (3_277_313, 14_714_688)  # (trainable, non-trainable) with the base frozen
FINE_TUNED = (10_356_737, 7_635_264)  # after unfreezing block5_conv1..block5_pool
TOP_LAYERS = ["block5_conv1", "block5_conv2", "block5_conv3", "block5_pool"]
EXPECTED_ORDER = ["Input", "augmentation", "preprocess_input", "VGG16 base", "Flatten", "Dense 256",
                  "Dropout 0.5", "Dense 1 sigmoid"]
AUGMENTATION = [("RandomFlip", "mode", "horizontal"), ("RandomRotation", "factor", 0.1),
                ("RandomZoom", "height_factor", 0.2)]
LOG_DIR, CHECKPOINT = "tb_logs", "checkpoint.keras"
_AUGMENTING = {"RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast",
               "RandomCrop", "RandomBrightness"}
_LAYER_CLASSES = {"InputLayer", "Flatten", "Dense", "Dropout", "Sequential", "Functional", "Model"}
_BUILD_CALL = "build_feature_extractor(input_shape=(180, 180, 3), weights=None)"


class _Unreadable(Exception):
    pass


def _need(condition: bool) -> None:
    if not condition:
        raise _Unreadable


def _scalar(value: object) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def _layer(entry: object, depth: int = 0) -> dict:
    """One described layer, checked field by field (untrusted)."""
    _need(isinstance(entry, dict) and depth < 3)
    for key in ("class", "name"):
        _need(isinstance(entry.get(key), str))
    _need(isinstance(entry.get("trainable"), bool))
    for key in ("trainable_params", "non_trainable_params"):
        _need(type(entry.get(key)) is int and entry[key] >= 0)
    _need(isinstance(entry.get("settings"), dict))
    _need(all(_scalar(v) or (isinstance(v, list) and len(v) <= 8 and all(map(_scalar, v)))
              for v in entry["settings"].values()))
    if "layers" in entry:
        _need(isinstance(entry["layers"], list))
        entry["layers"] = [_layer(sub, depth + 1) for sub in entry["layers"]]
    return entry


def _model(value: object) -> dict:
    _need(isinstance(value, dict) and isinstance(value.get("layers"), list))
    value["layers"] = [_layer(entry) for entry in value["layers"]]
    for key in ("trainable_params", "non_trainable_params"):
        _need(type(value.get(key)) is int)
    _need(value.get("base") is None or isinstance(value["base"], str))
    _need(value.get("preprocess_error") is None or isinstance(value["preprocess_error"], float))
    return value


def _report(sub: Submission, key: str, function: str, probe: str, reader, *args: object) -> dict:
    """The probe's answer on ``function``, read once per run and checked for shape."""
    cache = sub.cache.setdefault("_exercise7", {})
    if key not in cache:
        value = sub.probe(function, probe, *args)
        try:
            cache[key] = reader(value)
        except (_Unreadable, TypeError, KeyError, AttributeError):
            cache[key] = CheckFailure(f"{function} returned something the grader cannot read as the "
                                      "exercise asks (see its docstring for what to return).")
    if isinstance(cache[key], CheckFailure):
        raise cache[key]
    return cache[key]


def _feature_extractor(sub: Submission) -> dict:
    return _report(sub, "frozen", "build_feature_extractor", "feature_extractor", _model)


def _fine_tuned(sub: Submission) -> dict:
    return _report(sub, "fine_tuned", "fine_tune", "fine_tuned", _model)


def _base(model: dict, call: str) -> dict:
    base = next((entry for entry in model["layers"] if entry["name"] == model["base"]), None)
    if base is None:
        raise CheckFailure(f"{call}: the model has no VGG16 convolutional base used as one layer.",
                           evidence=[("call", call)],
                           hint="Build conv_base = keras.applications.vgg16.VGG16(weights=weights, "
                                "include_top=False, input_shape=input_shape) and call it: x = conv_base(x).")
    return base


def _counts_failure(call: str, what: str, got: tuple[int, int], want: tuple[int, int], hint: str | None) -> None:
    if got == want:
        return
    raise CheckFailure(f"{call}: {what} has {got[0]:,} trainable and {got[1]:,} non-trainable parameters; "
                       f"the lecture's has {want[0]:,} and {want[1]:,}.",
                       evidence=[("call", call), ("expected", f"trainable {want[0]:,}, non-trainable {want[1]:,}"),
                                 ("received", f"trainable {got[0]:,}, non-trainable {got[1]:,}")], hint=hint)


# -- the feature extractor --------------------------------------------------------------------

@CHECKS.check("build_feature_extractor: the VGG16 convolutional base (14,714,688 parameters)", points=2,
              needs=("build_feature_extractor",), id="build-feature-extractor-base")
def base_params(sub: Submission) -> None:
    model = _feature_extractor(sub)
    base = _base(model, _BUILD_CALL)
    total = base["trainable_params"] + base["non_trainable_params"]
    names = [layer["name"] for layer in base.get("layers", [])]
    if total != BASE_PARAMS:
        raise CheckFailure(f"{_BUILD_CALL}: the convolutional base has {total:,} parameters; VGG16 without its "
                           f"classifier has {BASE_PARAMS:,}.", evidence=[("call", _BUILD_CALL)],
                           hint="Leave out the densely connected classifier: include_top=False.")
    if names[-4:] != TOP_LAYERS:
        raise CheckFailure(f"{_BUILD_CALL}: the convolutional base does not end with VGG16's block 5.",
                           evidence=[("expected", ", ".join(TOP_LAYERS)), ("received", ", ".join(names[-4:]))])


@CHECKS.check("build_feature_extractor: trainable and non-trainable parameters (3,277,313 and 14,714,688)",
              points=3, needs=("build_feature_extractor",), id="build-feature-extractor-params")
def frozen_params(sub: Submission) -> None:
    model = _feature_extractor(sub)
    got = (model["trainable_params"], model["non_trainable_params"])
    hint = None
    if got[1] == 0:
        hint = "Freeze the convolutional base before you use it: conv_base.trainable = False."
    _counts_failure(_BUILD_CALL, "the model", got, FROZEN, hint)


def _tokens(model: dict) -> list[str]:
    """The model's layers as the lecture names them; the augmentation and preprocessing collapsed."""
    tokens: list[str] = []
    for entry in model["layers"]:
        kind, settings = entry["class"], entry["settings"]
        inner = [layer["class"] for layer in entry.get("layers", [])]
        if entry["name"] == model["base"]:
            token = "VGG16 base"
        elif kind in _AUGMENTING or (kind == "Sequential" and inner and set(inner) <= _AUGMENTING):
            token = "augmentation"
        elif kind == "InputLayer":
            token = "Input"
        elif kind == "Dense":
            activation = settings.get("activation")
            token = f"Dense {settings.get('units')}" + (f" {activation}" if settings.get("units") == 1 else "")
        elif kind == "Dropout":
            token = f"Dropout {settings.get('rate')}"
        elif kind not in _LAYER_CLASSES and entry["trainable_params"] + entry["non_trainable_params"] == 0 \
                and not kind.startswith(("Random", "Rescaling", "Normalization")):
            token = "preprocess_input"  # an operation on the tensor (GetItem, Stack, Add, ...)
        else:
            token = kind
        if not tokens or tokens[-1] != token or token not in ("augmentation", "preprocess_input"):
            tokens.append(token)
    return tokens


@CHECKS.check("build_feature_extractor: the layers in the lecture's order", points=3,
              needs=("build_feature_extractor",), id="build-feature-extractor-order")
def layer_order(sub: Submission) -> None:
    model = _feature_extractor(sub)
    got = _tokens(model)
    if got != EXPECTED_ORDER:
        width = max(len(token) for token in EXPECTED_ORDER) + 2
        rows = [f"    {'expected':<{width}} | received"]
        for index in range(max(len(got), len(EXPECTED_ORDER))):
            want = EXPECTED_ORDER[index] if index < len(EXPECTED_ORDER) else ""
            have = got[index] if index < len(got) else "(missing)"
            rows.append(f"  {'→ ' if want != have else '  '}{want:<{width}} | {have}")
        hint = None
        if "augmentation" in got and "VGG16 base" in got and got.index("augmentation") > got.index("VGG16 base"):
            hint = "The augmentation comes first, on the images: x = data_augmentation(inputs)."
        raise CheckFailure(f"{_BUILD_CALL} does not have the lecture's layers in the lecture's order.",
                           evidence=[("call", _BUILD_CALL)], details="\n".join(rows), hint=hint)
    error = model["preprocess_error"]
    if error is None or not error <= 1e-3:
        raise CheckFailure(f"{_BUILD_CALL}: what enters the convolutional base is not "
                           "keras.applications.vgg16.preprocess_input of the (unaugmented) images.",
                           evidence=[("call", _BUILD_CALL),
                                     ("largest difference", "none measurable" if error is None else f"{error:g}")],
                           hint="x = keras.applications.vgg16.preprocess_input(x), right before x = conv_base(x).")


@CHECKS.check("build_feature_extractor: the base frozen, the classifier trainable", points=2,
              needs=("build_feature_extractor",), id="build-feature-extractor-frozen")
def frozen_layers(sub: Submission) -> None:
    model = _feature_extractor(sub)
    base = _base(model, _BUILD_CALL)
    unfrozen = [layer["name"] for layer in base.get("layers", []) if layer["trainable_params"]]
    if unfrozen:
        raise CheckFailure(f"{_BUILD_CALL}: the convolutional base is not frozen: {len(unfrozen)} of its layers "
                           "are trainable.", evidence=[("trainable", ", ".join(unfrozen[:6]))],
                           hint="conv_base.trainable = False, before you build the model on it.")
    frozen_head = [entry["name"] for entry in model["layers"]
                   if entry["class"] == "Dense" and entry["non_trainable_params"]]
    if frozen_head:
        raise CheckFailure(f"{_BUILD_CALL}: the classifier on top must be trainable; frozen: "
                           f"{', '.join(frozen_head)}.", evidence=[("call", _BUILD_CALL)])


# -- fine-tuning ------------------------------------------------------------------------------

_TUNE_CALL = "fine_tune(model)"


@CHECKS.check("fine_tune: trainable and non-trainable parameters (10,356,737 and 7,635,264)", points=3,
              needs=("fine_tune",), id="fine-tune-params")
def fine_tune_params(sub: Submission) -> None:
    model = _fine_tuned(sub)
    got = (model["trainable_params"], model["non_trainable_params"])
    hint = None
    if got == FROZEN:
        hint = "Nothing was unfrozen: conv_base = model.get_layer('vgg16'); conv_base.trainable = True first."
    elif got[1] == 0:
        hint = "The whole base is trainable: freeze all its layers but the last four (conv_base.layers[:-4])."
    _counts_failure(f"{_TUNE_CALL} on the lecture's frozen model", "the fine-tuned model", got, FINE_TUNED, hint)


@CHECKS.check("fine_tune: only block5_conv1 to block5_pool of the base are trainable", points=3,
              needs=("fine_tune",), id="fine-tune-layers")
def fine_tune_layers(sub: Submission) -> None:
    # The weights decide, not the flags: in Keras 3 a layer set trainable inside a frozen base
    # has trainable weights (and trains), and block5_pool has no weights to train.
    model = _fine_tuned(sub)
    base = _base(model, _TUNE_CALL)
    trainable = [layer["name"] for layer in base.get("layers", []) if layer["trainable_params"]]
    if trainable != TOP_LAYERS[:3]:
        raise CheckFailure(f"{_TUNE_CALL}: the base's trainable layers are not its last four "
                           f"({', '.join(TOP_LAYERS)}; the pooling layer has no weights).",
                           evidence=[("expected", "trainable weights in " + ", ".join(TOP_LAYERS[:3])),
                                     ("received", "trainable weights in " + ", ".join(trainable) if trainable
                                      else "no trainable weights (the base is frozen)")],
                           hint="conv_base.trainable = True; then for layer in conv_base.layers[:-4]: "
                                "layer.trainable = False.")
    frozen_head = [entry["name"] for entry in model["layers"]
                   if entry["class"] == "Dense" and not entry["trainable"]]
    if frozen_head:
        raise CheckFailure(f"{_TUNE_CALL}: the classifier on top must stay trainable; frozen: "
                           f"{', '.join(frozen_head)}.", evidence=[("call", _TUNE_CALL)])


# -- the augmentation -------------------------------------------------------------------------

def _augmentation_reply(value: object) -> dict:
    _need(isinstance(value, dict) and isinstance(value.get("layers"), list))
    value["layers"] = [_layer(entry) for entry in value["layers"]]
    for key in ("images", "inference", "training", "flip_images"):
        _need(isinstance(value.get(key), np.ndarray))
    _need(value.get("flip_output") is None or isinstance(value["flip_output"], np.ndarray))
    _need(value["images"].shape == (4, 32, 32, 3) and value["flip_images"].shape == (16, 32, 32, 3))
    return value


def _augmentation(sub: Submission) -> dict:
    return _report(sub, "augmentation", "build_augmentation", "augmentation", _augmentation_reply)


def _factor(value: object) -> float | None:
    """RandomRotation(0.1) stores (-0.1, 0.1); a number stands for its symmetric range."""
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, float | int) for v in value):
        return float(value[1]) if abs(float(value[0]) + float(value[1])) < 1e-9 else None
    return float(value) if isinstance(value, float | int) and not isinstance(value, bool) else None


@CHECKS.check("build_augmentation: RandomFlip('horizontal'), RandomRotation(0.1), RandomZoom(0.2)", points=2,
              needs=("build_augmentation",), id="build-augmentation-layers")
def augmentation_layers(sub: Submission) -> None:
    reply = _augmentation(sub)
    got = [(layer["class"], layer["settings"]) for layer in reply["layers"]]
    shown = ", ".join(f"{kind}" for kind, _ in got) or "(no layers)"
    expected = ", ".join(kind for kind, _, _ in AUGMENTATION)
    if [kind for kind, _ in got] != [kind for kind, _, _ in AUGMENTATION]:
        raise CheckFailure("build_augmentation() does not chain the lecture's three random transformations.",
                           evidence=[("expected", expected), ("received", shown)],
                           hint="keras.Sequential([layers.RandomFlip('horizontal'), layers.RandomRotation(0.1), "
                                "layers.RandomZoom(0.2)])")
    for (kind, settings), (_, field, want) in zip(got, AUGMENTATION, strict=True):
        value = settings.get(field)
        ok = value == want if isinstance(want, str) else (_factor(value) is not None
                                                           and abs(_factor(value) - want) < 1e-9)
        if not ok:
            raise CheckFailure(f"build_augmentation(): {kind} has {field}={value!r}; the lecture uses {want!r}.",
                               evidence=[("expected", f"{kind}({want!r})"), ("received", f"{field}={value!r}")])


@CHECKS.check("build_augmentation: inactive at inference (the images pass unchanged)", points=2,
              needs=("build_augmentation",), id="build-augmentation-inference")
def augmentation_inference(sub: Submission) -> None:
    reply = _augmentation(sub)
    images, out = reply["images"], reply["inference"]
    if out.shape != images.shape or not np.allclose(out, images, atol=1e-3):
        received = f"shape {out.shape}" if out.shape != images.shape else \
            f"largest change {float(np.max(np.abs(out - images))):g}"
        raise CheckFailure("build_augmentation() changed images at inference (training=False); like Dropout, "
                           "augmentation layers must be inactive there.",
                           evidence=[("inputs", f"images.shape={images.shape}, values 0..255"),
                                     ("expected", "the images themselves"), ("received", received)])


@CHECKS.check("build_augmentation: active in training (shape kept, images changed, values in range)", points=2,
              needs=("build_augmentation",), id="build-augmentation-training")
def augmentation_training(sub: Submission) -> None:
    reply = _augmentation(sub)
    images, out = reply["images"], reply["training"]
    evidence = [("inputs", f"images.shape={images.shape}, values 0..255, training=True")]
    if out.shape != images.shape:
        raise CheckFailure("build_augmentation() changed the shape of the images in training.",
                           evidence=[*evidence, ("expected", str(images.shape)), ("received", str(out.shape))])
    if not np.all(np.isfinite(out)) or out.min() < -1e-3 or out.max() > 255 + 1e-3:
        raise CheckFailure("build_augmentation() produced values outside the images' range 0..255 in training.",
                           evidence=[*evidence, ("received", f"values {float(np.nanmin(out)):g}.."
                                                             f"{float(np.nanmax(out)):g}")])
    unchanged = [i for i in range(len(images)) if np.allclose(out[i], images[i], atol=1e-3)]
    if unchanged:
        raise CheckFailure("build_augmentation() left images unchanged in training: it does not augment.",
                           evidence=[*evidence, ("unchanged", f"images {unchanged} of {len(images)}")])


@CHECKS.check("build_augmentation: RandomFlip alone gives each image or its mirror", points=2,
              needs=("build_augmentation",), id="build-augmentation-flip")
def augmentation_flip(sub: Submission) -> None:
    reply = _augmentation(sub)
    images, out = reply["flip_images"], reply["flip_output"]
    if out is None:
        raise CheckFailure("build_augmentation() has no RandomFlip layer.", hint="layers.RandomFlip('horizontal')")
    if out.shape != images.shape:
        raise CheckFailure("The RandomFlip layer changed the shape of the images.",
                           evidence=[("expected", str(images.shape)), ("received", str(out.shape))])
    same = [bool(np.allclose(o, i, atol=1e-3)) for o, i in zip(out, images, strict=True)]
    mirrored = [bool(np.allclose(o, i[:, ::-1], atol=1e-3)) for o, i in zip(out, images, strict=True)]
    neither = [index for index in range(len(images)) if not (same[index] or mirrored[index])]
    if neither:
        flipped_up = any(np.allclose(out[i], images[i][::-1], atol=1e-3) for i in neither)
        raise CheckFailure(f"The RandomFlip layer returned {len(neither)} of {len(images)} images that are neither "
                           "the image nor its left-right mirror.",
                           evidence=[("images", str(neither[:8]))],
                           hint="That is a vertical flip: RandomFlip('horizontal')." if flipped_up else None)


# -- callbacks --------------------------------------------------------------------------------

def _callbacks_reply(value: object) -> dict:
    _need(isinstance(value, dict) and isinstance(value.get("callbacks"), list))
    for entry in value["callbacks"]:
        _need(isinstance(entry, dict) and isinstance(entry.get("class"), str)
              and isinstance(entry.get("settings"), dict))
    return value


_CALLBACKS_CALL = f"make_callbacks({LOG_DIR!r}, {CHECKPOINT!r})"


def _callback_check(kind: str, expected: dict, points: float, cid: str, hint: str) -> None:
    @CHECKS.check(f"make_callbacks: {kind}({', '.join(f'{k}={v!r}' for k, v in expected.items())})",
                  points=points, needs=("make_callbacks",), id=cid)
    def check(sub: Submission) -> None:
        reply = _report(sub, "callbacks", "make_callbacks", "callbacks", _callbacks_reply, LOG_DIR, CHECKPOINT)
        found = [entry for entry in reply["callbacks"] if entry["class"] == kind]
        if not found:
            classes = ", ".join(entry["class"] for entry in reply["callbacks"]) or "none"
            raise CheckFailure(f"{_CALLBACKS_CALL} returned no {kind} callback.",
                               evidence=[("call", _CALLBACKS_CALL), ("received", classes)], hint=hint)
        settings = found[0]["settings"]
        wrong = [(key, want, settings.get(key)) for key, want in expected.items() if settings.get(key) != want]
        if wrong:
            key, want, got = wrong[0]
            raise CheckFailure(f"{_CALLBACKS_CALL}: the {kind} callback has {key}={got!r}; the exercise asks for "
                               f"{key}={want!r}.", evidence=[("call", _CALLBACKS_CALL), ("expected", repr(want)),
                                                             ("received", repr(got))], hint=hint)


_callback_check("EarlyStopping", {"monitor": "val_loss", "restore_best_weights": True}, 2,
                "make-callbacks-early-stopping",
                "keras.callbacks.EarlyStopping(monitor='val_loss', restore_best_weights=True)")
_callback_check("ModelCheckpoint", {"filepath": CHECKPOINT, "save_best_only": True, "monitor": "val_loss"}, 2,
                "make-callbacks-checkpoint",
                "keras.callbacks.ModelCheckpoint(filepath=checkpoint_path, save_best_only=True, monitor='val_loss')")
_callback_check("TensorBoard", {"log_dir": LOG_DIR, "histogram_freq": 1}, 2, "make-callbacks-tensorboard",
                "keras.callbacks.TensorBoard(log_dir=log_dir, histogram_freq=1)")
