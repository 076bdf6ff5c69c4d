"""Trusted probes run *inside the sandbox* for exercise 7 (transfer learning).

Loaded by ``child.py`` by path before the student's module is imported; a probe
is named in a request (``{"fn": ..., "probe": NAME}``) and receives the
student's function. It calls that function in the child, measures the Keras
object it returned, and answers with plain data only (numbers, strings, lists,
NumPy arrays): the grader never loads a student object, and no weights leave
the child (VGG16 with its classifier is about 72 MB of them). The grader treats
every answer as untrusted and checks its shape (``grader.checks.exercise7``).
"""

import numpy as np

MAX_LAYERS = 64  # layers described per model (VGG16 has 19)
_SCALAR_FIELDS = ("units", "activation", "rate", "mode", "factor", "height_factor", "width_factor",
                  "include_top", "scale", "offset")
IMAGE_SHAPE = (32, 32, 3)  # the augmentation's test images (small: the grader only compares them)
FLIP_BATCH = 16


def _plain(value: object) -> object:
    """A config value as plain data (tuples as lists, anything else as its text)."""
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value[:8]]
    return str(value)[:100]


def _weights(weights) -> int:
    return int(sum(int(np.prod(w.shape)) for w in weights))


def _layer(layer) -> dict:
    """Class, name, trainable flag, parameter counts and the few settings the checks read."""
    config = {}
    try:
        config = layer.get_config()
    except Exception:  # an operation without a config: its class name says enough
        pass
    entry = {
        "class": type(layer).__name__,
        "name": str(getattr(layer, "name", ""))[:100],
        "trainable": bool(getattr(layer, "trainable", True)),
        "trainable_params": _weights(getattr(layer, "trainable_weights", [])),
        "non_trainable_params": _weights(getattr(layer, "non_trainable_weights", [])),
    }
    entry["settings"] = {k: _plain(config[k]) for k in _SCALAR_FIELDS if k in config}
    inner = getattr(layer, "layers", None)
    if isinstance(inner, list):
        entry["layers"] = [_layer(sub) for sub in inner[:MAX_LAYERS]]
    return entry


def _sequence(model) -> list:
    """The model's layers in the order of its configuration, operations (preprocessing) included."""
    try:
        names = [str(spec.get("config", {}).get("name", spec.get("name"))) for spec in model.get_config()["layers"]]
        classes = [str(spec.get("class_name")) for spec in model.get_config()["layers"]]
    except Exception:
        return [_layer(layer) for layer in model.layers[:MAX_LAYERS]]
    sequence = []
    for name, class_name in list(zip(names, classes, strict=False))[:MAX_LAYERS]:
        try:
            sequence.append(_layer(model.get_layer(name)))
        except Exception:  # an operation (GetItem, Add, ...) that get_layer does not return
            sequence.append({"class": class_name, "name": name[:100], "trainable": True, "trainable_params": 0,
                             "non_trainable_params": 0, "settings": {}})
    return sequence


def _preprocess_error(model, base_name: str) -> float | None:
    """Largest difference between what enters the base and ``vgg16.preprocess_input`` of the images.

    Run with ``training=False`` (the augmentation is then the identity), on fixed
    images of the model's input shape; None when the base's input cannot be reached.
    """
    import keras

    try:
        base = model.get_layer(base_name)
        into_base = base._inbound_nodes[-1].input_tensors[0]
        part = keras.Model(model.inputs, into_base)
        shape = tuple(int(v) for v in model.inputs[0].shape[1:])
        images = np.random.default_rng(7).uniform(0, 255, (2, *shape)).astype("float32")
        got = np.asarray(part(images, training=False), dtype=np.float32)
        want = np.asarray(keras.applications.vgg16.preprocess_input(images.copy()), dtype=np.float32)
        if got.shape != want.shape:
            return float("inf")
        return float(np.max(np.abs(got - want)))
    except Exception:
        return None


def describe_model(model) -> dict:
    """The model as the checks read it: input shape, layers in order, counts, the preprocessing."""
    sequence = _sequence(model)
    base = next((entry["name"] for entry in sequence if "block5_conv1" in
                 [sub["name"] for sub in entry.get("layers", [])]), None)
    return {
        "input_shape": [int(v) if v is not None else -1 for v in model.inputs[0].shape[1:]],
        "layers": sequence,
        "trainable_params": _weights(model.trainable_weights),
        "non_trainable_params": _weights(model.non_trainable_weights),
        "base": base,
        "preprocess_error": _preprocess_error(model, base) if base else None,
    }


def _model_or_refuse(value, what: str):
    """``value`` when it is a built keras.Model with one input, else a TypeError saying what it is."""
    import keras

    if not isinstance(value, keras.Model) or len(getattr(value, "inputs", None) or []) != 1:
        raise TypeError(f"{what} returned {type(value).__name__}, not a keras.Model built on one keras.Input")
    return value


def feature_extractor(function) -> dict:
    """Build the student's model (``weights=None``: nothing is downloaded) and describe it."""
    model = function(input_shape=(180, 180, 3), weights=None)
    return describe_model(_model_or_refuse(model, "build_feature_extractor"))


def reference_feature_extractor():
    """The lecture's model (listings 8.23 and 8.25), built here so ``fine_tune`` is graded on its own."""
    import keras
    from keras import layers

    conv_base = keras.applications.vgg16.VGG16(weights=None, include_top=False, input_shape=(180, 180, 3))
    conv_base.trainable = False
    augmentation = keras.Sequential([layers.RandomFlip("horizontal"), layers.RandomRotation(0.1),
                                     layers.RandomZoom(0.2)], name="data_augmentation")
    inputs = keras.Input(shape=(180, 180, 3))
    x = keras.applications.vgg16.preprocess_input(augmentation(inputs))
    x = layers.Flatten()(conv_base(x))
    x = layers.Dropout(0.5)(layers.Dense(256)(x))
    return keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x), name="feature_extractor")


def fine_tuned(function) -> dict:
    """Apply the student's ``fine_tune`` to the lecture's frozen model and describe the result."""
    import keras

    model = reference_feature_extractor()
    returned = function(model)
    return describe_model(_model_or_refuse(returned, "fine_tune") if isinstance(returned, keras.Model) else model)


def _test_images(seed: int, count: int) -> np.ndarray:
    """Fixed images 0..255 that no flip, rotation or zoom leaves unchanged (float32, N x 32 x 32 x 3).

    A left-to-right ramp plus noise, with saturated pixels (exactly 0 and 255) as in
    real photographs, so that an augmentation leaving the range shows.
    """
    rng = np.random.default_rng(seed)
    cols = np.arange(IMAGE_SHAPE[1])[None, :, None] * np.ones(IMAGE_SHAPE)
    ramp = cols * 255.0 / (IMAGE_SHAPE[1] - 1)
    noise = rng.uniform(0, 255, (count, *IMAGE_SHAPE))
    images = np.clip(0.5 * ramp[None] + 0.7 * noise - 20.0, 0.0, 255.0)
    images[:, 10:18, 4:12] = 0.0  # a black and a white patch: rotated or zoomed, their insides stay saturated
    images[:, 14:22, 20:28] = 255.0
    return images.astype(np.float32)


def augmentation(function, seed: int = 0) -> dict:
    """Run the student's augmentation at inference and in training; run its RandomFlip alone.

    Returns the images and outputs as arrays (N x 32 x 32 x 3, float32), and the
    augmentation's layers (class and settings); ``flip_output`` is None when
    there is no RandomFlip layer.
    """
    import keras

    keras.utils.set_random_seed(seed)  # before the layers exist: their seed generators draw from it
    stage = function()
    if not isinstance(stage, keras.layers.Layer):
        raise TypeError(f"build_augmentation returned {type(stage).__name__}, not a keras.Sequential of layers")
    images = _test_images(seed, 4)
    inference = np.asarray(stage(images, training=False), dtype=np.float32)
    training = np.asarray(stage(images, training=True), dtype=np.float32)
    inner = getattr(stage, "layers", None)
    described = [_layer(layer) for layer in inner[:MAX_LAYERS]] if isinstance(inner, list) else []
    flips = [layer for layer in inner or [] if type(layer).__name__ == "RandomFlip"]
    flip_images = _test_images(seed + 1, FLIP_BATCH)
    flip_output = None
    if flips:
        keras.utils.set_random_seed(seed)
        flip_output = np.asarray(flips[0](flip_images, training=True), dtype=np.float32)
    return {"class": type(stage).__name__, "layers": described, "images": images, "inference": inference,
            "training": training, "flip_images": flip_images, "flip_output": flip_output}


def callbacks(function, log_dir: str, checkpoint_path: str) -> dict:
    """Class and settings of each callback the student's ``make_callbacks`` returned."""
    returned = function(log_dir, checkpoint_path)
    if not isinstance(returned, list | tuple):
        raise TypeError(f"make_callbacks returned {type(returned).__name__}, not a list of callbacks")
    fields = ("monitor", "restore_best_weights", "save_best_only", "save_weights_only", "histogram_freq",
              "log_dir", "filepath", "patience", "mode")
    described = []
    for callback in list(returned)[:16] if isinstance(returned, list | tuple) else []:
        attributes = {}
        for field in fields:
            value = getattr(callback, field, None)
            if isinstance(value, bool | int | float | str):
                attributes[field] = value if not isinstance(value, str) else value[:300]
        described.append({"class": type(callback).__name__, "settings": attributes})
    return {"type": type(returned).__name__, "callbacks": described}


PROBES = {
    "feature_extractor": feature_extractor,
    "fine_tuned": fine_tuned,
    "augmentation": augmentation,
    "callbacks": callbacks,
}
