"""Lab CIFAR-100 — train a CNN on 32x32 colour photos of 100 fine classes (apple, aquarium_fish, ...).

Goal: a convolutional network whose accuracy on the official CIFAR-100 test set is at
least 0.45 (full credit; partial credit down to 0.30). Check it with
``grade lab_cifar100`` (or ``grade lab_cifar100 --submission path/to/lab_cifar100``).

What to hand in: this folder, holding four files.

- ``train.py`` (this file): ``build_model()`` and ``train(data)`` below, the code that
  produced the three files that follow.
- ``model.keras``: the trained model, saved with ``model.save("model.keras")`` (Keras v3
  format). The grader loads it with ``keras.saving.load_model(path, safe_mode=True)``, so
  use standard Keras layers only: no ``Lambda`` layer, no custom layer or function of
  your own (the file is refused with a message saying so). The model must
  - take input of shape (32, 32, 3): the raw pixel values 0..255 as float32 (the
    grader feeds it the test images unchanged); so normalise inside
    the model, e.g. with a ``keras.layers.Rescaling(1 / 255)`` first layer;
  - contain at least one ``Conv2D`` layer;
  - end with a softmax over the 100 classes (``Dense(100, activation="softmax")``).
  Data augmentation belongs to training: apply it to the training batches (NumPy or
  ``tf.data``), or use Keras's augmentation layers (``RandomFlip``,
  ``RandomTranslation``, ...), which are inactive at prediction time.
- ``history.json``: ``model.fit(...).history`` as JSON, with the per-epoch ``accuracy``,
  ``val_accuracy``, ``loss`` and ``val_loss`` (the report draws these learning curves).
  Validate on a part of the TRAINING set (``validation_split=0.1`` or your own split):
  never train or tune on the test set.
- ``answers.toml``: how many trainable parameters your model has, and how you computed
  them by hand, layer by layer::

      trainable_params = 123456
      explanation = '''
      conv2d: Conv2D 32@3x3 on 1 channel: (3*3*1 + 1)*32 = 320
      batch_normalization: 2*32 (gamma, beta) = 64; moving mean/variance not trainable
      dense: Dense 800 -> 10: (800 + 1)*10 = 8,010
      ...
      '''

  The grader compares ``trainable_params`` with the model's own count.

Running this file (``python train.py``, in this folder) loads the dataset with the
grader's loader (``grade data status`` says where it finds it; set ``GRADER_DATA_DIR``
to a folder holding the files), calls ``train``, and writes ``model.keras`` and
``history.json`` here. ``answers.toml`` you write yourself.

Hint: As for CIFAR-10, with a wider network (100 classes, 500 training
images each): more filters, augmentation, 30-60 epochs.
"""

from __future__ import annotations

import keras

INPUT_SHAPE = (32, 32, 3)
NUM_CLASSES = 100
EPOCHS = 40


def build_model() -> keras.Model:
    """Return your CNN: input (32, 32, 3) raw pixels (0..255), output softmax over 100
    classes. It may be compiled or not; ``train`` compiles it."""
    # TODO: implement build_model (see the docstring above).
    raise NotImplementedError("build_model is not implemented yet")


def train(data, *, epochs: int = EPOCHS, limit: int | None = None):
    """Train ``build_model()`` and return ``(model, history)``.

    ``data`` is a ``grader.data.datasets.Dataset``: ``data.x_train`` (N, 32, 32, 3) uint8 images,
    ``data.y_train`` (N,) int64 labels 0..99, and the test split ``data.x_test``,
    ``data.y_test``, which must not be used for training or validation.
    ``epochs``: how many epochs; ``limit``: use only the first ``limit`` training
    images (for a quick trial run). ``history`` is ``model.fit(...).history``.
    """
    # TODO: implement train (see the docstring above).
    raise NotImplementedError("train is not implemented yet")


def main() -> None:
    """Train, then save ``model.keras`` and ``history.json`` beside this file."""
    import json
    from pathlib import Path

    from grader.data import datasets

    here = Path(__file__).resolve().parent
    data = datasets.load("cifar100")
    model, history = train(data)
    model.save(here / "model.keras")
    history = {key: [float(v) for v in values] for key, values in history.items()}
    (here / "history.json").write_text(json.dumps(history, indent=1), encoding="utf-8")
    model.summary()
    print("trainable parameters:", sum(int(w.numpy().size) for w in model.trainable_weights))
    print("now write answers.toml (see the docstring at the top of train.py)")


if __name__ == "__main__":
    main()
