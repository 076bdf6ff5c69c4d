"""Exercise 6: the lecture models in Keras.

Each function returns an *uncompiled* ``keras.Model`` with the architecture of
the lectures. Build it with ``keras.Sequential`` or the functional API, as you
prefer; give the model an ``keras.Input`` of the stated shape so that its
shapes and parameter counts are fixed. An activation may be a layer argument
(``Conv2D(..., activation="relu")``) or a separate ``Activation`` layer, except
where the order matters: in ``build_cifar10_cnn`` the elu comes *after* the
batch normalization, so it must be its own layer.

The grader builds your model in a sandbox, saves it (``model.save``), and reads
the saved configuration: layer types and order, activations, output shapes,
per-layer and total parameter counts. Compare with ``model.summary()``.

Shapes follow the course's conventions: images (H, W, C), "valid" padding
unless stated, max pooling 2x2 with stride 2 unless stated.
"""

import keras
from keras import layers


def build_mlp() -> keras.Model:
    """The multilayer perceptron for 28x28 images (266,610 parameters).

    Input (28, 28) -> Flatten -> Dense 300 relu -> Dense 100 relu -> Dense 10 softmax.
    Params: 784*300 + 300 = 235,500; 300*100 + 100 = 30,100; 100*10 + 10 = 1,010.
    """
    # BEGIN SOLUTION
    return keras.Sequential([
        keras.Input(shape=(28, 28)),
        layers.Flatten(),
        layers.Dense(300, activation="relu"),
        layers.Dense(100, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ], name="mlp")
    # END SOLUTION


def build_lenet5() -> keras.Model:
    """LeNet-5 for 32x32 grey images (61,706 parameters).

    Input (32, 32, 1) -> Conv 6@5x5 tanh -> AvgPool 2 -> Conv 16@5x5 tanh -> AvgPool 2
    -> Flatten -> Dense 120 tanh -> Dense 84 tanh -> Dense 10 softmax.
    Params per layer: 156, 2,416, 48,120, 10,164, 850.
    """
    # BEGIN SOLUTION
    return keras.Sequential([
        keras.Input(shape=(32, 32, 1)),
        layers.Conv2D(6, 5, activation="tanh"),
        layers.AveragePooling2D(2),
        layers.Conv2D(16, 5, activation="tanh"),
        layers.AveragePooling2D(2),
        layers.Flatten(),
        layers.Dense(120, activation="tanh"),
        layers.Dense(84, activation="tanh"),
        layers.Dense(10, activation="softmax"),
    ], name="lenet5")
    # END SOLUTION


def build_lecture_cnn() -> keras.Model:
    """The lecture's CNN for 28x28x1 images (1,413,834 parameters).

    Conv 64@7x7 "same" relu -> MaxPool 2 -> 2 x Conv 128@3x3 "same" relu -> MaxPool 2
    -> 2 x Conv 256@3x3 "same" relu -> MaxPool 2 -> Flatten -> Dense 128 relu -> Dropout 0.5
    -> Dense 64 relu -> Dropout 0.5 -> Dense 10 softmax.
    """
    # BEGIN SOLUTION
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(64, 7, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(128, 3, padding="same", activation="relu"),
        layers.Conv2D(128, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(256, 3, padding="same", activation="relu"),
        layers.Conv2D(256, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(64, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ], name="lecture_cnn")
    # END SOLUTION


def build_bn_cnn() -> keras.Model:
    """A CNN with batch normalization for 28x28x1 images (225,930 parameters, 448 non-trainable).

    Conv 32@3x3 relu -> BatchNorm -> MaxPool 2 -> Dropout 0.5 -> Conv 64@3x3 relu -> BatchNorm
    -> MaxPool 2 -> Dropout 0.5 -> Flatten -> Dense 128 relu -> BatchNorm -> Dropout 0.1
    -> Dense 10 softmax. Each BatchNorm on C channels has 4C weights, 2C non-trainable.
    """
    # BEGIN SOLUTION
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"),
        layers.BatchNormalization(),
        layers.MaxPooling2D(2),
        layers.Dropout(0.5),
        layers.Conv2D(64, 3, activation="relu"),
        layers.BatchNormalization(),
        layers.MaxPooling2D(2),
        layers.Dropout(0.5),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.BatchNormalization(),
        layers.Dropout(0.1),
        layers.Dense(10, activation="softmax"),
    ], name="bn_cnn")
    # END SOLUTION


def build_small_convnet() -> keras.Model:
    """A small convnet for 28x28x1 images (104,202 parameters).

    Conv 32@3x3 relu -> MaxPool 2 -> Conv 64@3x3 relu -> MaxPool 2 -> Conv 128@3x3 relu
    -> Flatten -> Dense 10 softmax.
    """
    # BEGIN SOLUTION
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(128, 3, activation="relu"),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ], name="small_convnet")
    # END SOLUTION


def build_cifar10_cnn() -> keras.Model:
    """The CIFAR-10 CNN for 32x32x3 images (293,930 parameters, 896 non-trainable).

    Three blocks, with filters 32, 64, 128 and dropout 0.2, 0.2, 0.5; each block is
    2 x (Conv 3x3 -> BatchNorm -> elu) -> MaxPool 2 -> Dropout. The first two blocks use
    "same" padding, the last "valid". Then Flatten -> Dense 10 softmax.
    The elu follows the batch normalization: it must be a separate Activation layer.
    """
    # BEGIN SOLUTION
    model = keras.Sequential([keras.Input(shape=(32, 32, 3))], name="cifar10_cnn")
    for filters, rate, padding in ((32, 0.2, "same"), (64, 0.2, "same"), (128, 0.5, "valid")):
        for _ in range(2):
            model.add(layers.Conv2D(filters, 3, padding=padding))
            model.add(layers.BatchNormalization())
            model.add(layers.Activation("elu"))
        model.add(layers.MaxPooling2D(2))
        model.add(layers.Dropout(rate))
    model.add(layers.Flatten())
    model.add(layers.Dense(10, activation="softmax"))
    return model
    # END SOLUTION
