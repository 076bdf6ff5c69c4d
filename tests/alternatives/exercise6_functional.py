"""Exercise 6 with the functional API and activations as separate layers: the same computation."""

import keras
from keras import layers


def _chain(shape, *blocks):
    inputs = keras.Input(shape=shape)
    x = inputs
    for block in blocks:
        x = block(x)
    return keras.Model(inputs, x)


def build_mlp():
    return _chain((28, 28), layers.Flatten(), layers.Dense(300), layers.ReLU(), layers.Dense(100),
                  layers.Activation("relu"), layers.Dense(10), layers.Softmax())


def build_lenet5():
    return _chain((32, 32, 1), layers.Conv2D(6, (5, 5)), layers.Activation("tanh"),
                  layers.AveragePooling2D(pool_size=(2, 2), strides=2), layers.Conv2D(16, 5),
                  layers.Activation("tanh"), layers.AveragePooling2D(2), layers.Flatten(),
                  layers.Dense(120, activation="relu"), layers.Dense(84, activation="relu"),
                  layers.Dense(10, activation="softmax"))


def build_lecture_cnn():
    def conv(filters, size):
        return layers.Conv2D(filters, size, padding="same", activation="relu")

    return _chain((28, 28, 1), conv(64, 7), layers.MaxPooling2D(), conv(128, 3), conv(128, 3),
                  layers.MaxPooling2D(), conv(256, 3), conv(256, 3), layers.MaxPooling2D(), layers.Flatten(),
                  layers.Dense(128, activation="relu"), layers.Dropout(0.5), layers.Dense(64, activation="relu"),
                  layers.Dropout(0.5), layers.Dense(10, activation="softmax"))


def build_bn_cnn():
    return _chain((28, 28, 1), layers.Conv2D(32, 3), layers.ReLU(), layers.BatchNormalization(),
                  layers.MaxPooling2D(), layers.Dropout(0.5), layers.Conv2D(64, 3, activation="relu"),
                  layers.BatchNormalization(), layers.MaxPooling2D(), layers.Dropout(0.5), layers.Flatten(),
                  layers.Dense(128, activation="relu"), layers.BatchNormalization(), layers.Dropout(0.1),
                  layers.Dense(10, activation="softmax"))


def build_small_convnet():
    model = keras.Sequential()
    model.add(keras.Input((28, 28, 1)))
    for filters in (32, 64):
        model.add(layers.Conv2D(filters, 3, activation="relu"))
        model.add(layers.MaxPooling2D())
    model.add(layers.Conv2D(128, 3, activation="relu"))
    model.add(layers.Flatten())
    model.add(layers.Dense(10))
    model.add(layers.Activation("softmax"))
    return model


def build_cifar10_cnn():
    blocks = []
    for filters, rate, padding in ((32, 0.2, "same"), (64, 0.2, "same"), (128, 0.5, "valid")):
        for _ in range(2):
            blocks += [layers.Conv2D(filters, (3, 3), padding=padding), layers.BatchNormalization(), layers.ELU()]
        blocks += [layers.MaxPooling2D(2), layers.Dropout(rate)]
    return _chain((32, 32, 3), *blocks, layers.Flatten(), layers.Dense(10, activation="softmax"))
