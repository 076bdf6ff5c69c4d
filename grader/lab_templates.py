"""The labs' ``train.py`` templates, generated from one source as the stubs are.

``grader/templates/lab_train.py.tmpl`` is the text; each lab's values come from
the catalogue (target and floor accuracy, dataset), the dataset's facts
(``grader.data.datasets.INFO``: image shape, classes) and ``LAB_TEXT`` below (the
one-line description, the hint, the default epochs: teaching text no other file
holds). ``python -m grader.stubgen`` writes ``exercises/<lab>/train.py``;
``tests/test_stubgen.py`` fails when a committed template would change.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from string import Template

from grader.data.datasets import INFO

TEMPLATE = Path(__file__).parent / "templates" / "lab_train.py.tmpl"


@dataclass(frozen=True)
class LabText:
    """``heading``: the docstring's first line(s); ``hint``: the closing hint (lines of
    at most ~75 characters); ``epochs``: the template's default ``EPOCHS``."""

    heading: str
    hint: str
    epochs: int


LAB_TEXT = {
    "lab_mnist": LabText(
        "Lab MNIST — train a CNN on handwritten digits 0-9.",
        "Two or three 3x3 convolutions with max pooling, a Dense layer and\n"
        "dropout reach 0.99 in a few epochs; batch normalisation speeds it up.", 5),
    "lab_fashion": LabText(
        "Lab Fashion-MNIST — train a CNN on 10 kinds of clothing (T-shirt/top, Trouser, Pullover, Dress, Coat,\n"
        "Sandal, Shirt, Sneaker, Bag, Ankle boot).",
        "Harder than MNIST (shirts, pullovers and coats look alike): a CNN\n"
        "with batch normalisation and dropout, trained for ~10 epochs.", 10),
    "lab_cifar10": LabText(
        "Lab CIFAR-10 — train a CNN on 32x32 colour photos of 10 classes (airplane, automobile, bird,\n"
        "cat, deer, dog, frog, horse, ship, truck).",
        "VGG-style blocks (3x3 convolutions, batch normalisation, max\n"
        "pooling, dropout) and data augmentation (random horizontal flips\n"
        "and small shifts, applied to the training batches, not to the test\n"
        "images) for 20-40 epochs. On a laptop CPU this takes about an hour.", 30),
    "lab_cifar100": LabText(
        "Lab CIFAR-100 — train a CNN on 32x32 colour photos of 100 fine classes (apple, aquarium_fish, ...).",
        "As for CIFAR-10, with a wider network (100 classes, 500 training\n"
        "images each): more filters, augmentation, 30-60 epochs.", 40),
}


def _shape(dimensions: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(d) for d in dimensions) + ")"


def render(lab) -> str:
    """The ``train.py`` template of ``lab`` (a catalogue ``Exercise`` with ``is_lab``)."""
    info = INFO[lab.dataset]
    text = LAB_TEXT[lab.id]
    grey = len(info.image_shape) == 2  # MNIST-like: (N, H, W) images, no channel axis
    model_input = (*info.image_shape, 1) if grey else info.image_shape
    values = {
        "heading": text.heading,
        "hint": text.hint,
        "epochs": text.epochs,
        "lab": lab.id,
        "dataset": lab.dataset,
        "dataset_title": info.title,
        "target": f"{lab.target_accuracy:.2f}",
        "floor": f"{lab.floor_accuracy:.2f}",
        "classes": info.num_classes,
        "last_label": info.num_classes - 1,
        "input_shape": _shape(model_input),
        "fed_shape": f", shaped {_shape(('N', *model_input))}" if grey else "",
        "train_shape": _shape(("N", *info.image_shape)),
        "channel_note": ("    The images have no channel axis: add it, e.g.\n"
                         f"    ``x = data.x_train.reshape(-1, {', '.join(map(str, model_input))}).astype(\"float32\")``.\n"
                         if grey else ""),
    }
    source = TEMPLATE.read_text(encoding="utf-8")
    body = source[source.index('"""'):]  # the template's own header comment is not copied
    return Template(body).substitute(values)
