"""Trusted helper imported *inside the sandbox* to load a student's model and predict.

Copied next to the student's ``model.keras`` in the scratch folder; the grader
has already inspected the archive (``grader/intake/keras_archive.py`` and ``keras_file.py``). Loading happens
here, in the limited child, with ``safe_mode=True``; only plain arrays go back.
"""

import os

import numpy as np

_MODEL = None


def load(path: str = "model.keras") -> list:
    """Load the model (safe_mode=True); return its input shape without the batch axis."""
    global _MODEL
    import keras

    here = os.path.dirname(os.path.abspath(__file__))  # the model sits next to this file
    _MODEL = keras.saving.load_model(os.path.join(here, os.path.basename(path)), compile=False, safe_mode=True)
    return [int(v) if v is not None else -1 for v in _MODEL.inputs[0].shape[1:]]


def predict(images: np.ndarray) -> np.ndarray:
    """Class scores for a batch of images (float32, raw pixel values 0..255)."""
    out = _MODEL.predict(np.asarray(images, dtype=np.float32), batch_size=250, verbose=0)
    return np.asarray(out, dtype=np.float32)
