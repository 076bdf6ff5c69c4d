"""Read an untrusted ``.keras`` file's archive and ``config.json`` from plain bytes, loading nothing.

A Keras v3 file is a zip of ``config.json``, ``metadata.json`` and
``model.weights.h5``. ``safe_mode=True`` is necessary and not sufficient
(ADVERSARIAL.md: CVE-2025-1550, -8747, -9906, -49655, -12058, 2026-0897), so
before anything loads the file ``read_keras_archive`` checks:

- the zip: at most a few members, only the expected names (no folders, no
  ``..``, no absolute paths, no links), capped sizes and compression ratio;
- ``config.json``: every object with a ``class_name`` is on an allowlist of
  standard Keras classes from Keras's own modules, with no registered (custom)
  name; activations are plain names of built-in activations; no function
  payloads (``Lambda``'s ``function``), no ``enable_unsafe_deserialization``.

``keras_file.model_spec`` then reads the configuration as a chain of layers.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass

from grader.errors import SubmissionError
from grader.limits import MAX_KERAS_CONFIG_BYTES as MAX_CONFIG_BYTES
from grader.limits import MAX_KERAS_RATIO as MAX_RATIO
from grader.limits import MAX_MODEL_FILE_BYTES as MAX_FILE_BYTES

MEMBERS = {"config.json", "metadata.json", "model.weights.h5"}

LAYER_CLASSES = {
    "InputLayer", "Conv1D", "Conv2D", "Conv3D", "DepthwiseConv2D", "SeparableConv2D", "Dense", "Flatten",
    "Dropout", "SpatialDropout2D", "GaussianNoise", "BatchNormalization", "LayerNormalization", "Activation",
    "ReLU", "LeakyReLU", "ELU", "Softmax", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
    "GlobalMaxPooling2D", "Rescaling", "Normalization", "RandomFlip", "RandomTranslation", "RandomRotation",
    "RandomZoom", "RandomContrast", "RandomCrop", "Reshape", "ZeroPadding2D",
}
MODEL_CLASSES = {"Sequential", "Functional", "Model"}
SUPPORT_CLASSES = {
    "DTypePolicy", "FloatDTypePolicy", "__keras_tensor__", "__tensor__", "__numpy__", "__tuple__",
    "GlorotUniform", "GlorotNormal", "HeNormal", "HeUniform", "LecunNormal", "LecunUniform", "Zeros", "Ones",
    "Constant", "RandomNormal", "RandomUniform", "TruncatedNormal", "Orthogonal", "VarianceScaling", "Identity",
    "L1", "L2", "L1L2", "OrthogonalRegularizer", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm",
    "Adam", "AdamW", "SGD", "RMSprop", "Nadam", "Adagrad", "Adadelta", "Adamax", "Lion", "Ftrl",
    "ExponentialDecay", "CosineDecay", "CosineDecayRestarts", "PiecewiseConstantDecay", "PolynomialDecay",
    "InverseTimeDecay",
    "SparseCategoricalCrossentropy", "CategoricalCrossentropy", "MeanSquaredError",
    "SparseCategoricalAccuracy", "CategoricalAccuracy", "Accuracy", "MeanMetricWrapper", "Mean",
}
ALLOWED_CLASSES = LAYER_CLASSES | MODEL_CLASSES | SUPPORT_CLASSES
ACTIVATIONS = {
    None, "linear", "relu", "relu6", "elu", "selu", "gelu", "silu", "swish", "tanh", "sigmoid", "hard_sigmoid",
    "softmax", "softplus", "softsign", "leaky_relu", "exponential", "mish", "log_softmax",
}
MODULES = {  # the modules Keras 3 writes for its own classes; anything else (``keras.evil``) is refused
    "keras", "keras.layers", "keras.initializers", "keras.regularizers", "keras.constraints", "keras.optimizers",
    "keras.optimizers.schedules", "keras.losses", "keras.metrics", "keras.models", "keras.dtype_policies",
    "keras.src.models.functional", "keras.src.models.sequential", "keras.src.models.model",
}
FORBIDDEN_KEYS = {"function", "function_type", "output_shape_type", "fn", "vocabulary", "filepath"}


class RefusedModel(SubmissionError):
    """The file is not a model the grader will load: the message says why, in one line."""


@dataclass(frozen=True)
class KerasArchive:
    config: dict
    members: dict[str, int]  # name -> uncompressed size


def read_keras_archive(data: bytes) -> KerasArchive:
    """Validate the zip and its config.json; raise RefusedModel with the reason otherwise."""
    if len(data) > MAX_FILE_BYTES:
        raise RefusedModel(f"the model file is {len(data) // 2**20} MB; at most {MAX_FILE_BYTES // 2**20} MB")
    if data[:2] != b"PK":
        if data[:8] == b"\x89HDF\r\n\x1a\n":
            raise RefusedModel("a legacy HDF5 (.h5) model: save it with model.save('model.keras') (Keras v3)")
        raise RefusedModel("not a Keras v3 .keras file (not a zip archive)")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise RefusedModel(f"the .keras zip archive is damaged ({error})") from None
    members: dict[str, int] = {}
    for info in infos:
        name = info.filename
        if name not in MEMBERS:
            raise RefusedModel(f"unexpected member {name[:80]!r} in the .keras archive (allowed: {sorted(MEMBERS)})")
        if name in members:
            raise RefusedModel(f"the .keras archive holds {name!r} twice")
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise RefusedModel(f"{name} is a symbolic link")
        if info.file_size > MAX_FILE_BYTES or info.file_size > MAX_RATIO * max(info.compress_size, 1024):
            raise RefusedModel(f"{name} declares {info.file_size} bytes (size or compression ratio over the cap)")
        members[name] = info.file_size
    if "config.json" not in members:
        raise RefusedModel("the .keras archive has no config.json")
    if members["config.json"] > MAX_CONFIG_BYTES:
        raise RefusedModel("config.json is larger than 4 MB")
    try:
        with archive.open("config.json") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
        config = json.loads(raw)
    except (zipfile.BadZipFile, OSError, ValueError, RecursionError) as error:
        raise RefusedModel(f"config.json cannot be read ({type(error).__name__})") from None
    if not isinstance(config, dict):
        raise RefusedModel("config.json is not a JSON object")
    _check_objects(config, depth=0)
    return KerasArchive(config=config, members=members)


def _check_objects(node: object, depth: int) -> None:
    if depth > 64:
        raise RefusedModel("config.json is nested too deeply")
    if isinstance(node, list):
        for item in node:
            _check_objects(item, depth + 1)
        return
    if isinstance(node, str):
        if "enable_unsafe_deserialization" in node or "safe_mode" in node:
            raise RefusedModel("config.json refers to enable_unsafe_deserialization / safe_mode")
        return
    if not isinstance(node, dict):
        return
    forbidden = FORBIDDEN_KEYS & set(node)
    if forbidden:
        raise RefusedModel(f"config.json carries {sorted(forbidden)[0]!r} (code or files the model would load)")
    if "class_name" in node:
        name = node.get("class_name")
        module = node.get("module")
        if not isinstance(name, str):
            raise RefusedModel(f"config.json has a class_name that is not a string ({type(name).__name__})")
        if name == "Lambda":
            raise RefusedModel("the model has a Lambda layer: it runs arbitrary code and is not accepted")
        if name not in ALLOWED_CLASSES:
            raise RefusedModel(f"the model uses {str(name)[:60]!r}, which is not a standard Keras class "
                               "accepted here")
        if module is not None and (not isinstance(module, str) or module not in MODULES):
            raise RefusedModel(f"{name} comes from module {str(module)[:60]!r}, not from Keras")
        registered = node.get("registered_name")
        if registered is not None and registered != name:  # Keras writes null for its own classes
            raise RefusedModel(f"{name} is a registered custom object ({str(registered)[:60]!r})")
        config = node.get("config")
        if isinstance(config, dict) and name in LAYER_CLASSES and ("activation" in config or name == "Activation"):
            activation = config.get("activation")
            if not (activation is None or isinstance(activation, str)) or activation not in ACTIVATIONS:
                raise RefusedModel(f"{name} has a custom activation {str(activation)[:60]!r}")
    for value in node.values():
        _check_objects(value, depth + 1)
