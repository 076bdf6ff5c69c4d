"""Lab CIFAR-10 — reference solution: a VGG-style CNN with batch normalisation.

Architecture (``build_model``; input: raw pixels 0..255 as float32, shape (32, 32, 3)):

    Rescaling(1/255)                                              32x32x3
    Conv2D 32@3x3 same (no bias), BatchNorm, ReLU                 32x32x32
    MaxPooling 2, Dropout 0.1                                     16x16x32
    2 x [Conv2D 64@3x3 same (no bias), BatchNorm, ReLU]           16x16x64
    MaxPooling 2, Dropout 0.2                                      8x8x64
    2 x [Conv2D 128@3x3 valid (no bias), BatchNorm, ReLU]          4x4x128
    MaxPooling 2, Dropout 0.3                                      2x2x128
    Flatten, Dense 10 softmax                                        10

    parameters: 284,138 (283,306 trainable, 832 non-trainable)

It is the lecture's CIFAR-10 CNN (exercise 6, ``build_cifar10_cnn``: three blocks of
two 3x3 convolutions with filters 32, 64, 128, the last block "valid") with ReLU, no
conv biases (the batch norm's beta replaces them), lighter dropout, and a single conv in
the first block: the second 32-filter conv at full 32x32 resolution costs a third of the
whole network's arithmetic, too much for a 2-core CPU.

Training (``train``): 45,000 training images (a seeded 10 % of the official training set
is held out for validation; the test set is never looked at), augmented outside the
model, freshly every epoch, with NumPy: a random horizontal flip and a random shift of up
to 3 pixels in each direction (zero fill). Adam, learning rate warmed up over the
first epoch to 2e-3 then cosine-decayed to 0, batch 128, 25 epochs.

Measured on the project's 2-core CPU machine (shared with other work, ``nice -n 10``),
the full run ``python solutions/train_labs.py lab_cifar10``:
test accuracy 0.8667 on the 10,000 official test images after 25 epochs (val_accuracy 0.8778);
training took 4,079.6 s of wall time (68 min; load average 2 to 8 during the run, from the
Fashion-MNIST training for its first 16 minutes and from other sessions' work) and
4,016.2 s of CPU time, i.e. about 33 min of both cores;
model.keras (no optimizer state) 1.22 MB.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

INPUT_SHAPE = (32, 32, 3)
NUM_CLASSES = 10
EPOCHS = 25
BATCH_SIZE = 128
LEARNING_RATE = 2e-3
SHIFT = 3
VAL_FRACTION = 0.1
SEED = 0


def build_model() -> keras.Model:
    """The uncompiled CNN; it takes raw pixel values (0..255) and normalises them itself."""

    def conv_bn_relu(filters: int, padding: str) -> list[layers.Layer]:
        return [layers.Conv2D(filters, 3, padding=padding, use_bias=False),
                layers.BatchNormalization(), layers.ReLU()]

    return keras.Sequential([
        keras.Input(INPUT_SHAPE, name="image"),
        layers.Rescaling(1 / 255),
        *conv_bn_relu(32, "same"),
        layers.MaxPooling2D(),
        layers.Dropout(0.1),
        *conv_bn_relu(64, "same"),
        *conv_bn_relu(64, "same"),
        layers.MaxPooling2D(),
        layers.Dropout(0.2),
        *conv_bn_relu(128, "valid"),
        *conv_bn_relu(128, "valid"),
        layers.MaxPooling2D(),
        layers.Dropout(0.3),
        layers.Flatten(),
        layers.Dense(NUM_CLASSES, activation="softmax"),
    ], name="cifar10_cnn")


def split(x: np.ndarray, y: np.ndarray, *, limit: int | None = None,
          val_fraction: float = VAL_FRACTION, seed: int = SEED):
    """Shuffle the training set (seeded), keep the first ``limit`` images, hold out a
    validation part: ((x_fit, y_fit), (x_val, y_val)); images stay uint8."""
    order = np.random.default_rng(seed).permutation(len(x))[:limit]
    x, y = x[order], y[order]
    n_val = max(1, round(len(x) * val_fraction))
    return (x[n_val:], y[n_val:]), (x[:n_val], y[:n_val])


def augment(images: np.ndarray, rng: np.random.Generator, shift: int = SHIFT) -> np.ndarray:
    """Random horizontal flips and random shifts of up to ``shift`` pixels (zero fill), as
    float32: (N, H, W, C) uint8 -> (N, H, W, C) float32 in 0..255."""
    n, h, w, _ = images.shape
    flip = rng.random(n) < 0.5
    images = np.where(flip[:, None, None, None], images[:, :, ::-1], images)
    padded = np.pad(images, ((0, 0), (shift, shift), (shift, shift), (0, 0)))
    dy = rng.integers(0, 2 * shift + 1, n)
    dx = rng.integers(0, 2 * shift + 1, n)
    rows = (dy[:, None] + np.arange(h))[:, :, None]
    cols = (dx[:, None] + np.arange(w))[:, None, :]
    return padded[np.arange(n)[:, None, None], rows, cols].astype("float32")


class AugmentedBatches(keras.utils.PyDataset):
    """Shuffled, augmented training batches; a new order and new augmentations every epoch."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, seed: int,
                 shift: int = SHIFT):
        super().__init__()
        self.x, self.y, self.batch_size, self.shift = x, y, batch_size, shift
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(x))

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, index: int):
        chosen = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        return augment(self.x[chosen], self.rng, self.shift), self.y[chosen]

    def on_epoch_end(self) -> None:
        self.order = self.rng.permutation(len(self.x))


def train(data, *, epochs: int = EPOCHS, limit: int | None = None,
          batch_size: int = BATCH_SIZE, learning_rate: float = LEARNING_RATE,
          shift: int = SHIFT, seed: int = SEED, verbose: int = 2):
    """Train ``build_model()`` on ``data`` (a ``grader.data.datasets.Dataset``).

    ``limit``: use only that many training images (before the validation split), e.g. for
    a quick run. Returns ``(model, history)`` with ``history = model.fit(...).history``.
    """
    keras.utils.set_random_seed(seed)
    (x_fit, y_fit), (x_val, y_val) = split(data.x_train, data.y_train, limit=limit, seed=seed)
    batches = AugmentedBatches(x_fit, y_fit, batch_size, seed, shift)
    model = build_model()
    steps_per_epoch = len(batches)
    warmup = min(steps_per_epoch, epochs * steps_per_epoch // 4)
    schedule = keras.optimizers.schedules.CosineDecay(
        learning_rate / 20, decay_steps=epochs * steps_per_epoch - warmup,
        warmup_target=learning_rate, warmup_steps=warmup)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    fit = model.fit(batches, epochs=epochs, validation_data=(x_val.astype("float32"), y_val),
                    verbose=verbose)
    return model, fit.history
