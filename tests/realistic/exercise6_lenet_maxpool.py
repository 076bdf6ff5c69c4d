"""Exercise 6 as a student writes it from a Keras tutorial (issue 10, "exercise 6 double penalty").

All six models follow the lectures except one: LeNet-5 uses MaxPooling2D where the
lecture has AveragePooling2D. Types and order are wrong for LeNet-5; its shapes,
parameter counts and activations are the lecture's.
"""

import keras
from keras import layers


def build_mlp():
    model = keras.Sequential(name="mlp")
    model.add(keras.Input(shape=(28, 28)))
    model.add(layers.Flatten())
    model.add(layers.Dense(300, activation="relu"))
    model.add(layers.Dense(100, activation="relu"))
    model.add(layers.Dense(10, activation="softmax"))
    return model


def build_lenet5():
    inputs = keras.Input(shape=(32, 32, 1))
    x = layers.Conv2D(filters=6, kernel_size=(5, 5), activation="tanh")(inputs)
    x = layers.MaxPooling2D(pool_size=(2, 2))(x)
    x = layers.Conv2D(filters=16, kernel_size=(5, 5), activation="tanh")(x)
    x = layers.MaxPooling2D(pool_size=(2, 2))(x)
    x = layers.Flatten()(x)
    x = layers.Dense(120, activation="tanh")(x)
    x = layers.Dense(84, activation="tanh")(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="LeNet5")


def build_lecture_cnn():
    model = keras.Sequential([keras.Input(shape=(28, 28, 1))])
    model.add(layers.Conv2D(64, 7, activation="relu", padding="same"))
    model.add(layers.MaxPooling2D(2))
    for filters in (128, 256):
        model.add(layers.Conv2D(filters, 3, activation="relu", padding="same"))
        model.add(layers.Conv2D(filters, 3, activation="relu", padding="same"))
        model.add(layers.MaxPooling2D(2))
    model.add(layers.Flatten())
    model.add(layers.Dense(128, activation="relu"))
    model.add(layers.Dropout(0.5))
    model.add(layers.Dense(64, activation="relu"))
    model.add(layers.Dropout(0.5))
    model.add(layers.Dense(10, activation="softmax"))
    return model


def build_bn_cnn():
    inputs = keras.Input(shape=(28, 28, 1))
    x = inputs
    for filters in (32, 64):
        x = layers.Conv2D(filters, (3, 3), activation="relu")(x)
        x = layers.BatchNormalization()(x)
        x = layers.MaxPooling2D((2, 2))(x)
        x = layers.Dropout(0.5)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Dropout(0.1)(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def build_small_convnet():
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(128, (3, 3), activation="relu"),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ])


def build_cifar10_cnn():
    model = keras.Sequential()
    model.add(keras.Input(shape=(32, 32, 3)))
    for filters, rate, padding in [(32, 0.2, "same"), (64, 0.2, "same"), (128, 0.5, "valid")]:
        model.add(layers.Conv2D(filters, (3, 3), padding=padding))
        model.add(layers.BatchNormalization())
        model.add(layers.Activation("elu"))
        model.add(layers.Conv2D(filters, (3, 3), padding=padding))
        model.add(layers.BatchNormalization())
        model.add(layers.Activation("elu"))
        model.add(layers.MaxPooling2D((2, 2)))
        model.add(layers.Dropout(rate))
    model.add(layers.Flatten())
    model.add(layers.Dense(10, activation="softmax"))
    return model
