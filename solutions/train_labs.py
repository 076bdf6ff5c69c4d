"""Train a reference lab solution and write its submission folder.

Usage::

    python solutions/train_labs.py LAB [--epochs N] [--limit N] [--out DIR] [--data-dir DIR]

``LAB`` is ``lab_mnist``, ``lab_fashion``, ``lab_cifar10`` or ``lab_cifar100``. The
dataset is found by ``grader.data.datasets.load`` (``--data-dir``, ``$GRADER_DATA_DIR``, the
Keras cache, Debian's ``/usr/share/datasets``), e.g. ``GRADER_DATA_DIR=../shared/data``.
``solutions/LAB/train.py`` is imported and its ``train(data, epochs=..., limit=...)`` run
(seeded); then ``DIR`` (default: ``solutions/LAB/`` itself) receives the submission the
lab asks for (SPEC.md, "Labs"):

- ``model.keras``   the trained model, Keras v3 format, without optimizer state (an
                    uncompiled copy with the trained weights, which keeps the file small);
- ``history.json``  ``model.fit(...).history`` (per-epoch ``accuracy``, ``val_accuracy``,
                    ``loss``, ``val_loss``), as floats;
- ``answers.toml``  ``trainable_params`` and an ``explanation``: the per-layer formula,
                    computed from the model;
- ``train.py``      a copy of the code that produced them.

The saved file is then loaded back with ``keras.saving.load_model(..., safe_mode=True)``,
as the grader does, and that copy's accuracy on the official test set is printed with the
training wall time. Exit status 2 (with the loader's message) when the dataset is missing.

``--synthetic N`` trains on N random CIFAR/MNIST-shaped images instead of the real
dataset (a pipeline smoke test, e.g. for CIFAR-100, which has no offline copy here); it
needs an explicit ``--out`` outside ``solutions/`` so that no fake artifact can land
beside the real ones, and its accuracy means nothing.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
try:
    from grader.data import datasets
except ImportError:  # run with a Python that has not installed the project
    sys.path.insert(0, str(ROOT))
    from grader.data import datasets

LABS = {"lab_mnist": "mnist", "lab_fashion": "fashion_mnist", "lab_cifar10": "cifar10",
        "lab_cifar100": "cifar100"}


def load_train_module(lab: str):
    """Import ``solutions/<lab>/train.py`` under a unique module name."""
    path = HERE / lab / "train.py"
    spec = importlib.util.spec_from_file_location(f"solutions_{lab}_train", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------ answers.toml
def _kernel_formula(shape: tuple[int, ...], bias: bool) -> str:
    *spatial, c_in, filters = shape
    parts = "*".join(str(s) for s in (*spatial, c_in))
    return f"({parts} + 1)*{filters}" if bias else f"{parts}*{filters}"


def layer_rows(model) -> list[tuple[str, str, int, str]]:
    """(layer, formula, trainable parameters, note) for every layer with trainable weights."""
    import keras

    rows, flatten = [], None  # flatten: a Flatten since the last layer with weights
    for layer in model.layers:
        if isinstance(layer, keras.layers.Flatten):
            flatten = layer
        weights = layer.trainable_weights
        if weights:
            count = sum(math.prod(w.shape) for w in weights)
            kind = type(layer).__name__
            names = {w.path.rsplit("/", 1)[-1]: tuple(int(d) for d in w.shape) for w in weights}
            note = ""
            if isinstance(layer, keras.layers.Conv1D | keras.layers.Conv2D | keras.layers.Conv3D) \
                    and set(names) <= {"kernel", "bias"}:
                shape = names["kernel"]
                size = "x".join(str(s) for s in shape[:-2])
                formula = _kernel_formula(shape, "bias" in names)
                label = f"{kind} {shape[-1]}@{size} on {_channels(shape[-2])}"
                if "bias" not in names:
                    note = "no bias"
            elif isinstance(layer, keras.layers.Dense) and set(names) <= {"kernel", "bias"}:
                n_in, units = names["kernel"]
                label = f"Dense {n_in} -> {units}"
                formula = f"({n_in} + 1)*{units}" if "bias" in names else f"{n_in}*{units}"
                if flatten is not None:
                    flat = "x".join(str(d) for d in flatten.input.shape[1:])
                    label = f"Dense {n_in} (Flatten of {flat}) -> {units}"
                if "bias" not in names:
                    note = "no bias"
            elif isinstance(layer, keras.layers.BatchNormalization):
                channels = next(iter(names.values()))[0]
                label = f"BatchNormalization on {_channels(channels)}"
                formula = f"{len(names)}*{channels}"
                note = (" + ".join(n for n in ("gamma", "beta") if n in names)
                        + f"; the moving mean and variance (2*{channels}) are not trainable")
            else:
                label = kind
                formula = " + ".join(f"{n} {'x'.join(map(str, s))}" for n, s in names.items())
            rows.append((layer.name, f"{label}: {formula}", int(count), note))
            flatten = None
    return rows


def _channels(n: int) -> str:
    return f"{n} channel" + ("" if n == 1 else "s")


def answers_toml(model) -> str:
    rows = layer_rows(model)
    total = sum(row[2] for row in rows)
    expected = sum(math.prod(w.shape) for w in model.trainable_weights)
    if total != expected:  # a layer type the formulas above do not know
        raise RuntimeError(f"per-layer sum {total} != model's trainable count {expected}")
    lines = ["Sum over the layers with trainable weights (Rescaling, pooling, Flatten,",
             "Dropout and activations have none); conv: (F_h*F_w*C_in + 1)*K, or",
             "F_h*F_w*C_in*K without bias; Dense: (inputs + 1)*units; BatchNormalization:",
             "2*C trainable (gamma, beta).", ""]
    lines += [f"{name}: {formula} = {count:,}" + (f"  ({note})" if note else "")
              for name, formula, count, note in rows]
    lines += ["", f"total trainable = {' + '.join(str(row[2]) for row in rows)} = {total:,}"]
    text = "\n".join(lines).replace("\\", "\\\\").replace('"', '\\"')
    return (f"# computed from the trained model by solutions/train_labs.py\n"
            f"trainable_params = {total}\n"
            f'explanation = """\n{text}\n"""\n')


# ------------------------------------------------------------------ the run
def export_copy(model):
    """An uncompiled clone with the trained weights: no optimizer state in the file."""
    # (keras.models.clone_model would compile the clone like the original, optimizer
    # variables included: three times the file size with Adam)
    clone = type(model).from_config(model.get_config())
    clone.set_weights(model.get_weights())
    return clone


def synthetic(name: str, n: int, seed: int = 0) -> datasets.Dataset:
    import numpy as np

    info = datasets.INFO[name]
    rng = np.random.default_rng(seed)
    n_test = max(1, n // 5)
    return datasets.Dataset(
        name, rng.integers(0, 256, (n, *info.image_shape), dtype=np.uint8),
        rng.integers(0, info.num_classes, n, dtype=np.int64),
        rng.integers(0, 256, (n_test, *info.image_shape), dtype=np.uint8),
        rng.integers(0, info.num_classes, n_test, dtype=np.int64),
        source=f"synthetic ({n} random images)", verified=False)


def measure_test_accuracy(model, data, batch_size: int = 500) -> float:
    """Accuracy of ``model.predict`` on the official test images (raw 0..255 float32)."""
    import numpy as np

    x = data.x_test.astype("float32").reshape((-1, *model.input_shape[1:]))
    probs = model.predict(x, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(probs, axis=1) == data.y_test))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lab", choices=sorted(LABS))
    parser.add_argument("--epochs", type=int, help="default: the lab's own EPOCHS")
    parser.add_argument("--limit", type=int, help="use only this many training images")
    parser.add_argument("--out", type=Path, help="default: solutions/LAB/")
    parser.add_argument("--data-dir", help="folder holding the dataset files")
    parser.add_argument("--synthetic", type=int, metavar="N",
                        help="train on N random images (pipeline test; needs --out)")
    parser.add_argument("--verbose", type=int, default=2, help="model.fit verbosity")
    args = parser.parse_args(argv)

    lab_dir = HERE / args.lab
    out = (args.out or lab_dir).resolve()
    if args.synthetic is not None and (args.out is None or out.is_relative_to(HERE)):
        parser.error("--synthetic needs an --out folder outside solutions/")

    start = time.perf_counter()
    if args.synthetic is not None:
        data = synthetic(LABS[args.lab], args.synthetic)
    else:
        try:
            data = datasets.load(LABS[args.lab], data_dir=args.data_dir)
        except datasets.GraderError as error:
            print(f"train_labs: {error}", file=sys.stderr)
            return 2
    print(f"{args.lab}: {data.info.title} from {data.source}"
          f" ({len(data.x_train)} training, {len(data.x_test)} test images)", flush=True)

    module = load_train_module(args.lab)
    kwargs = {"limit": args.limit, "verbose": args.verbose}
    if args.epochs is not None:
        kwargs["epochs"] = args.epochs
    t0, cpu0 = time.perf_counter(), time.process_time()
    model, history = module.train(data, **kwargs)
    train_s, train_cpu = time.perf_counter() - t0, time.process_time() - cpu0

    import keras

    out.mkdir(parents=True, exist_ok=True)
    model_path = out / "model.keras"
    export_copy(model).save(model_path)
    history = {key: [float(v) for v in values] for key, values in history.items()}
    (out / "history.json").write_text(json.dumps(history, indent=1) + "\n", encoding="utf-8")
    (out / "answers.toml").write_text(answers_toml(model), encoding="utf-8")
    if (out / "train.py").resolve() != (lab_dir / "train.py").resolve():
        shutil.copyfile(lab_dir / "train.py", out / "train.py")

    loaded = keras.saving.load_model(model_path, safe_mode=True)
    accuracy = measure_test_accuracy(loaded, data)
    trainable = sum(math.prod(w.shape) for w in loaded.trainable_weights)
    print(f"{args.lab}: epochs {len(history.get('loss', []))},"
          f" training images {min(len(data.x_train), args.limit or len(data.x_train))}"
          f" (incl. validation), trainable params {trainable:,}, total {loaded.count_params():,}")
    print(f"{args.lab}: final val_accuracy {history['val_accuracy'][-1]:.4f},"
          f" test accuracy {accuracy:.4f}")
    print(f"{args.lab}: training wall time {train_s:.1f} s, CPU time {train_cpu:.1f} s"
          f" over {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
          f" (whole run {time.perf_counter() - start:.1f} s);"
          f" model.keras {model_path.stat().st_size / 1e6:.2f} MB in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
