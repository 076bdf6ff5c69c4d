"""Hostile lab models: odd `.keras` configs, look-alike registered names, miscounted layers, a memorised test set.

Each earns nothing it did not honestly earn: an odd or look-alike config is a
refusal with its reason (never a traceback), a grouped or channels-first model
is counted as Keras counts it, and a model that stores the MNIST test images
and their labels is not credited for its test accuracy (docs/security.md).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from grader.checks.labs import allowed_gap, memorisation_signs, shifted_by_one_pixel
from grader.options import GradingOptions

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = ROOT.parent / "shared" / "data"
needs_mnist = pytest.mark.skipif(not (SHARED_DATA / "mnist.npz").is_file(),
                                 reason=f"real MNIST not found at {SHARED_DATA}")


def _lab_folder(folder: Path, model_bytes: bytes, trainable: int) -> Path:
    folder.mkdir(parents=True)
    (folder / "model.keras").write_bytes(model_bytes)
    (folder / "answers.toml").write_text(f'trainable_params = {trainable}\nexplanation = "per layer"\n')
    (folder / "history.json").write_text(json.dumps({k: [0.5, 0.6] for k in ("accuracy", "val_accuracy", "loss",
                                                                             "val_loss")}))
    (folder / "train.py").write_text("# trained elsewhere\n")
    return folder


def _grade(catalogue, folder: Path, only: str | None = None):
    from grader.runner import grade_exercise

    return {c.id: c for c in grade_exercise(exercise=catalogue.get("lab_mnist"), submission=folder,
                                            options=GradingOptions(only_check=only)).checks}


def _rewritten(model_bytes: bytes, mutate) -> bytes:
    with zipfile.ZipFile(io.BytesIO(model_bytes)) as original:
        members = {name: original.read(name) for name in original.namelist()}
    config = json.loads(members["config.json"])
    mutate(config)
    members["config.json"] = json.dumps(config).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for name, data in members.items():
            out.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def tiny_model() -> bytes:
    import keras

    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    buffer = Path(__import__("tempfile").mkdtemp()) / "m.keras"
    model.save(buffer)
    return buffer.read_bytes()


def _set(path, value):
    def mutate(config):
        node = config
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return mutate


# -- class 1: odd configs are refusals with a reason, not tracebacks ----------------------------------------------

@pytest.mark.tensorflow
@pytest.mark.parametrize(("mutate", "reason"), [
    (_set(("config", "layers"), {"0": "not a list"}), "no layer list"),
    (_set(("config", "layers", 1), ["Conv2D"]), "not an object"),
    (_set(("config", "layers", 1, "config"), "filters=2"), "not an object"),
    (_set(("config", "layers", 1, "config", "filters"), "2"), "filters must be a positive integer"),
    (_set(("config", "layers", 1, "config", "kernel_size"), {"h": 3}), "kernel_size"),
    (_set(("config", "layers", 1, "config", "groups"), "2"), "groups"),
    (_set(("config", "layers", 0, "config", "batch_shape"), [None, "28", 28, 1]), "no fixed input shape"),
    (_set(("config", "layers", 0, "config"), [1, 2]), "not shaped like a saved Keras model|no fixed input"),
    (_set(("config", "layers", 3, "class_name"), ["Dense"]), "class_name that is not a string"),
    (_set(("config",), ["layers"]), "not a JSON object"),
])
def test_an_odd_config_is_refused_with_a_reason(catalogue, tmp_path, tiny_model, mutate, reason):
    folder = _lab_folder(tmp_path / "lab_mnist", _rewritten(tiny_model, mutate), trainable=1)
    checks = _grade(catalogue, folder, only="model-file")
    check = checks["model-file"]
    assert check.status == "failed" and check.score == 0
    assert "Traceback" not in check.message and "TypeError" not in check.message.split(":")[0]
    assert "was refused and not loaded" in check.message or "do not work out" in check.message, check.message
    import re

    assert re.search(reason, check.message), check.message


# -- class 2: only exact registered names and Keras's own modules ---------------------------------------------

@pytest.mark.tensorflow
@pytest.mark.parametrize(("key", "value"), [("registered_name", "kerasevil>Dense"), ("registered_name", "keras>Dense"),
                                            ("module", "kerasevil.layers"), ("module", "keras.evil")])
def test_a_look_alike_registered_name_or_module_is_refused(catalogue, tmp_path, tiny_model, key, value):
    folder = _lab_folder(tmp_path / "lab_mnist", _rewritten(tiny_model, _set(("config", "layers", 3, key), value)),
                         trainable=1)
    check = _grade(catalogue, folder, only="model-file")["model-file"]
    assert check.status == "failed" and "refused and not loaded" in check.message
    assert "registered custom object" in check.message or "not from Keras" in check.message


# -- class 3: groups and channels_first are counted as Keras counts them --------------------------------------

@pytest.mark.tensorflow
@pytest.mark.parametrize("layers", [
    lambda L: [L.Conv2D(4, 3), L.Conv2D(8, 3, groups=2), L.Flatten(), L.Dense(10, activation="softmax")],
    lambda L: [L.Conv2D(4, (3, 1), data_format="channels_first"), L.MaxPooling2D((2, 1), data_format="channels_first"),
               L.BatchNormalization(axis=1), L.Flatten(), L.Dense(10, activation="softmax")],
], ids=["groups=2", "channels_first"])
def test_grouped_and_channels_first_models_are_counted_like_keras(catalogue, tmp_path, layers):
    import keras

    model = keras.Sequential([keras.Input((28, 28, 1)), *layers(keras.layers)])
    model.save(tmp_path / "m.keras")
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    folder = _lab_folder(tmp_path / "lab_mnist", (tmp_path / "m.keras").read_bytes(), trainable)
    checks = _grade(catalogue, folder, only="trainable-params")
    assert checks["trainable-params"].status == "passed", checks["trainable-params"].message
    wrong = _lab_folder(tmp_path / "wrong" / "lab_mnist", (tmp_path / "m.keras").read_bytes(), trainable + 1)
    assert _grade(catalogue, wrong, only="trainable-params")["trainable-params"].status == "failed"


# -- class 4: a lookup table of the test set earns no accuracy credit -----------------------------------------

def memorising_model(images: np.ndarray, labels: np.ndarray):
    """Nearest neighbour over the test set in standard Keras layers: no training at all.

    Conv2D 1x1 (identity, to pass "is a CNN"), Flatten, Dense(N) scoring -|x - x_i|²/2 + |x|²/2 for every
    stored test image x_i, Softmax (one-hot on the nearest), Dense(10) holding the stored labels.
    """
    import keras

    flat = images.reshape(len(images), -1).astype(np.float32)
    model = keras.Sequential([keras.Input((*images.shape[1:3], 1)), keras.layers.Conv2D(1, 1), keras.layers.Flatten(),
                              keras.layers.Dense(len(flat)), keras.layers.Softmax(), keras.layers.Dense(10)])
    model.layers[0].set_weights([np.ones((1, 1, 1, 1), np.float32), np.zeros(1, np.float32)])
    model.layers[2].set_weights([flat.T.copy(), -0.5 * (flat ** 2).sum(axis=1)])
    model.layers[4].set_weights([np.eye(10, dtype=np.float32)[labels], np.zeros(10, np.float32)])
    return model


@needs_mnist
@pytest.mark.slow
@pytest.mark.tensorflow
def test_a_model_that_stores_the_mnist_test_set_earns_no_accuracy_credit(catalogue, tmp_path, monkeypatch):
    from grader.data import datasets

    monkeypatch.setenv("GRADER_DATA_DIR", str(SHARED_DATA))
    data = datasets.load("mnist", split="test")
    model = memorising_model(data.x_test, np.asarray(data.y_test))
    predicted = np.argmax(model.predict(data.x_test[..., None].astype(np.float32), batch_size=500, verbose=0), 1)
    assert np.mean(predicted == data.y_test) == 1.0  # it does score 100% on the exact test images
    model.save(tmp_path / "m.keras")
    folder = _lab_folder(tmp_path / "lab_mnist", (tmp_path / "m.keras").read_bytes(), model.count_params())
    checks = _grade(catalogue, folder)
    accuracy = checks["test-accuracy"]
    assert accuracy.status == "failed" and accuracy.score == 0, accuracy.message
    assert "is not credited: the model knows the test images" in accuracy.message
    assert "training images" in accuracy.message


def test_the_signs_keep_honest_numbers_and_catch_the_lookup_table():
    # measured (docs/security.md): reference MNIST / CIFAR-10 models, a 2-epoch MNIST model, the lookup table
    assert memorisation_signs(0.9935, 10_000, 0.9877, 0.9957, 10_000) == []
    assert memorisation_signs(0.8667, 10_000, 0.8691, 0.9136, 10_000) == []
    assert memorisation_signs(0.9761, 10_000, 0.9652, 0.9755, 10_000) == []
    assert memorisation_signs(0.40, 916, 0.37, 0.38, 1_117) == []  # small CIFAR-100 samples: a wider allowance
    signs = memorisation_signs(1.0, 10_000, 0.9805, 0.9373, 10_000)
    assert len(signs) == 1 and "training images" in signs[0]
    assert memorisation_signs(1.0, 10_000, 0.9650, None, 0)[0].startswith("on the same test images shifted")
    assert allowed_gap(0.99, 10_000, 0.99, 10_000) == pytest.approx(0.02 + 3 * np.sqrt(2 * 0.99 * 0.01 / 10_000))


def test_the_shifts_move_each_image_by_one_pixel_and_are_fixed_by_the_model_file():
    images = np.random.default_rng(1).integers(1, 256, (64, 6, 5, 3), dtype=np.uint8)
    moved = shifted_by_one_pixel(images, b"a" * 32)
    assert moved.shape == images.shape and moved.dtype == images.dtype
    for before, after in zip(images, moved, strict=True):
        assert any(np.array_equal(after[max(dy, 0):after.shape[0] + min(dy, 0), max(dx, 0):after.shape[1] + min(dx, 0)],
                                  before[max(-dy, 0):before.shape[0] + min(-dy, 0),
                                         max(-dx, 0):before.shape[1] + min(-dx, 0)])
                   for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)))
    assert np.array_equal(moved, shifted_by_one_pixel(images, b"a" * 32))
    assert not np.array_equal(moved, shifted_by_one_pixel(images, b"b" * 32))
