"""The worked numbers of the lectures, as data the checks reuse (SPEC.md "Worked numbers").

Each ``*_SPEC`` constant is a ``LectureModel``: an input shape, a layer list in
the form ``model_summary`` takes (keys and defaults as in Keras, so
``getattr(keras.layers, spec["type"])(**rest)`` builds the same layer), and the
totals the lecture states. ``WORKED_OUTPUT_SIZES`` and ``WORKED_PARAMS`` are the
single-function numbers (a call and its expected result).

tests/test_reference_formulas.py proves every number here against
``grader.reference.formulas``, the reference solutions and a real Keras model.
Activations are the lectures' usual ones; they change no shape or count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class WorkedNumber:
    """One call of an exercise function and the result the lecture gives."""

    function: str
    kwargs: Mapping[str, object]
    expected: object
    lecture: str


@dataclass(frozen=True)
class LectureModel:
    """A lecture network as a ``model_summary`` spec, with the lecture's numbers."""

    name: str
    lecture: str
    input_shape: tuple[int, ...]
    layers: tuple[Mapping[str, object], ...]
    total: int
    trainable: int
    non_trainable: int
    output_shape: tuple[int, ...]
    # The per-layer counts the lecture quotes, for the layers that have weights, in order.
    weighted_layer_params: tuple[int, ...] = ()

    def layer_specs(self) -> list[dict]:
        """A fresh list of fresh dicts, safe to hand to code that might modify it."""
        return [dict(layer) for layer in self.layers]


def _worked(function: str, expected: object, lecture: str, **kwargs: object) -> WorkedNumber:
    return WorkedNumber(function, MappingProxyType(kwargs), expected, lecture)


def _layers(*specs: dict) -> tuple[Mapping[str, object], ...]:
    return tuple(MappingProxyType(spec) for spec in specs)


def _conv(filters: int, kernel_size: int, padding: str = "valid",
          activation: str = "relu") -> dict:
    return {"type": "Conv2D", "filters": filters, "kernel_size": kernel_size,
            "padding": padding, "activation": activation}


def _dense(units: int, activation: str = "relu") -> dict:
    return {"type": "Dense", "units": units, "activation": activation}


_MAXPOOL = {"type": "MaxPooling2D", "pool_size": 2}
_FLATTEN = {"type": "Flatten"}
_BN = {"type": "BatchNormalization"}
_ELU = {"type": "Activation", "activation": "elu"}


def _dropout(rate: float) -> dict:
    return {"type": "Dropout", "rate": rate}


WORKED_OUTPUT_SIZES: tuple[WorkedNumber, ...] = (
    _worked("conv_output_size", 5, "W=7, F=3, P=0, S=1 -> 5",
            input_size=7, kernel_size=3, stride=1, padding=0),
    _worked("conv_output_size", 26, "28x28 with a 3x3 kernel, S=1 -> 26",
            input_size=28, kernel_size=3, stride=1),
    _worked("conv_output_size", 13, "28x28 with a 3x3 kernel, S=2 -> 13",
            input_size=28, kernel_size=3, stride=2),
    _worked("conv_output_size", 3, "W=5, F=3, P=0, S=1 -> 3",
            input_size=5, kernel_size=3, stride=1, padding=0),
    _worked("pool_output_size", 3, "9x9 with 3x3 max pooling, stride 3 -> 3x3",
            input_size=9, pool_size=3, stride=3),
)

WORKED_PARAMS: tuple[WorkedNumber, ...] = (
    _worked("conv2d_params", 152, "3 input maps, two 5x5 filters -> 152",
            kernel_size=5, in_channels=3, filters=2),
    _worked("conv2d_params", 304, "3 slices, four 5x5 filters -> 304",
            kernel_size=5, in_channels=3, filters=4),
    _worked("conv2d_params", 76, "one 5x5 filter on 3 slices -> 76 (75 weights and a bias)",
            kernel_size=5, in_channels=3, filters=1),
    _worked("conv2d_params", 320, "conv 32@3x3 on 1 channel -> 320",
            kernel_size=3, in_channels=1, filters=32),
    _worked("conv2d_params", 18496, "conv 64@3x3 on 32 channels -> 18,496",
            kernel_size=3, in_channels=32, filters=64),
    _worked("dense_params", 204928, "Dense 1600 -> 128 -> 204,928",
            in_features=1600, units=128),
    _worked("batchnorm_params", (64, 64), "BN on 32 channels -> 128 (64 trainable)",
            channels=32),
)


MLP_SPEC = LectureModel(
    name="mlp",
    lecture="MLP 784-300-100-10 -> 266,610",
    input_shape=(28, 28),
    layers=_layers(_FLATTEN, _dense(300), _dense(100), _dense(10, "softmax")),
    total=266610, trainable=266610, non_trainable=0, output_shape=(10,),
    weighted_layer_params=(235500, 30100, 1010),
)

LENET5_SPEC = LectureModel(
    name="lenet5",
    lecture="LeNet-5 -> 61,706 (156, 2,416, 48,120, 10,164, 850)",
    input_shape=(32, 32, 1),
    layers=_layers(
        _conv(6, 5, activation="tanh"),
        {"type": "AveragePooling2D", "pool_size": 2},
        _conv(16, 5, activation="tanh"),
        {"type": "AveragePooling2D", "pool_size": 2},
        _FLATTEN,
        _dense(120, "tanh"),
        _dense(84, "tanh"),
        _dense(10, "softmax"),
    ),
    total=61706, trainable=61706, non_trainable=0, output_shape=(10,),
    weighted_layer_params=(156, 2416, 48120, 10164, 850),
)

VGG16_CONV_BASE_SPEC = LectureModel(
    name="vgg16_conv_base",
    lecture="VGG16 conv base (include_top=False) at 180x180x3 -> 14,714,688",
    input_shape=(180, 180, 3),
    layers=_layers(
        _conv(64, 3, "same"), _conv(64, 3, "same"), _MAXPOOL,
        _conv(128, 3, "same"), _conv(128, 3, "same"), _MAXPOOL,
        _conv(256, 3, "same"), _conv(256, 3, "same"), _conv(256, 3, "same"), _MAXPOOL,
        _conv(512, 3, "same"), _conv(512, 3, "same"), _conv(512, 3, "same"), _MAXPOOL,
        _conv(512, 3, "same"), _conv(512, 3, "same"), _conv(512, 3, "same"), _MAXPOOL,
    ),
    total=14714688, trainable=14714688, non_trainable=0, output_shape=(5, 5, 512),
)

CONV64_DENSE10_SPEC = LectureModel(
    name="conv64_dense10",
    lecture="Conv 64@3 on 28x28x1 then Flatten, Dense 10 -> 433,290",
    input_shape=(28, 28, 1),
    layers=_layers(_conv(64, 3), _FLATTEN, _dense(10, "softmax")),
    total=433290, trainable=433290, non_trainable=0, output_shape=(10,),
    weighted_layer_params=(640, 432650),
)

TWO_CONV_MNIST_SPEC = LectureModel(
    name="two_conv_mnist",
    lecture="Conv 32@3, Conv 32@3, MaxPool 2, Flatten, Dense 64, Dense 10 on 28x28x1 -> 305,194",
    input_shape=(28, 28, 1),
    layers=_layers(_conv(32, 3), _conv(32, 3), _MAXPOOL, _FLATTEN, _dense(64),
                   _dense(10, "softmax")),
    total=305194, trainable=305194, non_trainable=0, output_shape=(10,),
    weighted_layer_params=(320, 9248, 294976, 650),
)

# exercise6's table (SPEC.md): the same models the students build in Keras.

LECTURE_CNN_SPEC = LectureModel(
    name="lecture_cnn",
    lecture="build_lecture_cnn() -> 1,413,834",
    input_shape=(28, 28, 1),
    layers=_layers(
        _conv(64, 7, "same"), _MAXPOOL,
        _conv(128, 3, "same"), _conv(128, 3, "same"), _MAXPOOL,
        _conv(256, 3, "same"), _conv(256, 3, "same"), _MAXPOOL,
        _FLATTEN, _dense(128), _dropout(0.5), _dense(64), _dropout(0.5), _dense(10, "softmax"),
    ),
    total=1413834, trainable=1413834, non_trainable=0, output_shape=(10,),
)

BN_CNN_SPEC = LectureModel(
    name="bn_cnn",
    lecture="build_bn_cnn() -> 225,930 (225,482 trainable, 448 non-trainable)",
    input_shape=(28, 28, 1),
    layers=_layers(
        _conv(32, 3), _BN, _MAXPOOL, _dropout(0.5),
        _conv(64, 3), _BN, _MAXPOOL, _dropout(0.5),
        _FLATTEN, _dense(128), _BN, _dropout(0.1), _dense(10, "softmax"),
    ),
    total=225930, trainable=225482, non_trainable=448, output_shape=(10,),
)

SMALL_CONVNET_SPEC = LectureModel(
    name="small_convnet",
    lecture="build_small_convnet() -> 104,202",
    input_shape=(28, 28, 1),
    layers=_layers(_conv(32, 3), _MAXPOOL, _conv(64, 3), _MAXPOOL, _conv(128, 3), _FLATTEN,
                   _dense(10, "softmax")),
    total=104202, trainable=104202, non_trainable=0, output_shape=(10,),
)


def _cifar_block(filters: int, padding: str, rate: float) -> tuple[dict, ...]:
    conv = {"type": "Conv2D", "filters": filters, "kernel_size": 3, "padding": padding}
    return (conv, _BN, _ELU, conv, _BN, _ELU, _MAXPOOL, _dropout(rate))


CIFAR10_CNN_SPEC = LectureModel(
    name="cifar10_cnn",
    lecture="build_cifar10_cnn() -> 293,930 (293,034 trainable, 896 non-trainable)",
    input_shape=(32, 32, 3),
    layers=_layers(
        *_cifar_block(32, "same", 0.2), *_cifar_block(64, "same", 0.2),
        *_cifar_block(128, "valid", 0.5), _FLATTEN, _dense(10, "softmax"),
    ),
    total=293930, trainable=293034, non_trainable=896, output_shape=(10,),
)

LECTURE_MODELS: tuple[LectureModel, ...] = (
    MLP_SPEC, LENET5_SPEC, VGG16_CONV_BASE_SPEC, CONV64_DENSE10_SPEC, TWO_CONV_MNIST_SPEC,
    LECTURE_CNN_SPEC, BN_CNN_SPEC, SMALL_CONVNET_SPEC, CIFAR10_CNN_SPEC,
)
