"""Exercise 7 as a student writes it from the book and a Keras 2 tutorial (issue 15).

One real mistake, and two things that are not mistakes:
- EarlyStopping monitors ``val_accuracy`` instead of ``val_loss``: the one check lost;
- ``fine_tune`` sets the last four layers of the base trainable without first
  unfreezing the base itself (``conv_base.trainable = True``). In Keras 3 that
  still gives block 5 trainable weights: 10,356,737 trainable parameters, and
  ``fit`` trains exactly block 5. The grader reads the weights, not the flags,
  so this earns full credit (a check reading the base's ``trainable`` flag
  gave 0 / 3 here);
- ``Dense(256, activation="relu")``: the lecture's Dense 256 has no activation,
  but the exercise does not state one, so any is accepted.
Score: 28 / 30.
"""

import keras
from keras import layers


def build_augmentation():
    data_augmentation = keras.Sequential(
        [
            layers.RandomFlip("horizontal"),
            layers.RandomRotation(0.1),
            layers.RandomZoom(0.2),
        ]
    )
    return data_augmentation


def build_feature_extractor(input_shape=(180, 180, 3), weights=None):
    conv_base = keras.applications.vgg16.VGG16(weights=weights, include_top=False, input_shape=input_shape)
    conv_base.trainable = False
    inputs = keras.Input(shape=input_shape)
    x = build_augmentation()(inputs)
    x = keras.applications.vgg16.preprocess_input(x)
    x = conv_base(x)
    x = layers.Flatten()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    return model


def fine_tune(model):
    conv_base = model.get_layer("vgg16")
    for layer in conv_base.layers[-4:]:
        layer.trainable = True
    return model


def make_callbacks(log_dir, checkpoint_path):
    return [
        keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=5, restore_best_weights=True),
        keras.callbacks.ModelCheckpoint(filepath=checkpoint_path, save_best_only=True, monitor="val_loss"),
        keras.callbacks.TensorBoard(log_dir=log_dir, histogram_freq=1),
    ]
