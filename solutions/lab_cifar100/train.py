"""Lab CIFAR-100 — reference solution: the CIFAR-10 network, 1.5 times wider, 100 classes.

NOT TRAINED HERE: no copy of CIFAR-100 can be had offline on the project's machines
(see ../shared/data/README.md), so there is no ``model.keras`` / ``history.json`` /
``answers.toml`` beside this file and no measured accuracy. The lab's target (0.45, floor
0.30, from the lecture) is stated, not measured with this code. The pipeline has been run
end to end only on synthetic CIFAR-shaped data
(``python solutions/train_labs.py lab_cifar100 --synthetic 512 --epochs 1 --out /tmp/x``),
which checks shapes, saving and ``safe_mode`` loading, not accuracy. With the dataset in
the Keras cache (``grade data prepare cifar100`` online) or under ``$GRADER_DATA_DIR``,
``python solutions/train_labs.py lab_cifar100`` trains it and writes the submission here.

Architecture (``build_model``; input: raw pixels 0..255 as float32, shape (32, 32, 3)):

    Rescaling(1/255)                                              32x32x3
    Conv2D 48@3x3 same (no bias), BatchNorm, ReLU                 32x32x48
    MaxPooling 2, Dropout 0.1                                     16x16x48
    2 x [Conv2D 96@3x3 same (no bias), BatchNorm, ReLU]           16x16x96
    MaxPooling 2, Dropout 0.2                                      8x8x96
    2 x [Conv2D 192@3x3 valid (no bias), BatchNorm, ReLU]          4x4x192
    MaxPooling 2, Dropout 0.3                                      2x2x192
    Flatten, Dense 100 softmax                                      100

    parameters: 702,772 (701,524 trainable, 1,248 non-trainable)

The CIFAR-10 reference (``solutions/lab_cifar10/train.py``, which reaches its target on
the real data) with every filter count times 1.5 (100 classes with 500 training images
each need more features), trained the same way but longer: 45,000 training images (a
seeded 10 % held out for validation), NumPy augmentation (random horizontal flip, random
shift of up to 3 pixels), Adam with a one-epoch warm-up to 2e-3 and cosine decay to 0,
batch 128, 40 epochs. It costs about 2.2 times the CIFAR-10 network's arithmetic per
image: several hours on a 2-core CPU, minutes on a GPU.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

INPUT_SHAPE = (32, 32, 3)
NUM_CLASSES = 100
EPOCHS = 40
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
        *conv_bn_relu(48, "same"),
        layers.MaxPooling2D(),
        layers.Dropout(0.1),
        *conv_bn_relu(96, "same"),
        *conv_bn_relu(96, "same"),
        layers.MaxPooling2D(),
        layers.Dropout(0.2),
        *conv_bn_relu(192, "valid"),
        *conv_bn_relu(192, "valid"),
        layers.MaxPooling2D(),
        layers.Dropout(0.3),
        layers.Flatten(),
        layers.Dense(NUM_CLASSES, activation="softmax"),
    ], name="cifar100_cnn")


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
