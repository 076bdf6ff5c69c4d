"""Inspect an untrusted ``.keras`` file in the grader without loading it: what the model is.

``keras_archive.read_keras_archive`` has checked the zip and ``config.json``
(allowlisted Keras classes only, no code, capped sizes). This module reads that
configuration as a chain of layers whose shapes and parameter count follow from
it (``model_spec``), so a file cannot declare a 1 GB tensor that the checks
would accept, and summarizes it the way ``model.summary()`` would (``summarize``).

The parent never loads the weights; a lab's model is loaded (``safe_mode=True``)
only inside the sandbox after this inspection passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from grader.intake.keras_archive import MODEL_CLASSES, RefusedModel


@dataclass(frozen=True)
class ModelSpec:
    """A chain model: its input shape (no batch axis) and its layers as model_summary specs."""

    input_shape: tuple[int, ...]
    layers: list[dict]  # {"type": ..., keras arguments...}; activations split into Activation layers
    raw_types: list[str]  # the layer classes as saved, in order (for messages)


_KEEP = {
    "Conv2D": ("filters", "kernel_size", "strides", "padding", "dilation_rate", "use_bias"),
    "Dense": ("units", "use_bias"),
    "MaxPooling2D": ("pool_size", "strides", "padding"),
    "AveragePooling2D": ("pool_size", "strides", "padding"),
    "Dropout": ("rate",),
    "BatchNormalization": (),
    "Flatten": (),
    "GlobalAveragePooling2D": (),
    "GlobalMaxPooling2D": (),
}
_ACTIVATION_LAYERS = {"ReLU": "relu", "ELU": "elu", "Softmax": "softmax", "LeakyReLU": "leaky_relu"}
_NO_OP = {"InputLayer", "Rescaling", "RandomFlip", "RandomTranslation", "RandomRotation", "RandomZoom",
          "RandomContrast", "GaussianNoise", "SpatialDropout2D"}
_IMAGE_LAYERS = {"Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D"}
# keys model_spec adds, only where they differ from Keras's defaults, and that ``summarize`` interprets
# (``grader.reference.formulas.model_summary`` takes the course's keys only)
EXTRA_KEYS = ("groups", "data_format", "axis")


def _tuple(value):
    return tuple(value) if isinstance(value, list) else value


def _index(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _layer_specs(layer: object) -> list[dict]:
    """One saved layer as model_summary specs: the layer, then its activation as its own layer."""
    if not isinstance(layer, dict):
        raise RefusedModel(f"a layer of the model is a JSON {type(layer).__name__}, not an object")
    name = layer.get("class_name")
    config = layer.get("config") or {}
    if not isinstance(config, dict):
        raise RefusedModel(f"the {str(name)[:40]} layer's config is a JSON {type(config).__name__}, not an object")
    if name in _ACTIVATION_LAYERS:
        return [{"type": "Activation", "activation": _ACTIVATION_LAYERS[name]}]
    if name == "Activation":
        activation = config.get("activation")
        return [] if activation in (None, "linear") else [{"type": "Activation", "activation": activation}]
    if name in _NO_OP:
        return []
    if name == "Normalization":
        return [_normalization_spec(config)]
    if name not in _KEEP:
        raise RefusedModel(f"{name} layers are not part of this course's models")
    if name == "BatchNormalization" and (config.get("center") is False or config.get("scale") is False):
        raise RefusedModel("BatchNormalization with center=False or scale=False is not one of the course's layers")
    spec = {"type": name, **{k: _tuple(config[k]) for k in _KEEP[name] if k in config}}
    if name in ("MaxPooling2D", "AveragePooling2D") and spec.get("strides") is None:
        spec.pop("strides", None)
    if name in _IMAGE_LAYERS or name == "Flatten":
        data_format = config.get("data_format")
        if data_format not in (None, "channels_last", "channels_first"):
            raise RefusedModel(f"{name} has data_format {str(data_format)[:40]!r} "
                               "(channels_last or channels_first)")
        if data_format == "channels_first" and name != "Flatten":  # Flatten's order changes no count
            spec["data_format"] = "channels_first"
    if name == "Conv2D":
        groups = config.get("groups", 1)
        if not _index(groups) or groups < 1:
            raise RefusedModel(f"Conv2D has groups={str(groups)[:40]}, not a positive integer")
        if groups != 1:
            spec["groups"] = groups
    if name == "BatchNormalization":
        axis = config.get("axis", -1)
        if isinstance(axis, list) and len(axis) == 1:
            axis = axis[0]
        if not _index(axis):
            raise RefusedModel(f"BatchNormalization has axis={str(axis)[:40]}, not one axis")
        if axis != -1:
            spec["axis"] = axis
    trainable = config.get("trainable", True)
    if not isinstance(trainable, bool):
        raise RefusedModel(f"{name} has trainable={str(trainable)[:40]}, not true or false")
    if not trainable:
        spec["trainable"] = False
    specs = [spec]
    activation = config.get("activation")
    if activation not in (None, "linear"):
        specs.append({"type": "Activation", "activation": activation})
    return specs


def _normalization_spec(config: dict) -> dict:
    """Normalization holds non-trainable mean, variance (over its axes) and count, unless given mean/variance."""
    axis = config.get("axis", -1)
    axes = axis if isinstance(axis, list) else [axis]
    if axis is not None and not all(_index(a) for a in axes):
        raise RefusedModel(f"Normalization has axis={str(axis)[:40]}, not integers")
    given = config.get("mean") is not None or config.get("variance") is not None
    return {"type": "Normalization", "axis": None if axis is None else tuple(axes), "weights": not given}


def _chain(config: dict) -> list[dict]:
    """The layers of a Sequential model, or of a Functional model that is a simple chain."""
    layers = config.get("layers")
    if not isinstance(layers, list):
        raise RefusedModel("the model's configuration has no layer list")
    for layer in layers:
        if not isinstance(layer, dict):
            raise RefusedModel(f"a layer of the model is a JSON {type(layer).__name__}, not an object")
    if "input_layers" not in config:
        return layers
    by_name = {layer.get("config", {}).get("name") or layer.get("name"): layer for layer in layers}
    successor: dict[str, str] = {}
    for layer in layers:
        for node in layer.get("inbound_nodes") or []:
            sources = [arg["config"]["keras_history"][0] for arg in node.get("args", [])
                       if isinstance(arg, dict) and isinstance(arg.get("config"), dict)
                       and "keras_history" in arg["config"]]
            if len(sources) != 1:
                raise RefusedModel("the model is not a chain of layers (a layer with several inputs)")
            if sources[0] in successor:
                raise RefusedModel("the model is not a chain of layers (a branch)")
            successor[sources[0]] = layer.get("name") or layer["config"]["name"]
    inputs = config.get("input_layers")
    first = inputs[0] if isinstance(inputs, list) and inputs and isinstance(inputs[0], list) else inputs
    current = first[0] if isinstance(first, list) and first else None
    chain = []
    while current is not None and current in by_name and len(chain) <= len(layers):
        chain.append(by_name[current])
        current = successor.get(current)
    if len(chain) != len(layers):
        raise RefusedModel("the model is not a chain of layers from its input to its output")
    return chain


def model_spec(config: dict) -> ModelSpec:
    """The chain of layers of a saved (Sequential or chain-Functional) model.

    Any configuration that is not shaped like a saved Keras model (a list where an
    object belongs, a string for a number, a missing key) is a RefusedModel with
    its reason, never a TypeError or KeyError.
    """
    try:
        return _model_spec(config)
    except RefusedModel:
        raise
    except (TypeError, KeyError, AttributeError, IndexError, ValueError, RecursionError) as error:
        raise RefusedModel(f"config.json is not shaped like a saved Keras model "
                           f"({type(error).__name__}: {str(error)[:80]})") from None


def _model_spec(config: dict) -> ModelSpec:
    if not isinstance(config, dict):
        raise RefusedModel("config.json is not a JSON object")
    if config.get("class_name") not in MODEL_CLASSES:
        raise RefusedModel(f"config.json describes a {str(config.get('class_name'))[:40]!r}, not a model")
    inner = config.get("config") or {}
    if not isinstance(inner, dict):
        raise RefusedModel("the model's config is not a JSON object")
    layers = _chain(inner)
    input_shape = None
    if layers and layers[0].get("class_name") == "InputLayer":
        first = layers[0].get("config") or {}
        shape = first.get("batch_shape") or first.get("batch_input_shape")
        input_shape = tuple(shape[1:]) if isinstance(shape, list) else None
    elif layers:
        shape = (layers[0].get("build_config") or {}).get("input_shape")
        input_shape = tuple(shape[1:]) if isinstance(shape, list) else None
    if not input_shape or not all(_index(v) and v > 0 for v in input_shape):
        raise RefusedModel("the model has no fixed input shape (give it an Input of known size)")
    specs: list[dict] = []
    for layer in layers:
        specs += _layer_specs(layer)
    return ModelSpec(input_shape=input_shape, layers=specs, raw_types=[str(layer.get("class_name")) for layer in layers])


def summarize(input_shape: tuple[int, ...], layers: list[dict]) -> dict:
    """``keras.Model.summary()``'s rows and totals for ``model_spec``'s layers.

    ``grader.reference.formulas.model_summary`` (proven equal to Keras) on every
    layer, with what the course's formula does not cover and a saved model may
    hold: ``groups`` (a Conv2D kernel is (kh, kw, C_in / groups, filters)),
    ``data_format="channels_first"`` (shapes are (C, H, W)), a BatchNormalization
    ``axis`` other than the last, and Normalization's non-trainable mean,
    variance and count. Raises ValueError where the shapes do not work out (as
    Keras would refuse to build the model), RefusedModel on any other oddity.
    """
    from grader.reference import formulas as ref

    try:
        if not any(isinstance(layer, dict) and (layer.get("type") == "Normalization" or set(EXTRA_KEYS) & set(layer))
                   for layer in layers):
            return ref.model_summary(input_shape, layers)
        shape = tuple(input_shape)
        rows: list[dict] = []
        totals = {"trainable": 0, "non_trainable": 0}
        for index, layer in enumerate(layers):
            row, learned, fixed = _summarize_one(ref, shape, layer, f"layers[{index}]")
            totals["trainable"] += learned
            totals["non_trainable"] += fixed
            rows.append(row)
            shape = row["output_shape"]
        return {"layers": rows, "total": totals["trainable"] + totals["non_trainable"], **totals}
    except (ValueError, RefusedModel):
        raise
    except (TypeError, KeyError, AttributeError, IndexError, ZeroDivisionError, OverflowError) as error:
        raise RefusedModel(f"the model's layers cannot be counted ({type(error).__name__}: {str(error)[:80]})") \
            from None


def _axis_index(shape: tuple[int, ...], axis: int, where: str) -> int:
    """A Keras axis (0 is the batch axis, negatives count from the end) as an index into ``shape``."""
    index = axis + len(shape) if axis < 0 else axis - 1
    if not 0 <= index < len(shape):
        raise ValueError(f"{where}: axis {axis} does not exist for an input of shape {shape}")
    return index


def _summarize_one(ref, shape: tuple[int, ...], layer: dict, where: str) -> tuple[dict, int, int]:
    kind = layer["type"]
    if kind == "Normalization":
        count = 0
        if layer["weights"]:
            axes = layer["axis"] or ()
            count = 2 * prod(shape[_axis_index(shape, a, where)] for a in axes) + 1
        return {"type": kind, "output_shape": shape, "params": count}, 0, count
    plain = {k: v for k, v in layer.items() if k not in EXTRA_KEYS}
    channels_first = layer.get("data_format") == "channels_first"
    view = shape
    if channels_first:
        if len(shape) != 3:
            raise ValueError(f"{where}: {kind} with channels_first needs a (C, H, W) input, got shape {shape}")
        view = (*shape[1:], shape[0])
    elif "axis" in layer:
        index = _axis_index(shape, layer["axis"], where)
        view = (*shape[:index], *shape[index + 1:], shape[index])
    summary = ref.model_summary(view, [plain])
    row = summary["layers"][0]
    learned, fixed = summary["trainable"], summary["non_trainable"]
    output = row["output_shape"]
    if "axis" in layer and not channels_first:
        output = shape
    elif channels_first and len(output) == 3:
        output = (output[2], output[0], output[1])
    groups = layer.get("groups", 1)
    if groups != 1:
        filters = plain["filters"]
        if view[-1] % groups or filters % groups:
            raise ValueError(f"{where}: Conv2D with groups={groups} needs input channels ({view[-1]}) and "
                             f"filters ({filters}) divisible by {groups}")
        bias = filters if plain.get("use_bias", True) else 0
        params = (row["params"] - bias) // groups + bias
        learned, fixed = (params, 0) if learned else (0, params)
    return {"type": kind, "output_shape": output, "params": learned + fixed}, learned, fixed
